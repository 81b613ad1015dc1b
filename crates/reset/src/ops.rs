//! What a reset-controller driver provides: Linux's `struct reset_control_ops` plus `of_xlate`.
//! A driver maps an id to registers and performs the access; it knows nothing of exclusive or
//! shared use (that is [`crate::control`]'s job).

use thiserror::Error;

use crate::mmio::{Mmio, MmioError};

/// Which operations a driver implements. The framework's answers differ for a missing
/// operation exactly as Linux's do (e.g. `reset` without `.reset` is `NotSupported`, `deassert`
/// without `.deassert` succeeds without touching anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `.assert`.
    pub assert: bool,
    /// `.deassert`.
    pub deassert: bool,
    /// `.reset`.
    pub reset: bool,
    /// `.status`.
    pub status: bool,
}

/// A driver's failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The specifier names no line of this controller (Linux: `of_xlate` → -EINVAL).
    #[error("reset specifier {args:?} is invalid for this controller: {why}")]
    BadSpecifier {
        /// The specifier cells.
        args: Vec<u32>,
        /// Why.
        why: String,
    },
    /// The operation is not implemented by the driver (Linux: -ENOTSUPP).
    #[error("the {driver} driver has no {op} operation")]
    NotSupported {
        /// Driver name.
        driver: &'static str,
        /// Operation.
        op: &'static str,
    },
    /// A register access failed.
    #[error(transparent)]
    Mmio(#[from] MmioError),
    /// The controller's register window does not hold the register the id maps to.
    #[error("reset id {id} maps to offset {offset:#x}, outside the controller's window of {size:#x} bytes")]
    OutsideWindow {
        /// Id.
        id: u32,
        /// Register offset.
        offset: u64,
        /// Window size.
        size: u64,
    },
}

/// A reset-controller driver bound to one controller instance.
pub trait ResetOps {
    /// The driver's name as Linux calls it ("renesas-cpg-mssr", "reset-simple").
    fn driver(&self) -> &'static str;
    /// Which operations exist.
    fn capabilities(&self) -> Capabilities;
    /// Translates specifier cells into a line id (Linux's `of_xlate`).
    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError>;
    /// Puts the line into reset.
    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let _ = (mmio, id);
        Err(DriverError::NotSupported { driver: self.driver(), op: "assert" })
    }
    /// Takes the line out of reset.
    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let _ = (mmio, id);
        Err(DriverError::NotSupported { driver: self.driver(), op: "deassert" })
    }
    /// Pulses the line (the driver's own complete sequence).
    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let _ = (mmio, id);
        Err(DriverError::NotSupported { driver: self.driver(), op: "reset" })
    }
    /// Whether the line is asserted.
    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let _ = (mmio, id);
        Err(DriverError::NotSupported { driver: self.driver(), op: "status" })
    }
}
