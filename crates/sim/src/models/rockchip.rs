//! Rockchip CRU soft-reset registers (SOFTRST_CONn), as the TRMs describe them: each register
//! holds sixteen reset lines in its low half, and its high half is a write mask — a write changes
//! low bit `b` only when it also sets bit `b + 16` ("hiword mask"); a set low bit holds the line
//! in reset; reads return the low half. Binding: one cell, `register * 16 + bit`.
//!
//! Where SOFTRST_CON0 sits in the CRU and how many registers there are comes from the kernel's
//! per-SoC data (`data/reset-maps/rockchip.json` through `platreset_reset::maps::rockchip`).

use platreset_fdt::Node;
use platreset_reset::maps;

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The model for `compatible`, if it is a CRU with soft resets.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    SoftReset::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One CRU's soft-reset block. Signals are numbered `register * 32 + bit` (the model's own
/// numbering, so that [`Stuck`] masks work per register).
#[derive(Debug, Clone)]
pub struct SoftReset {
    /// Offset of SOFTRST_CON0 in the CRU.
    base: u64,
    /// Lines per register.
    per_reg: u32,
    /// Whether the high half is a write mask.
    hiword: bool,
    state: Vec<u32>,
    stuck: Stuck,
}

impl SoftReset {
    /// The model for a compatible the kernel's table lists.
    pub fn for_compatible(compatible: &str) -> Option<SoftReset> {
        let t = maps::rockchip(compatible)?;
        // A hiword register has room for 16 lines only; a plain one for 32.
        let room = if t.hiword_mask { 16 } else { 32 };
        if t.num_per_reg == 0 || t.num_per_reg > room {
            return None;
        }
        Some(SoftReset {
            base: t.softrst_offset,
            per_reg: t.num_per_reg,
            hiword: t.hiword_mask,
            state: vec![0; t.num_regs as usize],
            stuck: Stuck::default(),
        })
    }

    fn register(&self, offset: u64) -> Option<usize> {
        let rel = offset.checked_sub(self.base)?;
        let index = usize::try_from(rel / 4).ok()?;
        (rel.is_multiple_of(4) && index < self.state.len()).then_some(index)
    }

    fn lines(&self) -> u32 {
        if self.per_reg >= 32 {
            !0
        } else {
            (1 << self.per_reg) - 1
        }
    }
}

impl ResetHw for SoftReset {
    fn family(&self) -> &'static str {
        "rockchip-softrst"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [cell] = args else { return None };
        let (reg, bit) = (cell / self.per_reg, cell % self.per_reg);
        ((reg as usize) < self.state.len()).then_some(reg * 32 + bit)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        // The rest of the CRU (PLLs, dividers, gates) reads as zero here.
        Ok(self.register(offset).map_or(0, |i| self.state[i]))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        let Some(i) = self.register(offset) else { return Ok(()) };
        let selected = if self.hiword { value >> 16 } else { !0 };
        let mask = selected & self.lines() & self.stuck.writable_mask(i as u32);
        self.state[i] = (self.state[i] & !mask) | (value & mask);
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        self.state.get((signal / 32) as usize).is_some_and(|r| r & (1 << (signal % 32)) != 0)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
