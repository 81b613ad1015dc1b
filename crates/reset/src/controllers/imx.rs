//! i.MX5/6 System Reset Controller: arch/arm/mach-imx/src.c (`imx_src_ops`, bound through
//! `fsl,imx51-src`, which every i.MX5/6 SRC node lists).
//!
//! Five lines, each a self-clearing bit of SRC_SCR (offset 0): 0 → GPU (bit 1), 1 → VPU (2),
//! 2 → IPU1 (3), 3 → OpenVG (4), 4 → IPU2 (12). Only `.reset` exists: set the bit
//! (read-modify-write), then poll until the hardware clears it, giving up after 1 s (-ETIME).

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::maps::{self, ImxSrcTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One SRC.
#[derive(Debug, Clone)]
pub struct ImxSrc {
    window: Window,
    table: &'static ImxSrcTable,
}

impl ImxSrc {
    /// A driver for the SRC at `window` if `compatible` probes src.c's reset table
    /// (`sw_reset_bits` of `data/reset-maps/imx-src.json`, through `maps::imx_src`).
    pub fn for_compatible(window: Window, compatible: &str) -> Option<ImxSrc> {
        maps::imx_src(compatible).map(|table| ImxSrc { window, table })
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
        one_cell(args, self.table.nr_resets)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        let line =
            self.table.resets.iter().find(|b| b.id == id).ok_or_else(|| DriverError::BadSpecifier {
                args: vec![id],
                why: format!("the SRC has {} lines", self.table.nr_resets),
            })?;
        let bit = line.scr_bit;
        let scr = reg_at(&self.window, id, line.offset, "SRC_SCR".to_string())?;
        mmio.update32(&scr, 0, 1 << bit, false)?;
        mmio.poll32(&scr, 1 << bit, 0, 1_000_000)?;
        Ok(())
    }
}
