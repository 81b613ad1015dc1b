//! `platreset explain`: rule by rule, with the same verdict `audit` prints.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn explain(dtb: &Path, node: &str) -> Value {
    let out = run(&["explain", dtb.to_str().unwrap(), node, "--format", "json"]);
    assert!(out.status.success(), "{node}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every `step`-th node of `dtb`'s audit: explain's verdict must equal audit's.
fn agree(dtb: &Path, step: usize) -> usize {
    let out = run(&["audit", "--format", "jsonl", dtb.to_str().unwrap()]);
    let mut checked = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines().step_by(step) {
        let record: Value = serde_json::from_str(line).unwrap();
        let doc = explain(dtb, record["node"].as_str().unwrap());
        assert_eq!(doc["verdict"], record["verdict"], "{} {}", dtb.display(), record["node"]);
        checked += 1;
    }
    checked
}

#[test]
fn explain_and_audit_give_the_same_verdict_on_every_fixture_node() {
    let dir = std::env::temp_dir().join(format!("platreset-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["topology-sharing", "device-specific"] {
        let dtb = dir.join(format!("{name}.dtb"));
        std::fs::write(&dtb, platreset_testkit::fixture(name)).unwrap();
        assert!(agree(&dtb, 1) > 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_and_audit_agree_on_a_corpus_sample() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let files = platreset_testkit::dtbs_below(&corpus);
    let mut checked = 0;
    // Every 4th file, every 3rd node of it: about 1,300 nodes across every vendor directory.
    for dtb in files.iter().step_by(4) {
        checked += agree(dtb, 3);
    }
    eprintln!("explain = audit on {checked} corpus nodes");
    assert!(checked > 1_000, "{checked}");
}

#[test]
fn a_shared_line_fails_its_rule_naming_the_siblings_and_a_fix() {
    let demo = platreset_testkit::repo_root().join("data/demo-soc.dtb");
    let doc = explain(&demo, "/soc/pwm@e6e30000");
    assert_eq!(doc["method"]["chosen"], "generic");
    assert_eq!(doc["lines"][0]["shared_with"], serde_json::json!(["/soc/pwm@e6e31000", "/soc/pwm@e6e32000"]));
    let shared = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"].as_str().unwrap().contains("shared"))
        .unwrap();
    assert_eq!(shared["pass"], false);
    assert!(shared["fix"].as_str().unwrap().contains("assign them together"));
    let text =
        String::from_utf8_lossy(&run(&["explain", demo.to_str().unwrap(), "sdhi0"]).stdout).into_owned();
    assert!(
        text.contains("[pass] 4. the reset is known to stop the device's DMA and interrupts: simulator model bus-master platreset-sim"),
        "the demo SoC's allowlist entry names a verify run: {text}"
    );
    assert!(text.contains("Verdict: eligible"), "{text}");
    assert!(
        text.contains("echo vfio-platform > /sys/bus/platform/devices/ee100000.mmc/driver_override"),
        "the next steps name the kernel's device: {text}"
    );
}

#[test]
fn trust_reset_turns_unproven_quiescence_into_a_warning() {
    let files = PolicyFiles::new("trust");
    let dtb = files.dir.join("policy.dtb");
    let text =
        String::from_utf8_lossy(&run(&["explain", dtb.to_str().unwrap(), "/ethernet@e6800000"]).stdout)
            .into_owned();
    assert!(text.contains("[FAIL] 4.") && text.contains("Verdict: refused"), "{text}");
    let trusted = run(&["explain", dtb.to_str().unwrap(), "/ethernet@e6800000", "--trust-reset"]);
    let text = String::from_utf8_lossy(&trusted.stdout).into_owned();
    assert!(text.contains("[warn] 4.") && text.contains("Verdict: eligible"), "{text}");
    assert!(text.contains("warning (accepted): resettable, quiescence unproven"), "{text}");
}

#[test]
fn a_node_without_resets_has_no_method_and_says_why() {
    let demo = platreset_testkit::repo_root().join("data/demo-soc.dtb");
    let doc = explain(&demo, "/soc/gpio@e6050000");
    assert_eq!(doc["verdict"]["method"], "none");
    assert_eq!(doc["verdict"]["eligible"], false);
    let generic =
        doc["method"]["considered"].as_array().unwrap().iter().find(|m| m["method"] == "generic").unwrap();
    assert_eq!(generic["why"], "the node has no resets property");
}

/// tests/dts/policy.dts compiled into a scratch directory, with the ACPI fixture's DSDT beside it.
struct PolicyFiles {
    dir: std::path::PathBuf,
}

impl PolicyFiles {
    fn new(tag: &str) -> PolicyFiles {
        let dir = std::env::temp_dir().join(format!("platreset-explain-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("acpi")).unwrap();
        std::fs::write(dir.join("policy.dtb"), platreset_testkit::fixture("policy")).unwrap();
        std::fs::write(dir.join("acpi/DSDT"), platreset_testkit::asl_fixture("devices")).unwrap();
        PolicyFiles { dir }
    }

    fn explain(&self, node: &str, extra: &[&str]) -> Value {
        let dtb = self.dir.join("policy.dtb");
        let mut args = vec!["explain", dtb.to_str().unwrap(), node, "--format", "json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{node}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn acpi(&self) -> String {
        self.dir.join("acpi").to_str().unwrap().to_string()
    }
}

impl Drop for PolicyFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn with_acpi_tables_a_companion_found_by_address_decides_the_method() {
    let files = PolicyFiles::new("acpi");
    let acpi = files.acpi();
    let eth = files.explain("/ethernet@e0700000", &["--acpi", &acpi]);
    assert_eq!(eth["verdict"]["method"], "acpi");
    assert_eq!(eth["method"]["considered"][0]["found"], true);
    assert!(eth["method"]["considered"][0]["why"].as_str().unwrap().contains("\\_SB.ETH0"));
    let uart = files.explain("/serial@e1010000", &["--acpi", &acpi]);
    assert_eq!(uart["verdict"]["method"], "none", "no fallback to DT resets for an ACPI device");
    assert!(uart["verdict"]["reasons"][0].as_str().unwrap().contains("\\_SB.UAR0 has no _RST"));
    let without = files.explain("/serial@e1010000", &[]);
    assert_eq!(without["verdict"]["method"], "generic", "a device-tree host has no companion");

    // An ACPI device by namespace path, including one whose _RST comes from a later Scope.
    let sata = files.explain("\\_SB.PCI0.SATA", &["--acpi", &acpi]);
    assert_eq!(sata["verdict"]["method"], "acpi");
    assert_eq!(sata["compatible"], serde_json::json!(["AMDI0600"]));
    let dma = files.explain("\\_SB.DMA0", &["--acpi", &acpi]);
    assert_eq!(dma["verdict"]["method"], "acpi", "its _RST is added from a nested Scope (^^DMA0)");
    let gpu = files.explain("\\_SB.PCI0.GPU0", &["--acpi", &acpi]);
    assert_eq!(gpu["verdict"]["method"], "none");
    assert!(gpu["verdict"]["reasons"][0].as_str().unwrap().contains("\\_SB.PCI0.GPU0 has no _RST"));
    assert!(gpu["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("IORT")));
    let missing =
        run(&["explain", files.dir.join("policy.dtb").to_str().unwrap(), "\\_SB.NOPE", "--acpi", &acpi]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no device \\_SB.NOPE"));
}

#[test]
fn explain_and_audit_agree_with_acpi_tables_and_every_option() {
    let files = PolicyFiles::new("agree");
    let acpi = files.acpi();
    let dtb = files.dir.join("policy.dtb");
    let option_sets: [&[&str]; 4] = [
        &["--acpi", &acpi],
        &["--trust-reset", "--allow-pulse", "--allow-shared-with-disabled"],
        &["--reset-required", "false", "--trust-reset"],
        &["--accept-evidence", "kernel-driver-probe", "--allow-pulse"],
    ];
    for options in option_sets {
        let mut args = vec!["audit", "--format", "jsonl", dtb.to_str().unwrap()];
        args.extend_from_slice(options);
        let out = run(&args);
        assert!(out.status.success());
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            let doc = files.explain(record["node"].as_str().unwrap(), options);
            assert_eq!(doc["verdict"], record["verdict"], "{options:?} {}", record["node"]);
        }
    }
}

#[test]
fn group_proposes_the_devices_sharing_lines_as_one_unit() {
    let files = PolicyFiles::new("group");
    let doc = files.explain("/dma-controller@e7320000", &["--group", "--trust-reset"]);
    assert_eq!(doc["verdict"]["eligible"], false, "alone, its line is shared");
    let members: Vec<&str> =
        doc["group"]["members"].as_array().unwrap().iter().map(|m| m["node"].as_str().unwrap()).collect();
    assert_eq!(members, ["/dma-controller@e7300000", "/dma-controller@e7310000", "/dma-controller@e7320000"]);
    assert_eq!(doc["group"]["eligible"], true, "together they reset only each other");

    let pwm = files.explain("/pwm@e6e30000", &["--group", "--trust-reset"]);
    assert_eq!(pwm["group"]["also_reset"], serde_json::json!(["/pwm@e6e32000"]));
    assert_eq!(pwm["group"]["eligible"], false, "the PWMs have no IOMMU");
    let text = String::from_utf8_lossy(
        &run(&["explain", files.dir.join("policy.dtb").to_str().unwrap(), "/pwm@e6e30000", "--group"]).stdout,
    )
    .into_owned();
    assert!(text.contains("also reset (disabled, not assigned): /pwm@e6e32000"), "{text}");
}
