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
    for dtb in files.iter().step_by(10) {
        checked += agree(dtb, 5);
    }
    eprintln!("explain = audit on {checked} corpus nodes");
    assert!(checked > 300, "{checked}");
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
    assert!(text.contains("[FAIL] 4. the reset is known to stop"), "{text}");
    assert!(text.contains("Verdict: refused"), "{text}");
    let trusted = run(&["explain", demo.to_str().unwrap(), "sdhi0", "--trust-reset"]);
    let text = String::from_utf8_lossy(&trusted.stdout).into_owned();
    assert!(text.contains("[warn] 4.") && text.contains("Verdict: eligible"), "{text}");
    assert!(
        text.contains("echo vfio-platform > /sys/bus/platform/devices/ee100000.mmc/driver_override"),
        "the next steps name the kernel's device: {text}"
    );
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
