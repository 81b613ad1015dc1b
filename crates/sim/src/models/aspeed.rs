//! Aspeed BMC SoC System Control Unit (SCU) module resets, as the AST2400/AST2500 and AST2600
//! datasheets describe them.
//!
//! AST2400/AST2500 (`aspeed,ast2400-scu`, `aspeed,ast2500-scu`): SCU04 and SCU0D4 are plain
//! read/write reset control registers; a set bit holds its engine in reset. Binding: one cell,
//! an index into the kernel's ten-line map (`data/reset-maps/aspeed.json`, from clk-aspeed.c,
//! read through `platreset_reset::maps::aspeed`): 0–8 are bits of SCU04, 9 is bit 5 of SCU0D4.
//! A signal is `bank * 32 + bit`, bank 0 being SCU04 (`reset_ctrl`) and bank 1 SCU0D4
//! (`reset_ctrl2`).
//!
//! AST2600 (`aspeed,ast2600-scu`): two banks of 32 resets, each a set/clear pair. Writing 1s to
//! SCU040 (bank 0) or SCU050 (bank 1) asserts those resets, writing 1s to SCU044 / SCU054
//! deasserts them, zeros change nothing; SCU040/SCU050 read the state, the clear registers read
//! as 0 (as QEMU's model has them). Binding: one cell, `id < 32` in bank 0, `32..63` in bank 1,
//! bit `id % 32`; the signal is the id. The registers and the clear distance are the
//! clk-ast2600.c table of the same data file.
//!
//! Every other SCU register reads back what was written. The SCU's write protection (the key
//! in SCU00) is taken as open: the bootloader leaves it unlocked, and both the kernel and
//! platreset rely on that.

use std::collections::BTreeMap;

use platreset_fdt::Node;
use platreset_reset::maps::{self, AspeedLayout, AspeedLine};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The model for `compatible`, if it is an Aspeed SCU with resets.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    let table = maps::aspeed(compatible)?;
    let banks = [table.reset_ctrl, table.reset_ctrl2];
    Some(match table.layout {
        AspeedLayout::Indexed => Box::new(Ast2500Scu {
            reset_ctrl: banks,
            lines: table.resets,
            regs: BTreeMap::new(),
            stuck: Stuck::default(),
        }),
        AspeedLayout::SetClear { clear_offset } => Box::new(Ast2600Scu {
            set: banks,
            clear_delta: clear_offset,
            lines: table.nr_resets,
            state: [0; 2],
            regs: BTreeMap::new(),
            stuck: Stuck::default(),
        }),
    })
}

fn check_aligned(family: &'static str, offset: u64) -> Result<(), HwError> {
    if offset.is_multiple_of(4) {
        Ok(())
    } else {
        Err(HwError::NoRegister { family, offset })
    }
}

/// An AST2400/AST2500 SCU, every engine out of reset (a running BMC).
#[derive(Debug, Clone)]
struct Ast2500Scu {
    /// The reset control registers: bank 0, bank 1.
    reset_ctrl: [u64; 2],
    /// Register and bit of each binding id, in id order (clk-aspeed.c's `aspeed_resets`).
    lines: &'static [AspeedLine],
    regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl ResetHw for Ast2500Scu {
    fn family(&self) -> &'static str {
        "aspeed-scu"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        let line = self.lines.get(usize::try_from(*id).ok()?)?;
        let bank = self.reset_ctrl.iter().position(|&r| r == line.reg)?;
        Some(bank as u32 * 32 + line.bit)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        check_aligned(self.family(), offset)?;
        Ok(self.regs.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        check_aligned(self.family(), offset)?;
        let writable = match self.reset_ctrl.iter().position(|&r| r == offset) {
            Some(bank) => self.stuck.writable_mask(bank as u32),
            None => !0,
        };
        let old = self.regs.get(&offset).copied().unwrap_or(0);
        self.regs.insert(offset, (value & writable) | (old & !writable));
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        let Some(&offset) = self.reset_ctrl.get((signal / 32) as usize) else { return false };
        self.regs.get(&offset).copied().unwrap_or(0) & (1 << (signal % 32)) != 0
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}

/// An AST2600 SCU, every engine out of reset (a running BMC).
#[derive(Debug, Clone)]
struct Ast2600Scu {
    /// The set registers, bank 0 and bank 1.
    set: [u64; 2],
    /// Distance from a set register to its clear register.
    clear_delta: u64,
    /// Number of lines.
    lines: u32,
    state: [u32; 2],
    regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl ResetHw for Ast2600Scu {
    fn family(&self) -> &'static str {
        "aspeed-g6-scu"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        (*id < self.lines).then_some(*id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        check_aligned(self.family(), offset)?;
        if let Some(bank) = self.set.iter().position(|&r| r == offset) {
            return Ok(self.state[bank]);
        }
        if self.set.iter().any(|&r| r + self.clear_delta == offset) {
            return Ok(0);
        }
        Ok(self.regs.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        check_aligned(self.family(), offset)?;
        if let Some(bank) = self.set.iter().position(|&r| r == offset) {
            self.state[bank] |= value & self.stuck.writable_mask(bank as u32);
        } else if let Some(bank) = self.set.iter().position(|&r| r + self.clear_delta == offset) {
            self.state[bank] &= !(value & self.stuck.writable_mask(bank as u32));
        } else {
            self.regs.insert(offset, value);
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        self.state.get((signal / 32) as usize).is_some_and(|s| s & (1 << (signal % 32)) != 0)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
