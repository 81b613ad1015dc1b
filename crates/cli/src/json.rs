//! The JSON shape of a register access, which `reset` and `verify` print. (The verdict object
//! is the policy's own: `Verdict` serializes itself.)
//!
//! Owns: that shape. Must not: decide what a command prints around it.

use platreset_reset::MmioOp;
use serde_json::{json, Value};

/// One register access, addresses and values as JSON integers.
pub fn op(op: &MmioOp) -> Value {
    match op {
        MmioOp::Read32 { reg, value } => {
            json!({"op": "read32", "addr": reg.addr.get(), "reg": reg.name, "value": value})
        }
        MmioOp::Write32 { reg, value } => {
            json!({"op": "write32", "addr": reg.addr.get(), "value": value, "reg": reg.name})
        }
        MmioOp::DelayUs { us } => json!({"op": "delay_us", "us": us}),
        MmioOp::Poll32 { reg, mask, expect, timeout_us } => json!({"op": "poll32", "addr": reg.addr.get(),
            "mask": mask, "expect": expect, "timeout_us": timeout_us, "reg": reg.name}),
    }
}
