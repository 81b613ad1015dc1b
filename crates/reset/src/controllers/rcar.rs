//! Renesas CPG/MSSR (R-Car Gen2, Gen3, Gen4, RZ/G1, RZ/G2): drivers/clk/renesas/renesas-cpg-mssr.c,
//! with each SoC's parameters from `data/reset-maps/renesas-cpg-mssr.json`.
//!
//! One cell: `reg * 100 + bit` (bit ≤ 31, `reg * 32 + bit` below the SoC's number of module
//! clocks). assert writes `BIT(bit)` to SRCR\[reg\]; deassert writes it to SRSTCLR\[reg\]; reset is
//! the SRCR write, a wait (35 µs, one RCLK cycle; 1 ms on Gen4 in Debian's 6.1.192), the SRSTCLR
//! write; status is `SRCR & BIT`. Plain writes: the registers are write-1-to-act.

use crate::addr::Window;
use crate::controllers::reg_at;
use crate::maps;
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One CPG/MSSR instance.
#[derive(Debug, Clone)]
pub struct CpgMssr {
    window: Window,
    srcr: &'static [u64],
    srstclr: &'static [u64],
    nr_resets: u32,
    delay_us: u32,
}

impl CpgMssr {
    /// A driver for the controller at `window` if the kernel registers resets for `compatible`.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<CpgMssr> {
        let info = maps::rcar_info(compatible).filter(|i| i.registers_resets)?;
        // Gen4's own register tables, or Gen2/Gen3's (`RcarSrcr`); present whenever the SoC
        // registers resets (the build script checks).
        let (srcr, srstclr) = info.srcr?.registers();
        Some(CpgMssr {
            window,
            srcr,
            srstclr,
            nr_resets: info.nr_resets,
            delay_us: info.reset_delay_us.unwrap_or(35),
        })
    }

    fn regs(&self, id: u32) -> Result<(crate::Reg, crate::Reg, u32), DriverError> {
        let (reg, bit) = ((id / 32) as usize, id % 32);
        // xlate keeps reg inside both tables; a driver used without it still cannot index out.
        let (Some(&srcr), Some(&clr)) = (self.srcr.get(reg), self.srstclr.get(reg)) else {
            return Err(DriverError::BadSpecifier { args: vec![id], why: format!("no register {reg}") });
        };
        Ok((
            reg_at(&self.window, id, srcr, format!("SRCR{reg}"))?,
            reg_at(&self.window, id, clr, format!("SRSTCLR{reg}"))?,
            1 << bit,
        ))
    }
}

impl ResetOps for CpgMssr {
    fn driver(&self) -> &'static str {
        "renesas-cpg-mssr"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: true, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        let bad = |why: String| DriverError::BadSpecifier { args: args.to_vec(), why };
        let [cell] = args else { return Err(bad(format!("expected 1 cell, got {}", args.len()))) };
        let (reg, bit) = (cell / 100, cell % 100);
        if bit > 31 {
            return Err(bad(format!("{cell} = register {reg} bit {bit}: bits go up to 31")));
        }
        let id = reg * 32 + bit;
        if id >= self.nr_resets {
            return Err(bad(format!("{cell} = line {id}: this SoC has {} lines", self.nr_resets)));
        }
        if reg as usize >= self.srcr.len() {
            // r8a779g0 declares more lines than 6.1's register tables hold (the kernel would
            // read past its array): refuse rather than guess a register.
            return Err(bad(format!(
                "{cell} = register {reg}: beyond the kernel's {} reset registers",
                self.srcr.len()
            )));
        }
        Ok(id)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (srcr, _, mask) = self.regs(id)?;
        Ok(mmio.write32(&srcr, mask)?)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (_, clr, mask) = self.regs(id)?;
        Ok(mmio.write32(&clr, mask)?)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (srcr, clr, mask) = self.regs(id)?;
        mmio.write32(&srcr, mask)?;
        mmio.delay_us(self.delay_us)?;
        Ok(mmio.write32(&clr, mask)?)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (srcr, _, mask) = self.regs(id)?;
        Ok(mmio.read32(&srcr)? & mask != 0)
    }
}
