//! The policy on the Debian corpus (issue "vfio-platform decision", what it must reach):
//! R-Car/RZ PWMs refused for their shared line naming their six siblings, Calxeda XGMACs reset by
//! their device-specific handler, and nodes without resets resolving to "none", refused while
//! `reset_required` holds and accepted with a warning when it does not.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::policy::{Evaluator, Method, Options, Policy, Reason};
use platreset_reset::handlers::COMPATIBLES;
use platreset_topology::Topology;

#[derive(Default, Debug)]
struct Counts {
    pwm: usize,
    pwm_siblings_disabled: usize,
    xgmac: usize,
    other_handlers: usize,
    without_resets: usize,
}

#[test]
fn the_corpus_gets_the_verdicts_the_kernel_and_the_2018_thread_imply() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let strict = Policy { options: Options::default(), allowlist: Allowlist::builtin().unwrap() };
    let relaxed =
        Policy { options: Options { reset_required: false, ..Options::default() }, ..strict.clone() };
    let mut counts = Counts::default();
    for file in platreset_testkit::dtbs_below(&corpus) {
        let blob = std::fs::read(&file).unwrap();
        let Ok(fdt) = Fdt::parse(&blob) else { continue };
        let topology = Topology::build(&fdt);
        let e = Evaluator::new(&strict, &topology, &[]);
        let relaxed = Evaluator::new(&relaxed, &topology, &[]);
        for node in fdt.nodes() {
            let mut compatible = node.compatible();
            let Some(first) = compatible.next() else { continue };
            let is_pwm =
                first.starts_with(b"renesas,pwm-") && node.compatible().any(|c| c == b"renesas,pwm-rcar");
            let v = e.verdict(node.id());
            let at = || format!("{} {}", file.display(), node.path());
            if let Some(handler) = COMPATIBLES.iter().find(|c| c.as_bytes() == first) {
                assert_eq!(v.method, Method::DeviceSpecific(handler), "{}", at());
                assert!(
                    !v.reasons.iter().any(|r| matches!(r, Reason::QuiescenceUnproven { .. })),
                    "the allowlist records the upstream handler: {}",
                    at()
                );
                counts.xgmac += usize::from(first == b"calxeda,hb-xgmac");
                counts.other_handlers += usize::from(first != b"calxeda,hb-xgmac");
            } else if node.property("resets").is_none() {
                assert_eq!(v.method, Method::None, "{}", at());
                assert_eq!(v.reasons.first(), Some(&Reason::NoReset), "{}", at());
                let r = relaxed.verdict(node.id());
                assert_eq!(r.warnings, [Reason::NoReset], "reset_required=0 accepts it: {}", at());
                assert!(!r.reasons.contains(&Reason::NoReset), "{}", at());
                counts.without_resets += 1;
            } else if is_pwm {
                let shared: Vec<&Reason> =
                    v.reasons.iter().filter(|r| matches!(r, Reason::SharedLine { .. })).collect();
                // Refused either way; where the siblings are all disabled the user may accept it.
                let [Reason::SharedLine { others, only_disabled, .. }] = shared.as_slice() else {
                    panic!("{}: {:?}", at(), v.reasons)
                };
                let mut siblings: Vec<String> = fdt
                    .nodes()
                    .filter(|n| n.id() != node.id() && n.compatible().any(|c| c == b"renesas,pwm-rcar"))
                    .map(|n| n.path())
                    .collect();
                siblings.sort();
                assert_eq!(others, &siblings, "{}", at());
                assert_eq!(others.len(), 6, "{}", at());
                let text = shared[0].to_string();
                let how = if *only_disabled {
                    "is shared only with 6 disabled nodes: "
                } else {
                    "is shared with 6 other nodes: "
                };
                assert!(text.contains(&format!("{how}{}", siblings.join(", "))), "{}: {text}", at());
                counts.pwm += 1;
                counts.pwm_siblings_disabled += usize::from(*only_disabled);
            }
        }
    }
    eprintln!("corpus policy: {counts:?}");
    assert!(counts.pwm >= 56 && counts.xgmac >= 2 && counts.without_resets > 100_000, "{counts:?}");
}
