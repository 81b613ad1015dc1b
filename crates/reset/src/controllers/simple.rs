//! The reset-simple family: drivers/reset/reset-simple.c, and the drivers built on its ops,
//! reset-socfpga.c (`altr,rst-mgr`) and reset-sunxi.c (`allwinner,sun6i-a31-ahb1-reset`).
//!
//! Line `id` is bit `id % 32` of the register at `base + reg_offset + 4 * (id / 32)`. assert
//! sets the bit (clears it when active low) and deassert does the opposite, each a
//! read-modify-write under the driver's spinlock; status reads the bit (inverted when the status
//! is active low). Probed from DT there is no reset delay, so `.reset` answers -ENOTSUPP: a reset
//! through platreset is the documented pulse.

use crate::addr::Window;
use crate::controllers::{one_cell, reg_at};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// Per-compatible parameters (the kernel's `reset_simple_devdata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Offset of the first register from the `reg` base.
    pub reg_offset: u64,
    /// Number of lines; `None`: eight per byte of the `reg` window.
    pub nr_resets: Option<u32>,
    /// Asserting clears the bit.
    pub active_low: bool,
    /// A clear bit reads as asserted.
    pub status_active_low: bool,
}

const PLAIN: Params = Params { reg_offset: 0, nr_resets: None, active_low: false, status_active_low: false };
const ACTIVE_LOW: Params = Params { active_low: true, status_active_low: true, ..PLAIN };
const SOCFPGA_S10: Params =
    Params { reg_offset: 0x20, nr_resets: Some(256), status_active_low: true, ..PLAIN };

/// The compatibles bound to reset-simple's ops in v6.1, with their parameters. `altr,rst-mgr`
/// takes its offset from `altr,modrst-offset` (default 0x10): see [`Simple::socfpga`].
pub const COMPATIBLES: &[(&str, Params)] = &[
    ("altr,stratix10-rst-mgr", SOCFPGA_S10),
    ("st,stm32-rcc", PLAIN),
    ("allwinner,sun6i-a31-clock-reset", ACTIVE_LOW),
    ("zte,zx296718-reset", ACTIVE_LOW),
    ("aspeed,ast2400-lpc-reset", PLAIN),
    ("aspeed,ast2500-lpc-reset", PLAIN),
    ("aspeed,ast2600-lpc-reset", PLAIN),
    ("bitmain,bm1880-reset", ACTIVE_LOW),
    ("brcm,bcm4908-misc-pcie-reset", ACTIVE_LOW),
    ("snps,dw-high-reset", PLAIN),
    ("snps,dw-low-reset", ACTIVE_LOW),
    // reset-sunxi.c sets active_low only; its status therefore reads a set bit as asserted.
    ("allwinner,sun6i-a31-ahb1-reset", Params { active_low: true, ..PLAIN }),
];

/// One reset-simple instance.
#[derive(Debug, Clone)]
pub struct Simple {
    window: Window,
    params: Params,
    name: &'static str,
}

impl Simple {
    /// A driver for the controller at `window`.
    pub fn new(window: Window, params: Params) -> Simple {
        Simple { window, params, name: "reset-simple" }
    }

    /// `altr,rst-mgr` (reset-socfpga.c): 256 lines from `modrst_offset` (the node's
    /// `altr,modrst-offset`, 0x10 when absent), status active low.
    pub fn socfpga(window: Window, modrst_offset: Option<u32>) -> Simple {
        let params = Params {
            reg_offset: u64::from(modrst_offset.unwrap_or(0x10)),
            nr_resets: Some(256),
            status_active_low: true,
            ..PLAIN
        };
        Simple { window, params, name: "reset-socfpga" }
    }

    fn nr_resets(&self) -> u32 {
        self.params
            .nr_resets
            .unwrap_or_else(|| u32::try_from(self.window.size.saturating_mul(8)).unwrap_or(u32::MAX))
    }

    fn locate(&self, id: u32) -> Result<(crate::Reg, u32), DriverError> {
        let bank = id / 32;
        let offset = self.params.reg_offset + 4 * u64::from(bank);
        Ok((reg_at(&self.window, id, offset, format!("RESET{bank}"))?, 1 << (id % 32)))
    }

    fn set(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let (reg, mask) = self.locate(id)?;
        let bit_set = asserted != self.params.active_low;
        let (clear, set) = if bit_set { (0, mask) } else { (mask, 0) };
        Ok(mmio.update32(&reg, clear, set, false)?)
    }
}

impl ResetOps for Simple {
    fn driver(&self) -> &'static str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: true }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        one_cell(args, self.nr_resets())
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, false)
    }

    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        let (reg, mask) = self.locate(id)?;
        let bit_set = mmio.read32(&reg)? & mask != 0;
        Ok(bit_set != self.params.status_active_low)
    }
}
