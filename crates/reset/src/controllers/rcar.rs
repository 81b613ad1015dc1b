//! Renesas CPG/MSSR (R-Car Gen2, Gen3, Gen4, RZ/G1, RZ/G2): drivers/clk/renesas/renesas-cpg-mssr.c.
//!
//! One cell: `reg * 100 + bit` (bit ≤ 31, reg below the SoC's number of module stop registers).
//! assert writes `BIT(bit)` to SRCR[reg]; deassert writes it to SRSTCLR[reg]; reset is
//! SRCR write, 35 µs, SRSTCLR write (v6.1; later kernels wait ≥ 1 ms on Gen4 and read back);
//! status is `SRCR & BIT`. Plain writes, no read-modify-write: the registers are write-1-to-act.

use crate::addr::Window;
use crate::controllers::reg_at;
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// Register layout generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// R-Car Gen2/Gen3 and RZ/G1/G2: SRCR at a table of offsets, SRSTCLR at 0x940 + 4n.
    Gen2Gen3,
    /// R-Car Gen4: SRCR at 0x2C00 + 4n, SRSTCLR at 0x2C80 + 4n.
    Gen4,
}

/// The compatibles the kernel binds (v6.1), with their layout.
pub const COMPATIBLES: &[(&str, Generation)] = &[
    ("renesas,r8a7742-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7743-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7744-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7745-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77470-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a774a1-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a774b1-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a774c0-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a774e1-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7790-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7791-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7792-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7793-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7794-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7795-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a7796-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77961-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77965-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77970-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77980-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77990-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a77995-cpg-mssr", Generation::Gen2Gen3),
    ("renesas,r8a779a0-cpg-mssr", Generation::Gen4),
    ("renesas,r8a779f0-cpg-mssr", Generation::Gen4),
    ("renesas,r8a779g0-cpg-mssr", Generation::Gen4),
];

/// SRCR offsets of Gen2/Gen3, registers 0–11 (REFERENCE §3).
const SRCR_GEN3: [u64; 12] =
    [0x0A0, 0x0A8, 0x0B0, 0x0B8, 0x0BC, 0x0C4, 0x1C8, 0x1CC, 0x920, 0x924, 0x928, 0x92C];

/// One CPG/MSSR instance.
#[derive(Debug, Clone)]
pub struct CpgMssr {
    window: Window,
    generation: Generation,
}

impl CpgMssr {
    /// A driver for the controller at `window`.
    pub fn new(window: Window, generation: Generation) -> CpgMssr {
        CpgMssr { window, generation }
    }

    fn registers(&self) -> u32 {
        match self.generation {
            Generation::Gen2Gen3 => SRCR_GEN3.len() as u32,
            Generation::Gen4 => 30,
        }
    }

    /// (SRCR offset, SRSTCLR offset, bit mask, register index) of a line id (`reg * 32 + bit`).
    fn locate(&self, id: u32) -> (u64, u64, u32, u32) {
        let (reg, bit) = (id / 32, id % 32);
        let (srcr, clr) = match self.generation {
            Generation::Gen2Gen3 => {
                (SRCR_GEN3.get(reg as usize).copied().unwrap_or(u64::MAX), 0x940 + 4 * u64::from(reg))
            }
            Generation::Gen4 => (0x2C00 + 4 * u64::from(reg), 0x2C80 + 4 * u64::from(reg)),
        };
        (srcr, clr, 1 << bit, reg)
    }

    fn srcr(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let (srcr, _, mask, reg) = self.locate(id);
        Ok((reg_at(&self.window, id, srcr, format!("SRCR{reg}"))?, mask))
    }

    fn srstclr(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let (_, clr, mask, reg) = self.locate(id);
        Ok((reg_at(&self.window, id, clr, format!("SRSTCLR{reg}"))?, mask))
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
        if reg >= self.registers() {
            return Err(bad(format!(
                "{cell} = register {reg}: this SoC has {} reset registers",
                self.registers()
            )));
        }
        Ok(reg * 32 + bit)
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (srcr, mask) = self.srcr(id)?;
        Ok(mmio.write32(&srcr, mask)?)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (clr, mask) = self.srstclr(id)?;
        Ok(mmio.write32(&clr, mask)?)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let (srcr, mask) = self.srcr(id)?;
        let (clr, _) = self.srstclr(id)?;
        mmio.write32(&srcr, mask)?;
        // The kernel waits one cycle of the RCLK (32 kHz): 35 µs.
        mmio.delay_us(35)?;
        Ok(mmio.write32(&clr, mask)?)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (srcr, mask) = self.srcr(id)?;
        Ok(mmio.read32(&srcr)? & mask != 0)
    }
}
