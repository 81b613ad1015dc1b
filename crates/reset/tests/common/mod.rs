//! What the trace-level tests compare: a trace's accesses as short values, and the registers
//! they name.

use platreset_reset::{MmioOp, Trace};

/// One access, without the register's name: a write, a read, a wait or a poll.
#[derive(Debug, PartialEq)]
pub enum Op {
    W(u64, u32),
    R(u64),
    D(u32),
    P(u64, u32, u32),
}

/// Every access of `trace`, in order.
pub fn ops(trace: &Trace) -> Vec<Op> {
    trace
        .ops()
        .iter()
        .map(|op| match op {
            MmioOp::Write32 { reg, value } => Op::W(reg.addr.get(), *value),
            MmioOp::Read32 { reg, .. } => Op::R(reg.addr.get()),
            MmioOp::DelayUs { us } => Op::D(*us),
            MmioOp::Poll32 { reg, mask, expect, .. } => Op::P(reg.addr.get(), *mask, *expect),
        })
        .collect()
}

/// The register names of `trace`'s accesses, in order (waits name none).
pub fn names(trace: &Trace) -> Vec<String> {
    trace
        .ops()
        .iter()
        .filter_map(|op| match op {
            MmioOp::Write32 { reg, .. } | MmioOp::Read32 { reg, .. } | MmioOp::Poll32 { reg, .. } => {
                Some(reg.name.to_string())
            }
            MmioOp::DelayUs { .. } => None,
        })
        .collect()
}
