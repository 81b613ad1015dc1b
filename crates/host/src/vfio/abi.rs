//! The VFIO user-space ABI (REFERENCE §1), exactly as `<linux/vfio.h>` defines it: ioctl numbers
//! (from the `_IO` encoding), constants and flags, and the `#[repr(C)]` argument structs.
//!
//! Owns: those numbers and layouts, and [`abi_table`], which `tests/vfio_abi.rs` compares with the
//! system header. Must not: make a call (that is [`super::sys`]) or interpret a result.

use std::mem::{offset_of, size_of};

use rustix::ioctl::{opcode, Opcode};

// ---------------------------------------------------------------------------------------------
// ABI: numbers, flags and structs, exactly as <linux/vfio.h> defines them.
// ---------------------------------------------------------------------------------------------

/// `VFIO_TYPE`: the ioctl "magic" byte of every VFIO ioctl (`';'`, 0x3B).
pub const VFIO_TYPE: u8 = b';';
/// `VFIO_BASE`: VFIO ioctl numbers are `VFIO_BASE + n`.
pub const VFIO_BASE: u8 = 100;

/// `_IO(VFIO_TYPE, VFIO_BASE + n)`. VFIO encodes no size or direction in its numbers (the
/// structs carry `argsz` instead), so every VFIO ioctl is a plain `_IO`.
const fn vfio_io(n: u8) -> Opcode {
    opcode::none(VFIO_TYPE, VFIO_BASE + n)
}

/// `VFIO_GET_API_VERSION` (n = 0): returns the API version as the ioctl's result.
pub const VFIO_GET_API_VERSION: Opcode = vfio_io(0);
/// `VFIO_CHECK_EXTENSION` (n = 1): argument is an extension number; result > 0 if supported.
pub const VFIO_CHECK_EXTENSION: Opcode = vfio_io(1);
/// `VFIO_SET_IOMMU` (n = 2): argument is the IOMMU type (e.g. [`VFIO_TYPE1v2_IOMMU`]).
pub const VFIO_SET_IOMMU: Opcode = vfio_io(2);
/// `VFIO_GROUP_GET_STATUS` (n = 3): fills a [`vfio_group_status`].
pub const VFIO_GROUP_GET_STATUS: Opcode = vfio_io(3);
/// `VFIO_GROUP_SET_CONTAINER` (n = 4): argument points to the container's fd (`__s32`).
pub const VFIO_GROUP_SET_CONTAINER: Opcode = vfio_io(4);
/// `VFIO_GROUP_UNSET_CONTAINER` (n = 5): no argument.
pub const VFIO_GROUP_UNSET_CONTAINER: Opcode = vfio_io(5);
/// `VFIO_GROUP_GET_DEVICE_FD` (n = 6): argument is the device name (NUL-terminated); result is
/// a new fd.
pub const VFIO_GROUP_GET_DEVICE_FD: Opcode = vfio_io(6);
/// `VFIO_DEVICE_GET_INFO` (n = 7): fills a [`vfio_device_info`].
pub const VFIO_DEVICE_GET_INFO: Opcode = vfio_io(7);
/// `VFIO_DEVICE_GET_REGION_INFO` (n = 8): fills a [`vfio_region_info`] for its `index`.
pub const VFIO_DEVICE_GET_REGION_INFO: Opcode = vfio_io(8);
/// `VFIO_DEVICE_GET_IRQ_INFO` (n = 9): fills a [`vfio_irq_info`] for its `index`.
pub const VFIO_DEVICE_GET_IRQ_INFO: Opcode = vfio_io(9);
/// `VFIO_DEVICE_SET_IRQS` (n = 10): takes a `vfio_irq_set` (not wrapped here: nothing in
/// platreset signals or masks IRQs).
pub const VFIO_DEVICE_SET_IRQS: Opcode = vfio_io(10);
/// `VFIO_DEVICE_RESET` (n = 11): no argument; vfio-platform returns EINVAL when the device has
/// no reset (REFERENCE §1).
pub const VFIO_DEVICE_RESET: Opcode = vfio_io(11);

/// `VFIO_API_VERSION`: the only API version there has ever been.
pub const VFIO_API_VERSION: i32 = 0;
/// `VFIO_TYPE1_IOMMU`: the original type1 IOMMU backend.
pub const VFIO_TYPE1_IOMMU: u32 = 1;
/// `VFIO_TYPE1v2_IOMMU`: type1 with v2 semantics (preferred when available).
#[allow(non_upper_case_globals)] // the kernel's name, kept so it can be grepped for
pub const VFIO_TYPE1v2_IOMMU: u32 = 3;
/// `VFIO_NOIOMMU_IOMMU`: the only IOMMU type a no-IOMMU group's container accepts.
pub const VFIO_NOIOMMU_IOMMU: u32 = 8;

/// `VFIO_GROUP_FLAGS_VIABLE`: every device of the IOMMU group is bound to a VFIO driver or none.
pub const VFIO_GROUP_FLAGS_VIABLE: u32 = 1 << 0;
/// `VFIO_GROUP_FLAGS_CONTAINER_SET`: the group is already attached to a container.
pub const VFIO_GROUP_FLAGS_CONTAINER_SET: u32 = 1 << 1;

/// `VFIO_DEVICE_FLAGS_RESET`: the device supports `VFIO_DEVICE_RESET`.
pub const VFIO_DEVICE_FLAGS_RESET: u32 = 1 << 0;
/// `VFIO_DEVICE_FLAGS_PCI`: a vfio-pci device.
pub const VFIO_DEVICE_FLAGS_PCI: u32 = 1 << 1;
/// `VFIO_DEVICE_FLAGS_PLATFORM`: a vfio-platform device.
pub const VFIO_DEVICE_FLAGS_PLATFORM: u32 = 1 << 2;
/// `VFIO_DEVICE_FLAGS_AMBA`: a vfio-amba device.
pub const VFIO_DEVICE_FLAGS_AMBA: u32 = 1 << 3;

/// `VFIO_REGION_INFO_FLAG_READ`: the region can be read through the device fd.
pub const VFIO_REGION_INFO_FLAG_READ: u32 = 1 << 0;
/// `VFIO_REGION_INFO_FLAG_WRITE`: the region can be written through the device fd.
pub const VFIO_REGION_INFO_FLAG_WRITE: u32 = 1 << 1;
/// `VFIO_REGION_INFO_FLAG_MMAP`: the region can be mmapped.
pub const VFIO_REGION_INFO_FLAG_MMAP: u32 = 1 << 2;
/// `VFIO_REGION_INFO_FLAG_CAPS`: the region info has a capability chain.
pub const VFIO_REGION_INFO_FLAG_CAPS: u32 = 1 << 3;

/// `VFIO_IRQ_INFO_EVENTFD`: the IRQ can signal an eventfd.
pub const VFIO_IRQ_INFO_EVENTFD: u32 = 1 << 0;
/// `VFIO_IRQ_INFO_MASKABLE`: the IRQ can be masked.
pub const VFIO_IRQ_INFO_MASKABLE: u32 = 1 << 1;
/// `VFIO_IRQ_INFO_AUTOMASKED`: the IRQ is level-triggered and masked on delivery.
pub const VFIO_IRQ_INFO_AUTOMASKED: u32 = 1 << 2;
/// `VFIO_IRQ_INFO_NORESIZE`: the IRQ index cannot be resized once set up.
pub const VFIO_IRQ_INFO_NORESIZE: u32 = 1 << 3;

/// `struct vfio_group_status` (argument of `VFIO_GROUP_GET_STATUS`).
#[allow(non_camel_case_types)] // the kernel's name, so the ABI test and readers can match them
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct vfio_group_status {
    /// Size of this struct as the caller knows it.
    pub argsz: u32,
    /// `VFIO_GROUP_FLAGS_*`.
    pub flags: u32,
}

/// `struct vfio_device_info` (argument of `VFIO_DEVICE_GET_INFO`).
#[allow(non_camel_case_types)] // the kernel's name
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct vfio_device_info {
    /// Size of this struct as the caller knows it.
    pub argsz: u32,
    /// `VFIO_DEVICE_FLAGS_*`.
    pub flags: u32,
    /// Highest region index + 1.
    pub num_regions: u32,
    /// Highest IRQ index + 1.
    pub num_irqs: u32,
    /// Offset of the first capability (valid only with `VFIO_DEVICE_FLAGS_CAPS`).
    pub cap_offset: u32,
}

/// `struct vfio_region_info` (argument of `VFIO_DEVICE_GET_REGION_INFO`).
#[allow(non_camel_case_types)] // the kernel's name
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct vfio_region_info {
    /// Size of this struct as the caller knows it.
    pub argsz: u32,
    /// `VFIO_REGION_INFO_FLAG_*`.
    pub flags: u32,
    /// Region index (input).
    pub index: u32,
    /// Offset of the first capability (valid only with `VFIO_REGION_INFO_FLAG_CAPS`).
    pub cap_offset: u32,
    /// Region size in bytes.
    pub size: u64,
    /// Offset of the region within the device fd.
    pub offset: u64,
}

/// `struct vfio_irq_info` (argument of `VFIO_DEVICE_GET_IRQ_INFO`).
#[allow(non_camel_case_types)] // the kernel's name
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct vfio_irq_info {
    /// Size of this struct as the caller knows it.
    pub argsz: u32,
    /// `VFIO_IRQ_INFO_*`.
    pub flags: u32,
    /// IRQ index (input).
    pub index: u32,
    /// Number of IRQs within this index.
    pub count: u32,
}

/// `argsz` for a struct: its size, which the kernel checks against the fields it fills.
pub(crate) fn argsz<T>() -> u32 {
    // The VFIO structs are at most 32 bytes: the conversion cannot fail, and the fallback only
    // keeps the code free of panics.
    u32::try_from(size_of::<T>()).unwrap_or(u32::MAX)
}

/// Every number this module shares with `<linux/vfio.h>`, as `(name, value)` pairs: ioctl
/// numbers, constants, flags, and `sizeof`/`offsetof` of the structs, named the way a C program
/// would print them (`sizeof(struct vfio_irq_info)`, `offsetof(struct vfio_irq_info, count)`).
/// `tests/vfio_abi.rs` compares this table with the system header.
pub fn abi_table() -> Vec<(&'static str, u64)> {
    // `usize` to `u64` is lossless on every target Linux runs on.
    let z = |n: usize| n as u64;
    vec![
        ("VFIO_GET_API_VERSION", u64::from(VFIO_GET_API_VERSION)),
        ("VFIO_CHECK_EXTENSION", u64::from(VFIO_CHECK_EXTENSION)),
        ("VFIO_SET_IOMMU", u64::from(VFIO_SET_IOMMU)),
        ("VFIO_GROUP_GET_STATUS", u64::from(VFIO_GROUP_GET_STATUS)),
        ("VFIO_GROUP_SET_CONTAINER", u64::from(VFIO_GROUP_SET_CONTAINER)),
        ("VFIO_GROUP_UNSET_CONTAINER", u64::from(VFIO_GROUP_UNSET_CONTAINER)),
        ("VFIO_GROUP_GET_DEVICE_FD", u64::from(VFIO_GROUP_GET_DEVICE_FD)),
        ("VFIO_DEVICE_GET_INFO", u64::from(VFIO_DEVICE_GET_INFO)),
        ("VFIO_DEVICE_GET_REGION_INFO", u64::from(VFIO_DEVICE_GET_REGION_INFO)),
        ("VFIO_DEVICE_GET_IRQ_INFO", u64::from(VFIO_DEVICE_GET_IRQ_INFO)),
        ("VFIO_DEVICE_SET_IRQS", u64::from(VFIO_DEVICE_SET_IRQS)),
        ("VFIO_DEVICE_RESET", u64::from(VFIO_DEVICE_RESET)),
        ("VFIO_TYPE", u64::from(VFIO_TYPE)),
        ("VFIO_BASE", u64::from(VFIO_BASE)),
        ("VFIO_API_VERSION", VFIO_API_VERSION as u64),
        ("VFIO_NOIOMMU_IOMMU", u64::from(VFIO_NOIOMMU_IOMMU)),
        ("VFIO_TYPE1_IOMMU", u64::from(VFIO_TYPE1_IOMMU)),
        ("VFIO_TYPE1v2_IOMMU", u64::from(VFIO_TYPE1v2_IOMMU)),
        ("VFIO_GROUP_FLAGS_VIABLE", u64::from(VFIO_GROUP_FLAGS_VIABLE)),
        ("VFIO_GROUP_FLAGS_CONTAINER_SET", u64::from(VFIO_GROUP_FLAGS_CONTAINER_SET)),
        ("VFIO_DEVICE_FLAGS_RESET", u64::from(VFIO_DEVICE_FLAGS_RESET)),
        ("VFIO_DEVICE_FLAGS_PCI", u64::from(VFIO_DEVICE_FLAGS_PCI)),
        ("VFIO_DEVICE_FLAGS_PLATFORM", u64::from(VFIO_DEVICE_FLAGS_PLATFORM)),
        ("VFIO_DEVICE_FLAGS_AMBA", u64::from(VFIO_DEVICE_FLAGS_AMBA)),
        ("VFIO_REGION_INFO_FLAG_READ", u64::from(VFIO_REGION_INFO_FLAG_READ)),
        ("VFIO_REGION_INFO_FLAG_WRITE", u64::from(VFIO_REGION_INFO_FLAG_WRITE)),
        ("VFIO_REGION_INFO_FLAG_MMAP", u64::from(VFIO_REGION_INFO_FLAG_MMAP)),
        ("VFIO_REGION_INFO_FLAG_CAPS", u64::from(VFIO_REGION_INFO_FLAG_CAPS)),
        ("VFIO_IRQ_INFO_EVENTFD", u64::from(VFIO_IRQ_INFO_EVENTFD)),
        ("VFIO_IRQ_INFO_MASKABLE", u64::from(VFIO_IRQ_INFO_MASKABLE)),
        ("VFIO_IRQ_INFO_AUTOMASKED", u64::from(VFIO_IRQ_INFO_AUTOMASKED)),
        ("VFIO_IRQ_INFO_NORESIZE", u64::from(VFIO_IRQ_INFO_NORESIZE)),
        ("sizeof(struct vfio_group_status)", z(size_of::<vfio_group_status>())),
        ("offsetof(struct vfio_group_status, argsz)", z(offset_of!(vfio_group_status, argsz))),
        ("offsetof(struct vfio_group_status, flags)", z(offset_of!(vfio_group_status, flags))),
        ("sizeof(struct vfio_device_info)", z(size_of::<vfio_device_info>())),
        ("offsetof(struct vfio_device_info, argsz)", z(offset_of!(vfio_device_info, argsz))),
        ("offsetof(struct vfio_device_info, flags)", z(offset_of!(vfio_device_info, flags))),
        ("offsetof(struct vfio_device_info, num_regions)", z(offset_of!(vfio_device_info, num_regions))),
        ("offsetof(struct vfio_device_info, num_irqs)", z(offset_of!(vfio_device_info, num_irqs))),
        ("offsetof(struct vfio_device_info, cap_offset)", z(offset_of!(vfio_device_info, cap_offset))),
        ("sizeof(struct vfio_region_info)", z(size_of::<vfio_region_info>())),
        ("offsetof(struct vfio_region_info, argsz)", z(offset_of!(vfio_region_info, argsz))),
        ("offsetof(struct vfio_region_info, flags)", z(offset_of!(vfio_region_info, flags))),
        ("offsetof(struct vfio_region_info, index)", z(offset_of!(vfio_region_info, index))),
        ("offsetof(struct vfio_region_info, cap_offset)", z(offset_of!(vfio_region_info, cap_offset))),
        ("offsetof(struct vfio_region_info, size)", z(offset_of!(vfio_region_info, size))),
        ("offsetof(struct vfio_region_info, offset)", z(offset_of!(vfio_region_info, offset))),
        ("sizeof(struct vfio_irq_info)", z(size_of::<vfio_irq_info>())),
        ("offsetof(struct vfio_irq_info, argsz)", z(offset_of!(vfio_irq_info, argsz))),
        ("offsetof(struct vfio_irq_info, flags)", z(offset_of!(vfio_irq_info, flags))),
        ("offsetof(struct vfio_irq_info, index)", z(offset_of!(vfio_irq_info, index))),
        ("offsetof(struct vfio_irq_info, count)", z(offset_of!(vfio_irq_info, count))),
    ]
}
