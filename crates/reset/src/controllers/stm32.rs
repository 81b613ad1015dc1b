//! STM32MP1 RCC resets: drivers/clk/clk-stm32mp1.c (`stm32_reset_ops`).
//!
//! Line `id` is bit `id % 32` of the SET register at `4 * (id / 32)` (so the id is the SET
//! register's offset times 8 plus the bit); its CLR register follows at `clear_offset` (4).
//! assert writes `BIT(bit)` to SET, deassert to CLR, status reads SET. No `.reset`: a reset is
//! the pulse. The RCCs and their `clear_offset` are `data/reset-maps/stm32mp1.json`
//! (`maps::stm32`); only those driven by clk-stm32mp1.c's ops bind here (the STM32MP13's
//! reset-stm32.c is not implemented).

use crate::addr::Window;
use crate::controllers::reg_at;
use crate::maps::{self, Stm32Ops, Stm32Table};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// The RCC table of `compatible` if clk-stm32mp1.c's reset ops drive it.
pub fn table(compatible: &str) -> Option<&'static Stm32Table> {
    maps::stm32(compatible).filter(|t| t.ops == Stm32Ops::ClkStm32mp1)
}

/// One RCC.
#[derive(Debug, Clone)]
pub struct Stm32Rcc {
    window: Window,
    clear_offset: u64,
}

impl Stm32Rcc {
    /// A driver for `table`'s RCC at `window`.
    pub fn new(window: Window, table: &Stm32Table) -> Stm32Rcc {
        Stm32Rcc { window, clear_offset: table.clear_offset }
    }

    fn set_reg(&self, id: u32, clear: bool) -> Result<crate::Reg, DriverError> {
        let set = 4 * u64::from(id / 32);
        let (offset, kind) = if clear { (set + self.clear_offset, "CLR") } else { (set, "SET") };
        reg_at(&self.window, id, offset, format!("RCC_{kind}@{set:#x}"))
    }
}

impl ResetOps for Stm32Rcc {
    fn driver(&self) -> &'static str {
        "stm32mp1-rcc"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        match args {
            // Any id whose SET/CLR pair lies in the window is a line.
            [id] if self.set_reg(*id, true).is_ok() => Ok(*id),
            _ => Err(DriverError::BadSpecifier {
                args: args.to_vec(),
                why: format!(
                    "expected one cell naming a SET register within the RCC's {:#x} bytes",
                    self.window.size
                ),
            }),
        }
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        Ok(mmio.write32(&self.set_reg(id, false)?, 1 << (id % 32))?)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        Ok(mmio.write32(&self.set_reg(id, true)?, 1 << (id % 32))?)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        Ok(mmio.read32(&self.set_reg(id, false)?)? & (1 << (id % 32)) != 0)
    }
}
