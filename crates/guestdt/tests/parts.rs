//! Parts of a device in other nodes (tests/dts/guest-parts.dts): an stmmac MAC's MDIO bus and
//! configuration nodes, and a PHY beneath its MAC, go with the device with their phandles
//! renumbered and the properties naming them following; `fdtoverlay` resolves them on QEMU's
//! `virt` base. A PHY on another MAC's bus, a graph, a device child and a child with an MMIO
//! range stop the build, each saying why.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use platreset_dtedit::{from_fdt, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{crosvm, qemu, Action, HostDevice, HostError, Overrides, TargetOptions};

fn host() -> Vec<u8> {
    platreset_testkit::fixture("guest-parts")
}

fn read(blob: &[u8], path: &str) -> Result<HostDevice, HostError> {
    let fdt = Fdt::parse(blob).unwrap();
    let tree = Tree::new(&fdt);
    HostDevice::read(&tree, &fdt.find_path(path).unwrap(), &Overrides::default())
}

fn action(device: &HostDevice, name: &str) -> Action {
    device.decisions.iter().find(|d| d.name == name).unwrap().action.clone()
}

fn u32_of(node: &DtNode, name: &str) -> u32 {
    u32::from_be_bytes(node.prop(name).unwrap().try_into().unwrap())
}

#[test]
fn an_stmmac_mac_takes_its_mdio_bus_and_configuration_nodes_with_it() {
    let blob = host();
    let mac = read(&blob, "/ethernet@10000").unwrap();
    let carried: Vec<&str> = mac.carried.iter().map(|c| c.host_path.as_str()).collect();
    assert_eq!(
        carried,
        [
            "/ethernet@10000/stmmac-axi-config",
            "/ethernet@10000/mdio",
            "/rx-queues-config",
            "/tx-queues-config"
        ]
    );
    for reference in ["phy-handle", "snps,axi-config", "snps,mtl-rx-config", "snps,mtl-tx-config"] {
        assert!(matches!(action(&mac, reference), Action::LocalReference { .. }), "{reference}");
    }
    assert_eq!(action(&mac, "snps,reset-gpio"), Action::DropWithWarning, "dropped by its binding");
    assert_eq!(action(&mac, "rx-fifo-depth"), Action::Copy);
    let mdio = mac.carried.iter().find(|c| c.host_path.ends_with("/mdio")).unwrap();
    assert!(mdio.notes.iter().any(|n| n.contains("`interrupts-extended` dropped") && n.contains("polls")));
    assert!(mdio.notes.iter().any(|n| n.contains("`reset-gpios` dropped")));

    // In a whole guest tree, each reference names its part's new phandle.
    let mut root = from_fdt(&Fdt::parse(&platreset_testkit::qemu_virt_dtb()).unwrap());
    qemu::place(&mut root, &[mac], Some(0x8002)).unwrap();
    let bus = root.children.iter().find(|c| c.name.starts_with("platform-bus")).unwrap();
    let guest = bus.children.iter().find(|c| c.name.starts_with("ethernet@")).unwrap();
    let phy = guest.child("mdio").unwrap().child("ethernet-phy@7").unwrap();
    assert_eq!(u32_of(guest, "phy-handle"), u32_of(phy, "phandle"));
    assert_eq!(phy.prop("reg"), Some(&7u32.to_be_bytes()[..]), "the MDIO address stays");
    assert!(phy.prop("interrupts-extended").is_none() && phy.prop("reset-gpios").is_none());
    let rx = guest.child("rx-queues-config").unwrap();
    assert_eq!(u32_of(guest, "snps,mtl-rx-config"), u32_of(rx, "phandle"));
    assert_eq!(u32_of(rx.child("queue0").unwrap(), "snps,priority"), 1, "the numbers stay");
    let axi = guest.child("stmmac-axi-config").unwrap();
    assert_eq!(u32_of(guest, "snps,axi-config"), u32_of(axi, "phandle"));
    assert!(u32_of(axi, "phandle") > 0x8002, "above every phandle of the base");
    assert_phandles_unique(&root, "in the guest tree");
}

/// No phandle value is held by two nodes of `tree`.
fn assert_phandles_unique(tree: &DtNode, when: &str) {
    fn collect(node: &DtNode, out: &mut Vec<u32>) {
        if let Some(p) = node.prop("phandle") {
            out.push(u32::from_be_bytes(p.try_into().unwrap()));
        }
        node.children.iter().for_each(|c| collect(c, out));
    }
    let mut all = Vec::new();
    collect(tree, &mut all);
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "a phandle held twice {when}");
}

#[test]
fn fdtoverlay_renumbers_the_parts_and_the_references_follow() {
    let blob = host();
    let devices = [
        read(&blob, "/ethernet@10000").unwrap(),
        read(&blob, "/ethernet@20000").unwrap(),
        read(&blob, "/spi@70000").unwrap(),
    ];
    let output = crosvm::build(&devices, &TargetOptions::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("platreset-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dtbo = &output.files.iter().find(|(s, _)| s.ends_with(".dtbo")).unwrap().1;
    let applied = common::apply_on_virt(&dir, dtbo);
    let merged = std::fs::read(&applied).unwrap();
    let tree = from_fdt(&Fdt::parse(&merged).unwrap());
    let mac = tree.child("ethernet@10000").unwrap();
    let phy = mac.child("mdio").unwrap().child("ethernet-phy@7").unwrap();
    assert_eq!(u32_of(mac, "phy-handle"), u32_of(phy, "phandle"));
    assert_eq!(u32_of(mac, "snps,mtl-tx-config"), u32_of(mac.child("tx-queues-config").unwrap(), "phandle"));
    let avb = tree.child("ethernet@20000").unwrap();
    assert_eq!(u32_of(avb, "phy-handle"), u32_of(avb.child("ethernet-phy@0").unwrap(), "phandle"));
    // The flash on the SPI bus and the MAC share one stand-in regulator, as on the host.
    let regulator = u32_of(tree.child("regulator-phy").unwrap(), "phandle");
    assert_eq!(u32_of(tree.child("spi@70000").unwrap().child("flash@0").unwrap(), "vcc-supply"), regulator);
    assert_eq!(u32_of(mac, "phy-supply"), regulator);
    assert_phandles_unique(&tree, "after the overlay is applied");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_part_elsewhere_a_graph_a_device_child_and_an_mmio_child_stop_the_build_with_reasons() {
    let blob = host();
    let err = read(&blob, "/ethernet@30000").unwrap_err().to_string();
    assert!(err.contains("property phy-handle") && err.contains("/ethernet@20000/ethernet-phy@0"), "{err}");
    let err = read(&blob, "/display@40000").unwrap_err();
    let why: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    assert!(why.iter().any(|w| w.contains("subnode ports: an OF graph")), "{why:?}");
    assert!(
        why.iter().any(|w| w.contains("subnode codec: a device of its own (compatible \"acme,codec\")")),
        "{why:?}"
    );
    assert!(why.iter().any(|w| w.contains("subnode bank@1: it has `reg`")), "{why:?}");
}

#[test]
fn an_i2c_or_spi_controller_takes_the_devices_on_its_bus_unless_they_need_host_resources() {
    let blob = host();
    let i2c = read(&blob, "/i2c@50000").unwrap();
    assert_eq!(i2c.carried.len(), 1);
    assert!(i2c.carried[0].why.starts_with("i2c/i2c-controller.yaml"), "{}", i2c.carried[0].why);
    assert_eq!(i2c.carried[0].node.prop("reg"), Some(&0x50u32.to_be_bytes()[..]), "the bus address stays");
    let spi = read(&blob, "/spi@70000").unwrap();
    assert_eq!(u32_of(&spi.carried[0].node, "spi-max-frequency"), 50_000_000);
    // Its supply becomes a guest regulator, and the host's duty is said.
    assert_eq!(spi.carried[0].supplies.len(), 1);
    assert!(spi.carried[0]
        .notes
        .iter()
        .any(|n| n.contains("`vcc-supply`") && n.contains("the host must keep `phy-3v3`")));
    // A device whose interrupt goes to a host GPIO controller cannot come along.
    let err = read(&blob, "/i2c@60000").unwrap_err().to_string();
    assert!(err.contains("subnode touchscreen@38") && err.contains("host interrupt controller"), "{err}");
}
