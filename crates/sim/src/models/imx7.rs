//! i.MX7 and i.MX8M System Reset Controllers (`fsl,imx7d-src`, `fsl,imx8mq-src`,
//! `fsl,imx8mp-src`; i.MX8MM/8MN nodes fall back to `fsl,imx8mq-src`), as the reference manuals
//! describe them: plain read/write reset-control registers in which each signal is a mask of
//! bits. An active-high signal holds its module in reset while any of its bits is 1; an
//! active-low one (the `*_N` MIPI DSI resets, the PCIe `APPS_EN` enables, i.MX8MP `PERST`)
//! while any of its bits is 0.
//!
//! Binding: one cell, the kernel's signal index; each signal's (offset, mask, active_low) is the
//! kernel's per-variant table (drivers/reset/reset-imx7.c) from `data/reset-maps/imx-src.json`,
//! read through `platreset_reset::maps::imx7`. A signal here is that index.

use platreset_fdt::Node;
use platreset_reset::maps::{self, ImxSignal, ImxTable};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::RegFile;
use crate::time::Tick;

/// The model for `compatible`, if it is a reset-imx7 variant.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    Imx7Src::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One i.MX7/8M SRC.
#[derive(Debug, Clone)]
pub struct Imx7Src {
    table: &'static ImxTable,
    /// Every register written so far, or preset; the rest read 0.
    regs: RegFile,
    stuck: Vec<Signal>,
}

impl Imx7Src {
    /// The model for a compatible whose SRC the kernel's reset-imx7 tables describe.
    pub fn for_compatible(compatible: &str) -> Option<Imx7Src> {
        let table = maps::imx7(compatible)?;
        // The system is running: whoever brought the modules up released every reset, which
        // for an active-low signal means its bits are set.
        let mut regs = RegFile::default();
        for s in table.resets.iter().filter(|s| s.active_low) {
            regs.write(s.offset, regs.get(s.offset) | s.bit, 0);
        }
        Some(Imx7Src { table, regs, stuck: Vec::new() })
    }

    fn entry(&self, signal: Signal) -> Option<&'static ImxSignal> {
        self.table.signal(signal)
    }

    fn reg(&self, offset: u64) -> u32 {
        self.regs.get(offset)
    }

    /// The bits of the register at `offset` that belong to stuck signals.
    fn frozen(&self, offset: u64) -> u32 {
        self.stuck
            .iter()
            .filter_map(|&s| self.entry(s))
            .filter(|s| s.offset == offset)
            .fold(0, |m, s| m | s.bit)
    }
}

impl ResetHw for Imx7Src {
    fn family(&self) -> &'static str {
        "reset-imx7"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [index] = args else { return None };
        self.entry(*index).filter(|s| s.bit != 0).map(|s| s.id)
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
        self.entry(signal).is_some_and(|s| {
            let bits = self.reg(s.offset) & s.bit;
            if s.active_low {
                bits != s.bit
            } else {
                bits != 0
            }
        })
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.push(signal);
    }
}
