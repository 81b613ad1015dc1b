//! i.MX7 and i.MX8M System Reset Controllers: drivers/reset/reset-imx7.c, with each variant's
//! signals from `data/reset-maps/imx-src.json` (i.MX8MM/8MN DTs fall back to `fsl,imx8mq-src`).
//!
//! assert and deassert update the signal's mask in its register (set to assert; inverted for
//! the few active-low signals); some PCIe PHY signals wait 10 µs before the deassert write.
//! No `.reset`, no status: a reset is the pulse.

use crate::addr::Window;
use crate::controllers::{reg_at, table_cell};
use crate::maps::{self, ImxSignal, ImxTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

/// One SRC.
#[derive(Debug, Clone)]
pub struct Imx7Src {
    window: Window,
    table: &'static ImxTable,
}

impl Imx7Src {
    /// A driver for the SRC at `window` if `compatible` probes a reset-imx7 variant.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<Imx7Src> {
        maps::imx7(compatible).map(|table| Imx7Src { window, table })
    }

    fn signal(&self, id: u32) -> Result<&'static ImxSignal, DriverError> {
        self.table.signal(id).ok_or_else(|| DriverError::BadSpecifier {
            args: vec![id],
            why: format!("{} has no signal {id}", self.table.name),
        })
    }

    fn set(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let s = self.signal(id)?;
        let reg = reg_at(&self.window, id, s.offset, format!("SRC+{:#x}", s.offset))?;
        if !asserted && s.deassert_udelay > 0 {
            mmio.delay_us(s.deassert_udelay)?;
        }
        let bit_set = asserted != s.active_low;
        let (clear, set) = if bit_set { (0, s.bit) } else { (s.bit, 0) };
        Ok(mmio.update32(&reg, clear, set, true)?)
    }
}

impl ResetOps for Imx7Src {
    fn driver(&self) -> &'static str {
        "reset-imx7"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { assert: true, deassert: true, reset: false, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        table_cell(args, self.table.nr_resets, self.table.name, |id| self.table.signal(id).is_some())
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, false)
    }
}
