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
use crate::maps::{self, CarStep, TegraBank, TegraSpecialReset};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One CAR.
#[derive(Debug, Clone)]
pub struct TegraCar {
    window: Window,
    /// The SoC's peripheral banks, in id order.
    banks: &'static [TegraBank],
    special: &'static [TegraSpecialReset],
}

impl TegraCar {
    /// The driver for the CAR at `window` if `compatible` names one: its peripheral banks and
    /// its special resets, as `data/reset-maps/tegra-car.json` records them (`maps::tegra`).
    pub fn for_compatible(window: Window, compatible: &str) -> Option<TegraCar> {
        let table = maps::tegra(compatible)?;
        // The build script checks a CAR has no more banks than periph_regs lists.
        let banks = maps::tegra_banks().get(..table.banks as usize)?;
        Some(TegraCar { window, banks, special: table.special_resets })
    }

    fn nr_resets(&self) -> u32 {
        self.banks.len() as u32 * 32 + self.special.len() as u32
    }

    fn write(&self, mmio: &mut dyn Mmio, id: u32, clear: bool) -> Result<(), DriverError> {
        if id >= self.banks.len() as u32 * 32 {
            let special = self.special.iter().find(|s| s.id == id).ok_or(DriverError::OutsideWindow {
                id,
                offset: u64::MAX,
                size: self.window.size,
            })?;
            return self.run(mmio, id, if clear { special.deassert } else { special.assert });
        }
        let bank = self.banks.get((id / 32) as usize).ok_or(DriverError::OutsideWindow {
            id,
            offset: u64::MAX,
            size: self.window.size,
        })?;
        let (offset, kind) = if clear { (bank.rst_clr_reg, "CLR") } else { (bank.rst_set_reg, "SET") };
        let reg = reg_at(&self.window, id, offset, format!("RST_DEV_{}_{kind}", bank.name))?;
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
            match *step {
                CarStep::Write { reg, reg_name, value } => mmio.write32(&named(reg, reg_name)?, value)?,
                CarStep::SetBits { reg, reg_name, mask } => {
                    mmio.update32(&named(reg, reg_name)?, 0, mask, false)?;
                }
                CarStep::ClearBits { reg, reg_name, mask } => {
                    mmio.update32(&named(reg, reg_name)?, mask, 0, false)?;
                }
                CarStep::Read { reg, reg_name } => {
                    mmio.read32(&named(reg, reg_name)?)?;
                }
                CarStep::Udelay { us } => mmio.delay_us(us)?,
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
