//! Rockchip CRU soft resets: drivers/clk/rockchip/softrst.c.
//!
//! Sixteen lines per register (`SOFTRST_CON[id / 16]`, bit `id % 16`), written with the
//! "hiword mask": the upper half selects which bits of the lower half the write changes, so no
//! read is needed. assert writes `BIT(bit) | BIT(bit + 16)`, deassert `BIT(bit + 16)`. There is
//! no `.reset` and no `.status`: a reset is the documented pulse.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One CRU's soft-reset block.
#[derive(Debug, Clone)]
pub struct SoftReset {
    window: Window,
    base: u64,
    registers: u32,
}

impl SoftReset {
    /// Soft resets at `base` (from the CRU's start), `registers` of them.
    pub fn new(window: Window, base: u64, registers: u32) -> SoftReset {
        SoftReset { window, base, registers }
    }

    /// The CRU a compatible names, with its parameters from `data/reset-maps/rockchip.json`
    /// (every CRU of 6.1 uses 16 lines a register and hiword masks).
    pub fn for_compatible(window: Window, compatible: &str) -> Option<SoftReset> {
        let t = crate::maps::rockchip(compatible).filter(|t| t.num_per_reg == 16 && t.hiword_mask)?;
        Some(SoftReset::new(window, t.softrst_offset, t.num_regs))
    }

    fn write(&self, mmio: &mut dyn Mmio, id: u32, assert: bool) -> Result<(), DriverError> {
        let (bank, bit) = (id / 16, id % 16);
        let reg = reg_at(&self.window, id, self.base + 4 * u64::from(bank), format!("SOFTRST_CON{bank}"))?;
        let value = (1 << (bit + 16)) | if assert { 1 << bit } else { 0 };
        Ok(mmio.write32(&reg, value)?)
    }
}

impl ResetOps for SoftReset {
    fn driver(&self) -> &'static str {
        "rockchip-softrst"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, self.registers * 16)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.write(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.write(mmio, id, false)
    }
}
