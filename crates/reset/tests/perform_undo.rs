//! A node with two lines whose second line fails, through the real drivers on the dry-run trace:
//! `reset_node` binds both lines, acts on the first, fails on the second, and — for an assert or
//! a deassert — undoes the first, so its register is left as it was; the report holds the first
//! line's accesses, the failed second and the undo, in that order. A reset undoes nothing (Linux
//! drivers/reset/core.c `reset_control_array_reset`): the first line's pulse has completed.
//!
//! The fixture (inline, compiled with dtc):
//! - `snps,dw-high-reset` at 0x80000 (reset-simple, active high, two registers): line 0 of
//!   `dma@90000` is id 3, bit 3 of RESET0 (0x80000).
//! - `altr,rst-mgr` at 0xffd05000 with a window of 0x14 bytes: its module resets start at +0x10
//!   (no `altr,modrst-offset`), so the window holds PERMODRST0 only. Line 1 is id 33 (bank 1,
//!   +0x14): the driver translates it (256 lines) but refuses to act on it, its register being
//!   past the window — a failure at operation time, after line 0 was done.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use platreset_fdt::Fdt;
use platreset_reset::perform::{reset_node, Failure, LineSelect, NodeError, Operation, PerformError, Report};
use platreset_reset::{DriverError, MmioOp, Mode, PhysAddr, Trace};
use platreset_topology::Topology;

const DTS: &str = r#"/dts-v1/;
/ {
    #address-cells = <1>; #size-cells = <1>;
    high: reset-controller@80000 { compatible = "snps,dw-high-reset"; reg = <0x80000 0x8>; #reset-cells = <1>; };
    rst: rstmgr@ffd05000 { compatible = "altr,rst-mgr"; reg = <0xffd05000 0x14>; #reset-cells = <1>; };
    dma@90000 { reg = <0x90000 0x1000>; resets = <&high 3>, <&rst 33>; reset-names = "bus", "core"; };
    twice@91000 { reg = <0x91000 0x1000>; resets = <&high 4>, <&rst 32>, <&high 4>; };
    none@92000 { reg = <0x92000 0x1000>; };
};
"#;

const RESET0: u64 = 0x80000;

fn blob() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("platreset-perform-undo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dts = dir.join(format!("two-lines-{:?}.dts", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&dts, DTS).unwrap();
    let blob = platreset_testkit::compile_dts(&dts);
    let _ = std::fs::remove_file(&dts);
    blob
}

/// `operation` on every line of `path` on a trace whose RESET0 reads `reset0` at first; the
/// result and RESET0 afterwards.
fn act(path: &str, operation: Operation, reset0: u32) -> (Result<Report, NodeError<Infallible>>, u32) {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path(path).unwrap().id();
    let mut trace = Trace::new();
    trace.preset(PhysAddr::new(RESET0), reset0);
    let result = reset_node(&topology, node, &LineSelect::All, operation, 10, |_| Ok(&mut trace));
    assert!(trace.ops().is_empty(), "the report took every access");
    (result, trace.value(PhysAddr::new(RESET0)))
}

fn failure(result: Result<Report, NodeError<Infallible>>) -> Failure {
    match result {
        Err(NodeError::Failed(failure)) => failure,
        other => panic!("expected a failed operation, got {other:?}"),
    }
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

fn is_second_line_outside_window(error: &PerformError) -> bool {
    matches!(
        error,
        PerformError::Driver {
            index: 1,
            source: DriverError::OutsideWindow { id: 33, offset: 0x14, .. },
            ..
        }
    )
}

#[test]
fn a_failed_second_assert_deasserts_the_first_line_and_the_report_shows_all_three_steps() {
    // Bit 0 of RESET0 belongs to another device and is asserted: it must stay so.
    let (result, after) = act("/dma@90000", Operation::Assert, 0x1);
    let failure = failure(result);
    assert!(is_second_line_outside_window(&failure.error), "{}", failure.error);
    assert_eq!(after, 0x1, "line 0 is back as it was, its neighbour untouched");
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0x1),
            (0, false, "write32", RESET0, 0x9),
            (0, true, "read32", RESET0, 0x9),
            (0, true, "write32", RESET0, 0x1),
        ]
    );
    let steps: Vec<_> =
        failure.report.steps.iter().map(|s| (s.index, s.action, s.undo, s.error.is_some())).collect();
    assert_eq!(
        steps,
        [
            (0, Operation::Assert, false, false),
            (1, Operation::Assert, false, true),
            (0, Operation::Deassert, true, false),
        ],
        "the first line, the failed second, the undo of the first"
    );
    assert_eq!(failure.report.steps[1].name.as_deref(), Some("core"));
    assert_eq!(failure.report.steps[1].controller, "/rstmgr@ffd05000");
}

#[test]
fn a_failed_second_deassert_reasserts_the_first_line() {
    // Line 0 (bit 3) and its neighbour (bit 0) are asserted before.
    let (result, after) = act("/dma@90000", Operation::Deassert, 0x9);
    let failure = failure(result);
    assert!(is_second_line_outside_window(&failure.error), "{}", failure.error);
    assert_eq!(after, 0x9, "line 0 is asserted again, as it was");
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0x9),
            (0, false, "write32", RESET0, 0x1),
            (0, true, "read32", RESET0, 0x1),
            (0, true, "write32", RESET0, 0x9),
        ]
    );
    assert_eq!(failure.report.undone().map(|s| s.action).collect::<Vec<_>>(), [Operation::Assert]);
}

#[test]
fn a_failed_second_reset_leaves_the_first_lines_completed_pulse_and_undoes_nothing() {
    let (result, after) = act("/dma@90000", Operation::Reset, 0x1);
    let failure = failure(result);
    assert!(is_second_line_outside_window(&failure.error), "{}", failure.error);
    assert_eq!(after, 0x1, "the pulse ended deasserted: line 0 is as it was");
    assert_eq!(
        accesses(&failure.report),
        [
            (0, false, "read32", RESET0, 0x1),
            (0, false, "write32", RESET0, 0x9),
            (0, false, "delay_us", 0, 10),
            (0, false, "read32", RESET0, 0x9),
            (0, false, "write32", RESET0, 0x1),
        ]
    );
    assert_eq!(failure.report.lines().map(|s| s.mode).collect::<Vec<_>>(), [Some(Mode::Pulse { us: 10 }); 2]);
    assert_eq!(failure.report.undone().count(), 0);
}

#[test]
fn a_line_listed_twice_is_refused_before_any_access() {
    let (result, after) = act("/twice@91000", Operation::Assert, 0);
    let failure = failure(result);
    assert!(matches!(*failure.error, PerformError::SameLine { first: 0, index: 2, .. }), "{}", failure.error);
    assert!(failure.report.steps.is_empty());
    assert_eq!(after, 0);
}

#[test]
fn lines_that_cannot_be_bound_fail_before_the_backend_is_opened() {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path("/none@92000").unwrap().id();
    let mut opened = false;
    let result = reset_node(&topology, node, &LineSelect::All, Operation::Reset, 10, |_| {
        opened = true;
        Ok::<_, Infallible>(Trace::new())
    });
    assert!(matches!(result, Err(NodeError::Lines(PerformError::NoResets { .. }))), "{result:?}");
    assert!(!opened);
}

#[test]
fn the_backend_is_opened_for_each_controllers_window_once_and_may_refuse() {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path("/twice@91000").unwrap().id();
    let result = reset_node(&topology, node, &LineSelect::All, Operation::Reset, 10, |windows| {
        let seen: Vec<(String, u64, u64)> =
            windows.iter().map(|w| (w.controller.clone(), w.window.base.get(), w.window.size)).collect();
        assert_eq!(
            seen,
            [
                ("/reset-controller@80000".to_string(), 0x80000, 0x8),
                ("/rstmgr@ffd05000".to_string(), 0xffd0_5000, 0x14)
            ]
        );
        Err::<Trace, _>("refused")
    });
    assert!(matches!(result, Err(NodeError::Backend("refused"))), "{result:?}");
}

#[test]
fn a_single_line_selected_by_name_succeeds_with_its_report() {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path("/dma@90000").unwrap().id();
    let report = reset_node(&topology, node, &LineSelect::Name("bus".into()), Operation::Assert, 10, |_| {
        Ok::<_, Infallible>(Trace::new())
    })
    .unwrap();
    assert_eq!(accesses(&report), [(0, false, "read32", RESET0, 0), (0, false, "write32", RESET0, 0x8)]);
}
