//! A reset line: one controller and the specifier cells that select a line on it.

use platreset_fdt::NodeId;

/// One reset line, identified as Linux identifies it: the controller node and the specifier's
/// argument cells. Two consumers share a line exactly when their `ResetLine`s are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResetLine {
    /// The reset controller (the node that carries `#reset-cells`).
    pub controller: NodeId,
    /// The specifier cells after the phandle (`#reset-cells` of them).
    pub args: Vec<u32>,
}
