//! A device with two reset lines whose second line fails, on the simulated SoC: the real drivers
//! run through `platreset_reset::perform::reset_node` on [`SimMmio`], and the interconnect answers
//! every access to the second line's register with a bus error (`Fault::BusError`). An assert or
//! a deassert then undoes the first line, as Linux's `reset_control_array_assert` /
//! `_deassert` do (drivers/reset/core.c), so the hardware model's register and the device's reset
//! input are left as they were; the report shows the first line's accesses, the failed second and
//! the undo. A reset undoes nothing: the first line's pulse reached the device and ended.
//!
//! The fixture (inline, compiled with dtc): a `snps,dw-high-reset` block at 0x80000 (two
//! registers, active high, as in sim-simple.dts) and a bus master `dma@90000` on id 3 (RESET0 bit
//! 3, 0x80000) and id 35 (RESET1 bit 3, 0x80004).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use platreset_fdt::Fdt;
use platreset_reset::perform::{reset_node, Failure, LineSelect, NodeError, Operation, PerformError, Report};
use platreset_reset::{DriverError, MmioError, MmioOp};
use platreset_sim::{Fault, Soc};
use platreset_topology::Topology;

const DTS: &str = r#"/dts-v1/;
/ {
    #address-cells = <1>; #size-cells = <1>;
    high: reset-controller@80000 { compatible = "snps,dw-high-reset"; reg = <0x80000 0x8>; #reset-cells = <1>; };
    dma@90000 { compatible = "platreset,sim-dma"; reg = <0x90000 0x1000>; resets = <&high 3>, <&high 35>; };
};
"#;

const RESET0: u64 = 0x80000;
const RESET1: u64 = 0x80004;
const DMA: &str = "/dma@90000";

fn blob() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("platreset-sim-undo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dts = dir.join(format!("two-lines-{:?}.dts", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&dts, DTS).unwrap();
    let blob = platreset_testkit::compile_dts(&dts);
    let _ = std::fs::remove_file(&dts);
    blob
}

/// What the SoC looked like and what the operation did.
struct Run {
    result: Result<Report, NodeError<Infallible>>,
    reset0_before: u32,
    reset0_after: u32,
    in_reset_before: bool,
    in_reset_after: bool,
    /// Ticks at which the device's reset input rose during the operation.
    rises: usize,
}

/// `operation` on both lines of the DMA, with RESET0/RESET1 holding `preset` first and RESET1
/// answering with bus errors.
fn run(operation: Operation, preset: (u32, u32)) -> Run {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let dma = fdt.find_path(DMA).unwrap().id();
    let mut soc = Soc::build(&topology, &[dma]).unwrap();
    soc.write32(RESET0, preset.0, "RESET0").unwrap();
    soc.write32(RESET1, preset.1, "RESET1").unwrap();
    soc.advance(10);
    soc.inject(Fault::BusError(RESET1), dma).unwrap();
    let (reset0_before, in_reset_before, rises_before) =
        (soc.read32(RESET0, "RESET0").unwrap(), soc.in_reset(dma), soc.resets_of(dma).len());
    let result = reset_node(&topology, dma, &LineSelect::All, operation, 10, |_| Ok(soc.mmio()));
    soc.advance(10);
    Run {
        result,
        reset0_before,
        reset0_after: soc.read32(RESET0, "RESET0").unwrap(),
        in_reset_before,
        in_reset_after: soc.in_reset(dma),
        rises: soc.resets_of(dma).len() - rises_before,
    }
}

fn failure(result: Result<Report, NodeError<Infallible>>) -> Failure {
    match result {
        Err(NodeError::Failed(failure)) => failure,
        other => panic!("expected a failed operation, got {other:?}"),
    }
}

/// The second line failed on the bus error at RESET1.
fn is_bus_error_on_reset1(error: &PerformError) -> bool {
    matches!(
        error,
        PerformError::Driver { index: 1, source: DriverError::Mmio(MmioError::Bus { addr, .. }), .. }
            if addr.get() == RESET1
    )
}

/// Each access as (line, undo, op, address, value or µs).
fn accesses(report: &Report) -> Vec<(usize, bool, &'static str, u64, u32)> {
    report
        .steps
        .iter()
        .flat_map(|s| {
            s.ops.iter().map(move |op| match op {
                MmioOp::Read32 { reg, value } => (s.index, s.undo, "read32", reg.addr.get(), *value),
                MmioOp::Write32 { reg, value } => (s.index, s.undo, "write32", reg.addr.get(), *value),
                MmioOp::DelayUs { us } => (s.index, s.undo, "delay_us", 0, *us),
                MmioOp::Poll32 { reg, expect, .. } => (s.index, s.undo, "poll32", reg.addr.get(), *expect),
            })
        })
        .collect()
}

fn steps(report: &Report) -> Vec<(usize, Operation, bool, bool)> {
    report.steps.iter().map(|s| (s.index, s.action, s.undo, s.error.is_some())).collect()
}

#[test]
fn a_failed_second_assert_releases_the_first_line_on_the_simulated_soc() {
    let run = run(Operation::Assert, (0, 0));
    let failure = failure(run.result);
    assert!(is_bus_error_on_reset1(&failure.error), "{}", failure.error);
    assert_eq!(run.rises, 1, "line 0's assert really reached the device");
    assert_eq!((run.reset0_before, run.reset0_after), (0, 0), "line 0 is as it was");
    assert!(!run.in_reset_before && !run.in_reset_after, "the device is out of reset again");
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0),
            (0, false, "write32", RESET0, 0x8),
            (0, true, "read32", RESET0, 0x8),
            (0, true, "write32", RESET0, 0),
        ]
    );
    assert_eq!(
        steps(&failure.report),
        [
            (0, Operation::Assert, false, false),
            (1, Operation::Assert, false, true),
            (0, Operation::Deassert, true, false),
        ]
    );
}

#[test]
fn a_failed_second_deassert_asserts_the_first_line_again_on_the_simulated_soc() {
    // Both lines asserted, as a host driver leaves a device it holds in reset.
    let run = run(Operation::Deassert, (0x8, 0x8));
    let failure = failure(run.result);
    assert!(is_bus_error_on_reset1(&failure.error), "{}", failure.error);
    assert_eq!((run.reset0_before, run.reset0_after), (0x8, 0x8), "line 0 is asserted again");
    assert!(run.in_reset_before && run.in_reset_after);
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0x8),
            (0, false, "write32", RESET0, 0),
            (0, true, "read32", RESET0, 0),
            (0, true, "write32", RESET0, 0x8),
        ]
    );
    assert_eq!(
        steps(&failure.report),
        [
            (0, Operation::Deassert, false, false),
            (1, Operation::Deassert, false, true),
            (0, Operation::Assert, true, false),
        ]
    );
}

#[test]
fn a_failed_second_reset_keeps_the_first_lines_completed_pulse_on_the_simulated_soc() {
    let run = run(Operation::Reset, (0, 0));
    let failure = failure(run.result);
    assert!(is_bus_error_on_reset1(&failure.error), "{}", failure.error);
    assert_eq!(run.rises, 1, "line 0's pulse reached the device");
    assert_eq!((run.reset0_before, run.reset0_after), (0, 0), "and ended: line 0 is released");
    assert!(!run.in_reset_after);
    assert_eq!(
        steps(&failure.report),
        [(0, Operation::Reset, false, false), (1, Operation::Reset, false, true)],
        "nothing to undo"
    );
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0),
            (0, false, "write32", RESET0, 0x8),
            (0, false, "delay_us", 0, 10),
            (0, false, "read32", RESET0, 0x8),
            (0, false, "write32", RESET0, 0),
        ]
    );
}
