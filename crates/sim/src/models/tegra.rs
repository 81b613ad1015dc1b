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
//! `data/reset-maps/tegra-car.json` records them; the special resets' registers and bits are
//! the ones its Tegra210 handler steps touch (tests check both against the data).

use platreset_fdt::Node;

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// One peripheral bank's reset registers (`periph_regs` in `data/reset-maps/tegra-car.json`:
/// `rst_reg`, `rst_set_reg`, `rst_clr_reg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bank {
    /// L, H, U, V, W, X or Y.
    pub name: &'static str,
    /// RST_DEVICES_x.
    pub state: u64,
    /// RST_DEV_x_SET.
    pub set: u64,
    /// RST_DEV_x_CLR.
    pub clr: u64,
}

/// Banks in id order.
pub const BANKS: [Bank; 7] = [
    Bank { name: "L", state: 0x004, set: 0x300, clr: 0x304 },
    Bank { name: "H", state: 0x008, set: 0x308, clr: 0x30C },
    Bank { name: "U", state: 0x00C, set: 0x310, clr: 0x314 },
    Bank { name: "V", state: 0x358, set: 0x430, clr: 0x434 },
    Bank { name: "W", state: 0x35C, set: 0x438, clr: 0x43C },
    Bank { name: "X", state: 0x28C, set: 0x290, clr: 0x294 },
    Bank { name: "Y", state: 0x2A4, set: 0x2A8, clr: 0x2AC },
];

/// (compatible, peripheral banks): `banks` of each table in `data/reset-maps/tegra-car.json`.
pub const COMPATIBLES: &[(&str, usize)] = &[
    ("nvidia,tegra20-car", 3),
    ("nvidia,tegra30-car", 5),
    ("nvidia,tegra114-car", 5),
    ("nvidia,tegra124-car", 6),
    ("nvidia,tegra132-car", 6),
    ("nvidia,tegra210-car", 7),
];

/// RST_DFLL_DVCO: bit 0 holds the DFLL's DVCO in reset.
pub const RST_DFLL_DVCO: u64 = 0x2F4;
/// The bit of [`RST_DFLL_DVCO`] that is the reset (`1 << DVFS_DFLL_RESET_SHIFT`).
pub const DFLL_DVCO_RST: u32 = 1 << 0;
/// The ADSP cluster's reset inputs in RST_DEVICES_Y: bits 7 and 21–26.
pub const ADSP_BANK_Y_BITS: u32 = 0x07E0_0080;

/// A reset the binding numbers after the peripheral banks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// Bit 0 of RST_DFLL_DVCO.
    DfllDvco,
    /// Any of [`ADSP_BANK_Y_BITS`] in bank Y.
    Adsp,
}

/// (compatible, its special resets in binding order after the banks).
pub const SPECIAL: &[(&str, &[Special])] = &[
    ("nvidia,tegra124-car", &[Special::DfllDvco]),
    ("nvidia,tegra132-car", &[Special::DfllDvco]),
    ("nvidia,tegra210-car", &[Special::DfllDvco, Special::Adsp]),
];

/// The model for `compatible`, if it is a Tegra CAR with peripheral reset banks.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    Car::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One CAR. Signals are the binding's ids, `bank * 32 + bit`.
#[derive(Debug, Clone)]
pub struct Car {
    banks: &'static [Bank],
    state: Vec<u32>,
    special: &'static [Special],
    /// RST_DFLL_DVCO's value.
    dfll_dvco: u32,
    stuck: Stuck,
}

impl Car {
    /// The model for a compatible of [`COMPATIBLES`].
    pub fn for_compatible(compatible: &str) -> Option<Car> {
        let &(_, n) = COMPATIBLES.iter().find(|(c, _)| *c == compatible)?;
        let all: &'static [Bank; 7] = &BANKS;
        let banks = all.get(..n)?;
        let special = SPECIAL.iter().find(|(c, _)| *c == compatible).map_or(&[][..], |(_, s)| *s);
        Some(Car { banks, state: vec![0; n], special, dfll_dvco: 0, stuck: Stuck::default() })
    }

    /// The special reset a signal is, if it is one.
    fn special(&self, signal: Signal) -> Option<Special> {
        let first = u32::try_from(self.banks.len()).ok()? * 32;
        self.special.get(usize::try_from(signal.checked_sub(first)?).ok()?).copied()
    }

    fn is_stuck(&self, special: Special) -> bool {
        let first = self.banks.len() as u32 * 32;
        self.special.iter().position(|s| *s == special).is_some_and(|i| self.stuck.contains(first + i as u32))
    }

    /// Bits of bank `i` writes may change: not those of stuck lines, nor the ADSP cluster's
    /// bits in bank Y while the ADSP reset is stuck.
    fn writable(&self, i: usize) -> u32 {
        let mut mask = self.stuck.writable_mask(i as u32);
        if self.banks[i].name == "Y" && self.is_stuck(Special::Adsp) {
            mask &= !ADSP_BANK_Y_BITS;
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
        if offset == RST_DFLL_DVCO && self.special.contains(&Special::DfllDvco) {
            return Ok(self.dfll_dvco);
        }
        // SET/CLR strobes, clock enables and the rest of the CAR read as zero here.
        Ok(self.banks.iter().position(|b| b.state == offset).map_or(0, |i| self.state[i]))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if offset == RST_DFLL_DVCO && self.special.contains(&Special::DfllDvco) {
            let frozen = if self.is_stuck(Special::DfllDvco) { DFLL_DVCO_RST } else { 0 };
            self.dfll_dvco = (self.dfll_dvco & frozen) | (value & !frozen);
            return Ok(());
        }
        for (i, bank) in self.banks.iter().enumerate() {
            let mask = self.writable(i);
            let writable = value & mask;
            if offset == bank.state {
                // A plain write sets the whole bank: every line of it, not just one.
                self.state[i] = (self.state[i] & !mask) | writable;
            } else if offset == bank.set {
                self.state[i] |= writable;
            } else if offset == bank.clr {
                self.state[i] &= !writable;
            }
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, _now: Tick) -> bool {
        match self.special(signal) {
            Some(Special::DfllDvco) => self.dfll_dvco & DFLL_DVCO_RST != 0,
            Some(Special::Adsp) => {
                let y = self.banks.iter().position(|b| b.name == "Y");
                y.is_some_and(|i| self.state[i] & ADSP_BANK_Y_BITS != 0)
            }
            None => self.state.get((signal / 32) as usize).is_some_and(|r| r & (1 << (signal % 32)) != 0),
        }
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
