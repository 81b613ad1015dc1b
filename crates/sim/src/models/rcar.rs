//! Renesas CPG/MSSR software reset registers, as the hardware manual describes them: SRCRn is
//! write-1-to-assert (writing 0 has no effect, reading returns the reset state), SRSTCLRn is
//! write-1-to-deassert. Binding: one cell, `register * 100 + bit`. The registers' offsets per
//! SoC generation are the kernel's tables (`data/reset-maps/renesas-cpg-mssr.json`, through
//! `platreset_reset::maps::rcar_info`).

use platreset_fdt::Node;
use platreset_reset::maps;

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The model for `compatible`, if it is a CPG/MSSR with software resets.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    Cpg::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One CPG/MSSR.
#[derive(Debug, Clone)]
pub struct Cpg {
    srcr: &'static [u64],
    srstclr: &'static [u64],
    state: Vec<u32>,
    stuck: Stuck,
}

impl Cpg {
    /// The model for a compatible whose SoC has software reset registers.
    pub fn for_compatible(compatible: &str) -> Option<Cpg> {
        let info = maps::rcar_info(compatible).filter(|i| i.registers_resets)?;
        let (srcr, srstclr) = info.srcr?.registers();
        Some(Cpg { srcr, srstclr, state: vec![0; srcr.len()], stuck: Stuck::default() })
    }
}

impl ResetHw for Cpg {
    fn family(&self) -> &'static str {
        "renesas-cpg-mssr"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [cell] = args else { return None };
        let (reg, bit) = (cell / 100, cell % 100);
        (bit < 32 && (reg as usize) < self.srcr.len()).then_some(reg * 32 + bit)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        if let Some(i) = self.srcr.iter().position(|&o| o == offset) {
            return Ok(self.state[i]);
        }
        if self.srstclr.contains(&offset) {
            return Ok(0);
        }
        // The rest of the CPG (clocks, module stops) reads as zero here.
        Ok(0)
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if let Some(i) = self.srcr.iter().position(|&o| o == offset) {
            self.state[i] |= value & self.stuck.writable_mask(i as u32);
        } else if let Some(i) = self.srstclr.iter().position(|&o| o == offset) {
            self.state[i] &= !(value & self.stuck.writable_mask(i as u32));
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        self.state.get((signal / 32) as usize).is_some_and(|r| r & (1 << (signal % 32)) != 0)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
