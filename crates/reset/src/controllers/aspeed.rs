//! Aspeed AST2400/AST2500 SCU resets: drivers/clk/clk-aspeed.c (`aspeed_reset_ops`).
//!
//! Ten lines, each a bit of SCU04 (or SCU0D4 for the last); assert sets the bit, deassert clears
//! it, each with `regmap_update_bits` (written only when the value changes); status reads it.
//! No `.reset`: a reset is the pulse. The SCU is write-protected until its key is written to
//! SCU00; the kernel leaves that to the bootloader, and so does platreset.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// The compatibles.
pub const COMPATIBLES: &[&str] = &["aspeed,ast2400-scu", "aspeed,ast2500-scu"];

/// (register offset, bit) of each line.
const LINES: [(u64, u32); 10] = [
    (0x04, 25),
    (0x04, 24),
    (0x04, 23),
    (0x04, 22),
    (0x04, 18),
    (0x04, 9),
    (0x04, 10),
    (0x04, 2),
    (0x04, 1),
    (0xD4, 5),
];

/// One SCU.
#[derive(Debug, Clone)]
pub struct AspeedScu {
    window: Window,
}

impl AspeedScu {
    /// A driver for the SCU at `window`.
    pub fn new(window: Window) -> AspeedScu {
        AspeedScu { window }
    }

    fn locate(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let (offset, bit) = LINES
            .get(id as usize)
            .copied()
            .ok_or(DriverError::BadSpecifier { args: vec![id], why: "the SCU has 10 lines".into() })?;
        Ok((reg_at(&self.window, id, offset, format!("SCU{offset:02X}"))?, 1 << bit))
    }
}

impl ResetOps for AspeedScu {
    fn driver(&self) -> &'static str {
        "aspeed-scu"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, LINES.len() as u32)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (reg, mask) = self.locate(id)?;
        Ok(mmio.update32(&reg, 0, mask, true)?)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (reg, mask) = self.locate(id)?;
        Ok(mmio.update32(&reg, mask, 0, true)?)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (reg, mask) = self.locate(id)?;
        Ok(mmio.read32(&reg)? & mask != 0)
    }
}

/// AST2600 SCU resets: drivers/clk/clk-ast2600.c. 64 lines: `reg = id < 32 ? 0x40 : 0x50`, bit
/// `id % 32`. assert writes `BIT` to `reg`; deassert writes it to `reg + 4` (set-to-clear);
/// status reads `reg`. No `.reset`: a reset is the pulse.
#[derive(Debug, Clone)]
pub struct Ast2600Scu {
    window: Window,
}

/// The AST2600 compatible.
pub const AST2600: &str = "aspeed,ast2600-scu";

impl Ast2600Scu {
    /// A driver for the SCU at `window`.
    pub fn new(window: Window) -> Ast2600Scu {
        Ast2600Scu { window }
    }

    fn reg(&self, id: u32, clear: bool) -> Result<crate::Reg, DriverError> {
        let base: u64 = if id < 32 { 0x40 } else { 0x50 };
        let offset = base + if clear { 4 } else { 0 };
        reg_at(&self.window, id, offset, format!("SCU{offset:03X}"))
    }
}

impl ResetOps for Ast2600Scu {
    fn driver(&self) -> &'static str {
        "aspeed-g6-scu"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, 64)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        Ok(mmio.write32(&self.reg(id, false)?, 1 << (id % 32))?)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        Ok(mmio.write32(&self.reg(id, true)?, 1 << (id % 32))?)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        Ok(mmio.read32(&self.reg(id, false)?)? & (1 << (id % 32)) != 0)
    }
}
