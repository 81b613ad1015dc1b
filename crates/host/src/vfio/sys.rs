//! The raw VFIO calls, behind one trait: [`VfioSys`] names each call the safe layer makes (open a
//! file, and one method per ioctl), answered by the kernel ([`Kernel`]) or, in tests, by an
//! in-memory twin ([`super::fake::FakeVfio`]) — so the safe layer is tested without `/dev/vfio`
//! (rust-vmm's `vfio-ioctls` split).
//!
//! Owns: the `unsafe` ioctl wrappers, each block saying what makes the call sound. Must not:
//! word errors or decide anything: every method returns the kernel's errno as it came.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};

use super::abi::*;

/// The calls the safe VFIO layer makes. Every method returns the kernel's errno on failure.
pub trait VfioSys: Clone {
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &Path) -> Result<OwnedFd, Errno>;
    /// `VFIO_GET_API_VERSION`.
    fn get_api_version(&self, container: BorrowedFd<'_>) -> Result<i32, Errno>;
    /// `VFIO_CHECK_EXTENSION`: > 0 when supported.
    fn check_extension(&self, container: BorrowedFd<'_>, extension: u32) -> Result<i32, Errno>;
    /// `VFIO_SET_IOMMU`.
    fn set_iommu(&self, container: BorrowedFd<'_>, iommu: u32) -> Result<(), Errno>;
    /// `VFIO_GROUP_GET_STATUS`.
    fn group_get_status(&self, group: BorrowedFd<'_>, status: &mut vfio_group_status) -> Result<(), Errno>;
    /// `VFIO_GROUP_SET_CONTAINER`.
    fn group_set_container(&self, group: BorrowedFd<'_>, container: BorrowedFd<'_>) -> Result<(), Errno>;
    /// `VFIO_GROUP_GET_DEVICE_FD`: a new fd for the device `name`.
    fn group_get_device_fd(&self, group: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno>;
    /// `VFIO_DEVICE_GET_INFO`.
    fn device_get_info(&self, device: BorrowedFd<'_>, info: &mut vfio_device_info) -> Result<(), Errno>;
    /// `VFIO_DEVICE_GET_REGION_INFO` for `region.index`.
    fn device_get_region_info(
        &self,
        device: BorrowedFd<'_>,
        region: &mut vfio_region_info,
    ) -> Result<(), Errno>;
    /// `VFIO_DEVICE_GET_IRQ_INFO` for `irq.index`.
    fn device_get_irq_info(&self, device: BorrowedFd<'_>, irq: &mut vfio_irq_info) -> Result<(), Errno>;
    /// `VFIO_DEVICE_RESET`.
    fn device_reset(&self, device: BorrowedFd<'_>) -> Result<(), Errno>;
}

/// The running kernel: real files and real ioctls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel;

impl VfioSys for Kernel {
    fn open(&self, path: &Path) -> Result<OwnedFd, Errno> {
        rustix::fs::open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
    }

    fn get_api_version(&self, container: BorrowedFd<'_>) -> Result<i32, Errno> {
        ioctl_value(container, ValueCall::GetApiVersion)
    }

    fn check_extension(&self, container: BorrowedFd<'_>, extension: u32) -> Result<i32, Errno> {
        ioctl_value(container, ValueCall::CheckExtension(extension))
    }

    fn set_iommu(&self, container: BorrowedFd<'_>, iommu: u32) -> Result<(), Errno> {
        ioctl_value(container, ValueCall::SetIommu(iommu)).map(drop)
    }

    fn group_get_status(&self, group: BorrowedFd<'_>, status: &mut vfio_group_status) -> Result<(), Errno> {
        ioctl_struct(group, status).map(drop)
    }

    fn group_set_container(&self, group: BorrowedFd<'_>, container: BorrowedFd<'_>) -> Result<(), Errno> {
        let mut fd = ContainerFd(std::os::fd::AsRawFd::as_raw_fd(&container));
        ioctl_struct(group, &mut fd).map(drop)
    }

    fn group_get_device_fd(&self, group: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
        ioctl_get_device_fd(group, name)
    }

    fn device_get_info(&self, device: BorrowedFd<'_>, info: &mut vfio_device_info) -> Result<(), Errno> {
        ioctl_struct(device, info).map(drop)
    }

    fn device_get_region_info(
        &self,
        device: BorrowedFd<'_>,
        region: &mut vfio_region_info,
    ) -> Result<(), Errno> {
        ioctl_struct(device, region).map(drop)
    }

    fn device_get_irq_info(&self, device: BorrowedFd<'_>, irq: &mut vfio_irq_info) -> Result<(), Errno> {
        ioctl_struct(device, irq).map(drop)
    }

    fn device_reset(&self, device: BorrowedFd<'_>) -> Result<(), Errno> {
        ioctl_value(device.as_fd(), ValueCall::DeviceReset).map(drop)
    }
}

/// One VFIO ioctl whose output is the kernel's non-negative return value: VFIO returns results
/// (API version, extension support, a new fd) that way, which rustix's `NoArg`/`Setter`/`Updater`
/// patterns discard.
struct VfioCall {
    opcode: Opcode,
    arg: *mut core::ffi::c_void,
}

// SAFETY: `opcode` and `output_from_ptr` do what the trait asks: the opcode is the caller's (each
// wrapper below passes the VFIO number matching its argument), and the output is the raw return
// value, read without touching `arg`. IS_MUTATING is true because several VFIO ioctls write
// into the struct behind `arg`; saying so for the others only costs an optimisation.
#[allow(unsafe_code)]
unsafe impl Ioctl for VfioCall {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        self.arg
    }

    unsafe fn output_from_ptr(
        out: IoctlOutput,
        _arg: *mut core::ffi::c_void,
    ) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// The VFIO ioctls whose argument is an integer or nothing, so no user memory is involved. An
/// enum rather than a free opcode so that a pointer-taking number cannot be sent with an integer.
#[derive(Clone, Copy)]
enum ValueCall {
    GetApiVersion,
    CheckExtension(u32),
    SetIommu(u32),
    DeviceReset,
}

impl ValueCall {
    fn opcode_and_value(self) -> (Opcode, u32) {
        match self {
            ValueCall::GetApiVersion => (VFIO_GET_API_VERSION, 0),
            ValueCall::CheckExtension(extension) => (VFIO_CHECK_EXTENSION, extension),
            ValueCall::SetIommu(iommu) => (VFIO_SET_IOMMU, iommu),
            ValueCall::DeviceReset => (VFIO_DEVICE_RESET, 0),
        }
    }
}

/// Makes a [`ValueCall`]; its output is the kernel's return value.
#[allow(unsafe_code)]
fn ioctl_value(fd: BorrowedFd<'_>, call: ValueCall) -> Result<IoctlOutput, Errno> {
    let (opcode, value) = call.opcode_and_value();
    // `u32` always fits a pointer-sized integer on the 32- and 64-bit targets Linux runs on.
    let call = VfioCall { opcode, arg: core::ptr::without_provenance_mut(value as usize) };
    // SAFETY: every `ValueCall` takes no argument or an integer by value: the kernel reads no
    // user memory through the argument, and the pointer we pass has no provenance to misuse. On a
    // non-VFIO fd these numbers are unknown to the driver (ENOTTY); `Container::open` makes this
    // the first call on a file, before anything else is sent to it.
    unsafe { rustix::ioctl::ioctl(fd, call) }
}

/// An ioctl whose argument is a pointer to `*value`, which the kernel reads and may fill in. The
/// ioctl is the one `T` belongs to, so a struct cannot be handed to the wrong number.
#[allow(unsafe_code)]
fn ioctl_struct<T: AbiArgument>(fd: BorrowedFd<'_>, value: &mut T) -> Result<IoctlOutput, Errno> {
    let call = VfioCall { opcode: T::OPCODE, arg: core::ptr::from_mut(value).cast() };
    // SAFETY: `value` is a live, exclusive, properly aligned `T`, and `T::OPCODE` is the ioctl
    // whose argument is exactly a `T` (checked against <linux/vfio.h> by tests/vfio_abi.rs); the
    // kernel accesses at most `argsz` (= size of `T`) bytes, or the 4 bytes of SET_CONTAINER's
    // `__s32`. Every bit pattern is valid for these plain-integer types, so whatever the kernel
    // writes leaves a valid `T`.
    unsafe { rustix::ioctl::ioctl(fd, call) }
}

/// The plain-integer types that are ioctl arguments, each with the one ioctl that takes it.
trait AbiArgument {
    const OPCODE: Opcode;
}
impl AbiArgument for vfio_group_status {
    const OPCODE: Opcode = VFIO_GROUP_GET_STATUS;
}
impl AbiArgument for vfio_device_info {
    const OPCODE: Opcode = VFIO_DEVICE_GET_INFO;
}
impl AbiArgument for vfio_region_info {
    const OPCODE: Opcode = VFIO_DEVICE_GET_REGION_INFO;
}
impl AbiArgument for vfio_irq_info {
    const OPCODE: Opcode = VFIO_DEVICE_GET_IRQ_INFO;
}
/// The container fd (`__s32`) passed by pointer to `VFIO_GROUP_SET_CONTAINER`.
#[repr(transparent)]
struct ContainerFd(i32);
impl AbiArgument for ContainerFd {
    const OPCODE: Opcode = VFIO_GROUP_SET_CONTAINER;
}

/// `VFIO_GROUP_GET_DEVICE_FD`: the argument is a NUL-terminated name, the result a new fd.
#[allow(unsafe_code)]
fn ioctl_get_device_fd(group: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
    let call = VfioCall { opcode: VFIO_GROUP_GET_DEVICE_FD, arg: name.as_ptr().cast_mut().cast() };
    // SAFETY: the kernel only reads the string (strndup_user, up to its NUL, which `CStr`
    // guarantees), so handing it a pointer derived from a shared reference writes nothing.
    let raw = unsafe { rustix::ioctl::ioctl(group, call) }?;
    if raw < 0 {
        // The kernel reports failure through errno, never a negative "fd"; refuse to wrap one.
        return Err(Errno::BADF);
    }
    // SAFETY: on success GET_DEVICE_FD returns a new file descriptor installed in our table for
    // the caller to own; nothing else refers to it, so `OwnedFd` may take ownership.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}
