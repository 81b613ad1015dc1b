//! NVIDIA Tegra clock-and-reset controller (CAR) peripheral resets, as the TRMs describe them:
//! each bank of 32 lines has RST_DEVICES_x (read/write: the reset state, a set bit holds the
//! device in reset), RST_DEV_x_SET (write 1 to assert) and RST_DEV_x_CLR (write 1 to deassert);
//! the SET/CLR strobes read as zero. Binding: one cell, `bank * 32 + bit`.
//!
//! Tegra210's binding numbers two more resets after its seven banks (dt-bindings/reset/
//! tegra210-car.h): `TEGRA210_RST_DFLL_DVCO` 224 is bit 0 (the kernel's
//! `DVFS_DFLL_RESET_SHIFT`) of RST_DFLL_DVCO at +0x2F4, a plain read/write register, set while the
//! DFLL's oscillator is held in reset; `TEGRA210_RST_ADSP` 225 is the audio DSP cluster, whose
//! reset inputs are bank-Y bits 7 and 21–26 (the clock binding names 7 `TEGRA210_CLK_ADSP`, 199,
//! and 26 `TEGRA210_CLK_ADSP_NEON`, 218; 21–25, ids 213–217, have no name there): the cluster is
//! held in reset while any of them is set. Tegra124/132 number one after their six banks,
//! `TEGRA124_RST_DFLL_DVCO` 192: the same bit 0 of RST_DFLL_DVCO (+0x2F4, `clk-tegra124.c`).
//!
//! Register offsets are the kernel's `periph_regs` and the banks per SoC its `periph_banks`, as
//! `data/reset-maps/tegra-car.json` records them (`platreset_reset::maps::tegra`,
//! `maps::tegra_banks`). A special reset's hardware is read from the registers its kernel
//! handler touches ([`Special::from_handler`]): the bits a read-modify-write sets in a register
//! of their own, or the bank bits a write to a bank's SET register asserts.

use std::collections::BTreeMap;

use platreset_fdt::Node;
use platreset_reset::maps::{self, CarStep, TegraBank, TegraSpecialReset};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// A reset the binding numbers after the peripheral banks, as the hardware holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `mask` of a plain read/write register at `reg`, set while in reset (Tegra124/210's
    /// DFLL DVCO: bit 0 of RST_DFLL_DVCO).
    Register {
        /// The register's offset.
        reg: u64,
        /// The reset bits.
        mask: u32,
    },
    /// Bits of a peripheral bank, the block held in reset while any is set (Tegra210's ADSP
    /// cluster: bank-Y bits 7 and 21–26).
    BankBits {
        /// The bank's index in id order.
        bank: usize,
        /// The bits.
        bits: u32,
    },
}

impl Special {
    /// The hardware a special reset is, from the first access of its kernel assert handler:
    /// a read-modify-write setting bits of a register, or a write to one of `banks`' SET
    /// registers. `None` for a handler of another shape (then the model has no such signal).
    pub fn from_handler(reset: &TegraSpecialReset, banks: &[TegraBank]) -> Option<Special> {
        match *reset.assert.first()? {
            CarStep::SetBits { reg, mask, .. } => Some(Special::Register { reg, mask }),
            CarStep::Write { reg, value, .. } => {
                let bank = banks.iter().position(|b| b.rst_set_reg == reg)?;
                Some(Special::BankBits { bank, bits: value })
            }
            CarStep::ClearBits { .. } | CarStep::Read { .. } | CarStep::Udelay { .. } => None,
        }
    }
}

/// The model for `compatible`, if it is a Tegra CAR with peripheral reset banks.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    Car::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One CAR. Signals are the binding's ids, `bank * 32 + bit`.
#[derive(Debug, Clone)]
pub struct Car {
    banks: &'static [TegraBank],
    state: Vec<u32>,
    /// The special resets in id order after the banks.
    special: Vec<Option<Special>>,
    /// The values of the special resets' own registers.
    special_regs: BTreeMap<u64, u32>,
    stuck: Stuck,
}

impl Car {
    /// The model for a compatible with a CAR table.
    pub fn for_compatible(compatible: &str) -> Option<Car> {
        let table = maps::tegra(compatible)?;
        let banks = maps::tegra_banks().get(..table.banks as usize)?;
        let special: Vec<Option<Special>> =
            table.special_resets.iter().map(|s| Special::from_handler(s, banks)).collect();
        let special_regs = special
            .iter()
            .filter_map(|s| match s {
                Some(Special::Register { reg, .. }) => Some((*reg, 0)),
                _ => None,
            })
            .collect();
        Some(Car { banks, state: vec![0; banks.len()], special, special_regs, stuck: Stuck::default() })
    }

    fn first_special(&self) -> u32 {
        self.banks.len() as u32 * 32
    }

    /// The special reset a signal is, if it is one.
    fn special(&self, signal: Signal) -> Option<Special> {
        let i = usize::try_from(signal.checked_sub(self.first_special())?).ok()?;
        self.special.get(i).copied().flatten()
    }

    /// The special resets that are stuck.
    fn stuck_specials(&self) -> impl Iterator<Item = Special> + '_ {
        let first = self.first_special();
        self.special
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.stuck.contains(first + *i as u32))
            .filter_map(|(_, s)| *s)
    }

    /// Bits of bank `i` writes may change: not those of stuck lines, nor the bits of a stuck
    /// special reset in that bank.
    fn writable(&self, i: usize) -> u32 {
        let mut mask = self.stuck.writable_mask(i as u32);
        for special in self.stuck_specials() {
            if let Special::BankBits { bank, bits } = special {
                if bank == i {
                    mask &= !bits;
                }
            }
        }
        mask
    }
}

impl ResetHw for Car {
    fn family(&self) -> &'static str {
        "tegra-car"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        ((((id / 32) as usize) < self.banks.len()) || self.special(*id).is_some()).then_some(*id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        if let Some(&value) = self.special_regs.get(&offset) {
            return Ok(value);
        }
        // SET/CLR strobes, clock enables and the rest of the CAR read as zero here.
        Ok(self.banks.iter().position(|b| b.rst_reg == offset).map_or(0, |i| self.state[i]))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if let Some(&old) = self.special_regs.get(&offset) {
            let frozen = self.stuck_specials().fold(0, |m, s| match s {
                Special::Register { reg, mask } if reg == offset => m | mask,
                _ => m,
            });
            self.special_regs.insert(offset, (old & frozen) | (value & !frozen));
            return Ok(());
        }
        for (i, bank) in self.banks.iter().enumerate() {
            let mask = self.writable(i);
            let writable = value & mask;
            if offset == bank.rst_reg {
                // A plain write sets the whole bank: every line of it, not just one.
                self.state[i] = (self.state[i] & !mask) | writable;
            } else if offset == bank.rst_set_reg {
                self.state[i] |= writable;
            } else if offset == bank.rst_clr_reg {
                self.state[i] &= !writable;
            }
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        match self.special(signal) {
            Some(Special::Register { reg, mask }) => {
                self.special_regs.get(&reg).is_some_and(|v| v & mask != 0)
            }
            Some(Special::BankBits { bank, bits }) => self.state.get(bank).is_some_and(|s| s & bits != 0),
            None => self.state.get((signal / 32) as usize).is_some_and(|r| r & (1 << (signal % 32)) != 0),
        }
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
