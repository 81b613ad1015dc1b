//! What the simulator tests share: running `verify` on a node with the generic method, and
//! reading a report. Each test crate uses part of it.
#![allow(dead_code)]

use platreset_fdt::Fdt;
use platreset_reset::{MmioOp, PhysAddr, Reg};
use platreset_sim::verify::{verify, Performer, Report, ResetBy};
use platreset_sim::Fault;
use platreset_topology::Topology;

/// What a reset that never reaches the device breaks: the line never rises, so the DMA goes on
/// and the registers keep the guest's values.
pub const STUCK: [&str; 3] = [
    "the reset reached the device",
    "no DMA write by the device after the reset",
    "its registers are at their reset values",
];

/// What a device left in reset breaks: it never comes out, and its registers are cleared only
/// when it does (the bus master's reset takes effect on release).
pub const LEFT_IN_RESET: [&str; 2] =
    ["the device is out of reset again", "its registers are at their reset values"];

/// `verify` of the node at `path` of `blob` by the generic method (10 µs pulses).
pub fn verify_generic(blob: &[u8], path: &str, faults: &[Fault], performer: Performer<'_>) -> Report {
    let fdt = Fdt::parse(blob).expect("a valid DTB");
    let topology = Topology::build(&fdt);
    let node = fdt.find_path(path).unwrap_or_else(|e| panic!("no {path}: {e}"));
    verify(&topology, node.id(), &ResetBy::Lines, faults, 10, performer).expect("verify runs")
}

/// The names of the checks that failed.
pub fn failed(report: &Report) -> Vec<&'static str> {
    report.checks.iter().filter(|c| !c.pass).map(|c| c.name).collect()
}

/// The register writes of a reset, as (address, value).
pub fn writes(report: &Report) -> Vec<(u64, u32)> {
    report
        .ops
        .iter()
        .filter_map(|op| match op {
            MmioOp::Write32 { reg, value } => Some((reg.addr.get(), *value)),
            _ => None,
        })
        .collect()
}

/// A register for a hand-written sequence.
pub fn reg(addr: u64, name: &'static str) -> Reg {
    Reg { addr: PhysAddr::new(addr), name: name.into() }
}
