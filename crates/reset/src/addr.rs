//! Physical addresses, MMIO windows and named registers.

use std::borrow::Cow;
use std::fmt;

/// A CPU physical address (after every `ranges` translation up to the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhysAddr(u64);

impl PhysAddr {
    /// Wraps a raw address.
    pub const fn new(addr: u64) -> PhysAddr {
        PhysAddr(addr)
    }

    /// The raw address.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + offset`, or `None` on overflow.
    pub fn checked_add(self, offset: u64) -> Option<PhysAddr> {
        self.0.checked_add(offset).map(PhysAddr)
    }
}

impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A controller's register window: the CPU physical range of its `reg` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First byte.
    pub base: PhysAddr,
    /// Size in bytes.
    pub size: u64,
}

impl Window {
    /// Whether the 4-byte register at `addr` lies wholly inside the window.
    pub fn contains32(&self, addr: PhysAddr) -> bool {
        addr.get() >= self.base.get()
            && addr.get().checked_add(4).is_some_and(|end| end <= self.base.get().saturating_add(self.size))
    }

    /// The register at `offset` from the base, named for traces; `None` when it falls outside.
    pub fn reg(&self, offset: u64, name: impl Into<Cow<'static, str>>) -> Option<Reg> {
        let addr = self.base.checked_add(offset)?;
        self.contains32(addr).then(|| Reg { addr, name: name.into() })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.base.get(), self.base.get().saturating_add(self.size))
    }
}

/// A 32-bit register: where it is and what the hardware manual calls it ("SRCR3").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reg {
    /// Its address.
    pub addr: PhysAddr,
    /// Its name, for people reading a trace.
    pub name: Cow<'static, str>,
}
