//! A small safe API over the VFIO user-space ABI (REFERENCE §1): a container, a group attached
//! to it with an IOMMU type, and a device opened from the group whose info, regions and IRQs can
//! be read and which can be reset.
//!
//! Owns: the order of the calls, and the wording of every VFIO error — each names the file and
//! the ioctl, and explains the kernel's rule where one applies (EINVAL from `VFIO_DEVICE_RESET`
//! means vfio-platform found no reset for the device; EPERM from `VFIO_SET_IOMMU` means no
//! interrupt remapping). Must not: bind drivers or decide whether a device may be assigned
//! (`bind` and the policy do).
//!
//! Layers, as rust-vmm splits them: [`abi`] holds the numbers and structs, [`sys`] the raw calls
//! behind the [`VfioSys`] trait (the kernel's, with the crate's only `unsafe`), and [`fake`] an
//! in-memory twin of the kernel's answers so this layer is tested without `/dev/vfio`.

pub mod abi;
pub mod fake;
pub mod sys;

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::io::Errno;

pub use abi::*;
pub use fake::FakeVfio;
pub use sys::{Kernel, VfioSys};

/// Why a VFIO step failed. Every variant names the file (or device) and the step.
#[derive(Debug, thiserror::Error)]
pub enum VfioError {
    /// The file does not exist.
    #[error("{path}: no such file — {hint}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// What its absence usually means.
        hint: &'static str,
    },
    /// The kernel refused for lack of permission.
    #[error("{step} on {path}: permission denied — {need}")]
    PermissionDenied {
        /// The file.
        path: PathBuf,
        /// `open` or the ioctl's name.
        step: &'static str,
        /// What would grant it.
        need: &'static str,
    },
    /// The file answered a VFIO ioctl with ENOTTY: it is some other kind of file.
    #[error("{path} is not a VFIO {kind} ({step} returned ENOTTY)")]
    NotVfio {
        /// The file.
        path: PathBuf,
        /// `container` or `group`.
        kind: &'static str,
        /// The ioctl that was refused.
        step: &'static str,
    },
    /// The container speaks another API version than this program.
    #[error("{path}: VFIO API version {found}, this program speaks version {VFIO_API_VERSION}")]
    ApiVersion {
        /// The container file.
        path: PathBuf,
        /// The version the kernel reported.
        found: i32,
    },
    /// The group is not viable (VFIO_GROUP_FLAGS_VIABLE clear).
    #[error(
        "{path}: IOMMU group not viable — every device of the group must be bound to a VFIO driver \
         (vfio-platform) or to no driver; `host list` shows the group's members"
    )]
    NotViable {
        /// The group file.
        path: PathBuf,
    },
    /// The container supports neither type1v2 nor type1.
    #[error(
        "{path}: the VFIO container supports none of VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU and \
         VFIO_NOIOMMU_IOMMU — is vfio_iommu_type1 loaded and is there an IOMMU?"
    )]
    NoIommuType {
        /// The container file.
        path: PathBuf,
    },
    /// `VFIO_SET_IOMMU` said EPERM: type1 refuses a platform without interrupt remapping.
    #[error(
        "VFIO_SET_IOMMU on {path}: refused (EPERM) — vfio_iommu_type1 found no interrupt \
         remapping (MSI isolation) on this platform (a GICv2, or a GICv3 without an ITS), and the \
         kernel logged \"No interrupt remapping support\". To accept that a device in a guest could \
         forge MSIs (platform devices with wired interrupts cannot): `echo 1 > \
         /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts` (or the module option \
         vfio_iommu_type1.allow_unsafe_interrupts=1); this is not a file-permission problem"
    )]
    NoInterruptRemapping {
        /// The container file.
        path: PathBuf,
    },
    /// The file is already in use.
    #[error("{step} on {path}: busy — {hint}")]
    Busy {
        /// The file.
        path: PathBuf,
        /// `open` or the ioctl's name.
        step: &'static str,
        /// Who usually holds it.
        hint: &'static str,
    },
    /// A device name that could escape or confuse a path, refused before any ioctl.
    #[error("invalid device name {name:?}: {reason}")]
    InvalidDeviceName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The group has no device of that name.
    #[error("VFIO_GROUP_GET_DEVICE_FD on {group}: no device {device} in this group (ENODEV)")]
    NoSuchDevice {
        /// The group file.
        group: PathBuf,
        /// The device name.
        device: String,
    },
    /// Opening the device failed with EINVAL: vfio-platform resets a device on first open.
    #[error(
        "VFIO_GROUP_GET_DEVICE_FD on {group}: opening {device} failed (EINVAL) — vfio-platform \
         resets the device on first open and refuses the open when that reset fails or is missing \
         while reset_required=1; the kernel log names the cause — see `platreset explain`"
    )]
    OpenRefused {
        /// The group file.
        group: PathBuf,
        /// The device name.
        device: String,
    },
    /// `VFIO_DEVICE_RESET` returned EINVAL.
    #[error(
        "VFIO_DEVICE_RESET on {device}: the device has no reset: vfio-platform found no ACPI _RST \
         and no reset handler for its first compatible — see `platreset explain`"
    )]
    NoReset {
        /// The device (name and group file).
        device: String,
    },
    /// Opening a file failed for another reason.
    #[error("open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An ioctl failed for another reason.
    #[error("{step} on {path}: {source}")]
    Ioctl {
        /// The file (or `device in group`).
        path: PathBuf,
        /// The ioctl's name.
        step: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// What a file is, for wording errors.
#[derive(Clone, Copy)]
enum FileKind {
    Container,
    Group,
    Device,
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Container => "container",
            FileKind::Group => "group",
            FileKind::Device => "device",
        }
    }

    fn missing_hint(self) -> &'static str {
        match self {
            FileKind::Container => "is the vfio module loaded (modprobe vfio)?",
            FileKind::Group | FileKind::Device => {
                "the group file appears once a device of the IOMMU group is bound to vfio-platform; \
                 the number is the device's iommu_group link (`host list`)"
            }
        }
    }

    fn permission_need(self, errno: Errno) -> &'static str {
        match (self, errno) {
            (FileKind::Container, _) => {
                "the container file must be readable and writable by this user (/dev/vfio/vfio is normally mode 0666)"
            }
            // vfio's group open refuses no-IOMMU groups without CAP_SYS_RAWIO; real groups only
            // need the file's permissions.
            (FileKind::Group, Errno::PERM) => {
                "ordinary groups need only read/write access to /dev/vfio/N; EPERM here means a \
                 no-IOMMU group (/dev/vfio/noiommu-N), which also needs CAP_SYS_RAWIO"
            }
            (FileKind::Group | FileKind::Device, _) => {
                "/dev/vfio/N must be readable and writable by this user (chown/chmod it or add a \
                 udev rule); CAP_SYS_RAWIO is not needed, the group file's permissions are"
            }
        }
    }

    fn busy_hint(self) -> &'static str {
        match self {
            FileKind::Container => "the container is already set up by another group",
            FileKind::Group | FileKind::Device => {
                "the group (or device) is already open in another process, e.g. a running VMM"
            }
        }
    }
}

fn open_error(path: &Path, kind: FileKind, errno: Errno) -> VfioError {
    let path = path.to_path_buf();
    match errno {
        Errno::NOENT => VfioError::Missing { path, hint: kind.missing_hint() },
        Errno::ACCESS | Errno::PERM => {
            VfioError::PermissionDenied { path, step: "open", need: kind.permission_need(errno) }
        }
        Errno::BUSY => VfioError::Busy { path, step: "open", hint: kind.busy_hint() },
        _ => VfioError::Open { path, source: errno.into() },
    }
}

fn ioctl_error(path: &Path, kind: FileKind, step: &'static str, errno: Errno) -> VfioError {
    let path = path.to_path_buf();
    match errno {
        Errno::NOTTY => VfioError::NotVfio { path, kind: kind.name(), step },
        Errno::ACCESS | Errno::PERM => {
            VfioError::PermissionDenied { path, step, need: kind.permission_need(errno) }
        }
        Errno::BUSY => VfioError::Busy { path, step, hint: kind.busy_hint() },
        _ => VfioError::Ioctl { path, step, source: errno.into() },
    }
}

fn open_rw<S: VfioSys>(sys: &S, path: &Path, kind: FileKind) -> Result<OwnedFd, VfioError> {
    sys.open(path).map_err(|errno| open_error(path, kind, errno))
}

// ---------------------------------------------------------------------------------------------
// The safe API.
// ---------------------------------------------------------------------------------------------

/// The default container file.
pub const DEFAULT_CONTAINER: &str = "/dev/vfio/vfio";

/// The file of IOMMU group `number`: `/dev/vfio/<number>`.
pub fn group_path(number: u32) -> PathBuf {
    Path::new("/dev/vfio").join(number.to_string())
}

/// The name the kernel gives the IOMMU groups it makes for devices without an IOMMU
/// (`/sys/kernel/iommu_groups/N/name`, vfio_main.c's `vfio_noiommu_group_alloc`).
pub const NOIOMMU_GROUP_NAME: &str = "vfio-noiommu";

/// The file of IOMMU group `number` as VFIO names it: `/dev/vfio/noiommu-<number>` for a
/// no-IOMMU group (seen on a real 6.1 kernel with `vfio.enable_unsafe_noiommu_mode=1`), else
/// `/dev/vfio/<number>`. `group_name` is the group's sysfs `name` attribute, if it has one.
pub fn group_file(number: u32, group_name: Option<&str>) -> PathBuf {
    if group_name == Some(NOIOMMU_GROUP_NAME) {
        Path::new("/dev/vfio").join(format!("noiommu-{number}"))
    } else {
        group_path(number)
    }
}

/// The IOMMU backend a container was set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IommuType {
    /// `VFIO_TYPE1v2_IOMMU`.
    Type1v2,
    /// `VFIO_TYPE1_IOMMU`.
    Type1,
    /// `VFIO_NOIOMMU_IOMMU`: no isolation and no DMA mapping; the kernel is tainted.
    NoIommu,
}

impl IommuType {
    fn number(self) -> u32 {
        match self {
            IommuType::Type1v2 => VFIO_TYPE1v2_IOMMU,
            IommuType::Type1 => VFIO_TYPE1_IOMMU,
            IommuType::NoIommu => VFIO_NOIOMMU_IOMMU,
        }
    }
}

/// An open VFIO container (`/dev/vfio/vfio`) whose API version has been checked, making its
/// calls through `S` (the kernel, unless a test gives [`FakeVfio`]).
#[derive(Debug)]
pub struct Container<S: VfioSys = Kernel> {
    sys: S,
    fd: OwnedFd,
    path: PathBuf,
    /// The IOMMU type set by the first group attached (0 = none yet): SET_IOMMU is allowed once
    /// per container, after its first group.
    iommu: AtomicU32,
}

impl Container<Kernel> {
    /// Opens the default container, [`DEFAULT_CONTAINER`].
    pub fn open_default() -> Result<Self, VfioError> {
        Self::open(Path::new(DEFAULT_CONTAINER))
    }

    /// Opens the container at `path` and checks it speaks [`VFIO_API_VERSION`].
    pub fn open(path: &Path) -> Result<Self, VfioError> {
        Self::open_with(Kernel, path)
    }
}

impl<S: VfioSys> Container<S> {
    /// Opens the container at `path` through `sys` and checks it speaks [`VFIO_API_VERSION`].
    pub fn open_with(sys: S, path: &Path) -> Result<Self, VfioError> {
        let fd = open_rw(&sys, path, FileKind::Container)?;
        let version = sys
            .get_api_version(fd.as_fd())
            .map_err(|e| ioctl_error(path, FileKind::Container, "VFIO_GET_API_VERSION", e))?;
        if version != VFIO_API_VERSION {
            return Err(VfioError::ApiVersion { path: path.to_path_buf(), found: version });
        }
        Ok(Container { sys, fd, path: path.to_path_buf(), iommu: AtomicU32::new(0) })
    }

    /// The container's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the container supports `extension` (`VFIO_CHECK_EXTENSION`).
    pub fn check_extension(&self, extension: u32) -> Result<bool, VfioError> {
        self.sys
            .check_extension(self.fd.as_fd(), extension)
            .map(|supported| supported > 0)
            .map_err(|e| ioctl_error(&self.path, FileKind::Container, "VFIO_CHECK_EXTENSION", e))
    }

    /// The IOMMU type set on this container, if a group has been attached.
    pub fn iommu_type(&self) -> Option<IommuType> {
        let number = self.iommu.load(Ordering::Acquire);
        [IommuType::Type1v2, IommuType::Type1, IommuType::NoIommu]
            .into_iter()
            .find(|kind| kind.number() == number)
    }

    /// Sets type1v2 (preferred), type1 or — for a container holding a no-IOMMU group, whose
    /// extension checks answer only for that type — no-IOMMU, unless a previous group did.
    fn ensure_iommu(&self) -> Result<IommuType, VfioError> {
        if let Some(kind) = self.iommu_type() {
            return Ok(kind);
        }
        let kind = if self.check_extension(VFIO_TYPE1v2_IOMMU)? {
            IommuType::Type1v2
        } else if self.check_extension(VFIO_TYPE1_IOMMU)? {
            IommuType::Type1
        } else if self.check_extension(VFIO_NOIOMMU_IOMMU)? {
            IommuType::NoIommu
        } else {
            return Err(VfioError::NoIommuType { path: self.path.clone() });
        };
        self.sys.set_iommu(self.fd.as_fd(), kind.number()).map_err(|errno| {
            match (kind, errno) {
                // vfio_iommu_type1_attach_group: -EPERM when the IRQ domain cannot remap MSIs and
                // allow_unsafe_interrupts is off (seen on a real 6.1 kernel with GICv2 + SMMUv3).
                (IommuType::Type1v2 | IommuType::Type1, Errno::PERM) => {
                    VfioError::NoInterruptRemapping { path: self.path.clone() }
                }
                _ => ioctl_error(&self.path, FileKind::Container, "VFIO_SET_IOMMU", errno),
            }
        })?;
        self.iommu.store(kind.number(), Ordering::Release);
        Ok(kind)
    }
}

/// An IOMMU group (`/dev/vfio/N`, or `/dev/vfio/noiommu-N`) attached to a container with an
/// IOMMU type.
///
/// The group does not borrow the container: once attached, the kernel keeps the container alive
/// for as long as the group is set to it.
#[derive(Debug)]
pub struct Group<S: VfioSys = Kernel> {
    sys: S,
    fd: OwnedFd,
    path: PathBuf,
    iommu: IommuType,
}

impl<S: VfioSys> Group<S> {
    /// Opens the group at `group_path`, checks it is viable, attaches it to `container` and makes
    /// sure the container has an IOMMU type (type1v2, else type1, else no-IOMMU).
    pub fn open(container: &Container<S>, group_path: &Path) -> Result<Self, VfioError> {
        let sys = container.sys.clone();
        let fd = open_rw(&sys, group_path, FileKind::Group)?;
        let mut status = vfio_group_status { argsz: argsz::<vfio_group_status>(), flags: 0 };
        sys.group_get_status(fd.as_fd(), &mut status)
            .map_err(|e| ioctl_error(group_path, FileKind::Group, "VFIO_GROUP_GET_STATUS", e))?;
        if status.flags & VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(VfioError::NotViable { path: group_path.to_path_buf() });
        }
        sys.group_set_container(fd.as_fd(), container.fd.as_fd())
            .map_err(|e| ioctl_error(group_path, FileKind::Group, "VFIO_GROUP_SET_CONTAINER", e))?;
        // The group's fd is dropped on error, which detaches it from the container again.
        let iommu = container.ensure_iommu()?;
        Ok(Group { sys, fd, path: group_path.to_path_buf(), iommu })
    }

    /// The group's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The IOMMU type of the container the group is attached to.
    pub fn iommu_type(&self) -> IommuType {
        self.iommu
    }

    /// Opens the device `name` of this group (`VFIO_GROUP_GET_DEVICE_FD`). The name is validated
    /// first (see [`validate_device_name`]). Note that vfio-platform resets the device on its
    /// first open.
    pub fn device(&self, name: &str) -> Result<Device<S>, VfioError> {
        let cname = validate_device_name(name)?;
        let fd = self.sys.group_get_device_fd(self.fd.as_fd(), &cname).map_err(|errno| match errno {
            Errno::NODEV => VfioError::NoSuchDevice { group: self.path.clone(), device: name.to_owned() },
            Errno::INVAL => VfioError::OpenRefused { group: self.path.clone(), device: name.to_owned() },
            _ => ioctl_error(&self.path, FileKind::Group, "VFIO_GROUP_GET_DEVICE_FD", errno),
        })?;
        Ok(Device { sys: self.sys.clone(), fd, label: format!("{name} in {}", self.path.display()) })
    }
}

/// Checks a device name before it reaches the kernel or a path: non-empty, no `/`, no `..`, no
/// NUL. Returns it as the C string GET_DEVICE_FD takes.
pub fn validate_device_name(name: &str) -> Result<CString, VfioError> {
    let refuse = |reason| VfioError::InvalidDeviceName { name: name.to_owned(), reason };
    if let Some(reason) = crate::sysfs::name_problem(name) {
        return Err(refuse(reason));
    }
    CString::new(name).map_err(|_| refuse("contains a NUL byte"))
}

/// An open VFIO device.
#[derive(Debug)]
pub struct Device<S: VfioSys = Kernel> {
    sys: S,
    fd: OwnedFd,
    /// `<name> in <group file>`, for errors.
    label: String,
}

/// What `VFIO_DEVICE_GET_INFO` says about a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `VFIO_DEVICE_FLAGS_*`.
    pub flags: u32,
    /// Number of regions (highest index + 1).
    pub num_regions: u32,
    /// Number of IRQ indexes (highest index + 1).
    pub num_irqs: u32,
}

const DEVICE_FLAG_NAMES: &[(u32, &str)] = &[
    (VFIO_DEVICE_FLAGS_RESET, "RESET"),
    (VFIO_DEVICE_FLAGS_PCI, "PCI"),
    (VFIO_DEVICE_FLAGS_PLATFORM, "PLATFORM"),
    (VFIO_DEVICE_FLAGS_AMBA, "AMBA"),
    (1 << 4, "CCW"),
    (1 << 5, "AP"),
    (1 << 6, "FSL_MC"),
    (1 << 7, "CAPS"),
];

const REGION_FLAG_NAMES: &[(u32, &str)] = &[
    (VFIO_REGION_INFO_FLAG_READ, "READ"),
    (VFIO_REGION_INFO_FLAG_WRITE, "WRITE"),
    (VFIO_REGION_INFO_FLAG_MMAP, "MMAP"),
    (VFIO_REGION_INFO_FLAG_CAPS, "CAPS"),
];

const IRQ_FLAG_NAMES: &[(u32, &str)] = &[
    (VFIO_IRQ_INFO_EVENTFD, "EVENTFD"),
    (VFIO_IRQ_INFO_MASKABLE, "MASKABLE"),
    (VFIO_IRQ_INFO_AUTOMASKED, "AUTOMASKED"),
    (VFIO_IRQ_INFO_NORESIZE, "NORESIZE"),
];

/// Names of the set bits of `flags`; unknown bits appear as hex so nothing is hidden.
fn decode_flags(flags: u32, names: &[(u32, &'static str)]) -> Vec<String> {
    let mut out: Vec<String> =
        names.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, name)| (*name).to_owned()).collect();
    let known = names.iter().fold(0, |acc, (bit, _)| acc | bit);
    if flags & !known != 0 {
        out.push(format!("{:#x}", flags & !known));
    }
    out
}

fn write_flags(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    if names.is_empty() {
        f.write_str("-")
    } else {
        f.write_str(&names.join("|"))
    }
}

impl DeviceInfo {
    /// Names of the set `VFIO_DEVICE_FLAGS_*` bits (`RESET`, `PLATFORM`, …).
    pub fn flag_names(&self) -> Vec<String> {
        decode_flags(self.flags, DEVICE_FLAG_NAMES)
    }

    /// Whether the device has a reset (`VFIO_DEVICE_FLAGS_RESET`).
    pub fn has_reset(&self) -> bool {
        self.flags & VFIO_DEVICE_FLAGS_RESET != 0
    }
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("flags ")?;
        write_flags(f, &self.flag_names())?;
        write!(f, ", {} regions, {} IRQs", self.num_regions, self.num_irqs)
    }
}

/// One region of a device (`VFIO_DEVICE_GET_REGION_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    /// Region index.
    pub index: u32,
    /// `VFIO_REGION_INFO_FLAG_*`.
    pub flags: u32,
    /// Size in bytes.
    pub size: u64,
    /// Offset within the device fd.
    pub offset: u64,
}

impl RegionInfo {
    /// Names of the set flags (`READ`, `WRITE`, `MMAP`, `CAPS`).
    pub fn flag_names(&self) -> Vec<String> {
        decode_flags(self.flags, REGION_FLAG_NAMES)
    }
}

impl fmt::Display for RegionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "region {}: size {:#x} at fd offset {:#x}, ", self.index, self.size, self.offset)?;
        write_flags(f, &self.flag_names())
    }
}

/// One IRQ index of a device (`VFIO_DEVICE_GET_IRQ_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrqInfo {
    /// IRQ index.
    pub index: u32,
    /// `VFIO_IRQ_INFO_*`.
    pub flags: u32,
    /// Number of IRQs in this index.
    pub count: u32,
}

impl IrqInfo {
    /// Names of the set flags (`EVENTFD`, `MASKABLE`, `AUTOMASKED`, `NORESIZE`).
    pub fn flag_names(&self) -> Vec<String> {
        decode_flags(self.flags, IRQ_FLAG_NAMES)
    }
}

impl fmt::Display for IrqInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "irq {}: count {}, ", self.index, self.count)?;
        write_flags(f, &self.flag_names())
    }
}

impl<S: VfioSys> Device<S> {
    fn error(&self, step: &'static str, errno: Errno) -> VfioError {
        ioctl_error(Path::new(&self.label), FileKind::Device, step, errno)
    }

    /// `<name> in <group file>`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Flags, number of regions and number of IRQ indexes.
    pub fn info(&self) -> Result<DeviceInfo, VfioError> {
        let mut info = vfio_device_info { argsz: argsz::<vfio_device_info>(), ..Default::default() };
        self.sys
            .device_get_info(self.fd.as_fd(), &mut info)
            .map_err(|e| self.error("VFIO_DEVICE_GET_INFO", e))?;
        Ok(DeviceInfo { flags: info.flags, num_regions: info.num_regions, num_irqs: info.num_irqs })
    }

    /// Every region, in index order.
    pub fn regions(&self) -> Result<Vec<RegionInfo>, VfioError> {
        (0..self.info()?.num_regions)
            .map(|index| {
                let mut region =
                    vfio_region_info { argsz: argsz::<vfio_region_info>(), index, ..Default::default() };
                self.sys
                    .device_get_region_info(self.fd.as_fd(), &mut region)
                    .map_err(|e| self.error("VFIO_DEVICE_GET_REGION_INFO", e))?;
                Ok(RegionInfo { index, flags: region.flags, size: region.size, offset: region.offset })
            })
            .collect()
    }

    /// Every IRQ index, in order.
    pub fn irqs(&self) -> Result<Vec<IrqInfo>, VfioError> {
        (0..self.info()?.num_irqs)
            .map(|index| {
                let mut irq = vfio_irq_info { argsz: argsz::<vfio_irq_info>(), index, ..Default::default() };
                self.sys
                    .device_get_irq_info(self.fd.as_fd(), &mut irq)
                    .map_err(|e| self.error("VFIO_DEVICE_GET_IRQ_INFO", e))?;
                Ok(IrqInfo { index, flags: irq.flags, count: irq.count })
            })
            .collect()
    }

    /// `VFIO_DEVICE_RESET`. EINVAL is vfio-platform's answer for a device without a reset
    /// (REFERENCE §1) and becomes [`VfioError::NoReset`].
    pub fn reset(&self) -> Result<(), VfioError> {
        match self.sys.device_reset(self.fd.as_fd()) {
            Ok(_) => Ok(()),
            Err(Errno::INVAL) => Err(VfioError::NoReset { device: self.label.clone() }),
            Err(e) => Err(self.error("VFIO_DEVICE_RESET", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_are_io_semicolon_100_plus_n() {
        // _IO(type, nr) = type << 8 | nr on every architecture (direction and size are 0).
        assert_eq!(VFIO_GET_API_VERSION, 0x3B64);
        assert_eq!(VFIO_DEVICE_RESET, 0x3B6F);
    }

    #[test]
    fn a_noiommu_group_is_opened_as_dev_vfio_noiommu_n() {
        // The group name and device file a real 6.1 kernel gave a virtio-mmio device bound with
        // vfio.enable_unsafe_noiommu_mode=1 (crates/cli/tests/kernel.rs).
        assert_eq!(group_file(0, Some("vfio-noiommu")), Path::new("/dev/vfio/noiommu-0"));
        assert_eq!(group_file(7, None), Path::new("/dev/vfio/7"));
        assert_eq!(group_file(7, Some("smmu-group")), Path::new("/dev/vfio/7"));
        assert_eq!(IommuType::NoIommu.number(), 8);
    }

    #[test]
    fn device_names_with_slash_dotdot_or_nul_are_refused() {
        for bad in ["", "a/b", "..", "x..y", "a\0b"] {
            assert!(validate_device_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_device_name("e6e31000.pwm").is_ok());
    }

    #[test]
    fn flags_decode_to_names_and_unknown_bits_stay_visible() {
        let info = DeviceInfo {
            flags: VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PLATFORM | 1 << 12,
            num_regions: 1,
            num_irqs: 2,
        };
        assert_eq!(info.flag_names(), ["RESET", "PLATFORM", "0x1000"]);
        assert_eq!(info.to_string(), "flags RESET|PLATFORM|0x1000, 1 regions, 2 IRQs");
        assert!(info.has_reset());
    }

    #[test]
    fn reset_einval_message_explains_the_kernel_rule() {
        let e = VfioError::NoReset { device: "fe300000.eth in /dev/vfio/3".into() };
        let text = e.to_string();
        assert!(text.contains("no ACPI _RST"), "{text}");
        assert!(text.contains("first compatible"), "{text}");
        assert!(text.contains("platreset explain"), "{text}");
    }
}
