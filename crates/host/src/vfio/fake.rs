//! An in-memory twin of the kernel's VFIO answers, for testing the safe layer without
//! `/dev/vfio`: containers, groups and devices configured by the test, each answering as the
//! real kernel does (the numbers and errnos seen on a real 6.1 kernel: crates/cli/tests/kernel.rs).
//!
//! Owns: that model. Must not: be used outside tests and examples (it opens `/dev/null` for
//! every file, to hand out real descriptors, and never touches a device).

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustix::io::Errno;

use super::abi::*;
use super::sys::VfioSys;

/// One device of a fake group, with what the kernel would say of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDevice {
    /// Its name (`a000000.virtio_mmio`).
    pub name: String,
    /// `VFIO_DEVICE_FLAGS_*`.
    pub flags: u32,
    /// Each region's (flags, size, offset).
    pub regions: Vec<(u32, u64, u64)>,
    /// Each IRQ index's (flags, count).
    pub irqs: Vec<(u32, u32)>,
    /// The errno `VFIO_GROUP_GET_DEVICE_FD` answers (vfio-platform: EINVAL when the reset on
    /// first open fails), if any.
    pub open_errno: Option<Errno>,
    /// The errno `VFIO_DEVICE_RESET` answers (EINVAL without a reset), if any.
    pub reset_errno: Option<Errno>,
}

impl FakeDevice {
    /// A vfio-platform device with a reset, one read/write region of `size` bytes and one IRQ.
    pub fn platform(name: &str, size: u64) -> FakeDevice {
        FakeDevice {
            name: name.to_string(),
            flags: VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PLATFORM,
            regions: vec![(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, size, 0)],
            irqs: vec![(VFIO_IRQ_INFO_EVENTFD, 1)],
            open_errno: None,
            reset_errno: None,
        }
    }
}

/// What the fake kernel answers, set by the test.
#[derive(Debug, Clone)]
pub struct FakeKernelVfio {
    /// The container's API version.
    pub api_version: i32,
    /// The IOMMU types `VFIO_CHECK_EXTENSION` says yes to.
    pub extensions: Vec<u32>,
    /// The errno `VFIO_SET_IOMMU` answers (EPERM without interrupt remapping), if any.
    pub set_iommu_errno: Option<Errno>,
    /// Group files, their viability and devices.
    pub groups: HashMap<PathBuf, (bool, Vec<FakeDevice>)>,
    /// Files that exist but refuse to open with this errno (EACCES, EPERM, EBUSY).
    pub open_errnos: HashMap<PathBuf, Errno>,
}

impl Default for FakeKernelVfio {
    fn default() -> Self {
        FakeKernelVfio {
            api_version: VFIO_API_VERSION,
            extensions: vec![VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU],
            set_iommu_errno: None,
            groups: HashMap::new(),
            open_errnos: HashMap::new(),
        }
    }
}

/// What an open descriptor of the fake is.
#[derive(Debug, Clone)]
enum Open {
    Container,
    Group(PathBuf),
    Device(PathBuf, String),
}

#[derive(Debug, Default)]
struct State {
    kernel: FakeKernelVfio,
    open: HashMap<RawFd, Open>,
    resets: HashMap<String, usize>,
    iommu: Option<u32>,
}

/// The fake's handle: cheap to clone, every clone sees the same state.
#[derive(Debug, Clone, Default)]
pub struct FakeVfio {
    state: Arc<Mutex<State>>,
}

impl FakeVfio {
    /// A fake kernel answering as `kernel` says.
    pub fn new(kernel: FakeKernelVfio) -> FakeVfio {
        FakeVfio { state: Arc::new(Mutex::new(State { kernel, ..State::default() })) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many times `VFIO_DEVICE_RESET` succeeded on the device `name`.
    pub fn resets(&self, name: &str) -> usize {
        self.state().resets.get(name).copied().unwrap_or(0)
    }

    /// The IOMMU type `VFIO_SET_IOMMU` set, if any.
    pub fn iommu(&self) -> Option<u32> {
        self.state().iommu
    }

    fn what(&self, fd: BorrowedFd<'_>) -> Result<Open, Errno> {
        self.state().open.get(&fd.as_raw_fd()).cloned().ok_or(Errno::BADF)
    }

    fn device(&self, fd: BorrowedFd<'_>) -> Result<FakeDevice, Errno> {
        match self.what(fd)? {
            Open::Device(group, name) => self
                .state()
                .kernel
                .groups
                .get(&group)
                .and_then(|(_, devices)| devices.iter().find(|d| d.name == name).cloned())
                .ok_or(Errno::NODEV),
            _ => Err(Errno::NOTTY),
        }
    }

    fn new_fd(&self, what: Open) -> Result<OwnedFd, Errno> {
        let fd = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        self.state().open.insert(fd.as_raw_fd(), what);
        Ok(fd)
    }
}

impl VfioSys for FakeVfio {
    fn open(&self, path: &Path) -> Result<OwnedFd, Errno> {
        if let Some(errno) = self.state().kernel.open_errnos.get(path) {
            return Err(*errno);
        }
        if path == Path::new(super::DEFAULT_CONTAINER) {
            return self.new_fd(Open::Container);
        }
        if self.state().kernel.groups.contains_key(path) {
            return self.new_fd(Open::Group(path.to_path_buf()));
        }
        Err(Errno::NOENT)
    }

    fn get_api_version(&self, container: BorrowedFd<'_>) -> Result<i32, Errno> {
        match self.what(container)? {
            Open::Container => Ok(self.state().kernel.api_version),
            _ => Err(Errno::NOTTY),
        }
    }

    fn check_extension(&self, container: BorrowedFd<'_>, extension: u32) -> Result<i32, Errno> {
        match self.what(container)? {
            Open::Container => Ok(i32::from(self.state().kernel.extensions.contains(&extension))),
            _ => Err(Errno::NOTTY),
        }
    }

    fn set_iommu(&self, container: BorrowedFd<'_>, iommu: u32) -> Result<(), Errno> {
        let Open::Container = self.what(container)? else { return Err(Errno::NOTTY) };
        let mut state = self.state();
        if let Some(errno) = state.kernel.set_iommu_errno {
            return Err(errno);
        }
        if !state.kernel.extensions.contains(&iommu) {
            return Err(Errno::INVAL);
        }
        state.iommu = Some(iommu);
        Ok(())
    }

    fn group_get_status(&self, group: BorrowedFd<'_>, status: &mut vfio_group_status) -> Result<(), Errno> {
        let Open::Group(path) = self.what(group)? else { return Err(Errno::NOTTY) };
        let viable = self.state().kernel.groups.get(&path).is_some_and(|(viable, _)| *viable);
        status.flags = if viable { VFIO_GROUP_FLAGS_VIABLE } else { 0 };
        Ok(())
    }

    fn group_set_container(&self, group: BorrowedFd<'_>, container: BorrowedFd<'_>) -> Result<(), Errno> {
        match (self.what(group)?, self.what(container)?) {
            (Open::Group(_), Open::Container) => Ok(()),
            (Open::Group(_), _) => Err(Errno::BADF),
            _ => Err(Errno::NOTTY),
        }
    }

    fn group_get_device_fd(&self, group: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
        let Open::Group(path) = self.what(group)? else { return Err(Errno::NOTTY) };
        if self.state().iommu.is_none() {
            // The kernel refuses devices of a group whose container has no IOMMU type yet.
            return Err(Errno::INVAL);
        }
        let name = name.to_string_lossy().into_owned();
        let device = self
            .state()
            .kernel
            .groups
            .get(&path)
            .and_then(|(_, devices)| devices.iter().find(|d| d.name == name).cloned())
            .ok_or(Errno::NODEV)?;
        if let Some(errno) = device.open_errno {
            return Err(errno);
        }
        self.new_fd(Open::Device(path, name))
    }

    fn device_get_info(&self, device: BorrowedFd<'_>, info: &mut vfio_device_info) -> Result<(), Errno> {
        let device = self.device(device)?;
        info.flags = device.flags;
        info.num_regions = u32::try_from(device.regions.len()).map_err(|_| Errno::OVERFLOW)?;
        info.num_irqs = u32::try_from(device.irqs.len()).map_err(|_| Errno::OVERFLOW)?;
        Ok(())
    }

    fn device_get_region_info(
        &self,
        device: BorrowedFd<'_>,
        region: &mut vfio_region_info,
    ) -> Result<(), Errno> {
        let device = self.device(device)?;
        let (flags, size, offset) = *device
            .regions
            .get(usize::try_from(region.index).map_err(|_| Errno::INVAL)?)
            .ok_or(Errno::INVAL)?;
        (region.flags, region.size, region.offset) = (flags, size, offset);
        Ok(())
    }

    fn device_get_irq_info(&self, device: BorrowedFd<'_>, irq: &mut vfio_irq_info) -> Result<(), Errno> {
        let device = self.device(device)?;
        let (flags, count) =
            *device.irqs.get(usize::try_from(irq.index).map_err(|_| Errno::INVAL)?).ok_or(Errno::INVAL)?;
        (irq.flags, irq.count) = (flags, count);
        Ok(())
    }

    fn device_reset(&self, device: BorrowedFd<'_>) -> Result<(), Errno> {
        let device = self.device(device)?;
        if let Some(errno) = device.reset_errno {
            return Err(errno);
        }
        *self.state().resets.entry(device.name).or_default() += 1;
        Ok(())
    }
}
