//! The AVF target: a VM DTBO that dtc reads and fdtoverlay applies, laid out as the AVF device
//! assignment README describes (`/host` with the physical reg, iommus and unique IOMMU tokens,
//! one fragment onto `/`, `__symbols__` and `__local_fixups__`), the assignable_devices.xml
//! entries, the `vm run-microdroid` line, the refusals, and golden files for the demo SoC.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{demo, devices};
use platreset_dtedit::{from_fdt, to_dts, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::{avf, GuestError, Output, TargetOptions};

fn demo_output() -> Output {
    avf::build(&devices(&demo(), &["sdhi0", "ethernet0"]), &TargetOptions::default()).unwrap()
}

fn file<'o>(output: &'o Output, suffix: &str) -> &'o [u8] {
    &output.files.iter().find(|(s, _)| s == suffix).unwrap().1
}

fn dtbo_tree(output: &Output) -> DtNode {
    from_fdt(&Fdt::parse(file(output, ".dtbo")).unwrap())
}

fn cells(node: &DtNode, prop: &str) -> Vec<u32> {
    node.prop(prop)
        .unwrap_or_else(|| panic!("{} has no {prop}", node.name))
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("platreset-avf-{}-{name}", std::process::id()))
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `fdtoverlay` applies `dtbo` onto a small base (a GIC and 2/2 cells, as crosvm's root has);
/// returns the result as DTS.
fn apply_onto_small_base(dtbo: &[u8], tag: &str) -> String {
    let (base_dts, base, overlay, merged) = (
        temp(&format!("{tag}-base.dts")),
        temp(&format!("{tag}-base.dtb")),
        temp(&format!("{tag}.dtbo")),
        temp(&format!("{tag}-merged.dtb")),
    );
    std::fs::write(
        &base_dts,
        "/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\tinterrupt-parent = <&gic>;\n\
         \tgic: intc@3fff0000 {\n\t\tcompatible = \"arm,gic-v3\";\n\t\t#interrupt-cells = <3>;\n\
         \t\tinterrupt-controller;\n\t\treg = <0x0 0x3fff0000 0x0 0x10000>;\n\t};\n};\n",
    )
    .unwrap();
    std::fs::write(&overlay, dtbo).unwrap();
    let p = |p: &PathBuf| p.to_str().unwrap().to_string();
    run("dtc", &["-@", "-q", "-I", "dts", "-O", "dtb", "-o", &p(&base), &p(&base_dts)]);
    run("fdtoverlay", &["-i", &p(&base), "-o", &p(&merged), &p(&overlay)]);
    let dts = run("dtc", &["-q", "-I", "dtb", "-O", "dts", &p(&merged)]);
    for f in [base_dts, base, overlay, merged] {
        let _ = std::fs::remove_file(f);
    }
    dts
}

#[test]
fn dtc_reads_the_dtbo_and_fdtoverlay_applies_it_onto_a_base() {
    let output = demo_output();
    let path = temp("read.dtbo");
    std::fs::write(&path, file(&output, ".dtbo")).unwrap();
    let dts = run("dtc", &["-q", "-I", "dtb", "-O", "dts", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert!(dts.contains("target-path = \"/\";"), "{dts}");

    let merged = apply_onto_small_base(file(&output, ".dtbo"), "demo");
    let fdt_dts = merged.as_str();
    assert!(fdt_dts.contains("\tmmc {"), "the device nodes land at the root: {merged}");
    assert!(fdt_dts.contains("\tethernet {"), "{merged}");
    assert!(fdt_dts.contains("sdhi0 = \"/mmc\";"), "the labels follow into __symbols__: {merged}");
    assert!(fdt_dts.contains("avb = \"/ethernet\";"), "{merged}");
    assert!(!fdt_dts.contains("host {"), "/host verifies the assignment and is never applied: {merged}");
    assert!(!fdt_dts.contains("android,pvmfw"), "{merged}");
}

#[test]
fn the_host_node_records_physical_regions_iommus_and_each_target() {
    let root = dtbo_tree(&demo_output());
    let host = root.child("host").unwrap();
    assert_eq!(cells(host, "#address-cells"), [2]);
    assert_eq!(cells(host, "#size-cells"), [2]);
    let sdhi = host.child("mmc@ee100000").unwrap();
    let avb = host.child("ethernet@e6800000").unwrap();
    assert_eq!(cells(sdhi, "reg"), [0, 0xee10_0000, 0, 0x2000], "host CPU addresses, 2/2 cells");
    assert_eq!(cells(avb, "reg"), [0, 0xe680_0000, 0, 0x800]);

    // Both sit behind the one SMMU: one IOMMU node, the token its base MMIO address.
    let iommu = host.child("iommu0").unwrap();
    assert!(host.child("iommu1").is_none());
    assert_eq!(cells(iommu, "#iommu-cells"), [1]);
    assert_eq!(cells(iommu, "android,pvmfw,token"), [0, 0xfebd_0000]);
    let smmu = cells(iommu, "phandle")[0];
    assert_eq!(cells(sdhi, "iommus"), [smmu, 0x10]);
    assert_eq!(cells(avb, "iommus"), [smmu, 0x20]);

    // android,pvmfw,target is the phandle of the labelled node inside the fragment.
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    assert_eq!(cells(sdhi, "android,pvmfw,target"), cells(overlay.child("mmc").unwrap(), "phandle"));
    assert_eq!(cells(avb, "android,pvmfw,target"), cells(overlay.child("ethernet").unwrap(), "phandle"));
    let symbols = root.child("__symbols__").unwrap();
    assert_eq!(symbols.prop("sdhi0").unwrap(), b"/fragment@0/__overlay__/mmc\0");
    assert_eq!(symbols.prop("avb").unwrap(), b"/fragment@0/__overlay__/ethernet\0");
    assert_eq!(symbols.prop("iommu0").unwrap(), b"/host/iommu0\0");

    // Every phandle inside is listed for the loader to relocate.
    let fixups = root.find("/__local_fixups__/host/mmc@ee100000").unwrap();
    assert_eq!(cells(fixups, "iommus"), [0]);
    assert_eq!(cells(fixups, "android,pvmfw,target"), [0]);
}

#[test]
fn guest_nodes_carry_what_the_guest_cannot_discover_and_nothing_crosvm_writes() {
    let root = dtbo_tree(&demo_output());
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    for node in &overlay.children {
        for written_by_crosvm in ["reg", "interrupts", "iommus"] {
            assert!(node.prop(written_by_crosvm).is_none(), "{} has {written_by_crosvm}", node.name);
        }
        for host_only in ["resets", "power-domains"] {
            assert!(node.prop(host_only).is_none(), "{} has {host_only}", node.name);
        }
        // `clocks` names the guest's own fixed clocks, never a host provider
        for cell in node.prop("clocks").map(|v| v.chunks(4).collect::<Vec<_>>()).unwrap_or_default() {
            let ph = u32::from_be_bytes(cell.try_into().unwrap());
            let provider = overlay.children.iter().find(|c| c.prop("phandle") == Some(&ph.to_be_bytes()[..]));
            assert_eq!(
                provider.and_then(|c| c.prop("compatible")),
                Some(&b"fixed-clock\0"[..]),
                "{}",
                node.name
            );
        }
    }
    let avb = overlay.child("ethernet").unwrap();
    assert_eq!(avb.prop("interrupt-names").unwrap(), b"ch0\0ch1\0");
}

#[test]
fn the_xml_lists_each_device_as_the_xsd_describes_and_one_line_starts_one_guest() {
    let output = demo_output();
    let xml = String::from_utf8(file(&output, "-assignable_devices.xml").to_vec()).unwrap();
    assert!(xml.contains(
        r#"<device kind="sdhi-r8a774a1" dtbo_label="sdhi0" sysfs_path="/sys/bus/platform/devices/ee100000.mmc"/>"#
    ), "{xml}");
    assert_eq!(
        output.lines,
        ["adb shell /apex/com.android.virt/bin/vm run-microdroid \
          --devices /sys/bus/platform/devices/ee100000.mmc --devices /sys/bus/platform/devices/e6800000.ethernet"]
    );
    assert!(output.notes.iter().any(|n| n.contains("0xfebd0000")), "{:?}", output.notes);
    assert_eq!(
        output.placed[1].irqs,
        [(39, 4), (40, 4)],
        "crosvm chooses the guest SPIs: the host's are reported"
    );

    let options = TargetOptions {
        sysfs_names: vec![("/soc/mmc@ee100000".into(), "ee100000.sd".into())],
        ..TargetOptions::default()
    };
    let output = avf::build(&devices(&demo(), &["sdhi0"]), &options).unwrap();
    assert_eq!(output.lines, ["adb shell /apex/com.android.virt/bin/vm run-microdroid --devices /sys/bus/platform/devices/ee100000.sd"]);
}

#[test]
fn tokens_are_unique_per_iommu_and_a_repeated_token_or_stream_id_is_a_collision() {
    let mut devs = devices(&demo(), &["sdhi0", "ethernet0"]);
    devs[1].iommus = vec![("/soc/iommu@fe6b0000".into(), vec![0x20])];
    let root = dtbo_tree(&avf::build(&devs, &TargetOptions::default()).unwrap());
    let host = root.child("host").unwrap();
    let tokens: Vec<Vec<u32>> =
        ["iommu0", "iommu1"].iter().map(|n| cells(host.child(n).unwrap(), "android,pvmfw,token")).collect();
    assert_eq!(tokens, [vec![0, 0xfebd_0000], vec![0, 0xfe6b_0000]]);
    let phandles: Vec<u32> =
        ["iommu0", "iommu1"].iter().map(|n| cells(host.child(n).unwrap(), "phandle")[0]).collect();
    assert_ne!(phandles[0], phandles[1]);
    assert_eq!(cells(host.child("ethernet@e6800000").unwrap(), "iommus"), [phandles[1], 0x20]);

    // Another IOMMU at the same unit address under another bus: the same token.
    devs[1].iommus = vec![("/bus@1/iommu@febd0000".into(), vec![0x20])];
    let err = avf::build(&devs, &TargetOptions::default()).unwrap_err();
    let GuestError::Collision { what, first, second, .. } = &err else { panic!("{err}") };
    assert_eq!(
        (*what, first.as_str(), second.as_str()),
        ("IOMMU tokens", "/soc/iommu@febd0000", "/bus@1/iommu@febd0000")
    );

    // One (IOMMU, SID) pair for two devices: pvmfw does not support it.
    devs[1].iommus = vec![("/soc/iommu@febd0000".into(), vec![0x10])];
    let err = avf::build(&devs, &TargetOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/soc/mmc@ee100000 and /soc/ethernet@e6800000 collide"), "{err}");
    assert!(err.to_string().contains("SID 0x10"), "{err}");

    // Two specifier cells: not what pvmfw's #iommu-cells = <1> allows.
    devs[1].iommus = vec![("/soc/iommu@febd0000".into(), vec![0x20, 1])];
    let err = avf::build(&devs, &TargetOptions::default()).unwrap_err();
    assert!(
        matches!(err, GuestError::Unsupported { .. }) && err.to_string().contains("2 specifier cells"),
        "{err}"
    );
}

#[test]
fn a_device_without_iommus_is_refused_unless_recorded_as_not_mastering_dma() {
    let host = platreset_testkit::fixture("guest-props");
    let known = devices(&host, &["/known@10000"]);
    let err = avf::build(&known, &TargetOptions::default()).unwrap_err();
    let GuestError::Unsupported { target, node, why } = &err else { panic!("{err}") };
    assert_eq!((*target, node.as_str()), ("avf", "/known@10000"));
    assert!(why.contains("no iommus") && why.contains("DMA"), "{why}");

    // The README makes iommus optional: a device that masters no DMA goes without.
    let options = TargetOptions { non_dma: vec!["/known@10000".into()], ..TargetOptions::default() };
    let output = avf::build(&known, &options).unwrap();
    let root = dtbo_tree(&output);
    let physical = root.find("/host/known@10000").unwrap();
    assert!(physical.prop("iommus").is_none());
    assert!(root.find("/host/iommu0").is_none());
    // Its clocks become fixed clocks inside the overlay, relocated through __local_fixups__.
    let node = root.find("/fragment@0/__overlay__/known").unwrap();
    assert_eq!(cells(node, "clocks").len(), 2);
    let fixups = root.find("/__local_fixups__/fragment@0/__overlay__/known").unwrap();
    assert_eq!(cells(fixups, "clocks"), [0, 4]);
    let symbols = root.child("__symbols__").unwrap();
    assert_eq!(symbols.prop("known_10000").unwrap(), b"/fragment@0/__overlay__/known\0", "a generated label");
    let merged = apply_onto_small_base(file(&output, ".dtbo"), "known");
    assert!(merged.contains("clk-known-baud {"), "{merged}");
    assert!(output.notes.iter().any(|n| n.contains("not mastering DMA")), "{:?}", output.notes);
}

#[test]
fn devices_sharing_a_base_name_get_distinct_nodes_and_a_base_name_clash_is_named() {
    let host = demo();
    let pwms = devices(&host, &["/soc/pwm@e6e30000", "/soc/pwm@e6e31000"]);
    let root = dtbo_tree(&avf::build(&pwms, &TargetOptions::default()).unwrap());
    let overlay = root.find("/fragment@0/__overlay__").unwrap();
    let names: Vec<&str> = overlay.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["pwm-pwm0", "clk-pwm0-0", "pwm-pwm1", "clk-pwm1-0"], "each with its fixed clock");

    let mut base = DtNode::new("");
    base.child_or_insert("mmc@1000");
    let options = TargetOptions { base: Some(base), ..TargetOptions::default() };
    let err = avf::build(&devices(&host, &["sdhi0"]), &options).unwrap_err();
    assert!(err.to_string().contains("/soc/mmc@ee100000 and the base's /mmc@1000 collide"), "{err}");
}

#[test]
fn the_demo_dtbo_and_xml_match_their_golden_files() {
    let output = demo_output();
    let dts = to_dts(&dtbo_tree(&output)).unwrap();
    let xml = String::from_utf8(file(&output, "-assignable_devices.xml").to_vec()).unwrap();
    let golden = platreset_testkit::repo_root().join("tests/golden");
    let (dts_path, xml_path) =
        (golden.join("avf-demo-sdhi0-ethernet0.dts"), golden.join("avf-demo-assignable_devices.xml"));
    if std::env::var_os("PLATRESET_BLESS").is_some() {
        std::fs::write(&dts_path, &dts).unwrap();
        std::fs::write(&xml_path, &xml).unwrap();
    }
    let hint = "run with PLATRESET_BLESS=1 to accept the new output, then review the diff";
    assert_eq!(dts, std::fs::read_to_string(&dts_path).unwrap(), "{hint}");
    assert_eq!(xml, std::fs::read_to_string(&xml_path).unwrap(), "{hint}");
    run("dtc", &["-q", "-I", "dts", "-O", "dtb", "-o", "/dev/null", dts_path.to_str().unwrap()]);
}

/// The README's way of writing a VM DTBO, for the demo devices: `/host` in the root block,
/// the devices in `&{/}`, references by label.
const DEMO_SOURCE: &str = r#"/dts-v1/;
/plugin/;

/ {
	host {
		#address-cells = <2>;
		#size-cells = <2>;

		mmc@ee100000 {
			reg = <0x0 0xee100000 0x0 0x2000>;
			iommus = <&iommu0 0x10>;
			android,pvmfw,target = <&sdhi0>;
		};

		ethernet@e6800000 {
			reg = <0x0 0xe6800000 0x0 0x800>;
			iommus = <&iommu0 0x20>;
			android,pvmfw,target = <&avb>;
		};

		iommu0: iommu0 {
			#iommu-cells = <1>;
			android,pvmfw,token = <0x0 0xfebd0000>;
		};
	};
};

&{/} {
	sdhi0: mmc {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		clocks = <&{/fragment@0/__overlay__/clk-sdhi0-core}>;
		clock-names = "core";
	};

	clk-sdhi0-core {
		compatible = "fixed-clock";
		#clock-cells = <0>;
		clock-frequency = <200000000>;
	};

	avb: ethernet {
		compatible = "renesas,etheravb-r8a774a1", "renesas,etheravb-rcar-gen3";
		interrupt-names = "ch0", "ch1";
		clocks = <&{/fragment@0/__overlay__/clk-avb-fck}>;
		clock-names = "fck";
	};

	clk-avb-fck {
		compatible = "fixed-clock";
		#clock-cells = <0>;
		clock-frequency = <133333333>;
	};
};
"#;

#[test]
fn the_dtbo_is_what_dtc_at_makes_of_the_readme_style_source() {
    let (source, compiled, ours) = (temp("readme.dts"), temp("readme.dtbo"), temp("ours.dtbo"));
    std::fs::write(&source, DEMO_SOURCE).unwrap();
    std::fs::write(&ours, file(&demo_output(), ".dtbo")).unwrap();
    let p = |p: &PathBuf| p.to_str().unwrap().to_string();
    run("dtc", &["-@", "-q", "-I", "dts", "-O", "dtb", "-o", &p(&compiled), &p(&source)]);
    let expected = run("dtc", &["-q", "-I", "dtb", "-O", "dts", &p(&compiled)]);
    let actual = run("dtc", &["-q", "-I", "dtb", "-O", "dts", &p(&ours)]);
    for f in [source, compiled, ours] {
        let _ = std::fs::remove_file(f);
    }
    assert_eq!(actual, expected, "same nodes, properties, phandle numbers, symbols and fixups");
}
