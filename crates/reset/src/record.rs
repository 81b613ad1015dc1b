//! The record of what a reset really did: [`Recorder`] wraps any [`Mmio`] backend and keeps
//! each access the backend made, in order, so the dry-run trace, `/dev/mem` and the simulator
//! all report their accesses the same way, failures included.
//!
//! Owns: which accesses count as made (see [`Recorder`]) and the [`Recording`] seam
//! [`crate::perform`] takes them through. Must not: touch hardware or change an access — every
//! call goes to the wrapped backend unchanged.

use crate::addr::Reg;
use crate::mmio::{Mmio, MmioError, MmioOp};

/// A backend that keeps the accesses it performs: [`crate::perform`] takes them after each step,
/// so the report holds every access really made, up to and including a failure.
pub trait Recording: Mmio {
    /// The accesses since the last call.
    fn take_ops(&mut self) -> Vec<MmioOp>;
}

impl<M: Recording + ?Sized> Recording for &mut M {
    fn take_ops(&mut self) -> Vec<MmioOp> {
        (**self).take_ops()
    }
}

/// Any [`Mmio`] backend, recording. A read or write is recorded once the backend has made it (a
/// refused one — outside the windows, a bus error — is not); a poll is recorded once it has
/// started reading, so one that never settles or faults on the bus is in the record beside its
/// error, and only a poll refused before any read (outside the windows) is not. A delay is
/// recorded once it has passed.
#[derive(Debug, Default, Clone)]
pub struct Recorder<M> {
    inner: M,
    ops: Vec<MmioOp>,
}

impl<M: Mmio> Recorder<M> {
    /// Records the accesses made through `inner` from now on.
    pub fn over(inner: M) -> Recorder<M> {
        Recorder { inner, ops: Vec::new() }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// The wrapped backend, for what only it can do (accesses made directly on it are not
    /// recorded).
    pub fn inner_mut(&mut self) -> &mut M {
        &mut self.inner
    }

    /// Every access recorded so far, in order.
    pub fn ops(&self) -> &[MmioOp] {
        &self.ops
    }

    /// Takes the recorded accesses.
    pub fn take_ops(&mut self) -> Vec<MmioOp> {
        std::mem::take(&mut self.ops)
    }
}

impl<M: Mmio> Mmio for Recorder<M> {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        let value = self.inner.read32(reg)?;
        self.ops.push(MmioOp::Read32 { reg: reg.clone(), value });
        Ok(value)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        self.inner.write32(reg, value)?;
        self.ops.push(MmioOp::Write32 { reg: reg.clone(), value });
        Ok(())
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        self.inner.delay_us(us)?;
        self.ops.push(MmioOp::DelayUs { us });
        Ok(())
    }

    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
        let result = self.inner.poll32(reg, mask, expect, timeout_us);
        if !matches!(result, Err(MmioError::OutOfWindow { .. })) {
            self.ops.push(MmioOp::Poll32 { reg: reg.clone(), mask, expect, timeout_us });
        }
        result
    }
}

impl<M: Mmio> Recording for Recorder<M> {
    fn take_ops(&mut self) -> Vec<MmioOp> {
        Recorder::take_ops(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::PhysAddr;

    /// A backend whose window is [0x1000, 0x1010), faulting on the bus at 0x100C and never
    /// settling a poll.
    #[derive(Default)]
    struct Stubborn {
        writes: Vec<(u64, u32)>,
    }

    impl Stubborn {
        fn check(reg: &Reg) -> Result<(), MmioError> {
            match reg.addr.get() {
                0x100C => {
                    Err(MmioError::Bus { addr: reg.addr, name: reg.name.to_string(), why: "SError".into() })
                }
                0x1000..=0x100B => Ok(()),
                _ => Err(MmioError::OutOfWindow { addr: reg.addr, name: reg.name.to_string() }),
            }
        }
    }

    impl Mmio for Stubborn {
        fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
            Stubborn::check(reg)?;
            Ok(0x5)
        }
        fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
            Stubborn::check(reg)?;
            self.writes.push((reg.addr.get(), value));
            Ok(())
        }
        fn delay_us(&mut self, _us: u32) -> Result<(), MmioError> {
            Ok(())
        }
        fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
            Stubborn::check(reg)?;
            Err(MmioError::timeout(reg, mask, expect, timeout_us, 0x5))
        }
    }

    fn reg(addr: u64) -> Reg {
        Reg { addr: PhysAddr::new(addr), name: "R".into() }
    }

    #[test]
    fn records_what_the_backend_made_and_not_what_it_refused() {
        let mut rec = Recorder::over(Stubborn::default());
        rec.update32(&reg(0x1000), 0x1, 0x2, true).unwrap();
        assert!(rec.write32(&reg(0x2000), 1).is_err());
        assert!(rec.write32(&reg(0x100C), 1).is_err());
        assert!(matches!(rec.poll32(&reg(0x1004), 1, 0, 10), Err(MmioError::Timeout { .. })));
        assert!(matches!(rec.poll32(&reg(0x100C), 1, 0, 10), Err(MmioError::Bus { .. })));
        assert!(rec.poll32(&reg(0x3000), 1, 0, 10).is_err());
        rec.delay_us(7).unwrap();
        let poll = |addr| MmioOp::Poll32 { reg: reg(addr), mask: 1, expect: 0, timeout_us: 10 };
        assert_eq!(
            rec.take_ops(),
            [
                MmioOp::Read32 { reg: reg(0x1000), value: 0x5 },
                MmioOp::Write32 { reg: reg(0x1000), value: 0x6 },
                poll(0x1004),
                poll(0x100C),
                MmioOp::DelayUs { us: 7 },
            ]
        );
        assert!(rec.ops().is_empty());
        assert_eq!(rec.inner().writes, [(0x1000, 0x6)]);
    }
}
