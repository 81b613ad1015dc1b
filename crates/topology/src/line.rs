//! A reset line: one controller and the specifier cells that select a line on it.

use platreset_fdt::NodeId;

/// The most argument cells a specifier may have (Linux's `MAX_PHANDLE_ARGS`).
pub const MAX_RESET_ARGS: u32 = 16;

const CAP: usize = MAX_RESET_ARGS as usize;

/// One reset line, identified as Linux identifies it: the controller node and the specifier's
/// argument cells (at most [`MAX_RESET_ARGS`], held inline). Two consumers share a line exactly
/// when their `ResetLine`s are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResetLine {
    controller: NodeId,
    len: u8,
    // Cells past `len` are always zero, so the derived comparisons see only the real cells.
    cells: [u32; CAP],
}

impl ResetLine {
    /// A line of `controller` selected by `args`; `None` beyond [`MAX_RESET_ARGS`] cells.
    pub fn new(controller: NodeId, args: &[u32]) -> Option<ResetLine> {
        let mut cells = [0; CAP];
        cells.get_mut(..args.len())?.copy_from_slice(args);
        Some(ResetLine { controller, len: args.len() as u8, cells })
    }

    /// The reset controller (the node that carries `#reset-cells`).
    pub fn controller(&self) -> NodeId {
        self.controller
    }

    /// The specifier cells after the phandle (`#reset-cells` of them).
    pub fn args(&self) -> &[u32] {
        &self.cells[..usize::from(self.len)]
    }
}

// Ordered by controller, then by the specifier's real cells: sorting and searching lines
// compares one or two cells, not the sixteen of the inline buffer.
impl Ord for ResetLine {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.controller.cmp(&other.controller).then_with(|| self.args().cmp(other.args()))
    }
}

impl PartialOrd for ResetLine {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
