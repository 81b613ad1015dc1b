//! i.MX5/6 System Reset Controller: arch/arm/mach-imx/src.c (`imx_src_ops`, bound through
//! `fsl,imx51-src`, which every i.MX5/6 SRC node lists).
//!
//! Five lines, each a self-clearing bit of SRC_SCR (offset 0): 0 → GPU (bit 1), 1 → VPU (2),
//! 2 → IPU1 (3), 3 → OpenVG (4), 4 → IPU2 (12). Only `.reset` exists: set the bit
//! (read-modify-write), then poll until the hardware clears it, giving up after 1 s (-ETIME).

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// The compatible the driver matches (i.MX6 SRC nodes list it after their own).
pub const COMPATIBLE: &str = "fsl,imx51-src";

/// SCR bit of each line.
const SW_RESET_BITS: [u32; 5] = [1, 2, 3, 4, 12];

/// One SRC.
#[derive(Debug, Clone)]
pub struct ImxSrc {
    window: Window,
}

impl ImxSrc {
    /// A driver for the SRC at `window`.
    pub fn new(window: Window) -> ImxSrc {
        ImxSrc { window }
    }
}

impl ResetOps for ImxSrc {
    fn driver(&self) -> &'static str {
        "imx-src"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: false, deassert: false, reset: true, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, SW_RESET_BITS.len() as u32)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let bit = SW_RESET_BITS
            .get(id as usize)
            .copied()
            .ok_or(DriverError::BadSpecifier { args: vec![id], why: "the SRC has 5 lines".into() })?;
        let scr = reg_at(&self.window, id, 0, "SRC_SCR".to_string())?;
        mmio.update32(&scr, 0, 1 << bit, false)?;
        mmio.poll32(&scr, 1 << bit, 0, 1_000_000)?;
        Ok(())
    }
}
