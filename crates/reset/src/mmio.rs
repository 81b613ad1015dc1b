//! The seam between drivers and hardware: every register access a driver makes is a call on
//! [`Mmio`], so the same driver code runs against a dry-run trace, a simulator or `/dev/mem`.

use thiserror::Error;

use crate::addr::{PhysAddr, Reg};

/// One access, as recorded by a trace (and printed by `platreset reset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MmioOp {
    /// A 32-bit read and the value it returned.
    Read32 {
        /// Register.
        reg: Reg,
        /// Value read.
        value: u32,
    },
    /// A 32-bit write.
    Write32 {
        /// Register.
        reg: Reg,
        /// Value written.
        value: u32,
    },
    /// A busy wait.
    DelayUs {
        /// Microseconds.
        us: u32,
    },
    /// Repeated reads until `value & mask == expect`, for at most `timeout_us`.
    Poll32 {
        /// Register.
        reg: Reg,
        /// Bits compared.
        mask: u32,
        /// Expected value of those bits.
        expect: u32,
        /// Give up after this long.
        timeout_us: u32,
    },
}

/// A failed access.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MmioError {
    /// The address is outside every window the backend was opened for.
    #[error("register {name} at {addr} is outside the mapped window(s)")]
    OutOfWindow {
        /// Address.
        addr: PhysAddr,
        /// Register name.
        name: String,
    },
    /// A poll that never saw the expected value.
    #[error("register {name} at {addr} did not settle: (value & {mask:#x}) never became {expect:#x} within {timeout_us} us (last read {last:#x})")]
    Timeout {
        /// Address.
        addr: PhysAddr,
        /// Register name.
        name: String,
        /// Mask.
        mask: u32,
        /// Expected value.
        expect: u32,
        /// Time allowed.
        timeout_us: u32,
        /// The last value read.
        last: u32,
    },
    /// The bus reported an error (simulated faults, or an I/O error on a real mapping).
    #[error("bus error at {addr} ({name}): {why}")]
    Bus {
        /// Address.
        addr: PhysAddr,
        /// Register name.
        name: String,
        /// Detail.
        why: String,
    },
}

impl MmioError {
    /// A poll of `reg` that gave up after `timeout_us`, having last read `last`.
    pub fn timeout(reg: &Reg, mask: u32, expect: u32, timeout_us: u32, last: u32) -> MmioError {
        MmioError::Timeout { addr: reg.addr, name: reg.name.to_string(), mask, expect, timeout_us, last }
    }
}

/// 32-bit little-endian register access (the only width reset controllers use).
pub trait Mmio {
    /// Reads a register.
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError>;
    /// Writes a register.
    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError>;
    /// Waits `us` microseconds.
    fn delay_us(&mut self, us: u32) -> Result<(), MmioError>;
    /// Reads until `value & mask == expect`, giving up after `timeout_us` with
    /// [`MmioError::Timeout`]; returns the last value read.
    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError>;

    /// Read-modify-write: clears `clear`, then sets `set`; writes only when the value changes
    /// when `only_if_changed` (as drivers using `regmap_update_bits` do).
    fn update32(&mut self, reg: &Reg, clear: u32, set: u32, only_if_changed: bool) -> Result<(), MmioError> {
        let old = self.read32(reg)?;
        let new = (old & !clear) | set;
        if only_if_changed && new == old {
            return Ok(());
        }
        self.write32(reg, new)
    }
}

/// A backend lent to a caller that takes one by value ([`crate::perform::reset_node`]'s opener),
/// so the owner can look at it afterwards.
impl<M: Mmio + ?Sized> Mmio for &mut M {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        (**self).read32(reg)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        (**self).write32(reg, value)
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        (**self).delay_us(us)
    }

    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
        (**self).poll32(reg, mask, expect, timeout_us)
    }

    fn update32(&mut self, reg: &Reg, clear: u32, set: u32, only_if_changed: bool) -> Result<(), MmioError> {
        (**self).update32(reg, clear, set, only_if_changed)
    }
}
