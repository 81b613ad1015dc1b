//! `platreset host …` on a real Linux kernel: Debian's arm64 6.1 kernel with vfio (no-IOMMU
//! mode) and vfio-platform built out of tree, booted under QEMU by `scripts/kernel-rig`, running
//! the aarch64 build of this very code (`tests/kernel/host.sh` inside the guest).
//!
//! Needs `PLATRESET_GUEST_BIN` (the cross-built binary, `scripts/kernel-rig guest-bin`), which
//! `scripts/test` sets once the rig is prepared; without it the test prints SKIPPED.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The output of each `@@@ name` … `@@@ rc N` step the guest printed.
/// `[    1.234567] …`, the console's copy of a kernel message.
fn is_kernel_log(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else { return false };
    let Some((stamp, _)) = rest.split_once(']') else { return false };
    let stamp = stamp.trim_start();
    !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[derive(Debug, Default)]
struct Steps(BTreeMap<String, (String, i32)>);

impl Steps {
    fn parse(console: &str) -> Steps {
        let mut steps = BTreeMap::new();
        let mut current: Option<(String, String)> = None;
        for line in console.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(rest) = line.strip_prefix("@@@ rc ") {
                if let Some((name, text)) = current.take() {
                    steps.insert(name, (text, rest.trim().parse().unwrap_or(-1)));
                }
            } else if let Some(name) = line.strip_prefix("@@@ ") {
                current = Some((name.to_string(), String::new()));
            } else if let Some((name, text)) = current.as_mut() {
                // The guest silences the console's copy of the kernel log (dmesg -n 1), but
                // lines printed before that start with "[    1.23]": keep them only in dmesg.
                if name == "dmesg" || !is_kernel_log(line) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        Steps(steps)
    }

    fn get(&self, name: &str) -> &(String, i32) {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("the guest did not run step {name}; steps: {:?}", self.0.keys()))
    }

    /// The step's output, which must have succeeded.
    fn ok(&self, name: &str) -> &str {
        let (text, rc) = self.get(name);
        assert_eq!(*rc, 0, "step {name} failed:\n{text}");
        text
    }

    /// The one JSON line of a step's output (warnings go to stderr, which the console shares).
    fn json(&self, name: &str) -> Value {
        let (text, _) = self.get(name);
        let line = text
            .lines()
            .find(|l| l.starts_with('{') || l.starts_with('['))
            .unwrap_or_else(|| panic!("step {name} printed no JSON:\n{text}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("step {name}: {e}:\n{line}"))
    }
}

#[test]
fn host_commands_on_a_real_kernel_bind_inspect_reset_unbind_and_roll_back() {
    let Ok(bin) = std::env::var("PLATRESET_GUEST_BIN") else {
        eprintln!(
            "SKIPPED: no real-kernel rig (PLATRESET_GUEST_BIN unset); scripts/test prepares it with \
             scripts/kernel-rig prepare && scripts/kernel-rig guest-bin"
        );
        return;
    };
    let out = Command::new(repo().join("scripts/kernel-rig"))
        .arg("boot")
        .arg(repo().join("tests/kernel/host.sh"))
        .args(["-device", "virtio-rng-device,bus=virtio-mmio-bus.0"])
        .env("PLATRESET_GUEST_BIN", &bin)
        .output()
        .expect("scripts/kernel-rig runs");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kernel-rig boot failed: {}\n{console}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(console.contains("@@@ kernel 6.1."), "not the Debian 6.1 kernel:\n{console}");
    let steps = Steps::parse(&console);

    // host list: the real devices, with their real drivers and of_node paths.
    let list = steps.json("list");
    let rng = list
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "a000000.virtio_mmio"))
        .unwrap_or_else(|| panic!("no a000000.virtio_mmio in host list: {list}"));
    assert_eq!(rng["driver"], "virtio-mmio");
    assert_eq!(rng["dt_path"], "/virtio_mmio@a000000");
    assert_eq!(rng["compatible"], serde_json::json!(["virtio,mmio"]));
    let fw_cfg = list.as_array().and_then(|a| a.iter().find(|d| d["name"] == "9020000.fw-cfg"));
    assert!(fw_cfg.is_some_and(|d| d["dt_path"] == "/fw-cfg@9020000"), "{list}");

    // host bind: vfio-platform takes it, in a no-IOMMU group whose device file is noiommu-N.
    let bind = steps.json("bind");
    assert_eq!(steps.get("bind").1, 0, "{}", steps.get("bind").0);
    let bound = &bind["bound"][0];
    assert_eq!(bound["previous_driver"], "virtio-mmio");
    assert_eq!(bound["noiommu"], true);
    let group = bound["iommu_group"].as_u64().expect("a group number");
    assert_eq!(bound["group_file"], format!("/dev/vfio/noiommu-{group}"));
    assert!(steps.get("bind").0.contains("no-IOMMU group"), "the taint is said: {}", steps.get("bind").0);
    assert_eq!(steps.ok("group-name").trim(), "vfio-noiommu");

    // host info: the real region (one 0x200 window) and IRQ through the VFIO ioctls.
    let info = steps.json("info");
    assert_eq!(info["iommu"], "noiommu");
    assert_eq!(info["flags"], serde_json::json!(["RESET", "PLATFORM"]));
    assert_eq!(info["regions"][0]["size"], 0x200);
    assert_eq!(info["irqs"][0]["count"], 1);

    // host reset: VFIO_DEVICE_RESET reaches the handler; the kernel logs each reset (open, RESET,
    // release).
    let reset = steps.json("reset");
    assert_eq!(reset["reset"], "ok");
    let dmesg = steps.ok("dmesg");
    let resets = dmesg.matches("virtio-mmio reset: status").count();
    // info: open + close; reset: open + RESET + close.
    assert!(resets >= 5, "expected at least 5 handler runs, saw {resets}:\n{dmesg}");
    assert!(dmesg.contains("Adding kernel taint for vfio-noiommu group"), "{dmesg}");

    // host unbind: back on its driver, and the sysfs state is as before.
    assert_eq!(steps.json("unbind")["driver"], "virtio-mmio");
    assert_eq!(steps.ok("state-after"), steps.ok("state-before"));

    // Rollback on a real refusal: no reset handler for fw-cfg, so vfio-platform's probe fails
    // (-ENOENT) and the device is left exactly as it was.
    let (refused, rc) = steps.get("refused");
    assert_ne!(*rc, 0, "binding fw-cfg should fail:\n{refused}");
    assert!(refused.contains("every device touched is back in its recorded state"), "{refused}");
    assert_eq!(steps.ok("refused-after"), steps.ok("refused-before"));
    assert!(dmesg.contains("No reset function found for device 9020000.fw-cfg"), "{dmesg}");
}
