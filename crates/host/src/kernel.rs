//! What the running kernel offers platreset, and in words what is missing: the vfio-platform
//! driver, VFIO itself, its no-IOMMU mode, and `/dev/mem` access to a controller's registers —
//! each with the kernel option or boot argument that would provide it.
//!
//! Owns: reading the kernel's own account of itself under a root (`proc/sys/kernel/osrelease`,
//! `proc/cmdline`, `proc/iomem`, `boot/config-<release>`, `lib/modules/<release>`,
//! `sys/module/*/parameters`, `sys/bus/platform/drivers`, `dev/vfio`), and turning it into
//! [`Missing`] items. Must not: write anything, or guess: a fact that cannot be read is
//! `None`/unknown and the text says so.
//!
//! Why (REFERENCE §7): Debian's stock arm64 6.1 kernel is built without `CONFIG_VFIO_PLATFORM`
//! and `CONFIG_VFIO_NOIOMMU` and with `CONFIG_IO_STRICT_DEVMEM=y`; a user on such a kernel must be
//! told which option is missing, not shown a bare ENOENT or EPERM.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::sysfs::SysfsRoot;

/// The largest kernel config or `/proc` file read (Debian's arm64 config is ~270 KB).
const MAX_FILE: usize = 4 << 20;

/// A kernel option's value in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// `CONFIG_X=y`.
    BuiltIn,
    /// `CONFIG_X=m`.
    Module,
    /// `# CONFIG_X is not set`.
    NotSet,
    /// Any other value (a number or a string).
    Other(String),
}

impl ConfigValue {
    /// Whether the option is enabled (built in or as a module).
    pub fn enabled(&self) -> bool {
        matches!(self, ConfigValue::BuiltIn | ConfigValue::Module)
    }
}

/// A kernel configuration as `boot/config-<release>` records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    /// The file it was read from.
    pub path: PathBuf,
    options: BTreeMap<String, ConfigValue>,
}

impl KernelConfig {
    /// Parses the text of a kernel `.config` (lines `CONFIG_X=v` and `# CONFIG_X is not set`).
    pub fn parse(path: &Path, text: &str) -> KernelConfig {
        let mut options = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(name) = rest.strip_suffix(" is not set") {
                    if name.starts_with("CONFIG_") {
                        options.insert(name.to_string(), ConfigValue::NotSet);
                    }
                }
            } else if let Some((name, value)) = line.split_once('=') {
                if name.starts_with("CONFIG_") {
                    let value = match value {
                        "y" => ConfigValue::BuiltIn,
                        "m" => ConfigValue::Module,
                        other => ConfigValue::Other(other.to_string()),
                    };
                    options.insert(name.to_string(), value);
                }
            }
        }
        KernelConfig { path: path.to_path_buf(), options }
    }

    /// The value of `name` (`CONFIG_VFIO_PLATFORM`); `None` when the file does not mention it
    /// (its dependencies are off, so it is not set either).
    pub fn get(&self, name: &str) -> Option<&ConfigValue> {
        self.options.get(name)
    }

    /// Whether `name` is enabled; an option the file does not mention is not.
    pub fn enabled(&self, name: &str) -> bool {
        self.get(name).is_some_and(ConfigValue::enabled)
    }
}

/// One range of `/proc/iomem` and who claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IomemClaim {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive, as the kernel prints it).
    pub end: u64,
    /// The claimant's name (`50000000.reset-controller reset-controller@50000000`).
    pub name: String,
}

/// Parses `/proc/iomem` (nested ranges are indented; every level is returned). Lines that do
/// not parse are skipped; a non-root reader sees only zeros, which claim nothing.
pub fn parse_iomem(text: &str) -> Vec<IomemClaim> {
    text.lines()
        .filter_map(|line| {
            let (range, name) = line.trim_start().split_once(" : ")?;
            let (start, end) = range.split_once('-')?;
            let start = u64::from_str_radix(start, 16).ok()?;
            let end = u64::from_str_radix(end, 16).ok()?;
            (end > 0).then(|| IomemClaim { start, end, name: name.trim().to_string() })
        })
        .collect()
}

/// The running kernel's facts under a root (`/` on a live system).
#[derive(Debug, Clone, Default)]
pub struct KernelFacts {
    /// `proc/sys/kernel/osrelease`.
    pub release: Option<String>,
    /// `boot/config-<release>`, if present.
    pub config: Option<KernelConfig>,
    /// `proc/cmdline`.
    pub cmdline: Option<String>,
    /// `sys/bus/platform/drivers/vfio-platform` exists: the driver is loaded or built in.
    pub vfio_platform_loaded: bool,
    /// A `vfio-platform.ko*` under `lib/modules/<release>`: it can be loaded with modprobe
    /// (looked for only when the driver is not loaded).
    pub vfio_platform_module: Option<PathBuf>,
    /// `dev/vfio/vfio` exists: VFIO is loaded.
    pub vfio_loaded: bool,
    /// `sys/module/vfio/parameters/enable_unsafe_noiommu_mode` (absent: no `CONFIG_VFIO_NOIOMMU`
    /// or vfio not loaded).
    pub noiommu_mode: Option<bool>,
    /// `sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts`.
    pub allow_unsafe_interrupts: Option<bool>,
    /// `sys/module/vfio_platform/parameters/reset_required` (absent: vfio-platform not loaded).
    pub reset_required: Option<bool>,
    /// `proc/iomem`'s claims (empty when unreadable or read without privilege).
    pub iomem: Vec<IomemClaim>,
}

/// Something platreset needs that this kernel does not give, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What is missing, with the evidence.
    pub what: String,
    /// What to do.
    pub fix: String,
    /// Kernel options that provide it (as in `kmod/platreset.config`).
    pub options: Vec<&'static str>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.fix)?;
        if !self.options.is_empty() {
            write!(f, " (kernel options: {})", self.options.join(", "))?;
        }
        Ok(())
    }
}

/// Reads a small regular file beneath the root (never blocking, never through a final symlink,
/// at most [`MAX_FILE`] bytes); `None` when it cannot be read (the facts then say "unknown").
fn read_text(root: &SysfsRoot, relative: &str) -> Option<String> {
    let bytes = root.read_file(&root.root().join(relative), MAX_FILE).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_bool(root: &SysfsRoot, relative: &str) -> Option<bool> {
    match read_text(root, relative)?.trim() {
        "Y" | "y" | "1" => Some(true),
        "N" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// The first `vfio-platform.ko*` below `dir`, searched breadth-first and bounded (a module tree
/// has a few thousand files; a crafted one cannot make this walk forever).
fn find_module(dir: &Path) -> Option<PathBuf> {
    let mut queue = std::collections::VecDeque::from([dir.to_path_buf()]);
    let mut budget = 100_000usize;
    while let Some(dir) = queue.pop_front() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            budget = budget.checked_sub(1)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                queue.push_back(entry.path());
            } else if name.starts_with("vfio-platform.ko") || name.starts_with("vfio_platform.ko") {
                return Some(entry.path());
            }
        }
    }
    None
}

impl KernelFacts {
    /// Reads every fact under `root`; what cannot be read stays unknown.
    pub fn read(root: &Path) -> KernelFacts {
        let sysfs = SysfsRoot::new(root);
        let release = read_text(&sysfs, "proc/sys/kernel/osrelease").map(|r| r.trim().to_string());
        let exists = |relative: &str| sysfs.exists(&root.join(relative)).unwrap_or(false);
        let vfio_platform_loaded = exists("sys/bus/platform/drivers/vfio-platform");
        let (config, vfio_platform_module) =
            match release.as_deref().filter(|r| crate::sysfs::name_problem(r).is_none()) {
                Some(release) => {
                    let relative = format!("boot/config-{release}");
                    let config = read_text(&sysfs, &relative)
                        .map(|text| KernelConfig::parse(&root.join(&relative), &text));
                    // The module tree is walked only when its answer matters: the driver is not loaded.
                    let module = if vfio_platform_loaded {
                        None
                    } else {
                        find_module(&root.join("lib/modules").join(release))
                    };
                    (config, module)
                }
                None => (None, None),
            };
        KernelFacts {
            release,
            config,
            cmdline: read_text(&sysfs, "proc/cmdline").map(|c| c.trim().to_string()),
            vfio_platform_loaded,
            vfio_platform_module,
            vfio_loaded: exists("dev/vfio/vfio"),
            noiommu_mode: read_bool(&sysfs, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode"),
            allow_unsafe_interrupts: read_bool(
                &sysfs,
                "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
            ),
            reset_required: read_bool(&sysfs, "sys/module/vfio_platform/parameters/reset_required"),
            iomem: read_text(&sysfs, "proc/iomem").map(|t| parse_iomem(&t)).unwrap_or_default(),
        }
    }

    fn release_text(&self) -> &str {
        self.release.as_deref().unwrap_or("the running kernel")
    }

    /// What the config file says of `option`, for a message: `# CONFIG_X is not set in FILE`.
    fn config_says(&self, option: &str) -> Option<String> {
        let config = self.config.as_ref()?;
        let said = match config.get(option) {
            Some(ConfigValue::BuiltIn) => format!("{option}=y"),
            Some(ConfigValue::Module) => format!("{option}=m"),
            Some(ConfigValue::Other(v)) => format!("{option}={v}"),
            Some(ConfigValue::NotSet) => format!("# {option} is not set"),
            None => format!("{option} absent"),
        };
        Some(format!("{said} in {}", config.path.display()))
    }

    /// Why devices cannot be bound to vfio-platform here, if they cannot: the driver is neither
    /// loaded nor available as a module.
    pub fn vfio_platform_missing(&self) -> Option<Missing> {
        if self.vfio_platform_loaded {
            return None;
        }
        if let Some(module) = &self.vfio_platform_module {
            return Some(Missing {
                what: format!("the vfio-platform driver is not loaded (its module is {})", module.display()),
                fix: "`modprobe vfio-platform` (and the reset modules your devices need) before binding"
                    .into(),
                options: Vec::new(),
            });
        }
        let built_without = self.config.as_ref().is_some_and(|c| !c.enabled("CONFIG_VFIO_PLATFORM"));
        let what = match self.config_says("CONFIG_VFIO_PLATFORM") {
            Some(says) if built_without => {
                format!("{} was built without vfio-platform ({says})", self.release_text())
            }
            _ => format!(
                "the vfio-platform driver is not loaded and no vfio-platform module was found for {}",
                self.release_text()
            ),
        };
        Some(Missing {
            what,
            fix: "use a kernel built with vfio-platform (Debian's stock arm64 kernels lack it; \
                  kmod/platreset.config is the fragment to merge), then `modprobe vfio-platform`"
                .into(),
            options: vec!["CONFIG_VFIO=m", "CONFIG_VFIO_PLATFORM=m", "CONFIG_VFIO_IOMMU_TYPE1=m"],
        })
    }

    /// Why VFIO cannot be opened here, if it cannot.
    pub fn vfio_missing(&self) -> Option<Missing> {
        if self.vfio_loaded {
            return None;
        }
        let what = match self.config_says("CONFIG_VFIO") {
            Some(says) => format!("/dev/vfio/vfio does not exist ({says})"),
            None => "/dev/vfio/vfio does not exist".to_string(),
        };
        Some(Missing {
            what,
            fix: "`modprobe vfio vfio_iommu_type1` (VFIO is not loaded)".into(),
            options: vec!["CONFIG_VFIO=m", "CONFIG_VFIO_IOMMU_TYPE1=m"],
        })
    }

    /// Why a device without an IOMMU group cannot be bound, if it cannot: vfio-platform's probe
    /// fails (-EINVAL, "No IOMMU group") unless VFIO's no-IOMMU mode is on.
    pub fn no_group_missing(&self, device: &str) -> Option<Missing> {
        if self.noiommu_mode == Some(true) {
            return None;
        }
        let mode = match (self.noiommu_mode, self.config_says("CONFIG_VFIO_NOIOMMU")) {
            (Some(false), _) => "vfio's no-IOMMU mode is off (enable_unsafe_noiommu_mode=N)".to_string(),
            (None, Some(says)) if !self.config.as_ref().is_some_and(|c| c.enabled("CONFIG_VFIO_NOIOMMU")) => {
                format!("this kernel has no no-IOMMU mode ({says})")
            }
            _ => {
                "vfio's no-IOMMU mode is not available (no enable_unsafe_noiommu_mode parameter)".to_string()
            }
        };
        Some(Missing {
            what: format!(
                "{device} has no IOMMU group (its DT node has no `iommus`, or the IOMMU driver is not bound) and {mode}"
            ),
            fix: "vfio-platform refuses a device without an IOMMU group; give it one (`iommus` in \
                  the host DT and the IOMMU's driver), or — for tests only, no DMA isolation, the \
                  kernel taints itself — load vfio with enable_unsafe_noiommu_mode=1"
                .into(),
            options: vec!["CONFIG_IOMMU_SUPPORT=y", "CONFIG_ARM_SMMU_V3=y", "CONFIG_VFIO_NOIOMMU=y (tests only)"],
        })
    }

    /// Whether `iomem=relaxed` is on the kernel command line.
    pub fn iomem_relaxed(&self) -> bool {
        self.cmdline.as_deref().is_some_and(|c| c.split_whitespace().any(|a| a == "iomem=relaxed"))
    }

    /// The innermost claims overlapping `[start, start + len)`, for naming who holds a range.
    pub fn claims_of(&self, start: u64, len: u64) -> Vec<&IomemClaim> {
        let end = start.saturating_add(len.max(1) - 1);
        self.iomem
            .iter()
            .filter(|c| c.start <= end && start <= c.end && !c.name.eq_ignore_ascii_case("System RAM"))
            .collect()
    }

    /// Why `/dev/mem` refused to map `[start, start + len)` with EPERM, in words.
    pub fn devmem_refusal(&self, start: u64, len: u64) -> Missing {
        let claimants: Vec<String> = self
            .claims_of(start, len)
            .iter()
            .map(|c| format!("{:#x}-{:#x} {}", c.start, c.end, c.name))
            .collect();
        let held = if claimants.is_empty() {
            String::new()
        } else {
            format!("; /proc/iomem shows it claimed by {}", claimants.join(", "))
        };
        let strict = match self.config_says("CONFIG_IO_STRICT_DEVMEM") {
            Some(says) => format!(" ({says})"),
            None => String::new(),
        };
        let what = if self.iomem_relaxed() {
            format!("/dev/mem refused {start:#x}+{len:#x} although the kernel runs with iomem=relaxed{held}: CONFIG_STRICT_DEVMEM refuses it (RAM, or an architecture rule)")
        } else {
            format!("/dev/mem refuses ranges a driver has claimed (IO_STRICT_DEVMEM){strict}{held}")
        };
        Missing {
            what,
            fix: "boot with `iomem=relaxed` (lifts IO_STRICT_DEVMEM for claimed device ranges), or \
                  build without CONFIG_IO_STRICT_DEVMEM — and accept that platreset then writes the \
                  controller's registers behind its driver's back; a kernel reset module (a \
                  vfio-platform reset handler) needs neither"
                .into(),
            options: vec!["# CONFIG_IO_STRICT_DEVMEM is not set"],
        }
    }

    /// Everything missing for `host bind`/`info`/`reset` in general (not device-specific).
    pub fn missing_for_vfio(&self) -> Vec<Missing> {
        self.vfio_missing().into_iter().chain(self.vfio_platform_missing()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A root with the files the facts come from, as Debian's stock 6.1 kernel shows them.
    fn stock_root(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("platreset-kernel-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in [
            "proc/sys/kernel",
            "boot",
            "lib/modules/6.1.0-57-arm64/kernel/drivers/vfio",
            "sys/bus/platform/drivers",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("proc/sys/kernel/osrelease"), "6.1.0-57-arm64\n").unwrap();
        std::fs::write(dir.join("proc/cmdline"), "console=ttyAMA0 mem=256M\n").unwrap();
        std::fs::write(
            dir.join("boot/config-6.1.0-57-arm64"),
            "CONFIG_VFIO=m\n# CONFIG_VFIO_NOIOMMU is not set\n# CONFIG_VFIO_PLATFORM is not set\n\
             CONFIG_STRICT_DEVMEM=y\nCONFIG_IO_STRICT_DEVMEM=y\nCONFIG_NR_CPUS=256\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("proc/iomem"),
            "40000000-4fffffff : System RAM\n50000000-50000003 : 50000000.reset-controller reset-controller@50000000\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn config_lines_are_read_as_the_kernel_writes_them() {
        let config = KernelConfig::parse(
            Path::new("c"),
            "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"x\"\n# a comment\nNOT_CONFIG=y\n",
        );
        assert_eq!(config.get("CONFIG_A"), Some(&ConfigValue::BuiltIn));
        assert_eq!(config.get("CONFIG_B"), Some(&ConfigValue::Module));
        assert_eq!(config.get("CONFIG_C"), Some(&ConfigValue::NotSet));
        assert_eq!(config.get("CONFIG_D"), Some(&ConfigValue::Other("\"x\"".into())));
        assert_eq!(config.get("NOT_CONFIG"), None);
        assert!(config.enabled("CONFIG_B") && !config.enabled("CONFIG_C") && !config.enabled("CONFIG_E"));
    }

    #[test]
    fn a_stock_debian_kernel_is_said_to_lack_vfio_platform_naming_its_config() {
        let root = stock_root("stock");
        let facts = KernelFacts::read(&root);
        assert_eq!(facts.release.as_deref(), Some("6.1.0-57-arm64"));
        let missing = facts.vfio_platform_missing().unwrap().to_string();
        assert!(missing.contains("6.1.0-57-arm64 was built without vfio-platform"), "{missing}");
        assert!(missing.contains("# CONFIG_VFIO_PLATFORM is not set in"), "{missing}");
        assert!(missing.contains("CONFIG_VFIO_PLATFORM=m"), "{missing}");
        let group = facts.no_group_missing("a000000.virtio_mmio").unwrap().to_string();
        assert!(group.contains("# CONFIG_VFIO_NOIOMMU is not set"), "{group}");
        assert!(facts.vfio_missing().unwrap().to_string().contains("CONFIG_VFIO=m in"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_module_on_disk_means_modprobe_and_a_loaded_driver_means_nothing_missing() {
        let root = stock_root("module");
        std::fs::write(root.join("lib/modules/6.1.0-57-arm64/kernel/drivers/vfio/vfio-platform.ko.xz"), b"")
            .unwrap();
        let missing = KernelFacts::read(&root).vfio_platform_missing().unwrap();
        assert!(missing.fix.contains("modprobe vfio-platform"), "{missing}");
        std::fs::create_dir_all(root.join("sys/bus/platform/drivers/vfio-platform")).unwrap();
        assert_eq!(KernelFacts::read(&root).vfio_platform_missing(), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn no_iommu_mode_on_lets_a_device_without_a_group_bind() {
        let root = stock_root("noiommu");
        let params = root.join("sys/module/vfio/parameters");
        std::fs::create_dir_all(&params).unwrap();
        std::fs::write(params.join("enable_unsafe_noiommu_mode"), "N\n").unwrap();
        let off = KernelFacts::read(&root).no_group_missing("x").unwrap().to_string();
        assert!(off.contains("no-IOMMU mode is off"), "{off}");
        std::fs::write(params.join("enable_unsafe_noiommu_mode"), "Y\n").unwrap();
        assert_eq!(KernelFacts::read(&root).no_group_missing("x"), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_devmem_refusal_names_the_claiming_driver_and_the_way_out() {
        let root = stock_root("devmem");
        let facts = KernelFacts::read(&root);
        let text = facts.devmem_refusal(0x5000_0000, 4).to_string();
        assert!(text.contains("CONFIG_IO_STRICT_DEVMEM=y in"), "{text}");
        assert!(text.contains("0x50000000-0x50000003 50000000.reset-controller"), "{text}");
        assert!(text.contains("iomem=relaxed"), "{text}");
        assert!(!text.contains("System RAM"), "{text}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_fifo_in_place_of_a_fact_is_unknown_not_a_hang() {
        let root = stock_root("fifo");
        let cmdline = root.join("proc/cmdline");
        std::fs::remove_file(&cmdline).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &cmdline,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        assert_eq!(KernelFacts::read(&root).cmdline, None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn iomem_ranges_read_by_a_user_without_privilege_claim_nothing() {
        assert!(
            parse_iomem("00000000-00000000 : System RAM\n00000000-00000000 : 50000000.reset\n").is_empty()
        );
        let claims = parse_iomem("  09000000-09000fff : pl011@9000000\nbad line\n");
        assert_eq!(
            claims,
            vec![IomemClaim { start: 0x900_0000, end: 0x900_0fff, name: "pl011@9000000".into() }]
        );
    }
}
