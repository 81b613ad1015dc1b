//! `platreset kmod`: the generic reset module's compatibles for a board, as a modprobe file and
//! a DKMS tree, written all or nothing with --install.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").display().to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("platreset-kmod-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_demo_soc_lists_its_two_eligible_compatibles_and_says_why_the_rest_are_out() {
    let out = run(&["kmod", &demo()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "options vfio_platform_reset_generic compatibles=\"renesas,etheravb-r8a774a1;renesas,sdhi-r8a774a1\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("alias vfio-reset:renesas,sdhi-r8a774a1 vfio_platform_reset_generic"), "{text}");
    assert!(text.contains("renesas,pwm-r8a774a1 /soc/pwm@e6e30000 [rule 3]"), "{text}");
    assert!(text.contains("dry run: add --install"), "{text}");
}

#[test]
fn json_carries_the_parameter_the_inclusions_and_each_exclusion_with_its_rule() {
    let out = run(&["kmod", &demo(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["parameter"], "renesas,etheravb-r8a774a1;renesas,sdhi-r8a774a1");
    assert_eq!(doc["pulse_us"], Value::Null);
    assert_eq!(doc["included"][1]["devices"], serde_json::json!(["/soc/mmc@ee100000"]));
    let dma =
        doc["excluded"].as_array().unwrap().iter().find(|e| e["device"] == "/soc/dma-controller@e6700000");
    assert_eq!(dma.unwrap()["rule"], 5, "{doc}");
    assert_eq!(doc["installed"], false);
}

#[test]
fn install_writes_the_modprobe_file_and_a_dkms_tree_of_the_committed_source() {
    let root = scratch("install");
    let out = run(&["kmod", &demo(), "--install", "--root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = format!("usr/src/vfio-platform-reset-generic-{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        files_below(&root),
        vec![
            "etc/modprobe.d/platreset-reset-generic.conf".to_string(),
            format!("{tree}/Kbuild"),
            format!("{tree}/Makefile"),
            format!("{tree}/dkms.conf"),
            format!("{tree}/vfio-platform-reset-generic.c"),
        ]
    );
    let kmod = platreset_testkit::repo_root().join("kmod/vfio-platform-reset-generic");
    for name in ["vfio-platform-reset-generic.c", "Kbuild", "Makefile"] {
        assert_eq!(
            std::fs::read(root.join(&tree).join(name)).unwrap(),
            std::fs::read(kmod.join(name)).unwrap()
        );
    }
    let dkms = std::fs::read_to_string(root.join(&tree).join("dkms.conf")).unwrap();
    assert!(
        dkms.contains("PACKAGE_NAME=\"vfio-platform-reset-generic\"") && dkms.contains("VFIO_PLATFORM_SRC")
    );
    // dkms.conf is sourced by bash: it must parse and give the package's name and version.
    let sourced = Command::new("bash")
        .arg("-c")
        .arg(r#"kernel_source_dir=/k dkms_tree=/d; . "$1"; echo "$PACKAGE_NAME $PACKAGE_VERSION ${MAKE[0]}""#)
        .arg("-")
        .arg(root.join(&tree).join("dkms.conf"))
        .output()
        .unwrap();
    let sourced = String::from_utf8_lossy(&sourced.stdout);
    assert!(
        sourced.starts_with(&format!(
            "vfio-platform-reset-generic {} make -C /k M=/d/",
            env!("CARGO_PKG_VERSION")
        )) && sourced.contains("VFIO_PLATFORM_SRC=/k/drivers/vfio/platform modules"),
        "{sourced}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn install_with_nothing_eligible_is_refused_and_writes_nothing() {
    let root = scratch("empty");
    let blob = platreset_testkit::fixture("generic-module");
    let dtb = root.join("board.dtb");
    std::fs::write(&dtb, blob).unwrap();
    let target = root.join("target");
    let out = run(&["kmod", dtb.to_str().unwrap(), "--install", "--root", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to install"));
    assert!(!target.exists());
    // The same board with --trust-reset lists acme,dedicated, and the firmware-reset device the kernel can reset.
    let out = run(&["kmod", dtb.to_str().unwrap(), "--trust-reset", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["parameter"], "acme,dedicated;acme,firmware-reset");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn install_over_a_planted_symlink_is_refused_and_leaves_every_file_as_it_was() {
    let root = scratch("symlink");
    let victim = root.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    let conf = root.join("target/etc/modprobe.d/platreset-reset-generic.conf");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&victim, &conf).unwrap();
    let target = root.join("target");
    let out = run(&["kmod", &demo(), "--install", "--root", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a regular file") && err.contains("platreset-reset-generic.conf"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    assert!(!target.join("usr").exists(), "nothing else written");
    std::fs::remove_dir_all(root).unwrap();
}
