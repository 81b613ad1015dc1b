//! What the target tests share: the demo SoC's tree and devices read under the default policy,
//! and an overlay applied on QEMU's `virt` base.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use platreset_dtedit::Node as DtNode;
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{HostDevice, Overrides};

/// The built-in demo SoC (data/demo-soc.dts), compiled with `dtc -@`.
pub fn demo() -> Vec<u8> {
    platreset_testkit::compile_dts(&platreset_testkit::repo_root().join("data/demo-soc.dts"))
}

/// `fdtoverlay` applies `overlay` on QEMU's `virt` base in `dir`; the applied DTB's path.
pub fn apply_on_virt(dir: &std::path::Path, overlay: &[u8]) -> std::path::PathBuf {
    let base = dir.join("virt.dtb");
    std::fs::write(&base, platreset_testkit::qemu_virt_dtb()).expect("a writable scratch dir");
    let dtbo = dir.join("guest.dtbo");
    std::fs::write(&dtbo, overlay).expect("a writable scratch dir");
    let applied = dir.join("out.dtb");
    let out = std::process::Command::new("fdtoverlay")
        .arg("-i")
        .arg(&base)
        .arg("-o")
        .arg(&applied)
        .arg(&dtbo)
        .output()
        .expect("fdtoverlay runs (scripts/setup installs device-tree-compiler)");
    assert!(out.status.success(), "fdtoverlay: {}", String::from_utf8_lossy(&out.stderr));
    applied
}

/// The clock rates a user of the demo board gives with `--clock-rate`, by node: the drivers of
/// its SD host, Ethernet MAC and PWMs (renesas_sdhi, ravb, pwm-rcar) require their module
/// clocks and read their rates, which the CPG/MSSR driver computes at run time and no tree
/// states. The DMA controller's driver takes no clock and needs none.
pub const DEMO_RATES: &[(&str, &str, u64)] = &[
    ("/soc/mmc@ee100000", "core", 200_000_000),
    ("/soc/ethernet@e6800000", "fck", 133_333_333),
    ("/soc/pwm@e6e30000", "0", 66_666_666),
    ("/soc/pwm@e6e31000", "0", 66_666_666),
];

/// The devices `specs` (paths, labels, aliases) of `blob`, read under the default policy with
/// the demo's clock rates ([`DEMO_RATES`]) for the nodes they name.
pub fn devices(blob: &[u8], specs: &[&str]) -> Vec<HostDevice> {
    let fdt = Fdt::parse(blob).expect("a valid DTB");
    let tree = Tree::new(&fdt);
    specs
        .iter()
        .map(|s| {
            let node = fdt.resolve(s).expect("a node");
            let path = node.path();
            let clock_rates = DEMO_RATES
                .iter()
                .filter(|(p, ..)| *p == path)
                .map(|(_, name, hz)| (name.to_string(), *hz))
                .collect();
            HostDevice::read(&tree, &node, &Overrides { clock_rates, ..Overrides::default() })
                .expect("readable")
        })
        .collect()
}

/// Every cell of `node`'s `clocks` is the phandle of a `fixed-clock` among `nodes`: the guest's
/// own stand-ins, never a host provider.
pub fn assert_clocks_are_guest_fixed_clocks(node: &DtNode, nodes: &[DtNode]) {
    for cell in node.prop("clocks").map(|v| v.chunks(4).collect::<Vec<_>>()).unwrap_or_default() {
        let provider = nodes.iter().find(|c| c.prop("phandle") == Some(cell));
        assert_eq!(provider.and_then(|c| c.prop("compatible")), Some(&b"fixed-clock\0"[..]), "{}", node.name);
    }
}
