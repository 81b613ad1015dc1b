//! Amlogic Meson reset: drivers/reset/reset-meson.c (v6.1).
//!
//! Line `id` is bit `id % 32` of bank `id / 32`. reset writes `BIT(bit)` to the bank's
//! self-clearing register at `base + 4 * bank`; assert clears the bit in the level register at
//! `base + level_offset + 4 * bank` (active low, read-modify-write), deassert sets it. No status.
//! The banks and `level_offset` per compatible are the kernel's `meson_reset_param`s
//! (`maps::meson`, the `reset-meson` tables of `data/reset-maps/meson.json`); the other Meson
//! reset drivers those data list (AO clock controller, audio) are not bound here.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::maps::{self, MesonKind};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// The banks and level register offset of a compatible reset-meson.c probes; `None` for any
/// other compatible, including those of the other Meson reset drivers.
pub fn params(compatible: &str) -> Option<(u32, u64)> {
    match maps::meson(compatible)?.kind {
        MesonKind::Reset { reg_count, level_offset } => Some((reg_count, level_offset)),
        MesonKind::AoClk { .. } | MesonKind::AudioArb { .. } | MesonKind::AudioClkc { .. } => None,
    }
}

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
