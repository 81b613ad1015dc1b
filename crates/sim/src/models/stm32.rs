//! STM32MP15 RCC peripheral resets, as the reference manual (RM0436, "RCC registers") describes
//! them: each bus has a pair of registers, `RCC_xxxRSTSETR` and `RCC_xxxRSTCLRR` four bytes
//! above it. Writing 1 to a SET bit asserts that peripheral's reset, writing 1 to the CLR bit
//! releases it, writing 0 does nothing; reading either returns the reset state. Binding: one
//! cell, `(SET register offset / 4) * 32 + bit` (so SDMMC1 3280 is bit 16 of 0x198).
//!
//! The RCCs modelled and the CLR distance (4) are the `clk-stm32mp1.c` tables of
//! `data/reset-maps/stm32mp1.json` (`stm32mp1_data`, `clear_offset`), read through
//! `platreset_reset::maps::stm32`; the MP13's RCC has another register map and is not modelled.
//! The list of SET registers is the RM0436 register map: only those offsets are reset registers.
//!
//! One more signal is not a SET/CLR pair: `MCU_R` (8225, bit 1 of 0x404) is MCURST in
//! RCC_MP_GRSTCSETR — writing 1 *generates* a reset of the Cortex-M4, which ends by itself; 0x408
//! (RCC_MP_RSTSCLRR) only clears reset-source flags. The kernel and platreset write the "release"
//! there all the same, which the hardware ignores as a reset control.

use platreset_fdt::Node;
use platreset_reset::maps::{self, Stm32Ops};

use crate::hw::{HwError, ResetHw, Signal};
use crate::models::registers::Stuck;
use crate::time::Tick;

/// The RSTSETR registers of RM0436: APB4, APB5, AHB5, AHB6, TZAHB6 (MPU side), then APB1, APB2,
/// APB3, AHB2, AHB3, AHB4.
pub const SET_REGISTERS: [u64; 11] =
    [0x180, 0x188, 0x190, 0x198, 0x1A0, 0x980, 0x988, 0x990, 0x998, 0x9A0, 0x9A8];

/// The model for `compatible`, if it is an STM32MP15 RCC.
pub fn model(compatible: &str, _node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    let table = maps::stm32(compatible).filter(|t| t.ops == Stm32Ops::ClkStm32mp1)?;
    Some(Box::new(Rcc::new(table.clear_offset)))
}

/// One RCC. Signals are the binding's ids: `(SET offset / 4) * 32 + bit`.
#[derive(Debug, Clone)]
pub struct Rcc {
    /// Reset state, one word per entry of [`SET_REGISTERS`].
    state: [u32; SET_REGISTERS.len()],
    /// Distance from a SET register to its CLR register.
    clear_offset: u64,
    stuck: Stuck,
    /// The M4 reset MCURST generated lasts until this tick.
    mcu_reset_until: Tick,
}

/// RCC_MP_GRSTCSETR: writing MCURST (bit 1) generates a reset of the Cortex-M4.
const GRSTCSETR: u64 = 0x404;
/// The binding's `MCU_R`: bit 1 of 0x404.
const MCU_R: Signal = (GRSTCSETR as u32 / 4) * 32 + 1;
/// How long the generated M4 reset lasts (a few RCC clock cycles; one tick here).
const MCU_RESET_US: Tick = 1;

impl Rcc {
    /// An RCC with every peripheral out of reset, its CLR registers `clear_offset` above the SET
    /// ones.
    pub fn new(clear_offset: u64) -> Rcc {
        Rcc { state: [0; SET_REGISTERS.len()], clear_offset, stuck: Stuck::default(), mcu_reset_until: 0 }
    }

    fn pair(set: u64) -> Option<usize> {
        SET_REGISTERS.iter().position(|&s| s == set)
    }
}

impl ResetHw for Rcc {
    fn family(&self) -> &'static str {
        "stm32mp1-rcc"
    }

    fn signal(&self, args: &[u32]) -> Option<Signal> {
        let [id] = args else { return None };
        if *id == MCU_R {
            return Some(MCU_R);
        }
        Rcc::pair(4 * u64::from(id / 32)).map(|_| *id)
    }

    fn read(&mut self, offset: u64, _now: Tick) -> Result<u32, HwError> {
        let set = if offset % 8 == self.clear_offset { offset - self.clear_offset } else { offset };
        // Clocks, PLLs and the rest of the RCC read as zero here.
        Ok(Rcc::pair(set).map_or(0, |i| self.state[i]))
    }

    fn write(&mut self, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        if offset == GRSTCSETR && value & (1 << (MCU_R % 32)) != 0 && !self.stuck.contains(MCU_R) {
            self.mcu_reset_until = now + MCU_RESET_US;
        }
        if let Some(i) = Rcc::pair(offset) {
            self.state[i] |= value & self.stuck.writable_mask((offset / 4) as u32);
        } else if let Some(i) = offset.checked_sub(self.clear_offset).and_then(Rcc::pair) {
            let set = offset - self.clear_offset;
            self.state[i] &= !(value & self.stuck.writable_mask((set / 4) as u32));
        }
        Ok(())
    }

    fn asserted(&self, signal: Signal, now: Tick) -> bool {
        if signal == MCU_R {
            return now < self.mcu_reset_until;
        }
        Rcc::pair(4 * u64::from(signal / 32)).is_some_and(|i| self.state[i] & (1 << (signal % 32)) != 0)
    }

    fn next_event(&self, now: Tick) -> Option<Tick> {
        (self.mcu_reset_until > now).then_some(self.mcu_reset_until)
    }

    fn stick(&mut self, signal: Signal) {
        self.stuck.add(signal);
    }
}
