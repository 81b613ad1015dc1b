//! Discovery: the platform devices a sysfs root shows, each with its DT node, compatible strings,
//! driver, `driver_override`, IOMMU group and that group's other members.
//!
//! Owns: reading only. Nothing here writes. A listing costs work linear in the tree: each
//! IOMMU group's members are listed once per listing and shared by every member
//! ([`GroupMembers`]), never listed again per device.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::sysfs::{HostError, SysfsRoot, VFIO_PLATFORM};

/// One device on the platform bus, as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDevice {
    /// The device's name on the bus (`1c28000.serial`).
    pub name: String,
    /// Its DT path (`/soc/serial@1c28000`), when it came from the device tree.
    pub dt_path: Option<String>,
    /// The `compatible` strings of its DT node, most specific first.
    pub compatible: Vec<String>,
    /// The driver it is bound to, if any.
    pub driver: Option<String>,
    /// Its `driver_override`, if set.
    pub driver_override: Option<String>,
    /// Its IOMMU group, if it has one.
    pub iommu_group: Option<u32>,
    /// Every device in that group (itself included), sorted; one list shared by all the
    /// members of a group, so a group of n devices costs n names, not n².
    pub group_members: Arc<[String]>,
}

/// The members of each IOMMU group, listed once and shared, for one pass over many devices.
#[derive(Debug, Default)]
pub struct GroupMembers {
    groups: BTreeMap<u32, Arc<[String]>>,
}

impl GroupMembers {
    /// An empty cache.
    pub fn new() -> Self {
        GroupMembers::default()
    }

    /// The members of `group`, listed on first use.
    pub fn of(&mut self, root: &SysfsRoot, group: u32) -> Result<Arc<[String]>, HostError> {
        if let Some(members) = self.groups.get(&group) {
            return Ok(Arc::clone(members));
        }
        let members: Arc<[String]> = root.iommu_group_members(group)?.into();
        self.groups.insert(group, Arc::clone(&members));
        Ok(members)
    }
}

/// Reads one device.
pub fn read_device(root: &SysfsRoot, name: &str) -> Result<PlatformDevice, HostError> {
    read_device_with(root, name, &mut GroupMembers::new())
}

/// Reads several devices, listing each IOMMU group once.
pub fn read_devices<S: AsRef<str>>(root: &SysfsRoot, names: &[S]) -> Result<Vec<PlatformDevice>, HostError> {
    let mut groups = GroupMembers::new();
    names.iter().map(|name| read_device_with(root, name.as_ref(), &mut groups)).collect()
}

/// Reads one device, taking its group's members from (and adding them to) `groups`.
pub fn read_device_with(
    root: &SysfsRoot,
    name: &str,
    groups: &mut GroupMembers,
) -> Result<PlatformDevice, HostError> {
    let iommu_group = root.iommu_group(name)?;
    let group_members = match iommu_group {
        Some(group) => groups.of(root, group)?,
        None => Arc::new([]),
    };
    Ok(PlatformDevice {
        name: name.to_string(),
        dt_path: root.of_node_path(name)?,
        compatible: root.compatible(name)?,
        driver: root.driver(name)?,
        driver_override: root.driver_override(name)?,
        iommu_group,
        group_members,
    })
}

/// A listing of the platform bus: the devices that could be read, and the entries that could not.
#[derive(Debug)]
pub struct Listing {
    /// Every device read whole, sorted by name.
    pub devices: Vec<PlatformDevice>,
    /// Every entry that could not be read (a name that is not one component or not UTF-8, an
    /// attribute missing, unreadable or leaving the root), sorted by name, with why. One odd
    /// entry never hides the others.
    pub odd: Vec<OddEntry>,
}

/// A bus entry that could not be read as a device.
#[derive(Debug)]
pub struct OddEntry {
    /// Its name, with anything that is not printable UTF-8 escaped (`"a\u{1b}b"`).
    pub name: String,
    /// Why it could not be read.
    pub error: HostError,
}

/// Every device under `<root>/sys/bus/platform/devices`, sorted by name; an entry that cannot be
/// read is set aside in [`Listing::odd`] with its reason. Fails as a whole only when the bus
/// itself cannot be listed.
pub fn list(root: &SysfsRoot) -> Result<Listing, HostError> {
    let dir = root.platform_devices_dir();
    let entries = match root.list_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.is_not_found() => {
            return Err(HostError::NoPlatformBus { path: dir, root: root.root().to_path_buf() })
        }
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    let mut odd = Vec::new();
    for entry in entries {
        match entry.into_string() {
            Ok(name) => names.push(name),
            Err(raw) => {
                let shown = format!("{raw:?}");
                let error = HostError::Malformed {
                    path: dir.clone(),
                    what: format!("device name {shown} is not UTF-8"),
                };
                odd.push(OddEntry { name: shown, error });
            }
        }
    }
    names.sort();
    let mut groups = GroupMembers::new();
    let mut devices = Vec::with_capacity(names.len());
    for name in names {
        match read_device_with(root, &name, &mut groups) {
            Ok(device) => devices.push(device),
            Err(error) => odd.push(OddEntry { name: name.escape_debug().to_string(), error }),
        }
    }
    odd.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing { devices, odd })
}

/// In words, what the real `/` offers: whether it has a platform bus and whether the
/// vfio-platform driver is loaded.
pub fn real_root_status() -> String {
    status_of(Path::new("/"))
}

/// [`real_root_status`] for any root (so it can be tested on a generated tree).
pub fn status_of(root: &Path) -> String {
    status_with(root, &crate::kernel::KernelFacts::read(root))
}

/// [`status_of`] with the kernel's facts already read (a caller that needs them too reads them once).
pub fn status_with(root: &Path, facts: &crate::kernel::KernelFacts) -> String {
    let root = SysfsRoot::new(root);
    let devices = root.platform_devices_dir();
    let mut text = match root.list_dir(&devices) {
        Ok(entries) => format!("{} exists ({} platform devices).", devices.display(), entries.len()),
        Err(e) if e.is_not_found() => format!(
            "{} does not exist: this is not a platform-bus system, or sysfs is not mounted.",
            devices.display()
        ),
        Err(e) => format!("{} cannot be listed: {e}.", devices.display()),
    };
    let vfio = root.platform_drivers_dir().join(VFIO_PLATFORM);
    match facts.vfio_platform_missing() {
        None => text.push_str(&format!(" The vfio-platform driver is present ({}).", vfio.display())),
        Some(missing) => {
            text.push_str(&format!(" No vfio-platform driver ({} is missing): {missing}.", vfio.display()))
        }
    }
    text
}
