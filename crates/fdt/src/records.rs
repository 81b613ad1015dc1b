//! The flat records the structure-block pass fills and every reader uses: one per node, one per
//! property, linked by index.
//!
//! Owns: their layout. A leaf: it depends on no other module, so the reader's modules (tree,
//! node, property, names) all reach it without a cycle.

/// "No such node" in the link fields.
pub(crate) const NONE: u32 = u32::MAX;

/// A node as found in the structure block. Offsets are absolute in the blob.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeRec {
    pub offset: u32,
    pub name_start: u32,
    pub name_len: u32,
    pub parent: u32,
    pub first_child: u32,
    pub next_sibling: u32,
    /// Offset of the token after the node's name: its properties (if any) start there and run
    /// until the first token that is neither FDT_PROP nor FDT_NOP.
    pub props_offset: u32,
    /// Bit i set when the node has a property named by entry i of the classifying name list.
    pub classes: u32,
    /// The node's phandle as the walk found it (0: none), when the classifying names include
    /// both `phandle` and `linux,phandle` (`NameTable::phandle_classes`).
    pub phandle: u32,
    pub depth: u16,
}

/// A property token as found in the structure block; its value starts 12 bytes after `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PropRec {
    pub offset: u32,
    pub nameoff: u32,
    pub len: u32,
}

impl PropRec {
    pub fn value_start(&self) -> usize {
        self.offset as usize + 12
    }
}
