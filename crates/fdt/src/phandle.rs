//! Phandles: the cell values that name a node.
//!
//! Owns: [`Phandle`]. A leaf (the index from phandle to node is `phandle_index`, which needs nodes).

use std::num::NonZeroU32;

/// A valid phandle: neither 0 nor 0xffffffff (both mean "none" in the DT specification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phandle(NonZeroU32);

impl Phandle {
    /// The phandle for this cell value, if it is a valid one.
    pub fn new(value: u32) -> Option<Phandle> {
        if value == u32::MAX {
            return None;
        }
        NonZeroU32::new(value).map(Phandle)
    }

    /// The cell value.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl std::fmt::Display for Phandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}
