//! The sysfs root and everything read from or written to it.
//!
//! Owns: validating device and driver names before they become path components, joining paths
//! under a configurable root (tests point it at a generated tree), every read and write below
//! that root — each opened relative to one handle on the root, beneath it (see `sysfs::beneath`) —,
//! following the kernel's symlinks (`driver`, `iommu_group`, `of_node`) without ever leaving
//! the root, and the [`Writer`] trait through which every write goes, so a caller can log,
//! dry-run or fake them.
//!
//! Threat model: names and link targets read from sysfs, and names given on the command line,
//! are untrusted, and so is the tree itself. A name becomes a single path component only after
//! [`validate_name`]; a link is followed only if it is relative and stays under the root; an
//! attribute is read or written only if it is a regular file reached without a link at its last
//! component, and read only up to a cap ([`ATTRIBUTE_CAP`], [`DT_PROPERTY_CAP`]) without ever
//! blocking on a FIFO.

mod beneath;

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use beneath::{Resolver, RootDir};

pub use beneath::Work;

/// The longest name a single path component may have on Linux (NAME_MAX).
const NAME_MAX: usize = 255;

/// The most bytes read from a sysfs attribute. The kernel's attributes hold at most one page
/// (4 KiB to 64 KiB depending on the architecture); anything longer is not an attribute.
pub const ATTRIBUTE_CAP: usize = 64 * 1024;

/// The most bytes read from a device-tree property under `of_node` (a binary property such as a
/// firmware blob can outgrow a page, but never this).
pub const DT_PROPERTY_CAP: usize = 1024 * 1024;

/// Errors reading or writing below a sysfs root; each names the file or device concerned.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A device or driver name that cannot be used as a single path component.
    #[error("invalid device or driver name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name, as given.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A symlink whose target lies outside the sysfs root.
    #[error("{link} points to {target}, outside the sysfs root {root}; refusing to follow it")]
    Escape {
        /// The link that was followed.
        link: PathBuf,
        /// Where it resolved to.
        target: PathBuf,
        /// The root it had to stay under.
        root: PathBuf,
    },
    /// A path that cannot be reached from the root without leaving it (a path not under the
    /// root, or a link on the way that the kernel's `RESOLVE_BENEATH` refused).
    #[error(
        "{path} cannot be reached beneath the sysfs root {root} without leaving it; refusing to open it"
    )]
    NotBeneath {
        /// The path asked for.
        path: PathBuf,
        /// The root it had to stay under.
        root: PathBuf,
    },
    /// Something other than a regular file where an attribute or a file written by platreset
    /// belongs: a symlink, FIFO, device node, socket or directory.
    #[error("{path} is a {kind}, not a regular file; refusing to read or write it")]
    NotRegular {
        /// The path concerned.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// A file longer than anything the kernel puts there.
    #[error("{path} holds more than {cap} bytes, more than the kernel ever puts there; refusing to read it")]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// The cap it exceeded.
        cap: usize,
    },
    /// A file could not be read or resolved.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A write was refused for lack of privilege.
    #[error(
        "permission denied writing {path}: this needs root (sysfs attributes are writable only by \
         root) or write permission on that attribute"
    )]
    PermissionDenied {
        /// The attribute that could not be written.
        path: PathBuf,
    },
    /// A sysfs attribute whose content or link target is not what the kernel produces.
    #[error("{path}: unexpected content: {what}")]
    Malformed {
        /// The attribute concerned.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// The root has no platform bus to list.
    #[error(
        "{path} does not exist: nothing to list (this is not a platform-bus system, or sysfs is \
         not mounted under {root})"
    )]
    NoPlatformBus {
        /// The missing directory.
        path: PathBuf,
        /// The root that was searched.
        root: PathBuf,
    },
}

impl HostError {
    /// Wraps an I/O error from reading `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        HostError::Io { path: path.to_path_buf(), source }
    }

    /// Wraps an error from writing `path`, turning a permission error into a message that says
    /// what privilege is missing.
    pub fn write(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::PermissionDenied {
            HostError::PermissionDenied { path: path.to_path_buf() }
        } else {
            HostError::io(path, source)
        }
    }

    /// Whether this is an I/O error saying the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, HostError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Checks that `name` can be used as exactly one path component: non-empty, no `/`, not `.` or
/// `..` and not containing `..`, no NUL, at most 255 bytes.
pub fn validate_name(name: &str) -> Result<&str, HostError> {
    match name_problem(name) {
        Some(reason) => Err(HostError::InvalidName { name: name.to_string(), reason }),
        None => Ok(name),
    }
}

/// What is wrong with a device or driver name, if anything: the one rule every module applies
/// before a name becomes part of a path or an ioctl argument.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.contains('/') {
        Some("contains '/'")
    } else if name.contains("..") {
        Some("contains '..'")
    } else if name == "." {
        Some("is '.'")
    } else if name.contains('\0') {
        Some("contains a NUL byte")
    } else if name.chars().any(char::is_control) {
        // No kernel names a device or driver so; a terminal would obey it (ESC, CR, LF).
        Some("contains a control character")
    } else if name.len() > NAME_MAX {
        Some("longer than 255 bytes")
    } else {
        None
    }
}

/// A directory under which `sys/…` is read: `/` on a live system, a generated tree in tests.
///
/// Every read and write goes through one handle on the root directory, opened on first use
/// and shared by clones, and is resolved beneath it. [`SysfsRoot::work`] says how much
/// file-system work that took.
#[derive(Debug, Clone)]
pub struct SysfsRoot {
    root: PathBuf,
    resolver: Resolver,
    dir: Arc<OnceLock<RootDir>>,
}

impl PartialEq for SysfsRoot {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root && self.resolver == other.resolver
    }
}

impl Eq for SysfsRoot {}

impl Default for SysfsRoot {
    fn default() -> Self {
        SysfsRoot::new("/")
    }
}

/// The driver that makes a device usable through VFIO.
pub const VFIO_PLATFORM: &str = "vfio-platform";

impl SysfsRoot {
    /// A root at `root` (not checked here; reads report a missing tree themselves).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SysfsRoot { root: root.into(), resolver: Resolver::Openat2, dir: Arc::default() }
    }

    /// The same root, but resolving every path by the component-wise walk (`O_NOFOLLOW` at each
    /// step) even where the kernel has `openat2` — what kernels before 5.6 get. For tests.
    pub fn resolving_by_walk(self) -> Self {
        SysfsRoot { root: self.root, resolver: Resolver::Walk, dir: Arc::default() }
    }

    /// The root directory as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How much file-system work this root (and its clones) did so far: opens, directories
    /// listed, entries read.
    pub fn work(&self) -> Work {
        self.dir.get().map(RootDir::work).unwrap_or_default()
    }

    /// The root's directory handle, opened on first use.
    fn dir(&self) -> Result<&RootDir, HostError> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir);
        }
        let dir = RootDir::open(&self.root, self.resolver)?;
        Ok(self.dir.get_or_init(|| dir))
    }

    /// `path` relative to the root; refused when it is not lexically under it.
    fn relative<'p>(&self, path: &'p Path) -> Result<&'p Path, HostError> {
        path.strip_prefix(&self.root)
            .map_err(|_| HostError::NotBeneath { path: path.to_path_buf(), root: self.root.clone() })
    }

    /// `root/<components…>`, each component validated as a name.
    pub fn join(&self, components: &[&str]) -> Result<PathBuf, HostError> {
        let mut path = self.root.clone();
        for component in components {
            path.push(validate_name(component)?);
        }
        Ok(path)
    }

    /// `<root>/sys/bus/platform/devices`.
    pub fn platform_devices_dir(&self) -> PathBuf {
        self.root.join("sys/bus/platform/devices")
    }

    /// `<root>/sys/bus/platform/drivers`.
    pub fn platform_drivers_dir(&self) -> PathBuf {
        self.root.join("sys/bus/platform/drivers")
    }

    /// `<root>/sys/bus/platform/devices/<dev>` (the bus's symlink to the device directory).
    pub fn device_link(&self, dev: &str) -> Result<PathBuf, HostError> {
        Ok(self.platform_devices_dir().join(validate_name(dev)?))
    }

    /// `<root>/sys/bus/platform/devices/<dev>/<attr>`.
    pub fn device_attr(&self, dev: &str, attr: &str) -> Result<PathBuf, HostError> {
        Ok(self.device_link(dev)?.join(validate_name(attr)?))
    }

    /// `<root>/sys/bus/platform/drivers/<driver>/<attr>` (`bind` or `unbind`).
    pub fn driver_attr(&self, driver: &str, attr: &str) -> Result<PathBuf, HostError> {
        Ok(self.platform_drivers_dir().join(validate_name(driver)?).join(validate_name(attr)?))
    }

    /// `<root>/sys/bus/platform/drivers_probe`.
    pub fn drivers_probe(&self) -> PathBuf {
        self.root.join("sys/bus/platform/drivers_probe")
    }

    /// `<root>/sys/kernel/iommu_groups/<group>/devices`.
    pub fn iommu_group_devices_dir(&self, group: u32) -> PathBuf {
        self.root.join("sys/kernel/iommu_groups").join(group.to_string()).join("devices")
    }

    /// Reads the regular file `path` (under the root) whole, beneath the root: never through a
    /// link at its last component or a link leaving the root, never blocking (a FIFO, device
    /// node or socket is refused as not a regular file), and refused when longer than `cap`.
    pub fn read_file(&self, path: &Path, cap: usize) -> Result<Vec<u8>, HostError> {
        self.dir()?.read(self.relative(path)?, cap)
    }

    /// [`SysfsRoot::read_file`] with the cap of a sysfs attribute ([`ATTRIBUTE_CAP`]).
    pub fn read_attribute(&self, path: &Path) -> Result<Vec<u8>, HostError> {
        self.read_file(path, ATTRIBUTE_CAP)
    }

    /// Writes `bytes` to the existing attribute `path` (under the root) in one `write(2)`:
    /// opened beneath the root without `O_CREAT` (a wrong path fails rather than creating a
    /// stray file), never through a link at its last component or out of the root, and only if
    /// it is a regular file.
    pub fn write_attribute(&self, path: &Path, bytes: &[u8]) -> Result<(), HostError> {
        self.dir()?.write(self.relative(path)?, bytes)
    }

    /// Opens the attribute `path` for writing exactly as [`SysfsRoot::write_attribute`] would,
    /// without writing: the checks the file system makes before a store sees the bytes (the
    /// fake kernel makes them too).
    pub fn check_writable(&self, path: &Path) -> Result<(), HostError> {
        self.dir()?.open_for_write(self.relative(path)?).map(drop)
    }

    /// Creates or replaces the regular file `path` (under the root) with `bytes` atomically,
    /// making missing directories above it; never follows a link at `path` (an existing link
    /// there is refused) or out of the root. For files platreset owns, not for attributes.
    pub fn replace_file(&self, path: &Path, bytes: &[u8]) -> Result<(), HostError> {
        self.dir()?.replace(self.relative(path)?, bytes, 0o644)
    }

    /// The names in the directory `path` (under the root), reached beneath the root.
    pub fn list_dir(&self, path: &Path) -> Result<Vec<OsString>, HostError> {
        self.dir()?.list(self.relative(path)?)
    }

    /// Whether `path` (under the root) exists; a link there counts and is not followed.
    pub fn exists(&self, path: &Path) -> Result<bool, HostError> {
        self.dir()?.exists(self.relative(path)?)
    }

    /// The canonical path of `path` relative to the root, following every link; refuses a link
    /// that is absolute or climbs above the root. `None` when `path` itself does not exist.
    fn canonical(&self, path: &Path) -> Result<Option<PathBuf>, HostError> {
        self.dir()?.resolve(self.relative(path)?)
    }

    /// Resolves `path` (following every symlink) and refuses a result outside the root.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, HostError> {
        match self.canonical(path)? {
            Some(rel) => Ok(self.root.join(rel)),
            None => Err(HostError::io(path, io::ErrorKind::NotFound.into())),
        }
    }

    /// Resolves the link `path` if it exists; `None` when there is no such link.
    fn resolve_optional(&self, path: &Path) -> Result<Option<PathBuf>, HostError> {
        Ok(self.canonical(path)?.map(|rel| self.root.join(rel)))
    }

    /// The device's own directory, resolved and checked to lie under the root.
    pub fn device_dir(&self, dev: &str) -> Result<PathBuf, HostError> {
        self.resolve(&self.device_link(dev)?)
    }

    /// The last component of a resolved link, validated as a name.
    fn link_name(link: &Path, target: &Path) -> Result<String, HostError> {
        let name = target.file_name().and_then(|n| n.to_str()).ok_or_else(|| HostError::Malformed {
            path: link.to_path_buf(),
            what: format!("link target {} has no usable last component", target.display()),
        })?;
        Ok(validate_name(name)?.to_string())
    }

    /// The device's `driver_override`; `None` when unset (the kernel shows `(null)` or an empty
    /// line).
    pub fn driver_override(&self, dev: &str) -> Result<Option<String>, HostError> {
        let path = self.device_attr(dev, "driver_override")?;
        let bytes = self.read_attribute(&path)?;
        let text = String::from_utf8(bytes).map_err(|_| HostError::Malformed {
            path: path.clone(),
            what: "driver_override is not UTF-8".to_string(),
        })?;
        let value = text.trim_end_matches('\n');
        if value.is_empty() || value == "(null)" {
            Ok(None)
        } else {
            Ok(Some(value.to_string()))
        }
    }

    /// The driver the device is bound to (the name its `driver` link points at), if any.
    pub fn driver(&self, dev: &str) -> Result<Option<String>, HostError> {
        let link = self.device_attr(dev, "driver")?;
        match self.resolve_optional(&link)? {
            Some(target) => Ok(Some(Self::link_name(&link, &target)?)),
            None => Ok(None),
        }
    }

    /// The device's IOMMU group number (the name its `iommu_group` link points at), if any.
    pub fn iommu_group(&self, dev: &str) -> Result<Option<u32>, HostError> {
        let link = self.device_attr(dev, "iommu_group")?;
        let Some(target) = self.resolve_optional(&link)? else { return Ok(None) };
        let name = Self::link_name(&link, &target)?;
        name.parse().map(Some).map_err(|_| HostError::Malformed {
            path: link,
            what: format!("IOMMU group {name:?} is not a number"),
        })
    }

    /// The devices in IOMMU group `group`, sorted by name.
    pub fn iommu_group_members(&self, group: u32) -> Result<Vec<String>, HostError> {
        let dir = self.iommu_group_devices_dir(group);
        let mut members = Vec::new();
        for name in self.list_dir(&dir)? {
            let name = name.into_string().map_err(|raw| HostError::Malformed {
                path: dir.join(&raw),
                what: "device name is not UTF-8".to_string(),
            })?;
            members.push(validate_name(&name)?.to_string());
        }
        members.sort();
        Ok(members)
    }

    /// IOMMU group `group`'s `name` attribute (`vfio-noiommu` for the groups VFIO makes for
    /// devices without an IOMMU), if it has one.
    pub fn iommu_group_name(&self, group: u32) -> Result<Option<String>, HostError> {
        let path = self.root.join("sys/kernel/iommu_groups").join(group.to_string()).join("name");
        match self.read_attribute(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The device's DT node directory (its `of_node` link, resolved), if it has one.
    pub fn of_node_dir(&self, dev: &str) -> Result<Option<PathBuf>, HostError> {
        self.resolve_optional(&self.device_attr(dev, "of_node")?)
    }

    /// The device's DT path (`/soc/ethernet@1000`), relative to
    /// `<root>/sys/firmware/devicetree/base`, if it has an `of_node`.
    pub fn of_node_path(&self, dev: &str) -> Result<Option<String>, HostError> {
        let link = self.device_attr(dev, "of_node")?;
        let Some(target) = self.resolve_optional(&link)? else { return Ok(None) };
        let base = self.resolve(&self.root.join("sys/firmware/devicetree/base"))?;
        let rel = target.strip_prefix(&base).map_err(|_| HostError::Malformed {
            path: link.clone(),
            what: format!("of_node points to {}, outside {}", target.display(), base.display()),
        })?;
        let mut dt_path = String::new();
        for component in rel.components() {
            let Component::Normal(part) = component else { continue };
            let part = part.to_str().ok_or_else(|| HostError::Malformed {
                path: link.clone(),
                what: "DT node name is not UTF-8".to_string(),
            })?;
            dt_path.push('/');
            dt_path.push_str(part);
        }
        if dt_path.is_empty() {
            dt_path.push('/');
        }
        Ok(Some(dt_path))
    }

    /// The `compatible` strings of the device's DT node (NUL-separated in the file); empty when
    /// the device has no `of_node` or the node has no `compatible`.
    pub fn compatible(&self, dev: &str) -> Result<Vec<String>, HostError> {
        let Some(node) = self.of_node_dir(dev)? else { return Ok(Vec::new()) };
        let bytes = match self.read_file(&node.join("compatible"), DT_PROPERTY_CAP) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(bytes
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect())
    }
}

/// Where every sysfs write goes, so it can be performed, logged or simulated.
pub trait Writer {
    /// Writes `bytes` to the existing attribute `path` — a path under `root`, as the root's
    /// builders ([`SysfsRoot::device_attr`], …) make it — in one `write(2)`.
    fn write(&mut self, root: &SysfsRoot, path: &Path, bytes: &[u8]) -> Result<(), HostError>;
}

/// Writes to the real file system through [`SysfsRoot::write_attribute`]: beneath the root,
/// without `O_CREAT` so a wrong path fails rather than creating a stray file, regular files
/// only, and once, because a sysfs store sees each `write(2)` separately.
#[derive(Debug, Default)]
pub struct RealWriter;

impl Writer for RealWriter {
    fn write(&mut self, root: &SysfsRoot, path: &Path, bytes: &[u8]) -> Result<(), HostError> {
        root.write_attribute(path, bytes)
    }
}

/// One write as the [`LoggingWriter`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// The attribute written.
    pub path: PathBuf,
    /// The bytes written.
    pub bytes: Vec<u8>,
    /// `None` on success, else the error's text.
    pub error: Option<String>,
}

impl std::fmt::Display for WriteRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} > {}", String::from_utf8_lossy(&self.bytes), self.path.display())?;
        if let Some(error) = &self.error {
            write!(f, " (failed: {error})")?;
        }
        Ok(())
    }
}

/// Passes every write to an inner [`Writer`] and records it, failed or not.
#[derive(Debug)]
pub struct LoggingWriter<W> {
    inner: W,
    log: Vec<WriteRecord>,
}

impl<W: Writer> LoggingWriter<W> {
    /// Wraps `inner` with an empty log.
    pub fn new(inner: W) -> Self {
        LoggingWriter { inner, log: Vec::new() }
    }

    /// Every write so far, in order.
    pub fn log(&self) -> &[WriteRecord] {
        &self.log
    }

    /// The wrapped writer.
    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer, mutably (e.g. to inject failures into a fake).
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps into the inner writer and the log.
    pub fn into_parts(self) -> (W, Vec<WriteRecord>) {
        (self.inner, self.log)
    }
}

impl<W: Writer> Writer for LoggingWriter<W> {
    fn write(&mut self, root: &SysfsRoot, path: &Path, bytes: &[u8]) -> Result<(), HostError> {
        let result = self.inner.write(root, path, bytes);
        self.log.push(WriteRecord {
            path: path.to_path_buf(),
            bytes: bytes.to_vec(),
            error: result.as_ref().err().map(ToString::to_string),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_one_component_are_rejected() {
        for bad in ["", "a/b", "..", "../x", "x..y", ".", "a\0b", "a\u{1b}[2J", "a\rb", "a\nb"] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_name(&"a".repeat(256)).is_err());
        assert!(validate_name(&"a".repeat(255)).is_ok());
        assert_eq!(validate_name("ACPI0013:00").ok(), Some("ACPI0013:00"));
        assert_eq!(validate_name("1c28000.serial").ok(), Some("1c28000.serial"));
    }

    #[test]
    fn permission_errors_name_the_file_and_the_privilege() {
        let err = HostError::write(Path::new("/sys/x"), io::Error::from(io::ErrorKind::PermissionDenied));
        let text = err.to_string();
        assert!(text.contains("/sys/x") && text.contains("root"), "{text}");
    }
}
