//! Why a reset-controller node cannot be bound or located: one error for [`crate::bind`] and
//! [`crate::window`], so neither depends on the other for it.

use platreset_fdt::FdtError;
use thiserror::Error;

/// Why a controller node cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BindError {
    /// No driver here for any of its compatibles.
    #[error("controller {node} ({}) has no driver in platreset", if compatible.is_empty() { "no compatible".to_string() } else { compatible.join(", ") })]
    Unsupported {
        /// The controller's path.
        node: String,
        /// Its compatibles.
        compatible: Vec<String>,
    },
    /// The controller has no `reg` to drive.
    #[error("controller {node} has no reg: its registers cannot be located")]
    NoReg {
        /// The controller's path.
        node: String,
    },
    /// The controller is a cell of a multi-function device that gives it no registers.
    #[error("controller {node} gets no registers from {parent} (MFD cell {cell}): {why}")]
    MfdCell {
        /// The controller's path.
        node: String,
        /// The multi-function device's path.
        parent: String,
        /// The cell's name in the MFD driver.
        cell: String,
        /// Why it gets no registers.
        why: String,
    },
    /// The DT does not describe it well enough (untranslatable `reg`, malformed property).
    #[error("controller {node}: {source}")]
    Dt {
        /// The controller's path.
        node: String,
        /// What the reader found.
        source: FdtError,
    },
}
