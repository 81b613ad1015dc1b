//! `verify` on real boards from three vendors (RZ/G2M, RK3399, Allwinner H3): every enabled device
//! on a dedicated line that platreset can reset passes every check; every device on a shared line
//! fails only "no other device was disturbed", naming its modelled sharers; injected faults are
//! caught on each board.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::policy::{Evaluator, Method, Options, Policy, Reason};
use platreset_sim::verify::{verify, Performer, ResetBy};
use platreset_sim::{Fault, Soc};
use platreset_topology::Topology;

const BOARDS: [&str; 3] = [
    "arm64/renesas/r8a774a1-hihope-rzg2m.dtb",
    "arm64/rockchip/rk3399-rockpro64.dtb",
    "armhf/sun8i-h3-orangepi-pc.dtb",
];

#[test]
fn dedicated_lines_pass_shared_lines_name_their_sharers_and_faults_are_caught() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    // Pulses accepted: rule 2 is about Linux's reset_control_reset, verify about the line itself.
    let policy = Policy {
        options: Options { allow_pulse: true, ..Options::default() },
        allowlist: Allowlist::builtin().unwrap(),
    };
    for board in BOARDS {
        let blob = std::fs::read(corpus.join(board)).unwrap();
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(&policy, &topology, &[]);
        let soc = Soc::build(&topology, &[]).unwrap();
        let (mut dedicated, mut shared) = (Vec::new(), 0);
        for consumer in topology.consumers().iter().filter(|c| c.is_enabled()) {
            let id = consumer.node;
            let path = fdt.node(id).unwrap().path();
            if soc.regions(id).is_empty() {
                continue; // no reg: nothing to put on the bus (glue nodes, PHYs on MDIO)
            }
            let verdict = evaluator.verdict(id);
            let failed = verdict.reasons.iter().chain(&verdict.warnings);
            if failed.clone().any(|r| matches!(r, Reason::Unresolvable | Reason::Unsupported { .. })) {
                continue;
            }
            assert_eq!(verdict.method, Method::Generic, "{board} {path}");
            let report =
                verify(&topology, id, &reset_by(&verdict.method), &[], 10, Performer::Resolved).unwrap();
            let sharers: Vec<&String> = failed
                .filter_map(|r| match r {
                    Reason::SharedLine { others, .. } => Some(others),
                    _ => None,
                })
                .flatten()
                .collect();
            if sharers.is_empty() {
                assert!(report.pass(), "{board} {path}: {:#?}", report.checks);
                dedicated.push(id);
            } else {
                let failed: Vec<_> = report.checks.iter().filter(|c| !c.pass).map(|c| c.name).collect();
                assert_eq!(failed, ["no other device was disturbed"], "{board} {path}");
                for sharer in sharers {
                    let sharer_id = fdt.find_path(sharer).unwrap().id();
                    if !soc.regions(sharer_id).is_empty() {
                        assert!(report.collateral.contains(sharer), "{board} {path}: {sharer} not named");
                    }
                }
                shared += 1;
            }
        }
        eprintln!(
            "{board}: {} dedicated devices pass, {shared} shared-line devices name their sharers",
            dedicated.len()
        );
        assert!(dedicated.len() >= 10, "{board}: {}", dedicated.len());
        let first = dedicated[0];
        for (fault, check) in [
            (Fault::StuckReset, "the reset reached the device"),
            (Fault::ShortDelay, "no DMA write by the device after the reset"),
            (Fault::DmaSurvivesReset, "no DMA write by the device after the reset"),
        ] {
            let report =
                verify(&topology, first, &ResetBy::Lines, &[fault], 10, Performer::Resolved).unwrap();
            assert!(
                report.checks.iter().any(|c| c.name == check && !c.pass),
                "{board} {fault:?}: {:#?}",
                report.checks
            );
        }
    }
}

#[test]
fn the_stm32mp15_m4_reset_is_generated_by_mcurst_not_a_set_clear_pair() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let blob = std::fs::read(corpus.join("armhf/stm32mp157c-dk2.dtb")).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let m4 = fdt.find_path("/ahb/m4@10000000").unwrap().id();
    let report = verify(&topology, m4, &ResetBy::Lines, &[], 10, Performer::Resolved).unwrap();
    // MCU_R (8225) is bit 1 of RCC_MP_GRSTCSETR: the write to 0x404 generates the M4's reset.
    assert!(report.pass(), "{:#?}", report.checks);
    let stuck =
        verify(&topology, m4, &ResetBy::Lines, &[Fault::StuckReset], 10, Performer::Resolved).unwrap();
    assert!(!stuck.pass());
}

/// The simulator's name for the reset the policy resolved (what the CLI's verify does).
fn reset_by(method: &Method) -> ResetBy {
    match method {
        Method::DeviceSpecific(compatible) => ResetBy::Handler((*compatible).to_string()),
        _ => ResetBy::Lines,
    }
}
