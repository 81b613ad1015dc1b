//! Allwinner sunxi-ng CCU reset bits, as the SoC user manuals describe the bus soft-reset
//! registers (`BUS_SOFT_RST_REGn`, and the per-module `*_BGR_REG` / `*_RST_REG` of newer SoCs):
//! each reset is one bit of a CCU register that holds its module in reset while it is 0 and
//! releases it when it is 1 (active low). There are no set/clear registers: software
//! read-modify-writes. Every other CCU register (PLLs, gates, dividers) is plain storage that
//! reads back what was written.
//!
//! Which bit of which register a line is comes from the kernel's per-SoC map
//! (`data/reset-maps/sunxi-ng.json`, read through `platreset_reset::maps::sunxi_table`): data,
//! not driver code. Binding: one cell, the map's id; an id the map has no entry for (a hole, or
//! past its end) names no signal. Every entry of every map is one bit (a test checks it), so a
//! signal is the bit itself: `(register offset / 4) * 32 + bit`. Two ids naming the same bit
//! (the H5 map has such a pair) are then one signal, as they are one wire in the silicon.

use std::collections::BTreeMap;

use platreset_fdt::Node;
use platreset_reset::maps::{self, SunxiTable};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The model for `compatible`, if it is a sunxi-ng CCU with a reset map.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    maps::sunxi_table(compatible).map(|table| Box::new(Ccu::new(table)) as Box<dyn ResetHw>)
}

/// One CCU.
#[derive(Debug, Clone)]
pub struct Ccu {
    table: &'static SunxiTable,
    regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl Ccu {
    /// A CCU whose reset bits are all 1: a running system, where firmware and the guest's
    /// drivers released every module they use.
    pub fn new(table: &'static SunxiTable) -> Ccu {
        let mut regs = BTreeMap::new();
        for entry in table.resets {
            *regs.entry(entry.reg).or_insert(0) |= entry.mask;
        }
        Ccu { table, regs, stuck: Stuck::default() }
    }
}

/// The register index a signal numbering uses for `offset` (offsets are word aligned).
fn index(offset: u64) -> Option<u32> {
    u32::try_from(offset / 4).ok()
}

impl ResetHw for Ccu {
    fn family(&self) -> &'static str {
        "sunxi-ng-ccu"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        let entry = self.table.entry(*id)?;
        if entry.mask.count_ones() != 1 {
            return None;
        }
        index(entry.reg)?.checked_mul(32)?.checked_add(entry.mask.trailing_zeros())
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        if !offset.is_multiple_of(4) {
            return Err(HwError::NoRegister { family: self.family(), offset });
        }
        Ok(self.regs.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if !offset.is_multiple_of(4) {
            return Err(HwError::NoRegister { family: self.family(), offset });
        }
        let writable = index(offset).map_or(!0, |i| self.stuck.writable_mask(i));
        let old = self.regs.get(&offset).copied().unwrap_or(0);
        self.regs.insert(offset, (value & writable) | (old & !writable));
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        let offset = u64::from(signal / 32) * 4;
        // Active low: a clear bit holds the module in reset.
        self.regs.get(&offset).copied().unwrap_or(0) & (1 << (signal % 32)) == 0
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
