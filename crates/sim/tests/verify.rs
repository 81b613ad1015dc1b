//! `verify` on the built-in SoC: a dedicated line quiesces the device, a shared line resets its
//! siblings too, and each injected fault is caught with its own evidence.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{failed, verify_generic};
use platreset_fdt::Fdt;
use platreset_sim::verify::{verify, Performer, Report, ResetBy};
use platreset_sim::Fault;
use platreset_topology::Topology;

fn run(blob: &[u8], path: &str, faults: &[Fault]) -> Report {
    verify_generic(blob, path, faults, Performer::Resolved)
}

fn demo() -> Vec<u8> {
    platreset_testkit::compile_dts(&platreset_testkit::repo_root().join("data/demo-soc.dts"))
}

#[test]
fn a_dedicated_line_stops_the_dma_and_the_interrupt() {
    let report = run(&demo(), "/soc/mmc@ee100000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert!(report.reset_done - report.reset_start >= 35, "the CPG's 35 us between SRCR and SRSTCLR");
    let dma = report.checks.iter().find(|c| c.name.starts_with("no DMA write")).unwrap();
    assert!(dma.evidence.starts_with("last write at "), "{}", dma.evidence);
}

#[test]
fn a_shared_line_resets_its_siblings_and_names_them() {
    let report = run(&demo(), "/soc/pwm@e6e30000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/pwm@e6e31000", "/soc/pwm@e6e32000"]);
}

#[test]
fn each_fault_is_caught_by_its_own_check() {
    let blob = demo();
    let stuck = run(&blob, "/soc/mmc@ee100000", &[Fault::StuckReset]);
    assert_eq!(
        failed(&stuck),
        [
            "the reset reached the device",
            "no DMA write by the device after the reset",
            "its registers are at their reset values"
        ]
    );
    let short = run(&blob, "/soc/mmc@ee100000", &[Fault::ShortDelay]);
    assert!(failed(&short).contains(&"no DMA write by the device after the reset"), "{:#?}", short.checks);
    assert!(!failed(&short).contains(&"the reset reached the device"));
    let broken = run(&blob, "/soc/mmc@ee100000", &[Fault::DmaSurvivesReset]);
    assert!(failed(&broken).contains(&"no DMA write by the device after the reset"), "{:#?}", broken.checks);
    let srcr3 = 0xe615_00b8;
    let bus = run(&blob, "/soc/mmc@ee100000", &[Fault::BusError(srcr3)]);
    assert!(failed(&bus).contains(&"the reset method completed"));
    assert!(bus.checks[0].evidence.contains("bus error"), "{}", bus.checks[0].evidence);
}

#[test]
fn a_swapped_srcr_and_srstclr_is_caught() {
    let blob = demo();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path("/soc/mmc@ee100000").unwrap();
    // The CPG driver's sequence with the two offsets swapped.
    let wrong = |mmio: &mut platreset_sim::SimMmio<'_>| -> Result<(), String> {
        use platreset_reset::{Mmio, PhysAddr, Reg};
        let reg = |addr: u64, name: &'static str| Reg { addr: PhysAddr::new(addr), name: name.into() };
        mmio.write32(&reg(0xe615_094c, "SRSTCLR3"), 1 << 14).map_err(|e| e.to_string())?;
        mmio.delay_us(35).map_err(|e| e.to_string())?;
        mmio.write32(&reg(0xe615_00b8, "SRCR3"), 1 << 14).map_err(|e| e.to_string())
    };
    let report = verify(&topology, node.id(), &ResetBy::Lines, &[], 10, Performer::Custom(&wrong)).unwrap();
    assert!(failed(&report).contains(&"the device is out of reset again"), "{:#?}", report.checks);
}

#[test]
fn a_write_to_another_nodes_registers_is_named() {
    let blob = demo();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let node = fdt.find_path("/soc/mmc@ee100000").unwrap();
    // A driver with a wrong base: its "SRCR3" write lands in the GPIO block (no model, no resets).
    let wrong = |mmio: &mut platreset_sim::SimMmio<'_>| -> Result<(), String> {
        use platreset_reset::{Mmio, PhysAddr, Reg};
        let reg = Reg { addr: PhysAddr::new(0xe605_0010), name: "SRCR3?".into() };
        mmio.write32(&reg, 1 << 14).map_err(|e| e.to_string())
    };
    let report = verify(&topology, node.id(), &ResetBy::Lines, &[], 10, Performer::Custom(&wrong)).unwrap();
    let disturbed = report.checks.iter().find(|c| c.name == "no other device was disturbed").unwrap();
    assert!(!disturbed.pass);
    assert!(
        disturbed.evidence.contains("0xe6050010 <- 0x4000 at 100 us (/soc/gpio@e6050000)"),
        "{}",
        disturbed.evidence
    );
}

/// Everything a report says, for comparing two runs.
fn story(r: &Report) -> String {
    format!(
        "{:?} {:?} {} {} {} {:?} {:?}",
        r.reset_by, r.checks, r.reset_start, r.reset_done, r.end, r.ops, r.collateral
    )
}

#[test]
fn one_verifier_reused_for_every_device_reports_what_a_fresh_soc_reports() {
    let blob = demo();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let targets: Vec<_> = topology.consumers().iter().map(|c| c.node).collect();
    assert!(targets.len() >= 5, "{}", targets.len());
    let mut verifier = platreset_sim::Verifier::new(&topology, &targets).unwrap();
    // Every fault in turn, so each run leaves something different behind for the next to undo:
    // stuck signals, broken models, bus errors, devices held in reset, DMA in RAM.
    let faults: [&[Fault]; 4] = [&[Fault::StuckReset], &[], &[Fault::DmaSurvivesReset], &[Fault::ShortDelay]];
    let mut compared = 0;
    for round in faults {
        for &target in &targets {
            let fresh = verify(&topology, target, &ResetBy::Lines, round, 10, Performer::Resolved);
            let reused = verifier.verify(target, &ResetBy::Lines, round, 10, Performer::Resolved);
            match (fresh, reused) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(story(&a), story(&b), "{round:?} {:?}", fdt.node(target).map(|n| n.path()))
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => {
                    panic!("{round:?}: fresh {:?}, reused {:?}", a.map(|r| story(&r)), b.map(|r| story(&r)))
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * targets.len());
}
