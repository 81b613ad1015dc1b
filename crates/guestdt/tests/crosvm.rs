//! The crosvm target: an overlay `dtc` reads, shaped exactly as `dtc -@` compiles the same
//! source, that `fdtoverlay` applies onto QEMU's `virt` base with the fixed clocks' phandles
//! resolved, without any host-only property, matching a golden DTS for the demo SoC; the `--vfio`
//! and `--device-tree-overlay` arguments; the 1 GiB window and the name and label collisions.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{demo, devices};
use platreset_dtedit::{from_fdt, to_dts, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{crosvm, GuestError, HostDevice, Output, Overrides, TargetOptions};

/// sdhi0 and ethernet0 (labelled `avb`) of the demo SoC.
fn demo_devices() -> Vec<HostDevice> {
    devices(&demo(), &["sdhi0", "ethernet0"])
}

/// `/known@10000` of guest-props.dts: two clocks of known rates, no host label.
fn clocked_device() -> HostDevice {
    let host = platreset_testkit::compile_dts(&platreset_testkit::fixtures_dir().join("guest-props.dts"));
    devices(&host, &["/known@10000"]).remove(0)
}

fn dtbo(output: &Output) -> &[u8] {
    assert_eq!(output.files.len(), 1);
    assert_eq!(output.files[0].0, ".dtbo");
    &output.files[0].1
}

fn tree(blob: &[u8]) -> DtNode {
    from_fdt(&Fdt::parse(blob).unwrap())
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("platreset-crosvm-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str], paths: &[&Path]) -> String {
    let out = Command::new(program).args(args).args(paths).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fdtget(dtb: &Path, node: &str, prop: &str) -> String {
    let out = Command::new("fdtget").arg(dtb).args([node, prop]).output().unwrap();
    assert!(out.status.success(), "fdtget {node} {prop}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn cells(value: &[u8]) -> Vec<u32> {
    value.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn string(value: &[u8]) -> &str {
    std::str::from_utf8(value.strip_suffix(&[0]).unwrap()).unwrap()
}

#[test]
fn dtc_reads_the_overlay_a_fragment_on_the_root_with_host_regs_and_spis_as_placeholders() {
    let output = crosvm::build(&demo_devices(), &TargetOptions::default()).unwrap();
    let s = Scratch::new("parse");
    let dts = run("dtc", &["-I", "dtb", "-O", "dts"], &[&s.write("guest.dtbo", dtbo(&output))]);
    assert!(dts.contains("target-path = \"/\";"), "{dts}");

    let root = tree(dtbo(&output));
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    let names: Vec<&str> = overlay.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["clk-sdhi0-core", "mmc@ee100000", "clk-avb-fck", "ethernet@e6800000"],
        "named after the first host address, each after its fixed clock"
    );
    let mmc = overlay.child("mmc@ee100000").unwrap();
    assert_eq!(cells(mmc.prop("reg").unwrap()), [0, 0xee10_0000, 0, 0x2000], "64-bit host address/size");
    assert_eq!(cells(mmc.prop("interrupts").unwrap()), [0, 165, 4], "the host's SPI and trigger");
    let eth = overlay.child("ethernet@e6800000").unwrap();
    assert_eq!(cells(eth.prop("interrupts").unwrap()), [0, 39, 4, 0, 40, 4]);
    assert_eq!(
        string(root.find("/__symbols__").unwrap().prop("sdhi0").unwrap()),
        "/fragment@0/__overlay__/mmc@ee100000"
    );
    assert_eq!(
        string(root.find("/__symbols__").unwrap().prop("avb").unwrap()),
        "/fragment@0/__overlay__/ethernet@e6800000",
        "the host's labels"
    );
    assert!(root.child("__fixups__").is_none(), "nothing refers to the base");
    let fixups = root.find("/__local_fixups__/fragment@0/__overlay__").unwrap();
    for device in ["mmc@ee100000", "ethernet@e6800000"] {
        assert_eq!(
            cells(fixups.child(device).unwrap().prop("clocks").unwrap()),
            [0],
            "{device}: its fixed clock"
        );
    }
    assert_eq!(output.placed[1].regs, [(0xe680_0000, 0xe680_0000, 0x800)], "the placeholder crosvm rewrites");
    assert!(output.notes.iter().any(|n| n.contains("crosvm chooses")), "{:?}", output.notes);
}

#[test]
fn the_overlay_is_what_dtc_at_compiles_from_the_same_source() {
    let output = crosvm::build(&[clocked_device()], &TargetOptions::default()).unwrap();
    // The node the policy gives a guest, written by hand with labels and references.
    let source = r#"/dts-v1/;
/plugin/;

/ {
	fragment@0 {
		target-path = "/";

		__overlay__ {
			clk_dev_10000_baud: clk-dev-10000-baud {
				compatible = "fixed-clock";
				#clock-cells = <0>;
				clock-frequency = <24000000>;
			};

			clk_dev_10000_bus: clk-dev-10000-bus {
				compatible = "fixed-clock";
				#clock-cells = <0>;
				clock-frequency = <100000000>;
			};

			dev_10000: known@10000 {
				compatible = "acme,uart", "ns16550a";
				reg = /bits/ 64 <0x10000 0x100>;
				interrupts = <0 10 4>, <0 11 1>;
				clocks = <&clk_dev_10000_baud>, <&clk_dev_10000_bus>;
				clock-names = "baud", "bus";
				reg-io-width = <4>;
				acme,mode = "fast";
				dma-coherent;
			};
		};
	};
};
"#;
    let s = Scratch::new("dtc-at");
    let reference = s.0.join("reference.dtbo");
    run(
        "dtc",
        &["-q", "-@", "-I", "dts", "-O", "dtb", "-o"],
        &[&reference, &s.write("reference.dts", source.as_bytes())],
    );
    let expected = tree(&std::fs::read(&reference).unwrap());
    let ours = tree(dtbo(&output));
    assert_eq!(
        to_dts(&ours).unwrap(),
        to_dts(&expected).unwrap(),
        "phandles, __symbols__ and __local_fixups__ as dtc -@ writes them"
    );
    let fixups = ours.find("/__local_fixups__/fragment@0/__overlay__/known@10000").unwrap();
    assert_eq!(cells(fixups.prop("clocks").unwrap()), [0, 4], "the byte offset of each local phandle");
}

#[test]
fn fdtoverlay_applies_it_on_qemus_virt_base_and_the_clocks_point_at_the_fixed_clocks() {
    let mut all = demo_devices();
    all.push(clocked_device());
    let output = crosvm::build(&all, &TargetOptions::default()).unwrap();
    let s = Scratch::new("apply");
    let applied = common::apply_on_virt(&s.0, dtbo(&output));

    assert_eq!(
        fdtget(&applied, "/mmc@ee100000", "compatible"),
        "renesas,sdhi-r8a774a1 renesas,rcar-gen3-sdhi"
    );
    assert_eq!(fdtget(&applied, "/ethernet@e6800000", "interrupt-names"), "ch0 ch1");
    let clocks = fdtget(&applied, "/known@10000", "clocks");
    let baud = fdtget(&applied, "/clk-dev-10000-baud", "phandle");
    let bus = fdtget(&applied, "/clk-dev-10000-bus", "phandle");
    assert_eq!(clocks, format!("{baud} {bus}"), "the local phandles follow the clocks' new phandles");
    assert_eq!(fdtget(&applied, "/clk-dev-10000-baud", "clock-frequency"), "24000000");
    assert_eq!(fdtget(&applied, "/clk-dev-10000-bus", "clock-frequency"), "100000000");
    let base_max = tree(&platreset_testkit::qemu_virt_dtb()).max_phandle();
    assert!(baud.parse::<u32>().unwrap() > base_max, "moved past the base's phandles ({base_max:#x})");
    assert_eq!(
        fdtget(&applied, "/__symbols__", "sdhi0"),
        "/mmc@ee100000",
        "the label now names the base path"
    );
    assert_eq!(fdtget(&applied, "/__symbols__", "dev_10000"), "/known@10000");
}

#[test]
fn no_host_only_property_reaches_the_overlay_and_every_clocks_cell_is_a_local_phandle() {
    let host = demo();
    let mut all =
        devices(&host, &["sdhi0", "ethernet0", "/soc/dma-controller@e6700000", "/soc/pwm@e6e30000"]);
    all.push(clocked_device());
    let root = tree(dtbo(&crosvm::build(&all, &TargetOptions::default()).unwrap()));
    let holders = [
        "resets",
        "reset-names",
        "power-domains",
        "iommus",
        "dmas",
        "dma-names",
        "pinctrl-0",
        "phys",
        "assigned-clocks",
        "assigned-clock-rates",
        "interrupt-parent",
    ];
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    let fixups = root.find("/__local_fixups__/fragment@0/__overlay__");
    for node in &overlay.children {
        assert!(node.children.is_empty());
        for prop in &node.props {
            assert!(!holders.contains(&prop.name.as_str()), "{} has {}", node.name, prop.name);
        }
        if let Some(clocks) = node.prop("clocks") {
            let offsets = cells(fixups.unwrap().child(&node.name).unwrap().prop("clocks").unwrap());
            let all: Vec<u32> = (0..clocks.len() as u32 / 4).map(|i| i * 4).collect();
            assert_eq!(offsets, all, "{}: every cell of clocks is a phandle of the overlay", node.name);
        }
    }
    assert!(overlay.child("known@10000").unwrap().prop("clocks").is_some(), "the fixed clocks are there");
    let fdt = Fdt::parse(&host).unwrap();
    assert!(fdt.find_path("/soc/mmc@ee100000").unwrap().property("iommus").is_some(), "the host had them");
}

/// Compares the overlay's DTS with `tests/golden/<name>` (PLATRESET_BLESS=1 rewrites it), which
/// `dtc` must compile.
fn matches_golden(output: &Output, name: &str) {
    let dts = to_dts(&tree(dtbo(output))).unwrap();
    let golden = platreset_testkit::repo_root().join("tests/golden").join(name);
    if std::env::var_os("PLATRESET_BLESS").is_some() {
        std::fs::write(&golden, &dts).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(dts, expected, "run with PLATRESET_BLESS=1 to accept the new output, then review the diff");
    let out = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o", "/dev/null"])
        .arg(&golden)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_demo_sdhi0_and_ethernet0_overlay_matches_its_golden_file() {
    let output = crosvm::build(&demo_devices(), &TargetOptions::default()).unwrap();
    matches_golden(&output, "crosvm-demo-sdhi0-ethernet0.dts");
}

#[test]
fn the_demo_sdhi0_with_its_clock_rate_given_matches_its_golden_file() {
    let host = demo();
    let fdt = Fdt::parse(&host).unwrap();
    let overrides = Overrides { clock_rates: vec![("core".into(), 200_000_000)], ..Overrides::default() };
    let sdhi0 = HostDevice::read(&Tree::new(&fdt), &fdt.resolve("sdhi0").unwrap(), &overrides).unwrap();
    let output = crosvm::build(&[sdhi0], &TargetOptions::default()).unwrap();
    matches_golden(&output, "crosvm-demo-sdhi0-clock.dts");
}

#[test]
fn the_arguments_name_each_sysfs_device_and_label_then_the_filtered_overlay() {
    let output = crosvm::build(&demo_devices(), &TargetOptions::default()).unwrap();
    assert_eq!(
        output.lines,
        [
            "--vfio /sys/bus/platform/devices/ee100000.mmc,iommu=off,dt-symbol=sdhi0",
            "--vfio /sys/bus/platform/devices/e6800000.ethernet,iommu=off,dt-symbol=avb",
            "--device-tree-overlay guest.dtbo,filter",
        ],
        "the kernel's `<address>.<node name>`; the CLI puts the real path in place of guest.dtbo"
    );
    let options = TargetOptions {
        sysfs_names: vec![("/soc/ethernet@e6800000".into(), "e6800000.ethernet-avb".into())],
        ..TargetOptions::default()
    };
    let output = crosvm::build(&demo_devices(), &options).unwrap();
    assert_eq!(
        output.lines[1],
        "--vfio /sys/bus/platform/devices/e6800000.ethernet-avb,iommu=off,dt-symbol=avb"
    );
}

#[test]
fn a_device_without_a_host_label_gets_dev_and_its_address() {
    let output = crosvm::build(&[clocked_device()], &TargetOptions::default()).unwrap();
    assert_eq!(output.lines[0], "--vfio /sys/bus/platform/devices/10000.known,iommu=off,dt-symbol=dev_10000");
    let root = tree(dtbo(&output));
    assert_eq!(
        string(root.find("/__symbols__").unwrap().prop("dev_10000").unwrap()),
        "/fragment@0/__overlay__/known@10000"
    );
}

#[test]
fn two_unlabelled_devices_of_one_kind_get_their_own_clocks() {
    let first = clocked_device();
    let mut second = first.clone();
    second.path = "/known@20000".into();
    second.regions = vec![(0x20000, 0x100)];
    let root = tree(dtbo(&crosvm::build(&[first, second], &TargetOptions::default()).unwrap()));
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    assert!(overlay.child("clk-dev-10000-baud").is_some() && overlay.child("clk-dev-20000-baud").is_some());
    let a = cells(overlay.child("known@10000").unwrap().prop("clocks").unwrap());
    let b = cells(overlay.child("known@20000").unwrap().prop("clocks").unwrap());
    assert!(a.iter().all(|p| !b.contains(p)), "{a:?} {b:?}");
}

#[test]
fn regions_beyond_the_1_gib_platform_window_are_refused_by_how_much() {
    let mut big = clocked_device();
    big.regions = vec![(0x1_0000_0000, 0x4000_0000), (0x2_0000_0000, 0x10)];
    let err = crosvm::build(&[big], &TargetOptions::default()).unwrap_err();
    let GuestError::WindowFull { needed, size, .. } = &err else { panic!("{err}") };
    assert_eq!((*needed, *size), (0x4000_1000, 0x4000_0000), "regions are page-aligned");
    assert!(err.to_string().contains("0x1000 bytes too many (/known@10000)"), "{err}");
}

#[test]
fn the_same_device_twice_collides_by_node_name() {
    let mut twice = demo_devices();
    twice.push(twice[0].clone());
    let err = crosvm::build(&twice, &TargetOptions::default()).unwrap_err();
    let GuestError::Collision { what, first, second, .. } = &err else { panic!("{err}") };
    assert_eq!(
        (*what, first.as_str(), second.as_str()),
        ("node names", "/soc/mmc@ee100000", "/soc/mmc@ee100000")
    );
}

#[test]
fn a_base_node_or_label_of_the_same_name_is_a_collision_naming_both() {
    let s = Scratch::new("base");
    let source = "/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\tintc: intc {\n\t\tinterrupt-controller;\n\t};\n\tmmc@ee100000 {\n\t};\n\tsdhi0: sd {\n\t};\n};\n";
    let base = tree(&platreset_testkit::compile_dts(&s.write("base.dts", source.as_bytes())));
    let options = TargetOptions { base: Some(base.clone()), ..TargetOptions::default() };
    let err = crosvm::build(&demo_devices(), &options).unwrap_err();
    let GuestError::Collision { what, first, second, .. } = &err else { panic!("{err}") };
    assert_eq!(
        (*what, first.as_str(), second.as_str()),
        ("node names", "/mmc@ee100000 of the base", "/soc/mmc@ee100000")
    );

    let mut base = base;
    base.remove_child("mmc@ee100000");
    let options = TargetOptions { base: Some(base), ..TargetOptions::default() };
    let err = crosvm::build(&demo_devices(), &options).unwrap_err();
    let GuestError::Collision { what, first, second, .. } = &err else { panic!("{err}") };
    assert_eq!((*what, first.as_str(), second.as_str()), ("labels", "/sd of the base", "/soc/mmc@ee100000"));
}
