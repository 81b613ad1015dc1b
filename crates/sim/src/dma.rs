//! A DMA direction as the register-level device models share it: the buffers the guest gave it,
//! whether its engine runs, and one tick of transfer into RAM.
//!
//! The engine's state is latched apart from the start bit that set it going, so broken IP can
//! show the two disagreeing.

use platreset_fdt::NodeId;

use crate::device::DMA_CHUNK;
use crate::ram::Ram;
use crate::time::Tick;

/// The buffers of a transfer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buffers {
    /// Where the data goes.
    pub dst: u64,
    /// How much.
    pub len: u64,
    /// How much has gone.
    pub done: u64,
}

/// One DMA direction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Direction {
    /// The transfer, once the guest set one up.
    pub buffers: Option<Buffers>,
    /// Whether the engine runs.
    pub running: bool,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing to do.
    Idle,
    /// A chunk was written.
    Wrote,
    /// The write fell outside RAM: a fatal bus error that stopped the engine.
    Fault,
}

impl Direction {
    /// Whether the engine has data left to move.
    pub fn busy(&self) -> bool {
        self.running && self.buffers.is_some_and(|b| b.done < b.len)
    }

    /// One tick: a chunk of `fill` bytes written by `node`.
    pub fn step(&mut self, node: NodeId, fill: u8, now: Tick, ram: &mut Ram) -> Step {
        if !self.busy() {
            return Step::Idle;
        }
        let Some(mut buffers) = self.buffers else { return Step::Idle };
        let n = DMA_CHUNK.min(buffers.len - buffers.done);
        let step = if ram.dma_write(node, buffers.dst.wrapping_add(buffers.done), n, fill, now) {
            buffers.done += n;
            Step::Wrote
        } else {
            self.running = false;
            Step::Fault
        };
        self.buffers = Some(buffers);
        step
    }
}
