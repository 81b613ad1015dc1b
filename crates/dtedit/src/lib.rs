//! An editable device tree and its writers: build a tree (or load one parsed by
//! [`platreset_fdt`]), change it, and write it as a DTB ([`to_dtb`], devicetree specification
//! v0.4 §5, version 17) or as readable DTS ([`to_dts`], deterministic, for golden files).
//!
//! Owns: the owned tree ([`Node`], [`Prop`]) and its editing operations, the specification's
//! rules for names ([`names`]) and validating a tree against them before it is written, the DTB layout (header,
//! memory-reservation block, structure block, deduplicated strings block) and the DTS rendering.
//! Must not: parse DTBs (that is [`platreset_fdt`]'s job; [`from_fdt`] only copies what it
//! parsed), know what any node or property means beyond `phandle`, or resolve references.
//!
//! Threat model: a tree comes from this program's own code or from a blob the strict reader has
//! parsed, whose names may be anything but NUL (the reader checks structure, not names). What the
//! format cannot express is refused, not repaired: both writers, [`to_dtb`] and [`to_dts`], make
//! the same checks first — every name by the specification's character sets ([`names`]),
//! duplicate names, every size against the format's 32-bit fields — and return a [`WriteError`]
//! naming the node path and property, printed so that a crafted name cannot break the message.
//! Nothing here panics.
//!
//! ```
//! use platreset_dtedit::{to_dtb, Node, WriteOptions};
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut root = Node::new("");
//! root.set_u32s("#address-cells", &[1]).set_u32s("#size-cells", &[1]);
//! let uart = root.add_child(Node::new("uart@1000"))?;
//! uart.set_strs("compatible", &["ns16550a"]).set_u32s("reg", &[0x1000, 0x100]);
//! let blob = to_dtb(&root, &WriteOptions::default())?;
//! let fdt = platreset_fdt::Fdt::parse(&blob)?;
//! assert_eq!(fdt.find_path("/uart@1000")?.reg()?[0].address, 0x1000);
//! # Ok(()) }
//! # demo().unwrap();
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dts;
mod load;
pub mod names;
mod tree;
mod write;

pub use dts::{to_dts, to_dts_with};
pub use load::from_fdt;
pub use tree::{EditError, Node, Prop};
pub use write::{to_dtb, WriteError, WriteOptions, LAST_COMP_VERSION, VERSION};
