//! Aspeed BMC SoC System Control Unit (SCU) module resets, as the AST2400/AST2500 and AST2600
//! datasheets describe them.
//!
//! AST2400/AST2500 (`aspeed,ast2400-scu`, `aspeed,ast2500-scu`): SCU04 and SCU0D4 are plain
//! read/write reset control registers; a set bit holds its engine in reset. Binding: one cell,
//! an index into the kernel's ten-line map (`data/reset-maps/aspeed.json`, from clk-aspeed.c;
//! a test checks this module against it): 0–8 are bits of SCU04, 9 is bit 5 of SCU0D4. A signal
//! is `bank * 32 + bit`, bank 0 being SCU04 and bank 1 SCU0D4.
//!
//! AST2600 (`aspeed,ast2600-scu`): two banks of 32 resets, each a set/clear pair. Writing 1s to
//! SCU040 (bank 0) or SCU050 (bank 1) asserts those resets, writing 1s to SCU044 / SCU054
//! deasserts them, zeros change nothing; SCU040/SCU050 read the state, the clear registers read
//! as 0 (as QEMU's model has them). Binding: one cell, `id < 32` in bank 0, `32..63` in bank 1,
//! bit `id % 32`; the signal is the id.
//!
//! Every other SCU register reads back what was written. The SCU's write protection (the key
//! in SCU00) is taken as open: the bootloader leaves it unlocked, and both the kernel and
//! platreset rely on that.

use std::collections::BTreeMap;

use platreset_fdt::Node;

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The model for `compatible`, if it is an Aspeed SCU with resets.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    match compatible {
        "aspeed,ast2400-scu" | "aspeed,ast2500-scu" => Some(Box::new(Ast2500Scu::default())),
        "aspeed,ast2600-scu" => Some(Box::new(Ast2600Scu::default())),
        _ => None,
    }
}

/// The AST2400/AST2500 reset control registers: bank 0, bank 1.
const RESET_CTRL: [u64; 2] = [0x04, 0xD4];

/// (bank, bit) of each binding id, in id order (clk-aspeed.c's `aspeed_resets`).
const AST2500_LINES: [(u32, u32); 10] =
    [(0, 25), (0, 24), (0, 23), (0, 22), (0, 18), (0, 9), (0, 10), (0, 2), (0, 1), (1, 5)];

fn check_aligned(family: &'static str, offset: u64) -> Result<(), HwError> {
    if offset.is_multiple_of(4) {
        Ok(())
    } else {
        Err(HwError::NoRegister { family, offset })
    }
}

/// An AST2400/AST2500 SCU, every engine out of reset (a running BMC).
#[derive(Debug, Clone, Default)]
struct Ast2500Scu {
    regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl ResetHw for Ast2500Scu {
    fn family(&self) -> &'static str {
        "aspeed-scu"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        let (bank, bit) = AST2500_LINES.get(usize::try_from(*id).ok()?)?;
        Some(bank * 32 + bit)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        check_aligned(self.family(), offset)?;
        Ok(self.regs.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        check_aligned(self.family(), offset)?;
        let writable = match RESET_CTRL.iter().position(|&r| r == offset) {
            Some(bank) => self.stuck.writable_mask(bank as u32),
            None => !0,
        };
        let old = self.regs.get(&offset).copied().unwrap_or(0);
        self.regs.insert(offset, (value & writable) | (old & !writable));
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        let Some(&offset) = RESET_CTRL.get((signal / 32) as usize) else { return false };
        self.regs.get(&offset).copied().unwrap_or(0) & (1 << (signal % 32)) != 0
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}

/// The AST2600 set registers, bank 0 and bank 1; each bank's clear register follows at +4.
const G6_SET: [u64; 2] = [0x40, 0x50];
const G6_CLEAR_DELTA: u64 = 4;

/// An AST2600 SCU, every engine out of reset (a running BMC).
#[derive(Debug, Clone, Default)]
struct Ast2600Scu {
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
        (*id < 64).then_some(*id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        check_aligned(self.family(), offset)?;
        if let Some(bank) = G6_SET.iter().position(|&r| r == offset) {
            return Ok(self.state[bank]);
        }
        if G6_SET.iter().any(|&r| r + G6_CLEAR_DELTA == offset) {
            return Ok(0);
        }
        Ok(self.regs.get(&offset).copied().unwrap_or(0))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        check_aligned(self.family(), offset)?;
        if let Some(bank) = G6_SET.iter().position(|&r| r == offset) {
            self.state[bank] |= value & self.stuck.writable_mask(bank as u32);
        } else if let Some(bank) = G6_SET.iter().position(|&r| r + G6_CLEAR_DELTA == offset) {
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
