//! The dry-run backend: records every access in order and writes nothing anywhere. Reads are
//! answered from a register file the caller can preset (0 elsewhere); writes update that file,
//! so a read-modify-write sequence shows the values it would really write.

use std::collections::HashMap;

use crate::addr::{PhysAddr, Reg};
use crate::mmio::{Mmio, MmioError, MmioOp};

/// A recording, non-touching [`Mmio`].
#[derive(Debug, Default, Clone)]
pub struct Trace {
    ops: Vec<MmioOp>,
    registers: HashMap<PhysAddr, u32>,
}

impl Trace {
    /// An empty trace over an all-zero register file.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Presets what a register reads as.
    pub fn preset(&mut self, addr: PhysAddr, value: u32) -> &mut Trace {
        self.registers.insert(addr, value);
        self
    }

    /// The current value of a register in the trace's register file.
    pub fn value(&self, addr: PhysAddr) -> u32 {
        self.registers.get(&addr).copied().unwrap_or(0)
    }

    /// Every access so far, in order.
    pub fn ops(&self) -> &[MmioOp] {
        &self.ops
    }

    /// Takes the recorded accesses, leaving the register file.
    pub fn take_ops(&mut self) -> Vec<MmioOp> {
        std::mem::take(&mut self.ops)
    }
}

impl Mmio for Trace {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        let value = self.value(reg.addr);
        self.ops.push(MmioOp::Read32 { reg: reg.clone(), value });
        Ok(value)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        self.registers.insert(reg.addr, value);
        self.ops.push(MmioOp::Write32 { reg: reg.clone(), value });
        Ok(())
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        self.ops.push(MmioOp::DelayUs { us });
        Ok(())
    }

    /// A dry run cannot watch hardware settle: the poll is recorded and assumed to succeed, and
    /// the register file is updated to the expected value so later reads are consistent.
    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
        self.ops.push(MmioOp::Poll32 { reg: reg.clone(), mask, expect, timeout_us });
        let settled = (self.value(reg.addr) & !mask) | (expect & mask);
        self.registers.insert(reg.addr, settled);
        Ok(settled)
    }
}
