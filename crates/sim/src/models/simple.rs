//! The reset-simple family of reset blocks: banks of plain read/write 32-bit registers, one bit
//! per reset line, starting at a fixed offset in the block; a bit asserts its line when set, or
//! when clear in the active-low blocks. Software read-modify-writes; nothing self-clears. The
//! block's other registers read back what was written.
//!
//! Line `id` (binding: one cell) is bit `id % 32` of the register at
//! `reg_offset + 4 * (id / 32)`. Per compatible (`data/reset-maps/reset-simple.json`, where the
//! kernel's drivers reset-simple.c, reset-socfpga.c and reset-sunxi.c list them, read through
//! `platreset_reset::maps::reset_simple`): the polarity, the first register's offset, and the
//! number of lines (fixed, or eight per byte of the block's `reg` window). `altr,rst-mgr`
//! (32-bit SoCFPGA) takes its first register from the node's `altr,modrst-offset` (the table's
//! `reg_offset_property`; 0x10 when absent, as on Cyclone V, where it is `mpumodrst`; Arria 10
//! says 0x20). The kernel's `status_active_low` is the driver's reading of the bit, not
//! hardware, and has no place here.
//!
//! The sun6i/sun8i PRCM's APB0 reset register is such a block inside the PRCM: one active-low
//! register at PRCM+0xB0. Its DT node (`allwinner,sun6i-a31-clock-reset`, a child of the PRCM)
//! has no `reg`; the block is the 4-byte window the PRCM's cell description gives it
//! (`mfd_parents` in `data/reset-maps/reset-simple.json`, read through
//! `platreset_reset::mfd_cell_window`), so 32 lines.

use std::collections::BTreeMap;
use std::ops::Range;

use platreset_fdt::Node;
use platreset_reset::maps::{self, SimpleDriver};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// A block's register layout and polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    family: &'static str,
    reg_offset: u64,
    /// `None`: eight per byte of the `reg` window.
    lines: Option<u32>,
    active_low: bool,
}

/// The model for `compatible`, if it is a reset-simple block.
pub fn model(compatible: &str, node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    let table = maps::reset_simple(compatible)?;
    // Read as the kernel reads it: the first cell, the table's default when there is none.
    let reg_offset = table
        .reg_offset_property
        .and_then(|name| node.property(name))
        .and_then(|p| p.value().first_chunk::<4>().map(|b| u64::from(u32::from_be_bytes(*b))))
        .unwrap_or(table.reg_offset);
    let family = match table.driver {
        SimpleDriver::ResetSimple => "reset-simple",
        SimpleDriver::ResetSocfpga => "socfpga-rst-mgr",
        SimpleDriver::ResetSunxi => "sun6i-ahb1-reset",
    };
    let layout = Layout { family, reg_offset, lines: table.nr_resets, active_low: table.active_low };
    let window = match platreset_reset::mfd_cell_window(node) {
        Ok(Some(cell)) => cell.size,
        Ok(None) => node.reg_cpu().ok()?.first().map(|r| r.size)?,
        Err(_) => return None,
    };
    Some(Box::new(SimpleReset::new(layout, window)))
}

/// One reset-simple block.
#[derive(Debug, Clone)]
struct SimpleReset {
    layout: Layout,
    window: u64,
    regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl SimpleReset {
    /// A block with every line released, as a running system has them.
    fn new(layout: Layout, window: u64) -> SimpleReset {
        SimpleReset { layout, window, regs: BTreeMap::new(), stuck: Stuck::default() }
    }

    /// What a register holds before software writes it: bank registers release every line.
    fn initial(&self, offset: u64) -> u32 {
        match self.bank_at(offset) {
            Some(_) if self.layout.active_low => !0,
            _ => 0,
        }
    }

    fn value(&self, offset: u64) -> u32 {
        self.regs.get(&offset).copied().unwrap_or_else(|| self.initial(offset))
    }

    fn lines(&self) -> u32 {
        self.layout.lines.unwrap_or_else(|| u32::try_from(self.window.saturating_mul(8)).unwrap_or(u32::MAX))
    }

    fn bank_offset(&self, bank: u32) -> Option<u64> {
        self.layout.reg_offset.checked_add(4 * u64::from(bank))
    }

    /// The bank a register offset is, if it is one.
    fn bank_at(&self, offset: u64) -> Option<u32> {
        let rel = offset.checked_sub(self.layout.reg_offset)?;
        let bank = u32::try_from(rel / 4).ok()?;
        (rel.is_multiple_of(4) && bank < self.lines().div_ceil(32)).then_some(bank)
    }
}

impl ResetHw for SimpleReset {
    fn family(&self) -> &'static str {
        self.layout.family
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        let offset = self.bank_offset(id / 32)?;
        // A line whose register lies outside the block's window is wired to nothing.
        (*id < self.lines() && offset.checked_add(4)? <= self.window).then_some(*id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        if !offset.is_multiple_of(4) {
            return Err(HwError::NoRegister { family: self.family(), offset });
        }
        Ok(self.value(offset))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if !offset.is_multiple_of(4) {
            return Err(HwError::NoRegister { family: self.family(), offset });
        }
        let writable = self.bank_at(offset).map_or(!0, |bank| self.stuck.writable_mask(bank));
        let old = self.value(offset);
        self.regs.insert(offset, (value & writable) | (old & !writable));
        Ok(())
    }

    fn signals_written(&self, offset: u64) -> Option<Range<Signal>> {
        // Signal `s` reads the bank register at `reg_offset + 4 * (s / 32)`, and nothing else.
        let bank = match offset.checked_sub(self.layout.reg_offset) {
            Some(rel) if rel.is_multiple_of(4) => u32::try_from(rel / 4).ok(),
            _ => None,
        };
        // A bank past u32::MAX / 32 holds no signal; the last one's end saturates, and signal
        // u32::MAX cannot exist (a line number is below the u32 count of lines).
        let first = bank.and_then(|b| b.checked_mul(32));
        Some(first.map_or(0..0, |first| first..first.saturating_add(32)))
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        let Some(offset) = self.bank_offset(signal / 32) else { return false };
        let set = self.value(offset) & (1 << (signal % 32)) != 0;
        set != self.layout.active_low
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
