//! Qualcomm reset controllers, with the per-SoC maps of `data/reset-maps/qcom-gcc.json`:
//! - clock controllers (GCC, MMCC, GPUCC, …): drivers/clk/qcom/reset.c. mask = `bitmask` or
//!   `BIT(bit)`; assert and deassert update the mask in `reg` (set / clear), then read `reg` back
//!   to make sure the write landed; reset is assert, `udelay` µs (1 when 0), deassert. No status.
//! - AOSS (drivers/reset/reset-qcom-aoss.c): assert writes 1 to `reg`, deassert writes 0, each
//!   followed by a 200 µs wait; reset is assert then deassert.
//! - PDC (drivers/reset/reset-qcom-pdc.c): one register at the compatible's offset; assert
//!   sets `BIT(bit)`, deassert clears it. No reset, no status.

use crate::addr::Window;
use crate::controllers::{reg_at, table_cell};
use crate::maps::{self, QcomDriver, QcomEntry, QcomTable};
use crate::mmio::Mmio;
use crate::ops::{Capabilities, DriverError, ResetOps};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ClockController,
    Aoss,
    Pdc { offset: u64 },
}

/// One Qualcomm reset controller.
#[derive(Debug, Clone)]
pub struct QcomReset {
    window: Window,
    table: &'static QcomTable,
    kind: Kind,
}

impl QcomReset {
    /// A driver for the controller at `window` if `compatible` probes a Qualcomm reset map.
    pub fn for_compatible(window: Window, compatible: &str) -> Option<QcomReset> {
        let (table, offset) = maps::qcom(compatible)?;
        let kind = match (table.driver, offset) {
            (QcomDriver::ClockController, _) => Kind::ClockController,
            (QcomDriver::Aoss, _) => Kind::Aoss,
            (QcomDriver::Pdc, Some(offset)) => Kind::Pdc { offset },
            // The build script refuses a PDC compatible without its offset.
            (QcomDriver::Pdc, None) => return None,
        };
        Some(QcomReset { window, table, kind })
    }

    fn entry(&self, id: u32) -> Result<&'static QcomEntry, DriverError> {
        self.table.entry(id).ok_or_else(|| DriverError::BadSpecifier {
            args: vec![id],
            why: format!("{} has no entry for id {id}", self.table.name),
        })
    }

    fn set(&self, mmio: &mut dyn Mmio, id: u32, asserted: bool) -> Result<(), DriverError> {
        let e = self.entry(id)?;
        match self.kind {
            Kind::ClockController => {
                let reg = reg_at(&self.window, id, e.reg, format!("BCR@{:#x}", e.reg))?;
                let mask = if e.bitmask != 0 { e.bitmask } else { 1 << (e.bit % 32) };
                let (clear, set) = if asserted { (0, mask) } else { (mask, 0) };
                mmio.update32(&reg, clear, set, true)?;
                // Read back so the write has reached the block before anything else happens.
                mmio.read32(&reg)?;
            }
            Kind::Aoss => {
                let reg = reg_at(&self.window, id, e.reg, format!("AOSS@{:#x}", e.reg))?;
                mmio.write32(&reg, u32::from(asserted))?;
                mmio.delay_us(200)?;
            }
            Kind::Pdc { offset } => {
                let reg = reg_at(&self.window, id, offset, "PDC_SYNC_RESET".to_string())?;
                let mask = 1 << (e.bit % 32);
                let (clear, set) = if asserted { (0, mask) } else { (mask, 0) };
                mmio.update32(&reg, clear, set, true)?;
            }
        }
        Ok(())
    }
}

impl ResetOps for QcomReset {
    fn driver(&self) -> &'static str {
        match self.kind {
            Kind::ClockController => "qcom-cc-reset",
            Kind::Aoss => "qcom-aoss",
            Kind::Pdc { .. } => "qcom-pdc",
        }
    }

    fn capabilities(&self) -> Capabilities {
        let reset = !matches!(self.kind, Kind::Pdc { .. });
        Capabilities { assert: true, deassert: true, reset, status: false }
    }

    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        table_cell(args, self.table.nr_resets, self.table.name, |id| self.table.entry(id).is_some())
    }

    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, true)
    }

    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.set(mmio, id, false)
    }

    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        match self.kind {
            Kind::ClockController => {
                let wait = self.entry(id)?.udelay.max(1);
                self.set(mmio, id, true)?;
                mmio.delay_us(wait)?;
                self.set(mmio, id, false)
            }
            Kind::Aoss => {
                self.set(mmio, id, true)?;
                self.set(mmio, id, false)
            }
            Kind::Pdc { .. } => Err(DriverError::NotSupported { driver: self.driver(), op: "reset" }),
        }
    }
}
