//! The reset-simple family: drivers/reset/reset-simple.c, and the drivers built on its ops,
//! reset-socfpga.c (`altr,rst-mgr`) and reset-sunxi.c (`allwinner,sun6i-a31-ahb1-reset`).
//!
//! Line `id` is bit `id % 32` of the register at `base + reg_offset + 4 * (id / 32)`. assert
//! sets the bit (clears it when active low) and deassert does the opposite, each a
//! read-modify-write under the driver's spinlock; status reads the bit (inverted when the status
//! is active low). Probed from DT there is no reset delay, so `.reset` answers -ENOTSUPP: a reset
//! through platreset is the documented pulse.
//!
//! Which compatibles bind, and with which parameters, is `data/reset-maps/reset-simple.json`
//! (`maps::reset_simple`); this module holds none of them.
//!
//! The sun6i/sun8i PRCM's `allwinner,sun6i-a31-clock-reset` child has no `reg`: the PRCM's MFD
//! driver creates its reset-simple device as a cell, with 4 bytes at +0xB0 of the PRCM's own
//! `reg` ([`crate::window::mfd_cell_window`]); reset-simple then binds it with its active-low parameters and
//! 32 lines (eight per byte of that window).

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::maps::{SimpleDriver, SimpleTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// Per-compatible parameters (the kernel's `reset_simple_devdata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Offset of the first register from the `reg` base.
    pub reg_offset: u64,
    /// Number of lines; `None`: eight per byte of the `reg` window.
    pub nr_resets: Option<u32>,
    /// Asserting clears the bit.
    pub active_low: bool,
    /// A clear bit reads as asserted.
    pub status_active_low: bool,
}

/// One reset-simple instance.
#[derive(Debug, Clone)]
pub struct Simple {
    window: Window,
    params: Params,
    name: &'static str,
}

impl Simple {
    /// A driver for the controller at `window`.
    pub fn new(window: Window, params: Params) -> Simple {
        Simple { window, params, name: "reset-simple" }
    }

    /// The driver for `table`'s controller at `window`. `reg_offset` is the node's
    /// `table.reg_offset_property` (`altr,modrst-offset` of reset-socfpga.c), if it has it; the
    /// table's `reg_offset` is the driver's default.
    pub fn for_table(window: Window, table: &SimpleTable, reg_offset: Option<u32>) -> Simple {
        let params = Params {
            reg_offset: reg_offset.map_or(table.reg_offset, u64::from),
            nr_resets: table.nr_resets,
            active_low: table.active_low,
            status_active_low: table.status_active_low,
        };
        // reset-sunxi.c registers reset-simple's ops as they are: the name says whose they are.
        let name = match table.driver {
            SimpleDriver::ResetSimple | SimpleDriver::ResetSunxi => "reset-simple",
            SimpleDriver::ResetSocfpga => "reset-socfpga",
        };
        Simple { window, params, name }
    }

    fn nr_resets(&self) -> u32 {
        self.params
            .nr_resets
            .unwrap_or_else(|| u32::try_from(self.window.size.saturating_mul(8)).unwrap_or(u32::MAX))
    }

    fn locate(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let bank = id / 32;
        let offset = self.params.reg_offset + 4 * u64::from(bank);
        Ok((reg_at(&self.window, id, offset, format!("RESET{bank}"))?, 1 << (id % 32)))
    }

    fn set(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let (reg, mask) = self.locate(id)?;
        let bit_set = asserted != self.params.active_low;
        let (clear, set) = if bit_set { (0, mask) } else { (mask, 0) };
        Ok(mmio.update32(&reg, clear, set, false)?)
    }
}

impl ResetOps for Simple {
    fn driver(&self) -> &'static str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, self.nr_resets())
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, false)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (reg, mask) = self.locate(id)?;
        let bit_set = mmio.read32(&reg)? & mask != 0;
        Ok(bit_set != self.params.status_active_low)
    }
}
