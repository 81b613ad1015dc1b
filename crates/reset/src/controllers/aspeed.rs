//! Aspeed SCU resets: drivers/clk/clk-aspeed.c (AST2400/AST2500, `aspeed_reset_ops`) and
//! drivers/clk/clk-ast2600.c (AST2600), with each SCU's map from `data/reset-maps/aspeed.json`
//! (`maps::aspeed`); this module holds no register offset of its own.
//!
//! AST2400/AST2500: the id indexes the kernel's table (ten lines, bits of SCU04 and SCU0D4);
//! assert sets the bit, deassert clears it, each with `regmap_update_bits` (written only when the
//! value changes); status reads it. No `.reset`: a reset is the pulse. The SCU is write-protected
//! until its key is written to SCU00; the kernel leaves that to the bootloader, and so does
//! platreset.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::maps::{self, AspeedLayout, AspeedTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One AST2400/AST2500 SCU.
#[derive(Debug, Clone)]
pub struct AspeedScu {
    window: Window,
    table: &'static AspeedTable,
}

impl AspeedScu {
    /// A driver for the SCU at `window` if `compatible` is one whose table the id indexes.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<AspeedScu> {
        let table = maps::aspeed(compatible).filter(|t| t.layout == AspeedLayout::Indexed)?;
        Some(AspeedScu { window, table })
    }

    fn locate(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        // The build script checks the table has every id below nr_resets, in order.
        let line = self.table.resets.get(id as usize).ok_or_else(|| DriverError::BadSpecifier {
            args: vec![id],
            why: format!("the SCU has {} lines", self.table.resets.len()),
        })?;
        Ok((reg_at(&self.window, id, line.reg, format!("SCU{:02X}", line.reg))?, 1 << line.bit))
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
        one_cell(args, self.table.nr_resets)
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

/// AST2600 SCU resets: drivers/clk/clk-ast2600.c. 64 lines: `reg = id < 32 ? 0x40 : 0x50`
/// (`reset_ctrl`, `reset_ctrl2`), bit `id % 32`. assert writes `BIT` to `reg`; deassert writes it
/// to `reg + 4` (`clear_offset`, set-to-clear); status reads `reg`. No `.reset`: a reset is the
/// pulse.
#[derive(Debug, Clone)]
pub struct Ast2600Scu {
    window: Window,
    table: &'static AspeedTable,
    clear_offset: u64,
}

impl Ast2600Scu {
    /// A driver for the SCU at `window` if `compatible` is one with set/clear registers.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<Ast2600Scu> {
        let table = maps::aspeed(compatible)?;
        match table.layout {
            AspeedLayout::SetClear { clear_offset } => Some(Ast2600Scu { window, table, clear_offset }),
            AspeedLayout::Indexed => None,
        }
    }

    fn reg(&self, id: u32, clear: bool) -> Result<crate::Reg, DriverError> {
        let base = if id < 32 { self.table.reset_ctrl } else { self.table.reset_ctrl2 };
        let offset = base + if clear { self.clear_offset } else { 0 };
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
        one_cell(args, self.table.nr_resets)
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
