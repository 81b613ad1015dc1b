//! The dry-run backend: writes nothing anywhere. Reads are answered from a register file the
//! caller can preset (0 elsewhere); writes update that file, so a read-modify-write sequence
//! shows the values it would really write. [`Trace`] is that backend recording (the record is
//! [`Recorder`]'s, the same one `/dev/mem` and the simulator keep).

use std::collections::HashMap;

use crate::addr::{PhysAddr, Reg};
use crate::mmio::{Mmio, MmioError};
use crate::record::Recorder;

/// A register file standing in for hardware; it records nothing by itself.
#[derive(Debug, Default, Clone)]
pub struct DryRun {
    registers: HashMap<PhysAddr, u32>,
}

impl DryRun {
    /// The current value of a register in the file.
    pub fn value(&self, addr: PhysAddr) -> u32 {
        self.registers.get(&addr).copied().unwrap_or(0)
    }
}

/// A recording, non-touching [`Mmio`]: what `platreset reset` prints without `--write-hardware`.
pub type Trace = Recorder<DryRun>;

impl Recorder<DryRun> {
    /// An empty trace over an all-zero register file.
    pub fn new() -> Trace {
        Recorder::over(DryRun::default())
    }

    /// Presets what a register reads as.
    pub fn preset(&mut self, addr: PhysAddr, value: u32) -> &mut Trace {
        self.inner_mut().registers.insert(addr, value);
        self
    }

    /// The current value of a register in the trace's register file.
    pub fn value(&self, addr: PhysAddr) -> u32 {
        self.inner().value(addr)
    }
}

impl Mmio for DryRun {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        Ok(self.value(reg.addr))
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        self.registers.insert(reg.addr, value);
        Ok(())
    }

    fn delay_us(&mut self, _us: u32) -> Result<(), MmioError> {
        Ok(())
    }

    /// A dry run cannot watch hardware settle: the poll is assumed to succeed, and the register
    /// file is updated to the expected value so later reads are consistent.
    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, _timeout_us: u32) -> Result<u32, MmioError> {
        let settled = (self.value(reg.addr) & !mask) | (expect & mask);
        self.registers.insert(reg.addr, settled);
        Ok(settled)
    }
}
