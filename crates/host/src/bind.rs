//! Binding platform devices to vfio-platform as a transaction.
//!
//! Owns: recording each device's state before anything is written ([`plan_bind`]), refusing a
//! device whose IOMMU group still has a member on a host driver, the exact writes (listable for
//! `--dry-run`), performing them and checking the result ([`execute`]), and, on any failure,
//! restoring every device touched to its recorded driver and `driver_override`, reporting each
//! restoring step. Also [`unbind`] (back to the host driver) and [`persist`] (a driverctl file).
//!
//! Every write goes through a [`Writer`]; nothing here decides whether a device *should* be
//! assigned — the policy does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::sysfs::{validate_name, HostError, SysfsRoot, Writer, VFIO_PLATFORM};

/// A step of binding one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write `vfio-platform` to the device's `driver_override`.
    SetOverride,
    /// Write the device's name to its current driver's `unbind`.
    Unbind {
        /// The driver it is unbound from.
        driver: String,
    },
    /// Write the device's name to `drivers_probe`.
    Probe,
    /// Check the device's `driver` link now names vfio-platform.
    CheckDriver,
    /// Check the device has an `iommu_group`.
    CheckGroup,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SetOverride => write!(f, "set driver_override to {VFIO_PLATFORM}"),
            Step::Unbind { driver } => write!(f, "unbind from {driver}"),
            Step::Probe => write!(f, "probe through drivers_probe"),
            Step::CheckDriver => write!(f, "check the device is bound to {VFIO_PLATFORM}"),
            Step::CheckGroup => write!(f, "check the device has an IOMMU group"),
        }
    }
}

/// A device's state before binding, as recorded by [`plan_bind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// The device.
    pub name: String,
    /// The driver it was bound to.
    pub driver: Option<String>,
    /// Its `driver_override`.
    pub driver_override: Option<String>,
    /// Its IOMMU group.
    pub iommu_group: Option<u32>,
}

impl DeviceState {
    fn already_on_vfio(&self) -> bool {
        self.driver.as_deref() == Some(VFIO_PLATFORM)
    }
}

/// One write the plan will perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    /// The device it is for.
    pub device: String,
    /// The step it performs.
    pub step: Step,
    /// The attribute written.
    pub path: PathBuf,
    /// The bytes written.
    pub bytes: Vec<u8>,
}

impl fmt::Display for PlannedWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "echo {:?} > {}", String::from_utf8_lossy(&self.bytes).trim_end(), self.path.display())
    }
}

/// The recorded state of the devices to bind; [`Plan::writes`] lists what [`execute`] will do.
#[derive(Debug, Clone)]
pub struct Plan {
    root: SysfsRoot,
    devices: Vec<DeviceState>,
}

impl Plan {
    /// The devices and their recorded state, in request order.
    pub fn devices(&self) -> &[DeviceState] {
        &self.devices
    }

    /// Every write, in order (for `--dry-run`). A device already on vfio-platform needs none.
    pub fn writes(&self) -> Result<Vec<PlannedWrite>, BindError> {
        let mut writes = Vec::new();
        for device in &self.devices {
            writes.extend(self.writes_for(device)?);
        }
        Ok(writes)
    }

    fn writes_for(&self, device: &DeviceState) -> Result<Vec<PlannedWrite>, BindError> {
        if device.already_on_vfio() {
            return Ok(Vec::new());
        }
        let name = device.name.as_str();
        let line = format!("{name}\n").into_bytes();
        let mut writes = vec![PlannedWrite {
            device: name.to_string(),
            step: Step::SetOverride,
            path: self.root.device_attr(name, "driver_override")?,
            bytes: format!("{VFIO_PLATFORM}\n").into_bytes(),
        }];
        if let Some(driver) = &device.driver {
            writes.push(PlannedWrite {
                device: name.to_string(),
                step: Step::Unbind { driver: driver.clone() },
                path: self.root.driver_attr(driver, "unbind")?,
                bytes: line.clone(),
            });
        }
        writes.push(PlannedWrite {
            device: name.to_string(),
            step: Step::Probe,
            path: self.root.drivers_probe(),
            bytes: line,
        });
        Ok(writes)
    }
}

/// One action taken while restoring a device after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreStep {
    /// The device restored.
    pub device: String,
    /// What was done, in words.
    pub action: String,
    /// `None` if it worked, else why not.
    pub error: Option<String>,
}

impl fmt::Display for RestoreStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            None => write!(f, "{}: {}: done", self.device, self.action),
            Some(e) => write!(f, "{}: {}: FAILED: {e}", self.device, self.action),
        }
    }
}

/// What happened when a transaction failed: the failing step, and the restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The device whose step failed.
    pub device: String,
    /// The step that failed.
    pub step: Step,
    /// Why.
    pub cause: String,
    /// Every restoring action, in order.
    pub restore: Vec<RestoreStep>,
    /// Devices that could not be brought back to their recorded state, with what is different.
    pub not_restored: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "binding {} failed at step \"{}\": {}", self.device, self.step, self.cause)?;
        for step in &self.restore {
            write!(f, "\n  restore {step}")?;
        }
        if self.not_restored.is_empty() {
            write!(f, "\n  every device touched is back in its recorded state")
        } else {
            for line in &self.not_restored {
                write!(f, "\n  NOT RESTORED: {line}")?;
            }
            Ok(())
        }
    }
}

/// Errors from planning, binding, unbinding or persisting.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Reading or resolving sysfs failed, or a name was invalid.
    #[error(transparent)]
    Host(#[from] HostError),
    /// No device was named.
    #[error("no device to bind")]
    NoDevices,
    /// A named device is not on the platform bus.
    #[error("no platform device {device} ({path} does not exist)")]
    NoSuchDevice {
        /// The name given.
        device: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Another member of the device's IOMMU group is on a host driver and not in the request.
    #[error(
        "refusing to bind {device}: {sibling}, in the same IOMMU group {group}, is bound to the host \
         driver {driver}; VFIO needs the whole group — unbind {sibling} or name it too"
    )]
    GroupSiblingOnHostDriver {
        /// The device asked for.
        device: String,
        /// Its IOMMU group.
        group: u32,
        /// The member still on a host driver.
        sibling: String,
        /// That member's driver.
        driver: String,
    },
    /// A step failed; every device touched was restored as far as possible.
    #[error("{0}")]
    Failed(Box<Failure>),
    /// A step of [`unbind`] failed.
    #[error("unbinding {device} failed at \"{step}\": {cause}")]
    UnbindFailed {
        /// The device.
        device: String,
        /// The step, in words.
        step: String,
        /// Why.
        cause: HostError,
    },
    /// Writing the persistent override file failed.
    #[error("writing {path}: {source}")]
    Persist {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A device bound by [`execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The device.
    pub device: String,
    /// The driver it was on before.
    pub previous_driver: Option<String>,
    /// Its IOMMU group (`/dev/vfio/<group>`).
    pub iommu_group: u32,
}

/// The outcome of a successful [`execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every device, now on vfio-platform, in request order.
    pub bound: Vec<Bound>,
}

/// Records each device's state and checks the request can be done; writes nothing.
pub fn plan_bind<S: AsRef<str>>(root: &SysfsRoot, devices: &[S]) -> Result<Plan, BindError> {
    if devices.is_empty() {
        return Err(BindError::NoDevices);
    }
    let mut names: Vec<&str> = Vec::new();
    for device in devices {
        let name = validate_name(device.as_ref())?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let requested: BTreeSet<&str> = names.iter().copied().collect();
    // Each group's members are listed, and their drivers read, once however many of its devices
    // are asked for: the first member outside the request still on a host driver, if any.
    let mut blockers: BTreeMap<u32, Option<(String, String)>> = BTreeMap::new();
    let mut states = Vec::new();
    for name in &names {
        let link = root.device_link(name)?;
        if !root.exists(&link)? {
            return Err(BindError::NoSuchDevice { device: name.to_string(), path: link });
        }
        let state = DeviceState {
            name: name.to_string(),
            driver: root.driver(name)?,
            driver_override: root.driver_override(name)?,
            iommu_group: root.iommu_group(name)?,
        };
        if let Some(group) = state.iommu_group {
            let blocker = match blockers.get(&group) {
                Some(blocker) => blocker.clone(),
                None => {
                    let blocker = host_bound_sibling(root, group, &requested)?;
                    blockers.insert(group, blocker.clone());
                    blocker
                }
            };
            if let Some((sibling, driver)) = blocker {
                return Err(BindError::GroupSiblingOnHostDriver {
                    device: name.to_string(),
                    group,
                    sibling,
                    driver,
                });
            }
        }
        states.push(state);
    }
    Ok(Plan { root: root.clone(), devices: states })
}

/// The first member of `group` (by name) that is not in `requested` and is bound to a driver
/// other than vfio-platform, with that driver.
fn host_bound_sibling(
    root: &SysfsRoot,
    group: u32,
    requested: &BTreeSet<&str>,
) -> Result<Option<(String, String)>, BindError> {
    for sibling in root.iommu_group_members(group)? {
        if requested.contains(sibling.as_str()) {
            continue;
        }
        if let Some(driver) = root.driver(&sibling)? {
            if driver != VFIO_PLATFORM {
                return Ok(Some((sibling, driver)));
            }
        }
    }
    Ok(None)
}

/// Performs the plan's writes device by device, then checks each device sits on vfio-platform
/// with an IOMMU group. On any failure, restores every device touched and returns
/// [`BindError::Failed`] naming the step and listing the restore.
pub fn execute<W: Writer + ?Sized>(plan: &Plan, writer: &mut W) -> Result<Report, BindError> {
    let mut touched: Vec<&DeviceState> = Vec::new();
    for device in &plan.devices {
        let writes = plan.writes_for(device)?;
        if !writes.is_empty() {
            touched.push(device);
        }
        for write in writes {
            if let Err(e) = writer.write(&plan.root, &write.path, &write.bytes) {
                return Err(fail(plan, &touched, &device.name, write.step, e.to_string(), writer));
            }
        }
    }
    let mut bound = Vec::new();
    for device in &plan.devices {
        let name = device.name.as_str();
        let driver = match plan.root.driver(name) {
            Ok(driver) => driver,
            Err(e) => return Err(fail(plan, &touched, name, Step::CheckDriver, e.to_string(), writer)),
        };
        if driver.as_deref() != Some(VFIO_PLATFORM) {
            let cause = format!(
                "the device is {} after probing: vfio-platform did not bind it (is the module loaded, \
                 does the device have an IOMMU group and a reset? see the kernel log)",
                driver.map_or("unbound".to_string(), |d| format!("on {d}"))
            );
            return Err(fail(plan, &touched, name, Step::CheckDriver, cause, writer));
        }
        let group = match plan.root.iommu_group(name) {
            Ok(Some(group)) => group,
            Ok(None) => {
                let cause = "it has no iommu_group link, so VFIO cannot open it".to_string();
                return Err(fail(plan, &touched, name, Step::CheckGroup, cause, writer));
            }
            Err(e) => return Err(fail(plan, &touched, name, Step::CheckGroup, e.to_string(), writer)),
        };
        bound.push(Bound {
            device: name.to_string(),
            previous_driver: device.driver.clone(),
            iommu_group: group,
        });
    }
    Ok(Report { bound })
}

/// Restores every touched device (last touched first) and builds the failure report.
fn fail<W: Writer + ?Sized>(
    plan: &Plan,
    touched: &[&DeviceState],
    device: &str,
    step: Step,
    cause: String,
    writer: &mut W,
) -> BindError {
    let mut restore = Vec::new();
    let mut not_restored = Vec::new();
    for state in touched.iter().rev() {
        if let Some(difference) = restore_device(&plan.root, state, writer, &mut restore) {
            not_restored.push(difference);
        }
    }
    BindError::Failed(Box::new(Failure { device: device.to_string(), step, cause, restore, not_restored }))
}

/// Writes `bytes` to `path`, recording the action; returns whether it worked.
fn restore_write<W: Writer + ?Sized>(
    writer: &mut W,
    root: &SysfsRoot,
    device: &str,
    action: String,
    path: Result<PathBuf, HostError>,
    bytes: &[u8],
    steps: &mut Vec<RestoreStep>,
) -> bool {
    let error = match path {
        Ok(path) => writer.write(root, &path, bytes).err().map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    let ok = error.is_none();
    steps.push(RestoreStep { device: device.to_string(), action, error });
    ok
}

/// Brings one device back to its recorded driver and override. Returns `None` when it is back,
/// else what still differs.
fn restore_device<W: Writer + ?Sized>(
    root: &SysfsRoot,
    state: &DeviceState,
    writer: &mut W,
    steps: &mut Vec<RestoreStep>,
) -> Option<String> {
    let name = state.name.as_str();
    let line = format!("{name}\n").into_bytes();
    // Unbind whatever it is on now if that is not its recorded driver (normally vfio-platform).
    match root.driver(name) {
        Ok(Some(current)) if Some(&current) != state.driver.as_ref() => {
            let path = root.driver_attr(&current, "unbind");
            restore_write(writer, root, name, format!("unbind from {current}"), path, &line, steps);
        }
        Ok(_) => {}
        Err(e) => steps.push(RestoreStep {
            device: name.to_string(),
            action: "read the current driver".to_string(),
            error: Some(e.to_string()),
        }),
    }
    // A lone newline clears the override; an empty write would leave `vfio-platform` in place.
    let (bytes, action) = match &state.driver_override {
        Some(value) => (format!("{value}\n").into_bytes(), format!("write driver_override {value:?}")),
        None => (b"\n".to_vec(), "clear driver_override (write \"\\n\")".to_string()),
    };
    let path = root.device_attr(name, "driver_override");
    restore_write(writer, root, name, action, path, &bytes, steps);
    if let Some(original) = &state.driver {
        let current = root.driver(name).ok().flatten();
        if current.as_ref() != Some(original) {
            let path = root.driver_attr(original, "bind");
            let bound = restore_write(writer, root, name, format!("bind to {original}"), path, &line, steps);
            if !bound {
                let path = Ok(root.drivers_probe());
                restore_write(
                    writer,
                    root,
                    name,
                    "probe through drivers_probe".to_string(),
                    path,
                    &line,
                    steps,
                );
            }
        }
    }
    let driver = root.driver(name).map_err(|e| e.to_string());
    let driver_override = root.driver_override(name).map_err(|e| e.to_string());
    if driver.as_ref() == Ok(&state.driver) && driver_override.as_ref() == Ok(&state.driver_override) {
        None
    } else {
        // In words, never Rust's debug forms (`Some("…")`, `Ok(None)`).
        let recorded = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".to_string());
        let now = |value: &Result<Option<String>, String>| match value {
            Ok(value) => recorded(value),
            Err(e) => format!("unreadable ({e})"),
        };
        Some(format!(
            "{name}: recorded driver {} and driver_override {}, now {} and {}",
            recorded(&state.driver),
            recorded(&state.driver_override),
            now(&driver),
            now(&driver_override)
        ))
    }
}

/// The outcome of [`unbind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbindReport {
    /// The device.
    pub device: String,
    /// The driver it was on (normally vfio-platform).
    pub previous_driver: Option<String>,
    /// The driver it is on now (its host driver, if one matched).
    pub driver: Option<String>,
}

/// Gives a device back to the host: clears `driver_override` (with a newline), unbinds it from
/// its current driver, and probes so its own driver matches again.
pub fn unbind<W: Writer + ?Sized>(
    root: &SysfsRoot,
    dev: &str,
    writer: &mut W,
) -> Result<UnbindReport, BindError> {
    let name = validate_name(dev)?;
    let link = root.device_link(name)?;
    if !root.exists(&link)? {
        return Err(BindError::NoSuchDevice { device: name.to_string(), path: link });
    }
    let previous_driver = root.driver(name)?;
    let line = format!("{name}\n").into_bytes();
    let mut writes =
        vec![("clear driver_override", root.device_attr(name, "driver_override")?, b"\n".to_vec())];
    if let Some(driver) = &previous_driver {
        writes.push(("unbind", root.driver_attr(driver, "unbind")?, line.clone()));
    }
    writes.push(("probe through drivers_probe", root.drivers_probe(), line));
    for (step, path, bytes) in writes {
        writer.write(root, &path, &bytes).map_err(|cause| BindError::UnbindFailed {
            device: name.to_string(),
            step: step.to_string(),
            cause,
        })?;
    }
    Ok(UnbindReport { device: name.to_string(), previous_driver, driver: root.driver(name)? })
}

/// The driverctl override file for a platform device: `<root>/etc/driverctl.d/platform-<dev>`.
pub fn persist_path(root: &Path, dev: &str) -> Result<PathBuf, BindError> {
    Ok(root.join("etc/driverctl.d").join(format!("platform-{}", validate_name(dev)?)))
}

/// Keeps `dev` on vfio-platform across reboots the way driverctl does: one file per device,
/// `/etc/driverctl.d/<bus>-<device>`, holding the driver name; driverctl's udev rule applies it
/// when the device appears. `root` is `/` on a live system, a test directory in tests. Returns
/// the file written.
///
/// The file is replaced atomically beneath `root` ([`SysfsRoot::replace_file`]): missing
/// directories are made, a symlink on the way out of the root, or in place of the file, is
/// refused and nothing is written through it.
pub fn persist(root: &Path, dev: &str) -> Result<PathBuf, BindError> {
    persist_beneath(&SysfsRoot::new(root), dev)
}

/// [`persist`] below an already opened root.
pub fn persist_beneath(root: &SysfsRoot, dev: &str) -> Result<PathBuf, BindError> {
    let path = persist_path(root.root(), dev)?;
    match root.replace_file(&path, format!("{VFIO_PLATFORM}\n").as_bytes()) {
        Ok(()) => Ok(path),
        Err(HostError::Io { path, source }) => Err(BindError::Persist { path, source }),
        Err(e) => Err(BindError::Host(e)),
    }
}
