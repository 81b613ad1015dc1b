//! Qualcomm reset controllers, from the hardware's side:
//! - clock controllers (GCC, MMCC, GPUCC, DISPCC, …): each block has a block control register
//!   (BCR) whose reset bits hold the block in reset while set; registers read back what was
//!   written.
//! - the AOSS clock controller (`qcom,sdm845-aoss-cc`): one restart register per subsystem,
//!   bit 0 holds the subsystem in reset while set (the kernel's reset-qcom-aoss.c writes 1, then
//!   0); the restart registers are not evenly spaced (0x10000–0x14000, then 0x20000, 0x30000).
//! - the PDC (`qcom,sdm845-pdc-global`, `qcom,sc7280-pdc-global`): one sync-reset register at a
//!   per-SoC offset (0x100 on SDM845, 0x1000 on SC7280), one bit per subsystem, set = in reset.
//!
//! Binding: one cell, the kernel's reset index. Each index's register and bits are the kernel's
//! per-SoC tables (drivers/clk/qcom/gcc-*.c and friends, reset-qcom-aoss.c, reset-qcom-pdc.c)
//! from `data/reset-maps/qcom-gcc.json`, read through `platreset_reset::maps::qcom`. A signal here
//! is that index; two indexes naming the same bits are the same wire.

use platreset_fdt::Node;
use platreset_reset::maps::{self, QcomDriver, QcomTable};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::RegFile;
use crate::time::Tick;

/// The model for `compatible`, if a Qualcomm reset map describes it.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    QcomReset::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// Which Qualcomm block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A clock controller's BCRs.
    ClockController,
    /// AOSS restart registers.
    Aoss,
    /// The PDC's sync-reset register, at this offset.
    Pdc { offset: u64 },
}

/// One Qualcomm reset controller.
#[derive(Debug, Clone)]
pub struct QcomReset {
    table: &'static QcomTable,
    kind: Kind,
    /// Every register written so far; the rest read 0 (no block in reset).
    regs: RegFile,
    stuck: Vec<Signal>,
}

impl QcomReset {
    /// The model for a compatible with a Qualcomm reset map.
    pub fn for_compatible(compatible: &str) -> Option<QcomReset> {
        let (table, offset) = maps::qcom(compatible)?;
        let kind = match (table.driver, offset) {
            (QcomDriver::ClockController, _) => Kind::ClockController,
            (QcomDriver::Aoss, _) => Kind::Aoss,
            (QcomDriver::Pdc, Some(offset)) => Kind::Pdc { offset },
            // The build script refuses a PDC compatible without its offset.
            (QcomDriver::Pdc, None) => return None,
        };
        Some(QcomReset { table, kind, regs: RegFile::default(), stuck: Vec::new() })
    }

    /// The register and bits a signal is wired to; `None` when the table has no such index or
    /// it names no bit.
    fn wire(&self, signal: Signal) -> Option<(u64, u32)> {
        let e = self.table.entry(signal)?;
        let (reg, mask) = match self.kind {
            Kind::ClockController if e.bitmask != 0 => (e.reg, e.bitmask),
            Kind::ClockController => (e.reg, 1u32.checked_shl(e.bit)?),
            Kind::Aoss => (e.reg, 1),
            Kind::Pdc { offset } => (offset, 1u32.checked_shl(e.bit)?),
        };
        Some((reg, mask))
    }

    fn reg(&self, offset: u64) -> u32 {
        self.regs.get(offset)
    }

    /// The bits of the register at `offset` that belong to stuck signals.
    fn frozen(&self, offset: u64) -> u32 {
        self.stuck
            .iter()
            .filter_map(|&s| self.wire(s))
            .filter(|&(reg, _)| reg == offset)
            .fold(0, |m, (_, mask)| m | mask)
    }
}

impl ResetHw for QcomReset {
    fn family(&self) -> &'static str {
        match self.kind {
            Kind::ClockController => "qcom-cc-reset",
            Kind::Aoss => "qcom-aoss",
            Kind::Pdc { .. } => "qcom-pdc",
        }
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [index] = args else { return None };
        self.wire(*index).map(|_| *index)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        Ok(self.reg(offset))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        let frozen = self.frozen(offset);
        self.regs.write(offset, value, frozen);
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        self.wire(signal).is_some_and(|(reg, mask)| self.reg(reg) & mask != 0)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.push(signal);
    }
}
