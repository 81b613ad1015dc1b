//! NVIDIA Tegra CAR resets: drivers/clk/tegra/clk.c (`tegra_clk_rst_*`), and the SoC's special
//! resets past the peripheral banks (clk-tegra210.c `tegra210_reset_assert` / `_deassert`).
//!
//! Line `id` below `banks * 32` is bit `id % 32` of peripheral bank `id / 32`, each bank with its
//! own SET/CLR register pair: assert writes `BIT(bit)` to RST_DEV_*_SET, deassert to
//! RST_DEV_*_CLR. The kernel's `nr_resets` is `banks * 32 + num_special_reset`: the ids after the
//! banks go to the SoC's special handlers, whose register accesses `data/reset-maps/tegra-car.json`
//! records step by step (on Tegra210: DFLL DVCO 224 sets / clears bit 0 of RST_DFLL_DVCO and
//! reads it back, ADSP 225 writes a group of bank-Y bits to RST_DEV_Y_SET and releases them in
//! two writes to RST_DEV_Y_CLR 5 µs apart). Reset is assert, 1 µs, deassert for every id. No
//! status. (The kernel's assert first reads the APB_MISC chip-id register, outside the CAR, as a
//! barrier; platreset does not reach outside the controller.)

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::maps::{self, CarStep, TegraSpecialReset};
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
pub const COMPATIBLES: &[(&str, u32)] = &[
    ("nvidia,tegra20-car", 3),
    ("nvidia,tegra30-car", 5),
    ("nvidia,tegra114-car", 5),
    ("nvidia,tegra124-car", 6),
    ("nvidia,tegra132-car", 6),
    ("nvidia,tegra210-car", 7),
];

/// The CARs whose special resets platreset drives. Tegra124/132's one special reset
/// (`TEGRA124_RST_DFLL_DVCO`, 192) has the same shape as Tegra210's 224 but is still refused as
/// past the banks: issue 16 point 7 covers Tegra210, and 192's corpus lines change with it.
pub const SPECIAL_RESETS_DRIVEN: &[&str] =
    &["nvidia,tegra124-car", "nvidia,tegra132-car", "nvidia,tegra210-car"];

/// One CAR.
#[derive(Debug, Clone)]
pub struct TegraCar {
    window: Window,
    banks: u32,
    special: &'static [TegraSpecialReset],
}

impl TegraCar {
    /// A driver for the CAR at `window` with `banks` peripheral banks and no special resets.
    pub fn new(window: Window, banks: u32) -> TegraCar {
        TegraCar { window, banks: banks.min(BANKS.len() as u32), special: &[] }
    }

    /// The driver for `compatible` (one of [`COMPATIBLES`]): its banks, and its special resets
    /// when it is one of [`SPECIAL_RESETS_DRIVEN`].
    pub fn for_compatible(window: Window, compatible: &str) -> Option<TegraCar> {
        let &(_, banks) = COMPATIBLES.iter().find(|(c, _)| *c == compatible)?;
        let mut car = TegraCar::new(window, banks);
        if SPECIAL_RESETS_DRIVEN.contains(&compatible) {
            car.special = maps::tegra(compatible).map_or(&[], |t| t.special_resets.as_slice());
        }
        Some(car)
    }

    fn nr_resets(&self) -> u32 {
        self.banks * 32 + self.special.len() as u32
    }

    fn write(&self, mmio: &mut dyn Mmio, id: u32, clear: bool) -> Result<(), DriverError> {
        if id >= self.banks * 32 {
            let special = self.special.iter().find(|s| s.id == id).ok_or(DriverError::OutsideWindow {
                id,
                offset: u64::MAX,
                size: self.window.size,
            })?;
            return self.run(mmio, id, if clear { &special.deassert } else { &special.assert });
        }
        let (name, set, clr) = BANKS.get((id / 32) as usize).copied().ok_or(DriverError::OutsideWindow {
            id,
            offset: u64::MAX,
            size: self.window.size,
        })?;
        let (offset, kind) = if clear { (clr, "CLR") } else { (set, "SET") };
        let reg = reg_at(&self.window, id, offset, format!("RST_DEV_{name}_{kind}"))?;
        Ok(mmio.write32(&reg, 1 << (id % 32))?)
    }

    /// A special reset's handler, step by step.
    fn run(&self, mmio: &mut dyn Mmio, id: u32, steps: &'static [CarStep]) -> Result<(), DriverError> {
        // Register names as the trace shows the bank registers: without the TRM's prefix.
        let named = |reg: u64, name: &'static str| {
            reg_at(
                &self.window,
                id,
                reg,
                name.strip_prefix("CLK_RST_CONTROLLER_").unwrap_or(name).to_string(),
            )
        };
        for step in steps {
            match step {
                CarStep::Write { reg, reg_name, value } => mmio.write32(&named(*reg, reg_name)?, *value)?,
                CarStep::SetBits { reg, reg_name, mask } => {
                    mmio.update32(&named(*reg, reg_name)?, 0, *mask, false)?;
                }
                CarStep::ClearBits { reg, reg_name, mask } => {
                    mmio.update32(&named(*reg, reg_name)?, *mask, 0, false)?;
                }
                CarStep::Read { reg, reg_name } => {
                    mmio.read32(&named(*reg, reg_name)?)?;
                }
                CarStep::Udelay { us } => mmio.delay_us(*us)?,
            }
        }
        Ok(())
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
        one_cell(args, self.nr_resets())
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
