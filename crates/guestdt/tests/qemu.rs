//! The QEMU target on the real `virt` base (QEMU's own dumpdtb): every base node kept, the
//! devices on the platform bus, dtc accepting the result, no host phandle in it, the 32 MiB
//! window and the SPI range enforced, and a golden DTS for the demo SoC.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{demo, devices};
use platreset_dtedit::{from_fdt, to_dtb, to_dts, Node as DtNode, WriteOptions};
use platreset_fdt::Fdt;
use platreset_guestdt::{qemu, GuestError};

fn paths(node: &DtNode, prefix: &str, out: &mut Vec<String>) {
    for child in &node.children {
        let path = format!("{prefix}/{}", child.name);
        out.push(path.clone());
        paths(child, &path, out);
    }
}

fn dtc_accepts(dtb: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("platreset-guest-{}.dtb", std::process::id()));
    std::fs::write(&path, dtb).unwrap();
    let out = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "dtc: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn on_qemus_own_base_every_node_is_kept_and_the_devices_join_its_platform_bus() {
    let base_blob = platreset_testkit::qemu_virt_dtb();
    let base = Fdt::parse(&base_blob).unwrap();
    let mut root = from_fdt(&base);
    let mut before = Vec::new();
    paths(&root, "", &mut before);
    assert!(before.contains(&"/platform-bus@c000000".to_string()), "QEMU's virt base has the bus");
    let host = demo();
    let placed = qemu::place(&mut root, &devices(&host, &["sdhi0", "ethernet0"]), Some(0x8002)).unwrap();
    let dts = dtc_accepts(&to_dtb(&root, &WriteOptions::default()).unwrap());
    let mut after = Vec::new();
    paths(&root, "", &mut after);
    for p in &before {
        assert!(after.contains(p), "{p} lost");
    }
    assert!(after.contains(&"/platform-bus@c000000/mmc@0".to_string()));
    assert!(after.contains(&"/platform-bus@c000000/ethernet@2000".to_string()));
    assert_eq!(placed[0].regs, [(0xee10_0000, 0, 0x2000)]);
    assert_eq!(placed[1].irqs, [(113, 4), (114, 4)], "SPIs from 112, the host's level trigger kept");
    assert!(dts.contains("interrupts = <0x00 0x70 0x04>;"), "{dts}");
}

#[test]
fn no_host_phandle_reaches_the_guest() {
    let host = demo();
    let fdt = Fdt::parse(&host).unwrap();
    let mut root = DtNode::new("");
    let all: Vec<&str> = vec!["sdhi0", "ethernet0", "/soc/dma-controller@e6700000", "/soc/pwm@e6e30000"];
    qemu::place(&mut root, &devices(&host, &all), None).unwrap();
    let bus = root.child(qemu::BUS_NAME).unwrap();
    // Properties that hold phandles on the host: none may be in a guest device node.
    let holders = ["resets", "power-domains", "iommus", "dmas", "pinctrl-0", "phys", "interrupt-parent"];
    for node in &bus.children {
        for prop in &node.props {
            assert!(!holders.contains(&prop.name.as_str()), "{} has {}", node.name, prop.name);
        }
        // `clocks` names the guest's own fixed clocks
        for cell in node.prop("clocks").map(|v| v.chunks(4).collect::<Vec<_>>()).unwrap_or_default() {
            let ph = cell.to_vec();
            let provider = root.children.iter().find(|c| c.prop("phandle") == Some(&ph[..]));
            assert_eq!(
                provider.and_then(|c| c.prop("compatible")),
                Some(&b"fixed-clock\0"[..]),
                "{}",
                node.name
            );
        }
    }
    assert!(fdt.find_path("/soc/mmc@ee100000").unwrap().property("iommus").is_some(), "the host had them");
}

#[test]
fn the_32_mib_window_and_the_spi_range_are_limits_that_say_by_how_much() {
    let host = platreset_testkit::compile_dts(&platreset_testkit::fixtures_dir().join("guest-big.dts"));
    let mut root = DtNode::new("");
    let err = qemu::place(&mut root, &devices(&host, &["/gpu@40000000"]), None).unwrap_err();
    let GuestError::WindowFull { needed, size, .. } = &err else { panic!("{err}") };
    assert_eq!((*needed, *size), (0x400_0000, 0x200_0000));
    assert!(err.to_string().contains("0x2000000 bytes too many (/gpu@40000000)"), "{err}");
}

#[test]
fn the_demo_sd_host_fragment_matches_its_golden_file() {
    let host = demo();
    let mut root = DtNode::new("");
    qemu::place(&mut root, &devices(&host, &["sdhi0"]), None).unwrap();
    let dts = to_dts(&root).unwrap();
    let golden = platreset_testkit::repo_root().join("tests/golden/qemu-demo-sdhi0.dts");
    if std::env::var_os("PLATRESET_BLESS").is_some() {
        std::fs::write(&golden, &dts).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(dts, expected, "run with PLATRESET_BLESS=1 to accept the new output, then review the diff");
    let out = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o", "/dev/null"])
        .arg(&golden)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_notes_say_which_qemu_releases_the_target_serves() {
    let notes = qemu::notes();
    assert!(
        notes.iter().any(|n| n.contains("QEMU 10.1 and older") && n.contains("removed it in 10.2")),
        "vfio-platform was deprecated in 10.0 and removed in 10.2 (REFERENCE §8): {notes:?}"
    );
}
