//! NVIDIA Tegra clock-and-reset controller (CAR) peripheral resets, as the TRMs describe them:
//! each bank of 32 lines has RST_DEVICES_x (read/write: the reset state, a set bit holds the
//! device in reset), RST_DEV_x_SET (write 1 to assert) and RST_DEV_x_CLR (write 1 to deassert);
//! the SET/CLR strobes read as zero. Binding: one cell, `bank * 32 + bit`; ids past the SoC's
//! banks (the "special" DFLL DVCO and ADSP resets) are not lines of these banks.
//!
//! Register offsets are the kernel's `periph_regs` and the banks per SoC its `periph_banks`, as
//! `data/reset-maps/tegra-car.json` records them (`platreset_reset::maps` has no typed accessor
//! for that file, hence the constants).

use platreset_fdt::Node;

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::Stuck;
use crate::Tick;

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

/// The model for `compatible`, if it is a Tegra CAR with peripheral reset banks.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    Car::for_compatible(compatible).map(|m| Box::new(m) as Box<dyn ResetHw>)
}

/// One CAR. Signals are the binding's ids, `bank * 32 + bit`.
#[derive(Debug, Clone)]
pub struct Car {
    banks: &'static [Bank],
    state: Vec<u32>,
    stuck: Stuck,
}

impl Car {
    /// The model for a compatible of [`COMPATIBLES`].
    pub fn for_compatible(compatible: &str) -> Option<Car> {
        let &(_, n) = COMPATIBLES.iter().find(|(c, _)| *c == compatible)?;
        let all: &'static [Bank; 7] = &BANKS;
        let banks = all.get(..n)?;
        Some(Car { banks, state: vec![0; n], stuck: Stuck::default() })
    }
}

impl ResetHw for Car {
    fn family(&self) -> &'static str {
        "tegra-car"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        (((id / 32) as usize) < self.banks.len()).then_some(*id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        // SET/CLR strobes, clock enables and the rest of the CAR read as zero here.
        Ok(self.banks.iter().position(|b| b.state == offset).map_or(0, |i| self.state[i]))
    }

    fn write(&mut self, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        for (i, bank) in self.banks.iter().enumerate() {
            let writable = value & self.stuck.writable_mask(i as u32);
            if offset == bank.state {
                // A plain write sets the whole bank: every line of it, not just one.
                let mask = self.stuck.writable_mask(i as u32);
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
        self.state.get((signal / 32) as usize).is_some_and(|r| r & (1 << (signal % 32)) != 0)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
