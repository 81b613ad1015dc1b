//! Amlogic Meson reset controller, as the SoC datasheets and the kernel driver's comments describe
//! it: bank `n` has a pulse register at `4n` — writing 1 to a bit resets that block for a few
//! clock cycles, then the bit clears by itself (modelled as [`PULSE_US`]) — and a level register
//! at `level_offset + 4n`, active low: a cleared bit holds the block in reset until it is set
//! again (every bit reads 1 out of reset). Binding: one cell, `bank * 32 + bit`.
//!
//! Banks and `level_offset` per compatible are the kernel's `meson_reset_param`s, as
//! `data/reset-maps/meson.json` records them (`reg_count`, `level_offset`), read through
//! `platreset_reset::maps::meson`; only its `reset-meson` tables are this block.

use platreset_fdt::Node;
use platreset_reset::maps::{self, MesonKind};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// How long a pulse register write holds its line in reset. The hardware counts a few clock
/// cycles; one tick is the simulator's resolution.
pub const PULSE_US: Tick = 1;

/// The model for `compatible`, if it is a Meson reset controller.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    MesonReset::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One Meson reset controller. Signals are the binding's ids, `bank * 32 + bit`.
#[derive(Debug, Clone)]
pub struct MesonReset {
    level_offset: u64,
    /// Level registers (1 = out of reset).
    level: Vec<u32>,
    /// Per signal: the tick at which its pulse ends (0: none was ever started).
    pulse_end: Vec<Tick>,
    stuck: Stuck,
}

impl MesonReset {
    /// The model for a compatible with a `reset-meson` table.
    pub fn for_compatible(compatible: &str) -> Option<MesonReset> {
        let MesonKind::Reset { reg_count: banks, level_offset } = maps::meson(compatible)?.kind else {
            return None;
        };
        Some(MesonReset {
            level_offset,
            level: vec![!0; banks as usize],
            pulse_end: vec![0; banks as usize * 32],
            stuck: Stuck::default(),
        })
    }

    fn banks(&self) -> u64 {
        self.level.len() as u64
    }

    fn pulse_bank(&self, offset: u64) -> Option<usize> {
        (offset.is_multiple_of(4) && offset / 4 < self.banks()).then_some((offset / 4) as usize)
    }

    fn level_bank(&self, offset: u64) -> Option<usize> {
        let rel = offset.checked_sub(self.level_offset)?;
        (rel.is_multiple_of(4) && rel / 4 < self.banks()).then_some((rel / 4) as usize)
    }

    fn pulsing(&self, signal: usize, now: Tick) -> bool {
        self.pulse_end.get(signal).is_some_and(|&end| now < end)
    }
}

impl ResetHw for MesonReset {
    fn family(&self) -> &'static str {
        "meson-reset"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        (u64::from(id / 32) < self.banks()).then_some(*id)
    }

    fn read(&mut self, offset: u64, now: Tick) -> Result<u32, HwError> {
        if let Some(bank) = self.pulse_bank(offset) {
            // A pulse bit reads 1 only while its pulse lasts.
            return Ok((0..32).filter(|b| self.pulsing(bank * 32 + b, now)).fold(0, |v, b| v | 1 << b));
        }
        // Anything else in the window reads as zero here.
        Ok(self.level_bank(offset).map_or(0, |bank| self.level[bank]))
    }

    fn write(&mut self, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        if let Some(bank) = self.pulse_bank(offset) {
            let bits = value & self.stuck.writable_mask(bank as u32);
            for b in (0..32).filter(|b| bits & (1 << b) != 0) {
                self.pulse_end[bank * 32 + b] = now + PULSE_US;
            }
        } else if let Some(bank) = self.level_bank(offset) {
            let mask = self.stuck.writable_mask(bank as u32);
            self.level[bank] = (self.level[bank] & !mask) | (value & mask);
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, now: Tick) -> bool {
        let (bank, bit) = ((signal / 32) as usize, signal % 32);
        let held = self.level.get(bank).is_some_and(|r| r & (1 << bit) == 0);
        held || self.pulsing(signal as usize, now)
    }

    fn next_event(&self, now: Tick) -> Option<Tick> {
        self.pulse_end.iter().copied().filter(|&end| end > now).min()
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
