//! The fake kernel's no-IOMMU mode agrees with what Debian's 6.1 kernel did under QEMU
//! (crates/cli/tests/kernel.rs): a device without an IOMMU group gets one, named
//! `vfio-noiommu`, when vfio-platform binds it, opened as `/dev/vfio/noiommu-N`, and loses it on
//! unbind; the tree is then as before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use platreset_host::bind;
use platreset_host::fake::{FakeDevice, FakeSpec, FakeSysfs};
use platreset_host::vfio::group_file;

fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("host-noiommu-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec() -> FakeSpec {
    FakeSpec {
        devices: vec![FakeDevice::new("a000000.virtio_mmio")
            .driver("virtio-mmio")
            .of_node("/virtio_mmio@a000000", &["virtio,mmio"])],
        extra_drivers: vec!["vfio-platform".to_string()],
    }
}

#[test]
fn binding_in_noiommu_mode_makes_a_vfio_noiommu_group_and_unbinding_removes_it() {
    let fake = FakeSysfs::build(&scratch("bind"), &spec()).unwrap();
    let root = fake.sysfs_root();
    let before = fake.snapshot().unwrap();
    assert_eq!(root.iommu_group("a000000.virtio_mmio").unwrap(), None);
    let mut kernel = fake.kernel();
    kernel.noiommu_mode();
    let plan = bind::plan_bind(&root, &["a000000.virtio_mmio"]).unwrap();
    let report = bind::execute(&plan, &mut kernel).unwrap();
    let group = report.bound[0].iommu_group;
    let name =
        std::fs::read_to_string(fake.root().join(format!("sys/kernel/iommu_groups/{group}/name"))).unwrap();
    assert_eq!(name.trim(), "vfio-noiommu");
    assert_eq!(group_file(group, Some(name.trim())), Path::new(&format!("/dev/vfio/noiommu-{group}")));
    bind::unbind(&root, "a000000.virtio_mmio", &mut kernel).unwrap();
    let after = fake.snapshot().unwrap();
    assert!(before == after, "tree changed:\n{}", before.diff(&after).join("\n"));
}

#[test]
fn without_noiommu_mode_vfio_platform_refuses_a_device_without_a_group_and_bind_restores_it() {
    let fake = FakeSysfs::build(&scratch("refuse"), &spec()).unwrap();
    let root = fake.sysfs_root();
    let before = fake.snapshot().unwrap();
    let plan = bind::plan_bind(&root, &["a000000.virtio_mmio"]).unwrap();
    let err = bind::execute(&plan, &mut fake.kernel()).unwrap_err();
    assert!(err.to_string().contains("every device touched is back"), "{err}");
    let after = fake.snapshot().unwrap();
    assert!(before == after, "tree changed:\n{}", before.diff(&after).join("\n"));
}
