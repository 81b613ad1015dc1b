//! Discovery: the platform devices a sysfs root shows, each with its DT node, compatible strings,
//! driver, `driver_override`, IOMMU group and that group's other members.
//!
//! Owns: reading only. Nothing here writes.

use std::path::Path;

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
    /// Every device in that group (itself included), sorted.
    pub group_members: Vec<String>,
}

/// Reads one device.
pub fn read_device(root: &SysfsRoot, name: &str) -> Result<PlatformDevice, HostError> {
    let iommu_group = root.iommu_group(name)?;
    let group_members = match iommu_group {
        Some(group) => root.iommu_group_members(group)?,
        None => Vec::new(),
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

/// Every device under `<root>/sys/bus/platform/devices`, sorted by name.
pub fn list(root: &SysfsRoot) -> Result<Vec<PlatformDevice>, HostError> {
    let dir = root.platform_devices_dir();
    let entries = match root.list_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.is_not_found() => {
            return Err(HostError::NoPlatformBus { path: dir, root: root.root().to_path_buf() })
        }
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.into_string().map_err(|raw| HostError::Malformed {
            path: dir.clone(),
            what: format!("device name {raw:?} is not UTF-8"),
        })?;
        names.push(name);
    }
    names.sort();
    names.iter().map(|name| read_device(root, name)).collect()
}

/// In words, what the real `/` offers: whether it has a platform bus and whether the
/// vfio-platform driver is loaded.
pub fn real_root_status() -> String {
    status_of(Path::new("/"))
}

/// [`real_root_status`] for any root (so it can be tested on a generated tree).
pub fn status_of(root: &Path) -> String {
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
    if vfio.is_dir() {
        text.push_str(&format!(" The vfio-platform driver is present ({}).", vfio.display()));
    } else {
        text.push_str(&format!(
            " The vfio-platform driver is not present ({} is missing): load it with \
             `modprobe vfio-platform` before binding devices.",
            vfio.display()
        ));
    }
    text
}
