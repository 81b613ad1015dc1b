//! The DTB writer (devicetree specification v0.4 §5): validates the tree while it lays out the
//! structure block, then assembles header, memory-reservation block, structure block and strings
//! block, in that order (as `dtc` does). Owns the checks every writer makes on a tree
//! ([`check_node`]: names by [`crate::names`], duplicates, sizes); knows nothing of what
//! properties mean.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use crate::names::{node_name_problem, printable, property_name_problem, NameProblem};
use crate::tree::Node;

/// The format version written (`version`).
pub const VERSION: u32 = 17;
/// The oldest version the output is compatible with (`last_comp_version`).
pub const LAST_COMP_VERSION: u32 = 16;

const MAGIC: u32 = 0xd00d_feed;
/// A version-17 header: ten 32-bit fields.
const HEADER_SIZE: usize = 40;
/// One memory-reservation entry: address and size, 64 bits each.
const RESERVATION_SIZE: usize = 16;

const FDT_BEGIN_NODE: u32 = 0x1;
const FDT_END_NODE: u32 = 0x2;
const FDT_PROP: u32 = 0x3;
const FDT_END: u32 = 0x9;

/// What goes into a DTB besides the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `boot_cpuid_phys`: the physical id of the boot CPU.
    pub boot_cpuid: u32,
    /// The memory-reservation block's entries, `(address, size)`, in order.
    pub reservations: Vec<(u64, u64)>,
}

/// Why a tree cannot be written (as a DTB or as DTS). Each variant names the node path (`/` for
/// the root) and, where one is involved, the property, both rendered by
/// [`crate::names::printable`]: a crafted name cannot break the message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The root node has a name; the format gives it none.
    #[error("node /: the root node's name must be empty, found `{name}`")]
    NamedRoot {
        /// The name found.
        name: String,
    },
    /// A node name that is empty or uses characters the specification does not allow.
    #[error("node {path}: {problem}")]
    BadNodeName {
        /// The node's path (its parent's path and its name as given).
        path: String,
        /// What is wrong with the name.
        problem: NameProblem,
    },
    /// Two children of one node have the same name.
    #[error("node {parent}: two children are named `{name}`")]
    DuplicateChild {
        /// The parent's path.
        parent: String,
        /// The name both children have.
        name: String,
    },
    /// A property name that is empty or uses characters the specification does not allow.
    #[error("node {path}, property `{property}`: {problem}")]
    BadPropertyName {
        /// The node's path.
        path: String,
        /// The property's name.
        property: String,
        /// What is wrong with the name.
        problem: NameProblem,
    },
    /// Two properties of one node have the same name.
    #[error("node {path}: two properties are named `{property}`")]
    DuplicateProperty {
        /// The node's path.
        path: String,
        /// The name both properties have.
        property: String,
    },
    /// A value longer than the 32-bit `len` field of FDT_PROP can say.
    #[error(
        "node {path}, property `{property}`: its value of {len} bytes does not fit the 32-bit length field"
    )]
    ValueTooLong {
        /// The node's path.
        path: String,
        /// The property's name.
        property: String,
        /// The value's length.
        len: usize,
    },
    /// A (0, 0) memory reservation: readers take it for the end of the list.
    #[error("memory reservation #{index} is (0, 0), which marks the end of the reservation list; remove it")]
    ZeroReservation {
        /// Its index in [`WriteOptions::reservations`].
        index: usize,
    },
    /// The blob, or one of its blocks, would exceed the 4 GiB that the header's fields can say.
    #[error("the {what} would be {size} bytes, beyond the 32-bit offsets and sizes of the DTB header")]
    TooLarge {
        /// `blob`, `structure block` or `strings block`.
        what: &'static str,
        /// Its size in bytes.
        size: u64,
    },
}

/// Writes `root` and `opts` as a version-17 DTB, after checking that the format can hold them.
/// Names in the strings block appear once each, in order of first use.
pub fn to_dtb(root: &Node, opts: &WriteOptions) -> Result<Vec<u8>, WriteError> {
    check_root(root, opts)?;
    let mut blocks = Blocks::default();
    // Depth-first, without recursion: each frame is a node and the index of its next child.
    let mut names: Vec<&str> = Vec::new();
    blocks.begin_node(root, &names)?;
    let mut stack: Vec<(&Node, usize)> = vec![(root, 0)];
    while let Some(top) = stack.last_mut() {
        let (node, next) = *top;
        match node.children.get(next) {
            Some(child) => {
                top.1 += 1;
                names.push(&child.name);
                blocks.begin_node(child, &names)?;
                stack.push((child, 0));
            }
            None => {
                blocks.token(FDT_END_NODE);
                stack.pop();
                names.pop();
            }
        }
    }
    blocks.token(FDT_END);
    blocks.assemble(opts)
}

/// The structure and strings blocks under construction.
#[derive(Default)]
struct Blocks<'n> {
    structure: Vec<u8>,
    strings: Vec<u8>,
    /// Offset of each name already in `strings`.
    offsets: HashMap<&'n str, u32>,
}

impl<'n> Blocks<'n> {
    fn token(&mut self, token: u32) {
        self.structure.extend_from_slice(&token.to_be_bytes());
    }

    /// Pads the structure block with zeros to the next 4-byte boundary.
    fn align(&mut self) {
        let padded = self.structure.len().next_multiple_of(4);
        self.structure.resize(padded, 0);
    }

    /// Checks `node` ([`check_node`]) and writes FDT_BEGIN_NODE and its properties. `names` is the
    /// path below the root, `node`'s name last.
    fn begin_node(&mut self, node: &'n Node, names: &[&str]) -> Result<(), WriteError> {
        check_node(node, names)?;
        self.token(FDT_BEGIN_NODE);
        self.structure.extend_from_slice(node.name.as_bytes());
        self.structure.push(0);
        self.align();
        for prop in &node.props {
            // `check_node` has bounded every value's length by the 32-bit field.
            let len = u32::try_from(prop.value.len()).map_err(|_| WriteError::ValueTooLong {
                path: path(names),
                property: printable(prop.name.as_bytes()),
                len: prop.value.len(),
            })?;
            let nameoff = self.name_offset(&prop.name)?;
            self.token(FDT_PROP);
            self.structure.extend_from_slice(&len.to_be_bytes());
            self.structure.extend_from_slice(&nameoff.to_be_bytes());
            self.structure.extend_from_slice(&prop.value);
            self.align();
        }
        Ok(())
    }

    /// The offset of `name` in the strings block, adding it on first use.
    fn name_offset(&mut self, name: &'n str) -> Result<u32, WriteError> {
        if let Some(&offset) = self.offsets.get(name) {
            return Ok(offset);
        }
        let offset = u32::try_from(self.strings.len())
            .map_err(|_| WriteError::TooLarge { what: "strings block", size: self.strings.len() as u64 })?;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.offsets.insert(name, offset);
        Ok(offset)
    }

    /// Header, memory-reservation block (right after the header, 8-aligned since the header is
    /// 40 bytes), structure block, strings block.
    fn assemble(self, opts: &WriteOptions) -> Result<Vec<u8>, WriteError> {
        let fit = |what: &'static str, size: usize| {
            u32::try_from(size).map_err(|_| WriteError::TooLarge { what, size: size as u64 })
        };
        let rsvmap_size = (opts.reservations.len() + 1).saturating_mul(RESERVATION_SIZE);
        let struct_start = HEADER_SIZE.saturating_add(rsvmap_size);
        let strings_start = struct_start.saturating_add(self.structure.len());
        let total = strings_start.saturating_add(self.strings.len());

        let size_struct = fit("structure block", self.structure.len())?;
        let size_strings = fit("strings block", self.strings.len())?;
        let total_size = fit("blob", total)?;
        // Every offset is below `total`, which fits.
        let off_struct = fit("blob", struct_start)?;
        let off_strings = fit("blob", strings_start)?;

        let mut blob = Vec::with_capacity(total);
        for field in [
            MAGIC,
            total_size,
            off_struct,
            off_strings,
            HEADER_SIZE as u32, // off_mem_rsvmap
            VERSION,
            LAST_COMP_VERSION,
            opts.boot_cpuid,
            size_strings,
            size_struct,
        ] {
            blob.extend_from_slice(&field.to_be_bytes());
        }
        for &(address, size) in opts.reservations.iter().chain(&[(0, 0)]) {
            blob.extend_from_slice(&address.to_be_bytes());
            blob.extend_from_slice(&size.to_be_bytes());
        }
        blob.extend_from_slice(&self.structure);
        blob.extend_from_slice(&self.strings);
        Ok(blob)
    }
}

/// The checks both writers make before the tree: the root has no name, no reservation is the
/// (0, 0) that ends the list.
pub(crate) fn check_root(root: &Node, opts: &WriteOptions) -> Result<(), WriteError> {
    if !root.name.is_empty() {
        return Err(WriteError::NamedRoot { name: printable(root.name.as_bytes()) });
    }
    if let Some(index) = opts.reservations.iter().position(|&r| r == (0, 0)) {
        return Err(WriteError::ZeroReservation { index });
    }
    Ok(())
}

/// The checks both writers make on one node before writing it: its name unless it is the root
/// (`names` is the path below the root, `node`'s name last), its children's names unique, each
/// property's name, unique, and its value's length within the 32-bit field. What fails is refused
/// with the node's path and the property, never repaired.
pub(crate) fn check_node(node: &Node, names: &[&str]) -> Result<(), WriteError> {
    if !names.is_empty() {
        if let Some(problem) = node_name_problem(node.name.as_bytes()) {
            return Err(WriteError::BadNodeName { path: path(names), problem });
        }
    }
    let mut seen = HashSet::with_capacity(node.children.len());
    for child in &node.children {
        if !seen.insert(child.name.as_str()) {
            return Err(WriteError::DuplicateChild {
                parent: path(names),
                name: printable(child.name.as_bytes()),
            });
        }
    }
    let mut seen = HashSet::with_capacity(node.props.len());
    for prop in &node.props {
        let property = || printable(prop.name.as_bytes());
        if let Some(problem) = property_name_problem(prop.name.as_bytes()) {
            return Err(WriteError::BadPropertyName { path: path(names), property: property(), problem });
        }
        if !seen.insert(prop.name.as_str()) {
            return Err(WriteError::DuplicateProperty { path: path(names), property: property() });
        }
        if u32::try_from(prop.value.len()).is_err() {
            return Err(WriteError::ValueTooLong {
                path: path(names),
                property: property(),
                len: prop.value.len(),
            });
        }
    }
    Ok(())
}

/// `/` for the root, else `/a/b@1`, each name made [`printable`].
pub(crate) fn path(names: &[&str]) -> String {
    if names.is_empty() {
        return "/".to_string();
    }
    names.iter().flat_map(|name| ["/".to_string(), printable(name.as_bytes())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_root_is_a_header_an_empty_reservation_map_and_four_tokens() {
        let blob = to_dtb(&Node::new(""), &WriteOptions { boot_cpuid: 3, reservations: vec![] }).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            MAGIC, 72,   // magic, totalsize
            56, 72, 40,  // off_dt_struct, off_dt_strings, off_mem_rsvmap
            17, 16, 3,   // version, last_comp_version, boot_cpuid_phys
            0, 16,       // size_dt_strings, size_dt_struct
            0, 0, 0, 0,  // reservation terminator (two 64-bit zeros)
            1, 0,        // FDT_BEGIN_NODE, "" padded to 4
            2, 9,        // FDT_END_NODE, FDT_END
        ]
        .iter()
        .flat_map(|w: &u32| w.to_be_bytes())
        .collect();
        assert_eq!(blob, expected);
    }

    #[test]
    fn a_property_is_token_len_nameoff_and_padded_value() {
        let mut root = Node::new("");
        root.set("ab", vec![1, 2, 3, 4, 5]).set_empty("c");
        let blob = to_dtb(&root, &WriteOptions::default()).unwrap();
        #[rustfmt::skip]
        let structure: Vec<u8> = [
            0x1u32, 0,                          // FDT_BEGIN_NODE, root name
            0x3, 5, 0, 0x0102_0304, 0x0500_0000, // FDT_PROP, len 5, nameoff 0 ("ab"), value padded
            0x3, 0, 3,                          // FDT_PROP, len 0, nameoff 3 ("c"), no value
            0x2, 0x9,                           // FDT_END_NODE, FDT_END
        ]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect();
        assert_eq!(&blob[56..56 + structure.len()], structure.as_slice());
        assert_eq!(&blob[56 + structure.len()..], b"ab\0c\0");
    }
}
