//! Resolving a `resets` property into [`ResetLine`]s, as `of_parse_phandle_with_args` does.

use platreset_fdt::{Fdt, NodeId, PhandleIndex, Property};
use thiserror::Error;

use crate::line::{ResetLine, MAX_RESET_ARGS};

/// Why a `resets` property cannot be resolved. Offsets are the property's FDT_PROP token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The value is not a whole number of cells.
    #[error("'resets' at offset {offset:#x} is {len} bytes, not a multiple of 4")]
    NotCells {
        /// Property offset.
        offset: usize,
        /// Its length.
        len: usize,
    },
    /// The property is empty.
    #[error("'resets' at offset {offset:#x} is empty")]
    Empty {
        /// Property offset.
        offset: usize,
    },
    /// A phandle cell that names no node (or is 0 / 0xffffffff).
    #[error("'resets' at offset {offset:#x}, cell {cell}: phandle {phandle:#x} names no node")]
    UnknownPhandle {
        /// Property offset.
        offset: usize,
        /// Index of the phandle cell.
        cell: usize,
        /// Its value.
        phandle: u32,
    },
    /// The controller has no usable `#reset-cells`.
    #[error("'resets' at offset {offset:#x}, cell {cell}: controller {controller} {problem}")]
    BadResetCells {
        /// Property offset.
        offset: usize,
        /// Index of the phandle cell.
        cell: usize,
        /// The controller's path.
        controller: String,
        /// What is wrong with its `#reset-cells`.
        problem: String,
    },
    /// The property ends inside a specifier.
    #[error("'resets' at offset {offset:#x}, cell {cell}: controller {controller} takes {need} argument cell(s), only {have} left")]
    Truncated {
        /// Property offset.
        offset: usize,
        /// Index of the phandle cell.
        cell: usize,
        /// The controller's path.
        controller: String,
        /// `#reset-cells`.
        need: u32,
        /// Cells remaining.
        have: usize,
    },
}

/// Resolves `resets` of one node. `reset_cells` gives a node's `#reset-cells` reading: `None`
/// when absent, `Some(Err(text))` when unreadable.
pub(crate) fn resolve(
    fdt: &Fdt<'_>,
    prop: &Property<'_>,
    phandles: &PhandleIndex,
    reset_cells: impl Fn(NodeId) -> Option<Result<u32, String>>,
) -> Result<Vec<ResetLine>, ResolveError> {
    let offset = prop.offset();
    let cells: Vec<u32> =
        prop.u32s().map_err(|_| ResolveError::NotCells { offset, len: prop.value().len() })?.collect();
    if cells.is_empty() {
        return Err(ResolveError::Empty { offset });
    }
    let mut lines = Vec::with_capacity(1);
    let mut at = 0;
    while let Some(&phandle) = cells.get(at) {
        let controller = phandles.lookup(fdt, phandle).ok_or(ResolveError::UnknownPhandle {
            offset,
            cell: at,
            phandle,
        })?;
        let bad = |problem: String| ResolveError::BadResetCells {
            offset,
            cell: at,
            controller: controller.path(),
            problem,
        };
        let count = match reset_cells(controller.id()) {
            None => return Err(bad("has no #reset-cells".into())),
            Some(Err(why)) => return Err(bad(format!("has an unreadable #reset-cells: {why}"))),
            Some(Ok(n)) if n > MAX_RESET_ARGS => {
                return Err(bad(format!("has #reset-cells = {n}, beyond the limit of {MAX_RESET_ARGS}")))
            }
            Some(Ok(n)) => n,
        };
        let args = cells.get(at + 1..at + 1 + count as usize).ok_or_else(|| ResolveError::Truncated {
            offset,
            cell: at,
            controller: controller.path(),
            need: count,
            have: cells.len() - at - 1,
        })?;
        // `count` was checked against MAX_RESET_ARGS above, so the line always fits.
        lines.extend(ResetLine::new(controller.id(), args));
        at += 1 + count as usize;
    }
    Ok(lines)
}
