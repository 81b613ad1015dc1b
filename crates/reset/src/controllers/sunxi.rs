//! Allwinner sunxi-ng CCU resets: drivers/clk/sunxi-ng/ccu_reset.c, with each SoC's map from
//! `data/reset-maps/sunxi-ng.json` (id → register, mask).
//!
//! assert clears the mask bits (read-modify-write under the CCU lock), deassert sets them, reset
//! is assert, 10 µs, deassert; status is 1 while the bits are clear. Ids below the table's length
//! that have no entry (holes) are refused: the kernel would act on register 0.

use crate::addr::Window;
use crate::controllers::{reg_at, table_cell};
use crate::maps::{self, SunxiTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One CCU.
#[derive(Debug, Clone)]
pub struct SunxiCcu {
    window: Window,
    table: &'static SunxiTable,
}

impl SunxiCcu {
    /// A driver for the CCU at `window` if `compatible` probes a reset map.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<SunxiCcu> {
        maps::sunxi_table(compatible).map(|table| SunxiCcu { window, table })
    }

    fn locate(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let entry = self.table.entry(id).ok_or_else(|| DriverError::BadSpecifier {
            args: vec![id],
            why: format!("{} has no entry for id {id}", self.table.name),
        })?;
        Ok((reg_at(&self.window, id, entry.reg, format!("CCU+{:#05x}", entry.reg))?, entry.mask))
    }

    fn set(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let (reg, mask) = self.locate(id)?;
        let (clear, set) = if asserted { (mask, 0) } else { (0, mask) };
        Ok(mmio.update32(&reg, clear, set, false)?)
    }
}

impl ResetOps for SunxiCcu {
    fn driver(&self) -> &'static str {
        "sunxi-ng-ccu"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: true, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        table_cell(args, self.table.nr_resets, self.table.name, |id| self.table.entry(id).is_some())
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, false)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)?;
        mmio.delay_us(10)?;
        self.set(mmio, id, false)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (reg, mask) = self.locate(id)?;
        Ok(mmio.read32(&reg)? & mask == 0)
    }
}
