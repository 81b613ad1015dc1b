//! `platreset guest-dt --target qemu`: a fragment on stdout, a whole guest DTB on QEMU's own base,
//! and nothing written when the tree cannot be built.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::os::unix::fs::FileTypeExt;
use std::process::{Command, Output};

use serde_json::Value;

/// Standard error with every run of whitespace made one space: text wraps at 80 columns.
fn flat_stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

struct Dir(ScratchDir);

impl Dir {
    fn new(tag: &str) -> Dir {
        Dir(ScratchDir::new(&format!("guest-dt-{tag}")))
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

/// Compiles `tests/dts/<name>.dts` into `dir`; returns the DTB's path.
fn fixture_in(dir: &Dir, name: &str) -> String {
    let path = dir.path(&format!("{name}.dtb"));
    std::fs::write(&path, platreset_testkit::fixture(name)).unwrap();
    path
}

/// The rates a user of the demo board gives: the SD host's and the MAC's drivers require their
/// module clocks and read their rates, which the CPG/MSSR driver computes at run time.
const SDHI0_RATE: &str = "core=200000000";
const AVB_RATE: &str = "fck=133333333";

/// The decision on property `name` of the report's first device.
fn property<'a>(report: &'a Value, name: &str) -> &'a Value {
    let all = report["devices"][0]["properties"].as_array().expect("a build report");
    all.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no property {name}: {report}"))
}

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").to_str().unwrap().to_string()
}

#[test]
fn without_a_base_the_fragment_goes_to_stdout_and_dtc_compiles_it() {
    let dir = Dir::new("fragment");
    let out = run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "qemu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dts = dir.path("frag.dts");
    std::fs::write(&dts, &out.stdout).unwrap();
    let dtc = Command::new("dtc").args(["-I", "dts", "-O", "dtb", "-o", "/dev/null", &dts]).output().unwrap();
    assert!(dtc.status.success(), "{}", String::from_utf8_lossy(&dtc.stderr));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("region 0xee100000 size 0x2000 -> guest 0x0"), "{report}");
    let fragment = String::from_utf8_lossy(&out.stdout);
    assert!(
        fragment.contains("compatible = \"fixed-clock\"")
            && fragment.contains("clock-frequency = <0xbebc200>"),
        "{fragment}"
    );
    // Without the rate the SD host is refused: its driver requires the clock.
    let refused = run(&["guest-dt", &demo(), "sdhi0", "--target", "qemu"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(flat_stderr(&refused).contains("requires clock `core`"), "{}", flat_stderr(&refused));
    // The DMA controller's driver takes no clock: dropped, the clock domain runs it.
    let dmac = run(&["guest-dt", &demo(), "dmac0", "--target", "qemu"]);
    assert!(dmac.status.success(), "{}", String::from_utf8_lossy(&dmac.stderr));
    let report = flat_stderr(&dmac);
    assert!(report.contains("clocks warning: dropped") && report.contains("rcar_dmac_driver"), "{report}");
}

#[test]
fn the_guest_drivers_clock_needs_are_in_the_json_with_the_getter_they_rest_on() {
    let refused = run(&["guest-dt", &demo(), "sdhi0", "--target", "qemu", "--format", "json"]);
    let report: Value = serde_json::from_slice(&refused.stdout).unwrap();
    let need = &report["refused"][0]["guest_driver"];
    assert_eq!(need["needs"], "clock", "{report}");
    assert_eq!(need["driver"], "renesas_internal_dmac_sdhi_driver");
    assert_eq!(need["file"], "drivers/mmc/host/renesas_sdhi_internal_dmac.c");
    assert_eq!(need["getter"]["call"], "devm_clk_get");
    assert!(need["getter"]["at"].as_str().unwrap().starts_with("drivers/mmc/host/renesas_sdhi_core.c:"));
    assert_eq!(need["clock"], "core", "the node's name for the driver's unnamed first clock");
    // The printed command builds, but not a tree that driver probes on: both say so.
    assert_eq!(
        (report["command_builds"].as_bool(), report["command_works"].as_bool()),
        (Some(true), Some(false))
    );
    let text = flat_stderr(&refused);
    assert!(
        text.contains("warning: the tree it builds will not work: the guest's driver requires what --drop clocks removes; a tree that works needs the clock rates instead"),
        "{text}"
    );

    let dir = Dir::new("guest-driver-json");
    let out = dir.path("guest.dts");
    let built = run(&["guest-dt", &demo(), "dmac0", "--target", "qemu", "-o", &out, "--format", "json"]);
    let report: Value = serde_json::from_slice(&built.stdout).unwrap();
    let clocks = property(&report, "clocks");
    assert_eq!(clocks["action"], "drop-with-warning");
    assert_eq!(clocks["guest_driver"]["needs"], "nothing");
    assert_eq!(clocks["guest_driver"]["driver"], "rcar_dmac_driver");
    // A property decided without the evidence carries no such field.
    let compatible = property(&report, "compatible");
    assert!(compatible.get("guest_driver").is_none(), "{compatible}");
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
        "--clock-rate",
        SDHI0_RATE,
        "--clock-rate",
        AVB_RATE,
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
    let host = fixture_in(&dir, "guest-props");
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
    let no_output =
        run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "qemu", "--base", &host]);
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
            "--clock-rate",
            SDHI0_RATE,
            "--clock-rate",
            AVB_RATE,
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
    let binary = run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "xen"]);
    assert_eq!(binary.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&binary.stderr).contains("name the file with -o"));
}

#[test]
fn an_output_that_cannot_be_written_is_named_as_an_output() {
    let dir = Dir::new("unwritable");
    let out = run(&[
        "guest-dt",
        &demo(),
        "sdhi0",
        "--clock-rate",
        SDHI0_RATE,
        "--target",
        "qemu",
        "-o",
        &dir.path("no/such/dir/guest.dts"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write output") && err.contains("no/such/dir/guest.dts"), "{err}");
}

/// The lines a terminal shows that are longer than 80 columns, apart from the VMM's lines (pasted
/// whole) and single words longer than a line.
fn too_wide(text: &str) -> Vec<&str> {
    let mut pasted = false;
    text.lines()
        .filter(|l| {
            if l.ends_with(':') && !l.starts_with(' ') {
                pasted = *l == "For the VMM:";
            }
            !pasted && l.chars().count() > 80 && l.trim().contains(' ')
        })
        .collect()
}

/// The command a refusal prints after "To build it, run:", its ` \` continuations joined.
fn suggested_command(stderr: &str) -> Vec<String> {
    let after = stderr.split("To build it, run:\n").nth(1).expect("a command to run");
    let mut words = Vec::new();
    for line in after.lines() {
        words.extend(line.trim().trim_end_matches('\\').split_whitespace().map(str::to_string));
        if !line.ends_with('\\') {
            break;
        }
    }
    words
}

#[test]
fn every_refusal_at_once_and_the_printed_command_builds_what_each_flag_costs_said() {
    let dir = Dir::new("refusals");
    let host = fixture_in(&dir, "guest-supplies");
    let guest = dir.path("guest.dts");
    let out = run(&["guest-dt", &host, "/usb@31000", "sdhi0", "--target", "qemu", "-o", &guest]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot build the guest device tree: 4 refusals"), "{err}");
    for property in ["clocks", "phys", "reset-gpios", "vdd-supply"] {
        assert!(err.contains(&format!("property {property}: ")), "{property}: {err}");
    }
    assert!(!err.contains("property vbus-supply") && !err.contains("property vmmc-supply"), "placed: {err}");
    // The MMC host's card-detect GPIO is no refusal: its binding's broken-cd replaces it.
    assert!(!err.contains("cd-gpios"), "{err}");
    assert!(err.contains("--clock-rate core=HZ instead keeps a fixed clock"), "{err}");
    assert!(too_wide(&err).is_empty(), "fits a terminal: {:?}", too_wide(&err));
    assert!(!std::path::Path::new(&guest).exists(), "no partial output");

    let command = suggested_command(&err);
    assert_eq!(&command[..2], ["platreset", "guest-dt"], "{command:?}");
    let drops: Vec<&str> = command.windows(2).filter(|w| w[0] == "--drop").map(|w| w[1].as_str()).collect();
    assert_eq!(drops, ["clocks", "phys", "reset-gpios", "vdd-supply"]);
    let args: Vec<&str> = command[1..].iter().map(String::as_str).collect();
    let ok = run(&args);
    assert!(ok.status.success(), "the printed command builds: {}", String::from_utf8_lossy(&ok.stderr));
    let dtc =
        Command::new("dtc").args(["-I", "dts", "-O", "dtb", "-o", "/dev/null", &guest]).output().unwrap();
    assert!(dtc.status.success(), "{}", String::from_utf8_lossy(&dtc.stderr));
    let dts = std::fs::read_to_string(&guest).unwrap();
    assert!(dts.contains("regulator-vbus {") && dts.contains("regulator-3p3v {"), "{dts}");
    assert!(dts.contains("broken-cd;") && !dts.contains("cd-gpios"), "{dts}");
}

#[test]
fn a_refusal_in_json_lists_each_problem_with_its_flag_and_the_command() {
    let dir = Dir::new("refusal-json");
    let host = fixture_in(&dir, "guest-supplies");
    let out = run(&[
        "guest-dt",
        &host,
        "/usb@31000",
        "--target",
        "xen",
        "-o",
        &dir.path("g.dtb"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 4);
    assert_eq!(refused[1]["property"], "phys");
    assert_eq!(refused[1]["flag"], "--drop phys");
    assert!(refused[1]["cost"].as_str().unwrap().contains("PHY"));
    assert!(refused[1]["why"].as_str().unwrap().starts_with("`phys` references host node /usb-phy@5000"));
    assert_eq!(report["command_builds"], true);
    assert!(report["command"]
        .as_str()
        .unwrap()
        .ends_with("--drop clocks --drop phys --drop reset-gpios --drop vdd-supply"));

    // What no flag lifts: no command, and the flags for the rest.
    let out = run(&["guest-dt", &host, "/tangle@32000", "--target", "qemu"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No flag builds it: 2 of the refusals above have none."), "{err}");
    assert!(
        err.contains("subnode child: a device of its own") && err.contains("[no flag lifts this]"),
        "{err}"
    );
    assert!(err.contains("--drop wp-gpios: the guest cannot read the write-protect switch"), "{err}");
    assert!(!err.contains("To build it"), "{err}");
}

#[test]
fn supplies_are_reported_with_the_host_regulator_to_keep_on_and_the_qemu_releases_served() {
    let dir = Dir::new("supplies");
    let host = fixture_in(&dir, "guest-supplies");
    let out = run(&["guest-dt", &host, "sdhi0", "--target", "qemu", "--drop", "cd-gpios"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("vmmc-supply              regulator: guest regulator-fixed `fixed-3.3V`"),
        "{text}"
    );
    assert!(text.contains("    note: the host must keep `fixed-3.3V` (/regulator-3p3v) on after"), "{text}");
    assert!(text.contains("    warning: the host must keep `SDHI0 VccQ` (/regulator-vccq-sdhi0)"), "{text}");
    assert!(text.contains("note: qemu: for QEMU 10.1 and older"), "{text}");
    assert!(too_wide(&text).is_empty(), "fits a terminal: {:?}", too_wide(&text));

    let json =
        run(&["guest-dt", &host, "sdhi0", "--target", "qemu", "--drop", "cd-gpios", "--format", "json"]);
    let report: Value = serde_json::from_slice(&json.stderr).unwrap();
    let supplies = report["devices"][0]["supplies"].as_array().unwrap();
    assert_eq!(supplies.len(), 2);
    assert_eq!(supplies[0]["host_regulator"], "/regulator-3p3v");
    assert_eq!(supplies[0]["microvolt"], 3_300_000);
    assert_eq!(
        (supplies[0]["host_keeps_it_on"].as_str(), supplies[0]["warning"].as_bool()),
        (Some("always-on"), Some(false))
    );
    assert_eq!((supplies[1]["microvolt"].is_null(), supplies[1]["warning"].as_bool()), (true, Some(true)));
    assert_eq!(report["devices"][0]["properties"][3]["action"], "fixed-regulator", "{report}");

    let help = run(&["guest-dt", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("QEMU 10.1 and older") && help.contains("removed in 10.2"), "{help}");
}

#[test]
fn an_output_onto_a_symlink_or_a_fifo_is_refused_and_leaves_everything_as_it_was() {
    let dir = Dir::new("hostile-out");
    let victim = dir.path("victim");
    std::fs::write(&victim, b"keep").unwrap();
    let link = dir.path("guest.dts");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out =
        run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "qemu", "-o", &link]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    let fifo = dir.path("fifo.dts");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out =
        run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "qemu", "-o", &fifo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    let names: Vec<_> = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "no temporary left behind: {names:?}");
}

#[test]
fn an_avf_pair_is_written_whole_or_not_at_all() {
    let dir = Dir::new("avf-pair");
    let dtbo = dir.path("vm.dtbo");
    // Where the .xml beside it would go stands a directory: the .dtbo must not be left alone.
    std::fs::create_dir(dir.path("vm-assignable_devices.xml")).unwrap();
    let out =
        run(&["guest-dt", &demo(), "sdhi0", "--clock-rate", SDHI0_RATE, "--target", "avf", "-o", &dtbo]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!std::path::Path::new(&dtbo).exists(), "the .dtbo was written without its .xml");
}

/// A fake root whose clock summary lists `12000.unpowered` taking `core` (the layout of kernels
/// that list consumers), and whose /sys/firmware/fdt is guest-props.
fn live_root(dir: &Dir, summary: bool) -> String {
    let root = dir.path("root");
    std::fs::create_dir_all(format!("{root}/sys/firmware")).unwrap();
    std::fs::write(format!("{root}/sys/firmware/fdt"), platreset_testkit::fixture("guest-props")).unwrap();
    if summary {
        std::fs::create_dir_all(format!("{root}/sys/kernel/debug/clk")).unwrap();
        std::fs::write(
            format!("{root}/sys/kernel/debug/clk/clk_summary"),
            "                                 enable  prepare  protect                                duty  hardware                            connection\n   clock                          count    count    count        rate   accuracy phase  cycle    enable   consumer                         id\n---------------------------------------------------------------------------------------------------------------------------------------------\n pll-spi                              1       1        0        48000000    0          0     50000  Y      12000.unpowered                 core\n",
        )
        .unwrap();
    }
    root
}

#[test]
fn from_host_reads_the_running_hosts_rates_and_the_hosts_own_tree_uses_them_unasked() {
    let dir = Dir::new("from-host");
    let root = live_root(&dir, true);
    let copy = fixture_in(&dir, "guest-props");
    // A copy of the tree: the rate is the run-time one, and the refusal says where it is.
    let out = run(&["guest-dt", &copy, "/unpowered@12000", "--target", "qemu"]);
    assert_eq!(out.status.code(), Some(1));
    let err = flat_stderr(&out);
    assert!(err.contains("read it from the running host with --from-host"), "{err}");
    // Asked for: the summary's rate, and where it came from.
    let out = run(&[
        "guest-dt",
        &copy,
        "/unpowered@12000",
        "--target",
        "qemu",
        "--from-host",
        "--sysfs-root",
        &root,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        // The DTS fragment goes to stdout; the report then goes to stderr.
        serde_json::from_slice(&out.stderr).unwrap()
    });
    let clocks = property(&report, "clocks");
    assert_eq!(clocks["action"], "fixed-clocks");
    assert!(
        clocks["why"]
            .as_str()
            .unwrap()
            .contains("core = 48000000 Hz, from the running host: clock `pll-spi`"),
        "{clocks}"
    );
    // The running host's own tree: used without the flag.
    let own = format!("{root}/sys/firmware/fdt");
    let out = run(&["guest-dt", &own, "/unpowered@12000", "--target", "qemu", "--sysfs-root", &root]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("clock-frequency = <0x2dc6c00>;"));
    // Said without --explain: the tree does not hold the rate.
    let said = flat_stderr(&out);
    assert!(said.contains("note: clock rates read from the running host"), "{said}");
}

#[test]
fn from_host_without_a_readable_summary_says_what_it_needs() {
    let dir = Dir::new("from-host-missing");
    let root = live_root(&dir, false);
    let copy = fixture_in(&dir, "guest-props");
    let out = run(&[
        "guest-dt",
        &copy,
        "/unpowered@12000",
        "--target",
        "qemu",
        "--from-host",
        "--sysfs-root",
        &root,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = flat_stderr(&out);
    assert!(
        err.contains("--from-host") && err.contains("clk_summary") && err.contains("debugfs mounted"),
        "{err}"
    );
    // The host's own tree without a summary: the tree's rates only, as before.
    let own = format!("{root}/sys/firmware/fdt");
    let out = run(&["guest-dt", &own, "/unpowered@12000", "--target", "qemu", "--sysfs-root", &root]);
    assert_eq!(out.status.code(), Some(1));
}
