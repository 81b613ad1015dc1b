//! `platreset acpi` on tables compiled by iasl.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn lists_devices_and_their_rst_as_json_and_text() {
    let dir = std::env::temp_dir().join(format!("platreset-acpi-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("DSDT"), platreset_testkit::asl_fixture("devices")).unwrap();
    std::fs::write(dir.join("FACP"), b"not a definition block: ignored").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .arg("acpi")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eth = list.as_array().unwrap().iter().find(|d| d["path"] == "\\_SB.ETH0").unwrap();
    assert_eq!(eth["hid"], "AMDI8001");
    assert_eq!(eth["cids"], serde_json::json!(["AMDI8002"]));
    assert_eq!(eth["rst"], true);
    let uart = list.as_array().unwrap().iter().find(|d| d["path"] == "\\_SB.UAR0").unwrap();
    assert_eq!(uart["rst"], false);
    let text = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("acpi").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("6 ACPI device(s)") && text.contains("_RST: vfio-platform can reset it"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_or_broken_table_directory_is_a_clear_error() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_platreset")).args(["acpi", "/nonexistent/tables"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/tables"));
    let dir = std::env::temp_dir().join(format!("platreset-acpi-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SSDT1"), b"SSDT\x10\0\0\0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("acpi").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SSDT1") && err.contains("truncated"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
