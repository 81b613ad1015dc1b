//! A strict, zero-copy reader for flattened device trees (DTB, format versions 16 and 17).
//!
//! Owns: validating a blob (header, blocks, every structure token, once, without recursion and
//! with a depth cap), flat node and property tables, typed property access, the phandle index and
//! lookups by path, alias and `__symbols__` label. Must not know about reset controllers, VFIO or
//! anything above the device-tree format.
//!
//! Threat model: the blob is untrusted. Every read is bounds-checked; malformed input yields an
//! [`FdtError`] naming the byte offset, never a panic, an unbounded allocation or a hang. Names are
//! kept as raw bytes (any length, any encoding); conversions to text are lossy and explicit.
//!
//! ```
//! # fn demo(blob: &[u8]) -> Result<(), platreset_fdt::FdtError> {
//! let fdt = platreset_fdt::Fdt::parse(blob)?;
//! for node in fdt.nodes() {
//!     if let Some(resets) = node.property("resets") {
//!         println!("{} has {} reset cells", node.path(), resets.u32s()?.len());
//!     }
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bytes;
mod device_name;
mod error;
mod header;
mod lookup;
mod names;
mod node;
mod phandle;
mod phandle_index;
mod property;
mod records;
mod specifier;
mod translate;
mod tree;

pub use error::{FdtError, LookupError};
pub use header::{Header, Reservation, MAGIC};
pub use names::{NameTable, MAX_NAMES};
pub use node::{shown, Children, Node, NodeId, Properties, RegEntry};
pub use phandle::Phandle;
pub use phandle_index::PhandleIndex;
pub use property::{Property, StringList, U32Cells};
pub use specifier::{cells_named, Specifier, SpecifierError, Specifiers};
pub use tree::MAX_DEPTH;

use tree::Tables;

/// Reusable allocations for parsing many blobs one after another (see [`Fdt::parse_with`]).
#[derive(Debug, Default)]
pub struct Scratch(Tables);

/// A validated device tree over a borrowed blob.
#[derive(Debug)]
pub struct Fdt<'a> {
    blob: &'a [u8],
    header: Header,
    strings: &'a [u8],
    tables: Tables,
    classification: Option<NameTable<'a>>,
}

impl<'a> Fdt<'a> {
    /// Validates `blob` completely and indexes its nodes and properties.
    pub fn parse(blob: &'a [u8]) -> Result<Fdt<'a>, FdtError> {
        Self::parse_with(blob, Scratch::default())
    }

    /// Like [`Fdt::parse`], reusing the allocations of an earlier tree ([`Fdt::into_scratch`]).
    pub fn parse_with(blob: &'a [u8], scratch: Scratch) -> Result<Fdt<'a>, FdtError> {
        Self::parse_inner(blob, scratch, None)
    }

    /// Like [`Fdt::parse_with`], and classifies every property by `names` during the walk:
    /// [`Node::classes`] then tells which of them a node has without looking at its properties.
    /// For passes over many trees that care about a few property names.
    pub fn parse_classifying(
        blob: &'a [u8],
        scratch: Scratch,
        names: &'static [&'static str],
    ) -> Result<Fdt<'a>, FdtError> {
        Self::parse_inner(blob, scratch, Some(names))
    }

    fn parse_inner(
        blob: &'a [u8],
        scratch: Scratch,
        names: Option<&'static [&'static str]>,
    ) -> Result<Fdt<'a>, FdtError> {
        let header = Header::parse(blob)?;
        // The reservation map is part of the blob: an unterminated one is rejected here, like any
        // other malformation, not later when someone happens to read it.
        header.reservations(blob)?;
        let strings = blob.get(header.strings_start..header.strings_end).unwrap_or_default();
        let classification = names.map(|names| NameTable::new(strings, names));
        let mut tables = scratch.0;
        tree::walk(blob, &header, &mut tables, classification.as_ref())?;
        Ok(Fdt { blob, header, strings, tables, classification })
    }

    /// The table [`Fdt::parse_classifying`] classified with, if any.
    pub fn classification(&self) -> Option<&NameTable<'a>> {
        self.classification.as_ref()
    }

    /// Gives back the allocations for the next [`Fdt::parse_with`].
    pub fn into_scratch(self) -> Scratch {
        Scratch(self.tables)
    }

    /// The whole blob (up to the buffer's end, which may exceed `totalsize`).
    pub fn blob(&self) -> &'a [u8] {
        self.blob
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The memory-reservation block's entries.
    pub fn reservations(&self) -> Result<Vec<Reservation>, FdtError> {
        self.header.reservations(self.blob)
    }

    /// Number of nodes, the root included.
    pub fn node_count(&self) -> usize {
        self.tables.nodes.len()
    }

    /// The root node. A parsed tree always has one (the walk rejects a tree without).
    pub fn root(&self) -> Node<'_, 'a> {
        Node::new(self, 0)
    }

    /// The node with this id, if the id belongs to this tree.
    pub fn node(&self, id: NodeId) -> Option<Node<'_, 'a>> {
        ((id.0 as usize) < self.tables.nodes.len()).then(|| Node::new(self, id.0))
    }

    /// Every node in document (depth-first pre-) order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = Node<'_, 'a>> + '_ {
        (0..self.tables.nodes.len() as u32).map(move |i| Node::new(self, i))
    }

    /// A table that classifies property names in O(1) (see [`NameTable`]).
    pub fn name_table(&self, names: &'static [&'static str]) -> NameTable<'a> {
        NameTable::new(self.strings, names)
    }

    /// The phandle index: `phandle`, else `linux,phandle`, first node in document order wins.
    pub fn phandle_index(&self) -> PhandleIndex {
        PhandleIndex::build(self)
    }

    pub(crate) fn strings(&self) -> &'a [u8] {
        self.strings
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }
}
