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
    assert_eq!(eth["prr"], false);
    assert_eq!(eth["crs"], "static");
    assert_eq!(
        eth["mmio"],
        serde_json::json!([{"base": "0xe0700000", "size": "0x10000"}, {"base": "0xe0710000", "size": "0x100"}])
    );
    let keys: Vec<&String> = eth.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7, "path, hid, cids, rst, prr, mmio, crs: {keys:?}");
    let device = |path: &str| list.as_array().unwrap().iter().find(|d| d["path"] == path).unwrap().clone();
    let uart = device("\\_SB.UAR0");
    assert_eq!(uart["rst"], false);
    assert_eq!(uart["mmio"], serde_json::json!([{"base": "0xe1010000", "size": "0x1000"}]));
    let gpu = device("\\_SB.PCI0.GPU0");
    assert_eq!(gpu["mmio"][0], serde_json::json!({"base": "0x4000000000", "size": "0x100000000"}));
    let sata = device("\\_SB.PCI0.SATA");
    assert_eq!((&sata["crs"], &sata["mmio"]), (&serde_json::json!("method"), &serde_json::json!([])));
    let dma = device("\\_SB.DMA0");
    assert_eq!((&dma["crs"], &dma["mmio"]), (&serde_json::json!("none"), &serde_json::json!([])));
    assert_eq!(dma["prr"], true);
    let text = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("acpi").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("6 ACPI device(s)") && text.contains("_RST: vfio-platform can reset it"), "{text}");
    let line = |path: &str| text.lines().find(|l| l.trim_start().starts_with(&format!("{path} "))).unwrap();
    assert!(line("\\_SB.ETH0").ends_with("; mem 0xe0700000-0xe070ffff, 0xe0710000-0xe07100ff"), "{text}");
    assert!(line("\\_SB.PCI0.GPU0").contains("0x4000000000-0x40ffffffff"), "{text}");
    assert!(line("\\_SB.PCI0.SATA").ends_with("mem unknown (_CRS is a method, not evaluated)"), "{text}");
    assert!(!line("\\_SB.DMA0").contains("mem"), "{text}");
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

#[test]
fn a_directory_without_tables_is_an_error_not_an_empty_list() {
    let dir = std::env::temp_dir().join(format!("platreset-acpi-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("README"), b"not a table").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("acpi").arg(&dir).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no DSDT or SSDT table in") && err.contains("platreset-acpi-empty"), "{err}");
}
