//! What a reset controller's hardware model must answer: its registers as the bus sees them, and
//! which reset signals are asserted.

use std::ops::Range;

use thiserror::Error;

use crate::time::Tick;

/// One hardware reset signal of a controller (the model's own numbering: typically
/// `register index * 32 + bit`).
pub type Signal = u32;

/// An access the hardware would reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HwError {
    /// No register at this offset.
    #[error("no register at offset {offset:#x} of this {family} controller")]
    NoRegister {
        /// The controller family.
        family: &'static str,
        /// Offset in the controller's window.
        offset: u64,
    },
}

/// A reset controller, from the hardware's point of view.
pub trait ResetHw {
    /// The family, for messages (`renesas-cpg-mssr`).
    fn family(&self) -> &'static str;
    /// The signal a DT specifier names, by the binding's encoding; `None` when the binding names
    /// no signal there.
    fn signal(&self, args: &[u32]) -> Option<Signal>;
    /// A 32-bit register read at `offset` of the controller's window.
    fn read(&mut self, offset: u64, now: Tick) -> Result<u32, HwError>;
    /// A 32-bit register write.
    fn write(&mut self, offset: u64, value: u32, now: Tick) -> Result<(), HwError>;
    /// Whether `signal` holds its device in reset at `now`.
    fn asserted(&self, signal: Signal, now: Tick) -> bool;
    /// The next tick after `now` at which some signal changes by itself (a self-clearing pulse),
    /// if any: the simulator does not skip over it.
    fn next_event(&self, now: Tick) -> Option<Tick> {
        let _ = now;
        None
    }
    /// The signals a register write at `offset` can change, when the model can say: the
    /// simulator then re-checks only the devices wired to them, so a reset of many lines costs
    /// in proportion to them. `None` (the default): any signal of this controller.
    fn signals_written(&self, offset: u64) -> Option<Range<Signal>> {
        let _ = offset;
        None
    }
    /// Fault injection: `signal` ignores every write from now on.
    fn stick(&mut self, signal: Signal);
}
