//! What the target tests share: the demo SoC's tree and devices read under the default policy,
//! and an overlay applied on QEMU's `virt` base.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

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

/// The devices `specs` (paths, labels, aliases) of `blob`, read under the default policy.
pub fn devices(blob: &[u8], specs: &[&str]) -> Vec<HostDevice> {
    let fdt = Fdt::parse(blob).expect("a valid DTB");
    let tree = Tree::new(&fdt);
    specs
        .iter()
        .map(|s| {
            HostDevice::read(&tree, &fdt.resolve(s).expect("a node"), &Overrides::default())
                .expect("readable")
        })
        .collect()
}
