//! What the target tests share: the demo SoC's tree and devices read under the default policy.

use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{HostDevice, Overrides};

/// The built-in demo SoC (data/demo-soc.dts), compiled with `dtc -@`.
pub fn demo() -> Vec<u8> {
    platreset_testkit::compile_dts(&platreset_testkit::repo_root().join("data/demo-soc.dts"))
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
