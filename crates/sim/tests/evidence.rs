//! Allowlist evidence that names a `verify` run is checked by running it: same model version,
//! same model kind, every check passing. Evidence cannot outlive the model it was shown on.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_policy::allowlist::{Allowlist, Evidence};
use platreset_policy::policy::{Evaluator, Method, Options, Policy};
use platreset_sim::verify::{verify, Performer, ResetBy, MODEL_VERSION};
use platreset_sim::Soc;
use platreset_topology::Topology;

#[test]
fn every_simulator_evidence_is_a_passing_verify_run_of_this_model_version() {
    let allowlist = Allowlist::builtin().unwrap();
    let policy = Policy { options: Options::default(), allowlist: allowlist.clone() };
    let mut checked = 0;
    for entry in allowlist.entries() {
        let Some(Evidence::Simulator { model, version, source }) = &entry.quiescence else { continue };
        assert_eq!(version, MODEL_VERSION, "{}: re-run the verify and update the version", entry.key());
        let words: Vec<&str> = source.split_whitespace().collect();
        let ["platreset", "verify", dtb, node] = words.as_slice() else {
            panic!("{}: source must be `platreset verify DTB NODE`, not {source:?}", entry.key())
        };
        let blob = std::fs::read(platreset_testkit::repo_root().join(dtb)).unwrap();
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let id = fdt.resolve(node).unwrap().id();
        let method = Evaluator::new(&policy, &topology, &[]).verdict(id).method;
        let report = verify(&topology, id, &reset_by(&method), &[], 10, Performer::Resolved).unwrap();
        assert!(report.pass(), "{}: {:#?}", entry.key(), report.checks);
        let soc = Soc::build(&topology, &[id]).unwrap();
        assert_eq!(soc.model(id).unwrap().kind(), model, "{}", entry.key());
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

/// The simulator's name for the reset the policy resolved (what the CLI's verify does).
fn reset_by(method: &Method) -> ResetBy {
    match method {
        Method::DeviceSpecific(compatible) => ResetBy::Handler((*compatible).to_string()),
        _ => ResetBy::Lines,
    }
}
