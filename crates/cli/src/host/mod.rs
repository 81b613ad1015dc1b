//! `platreset host …`: the running system. Lists platform devices with their driver, IOMMU group
//! and policy verdict; binds them to vfio-platform as a transaction; asks VFIO for a device's
//! info or reset; guards a VMM's devices. Nothing is written without `--yes`.
//!
//! Owns: the command lines and what is printed. Must not: write outside `platreset-host`'s
//! transaction and VFIO calls.

mod bind;
mod guard;
mod list;
mod vfio;

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use platreset_fdt::Fdt;
use platreset_host::bind::{execute, persist, plan_bind, unbind};
use platreset_host::discover::{list, status_with, PlatformDevice};
use platreset_host::guard::{run_guard, Step};
use platreset_host::kernel::KernelFacts;
use platreset_host::sysfs::{LoggingWriter, RealWriter, SysfsRoot};
use platreset_host::vfio::{group_file, Container, Group, IommuType};
use platreset_policy::policy::{Evaluator, Reason, Verdict};
use platreset_topology::Topology;
use serde_json::json;

use crate::error::CliError;
use crate::policy_args::PolicyArgs;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// JSON.
    Json,
}

/// Options every `host` command shares.
#[derive(Debug, Args)]
pub struct Common {
    /// The filesystem root holding `sys/` (tests point this at a fake tree).
    #[arg(long, value_name = "DIR", default_value = "/", global = true)]
    pub sysfs_root: PathBuf,
    /// The host's DTB for the policy verdict (default: <root>/sys/firmware/fdt).
    #[arg(long, value_name = "FILE", global = true)]
    pub dtb: Option<PathBuf>,
}

/// `platreset host` commands.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Every platform device: DT path, compatible, driver, IOMMU group and its members, verdict.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Bind devices to vfio-platform as one transaction: any failure restores every device.
    Bind {
        /// Platform device names (as in /sys/bus/platform/devices).
        #[arg(required = true)]
        devices: Vec<String>,
        /// Really write (without it: the writes are only printed).
        #[arg(long)]
        yes: bool,
        /// Bind even when the policy refuses a device. Loud.
        #[arg(long)]
        force: bool,
        /// Keep the override across reboots, as driverctl does (<root>/etc/driverctl.d).
        #[arg(long)]
        persist: bool,
        /// Only print the writes (the default without --yes).
        #[arg(long, conflicts_with = "yes")]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Give a device back to its original driver.
    Unbind {
        /// Platform device name.
        device: String,
        /// Really write.
        #[arg(long)]
        yes: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What VFIO says of a device bound to vfio-platform: flags, regions, interrupts.
    Info {
        /// Platform device name.
        device: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Reset a device through VFIO_DEVICE_RESET.
    Reset {
        /// Platform device name.
        device: String,
        /// Really reset.
        #[arg(long)]
        yes: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Watch a VMM; when it exits (even by SIGKILL), reset its devices through VFIO.
    Guard {
        /// The VMM's process id.
        #[arg(long)]
        pid: i32,
        /// Its platform devices.
        #[arg(required = true)]
        devices: Vec<String>,
        /// Really reset when it exits.
        #[arg(long)]
        yes: bool,
        /// When VFIO has no reset for a device, reset it through its reset controllers instead
        /// (registers written through /dev/mem, as `platreset reset --backend devmem`): your
        /// explicit consent to write those registers behind the kernel's back.
        #[arg(long)]
        generic_reset: bool,
        /// After the resets, give each device back to its original host driver.
        #[arg(long)]
        restore: bool,
    },
}

/// Arguments of `platreset host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The command.
    #[command(subcommand)]
    pub command: HostCommand,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
    /// The policy behind the verdicts shown and the bind refusal.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The members of a device's IOMMU group each JSON row names at most (with `group_size` and
/// `group_members_truncated` beside): every row naming every member of a group of N devices is
/// N² names, 5.5 GB for a crafted group of 8,000.
const MAX_GROUP_MEMBERS: usize = 64;

/// The members a text row shows before "+N more".
const MAX_GROUP_NAMES_SHOWN: usize = 8;

/// The largest flattened DT read from the host (real ones are well under 1 MiB).
const MAX_HOST_DTB: usize = 64 << 20;

/// The verdict of each device with a DT node, from the host's DTB: `--dtb`, else
/// `<root>/sys/firmware/fdt` read beneath the root (none when the running kernel shows none).
fn verdicts(args: &HostArgs, devices: &[PlatformDevice]) -> Result<Vec<Option<Verdict>>, CliError> {
    let (path, blob) = match &args.common.dtb {
        Some(path) => (path.clone(), crate::read::regular(path, MAX_HOST_DTB)?),
        None => {
            let root = SysfsRoot::new(&args.common.sysfs_root);
            let path = args.common.sysfs_root.join("sys/firmware/fdt");
            match root.read_file(&path, MAX_HOST_DTB) {
                Ok(blob) => (path, blob),
                Err(e) if e.is_not_found() => return Ok(vec![None; devices.len()]),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let file = path.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|source| CliError::Dtb { file, source })?;
    let topology = Topology::build(&fdt);
    let policy = args.policy.policy(platreset_reset::DEFAULT_PULSE_US)?;
    let acpi = args.policy.acpi_devices()?;
    let evaluator = Evaluator::new(&policy, &topology, &acpi);
    Ok(devices
        .iter()
        .map(|d| d.dt_path.as_deref().and_then(|p| fdt.find_path(p).ok()).map(|n| evaluator.verdict(n.id())))
        .collect())
}

fn verdict_text(v: &Option<Verdict>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.eligible() => "eligible".into(),
        Some(v) => format!("refused: {}", v.reasons.iter().map(Reason::short).collect::<Vec<_>>().join(", ")),
    }
}

/// Linux 6.1's vfio-platform fails its probe with -ENOENT for a device without a reset handler
/// even with `reset_required=0` (5f6c7e0831a1, 6.1; fixed by 168a9c91fe0a in 6.2; seen on
/// Debian's 6.1.192 under QEMU): on such a kernel the parameter does not help.
fn reset_required_ignored(release: Option<&str>) -> bool {
    release.is_some_and(|r| r.starts_with("6.1.") || r == "6.1")
}

/// The file VFIO gives IOMMU group `group`: `/dev/vfio/noiommu-N` when the kernel made it for a
/// device without an IOMMU (the group's sysfs `name` is `vfio-noiommu`), else `/dev/vfio/N`.
fn group_file_of(root: &std::path::Path, group: u32) -> Result<PathBuf, CliError> {
    let name = SysfsRoot::new(root).iommu_group_name(group)?;
    Ok(group_file(group, name.as_deref()))
}

/// A device without any reset: what the loaded module will do with it, in words.
fn check_reset_required(
    name: &str,
    required: Option<bool>,
    force: bool,
    release: Option<&str>,
    verdict: &Verdict,
) -> Result<(), CliError> {
    let why = verdict
        .reasons
        .iter()
        .chain(&verdict.warnings)
        .find(|r| r.rule() == 1)
        .map(Reason::text)
        .unwrap_or_default();
    if force {
        eprintln!(
            "platreset: WARNING: --force: {name} has no reset platreset knows of ({why}); binding it \
             anyway, so vfio-platform decides: it binds only if a reset handler registered for its \
             first compatible (a reset module) or, with reset_required=N, on kernels that honour it"
        );
        return Ok(());
    }
    if required == Some(false) && reset_required_ignored(release) {
        return Err(CliError::Refused(format!(
            "{name} has no reset ({why}). vfio_platform runs with reset_required=N, but this kernel ({}) \
             still refuses devices without a reset handler: Linux 6.1's vfio-platform fails the probe \
             with -ENOENT regardless (fixed in 6.2 by commit 168a9c91fe0a). A reset module for its first \
             compatible is the way on 6.1; --force tries anyway",
            release.unwrap_or("6.1")
        )));
    }
    match required {
        Some(true) | None => Err(CliError::Refused(format!(
            "{name} has no reset ({why}): vfio-platform{} will refuse to open it while reset_required is set. \
             The parameter is read-only once the module is loaded: `modprobe -r vfio_platform && modprobe vfio_platform reset_required=0` \
             lifts it for every device (not on Linux 6.1, whose vfio-platform refuses such devices regardless), and then a VM gets such devices as their last user left them, DMA and interrupts possibly live; \
             --force binds anyway when a reset module platreset does not know of covers it",
            if required.is_none() { " (not loaded yet; reset_required defaults to Y)" } else { "" }
        ))),
        Some(false) => Err(CliError::Refused(format!(
            "{name} has no reset ({why}) and vfio_platform runs with reset_required=N: it would go to a VM unreset; --force to do it anyway"
        ))),
    }
}

/// The generic reset of `node` through /dev/mem, as `platreset reset --backend devmem
/// --write-hardware` does it, through the same library call (the policy's refusals still apply:
/// no --force here). Returns the report of the accesses made, as `platreset reset` prints it; on
/// failure the error followed by that report.
fn generic_reset_of(dtb: &std::path::Path, node: &str) -> Result<String, String> {
    use platreset_reset::perform::{reset_node, Failure, LineSelect, NodeError, Operation};
    let blob = crate::read::dtb(dtb).map_err(|e| e.to_string())?;
    let file = dtb.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|e| format!("invalid DTB {file}: {e}"))?;
    let target = fdt.resolve(node).map_err(|e| format!("{e} (in {file})"))?;
    let topology = Topology::build(&fdt);
    let pulse_us = platreset_reset::DEFAULT_PULSE_US;
    let policy_args = PolicyArgs::defaults();
    let policy = policy_args.policy(pulse_us).map_err(|e| e.to_string())?;
    let acpi = policy_args.acpi_devices().map_err(|e| e.to_string())?;
    let verdict = Evaluator::new(&policy, &topology, &acpi).verdict(target.id());
    let result =
        reset_node(&topology, target.id(), &LineSelect::All, Operation::Reset, pulse_us, |windows| {
            crate::reset::refuse_unless_eligible(&verdict, &target.path())?;
            let (devmem, lock) =
                (std::path::Path::new("/dev/mem"), std::path::Path::new(platreset_devmem::DEFAULT_LOCK));
            crate::reset::open_devmem(devmem, lock, windows)
        });
    match result {
        Ok(report) => Ok(crate::reset::report_text(&report)),
        Err(NodeError::Failed(Failure { report, error })) => {
            Err(format!("cannot reset {node}: {error}\n{}", crate::reset::report_text(&report)))
        }
        Err(e) => Err(format!("cannot reset {node}: {e}")),
    }
}

/// The IOMMU group of a device VFIO is to open, or why it cannot be opened: not on
/// vfio-platform, no group, or no VFIO in this kernel — each in words, with the kernel options.
/// `open_now`: VFIO will be opened (not a dry run), so it must be loaded.
fn vfio_group_of(d: &PlatformDevice, facts: &KernelFacts, open_now: bool) -> Result<u32, CliError> {
    let name = &d.name;
    if d.driver.as_deref() != Some(platreset_host::sysfs::VFIO_PLATFORM) {
        let on = d.driver.as_deref().map_or("no driver".to_string(), |drv| format!("driver {drv}"));
        let kernel = facts.vfio_platform_missing().map(|m| format!("; and {m}")).unwrap_or_default();
        return Err(CliError::Host(format!(
            "{name} is on {on}, not vfio-platform, so VFIO cannot open it: `platreset host bind {name}` first{kernel}"
        )));
    }
    let Some(group) = d.iommu_group else {
        let why = facts.no_group_missing(name).map(|m| format!(": {m}")).unwrap_or_default();
        return Err(CliError::Host(format!("{name} has no IOMMU group, so VFIO cannot reach it{why}")));
    };
    if let Some(m) = facts.vfio_missing().filter(|_| open_now) {
        return Err(CliError::Host(format!("VFIO is not available: {m}")));
    }
    Ok(group)
}

/// Runs the command.
/// Runs the command.
pub fn run(args: &HostArgs) -> Result<(), CliError> {
    let root = SysfsRoot::new(&args.common.sysfs_root);
    let text = match &args.command {
        HostCommand::List { format }
        | HostCommand::Bind { format, .. }
        | HostCommand::Unbind { format, .. }
        | HostCommand::Info { format, .. }
        | HostCommand::Reset { format, .. } => *format == Format::Text,
        HostCommand::Guard { .. } => true,
    };
    let mut out = crate::term::stdout(text);
    match &args.command {
        HostCommand::List { format } => list::run(args, &root, &mut out, format),
        HostCommand::Bind { devices, yes, force, persist: keep, dry_run, format } => {
            bind::bind(args, &root, &mut out, devices, yes, force, keep, dry_run, format)
        }
        HostCommand::Unbind { device, yes, format } => {
            bind::unbind_device(&root, &mut out, device, yes, format)
        }
        HostCommand::Info { device, format } | HostCommand::Reset { device, format, .. } => {
            vfio::info_or_reset(args, &root, &mut out, device, format)
        }
        HostCommand::Guard { pid, devices, yes, generic_reset, restore } => {
            guard::guard(args, &root, pid, devices, yes, generic_reset, restore)
        }
    }
}
