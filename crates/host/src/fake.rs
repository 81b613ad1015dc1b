//! A generated sysfs tree and a small kernel model that reacts to writes, for tests.
//!
//! Owns: building a tree with the kernel's layout (the bus's device symlinks, each device's
//! `driver`, `iommu_group` and `of_node` links and writable `driver_override`, the drivers'
//! `bind`/`unbind`, `drivers_probe`, the IOMMU groups' member links), snapshotting it whole, and
//! [`FakeKernel`], a [`Writer`] that changes the tree the way the kernel would — including the
//! ways it fails. A normal public module so integration tests (and the CLI's tests) can use it.
//!
//! The model follows the kernel where the difference matters to a binder: a write to
//! `drivers_probe` succeeds even when no driver binds (the caller must check the `driver` link),
//! an empty write to `driver_override` changes nothing (sysfs drops zero-length stores) while a
//! lone newline clears it, and `bind` refuses a device whose override names another driver.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use crate::sysfs::{HostError, SysfsRoot, Writer, VFIO_PLATFORM};

/// One device in a fake tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDevice {
    /// Its bus name.
    pub name: String,
    /// The driver it is bound to at the start, and the one it matches by default.
    pub driver: Option<String>,
    /// Its `driver_override` at the start.
    pub driver_override: Option<String>,
    /// Its IOMMU group.
    pub iommu_group: Option<u32>,
    /// Its DT node path (`/soc/eth@1000`) and that node's compatible strings.
    pub of_node: Option<(String, Vec<String>)>,
}

impl FakeDevice {
    /// A device with no driver, override, group or DT node.
    pub fn new(name: &str) -> Self {
        FakeDevice {
            name: name.to_string(),
            driver: None,
            driver_override: None,
            iommu_group: None,
            of_node: None,
        }
    }

    /// Bound to (and matched by) `driver`.
    pub fn driver(mut self, driver: &str) -> Self {
        self.driver = Some(driver.to_string());
        self
    }

    /// With `driver_override` set to `value`.
    pub fn driver_override(mut self, value: &str) -> Self {
        self.driver_override = Some(value.to_string());
        self
    }

    /// In IOMMU group `group`.
    pub fn group(mut self, group: u32) -> Self {
        self.iommu_group = Some(group);
        self
    }

    /// With a DT node at `path` whose compatible list is `compatible`.
    pub fn of_node(mut self, path: &str, compatible: &[&str]) -> Self {
        self.of_node = Some((path.to_string(), compatible.iter().map(|s| s.to_string()).collect()));
        self
    }
}

/// What a fake tree contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeSpec {
    /// The platform devices.
    pub devices: Vec<FakeDevice>,
    /// Drivers registered besides those the devices are bound to (e.g. `vfio-platform`).
    pub extra_drivers: Vec<String>,
}

/// One entry of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file and its content.
    File(Vec<u8>),
    /// A symlink and its target, as stored (not resolved).
    Link(PathBuf),
}

/// Every directory, file content and symlink target below a root, keyed by relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<PathBuf, Entry>);

impl Snapshot {
    /// Takes a snapshot of everything below `root` (symlinks recorded, not followed).
    pub fn take(root: &Path) -> io::Result<Snapshot> {
        let mut entries = BTreeMap::new();
        walk(root, root, &mut entries)?;
        Ok(Snapshot(entries))
    }

    /// The paths that differ between `self` and `other`, each with both sides, for assertion
    /// messages.
    pub fn diff(&self, other: &Snapshot) -> Vec<String> {
        let keys: BTreeSet<&PathBuf> = self.0.keys().chain(other.0.keys()).collect();
        keys.into_iter()
            .filter(|k| self.0.get(*k) != other.0.get(*k))
            .map(|k| format!("{}: {:?} -> {:?}", k.display(), self.0.get(k), other.0.get(k)))
            .collect()
    }
}

fn walk(root: &Path, dir: &Path, entries: &mut BTreeMap<PathBuf, Entry>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(root).map_err(io::Error::other)?.to_path_buf();
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            entries.insert(rel, Entry::Link(std::fs::read_link(&path)?));
        } else if kind.is_dir() {
            entries.insert(rel, Entry::Dir);
            walk(root, &path, entries)?;
        } else {
            entries.insert(rel, Entry::File(std::fs::read(&path)?));
        }
    }
    Ok(())
}

/// A generated kernel-like sysfs tree below a directory.
#[derive(Debug, Clone)]
pub struct FakeSysfs {
    root: PathBuf,
    spec: FakeSpec,
}

/// How an unset `driver_override` reads (platform bus, kernels before 5.x-ish print NULL so).
const UNSET_OVERRIDE: &[u8] = b"(null)\n";

impl FakeSysfs {
    /// Builds the tree for `spec` below `dir` (which should be empty).
    pub fn build(dir: &Path, spec: &FakeSpec) -> io::Result<FakeSysfs> {
        let sys = dir.join("sys");
        let bus = sys.join("bus/platform");
        std::fs::create_dir_all(bus.join("devices"))?;
        std::fs::create_dir_all(bus.join("drivers"))?;
        std::fs::create_dir_all(sys.join("devices/platform"))?;
        std::fs::create_dir_all(sys.join("kernel/iommu_groups"))?;
        std::fs::create_dir_all(sys.join("firmware/devicetree/base"))?;
        std::fs::write(bus.join("drivers_probe"), b"")?;

        let drivers: BTreeSet<&str> = spec
            .devices
            .iter()
            .filter_map(|d| d.driver.as_deref())
            .chain(spec.extra_drivers.iter().map(String::as_str))
            .collect();
        for driver in drivers {
            let dir = bus.join("drivers").join(driver);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("bind"), b"")?;
            std::fs::write(dir.join("unbind"), b"")?;
        }

        for device in &spec.devices {
            let name = device.name.as_str();
            let dev_dir = sys.join("devices/platform").join(name);
            std::fs::create_dir_all(&dev_dir)?;
            symlink(format!("../../../devices/platform/{name}"), bus.join("devices").join(name))?;
            let override_bytes = match &device.driver_override {
                Some(value) => format!("{value}\n").into_bytes(),
                None => UNSET_OVERRIDE.to_vec(),
            };
            std::fs::write(dev_dir.join("driver_override"), override_bytes)?;
            if let Some(driver) = &device.driver {
                link_driver(dir, driver, name)?;
            }
            if let Some(group) = device.iommu_group {
                let members = sys.join(format!("kernel/iommu_groups/{group}/devices"));
                std::fs::create_dir_all(&members)?;
                symlink(format!("../../../../devices/platform/{name}"), members.join(name))?;
                symlink(format!("../../../kernel/iommu_groups/{group}"), dev_dir.join("iommu_group"))?;
            }
            if let Some((path, compatible)) = &device.of_node {
                let rel = path.trim_start_matches('/');
                let node = sys.join("firmware/devicetree/base").join(rel);
                std::fs::create_dir_all(&node)?;
                let mut bytes = Vec::new();
                for c in compatible {
                    bytes.extend_from_slice(c.as_bytes());
                    bytes.push(0);
                }
                std::fs::write(node.join("compatible"), bytes)?;
                symlink(format!("../../../firmware/devicetree/base/{rel}"), dev_dir.join("of_node"))?;
            }
        }
        Ok(FakeSysfs { root: dir.to_path_buf(), spec: spec.clone() })
    }

    /// The directory the tree is under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A [`SysfsRoot`] for reading the tree.
    pub fn sysfs_root(&self) -> SysfsRoot {
        SysfsRoot::new(&self.root)
    }

    /// A snapshot of the whole tree.
    pub fn snapshot(&self) -> io::Result<Snapshot> {
        Snapshot::take(&self.root)
    }

    /// A kernel model over this tree; each device matches the driver it started on.
    pub fn kernel(&self) -> FakeKernel {
        FakeKernel {
            root: self.root.clone(),
            native: self.spec.devices.iter().map(|d| (d.name.clone(), d.driver.clone())).collect(),
            failures: Vec::new(),
            writes_seen: 0,
            refusing: BTreeSet::new(),
            vfio_without_group: false,
            noiommu: false,
        }
    }
}

/// Creates the `driver` link of device `name` and the driver's link back to the device.
fn link_driver(root: &Path, driver: &str, name: &str) -> io::Result<()> {
    let dev_dir = root.join("sys/devices/platform").join(name);
    symlink(format!("../../../bus/platform/drivers/{driver}"), dev_dir.join("driver"))?;
    let back = root.join("sys/bus/platform/drivers").join(driver).join(name);
    symlink(format!("../../../../devices/platform/{name}"), back)
}

/// Which write an injected failure hits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Trigger {
    /// The next write to a path ending with this suffix.
    Suffix(PathBuf),
    /// The n-th write (counting from 0) the kernel sees.
    Nth(usize),
}

/// The kernel model: a [`Writer`] that changes the fake tree as the kernel would.
#[derive(Debug, Clone)]
pub struct FakeKernel {
    root: PathBuf,
    native: BTreeMap<String, Option<String>>,
    failures: Vec<(Trigger, Errno)>,
    writes_seen: usize,
    refusing: BTreeSet<String>,
    vfio_without_group: bool,
    noiommu: bool,
}

/// The `name` the kernel gives a group it makes for a device without an IOMMU.
const NOIOMMU_NAME: &[u8] = b"vfio-noiommu\n";

impl FakeKernel {
    /// VFIO's no-IOMMU mode (`vfio.enable_unsafe_noiommu_mode=1`), as a real 6.1 kernel showed
    /// it: binding vfio-platform to a device without an IOMMU group makes a new group (the lowest
    /// free number) named `vfio-noiommu`, and unbinding removes it again.
    pub fn noiommu_mode(&mut self) {
        self.noiommu = true;
    }

    fn groups_dir(&self) -> PathBuf {
        self.root.join("sys/kernel/iommu_groups")
    }

    fn add_noiommu_group(&self, name: &str) -> io::Result<()> {
        let mut group = 0u32;
        while self.groups_dir().join(group.to_string()).exists() {
            group += 1;
        }
        let dir = self.groups_dir().join(group.to_string());
        std::fs::create_dir_all(dir.join("devices"))?;
        std::fs::write(dir.join("name"), NOIOMMU_NAME)?;
        symlink(format!("../../../../devices/platform/{name}"), dir.join("devices").join(name))?;
        symlink(format!("../../../kernel/iommu_groups/{group}"), self.device_dir(name).join("iommu_group"))
    }

    fn remove_noiommu_group(&self, name: &str) -> io::Result<()> {
        let link = self.device_dir(name).join("iommu_group");
        let Ok(target) = std::fs::read_link(&link) else { return Ok(()) };
        let Some(group) = target.file_name() else { return Ok(()) };
        let dir = self.groups_dir().join(group);
        if std::fs::read(dir.join("name")).ok().as_deref() == Some(NOIOMMU_NAME) {
            std::fs::remove_file(&link)?;
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    /// Links `name` to `driver`, first making the no-IOMMU group vfio-platform's probe needs.
    fn attach(&self, driver: &str, name: &str) -> io::Result<()> {
        if driver == VFIO_PLATFORM
            && self.noiommu
            && self.device_dir(name).join("iommu_group").symlink_metadata().is_err()
        {
            self.add_noiommu_group(name)?;
        }
        link_driver(&self.root, driver, name)
    }

    /// Makes the next write to a path ending with `suffix` fail with `errno`, once.
    pub fn fail_on(&mut self, suffix: &str, errno: Errno) {
        self.failures.push((Trigger::Suffix(PathBuf::from(suffix)), errno));
    }

    /// Makes the `n`-th write (from 0, counting every write this kernel has seen) fail with
    /// `errno`.
    pub fn fail_nth_write(&mut self, n: usize, errno: Errno) {
        self.failures.push((Trigger::Nth(n), errno));
    }

    /// Makes `driver`'s probe fail from now on: it will not bind any device.
    pub fn refuse_probe(&mut self, driver: &str) {
        self.refusing.insert(driver.to_string());
    }

    /// Lets vfio-platform bind a device that has no IOMMU group (as a broken or no-IOMMU setup
    /// might), so the binder's own group check is exercised.
    pub fn vfio_binds_without_group(&mut self) {
        self.vfio_without_group = true;
    }

    /// How many writes this kernel has seen, failed ones included.
    pub fn writes_seen(&self) -> usize {
        self.writes_seen
    }

    fn device_dir(&self, name: &str) -> PathBuf {
        self.root.join("sys/devices/platform").join(name)
    }

    fn bound_driver(&self, name: &str) -> io::Result<Option<String>> {
        match std::fs::read_link(self.device_dir(name).join("driver")) {
            Ok(target) => Ok(target.file_name().and_then(|n| n.to_str()).map(str::to_string)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn override_of(&self, name: &str) -> io::Result<Option<String>> {
        let bytes = std::fs::read(self.device_dir(name).join("driver_override"))?;
        if bytes == UNSET_OVERRIDE {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&bytes);
        Ok(Some(text.trim_end_matches('\n').to_string()))
    }

    /// Whether `driver`'s probe of `name` succeeds.
    fn probe_succeeds(&self, driver: &str, name: &str) -> bool {
        if self.refusing.contains(driver) {
            return false;
        }
        if driver == VFIO_PLATFORM && !self.vfio_without_group && !self.noiommu {
            return self.device_dir(name).join("iommu_group").symlink_metadata().is_ok();
        }
        true
    }

    fn driver_exists(&self, driver: &str) -> bool {
        self.root.join("sys/bus/platform/drivers").join(driver).is_dir()
    }

    /// The device named by a write to bind/unbind/drivers_probe; it must exist.
    fn target_device(&self, bytes: &[u8]) -> io::Result<String> {
        let text = std::str::from_utf8(bytes).map_err(|_| errno(Errno::INVAL))?;
        let name = text.trim_end_matches('\n');
        if name.is_empty() || name.contains('/') || !self.device_dir(name).is_dir() {
            return Err(errno(Errno::NODEV));
        }
        Ok(name.to_string())
    }

    fn set_override(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        // sysfs never calls the store for a zero-length write, so nothing changes.
        if bytes.is_empty() {
            return Ok(());
        }
        let text = std::str::from_utf8(bytes).map_err(|_| errno(Errno::INVAL))?;
        let value = text.split('\n').next().unwrap_or("");
        let stored =
            if value.is_empty() { UNSET_OVERRIDE.to_vec() } else { format!("{value}\n").into_bytes() };
        std::fs::write(self.device_dir(name).join("driver_override"), stored)
    }

    fn unbind(&self, driver: &str, name: &str) -> io::Result<()> {
        if self.bound_driver(name)?.as_deref() != Some(driver) {
            return Err(errno(Errno::NODEV));
        }
        std::fs::remove_file(self.device_dir(name).join("driver"))?;
        std::fs::remove_file(self.root.join("sys/bus/platform/drivers").join(driver).join(name))?;
        if driver == VFIO_PLATFORM {
            self.remove_noiommu_group(name)?;
        }
        Ok(())
    }

    fn bind(&self, driver: &str, name: &str) -> io::Result<()> {
        if self.bound_driver(name)?.is_some() {
            return Err(errno(Errno::BUSY));
        }
        if let Some(other) = self.override_of(name)? {
            if other != driver {
                return Err(errno(Errno::NODEV));
            }
        }
        if !self.probe_succeeds(driver, name) {
            return Err(errno(Errno::NXIO));
        }
        self.attach(driver, name)
    }

    /// `drivers_probe`: bind to the override, or to the device's own driver; a probe that finds
    /// no driver, or whose driver fails, still reports success, as the kernel does.
    fn probe(&self, name: &str) -> io::Result<()> {
        if self.bound_driver(name)?.is_some() {
            return Ok(());
        }
        let candidate = match self.override_of(name)? {
            Some(driver) => Some(driver),
            None => self.native.get(name).cloned().flatten(),
        };
        if let Some(driver) = candidate {
            if self.driver_exists(&driver) && self.probe_succeeds(&driver, name) {
                self.attach(&driver, name)?;
            }
        }
        Ok(())
    }
}

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

impl Writer for FakeKernel {
    /// Opens `path` as the real writer would (beneath `root`, regular files only, no link at
    /// the last component — the checks the VFS makes before a store sees the bytes), then
    /// changes the tree as the kernel's store would.
    fn write(&mut self, root: &SysfsRoot, path: &Path, bytes: &[u8]) -> Result<(), HostError> {
        let n = self.writes_seen;
        self.writes_seen += 1;
        root.check_writable(path)?;
        self.store(n, path, bytes).map_err(|e| HostError::write(path, e))
    }
}

impl FakeKernel {
    /// What the kernel does with write number `n` of `bytes` to `path`.
    fn store(&mut self, n: usize, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let hit = self.failures.iter().position(|(trigger, _)| match trigger {
            Trigger::Nth(k) => *k == n,
            Trigger::Suffix(suffix) => path.ends_with(suffix),
        });
        if let Some(index) = hit {
            let (_, e) = self.failures.remove(index);
            return Err(errno(e));
        }

        let rel = path.strip_prefix(&self.root).map_err(|_| errno(Errno::NOENT))?;
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            ["sys", "bus", "platform", "devices", dev, "driver_override"] => {
                if !self.device_dir(dev).is_dir() {
                    return Err(errno(Errno::NOENT));
                }
                self.set_override(dev, bytes)
            }
            ["sys", "bus", "platform", "drivers", driver, action @ ("bind" | "unbind")] => {
                if !self.driver_exists(driver) {
                    return Err(errno(Errno::NOENT));
                }
                let name = self.target_device(bytes)?;
                if *action == "bind" {
                    self.bind(driver, &name)
                } else {
                    self.unbind(driver, &name)
                }
            }
            ["sys", "bus", "platform", "drivers_probe"] => {
                let name = self.target_device(bytes)?;
                self.probe(&name)
            }
            _ => Err(errno(Errno::ACCESS)),
        }
    }
}
