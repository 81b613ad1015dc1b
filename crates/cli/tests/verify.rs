//! `platreset verify` on the built-in SoC: pass for a dedicated line, fail naming the collateral
//! for a shared one, each fault caught, exit codes that scripts can rely on.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use serde_json::Value;

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = run(&all);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), doc)
}

fn failed_checks(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["pass"] != true)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_dedicated_line_passes_with_the_drivers_accesses_and_the_policy_verdict_beside() {
    let dtb = demo();
    let (code, doc) = json(&["verify", &dtb, "sdhi0"]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["pass"], true);
    assert_eq!(doc["method"], "generic");
    assert_eq!(doc["ops"][0]["reg"], "SRCR3");
    assert_eq!(doc["ops"][1]["op"], "delay_us");
    assert_eq!(doc["ops"][2]["reg"], "SRSTCLR3");
    assert_eq!(doc["verdict"]["eligible"], true, "the allowlist records this very run: {}", doc["verdict"]);
    assert!(doc["model"].as_str().unwrap().starts_with("platreset-sim "));
}

#[test]
fn a_shared_line_fails_naming_the_devices_reset_with_it() {
    let dtb = demo();
    let (code, doc) = json(&["verify", &dtb, "/soc/pwm@e6e30000"]);
    assert_eq!(code, Some(3));
    assert_eq!(failed_checks(&doc), ["no other device was disturbed"]);
    assert_eq!(doc["collateral"], serde_json::json!(["/soc/pwm@e6e31000", "/soc/pwm@e6e32000"]));
}

#[test]
fn every_fault_is_caught_and_a_fault_that_does_not_apply_is_an_error() {
    let dtb = demo();
    for (fault, check) in [
        ("stuck-reset", "the reset reached the device"),
        ("short-delay", "no DMA write by the device after the reset"),
        ("dma-survives-reset", "no DMA write by the device after the reset"),
        ("bus-error=0xe61500b8", "the reset method completed"),
    ] {
        let (code, doc) = json(&["verify", &dtb, "sdhi0", "--fault", fault]);
        assert_eq!(code, Some(3), "{fault}: {doc}");
        assert!(failed_checks(&doc).iter().any(|c| c == check), "{fault}: {:?}", failed_checks(&doc));
        assert_eq!(doc["faults"], serde_json::json!([fault]));
    }
    let out = run(&["verify", &dtb, "sdhi0", "--fault", "no-flush"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fault no-flush does not apply to /soc/mmc@ee100000")
    );
    let out = run(&["verify", &dtb, "sdhi0", "--fault", "melt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault 'melt'"));
}

#[test]
fn all_verifies_every_resolvable_device_and_says_which_cannot_be_simulated() {
    let dtb = demo();
    let (code, doc) = json(&["verify", "--all", &dtb]);
    assert_eq!(code, Some(3), "the shared lines fail");
    let s = &doc["summary"];
    assert_eq!((s["passed"].as_u64(), s["failed"].as_u64()), (Some(4), Some(5)), "{s}");
    // A firmware reset and an unknown controller cannot be simulated: said, not guessed.
    let dir = std::env::temp_dir().join(format!("platreset-verify-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.dtb");
    std::fs::write(&policy, platreset_testkit::fixture("policy")).unwrap();
    let (_, fixture) = json(&["verify", "--all", policy.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let why = |node: &str| {
        let r = fixture["results"].as_array().unwrap().iter().find(|r| r["node"] == node).unwrap();
        r["not_verified"].as_str().unwrap_or_default().to_string()
    };
    assert!(why("/ethernet@ff0b0000").contains("firmware"), "{}", why("/ethernet@ff0b0000"));
    assert!(why("/spi@10001000").contains("acme,mystery-reset"), "{}", why("/spi@10001000"));
    let (_, okay) = json(&["verify", "--all", "--okay", &dtb]);
    let nodes: Vec<&str> =
        okay["results"].as_array().unwrap().iter().map(|r| r["node"].as_str().unwrap()).collect();
    assert!(!nodes.contains(&"/soc/pwm@e6e32000"), "disabled devices are left out with --okay: {nodes:?}");
    assert!(nodes.contains(&"/soc/pwm@e6e31000"));
}

#[test]
fn verify_all_sums_up_failures_by_check_and_reasons_without_their_nodes() {
    let out = run(&["verify", "--all", &demo()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let section =
        text.split("Failed checks, by the number of devices failing them:\n").nth(1).unwrap_or_default();
    assert!(section.starts_with("       5  no other device was disturbed\n"), "{text}");
    let (_, doc) = json(&["verify", "--all", &demo()]);
    let checks = doc["summary"]["failed_checks"].as_array().unwrap();
    assert_eq!(checks[0]["reason"], "no other device was disturbed");
    assert_eq!(checks[0]["devices"], doc["summary"]["failed"]);
    for reason in doc["summary"]["not_verified_reasons"].as_array().unwrap() {
        assert!(!reason["reason"].as_str().unwrap().contains("/soc/"), "{reason}");
    }
}

#[test]
fn a_pass_recorded_as_evidence_is_what_the_policy_then_reads() {
    let dir = std::env::temp_dir().join(format!("platreset-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("evidence.toml");
    let list_arg = list.to_str().unwrap();
    // Without the built-in list, the demo's SD host is unproven.
    let dtb = demo();
    let bare =
        ["explain", dtb.as_str(), "sdhi0", "--format", "json", "--no-builtin-allowlist", "--allowlist"];
    let out = run(&["verify", &demo(), "sdhi0", "--record-evidence", list_arg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("recorded in"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&list).unwrap();
    assert!(
        text.contains("device = \"renesas,sdhi-r8a774a1\"") && text.contains("kind = \"simulator\""),
        "{text}"
    );
    let mut args = bare.to_vec();
    args.push(list_arg);
    let doc: Value = serde_json::from_slice(&run(&args).stdout).unwrap();
    assert_eq!(doc["verdict"]["eligible"], true, "{doc}");
    // Once only, and never from a failure or a faulted run.
    let again = run(&["verify", &demo(), "sdhi0", "--record-evidence", list_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("it already has an entry for renesas,sdhi-r8a774a1")
    );
    let failed = run(&["verify", &demo(), "pwm0", "--record-evidence", list_arg]);
    assert_eq!(failed.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("not recorded"));
    let faulted = run(&[
        "verify",
        &demo(),
        "/soc/ethernet@e6800000",
        "--fault",
        "stuck-reset",
        "--record-evidence",
        list_arg,
    ]);
    assert!(String::from_utf8_lossy(&faulted.stderr).contains("not recorded"));
    assert_eq!(std::fs::read_to_string(&list).unwrap(), text, "the file is as the first run left it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_allowlist_option_adds_to_the_built_in_list_unless_told_otherwise() {
    let dir = std::env::temp_dir().join(format!("platreset-extend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "schema = 1\n").unwrap();
    let empty = empty.to_str().unwrap();
    let dtb = demo();
    let verdict = |extra: &[&str]| {
        let mut args = vec!["explain", dtb.as_str(), "sdhi0", "--format", "json"];
        args.extend(extra);
        let doc: Value = serde_json::from_slice(&run(&args).stdout).unwrap();
        doc["verdict"]["eligible"].as_bool()
    };
    assert_eq!(verdict(&["--allowlist", empty]), Some(true), "the built-in evidence still applies");
    assert_eq!(verdict(&["--allowlist", empty, "--no-builtin-allowlist"]), Some(false));
    let _ = std::fs::remove_dir_all(&dir);
}
