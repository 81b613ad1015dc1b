//! The reset-controller framework, as Linux's `drivers/reset/` implements it.
//!
//! Owns: the consumer-side semantics of reset controls (exclusive and shared, acquire and
//! release, reference-counted deassert, once-per-lifetime shared reset: [`control`]), the
//! [`ResetOps`] a controller driver implements, the device-specific reset handlers vfio-platform
//! has for three devices ([`handlers`], beside the controller drivers: both are register-level
//! resets over [`Mmio`]), and the [`Mmio`] seam every register access goes through, with
//! [`Recorder`], the one record of accesses any backend keeps, and the [`Trace`] dry-run backend.
//!
//! Must not: decide whether a device may be handed to a VM (the policy's job), or touch hardware
//! by itself: real access is a backend the caller chooses explicitly. It reads a controller's DT
//! node only to bind it ([`bind`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod addr;
mod bind;
mod bind_error;
pub mod control;
pub mod controllers;
pub mod handlers;
pub mod maps;
mod mmio;
mod ops;
pub mod perform;
mod pulse;
mod record;
#[cfg(test)]
mod test_driver;
mod trace;
mod window;

pub use addr::{PhysAddr, Reg, Window};
pub use bind::{bind, Binding, FIRMWARE};
pub use bind_error::BindError;
pub use control::{ControlError, ControlId, Controls, Request};
pub use mmio::{Mmio, MmioError, MmioOp};
pub use ops::{Capabilities, DriverError, ResetOps};
pub use pulse::{mode_of, reset_line, Mode, DEFAULT_PULSE_US, MAX_PULSE_US};
pub use record::{Recorder, Recording};
pub use trace::{DryRun, Trace};
pub use window::{controller_window, mfd_cell_window};
