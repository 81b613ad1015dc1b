//! NVIDIA Tegra CAR peripheral resets: drivers/clk/tegra/clk.c (`tegra_clk_rst_*`).
//!
//! Line `id` is bit `id % 32` of peripheral bank `id / 32`, each bank with its own SET/CLR
//! register pair. assert writes `BIT(bit)` to RST_DEV_*_SET, deassert to RST_DEV_*_CLR, reset is
//! assert, 1 µs, deassert. No status. (The kernel's assert first reads the APB_MISC chip-id
//! register, outside the CAR, as a barrier; platreset does not reach outside the controller.)

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// Banks L, H, U, V, W, X, Y: (name, SET offset, CLR offset).
const BANKS: [(&str, u64, u64); 7] = [
    ("L", 0x300, 0x304),
    ("H", 0x308, 0x30C),
    ("U", 0x310, 0x314),
    ("V", 0x430, 0x434),
    ("W", 0x438, 0x43C),
    ("X", 0x290, 0x294),
    ("Y", 0x2A8, 0x2AC),
];

/// (compatible, number of peripheral banks), as data/reset-maps/tegra-car.json records them.
/// The "special" resets past the banks (DFLL DVCO, ADSP) have handlers of their own and are
/// refused here.
pub const COMPATIBLES: &[(&str, u32)] = &[
    ("nvidia,tegra20-car", 3),
    ("nvidia,tegra30-car", 5),
    ("nvidia,tegra114-car", 5),
    ("nvidia,tegra124-car", 6),
    ("nvidia,tegra132-car", 6),
    ("nvidia,tegra210-car", 7),
];

/// One CAR.
#[derive(Debug, Clone)]
pub struct TegraCar {
    window: Window,
    banks: u32,
}

impl TegraCar {
    /// A driver for the CAR at `window` with `banks` peripheral banks.
    pub fn new(window: Window, banks: u32) -> TegraCar {
        TegraCar { window, banks: banks.min(BANKS.len() as u32) }
    }

    fn write(&self, mmio: &mut dyn Mmio, id: u32, clear: bool) -> Result<(), DriverError> {
        let (name, set, clr) = BANKS.get((id / 32) as usize).copied().ok_or(DriverError::OutsideWindow {
            id,
            offset: u64::MAX,
            size: self.window.size,
        })?;
        let (offset, kind) = if clear { (clr, "CLR") } else { (set, "SET") };
        let reg = reg_at(&self.window, id, offset, format!("RST_DEV_{name}_{kind}"))?;
        Ok(mmio.write32(&reg, 1 << (id % 32))?)
    }
}

impl ResetOps for TegraCar {
    fn driver(&self) -> &'static str {
        "tegra-car"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: true, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, self.banks * 32)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.write(mmio, id, false)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.write(mmio, id, true)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.write(mmio, id, false)?;
        mmio.delay_us(1)?;
        self.write(mmio, id, true)
    }
}
