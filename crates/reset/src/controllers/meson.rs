//! Amlogic Meson reset: drivers/reset/reset-meson.c (v6.1).
//!
//! Line `id` is bit `id % 32` of bank `id / 32`. reset writes `BIT(bit)` to the bank's
//! self-clearing register at `base + 4 * bank`; assert clears the bit in the level register at
//! `base + level_offset + 4 * bank` (active low, read-modify-write), deassert sets it. No status.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// (compatible, banks, level register offset) as the kernel's `meson_reset_param`s give them.
pub const COMPATIBLES: &[(&str, u32, u64)] = &[
    ("amlogic,meson8b-reset", 8, 0x7C),
    ("amlogic,meson-gxbb-reset", 8, 0x7C),
    ("amlogic,meson-axg-reset", 8, 0x7C),
    ("amlogic,meson-a1-reset", 3, 0x40),
    ("amlogic,meson-s4-reset", 6, 0x40),
];

/// One Meson reset controller.
#[derive(Debug, Clone)]
pub struct MesonReset {
    window: Window,
    banks: u32,
    level_offset: u64,
}

impl MesonReset {
    /// A driver for the controller at `window`.
    pub fn new(window: Window, banks: u32, level_offset: u64) -> MesonReset {
        MesonReset { window, banks, level_offset }
    }

    fn level(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let (bank, mask) = (id / 32, 1 << (id % 32));
        let reg =
            reg_at(&self.window, id, self.level_offset + 4 * u64::from(bank), format!("RESET{bank}_LEVEL"))?;
        let (clear, set) = if asserted { (mask, 0) } else { (0, mask) };
        Ok(mmio.update32(&reg, clear, set, false)?)
    }
}

impl ResetOps for MesonReset {
    fn driver(&self) -> &'static str {
        "meson-reset"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: true, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, self.banks * 32)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let bank = id / 32;
        let reg = reg_at(&self.window, id, 4 * u64::from(bank), format!("RESET{bank}"))?;
        Ok(mmio.write32(&reg, 1 << (id % 32))?)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.level(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.level(mmio, id, false)
    }
}
