//! `platreset host …` and `platreset reset --backend devmem` on a real Linux kernel: Debian's arm64
//! 6.1 kernel with vfio and vfio-platform built out of tree (or, for the stock-kernel checks,
//! with Debian's own vfio modules only), booted under QEMU by `scripts/kernel-rig`, running the
//! aarch64 build of this very code (the scripts in `tests/kernel/` inside the guest).
//!
//! The guest's device tree is QEMU's own (`-machine dumpdtb`) edited with platreset's DTB writer:
//! a `reset-simple` controller over RAM the guest kernel leaves alone (`mem=256M`), so its
//! register really reads back; transport 0 (a virtio-rng) on a dedicated line; transports 1 and 2
//! sharing a line; fw-cfg without any reset; and, in the SMMU runs, `iommus` on transport 0.
//!
//! Needs `PLATRESET_GUEST_BIN` (the cross-built binary, `scripts/kernel-rig guest-bin`), which
//! `scripts/test` sets once the rig is prepared; without it each test prints SKIPPED.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use platreset_dtedit::{from_fdt, to_dtb, Node, WriteOptions};
use platreset_fdt::Fdt;
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

/// The QEMU devices every run adds: a virtio-rng on transports 0 and 1.
const DEVICES: [&str; 4] = [
    "-device",
    "virtio-rng-device,bus=virtio-mmio-bus.0",
    "-device",
    "virtio-rng-device,bus=virtio-mmio-bus.1",
];

/// The reset controller's registers: RAM above the guest kernel's `mem=256M`.
const CONTROLLER: u32 = 0x5000_0000;

/// The cross-built binary, or `None` after saying why the test is skipped.
fn guest_bin(test: &str) -> Option<String> {
    let bin = std::env::var("PLATRESET_GUEST_BIN").ok();
    if bin.is_none() {
        eprintln!(
            "SKIPPED {test}: no real-kernel rig (PLATRESET_GUEST_BIN unset); scripts/test prepares it \
             with scripts/kernel-rig prepare && scripts/kernel-rig guest-bin"
        );
    }
    bin
}

fn rig() -> Command {
    Command::new(repo().join("scripts/kernel-rig"))
}

/// QEMU's DT for `machine` with the rig's reset wiring, written by platreset's DTB writer.
fn rig_dtb(tag: &str, machine: Option<&str>, iommus: bool) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kernel-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("qemu.dtb");
    let mut dump = rig();
    dump.arg("dumpdtb").arg(&base);
    if let Some(machine) = machine {
        dump.args(["--machine", machine]);
    }
    let out = dump.args(DEVICES).output().unwrap();
    assert!(out.status.success(), "dumpdtb failed: {}", String::from_utf8_lossy(&out.stderr));
    let blob = std::fs::read(&base).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    let mut root = from_fdt(&fdt);
    let rc = root.max_phandle() + 1;
    root.add_child(Node::new(format!("reset-controller@{CONTROLLER:x}")))
        .unwrap()
        .set_strs("compatible", &["snps,dw-high-reset"])
        .set_u32s("reg", &[0, CONTROLLER, 0, 4])
        .set_u32s("#reset-cells", &[1])
        .set_u32s("phandle", &[rc]);
    // Own first compatibles, so that vfio-platform's handler lookup (by first compatible) can
    // tell the dedicated transport from the shared ones; virtio-mmio still drives them.
    let mut name = |path: &str, first: &str| {
        root.find_mut(path).unwrap().set_strs("compatible", &[first, "virtio,mmio"]);
    };
    name("/virtio_mmio@a000000", "platreset,rig-dedicated");
    name("/virtio_mmio@a000200", "platreset,rig-shared");
    name("/virtio_mmio@a000400", "platreset,rig-shared");
    let mut wire = |path: &str, cells: &[u32]| {
        root.find_mut(path).unwrap_or_else(|| panic!("QEMU's DT has no {path}")).set_u32s("resets", cells);
    };
    wire("/virtio_mmio@a000000", &[rc, 0]);
    wire("/virtio_mmio@a000200", &[rc, 1]);
    wire("/virtio_mmio@a000400", &[rc, 1]);
    if iommus {
        let smmu = fdt.find_path("/smmuv3@9050000").unwrap().phandle().unwrap().get();
        // Any stream ID below 2^16 (QEMU's SMMUv3 SIDSIZE); PCI's requester IDs start at 0.
        root.find_mut("/virtio_mmio@a000000").unwrap().set_u32s("iommus", &[smmu, 0xff00]);
    }
    let out = dir.join("rig.dtb");
    std::fs::write(&out, to_dtb(&root, &WriteOptions::from_fdt(&fdt)).unwrap()).unwrap();
    out
}

/// One guest at a time: TCG on this machine's two cores is what the guard's 100 ms bound and the
/// boot times were measured on, and parallel guests would only share them.
static ONE_GUEST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Boots `script` on `dtb` and returns its steps; the boot's time is printed for the CI note.
fn boot(bin: &str, script: &str, machine: Option<&str>, append: &str, dtb: &Path) -> Steps {
    boot_with(bin, script, machine, append, dtb, &[])
}

/// [`boot`] with files added to the initramfs (`SRC=DEST`, KVER in DEST the kernel release).
fn boot_with(
    bin: &str,
    script: &str,
    machine: Option<&str>,
    append: &str,
    dtb: &Path,
    adds: &[String],
) -> Steps {
    let _one = ONE_GUEST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let mut cmd = rig();
    cmd.arg("boot");
    if let Some(machine) = machine {
        cmd.args(["--machine", machine]);
    }
    for add in adds {
        cmd.args(["--add", add]);
    }
    let out = cmd
        .args(["--append", append, "--dtb"])
        .arg(dtb)
        .arg(repo().join("tests/kernel").join(script))
        .args(DEVICES)
        .env("PLATRESET_GUEST_BIN", bin)
        .output()
        .expect("scripts/kernel-rig runs");
    let console = String::from_utf8_lossy(&out.stdout);
    // Kept beside the DTB for whoever reads a failure.
    let kept = dtb.with_file_name(format!("{script}.console"));
    std::fs::write(&kept, console.as_bytes()).unwrap();
    eprintln!("{script}: console kept in {}", kept.display());
    assert!(
        out.status.success(),
        "kernel-rig boot failed: {}\n{console}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(console.contains("@@@ kernel 6.1."), "not the Debian 6.1 kernel:\n{console}");
    eprintln!("{script}: booted, ran and powered off in {:.1} s", started.elapsed().as_secs_f64());
    Steps::parse(&console)
}

/// The `+S.ssssss s` stamp at the start of a guard log line.
fn stamp(line: &str) -> f64 {
    line.trim_start_matches('+').split('s').next().and_then(|s| s.parse().ok()).unwrap_or(f64::MAX)
}

#[test]
fn host_commands_on_a_real_kernel_bind_inspect_reset_guard_and_roll_back() {
    let Some(bin) = guest_bin("host commands on a real kernel") else { return };
    let dtb = rig_dtb("host", None, false);
    let steps = boot(&bin, "host.sh", None, "mem=256M iomem=relaxed", &dtb);

    // host list: the real devices, with their real drivers, of_node paths and verdicts.
    let list = steps.json("list");
    let row = |name: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|d| d["name"] == name))
            .unwrap_or_else(|| panic!("no {name} in host list: {list}"))
            .clone()
    };
    let rng = row("a000000.virtio_mmio");
    assert_eq!(rng["driver"], "virtio-mmio");
    assert_eq!(rng["dt_path"], "/virtio_mmio@a000000");
    assert_eq!(rng["compatible"], serde_json::json!(["platreset,rig-dedicated", "virtio,mmio"]));
    assert_eq!(row("50000000.reset-controller")["driver"], "simple-reset", "reset-simple probed our node");
    assert_eq!(row("9020000.fw-cfg")["dt_path"], "/fw-cfg@9020000");
    // The policy reads the live DT (/sys/firmware/fdt): a shared line names its sharer, a node
    // without resets has no method, and the dedicated line is refused for what it lacks.
    let shared = row("a000200.virtio_mmio");
    let reasons = shared["verdict"]["reasons"].to_string();
    assert!(reasons.contains("/virtio_mmio@a000400"), "{shared}");
    assert_eq!(row("9020000.fw-cfg")["verdict"]["method"], "none");
    assert_eq!(rng["verdict"]["method"], "generic");
    assert!(!rng["verdict"]["reasons"].to_string().contains("shared"), "{rng}");
    assert!(steps.ok("list-text").contains("The vfio-platform driver is present"));
    // The kernel's platform-device names, as platreset derives them from the DT (of_device_make_bus_id).
    let blob = std::fs::read(&dtb).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    let mut compared = 0;
    for row in list.as_array().unwrap() {
        let Some(path) = row["dt_path"].as_str() else { continue };
        let derived = fdt.find_path(path).unwrap().platform_device_name();
        assert_eq!(derived.as_deref(), row["name"].as_str(), "{path}");
        compared += 1;
    }
    assert!(compared > 40, "{compared} names compared");

    // The policy's refusal of the shared line, before anything is written.
    let (refusal, rc) = steps.get("shared-refused");
    assert_ne!(*rc, 0, "{refusal}");
    assert!(
        refusal.contains("the policy refuses a000200.virtio_mmio")
            && refusal.contains("/virtio_mmio@a000400")
    );
    assert!(!refusal.contains("wrote "), "{refusal}");
    assert_eq!(steps.ok("shared-after"), steps.ok("shared-before"));

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
    assert_eq!(steps.json("reset")["reset"], "ok");
    let dmesg = steps.ok("dmesg");
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

    // The generic reset module (issue 13): loaded with reset_required=1, it registered the
    // dedicated compatible and refused the shared one, naming the sharer; the shared device is
    // then refused by vfio-platform itself (no reset) and rolled back.
    assert_eq!(steps.get("generic").1, 0, "{}", steps.get("generic").0);
    assert_eq!(steps.ok("reset-required").trim(), "Y");
    assert!(dmesg.contains("vfio_platform_reset_generic: platreset,rig-dedicated: registered"), "{dmesg}");
    assert!(
        dmesg.contains(
            "platreset,rig-shared: /virtio_mmio@a000200 shares a reset line with /virtio_mmio@a000400 (enabled): not registering it"
        ),
        "{dmesg}"
    );
    assert!(!dmesg.contains("WARNING"), "the module's load made the kernel warn:\n{dmesg}");
    let (shared, rc) = steps.get("shared-forced");
    assert_ne!(*rc, 0, "{shared}");
    assert!(shared.contains("every device touched is back in its recorded state"), "{shared}");
    assert_eq!(steps.ok("shared-forced-after"), steps.ok("shared-before"));
    assert!(dmesg.contains("No reset function found for device a000200.virtio_mmio"), "{dmesg}");
    // The reset seen from outside: with a 1 s pulse, the register read through /dev/mem while
    // VFIO opened the device had the line's bit set; afterwards it is clear again.
    assert_eq!(steps.ok("during").trim(), "0x00000001");
    assert_eq!(steps.ok("after").trim(), "0x00000000");
    assert_eq!(steps.json("slow-reset")["reset"], "ok");
    assert_eq!(
        dmesg.matches("generic reset: 1 line(s) asserted for 1000000 us, released").count(),
        3,
        "{dmesg}"
    );

    // The guard: the VMM stand-in held the device; after its SIGKILL each step ran once, the
    // first within 100 ms of the exit, and the device is back on its driver.
    assert!(steps.ok("hold").contains("holding a000000.virtio_mmio"), "{}", steps.ok("hold"));
    let guard = steps.ok("guard");
    assert!(guard.contains("guard exit 0"), "{guard}");
    assert!(guard.contains("exited") && guard.contains("running 2 step(s)"), "{guard}");
    let reset_steps: Vec<&str> =
        guard.lines().filter(|l| l.contains("a000000.virtio_mmio reset through VFIO")).collect();
    assert_eq!(reset_steps.len(), 1, "{guard}");
    assert!(
        stamp(reset_steps[0]) < 0.1,
        "the reset started {} s after the exit:\n{guard}",
        stamp(reset_steps[0])
    );
    assert_eq!(guard.matches("a000000.virtio_mmio is back on virtio-mmio").count(), 1, "{guard}");
    assert_eq!(steps.ok("guard-after"), steps.ok("state-before"));
    // Each open and release of the device ran the generic reset: info (2), reset (3), the slow
    // reset (3), the stand-in (2: its open, and the release at its death), the guard (3).
    let resets = dmesg.matches("a000000.virtio_mmio: generic reset: 1 line(s) asserted for").count();
    assert_eq!(resets, 13, "expected 13 generic resets:\n{dmesg}");

    // /dev/mem under iomem=relaxed: the real register is read back (bit 5 kept) and line 0 is
    // asserted then released.
    let devmem = steps.json("devmem");
    let ops = devmem["ops"].as_array().unwrap();
    let writes: Vec<u64> =
        ops.iter().filter(|o| o["op"] == "write32").filter_map(|o| o["value"].as_u64()).collect();
    assert_eq!(writes, vec![0x21, 0x20], "{devmem}");
    let reads: Vec<u64> =
        ops.iter().filter(|o| o["op"] == "read32").filter_map(|o| o["value"].as_u64()).collect();
    assert!(reads.first() == Some(&0x20), "the first read saw the real register: {devmem}");
    assert_eq!(steps.ok("devmem-after").trim(), "0x00000020");

    // guest-dt on the running host's own tree reads the real kernel's clock summary, which
    // lists consumers (the column reached Debian's 6.1.192): pl011 takes its `uartclk` without
    // a name, so the first clock is the one the kernel lists for the device without one.
    assert!(steps.ok("clk-summary").contains("clk24mhz"), "{}", steps.ok("clk-summary"));
    let uart = steps.json("guest-dt-live");
    let clocks = uart["devices"][0]["properties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "clocks"))
        .unwrap_or_else(|| panic!("no clocks decision: {uart}"))
        .clone();
    let why = clocks["why"].as_str().unwrap_or_default();
    assert!(
        why.contains("uartclk = 24000000 Hz, from the running host: clock `clk24mhz`, which 9000000.pl011 takes without a name")
            && why.contains("apb_pclk = 24000000 Hz, from the running host: clock `clk24mhz`, which 9000000.pl011 takes as `apb_pclk`"),
        "{why}"
    );
}

#[test]
fn a_stock_debian_kernel_is_told_what_it_lacks() {
    let Some(bin) = guest_bin("stock kernel") else { return };
    let dtb = rig_dtb("stock", None, false);
    let steps = boot(&bin, "stock.sh", None, "mem=256M", &dtb);
    let config = "/boot/config-6.1.0-";
    let list = steps.ok("list-text");
    assert!(list.contains("was built without vfio-platform (# CONFIG_VFIO_PLATFORM is not set in"), "{list}");
    assert!(list.contains(config) && list.contains("CONFIG_VFIO_PLATFORM=m"), "{list}");
    let (bind, rc) = steps.get("bind");
    assert_ne!(*rc, 0, "{bind}");
    assert!(bind.contains("cannot bind to vfio-platform") && bind.contains("CONFIG_VFIO_PLATFORM"), "{bind}");
    assert!(!bind.contains("wrote "), "nothing is written: {bind}");
    let (info, rc) = steps.get("info");
    assert_ne!(*rc, 0, "{info}");
    assert!(
        info.contains("not vfio-platform") && info.contains("# CONFIG_VFIO_PLATFORM is not set"),
        "{info}"
    );
    // Strict devmem: the controller's registers are claimed by reset-simple.
    let (devmem, rc) = steps.get("devmem");
    assert_ne!(*rc, 0, "{devmem}");
    assert!(devmem.contains("CONFIG_IO_STRICT_DEVMEM=y in /boot/config-"), "{devmem}");
    assert!(devmem.contains("50000000.reset-controller"), "names the claimant: {devmem}");
    assert!(devmem.contains("iomem=relaxed"), "{devmem}");
}

/// The SMMUv3 runs: GICv3 gives a type1 container at once; GICv2 has no MSI remapping, so
/// type1 refuses (EPERM) until allow_unsafe_interrupts is set.
///
/// The generic reset module comes the way a user gets it: `platreset kmod --install` (this very
/// build, on the host) writes the modprobe file and the DKMS tree for the guest's DT, the rig
/// builds that tree against the guest's kernel, and the guest's modprobe loads it on demand.
fn smmu_run(tag: &str, machine: &str) -> Steps {
    let dtb = rig_dtb(tag, Some(machine), true);
    let bin = std::env::var("PLATRESET_GUEST_BIN").unwrap();
    let root = dtb.with_file_name("install");
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .arg("kmod")
        .arg(&dtb)
        .args(["--trust-reset", "--allow-pulse", "--install", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "platreset kmod --install: {}", String::from_utf8_lossy(&out.stderr));
    let tree = root.join(format!("usr/src/vfio-platform-reset-generic-{}", env!("CARGO_PKG_VERSION")));
    let built = rig().arg("build-module").arg(&tree).output().unwrap();
    assert!(built.status.success(), "building the DKMS tree: {}", String::from_utf8_lossy(&built.stderr));
    let ko = String::from_utf8_lossy(&built.stdout).lines().last().unwrap_or_default().to_string();
    assert!(ko.ends_with("vfio-platform-reset-generic.ko"), "{ko}");
    let conf = root.join("etc/modprobe.d/platreset-reset-generic.conf");
    let adds = [
        format!("{}=/etc/modprobe.d/platreset-reset-generic.conf", conf.display()),
        format!("{ko}=/lib/modules/KVER/updates/dkms/vfio-platform-reset-generic.ko"),
    ];
    // An identity default domain keeps virtio-rng's own DMA working behind an SMMU QEMU does not
    // put in front of virtio-mmio.
    boot_with(&bin, "smmu.sh", Some(machine), "mem=256M iommu.passthrough=1", &dtb, &adds)
}

fn assert_type1_group(steps: &Steps, info_step: &str) {
    // The module platreset kmod wrote and the rig built from its DKMS tree, loaded by the
    // kernel's request_module() through the alias, with the parameters of the modprobe file.
    let conf = steps.ok("modprobe-conf");
    assert!(
        conf.contains(
            "options vfio_platform_reset_generic compatibles=\"platreset,rig-dedicated\" pulse_us=10"
        ) && conf.contains("alias vfio-reset:platreset,rig-dedicated vfio_platform_reset_generic"),
        "{conf}"
    );
    assert!(!steps.ok("lsmod-before").contains("vfio_platform_reset_generic"));
    assert!(steps.ok("lsmod-after").contains("vfio_platform_reset_generic"), "{}", steps.ok("lsmod-after"));
    assert_eq!(steps.ok("parameters"), "platreset,rig-dedicated\n10\n");
    let group = steps.ok("group");
    assert!(group.contains("iommu_groups/"), "a real IOMMU group before binding: {group}");
    let bound = &steps.json("bind")["bound"][0];
    assert_eq!(bound["noiommu"], false, "{bound}");
    assert_eq!(bound["group_file"], format!("/dev/vfio/{}", bound["iommu_group"]));
    let info = steps.json(info_step);
    assert_eq!(info["iommu"], "type1v2", "{info}");
    assert_eq!(info["flags"], serde_json::json!(["RESET", "PLATFORM"]));
    assert_eq!(steps.json("reset")["reset"], "ok");
    assert_eq!(steps.json("unbind")["driver"], "virtio-mmio");
}

#[test]
fn behind_an_smmuv3_with_gicv3_a_device_gets_a_type1_group() {
    if guest_bin("SMMUv3 with GICv3").is_none() {
        return;
    }
    let steps = smmu_run("smmu-gicv3", "gic-version=3,iommu=smmuv3");
    assert_type1_group(&steps, "info");
    // A device without a group while no-IOMMU mode is off: refused before any write; forced,
    // vfio-platform's probe fails (-EINVAL, as FakeKernel models by default) and is rolled back.
    let (refused, rc) = steps.get("nogroup");
    assert_ne!(*rc, 0, "{refused}");
    assert!(
        refused.contains("a000600.virtio_mmio has no IOMMU group")
            && refused.contains("no-IOMMU mode is off")
    );
    assert!(!refused.contains("wrote "), "{refused}");
    let (forced, rc) = steps.get("nogroup-forced");
    assert_ne!(*rc, 0, "{forced}");
    assert!(forced.contains("every device touched is back in its recorded state"), "{forced}");
    assert_eq!(steps.ok("nogroup-after"), steps.ok("nogroup-before"));
    assert!(steps.ok("dmesg").contains("probe of a000600.virtio_mmio failed with error -22"));
}

#[test]
fn behind_an_smmuv3_with_gicv2_type1_needs_unsafe_interrupts_and_says_so() {
    if guest_bin("SMMUv3 with GICv2").is_none() {
        return;
    }
    let steps = smmu_run("smmu-gicv2", "iommu=smmuv3");
    let (refused, rc) = steps.get("info");
    assert_ne!(*rc, 0, "{refused}");
    assert!(
        refused.contains("no interrupt remapping") && refused.contains("allow_unsafe_interrupts"),
        "{refused}"
    );
    assert!(!refused.contains("permission denied"), "not a permission problem: {refused}");
    assert!(steps.ok("dmesg").contains("No interrupt remapping support"));
    assert_type1_group(&steps, "info-allowed");
}

/// One corpus device of each class the eligible corpus devices cover, by board: an MMC host
/// with two supplies, a stmmac MAC with its MDIO bus and queue configuration, a MAC with its
/// PHY beneath it and a DMA controller. The MMC host and the MACs have drivers that require
/// clocks whose rates the host computes at run time, so the rates are given as a user would
/// give them after reading them on the board (`--clock-rate`; the boards are not running here:
/// the values are plausible, not read); the DMA controller's driver takes no clock.
const GUEST_DEVICES: [(&str, &[&str], &[&str]); 3] = [
    (
        "arm64/qcom/sc7280-crd-r3.dtb",
        &["/soc@0/mmc@7c4000"],
        &["--clock-rate", "iface=100000000", "--clock-rate", "core=192000000", "--clock-rate", "xo=19200000"],
    ),
    (
        "arm64/qcom/sa8155p-adp.dtb",
        &["/soc@0/ethernet@20000"],
        &[
            "--clock-rate",
            "stmmaceth=250000000",
            "--clock-rate",
            "pclk=100000000",
            "--clock-rate",
            "ptp_ref=230400000",
            "--clock-rate",
            "rgmii=125000000",
        ],
    ),
    (
        "arm64/renesas/r8a774a1-beacon-rzg2m-kit.dtb",
        &["/soc/dma-controller@e6700000", "/soc/ethernet@e6800000"],
        &["--clock-rate", "fck=133333333"],
    ),
];

/// The guest DTB `guest-dt --target qemu` makes of `boards` in `dir`: each board's devices (with
/// the flags given, their clock rates) merged into the tree the previous board's left, on QEMU's
/// own `virt` DT.
fn guest_tree(dir: &Path, corpus: &Path, boards: &[(&str, &[&str], &[&str])]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut base = dir.join("virt.dtb");
    let out = rig().arg("dumpdtb").arg(&base).args(DEVICES).output().unwrap();
    assert!(out.status.success(), "dumpdtb failed: {}", String::from_utf8_lossy(&out.stderr));
    for (i, (board, nodes, flags)) in boards.iter().enumerate() {
        let guest = dir.join(format!("guest-{i}.dtb"));
        let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
            .arg("guest-dt")
            .arg(corpus.join(board))
            .args(*nodes)
            .args(*flags)
            .args(["--target", "qemu", "--base"])
            .arg(&base)
            .arg("-o")
            .arg(&guest)
            .output()
            .unwrap();
        assert!(out.status.success(), "guest-dt {board}: {}", String::from_utf8_lossy(&out.stderr));
        base = guest;
    }
    base
}

/// Boots `guest` (a guest DTB) with Debian's fixed-regulator driver (a module of the rig's
/// kernel) for the stand-in regulators, and runs tests/kernel/guest.sh.
fn boot_guest(bin: &str, guest: &Path) -> Steps {
    let prepared = rig().arg("prepare").output().unwrap();
    let rig_dir = String::from_utf8_lossy(&prepared.stdout).lines().last().unwrap_or_default().to_string();
    let release = std::fs::read_dir(Path::new(&rig_dir).join("root/lib/modules"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .unwrap_or_default();
    let fixed = format!("{rig_dir}/root/lib/modules/{release}/kernel/drivers/regulator/fixed.ko");
    let adds = [format!("{fixed}=/lib/modules/KVER/kernel/drivers/regulator/fixed.ko")];
    boot_with(bin, "guest.sh", None, "mem=256M", guest, &adds)
}

/// The guest kernel registered each fixed clock (name, rate in Hz) in its clock summary.
fn assert_fixed_clocks(steps: &Steps, expected: &[(&str, &str)]) {
    let clocks = steps.ok("clocks");
    for (clock, hz) in expected {
        let mut lines = clocks.lines().map(|l| l.split_whitespace().collect::<Vec<_>>());
        assert!(
            lines.any(|w| w.first() == Some(clock) && w.contains(hz)),
            "no {clock} at {hz} Hz:\n{clocks}"
        );
    }
}

/// The GPU class: a Tegra X1's GM20B, whose two 16 MiB windows fill QEMU's platform bus alone.
/// nouveau requires its three clocks (the rates are given as a user would give them) and its
/// `gpu` reset line, which no guest device can provide: the tree builds only with `--drop
/// resets`, and nouveau would fail its probe on it. What the guest kernel shows is that the rest
/// of the tree (two windows, fixed clocks, the supply) is sound.
const GUEST_GPU: [(&str, &[&str], &[&str]); 1] = [(
    "arm64/nvidia/tegra210-p3450-0000.dtb",
    &["/gpu@57000000"],
    &[
        "--clock-rate",
        "gpu=76800000",
        "--clock-rate",
        "pwr=204000000",
        "--clock-rate",
        "ref=38400000",
        "--drop",
        "resets",
    ],
)];

#[test]
fn a_real_guest_kernel_creates_a_gpu_from_the_generated_tree() {
    let Some(bin) = guest_bin("a guest GPU on a real kernel") else { return };
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kernel-gpu-{}", std::process::id()));
    // Without --drop resets the build is refused, naming nouveau's getter.
    let (board, nodes, flags) = GUEST_GPU[0];
    let refused = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .arg("guest-dt")
        .arg(corpus.join(board))
        .args(nodes)
        .args(flags.iter().take_while(|f| **f != "--drop"))
        .args(["--target", "qemu", "--format", "json", "-o"])
        .arg(dir.join("refused.dtb"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["refused"][0]["property"], "resets", "{report}");
    assert_eq!(report["refused"][0]["guest_driver"]["reset"], "gpu", "{report}");
    assert_eq!(report["refused"][0]["guest_driver"]["driver"], "nouveau_platform_driver", "{report}");
    let steps = boot_guest(&bin, &guest_tree(&dir, &corpus, &GUEST_GPU));
    let devices = steps.ok("devices");
    assert!(devices.contains("c000000.gpu | nvidia,gm20b"), "{devices}");
    assert!(devices.contains("regulator-vdd-gpu | regulator-fixed"), "{devices}");
    assert_fixed_clocks(
        &steps,
        &[("clk-gpu-gpu", "76800000"), ("clk-gpu-pwr", "204000000"), ("clk-gpu-ref", "38400000")],
    );
    assert!(steps.ok("regulators").contains("VDD_GPU"), "{}", steps.ok("regulators"));
}

#[test]
fn a_real_guest_kernel_creates_each_class_of_device_from_the_generated_tree() {
    let Some(bin) = guest_bin("guest device trees on a real kernel") else { return };
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kernel-guest-{}", std::process::id()));
    let steps = boot_guest(&bin, &guest_tree(&dir, &corpus, &GUEST_DEVICES));
    // The stand-ins are platform devices of their own.
    for regulator in ["regulator-ldo7 | regulator-fixed", "regulator-ldo19 | regulator-fixed"] {
        assert!(steps.ok("devices").contains(regulator), "no {regulator}:\n{}", steps.ok("devices"));
    }

    // The platform devices, named by their guest addresses in the order they were placed.
    let devices = steps.ok("devices");
    for (name, compatible) in [
        ("c000000.mmc", "qcom,sc7280-sdhci qcom,sdhci-msm-v5"),
        ("c002000.ethernet", "qcom,sm8150-ethqos"),
        ("c013000.dma-controller", "renesas,dmac-r8a774a1 renesas,rcar-dmac"),
        ("c023000.ethernet", "renesas,etheravb-r8a774a1 renesas,etheravb-rcar-gen3"),
    ] {
        assert!(devices.contains(&format!("{name} | {compatible}")), "no {name} ({compatible}):\n{devices}");
    }
    // The parts beneath the MACs reached the guest's tree.
    let children = steps.ok("children");
    for part in [
        "ethernet@2000/mdio/phy@7/name",
        "ethernet@2000/rx-queues-config/queue0/name",
        "ethernet@2000/tx-queues-config/name",
        "ethernet@23000/ethernet-phy@0/name",
    ] {
        assert!(children.contains(part), "no {part}:\n{children}");
    }
    // The fixed clocks stand in for the host's, at the rates given.
    assert_fixed_clocks(
        &steps,
        &[
            ("clk-mmc-core", "192000000"),
            ("clk-ethernet-rgmii", "125000000"),
            ("clk-ethernet-fck", "133333333"),
        ],
    );
    // The MMC host's supplies: fixed regulators the guest kernel registers at the host's voltages.
    let regulators = steps.ok("regulators");
    assert!(regulators.contains("ldo7 2960000"), "{regulators}");
    assert!(regulators.contains("ldo19 1800000"), "{regulators}");
}
