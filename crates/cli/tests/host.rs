//! `platreset host` on a fake kernel-like sysfs tree (platreset-host's `fake`): the list with IOMMU
//! groups and verdicts from the tree's own DTB, the policy's refusal, and a dry run that prints the
//! writes and leaves the tree exactly as it was.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use platreset_host::fake::{FakeDevice, FakeSpec, FakeSysfs, Snapshot};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn fake(tag: &str) -> (std::path::PathBuf, FakeSysfs) {
    let spec = FakeSpec {
        devices: vec![
            FakeDevice::new("ee100000.mmc")
                .driver("renesas_sdhi_internal_dmac")
                .group(1)
                .of_node("/soc/mmc@ee100000", &["renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi"]),
            FakeDevice::new("e6e30000.pwm")
                .driver("renesas-pwm")
                .group(2)
                .of_node("/soc/pwm@e6e30000", &["renesas,pwm-r8a774a1", "renesas,pwm-rcar"]),
            // Already handed to a VMM: what `host guard` watches.
            FakeDevice::new("e6800000.ethernet")
                .driver("vfio-platform")
                .driver_override("vfio-platform")
                .group(4)
                .of_node(
                    "/soc/ethernet@e6800000",
                    &["renesas,etheravb-r8a774a1", "renesas,etheravb-rcar-gen3"],
                ),
            FakeDevice::new("e6050000.gpio")
                .driver("gpio_rcar")
                .group(3)
                .of_node("/soc/gpio@e6050000", &["renesas,gpio-r8a774a1", "renesas,rcar-gen3-gpio"]),
        ],
        extra_drivers: vec!["vfio-platform".into()],
    };
    fake_with(tag, &spec)
}

/// A fake sysfs tree of `spec` in a fresh directory, with the demo SoC as the running kernel's DT.
fn fake_with(tag: &str, spec: &FakeSpec) -> (std::path::PathBuf, FakeSysfs) {
    let dir = std::env::temp_dir().join(format!("platreset-cli-host-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tree = FakeSysfs::build(&dir, spec).unwrap();
    // The running kernel's flattened DT, where `host` finds the verdicts.
    std::fs::write(
        dir.join("sys/firmware/fdt"),
        std::fs::read(platreset_testkit::repo_root().join("data/demo-soc.dtb")).unwrap(),
    )
    .unwrap();
    (dir, tree)
}

#[test]
fn list_shows_groups_and_the_policy_verdict_of_each_device() {
    let (dir, _tree) = fake("list");
    let root = dir.to_str().unwrap();
    let out = run(&["host", "list", "--sysfs-root", root, "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mmc = rows.as_array().unwrap().iter().find(|r| r["name"] == "ee100000.mmc").unwrap();
    assert_eq!(mmc["dt_path"], "/soc/mmc@ee100000");
    assert_eq!(mmc["iommu_group"], 1);
    assert_eq!(mmc["verdict"]["eligible"], true, "{mmc}");
    let pwm = rows.as_array().unwrap().iter().find(|r| r["name"] == "e6e30000.pwm").unwrap();
    assert_eq!(pwm["verdict"]["eligible"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_has_column_headers_and_says_first_when_there_is_no_device_tree() {
    let (dir, _tree) = fake("list-text");
    let root = dir.to_str().unwrap();
    let out = run(&["host", "list", "--sysfs-root", root]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("4 platform device(s) under "), "{text}");
    let header: Vec<&str> = lines[1].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["DEVICE", "DT NODE", "DRIVER", "IOMMU GROUP", "VERDICT"], "{text}");
    // Every row's cells start under their header.
    let at = |line: &str, what: &str| line.find(what).unwrap();
    let mmc = lines.iter().find(|l| l.contains("ee100000.mmc")).unwrap();
    assert_eq!(at(mmc, "/soc/mmc@ee100000"), at(lines[1], "DT NODE"), "{text}");
    assert_eq!(at(mmc, "renesas_sdhi"), at(lines[1], "DRIVER"), "{text}");
    assert_eq!(at(mmc, "1 [ee100000.mmc]"), at(lines[1], "IOMMU GROUP"), "{text}");
    assert_eq!(at(mmc, "eligible"), at(lines[1], "VERDICT"), "{text}");
    assert!(!text.contains("No device tree"), "{text}");

    // The same machine booted without a device tree: said first, and no verdicts.
    std::fs::remove_file(dir.join("sys/firmware/fdt")).unwrap();
    let out = run(&["host", "list", "--sysfs-root", root]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with(&format!("No device tree: {root}/sys/firmware/fdt does not exist")), "{text}");
    assert!(!text.contains("eligible") && !text.contains("refused"), "{text}");
    let json = run(&["host", "list", "--sysfs-root", root, "--format", "json"]);
    assert!(String::from_utf8_lossy(&json.stderr).contains("No device tree"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bind_refuses_what_the_policy_refuses_and_a_dry_run_writes_nothing() {
    let (dir, _tree) = fake("bind");
    let root = dir.to_str().unwrap();
    let before = Snapshot::take(&dir).unwrap();
    let refused = run(&["host", "bind", "e6e30000.pwm", "--sysfs-root", root, "--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the policy refuses e6e30000.pwm"));
    let dry = run(&["host", "bind", "ee100000.mmc", "--sysfs-root", root]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.contains("dry run") && text.contains("driver_override <- \"vfio-platform\\n\""), "{text}");
    let hostile = run(&["host", "bind", "../x", "--sysfs-root", root]);
    assert_eq!(hostile.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&hostile.stderr).contains("invalid device"));
    assert_eq!(Snapshot::take(&dir).unwrap().diff(&before), Vec::<String>::new(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn on_a_root_without_a_platform_bus_list_explains() {
    let dir = std::env::temp_dir().join(format!("platreset-cli-host-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&["host", "list", "--sysfs-root", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing to list"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_device_without_reset_meets_reset_required_in_words() {
    let (dir, _tree) = fake("reset-required");
    let root = dir.to_str().unwrap();
    let param = dir.join("sys/module/vfio_platform/parameters");
    std::fs::create_dir_all(&param).unwrap();
    std::fs::write(param.join("reset_required"), "Y\n").unwrap();
    let blocked = run(&["host", "bind", "e6050000.gpio", "--sysfs-root", root]);
    assert_eq!(blocked.status.code(), Some(1));
    let err = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        err.contains("read-only once the module is loaded")
            && err.contains("modprobe vfio_platform reset_required=0"),
        "{err}"
    );
    // A reset module platreset does not know of may cover the device (the real-kernel test binds
    // a virtio-mmio device this way): --force lets vfio-platform decide, loudly.
    let forced = run(&["host", "bind", "e6050000.gpio", "--sysfs-root", root, "--force", "--dry-run"]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert!(
        String::from_utf8_lossy(&forced.stderr).contains("WARNING: --force: e6050000.gpio has no reset"),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    std::fs::write(param.join("reset_required"), "N\n").unwrap();
    let refused = run(&["host", "bind", "e6050000.gpio", "--sysfs-root", root]);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("reset_required=N: it would go to a VM unreset")
    );
    // Linux 6.1 refuses such a device even with reset_required=N (seen on Debian's 6.1.192).
    std::fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
    std::fs::write(dir.join("proc/sys/kernel/osrelease"), "6.1.0-57-arm64\n").unwrap();
    let on_61 = run(&["host", "bind", "e6050000.gpio", "--sysfs-root", root]);
    assert_eq!(on_61.status.code(), Some(1));
    let err = String::from_utf8_lossy(&on_61.stderr);
    assert!(
        err.contains("this kernel (6.1.0-57-arm64) still refuses") && err.contains("168a9c91fe0a"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn guard_runs_its_steps_once_when_the_vmm_is_killed() {
    let (dir, _tree) = fake("guard");
    let root = dir.to_str().unwrap();
    let mut vmm = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = vmm.id().to_string();
    let guard = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(["host", "guard", "--pid", &pid, "e6800000.ethernet", "--sysfs-root", root, "--restore"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    vmm.kill().unwrap();
    let _ = vmm.wait();
    let out = guard.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(log.matches("dry run: would reset e6800000.ethernet through VFIO").count(), 1, "{log}");
    assert_eq!(
        log.matches("dry run: would give e6800000.ethernet back to its host driver").count(),
        1,
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn guard_info_and_reset_refuse_a_device_that_is_not_on_vfio_platform() {
    let (dir, _tree) = fake("not-vfio");
    let root = dir.to_str().unwrap();
    for args in [
        &["host", "guard", "--pid", "1", "ee100000.mmc"][..],
        &["host", "info", "ee100000.mmc"][..],
        &["host", "reset", "ee100000.mmc"][..],
    ] {
        let out = run(&[args, &["--sysfs-root", root]].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("ee100000.mmc is on driver renesas_sdhi_internal_dmac, not vfio-platform")
                && err.contains("`platreset host bind ee100000.mmc` first"),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_huge_iommu_group_is_named_in_bounded_rows() {
    let dir = std::env::temp_dir().join(format!("platreset-cli-host-biggroup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let devices = (0..100).map(|i| FakeDevice::new(&format!("{:x}.dev", 0x1000 + i)).group(7)).collect();
    let _tree = FakeSysfs::build(&dir, &FakeSpec { devices, extra_drivers: vec![] }).unwrap();
    let root = dir.to_str().unwrap();
    let out = run(&["host", "list", "--sysfs-root", root, "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["group_members"].as_array().unwrap().len(), 64, "{row}");
        assert_eq!(row["group_size"], 100);
        assert_eq!(row["group_members_truncated"], true);
    }
    let text = String::from_utf8_lossy(&run(&["host", "list", "--sysfs-root", root]).stdout).into_owned();
    assert!(text.contains(" 7 [1000.dev 1001.dev") && text.contains(" +92 more]"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_device_the_policy_cannot_judge_is_refused_and_unbind_wants_a_vfio_device() {
    let spec = FakeSpec {
        devices: vec![
            // A platform device the DT does not describe (an MFD cell, a board-file device).
            FakeDevice::new("serial8250").driver("serial8250").group(5),
            FakeDevice::new("ee100000.mmc")
                .driver("renesas_sdhi_internal_dmac")
                .group(1)
                .of_node("/soc/mmc@ee100000", &["renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi"]),
        ],
        extra_drivers: vec!["vfio-platform".into()],
    };
    let (dir, tree) = fake_with("unjudged", &spec);
    let root = dir.to_str().unwrap();
    let before = tree.snapshot().unwrap();
    let out = run(&["host", "bind", "serial8250", "--yes", "--sysfs-root", root]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serial8250 has no DT node") && err.contains("--force binds anyway"), "{err}");
    assert!(!err.contains("Some(") && !err.contains("wrote "), "{err}");
    assert!(before.diff(&tree.snapshot().unwrap()).is_empty(), "nothing written");
    let forced = run(&["host", "bind", "serial8250", "--force", "--dry-run", "--sysfs-root", root]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert!(String::from_utf8_lossy(&forced.stderr).contains("WARNING: --force: serial8250 has no DT node"));
    // Policy options after the subcommand are the host command's too.
    let trusted = run(&["host", "bind", "ee100000.mmc", "--dry-run", "--sysfs-root", root, "--trust-reset"]);
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
    let unbind = run(&["host", "unbind", "ee100000.mmc", "--yes", "--sysfs-root", root]);
    assert_eq!(unbind.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unbind.stderr);
    assert!(err.contains("is on driver renesas_sdhi_internal_dmac, not vfio-platform"), "{err}");
    assert!(before.diff(&tree.snapshot().unwrap()).is_empty(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_write_that_fails_is_reported_as_failed_never_as_written() {
    let (dir, _tree) = fake("failed-write");
    let root = dir.to_str().unwrap();
    // The host driver's unbind cannot be written: a directory stands where the attribute was
    // (root ignores permission bits, so a read-only file would not do).
    let attr = dir.join("sys/bus/platform/drivers/renesas_sdhi_internal_dmac/unbind").canonicalize().unwrap();
    std::fs::remove_file(&attr).unwrap();
    std::fs::create_dir(&attr).unwrap();
    let out = run(&["host", "bind", "ee100000.mmc", "--yes", "--trust-reset", "--sysfs-root", root]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let shown = attr.display().to_string();
    let about = |prefix: &str| err.lines().filter(|l| l.contains(&shown) && l.starts_with(prefix)).count();
    assert_eq!((about("platreset: FAILED to write "), about("platreset: wrote ")), (1, 0), "{err}");
    // The write before it did happen, and says so.
    assert!(
        err.lines().any(|l| l.starts_with("platreset: wrote ") && l.contains("driver_override")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_names_an_odd_entry_and_lists_the_others() {
    let (dir, _tree) = fake("odd");
    let root = dir.to_str().unwrap();
    let attr = dir.join("sys/bus/platform/devices/e6e30000.pwm/driver_override").canonicalize().unwrap();
    std::fs::remove_file(attr).unwrap();
    let out = run(&["host", "list", "--sysfs-root", root]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 platform device(s)") && stdout.contains("ee100000.mmc"), "{stdout}");
    assert!(
        stdout.contains("1 entr(ies) of the platform bus could not be read:\n  e6e30000.pwm: "),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 of 4 platform bus entr(ies) could not be read; the others are listed"),
        "{stderr}"
    );
    let json = run(&["host", "list", "--format", "json", "--sysfs-root", root]);
    assert_eq!(json.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    assert!(String::from_utf8_lossy(&json.stderr).contains("not listed: e6e30000.pwm: "));
    let _ = std::fs::remove_dir_all(&dir);
}
