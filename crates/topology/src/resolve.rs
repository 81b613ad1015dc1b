//! Resolving a `resets` property into [`ResetLine`]s, as `of_parse_phandle_with_args` does.

use platreset_fdt::{Fdt, NodeId, PhandleIndex, Property, SpecifierError};
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
    let path = |id: NodeId| fdt.node(id).map(|n| n.path()).unwrap_or_default();
    let count = |controller: &platreset_fdt::Node<'_, '_>| match reset_cells(controller.id()) {
        None => Err("has no #reset-cells".to_string()),
        Some(Err(why)) => Err(format!("has an unreadable #reset-cells: {why}")),
        Some(Ok(n)) if n > MAX_RESET_ARGS => {
            Err(format!("has #reset-cells = {n}, beyond the limit of {MAX_RESET_ARGS}"))
        }
        Some(Ok(n)) => Ok(n),
    };
    let mut lines = Vec::with_capacity(1);
    for entry in fdt.specifiers(phandles, &cells, count) {
        let spec = entry.map_err(|e| match e {
            SpecifierError::UnknownPhandle { cell, phandle } => {
                ResolveError::UnknownPhandle { offset, cell, phandle }
            }
            SpecifierError::BadCells { cell, provider, problem } => {
                ResolveError::BadResetCells { offset, cell, controller: path(provider), problem }
            }
            SpecifierError::Truncated { cell, provider, need, have } => {
                ResolveError::Truncated { offset, cell, controller: path(provider), need, have }
            }
        })?;
        // The count was checked against MAX_RESET_ARGS above, so the line always fits.
        lines.extend(ResetLine::new(spec.provider, spec.args));
    }
    Ok(lines)
}
