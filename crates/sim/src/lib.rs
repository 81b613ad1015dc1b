//! A simulated SoC built from a device tree, to show whether a reset really stops a device's DMA
//! and interrupts.
//!
//! The memory map comes from every node's `reg` (translated through `ranges`); RAM from the
//! `/memory` nodes (or a default window when there are none); time advances in ticks of one
//! microsecond. Reset controllers are **hardware models** (`models/`): they decode register
//! writes the way the silicon does (write-1-to-set, hiword masks, set/clear pairs, self-clearing
//! pulses) and drive the reset input of every device wired to a line in the DT. They never call
//! the driver code they check — only the binding's encoding and the kernel's per-SoC tables
//! (`data/reset-maps`, data, not code) are shared. Devices are bus masters whose DMA writes land
//! in RAM and are recorded with their tick.
//!
//! Owns: the models, the bus, the [`SimMmio`] backend through which the real drivers and
//! handlers run unchanged, and the `verify` procedure. Must not: decide policy, or touch real
//! hardware.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod device;
mod dma;
mod hw;
pub mod models;
mod ram;
mod soc;
mod time;
pub mod verify;

pub use device::{BusMaster, DeviceModel, DeviceRegs, ResetInput, DMA_CHUNK};
pub use hw::{HwError, ResetHw, Signal};
pub use ram::{DmaWrite, Ram};
pub use soc::{
    Fault, SimBus, SimError, SimMmio, Soc, StrayWrite, DEFAULT_RAM_BASE, DEFAULT_RAM_SIZE,
    SHORT_DELAY_HOLD_US,
};
pub use verify::Verifier;

pub use time::Tick;
