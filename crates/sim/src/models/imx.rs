//! i.MX5/6 System Reset Controller (SRC), `fsl,imx51-src` (i.MX6 nodes list it after their own
//! compatible), as the i.MX6 reference manual describes SRC_SCR (offset 0x000): each module's
//! software-reset bit is self-clearing — writing 1 starts that module's reset, the reset signal
//! is asserted while the bit reads 1, and the hardware clears the bit when the reset is done.
//! Writing 0 to such a bit has no effect (a running reset cannot be cut short); the rest of SCR
//! is configuration that reads back what was written.
//!
//! Binding (`fsl,imx-src.yaml`): one cell, the module index 0–4 (GPU, VPU, IPU1, OpenVG, IPU2).
//! The index → SCR bit table is the kernel's `sw_reset_bits` (arch/arm/mach-imx/src.c), from
//! `data/reset-maps/imx-src.json`, table `sw_reset_bits` (`scr_bit` 1, 2, 3, 4, 12), read
//! through `platreset_reset::maps::imx_src`; those bits are the ones that self-clear.

use std::collections::BTreeMap;

use platreset_fdt::Node;
use platreset_reset::maps::{self, ImxSrcBit};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// SRC_SCR, the SRC control register.
pub const SCR: u64 = 0x000;

/// How long a module's reset runs before the hardware clears its bit. The reference manual
/// gives no figure; 100 µs is long enough to show that a driver waits for the self-clear and
/// far inside the kernel's 1 s poll.
pub const RESET_DURATION_US: Tick = 100;

/// SCR as a running system leaves it: the reset value 0x521 with `warm_rst_enable` (bit 0)
/// cleared by the kernel's `imx_src_init`; 0x00000520 is what an i.MX6Q board reads back
/// (NXP community thread 470649). Only the configuration bits matter here: no reset is running.
const SCR_AT_RUNTIME: u32 = 0x0000_0520;

/// The model for `compatible`, if it is the i.MX5/6 SRC.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    maps::imx_src(compatible).map(|table| Box::new(ImxSrc::new(table.resets)) as Box<dyn ResetHw>)
}

/// One i.MX5/6 SRC.
#[derive(Debug, Clone)]
pub struct ImxSrc {
    /// The module resets, by binding index.
    bits: &'static [ImxSrcBit],
    /// The SCR bits that self-clear: the module resets the binding names.
    self_clearing: u32,
    /// SCR's configuration bits (never the self-clearing ones).
    config: u32,
    /// The tick at which each running module reset ends, by SCR bit.
    running: BTreeMap<u32, Tick>,
    /// The SRC's other registers (boot mode, status, GPRs): not reset signals, they read back
    /// what was last written.
    other: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl ImxSrc {
    /// An SRC with no module reset running, whose binding indexes are `bits`.
    pub fn new(bits: &'static [ImxSrcBit]) -> ImxSrc {
        let self_clearing = bits.iter().fold(0, |m, b| m | 1u32.checked_shl(b.scr_bit).unwrap_or(0));
        ImxSrc {
            bits,
            self_clearing,
            config: SCR_AT_RUNTIME & !self_clearing,
            running: BTreeMap::new(),
            other: BTreeMap::new(),
            stuck: Stuck::default(),
        }
    }

    fn running_at(&self, bit: u32, now: Tick) -> bool {
        self.running.get(&bit).is_some_and(|&end| end > now)
    }

    fn scr(&self, now: Tick) -> u32 {
        self.running.keys().filter(|&&bit| self.running_at(bit, now)).fold(self.config, |v, b| v | (1 << b))
    }
}

impl ResetHw for ImxSrc {
    fn family(&self) -> &'static str {
        "imx-src"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [index] = args else { return None };
        // Register 0 (SCR), so the signal is the bit number itself.
        self.bits.iter().find(|b| b.id == *index).map(|b| b.scr_bit)
    }

    fn read(&mut self, offset: u64, now: Tick) -> Result<u32, HwError> {
        if offset == SCR {
            return Ok(self.scr(now));
        }
        Ok(self.other.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        if offset != SCR {
            self.other.insert(offset, value);
            return Ok(());
        }
        self.running.retain(|_, &mut end| end > now);
        self.config = value & !self.self_clearing;
        let starts = value & self.self_clearing & self.stuck.writable_mask(0);
        for bit in (0..32).filter(|b| starts & (1 << b) != 0) {
            // A 1 written over a running reset neither restarts nor extends it.
            self.running.entry(bit).or_insert(now.saturating_add(RESET_DURATION_US));
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, now: Tick) -> bool {
        self.running_at(signal, now)
    }

    fn next_event(&self, now: Tick) -> Option<Tick> {
        self.running.values().copied().filter(|&end| end > now).min()
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
