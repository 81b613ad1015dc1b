//! Hardware models of reset controllers (one module per family) and register-level device
//! models, chosen by compatible.
//!
//! Each controller model is written from the silicon's side — what a write to each register does
//! to the reset signals — following the hardware documentation and the DT binding's encoding of
//! a specifier. The per-SoC tables (which bit of which register a line is) are the kernel's data
//! from `data/reset-maps`, read through `platreset_reset::maps`; no driver code is called.

use platreset_fdt::Node;

use crate::device::DeviceModel;
use crate::hw::ResetHw;

pub mod rcar;

/// Signals a model was told to keep as they are.
#[derive(Debug, Clone, Default)]
pub struct Stuck(Vec<u32>);

impl Stuck {
    /// Adds a stuck signal.
    pub fn add(&mut self, signal: u32) {
        self.0.push(signal);
    }

    /// The bits of register `reg` (32 signals each) that writes may change.
    pub fn writable_mask(&self, reg: u32) -> u32 {
        self.0.iter().filter(|&&s| s / 32 == reg).fold(!0, |mask, s| mask & !(1 << (s % 32)))
    }

    /// Whether a signal is stuck.
    pub fn contains(&self, signal: u32) -> bool {
        self.0.contains(&signal)
    }
}

/// The hardware model for a reset controller node, by its first compatible a model knows.
pub fn controller_for(node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    for c in node.compatible() {
        let c = std::str::from_utf8(c).ok()?;
        if let Some(m) = rcar::Cpg::for_compatible(c) {
            return Some(Box::new(m));
        }
    }
    None
}

/// A register-level model for a device whose compatible has one; `None`: the generic bus master.
pub fn device_for(node: &Node<'_, '_>) -> Option<Box<dyn DeviceModel>> {
    let _ = node;
    None
}
