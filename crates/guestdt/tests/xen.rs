//! The Xen target: a partial DTB dtc accepts, with `/passthrough` and `/aliases` as Xen's
//! passthrough.txt describes them; the exact `xl` and ImageBuilder lines for the demo SoC;
//! `xen,force-assign-without-iommu` only for non-DMA devices; `xen,smmu-stream-ids` only from
//! single-cell Arm SMMUs (tests/dts/guest-iommus.dts); golden DTS files for both forms;
//! and the layout checked as a whole (shared pages, shared SPIs, Xen's fixed regions).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{demo, devices};
use platreset_dtedit::{from_fdt, to_dts, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::{xen, GuestError, TargetOptions};

const SDHI0: &str = "/soc/mmc@ee100000";
const AVB: &str = "/soc/ethernet@e6800000";

/// Compiles a host tree written in the test (with `dtc -@`, like every fixture).
fn host_tree(name: &str, source: &str) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("platreset-xen-{}-{name}.dts", std::process::id()));
    std::fs::write(&path, source).unwrap();
    let blob = platreset_testkit::compile_dts(&path);
    let _ = std::fs::remove_file(&path);
    blob
}

fn dom0less(non_dma: &[&str]) -> TargetOptions {
    TargetOptions {
        dom0less: true,
        non_dma: non_dma.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// `dtc -I dtb -O dts` of `dtb`, failing the test when dtc refuses it.
fn dtc_accepts(dtb: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("platreset-xen-{}-{}.dtb", std::process::id(), dtb.len()));
    std::fs::write(&path, dtb).unwrap();
    let out = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "dtc: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn u32s(value: &[u8]) -> Vec<u32> {
    value.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The tree the DTB holds, as the guest's toolstack reads it.
fn partial(dtb: &[u8]) -> DtNode {
    from_fdt(&Fdt::parse(dtb).unwrap())
}

fn golden(name: &str, text: &str) {
    let path = platreset_testkit::repo_root().join("tests/golden").join(name);
    if std::env::var_os("PLATRESET_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text, expected,
        "{name}: run with PLATRESET_BLESS=1 to accept the new output, then review the diff"
    );
}

/// The `.cfg` golden: the lines, then the notes as comments.
fn cfg(out: &platreset_guestdt::Output) -> String {
    let mut text = String::new();
    for line in &out.lines {
        text.push_str(line);
        text.push('\n');
    }
    for note in &out.notes {
        text.push_str("# ");
        text.push_str(note);
        text.push('\n');
    }
    text
}

#[test]
fn the_partial_dtb_is_accepted_by_dtc_and_has_the_passthrough_bus_and_aliases() {
    let host = demo();
    let out = xen::build(&devices(&host, &["sdhi0", "ethernet0"]), &TargetOptions::default()).unwrap();
    assert_eq!(out.files.len(), 1);
    assert_eq!(out.files[0].0, ".dtb");
    dtc_accepts(&out.files[0].1);
    let root = partial(&out.files[0].1);
    assert_eq!(u32s(root.prop("#address-cells").unwrap()), [2]);
    assert_eq!(u32s(root.prop("#size-cells").unwrap()), [2]);
    let bus = root.child("passthrough").unwrap();
    assert_eq!(bus.prop("compatible").unwrap(), b"simple-bus\0");
    assert_eq!(bus.prop("ranges").unwrap(), b"", "identity ranges: an empty property");
    assert_eq!(u32s(bus.prop("#address-cells").unwrap()), [2]);
    assert_eq!(u32s(bus.prop("#size-cells").unwrap()), [2]);
    let mmc = bus.child("mmc@ee100000").unwrap();
    assert_eq!(u32s(mmc.prop("reg").unwrap()), [0, 0xee10_0000, 0, 0x2000], "guest address = host address");
    assert_eq!(u32s(mmc.prop("interrupts").unwrap()), [0, 165, 4], "the host's SPI and trigger");
    assert_eq!(u32s(mmc.prop("interrupt-parent").unwrap()), [0xfde8], "GUEST_PHANDLE_GIC");
    let eth = bus.child("ethernet@e6800000").unwrap();
    assert_eq!(u32s(eth.prop("interrupts").unwrap()), [0, 39, 4, 0, 40, 4]);
    // The toolstack copies only /passthrough and /aliases: nothing else may be needed.
    let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["aliases", "passthrough"]);
    let aliases = root.child("aliases").unwrap();
    assert_eq!(aliases.prop("sdhi0").unwrap(), b"/passthrough/mmc@ee100000\0", "named after the host label");
    assert_eq!(aliases.prop("avb").unwrap(), b"/passthrough/ethernet@e6800000\0");
    assert_eq!(out.placed[0].regs, [(0xee10_0000, 0xee10_0000, 0x2000)]);
    assert_eq!(out.placed[1].irqs, [(39, 4), (40, 4)]);
}

#[test]
fn the_xl_lines_for_the_demo_sd_host_and_ethernet_are_exact() {
    let host = demo();
    let out = xen::build(&devices(&host, &["sdhi0", "ethernet0"]), &TargetOptions::default()).unwrap();
    assert_eq!(
        out.lines,
        [
            "device_tree = \"guest-partial.dtb\"",
            "dtdev = [ \"/soc/mmc@ee100000\", \"/soc/ethernet@e6800000\" ]",
            // GIC interrupt IDs: SPI 165 → 197, SPIs 39 and 40 → 71 and 72.
            "irqs = [ 197, 71, 72 ]",
            // Host page frame, page count, guest page frame: 0x2000 bytes are 2 pages, 0x800 is 1.
            "iomem = [ \"0xee100,0x2@0xee100\", \"0xe6800,0x1@0xe6800\" ]",
        ]
    );
    for path in [SDHI0, AVB] {
        assert!(
            out.notes.iter().any(|n| n.contains(path) && n.contains("xen,passthrough")),
            "{path} needs xen,passthrough: {:#?}",
            out.notes
        );
    }
    assert!(
        out.notes.iter().any(|n| n.contains("at or below 2664 MiB") && n.contains(AVB)),
        "the ethernet at 0xe6800000 is 2664 MiB above guest RAM's start: {:#?}",
        out.notes
    );
    golden("xen-demo.cfg", &cfg(&out));
}

#[test]
fn dom0less_writes_xen_reg_and_xen_path_and_force_assigns_only_a_non_dma_device() {
    let host = demo();
    let out = xen::build(&devices(&host, &["sdhi0", "ethernet0"]), &dom0less(&[SDHI0])).unwrap();
    dtc_accepts(&out.files[0].1);
    let root = partial(&out.files[0].1);
    let bus = root.child("passthrough").unwrap();
    let mmc = bus.child("mmc@ee100000").unwrap();
    assert_eq!(u32s(mmc.prop("xen,reg").unwrap()), [0, 0xee10_0000, 0, 0x2000, 0, 0xee10_0000]);
    assert_eq!(mmc.prop("xen,path").unwrap(), b"/soc/mmc@ee100000\0");
    assert_eq!(mmc.prop("xen,force-assign-without-iommu"), Some(&b""[..]), "the allowlist says non-DMA");
    let eth = bus.child("ethernet@e6800000").unwrap();
    // Xen refuses xen,reg entries that are not whole pages: 0x800 bytes map as one page.
    assert_eq!(u32s(eth.prop("xen,reg").unwrap()), [0, 0xe680_0000, 0, 0x1000, 0, 0xe680_0000]);
    assert_eq!(u32s(eth.prop("reg").unwrap()), [0, 0xe680_0000, 0, 0x800], "reg keeps the exact range");
    assert!(eth.prop("xen,force-assign-without-iommu").is_none(), "a DMA master is never forced");
    assert_eq!(
        out.lines,
        [
            "DOMU_PASSTHROUGH_PATHS[0]=\"/soc/mmc@ee100000 /soc/ethernet@e6800000\"",
            "DOMU_PASSTHROUGH_DTB[0]=\"guest-partial.dtb\"",
        ]
    );
    assert!(out.notes.iter().any(|n| n.contains(AVB) && n.contains("xen,passthrough")), "{:#?}", out.notes);

    let none = xen::build(&devices(&host, &["sdhi0", "ethernet0"]), &dom0less(&[])).unwrap();
    let root = partial(&none.files[0].1);
    let bus = root.child("passthrough").unwrap();
    assert!(bus.children.iter().all(|n| n.prop("xen,force-assign-without-iommu").is_none()));
}

#[test]
fn the_demo_partial_trees_match_their_golden_files() {
    let host = demo();
    let demo = devices(&host, &["sdhi0", "ethernet0"]);
    for (name, options) in
        [("xen-demo.dts", TargetOptions::default()), ("xen-demo-dom0less.dts", dom0less(&[]))]
    {
        let (tree, _) = xen::partial_tree(&demo, &options).unwrap();
        let dts = to_dts(&tree).unwrap();
        let out = xen::build(&demo, &options).unwrap();
        assert_eq!(
            to_dts(&partial(&out.files[0].1)).unwrap(),
            dts,
            "the DTB holds the tree the golden shows"
        );
        golden(name, &dts);
        let path = platreset_testkit::repo_root().join("tests/golden").join(name);
        let dtc = Command::new("dtc")
            .args(["-I", "dts", "-O", "dtb", "-o", "/dev/null"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(dtc.status.success(), "{name}: {}", String::from_utf8_lossy(&dtc.stderr));
    }
    let out = xen::build(&demo, &dom0less(&[])).unwrap();
    golden("xen-demo-dom0less.cfg", &cfg(&out));
}

#[test]
fn no_host_phandle_reaches_the_guest() {
    let host = demo();
    let out = xen::build(&devices(&host, &["sdhi0", "ethernet0"]), &dom0less(&[])).unwrap();
    let root = partial(&out.files[0].1);
    let holders = ["resets", "power-domains", "iommus", "dmas", "pinctrl-0", "phys"];
    let passthrough = &root.child("passthrough").unwrap().children;
    for node in passthrough {
        for prop in &node.props {
            assert!(!holders.contains(&prop.name.as_str()), "{} has {}", node.name, prop.name);
        }
        common::assert_clocks_are_guest_fixed_clocks(node, passthrough);
        if node.prop("compatible") == Some(b"fixed-clock\0") {
            continue;
        }
        assert_eq!(
            u32s(node.prop("interrupt-parent").unwrap()),
            [0xfde8],
            "only the guest vGIC's fixed phandle"
        );
    }
}

#[test]
fn fixed_rate_clocks_live_under_passthrough_where_the_toolstack_copies_them() {
    let host = platreset_testkit::fixture("guest-props");
    let out = xen::build(&devices(&host, &["/known@10000"]), &TargetOptions::default()).unwrap();
    dtc_accepts(&out.files[0].1);
    let root = partial(&out.files[0].1);
    let bus = root.child("passthrough").unwrap();
    let clocks: Vec<&DtNode> =
        bus.children.iter().filter(|n| n.prop("compatible") == Some(b"fixed-clock\0")).collect();
    assert_eq!(clocks.len(), 2, "{:?}", bus.children.iter().map(|n| &n.name).collect::<Vec<_>>());
    let node = bus.child("known@10000").unwrap();
    let phandles = u32s(node.prop("clocks").unwrap());
    for (clock, phandle) in clocks.iter().zip(&phandles) {
        assert_eq!(u32s(clock.prop("phandle").unwrap()), [*phandle]);
    }
    assert_eq!(u32s(node.prop("reg").unwrap()), [0, 0x10000, 0, 0x100], "1-cell host reg, 2-cell guest reg");
    assert_eq!(u32s(node.prop("interrupts").unwrap()), [0, 10, 4, 0, 11, 1]);
    assert_eq!(root.children.len(), 2, "nothing outside /aliases and /passthrough");
    assert_eq!(out.lines[3], "iomem = [ \"0x10,0x1@0x10\" ]");
}

const SHARED_PAGE: &str = r#"/dts-v1/;

/ {
	#address-cells = <1>;
	#size-cells = <1>;
	interrupt-parent = <&gic>;

	gic: interrupt-controller@1000 {
		compatible = "arm,gic-400";
		interrupt-controller;
		#interrupt-cells = <3>;
		reg = <0x1000 0x1000>;
	};

	/* Two devices in one 4 KiB page, on different SPIs. */
	first: uart@10000000 {
		compatible = "acme,uart";
		reg = <0x10000000 0x800>;
		interrupts = <0 70 4>;
	};

	second: uart@10000800 {
		compatible = "acme,uart";
		reg = <0x10000800 0x800>;
		interrupts = <0 71 4>;
	};

	/* Its own pages, but the first UART's SPI. */
	third: uart@10010000 {
		compatible = "acme,uart";
		reg = <0x10010000 0x100>;
		interrupts = <0 70 4>;
	};

	/* Identity-mapped onto Xen's guest vGIC. */
	on_vgic: timer@3010000 {
		compatible = "acme,timer";
		reg = <0x3010000 0x1000>;
	};

	/* Across the first page of guest RAM. */
	ram_edge: sram@3ffff000 {
		compatible = "acme,sram";
		reg = <0x3ffff000 0x2000>;
	};

	/* SPI 0 and SPI 1: the vPL011's and a virtio-mmio interrupt when those are configured. */
	low: uart@10020000 {
		compatible = "acme,uart";
		reg = <0x10020000 0x100>;
		interrupts = <0 0 4>, <0 1 4>;
	};
};
"#;

#[test]
fn two_devices_sharing_a_page_are_a_collision_naming_both_and_their_ranges() {
    let host = host_tree("shared-page", SHARED_PAGE);
    let err = xen::build(&devices(&host, &["first", "second"]), &TargetOptions::default()).unwrap_err();
    let GuestError::Collision { target, what, first, second, detail } = &err else { panic!("{err}") };
    assert_eq!((*target, *what), ("xen", "guest addresses"));
    assert_eq!((first.as_str(), second.as_str()), ("/uart@10000000", "/uart@10000800"));
    assert!(detail.contains("0x10000000-0x10000fff and 0x10000000-0x10000fff"), "{detail}");
    assert!(err.to_string().contains("/uart@10000000 and /uart@10000800 collide"), "{err}");
    // Apart, each is fine.
    xen::build(&devices(&host, &["first"]), &TargetOptions::default()).unwrap();
}

#[test]
fn two_devices_on_one_spi_are_a_collision() {
    let host = host_tree("shared-spi", SHARED_PAGE);
    let err = xen::build(&devices(&host, &["first", "third"]), &dom0less(&[])).unwrap_err();
    let GuestError::Collision { what, first, second, detail, .. } = &err else { panic!("{err}") };
    assert_eq!(*what, "interrupts");
    assert_eq!((first.as_str(), second.as_str()), ("/uart@10000000", "/uart@10010000"));
    assert!(detail.contains("SPI 70 (xl irqs 102)"), "{detail}");
}

#[test]
fn an_identity_mapping_onto_xens_vgic_is_a_collision() {
    let host = host_tree("vgic", SHARED_PAGE);
    let err = xen::build(&devices(&host, &["on_vgic"]), &TargetOptions::default()).unwrap_err();
    let GuestError::Collision { what, first, second, detail, .. } = &err else { panic!("{err}") };
    assert_eq!((*what, first.as_str()), ("guest addresses", "/timer@3010000"));
    assert!(second.contains("vGIC") && second.contains("arch-arm.h"), "{second}");
    assert!(detail.contains("0x3010000-0x3010fff") && detail.contains("0x3001000-0x401ffff"), "{detail}");
}

#[test]
fn spis_xen_claims_only_when_configured_are_notes_and_ppis_never_reach_the_layout() {
    let host = host_tree("low-spis", SHARED_PAGE);
    let out = xen::build(&devices(&host, &["low"]), &TargetOptions::default()).unwrap();
    assert_eq!(out.lines[2], "irqs = [ 32, 33 ]");
    assert!(
        out.notes.iter().any(|n| n.contains("SPI 0 (xl irqs 32)") && n.contains("GUEST_VPL011_SPI")),
        "{:#?}",
        out.notes
    );
    assert!(
        out.notes.iter().any(|n| n.contains("SPI 1 (xl irqs 33)") && n.contains("virtio-mmio")),
        "{:#?}",
        out.notes
    );
    assert!(
        out.notes.iter().any(|n| n.contains("/uart@10020000") && n.contains("no `iommus`")),
        "a device without an IOMMU is called out: {:#?}",
        out.notes
    );
    // Addresses below guest RAM: no memory limit to give.
    assert!(!out.notes.iter().any(|n| n.contains("identity mapping")), "{:#?}", out.notes);
}

#[test]
fn a_non_dma_device_without_an_iommu_leaves_dtdev_in_the_xl_form() {
    let host = host_tree("non-dma", SHARED_PAGE);
    let options = TargetOptions { non_dma: vec!["/uart@10020000".into()], ..Default::default() };
    let out = xen::build(&devices(&host, &["low"]), &options).unwrap();
    assert_eq!(
        out.lines,
        ["device_tree = \"guest-partial.dtb\"", "irqs = [ 32, 33 ]", "iomem = [ \"0x10020,0x1@0x10020\" ]"],
        "no dtdev: Xen assigns through an IOMMU only"
    );
    assert!(out.notes.iter().any(|n| n.contains("left out of dtdev")), "{:#?}", out.notes);
}

#[test]
fn an_identity_mapping_onto_the_start_of_guest_ram_is_a_collision() {
    let host = host_tree("ram-edge", SHARED_PAGE);
    let err = xen::build(&devices(&host, &["ram_edge"]), &TargetOptions::default()).unwrap_err();
    let GuestError::Collision { what, first, second, detail, .. } = &err else { panic!("{err}") };
    assert_eq!((*what, first.as_str()), ("guest addresses", "/sram@3ffff000"));
    assert!(second.contains("GUEST_RAM0_BASE"), "{second}");
    assert!(detail.starts_with("0x3ffff000-0x40000fff") && detail.ends_with("covers 0x40000000"), "{detail}");
}

#[test]
fn dom0less_writes_stream_ids_only_for_arm_smmus_taking_one_cell_and_says_why_not_otherwise() {
    let host = platreset_testkit::fixture("guest-iommus");
    let out = xen::build(&devices(&host, &["dma", "gpu", "sdhi"]), &dom0less(&[])).unwrap();
    dtc_accepts(&out.files[0].1);
    let root = partial(&out.files[0].1);
    let bus = root.child("passthrough").unwrap();
    let dma = bus.child("dma-controller@10000000").unwrap();
    assert_eq!(u32s(dma.prop("xen,smmu-stream-ids").unwrap()), [0x100, 0x101], "every SID, in order");
    assert!(dma.prop("iommus").is_none(), "the host's iommus names the host SMMU: never copied");
    for node in ["gpu@11000000", "mmc@12000000"] {
        assert!(bus.child(node).unwrap().prop("xen,smmu-stream-ids").is_none(), "{node}");
    }
    let note = |path: &str| out.notes.iter().find(|n| n.starts_with(path)).cloned().unwrap_or_default();
    assert!(
        note("/gpu@11000000: no xen,smmu-stream-ids").contains("2 cells (stream ID 0x200 and mask 0x7f00)"),
        "{:#?}",
        out.notes
    );
    assert!(
        note("/mmc@12000000: no xen,smmu-stream-ids").contains("/iommu@32000000 is not an Arm SMMU"),
        "an IPMMU's cell is a micro-TLB: {:#?}",
        out.notes
    );
    assert!(out.notes.iter().any(|n| n.contains("Lopper") && n.contains("/dma-controller@10000000")));

    // The xl form assigns through dtdev: no dom0less properties at all.
    let xl = xen::build(&devices(&host, &["dma"]), &TargetOptions::default()).unwrap();
    let root = partial(&xl.files[0].1);
    let dma = root.find("/passthrough/dma-controller@10000000").unwrap();
    assert!(dma.prop("xen,smmu-stream-ids").is_none() && dma.prop("xen,path").is_none());
    assert!(!xl.notes.iter().any(|n| n.contains("smmu-stream-ids")), "{:#?}", xl.notes);
}
