//! The safe VFIO layer (`platreset_host::vfio`) over the fake kernel's answers: the IOMMU type it
//! picks, and every error worded as the real kernel's errnos mean (the errnos are those seen on a
//! real 6.1 kernel by crates/cli/tests/kernel.rs).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use platreset_host::vfio::fake::{FakeDevice, FakeKernelVfio};
use platreset_host::vfio::{
    Container, FakeVfio, Group, IommuType, VFIO_TYPE1v2_IOMMU, VfioError, DEFAULT_CONTAINER,
    VFIO_NOIOMMU_IOMMU, VFIO_TYPE1_IOMMU,
};
use rustix::io::Errno;

const DEV: &str = "a000000.virtio_mmio";

fn kernel(group: &str, viable: bool, devices: Vec<FakeDevice>) -> FakeKernelVfio {
    FakeKernelVfio {
        groups: HashMap::from([(PathBuf::from(group), (viable, devices))]),
        ..FakeKernelVfio::default()
    }
}

fn open(fake: &FakeVfio, group: &str) -> Result<Group<FakeVfio>, VfioError> {
    let container = Container::open_with(fake.clone(), Path::new(DEFAULT_CONTAINER))?;
    Group::open(&container, Path::new(group))
}

#[test]
fn type1v2_is_preferred_and_a_device_reads_and_resets() {
    let fake = FakeVfio::new(kernel("/dev/vfio/3", true, vec![FakeDevice::platform(DEV, 0x200)]));
    let group = open(&fake, "/dev/vfio/3").unwrap();
    assert_eq!(group.iommu_type(), IommuType::Type1v2);
    assert_eq!(fake.iommu(), Some(VFIO_TYPE1v2_IOMMU));
    let device = group.device(DEV).unwrap();
    assert_eq!(device.info().unwrap().flag_names(), ["RESET", "PLATFORM"]);
    assert_eq!(device.regions().unwrap()[0].size, 0x200);
    assert_eq!(device.irqs().unwrap()[0].count, 1);
    device.reset().unwrap();
    device.reset().unwrap();
    assert_eq!(fake.resets(DEV), 2);
}

#[test]
fn a_container_that_answers_only_noiommu_gets_the_noiommu_type() {
    let mut k = kernel("/dev/vfio/noiommu-0", true, vec![FakeDevice::platform(DEV, 0x200)]);
    k.extensions = vec![VFIO_NOIOMMU_IOMMU];
    let fake = FakeVfio::new(k);
    assert_eq!(open(&fake, "/dev/vfio/noiommu-0").unwrap().iommu_type(), IommuType::NoIommu);
    let mut k = kernel("/dev/vfio/1", true, vec![]);
    k.extensions = vec![VFIO_TYPE1_IOMMU];
    assert_eq!(open(&FakeVfio::new(k), "/dev/vfio/1").unwrap().iommu_type(), IommuType::Type1);
}

#[test]
fn set_iommu_eperm_is_missing_interrupt_remapping_not_a_permission_problem() {
    let mut k = kernel("/dev/vfio/0", true, vec![FakeDevice::platform(DEV, 0x200)]);
    k.set_iommu_errno = Some(Errno::PERM);
    let err = open(&FakeVfio::new(k), "/dev/vfio/0").unwrap_err();
    assert!(matches!(err, VfioError::NoInterruptRemapping { .. }), "{err}");
    assert!(err.to_string().contains("allow_unsafe_interrupts"), "{err}");
}

#[test]
fn a_group_with_a_member_on_a_host_driver_is_not_viable() {
    let err = open(&FakeVfio::new(kernel("/dev/vfio/2", false, vec![])), "/dev/vfio/2").unwrap_err();
    assert!(matches!(err, VfioError::NotViable { .. }), "{err}");
}

#[test]
fn missing_busy_and_forbidden_files_each_say_what_they_mean() {
    let fake = FakeVfio::new(kernel("/dev/vfio/2", true, vec![]));
    assert!(matches!(open(&fake, "/dev/vfio/9").unwrap_err(), VfioError::Missing { .. }));
    let mut k = kernel("/dev/vfio/2", true, vec![]);
    k.open_errnos.insert(PathBuf::from("/dev/vfio/2"), Errno::BUSY);
    k.open_errnos.insert(PathBuf::from("/dev/vfio/noiommu-4"), Errno::PERM);
    let fake = FakeVfio::new(k);
    assert!(matches!(open(&fake, "/dev/vfio/2").unwrap_err(), VfioError::Busy { .. }));
    let err = open(&fake, "/dev/vfio/noiommu-4").unwrap_err().to_string();
    assert!(err.contains("CAP_SYS_RAWIO"), "{err}");
    let k = FakeKernelVfio { api_version: 1, ..FakeKernelVfio::default() };
    let err = Container::open_with(FakeVfio::new(k), Path::new(DEFAULT_CONTAINER)).unwrap_err();
    assert!(matches!(err, VfioError::ApiVersion { found: 1, .. }), "{err}");
}

#[test]
fn a_refused_open_and_a_missing_reset_are_vfio_platforms_rules_in_words() {
    let mut refused = FakeDevice::platform("refused.dev", 0x100);
    refused.open_errno = Some(Errno::INVAL);
    let mut no_reset = FakeDevice::platform("noreset.dev", 0x100);
    no_reset.reset_errno = Some(Errno::INVAL);
    let fake = FakeVfio::new(kernel("/dev/vfio/5", true, vec![refused, no_reset]));
    let group = open(&fake, "/dev/vfio/5").unwrap();
    assert!(matches!(group.device("refused.dev").unwrap_err(), VfioError::OpenRefused { .. }));
    assert!(matches!(group.device("absent.dev").unwrap_err(), VfioError::NoSuchDevice { .. }));
    assert!(matches!(group.device("../x").unwrap_err(), VfioError::InvalidDeviceName { .. }));
    let err = group.device("noreset.dev").unwrap().reset().unwrap_err();
    assert!(matches!(err, VfioError::NoReset { .. }), "{err}");
    assert_eq!(fake.resets("noreset.dev"), 0);
}
