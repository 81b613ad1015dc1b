//! The reset driver the crate's unit tests share: each operation writes its number to the line's
//! own register (0x1000 + 4·id), so a trace shows every touch; `status` reads it back; the
//! (operation, line) pairs it is told to fail return a bus error before touching anything.
//!
//! Owns: that test double. Compiled for tests only.

use crate::addr::{PhysAddr, Reg};
use crate::mmio::{Mmio, MmioError};
use crate::ops::{Capabilities, DriverError, ResetOps};

/// What `assert` writes.
pub(crate) const ASSERT: u32 = 1;
/// What `deassert` writes.
pub(crate) const DEASSERT: u32 = 2;
/// What `reset` writes.
pub(crate) const RESET: u32 = 3;

/// Eight lines, the capabilities a test gives it, and the operations that fail.
pub(crate) struct TestDriver {
    pub(crate) caps: Capabilities,
    /// (operation, id) pairs that fail.
    pub(crate) fail: Vec<(u32, u32)>,
}

impl TestDriver {
    /// A driver with `caps` on which nothing fails.
    pub(crate) fn new(caps: Capabilities) -> TestDriver {
        TestDriver { caps, fail: Vec::new() }
    }

    /// Line `id`'s register.
    pub(crate) fn reg(id: u32) -> Reg {
        Reg { addr: PhysAddr::new(0x1000 + 4 * u64::from(id)), name: format!("LINE{id}").into() }
    }

    fn touch(&self, mmio: &mut dyn Mmio, id: u32, what: u32) -> Result<(), DriverError> {
        if self.fail.contains(&(what, id)) {
            let reg = Self::reg(id);
            return Err(
                MmioError::Bus { addr: reg.addr, name: reg.name.into(), why: "scripted".into() }.into()
            );
        }
        Ok(mmio.write32(&Self::reg(id), what)?)
    }
}

impl ResetOps for TestDriver {
    fn driver(&self) -> &'static str {
        "scripted"
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
    fn xlate(&self, args: &[u32]) -> Result<u32, DriverError> {
        match args {
            [id] if *id < 8 => Ok(*id),
            _ => Err(DriverError::BadSpecifier { args: args.to_vec(), why: "8 lines".into() }),
        }
    }
    fn assert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.touch(mmio, id, ASSERT)
    }
    fn deassert(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.touch(mmio, id, DEASSERT)
    }
    fn reset(&self, mmio: &mut dyn Mmio, id: u32) -> Result<(), DriverError> {
        self.touch(mmio, id, RESET)
    }
    fn status(&self, mmio: &mut dyn Mmio, id: u32) -> Result<bool, DriverError> {
        Ok(mmio.read32(&Self::reg(id))? == ASSERT)
    }
}
