//! JSON shapes several commands print: the policy's verdict object (the one `audit`'s stable
//! JSONL carries) and a register access.
//!
//! Owns: those shapes. Must not: decide what a command prints around them.

use platreset_policy::policy::{Reason, Verdict};
use platreset_reset::MmioOp;
use serde_json::{json, Value};

/// `{"eligible", "method", "reasons", "warnings"}`.
pub fn verdict(v: &Verdict) -> Value {
    json!({"eligible": v.eligible(), "method": v.method.as_str(),
           "reasons": v.reasons.iter().map(Reason::text).collect::<Vec<_>>(),
           "warnings": v.warnings.iter().map(Reason::text).collect::<Vec<_>>()})
}

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
