//! The simulator on crafted trees (issue 16, point 6): one device on 20,000 lines of one
//! controller, and 3,000 controllers each with one device. The work is bounded by counting the
//! simulator's steps ([`Soc::work`], [`Report::work`]) against the size of the tree, never by
//! time: a write re-checks only the wires of its register's signals, and every lookup is indexed.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use platreset_fdt::Fdt;
use platreset_sim::verify::{verify, Performer, Report, ResetBy};
use platreset_sim::Soc;
use platreset_topology::Topology;

/// Compiles `dts` with dtc.
fn compile(tag: &str, dts: &str) -> Vec<u8> {
    let source = std::env::temp_dir().join(format!("platreset-sim-crafted-{tag}-{}.dts", std::process::id()));
    std::fs::write(&source, dts).unwrap();
    let blob = platreset_testkit::compile_dts(&source);
    let _ = std::fs::remove_file(&source);
    blob
}

/// One active-low reset-simple block of 0x1000 bytes (32,768 lines) and one device on its
/// first `lines` lines.
fn one_device_on_many_lines(lines: u32) -> String {
    let resets: Vec<String> = (0..lines).map(|id| format!("1 {id}")).collect();
    format!(
        "/dts-v1/;\n/ {{\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \treset-controller@1000 {{ compatible = \"snps,dw-low-reset\"; reg = <0x1000 0x1000>; phandle = <1>; #reset-cells = <1>; }};\n\
         \tdevice@100000 {{ compatible = \"acme,dev\"; reg = <0x100000 0x100>; resets = <{}>; }};\n}};\n",
        resets.join(" ")
    )
}

/// `controllers` active-low reset-simple blocks (32 lines each) under /resets, and device `n`
/// on line 1 of controller `n`, 100 devices to a bus (dtc's parser runs out of stack on
/// thousands of siblings). Phandles are numbers: dtc is quadratic in `&label` references.
fn one_device_per_controller(controllers: usize) -> String {
    let mut dts = String::from(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \tresets {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tranges;\n",
    );
    for c in 0..controllers {
        let base = 0x1000 + c * 0x100;
        writeln!(
            dts,
            "\t\treset-controller@{base:x} {{ compatible = \"snps,dw-low-reset\"; reg = <{base:#x} 0x4>; phandle = <{}>; #reset-cells = <1>; }};",
            c + 1
        )
        .unwrap();
    }
    dts.push_str("\t};\n");
    for bus in 0..controllers.div_ceil(100) {
        writeln!(dts, "\tbus@{bus:x} {{\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tranges;")
            .unwrap();
        for n in bus * 100..controllers.min(bus * 100 + 100) {
            writeln!(
                dts,
                "\t\tdevice@{n:x} {{ compatible = \"acme,dev\"; reg = <{:#x} 0x100>; resets = <{} 1>; }};",
                0x100_0000 + n * 0x100,
                n + 1
            )
            .unwrap();
        }
        dts.push_str("\t};\n");
    }
    dts.push_str("};\n");
    dts
}

fn verify_lines(blob: &[u8], path: &str) -> Report {
    let fdt = Fdt::parse(blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path(path).unwrap();
    verify(&topology, node.id(), &ResetBy::Lines, &[], 10, Performer::Resolved).unwrap()
}

#[test]
fn verify_of_a_node_on_20000_lines_of_one_controller_works_in_proportion_to_them() {
    let lines = 20_000;
    let blob = compile("lines", &one_device_on_many_lines(lines));
    let report = verify_lines(&blob, "/device@100000");
    assert!(report.pass(), "{:#?}", report.checks);
    // Per line: its wire indexed; the assert and deassert writes each re-checking the 32
    // signals of the line's register; the read-modify-write lookups; the wait's time steps.
    // Before, each write re-checked all 20,000 wires: 800 million checks.
    // A register holds 32 lines, so 2 × 32 checks per line at most (74 steps per line in all
    // when this was written).
    let per_line = report.work / u64::from(lines);
    assert!(per_line <= 100, "{} steps, {per_line} per line", report.work);
}

#[test]
fn a_soc_of_3000_controllers_is_built_and_each_device_reset_in_work_linear_in_them() {
    let n = 3_000;
    let blob = compile("controllers", &one_device_per_controller(n));
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let mut soc = Soc::build(&topology, &[]).unwrap();
    let built = soc.work();
    // Building includes the first check of every wire (10 steps per controller and device
    // when this was written).
    assert!(built <= 12 * n as u64, "{built} steps to build {n} controllers and devices");
    let devices: Vec<_> = soc.devices().map(|(id, _)| id).collect();
    assert_eq!(devices.len(), n);
    // Each device's line through its controller's register (active low: clearing bit 1
    // asserts it), looked up by address; each device looked up by node.
    for (c, &device) in devices.iter().enumerate() {
        let register = 0x1000 + c as u64 * 0x100;
        soc.write32(register, !0b10, "rst").unwrap();
        assert!(soc.in_reset(device));
        soc.advance(10);
        soc.write32(register, !0, "rst").unwrap();
        assert!(!soc.in_reset(device));
        assert_eq!(soc.resets_of(device).len(), 1);
    }
    let per_device = (soc.work() - built) / n as u64;
    assert!(per_device <= 16, "{} steps after the build, {per_device} per device", soc.work() - built);
    // No other device moved.
    assert!(devices.iter().all(|&d| soc.resets_of(d).len() == 1));
}

#[test]
fn verify_of_a_device_among_3000_controllers_works_in_proportion_to_the_tree() {
    let n = 3_000;
    let blob = compile("verify-one", &one_device_per_controller(n));
    for target in ["/bus@0/device@0", "/bus@1d/device@b8b"] {
        let report = verify_lines(&blob, target);
        assert!(report.pass(), "{target}: {:#?}", report.checks);
        assert!(report.work <= 16 * n as u64, "{target}: {} steps", report.work);
    }
}

#[test]
fn verifying_every_device_among_3000_controllers_costs_one_build_and_each_device_its_own_run() {
    let n = 3_000;
    let blob = compile("verify-all", &one_device_per_controller(n));
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let targets: Vec<_> = topology.consumers().iter().map(|c| c.node).collect();
    assert_eq!(targets.len(), n);
    let mut verifier = platreset_sim::Verifier::new(&topology, &targets).unwrap();
    let mut work = 0;
    for &target in &targets {
        let report = verifier.verify(target, &ResetBy::Lines, &[], 10, Performer::Resolved).unwrap();
        assert!(report.pass(), "{:?}: {:#?}", fdt.node(target).map(|n| n.path()), report.checks);
        work += report.work;
    }
    // The first report counts the build (about 10 steps per controller and device); each later
    // run counts its restore and its own steps, most of them the 100 ticks of DMA before the
    // reset (360 per device when this was written). A build per device would add 10 steps per
    // controller to every run: 30,000 per device.
    let per_device = work / n as u64;
    assert!(per_device <= 500, "{work} steps in all, {per_device} per device");
}
