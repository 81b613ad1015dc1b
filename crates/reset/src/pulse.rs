//! How platreset resets one line: the driver's own `.reset` where it has one (`"mode":
//! "kernel"`), else assert, a wait, deassert (`"mode": "pulse"`): a documented extension, since
//! Linux's framework never falls back to it (CONTROLLERS.md "Kernel reset vs platreset pulse").

use crate::mmio::Mmio;
use crate::ops::{DriverError, ResetOps};

/// The default wait between assert and deassert of a pulse: conservative for every family here
/// (the kernel's own reset sequences wait 1 to 35 µs).
pub const DEFAULT_PULSE_US: u32 = 10;

/// The longest pulse platreset will hold: one second. The kernel's own reset sequences wait 1 µs
/// to 1 ms (R-Car Gen4's is the longest); a longer hold is a typo, and `verify` simulates every
/// microsecond of it while the device's DMA runs.
pub const MAX_PULSE_US: u32 = 1_000_000;

/// How a line is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The driver's `.reset`, exactly as the kernel performs it.
    Kernel,
    /// assert, wait `us`, deassert.
    Pulse {
        /// Wait between assert and deassert.
        us: u32,
    },
}

impl Mode {
    /// The stable name in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Kernel => "kernel",
            Mode::Pulse { .. } => "pulse",
        }
    }
}

/// How `ops` can reset a line, if at all.
pub fn mode_of(ops: &dyn ResetOps, pulse_us: u32) -> Option<Mode> {
    let caps = ops.capabilities();
    if caps.reset {
        Some(Mode::Kernel)
    } else if caps.assert && caps.deassert {
        Some(Mode::Pulse { us: pulse_us })
    } else {
        None
    }
}

/// Resets line `id` in the mode [`mode_of`] gives, calling the driver directly (one line, no
/// framework: the worked examples' view of a driver). [`crate::perform`] does the same sequence
/// through the reset framework's controls, with the array rules around it.
pub fn reset_line(
    ops: &dyn ResetOps,
    mmio: &mut dyn Mmio,
    id: u32,
    pulse_us: u32,
) -> Result<Mode, DriverError> {
    match mode_of(ops, pulse_us) {
        Some(Mode::Kernel) => ops.reset(mmio, id).map(|()| Mode::Kernel),
        Some(mode @ Mode::Pulse { us }) => {
            ops.assert(mmio, id)?;
            mmio.delay_us(us)?;
            ops.deassert(mmio, id)?;
            Ok(mode)
        }
        None => {
            Err(DriverError::NotSupported { driver: ops.driver(), op: "reset (nor assert and deassert)" })
        }
    }
}
