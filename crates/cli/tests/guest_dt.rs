//! `platreset guest-dt --target qemu`: a fragment on stdout, a whole guest DTB on QEMU's own base,
//! and nothing written when the tree cannot be built.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("platreset-guest-dt-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").to_str().unwrap().to_string()
}

#[test]
fn without_a_base_the_fragment_goes_to_stdout_and_dtc_compiles_it() {
    let dir = Dir::new("fragment");
    let out = run(&["guest-dt", &demo(), "sdhi0", "--target", "qemu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dts = dir.path("frag.dts");
    std::fs::write(&dts, &out.stdout).unwrap();
    let dtc = Command::new("dtc").args(["-I", "dts", "-O", "dtb", "-o", "/dev/null", &dts]).output().unwrap();
    assert!(dtc.status.success(), "{}", String::from_utf8_lossy(&dtc.stderr));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("region 0xee100000 size 0x2000 -> guest 0x0"), "{report}");
    assert!(report.contains("clocks") && report.contains("warning: dropped"), "{report}");
}

#[test]
fn on_qemus_base_the_output_is_a_whole_guest_dtb_with_a_json_report() {
    let dir = Dir::new("base");
    let base = dir.path("virt.dtb");
    std::fs::write(&base, platreset_testkit::qemu_virt_dtb()).unwrap();
    let guest = dir.path("guest.dtb");
    let out = run(&[
        "guest-dt",
        &demo(),
        "sdhi0",
        "ethernet0",
        "--target",
        "qemu",
        "--base",
        &base,
        "-o",
        &guest,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["devices"][1]["interrupts"][0]["guest_spi"], 113);
    let dts = Command::new("dtc").args(["-I", "dtb", "-O", "dts", &guest]).output().unwrap();
    assert!(dts.status.success());
    let text = String::from_utf8_lossy(&dts.stdout);
    assert!(text.contains("ethernet@2000 {") && text.contains("virtio_mmio@a000000"), "{text}");
}

#[test]
fn a_refusal_names_the_property_and_writes_nothing() {
    let dir = Dir::new("refuse");
    let host = dir.path("props.dtb");
    std::fs::write(&host, platreset_testkit::fixture("guest-props")).unwrap();
    let guest = dir.path("guest.dts");
    let out = run(&["guest-dt", &host, "/gpios@13000", "--target", "qemu", "-o", &guest]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("property cd-gpios") && err.contains("--drop cd-gpios"), "{err}");
    assert!(!std::path::Path::new(&guest).exists(), "no partial output");
    let ok =
        run(&["guest-dt", &host, "/gpios@13000", "--target", "qemu", "-o", &guest, "--drop", "cd-gpios"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(std::fs::read_to_string(&guest).unwrap().contains("gpios@0 {"));
    let no_output = run(&["guest-dt", &demo(), "sdhi0", "--target", "qemu", "--base", &host]);
    assert_eq!(no_output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_output.stderr).contains("name the file with -o"));
}

#[test]
fn crosvm_xen_and_avf_write_their_files_and_the_vmm_lines_name_them() {
    let dir = Dir::new("targets");
    for (target, file, line) in [
        ("crosvm", "guest.dtbo", "--device-tree-overlay "),
        ("xen", "guest.dtb", "device_tree = \""),
        ("avf", "vm.dtbo", "vm run-microdroid --devices /sys/bus/platform/devices/ee100000.mmc"),
    ] {
        let out_path = dir.path(&format!("{target}-{file}"));
        let out = run(&[
            "guest-dt",
            &demo(),
            "sdhi0",
            "ethernet0",
            "--target",
            target,
            "-o",
            &out_path,
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{target}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let lines: Vec<&str> =
            report["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
        assert!(lines.iter().any(|l| l.contains(line)), "{target}: {lines:?}");
        if target != "avf" {
            assert!(
                lines.iter().any(|l| l.contains(&out_path)),
                "{target}: the real file is named: {lines:?}"
            );
        }
        let dtc = Command::new("dtc").args(["-I", "dtb", "-O", "dts", &out_path]).output().unwrap();
        assert!(dtc.status.success(), "{target}: {}", String::from_utf8_lossy(&dtc.stderr));
        for written in report["files"].as_array().unwrap() {
            assert!(std::path::Path::new(written.as_str().unwrap()).exists());
        }
    }
    assert!(std::path::Path::new(&dir.path("avf-vm-assignable_devices.xml")).exists());
    let binary = run(&["guest-dt", &demo(), "sdhi0", "--target", "xen"]);
    assert_eq!(binary.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&binary.stderr).contains("name the file with -o"));
}

#[test]
fn an_output_that_cannot_be_written_is_named_as_an_output() {
    let dir = Dir::new("unwritable");
    let out =
        run(&["guest-dt", &demo(), "sdhi0", "--target", "qemu", "-o", &dir.path("no/such/dir/guest.dts")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write output") && err.contains("no/such/dir/guest.dts"), "{err}");
}
