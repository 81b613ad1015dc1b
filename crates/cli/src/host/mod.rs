//! `platreset host …`: the running system. Lists platform devices with their driver, IOMMU group
//! and policy verdict; binds them to vfio-platform as a transaction; asks VFIO for a device's
//! info or reset; guards a VMM's devices. Nothing is written without `--yes`.
//!
//! Owns: the command lines and what is printed. Must not: write outside `platreset-host`'s
//! transaction and VFIO calls.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use platreset_fdt::Fdt;
use platreset_host::bind::{execute, persist, plan_bind, unbind};
use platreset_host::discover::{list, status_of, PlatformDevice};
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

fn host_err(e: impl std::fmt::Display) -> CliError {
    CliError::Host(e.to_string())
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
        Some(path) => (path.clone(), crate::files::read_regular(path, MAX_HOST_DTB)?),
        None => {
            let root = SysfsRoot::new(&args.common.sysfs_root);
            let path = args.common.sysfs_root.join("sys/firmware/fdt");
            match root.read_file(&path, MAX_HOST_DTB) {
                Ok(blob) => (path, blob),
                Err(e) if e.is_not_found() => return Ok(vec![None; devices.len()]),
                Err(e) => return Err(host_err(e)),
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
    let name = SysfsRoot::new(root).iommu_group_name(group).map_err(host_err)?;
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
    let blob = std::fs::read(dtb).map_err(|e| format!("cannot read {}: {e}", dtb.display()))?;
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
pub fn run(args: &HostArgs) -> Result<(), CliError> {
    let root = SysfsRoot::new(&args.common.sysfs_root);
    let mut out = std::io::stdout().lock();
    match &args.command {
        HostCommand::List { format } => {
            let devices = list(&root)
                .map_err(|e| CliError::Host(format!("{e}\n{}", status_of(&args.common.sysfs_root))))?;
            let verdicts = verdicts(args, &devices)?;
            match format {
                Format::Json => {
                    let rows: Vec<_> = devices
                        .iter()
                        .zip(&verdicts)
                        .map(|(d, v)| {
                            json!({"name": d.name, "dt_path": d.dt_path, "compatible": d.compatible, "driver": d.driver,
                                   "driver_override": d.driver_override, "iommu_group": d.iommu_group,
                                   "group_members": &d.group_members[..d.group_members.len().min(MAX_GROUP_MEMBERS)],
                                   "group_size": d.group_members.len(),
                                   "group_members_truncated": d.group_members.len() > MAX_GROUP_MEMBERS,
                                   "verdict": v.as_ref().map(|v| json!({"eligible": v.eligible(), "method": v.method.as_str(),
                                        "reasons": v.reasons.iter().map(Reason::text).collect::<Vec<_>>()}))})
                        })
                        .collect();
                    writeln!(out, "{}", serde_json::Value::Array(rows))?;
                    for missing in KernelFacts::read(&args.common.sysfs_root).missing_for_vfio() {
                        eprintln!("platreset: kernel: {missing}");
                    }
                }
                Format::Text => {
                    writeln!(
                        out,
                        "{} platform device(s) under {}",
                        devices.len(),
                        args.common.sysfs_root.display()
                    )?;
                    for (d, v) in devices.iter().zip(&verdicts) {
                        let group = match d.iommu_group {
                            Some(g) if d.group_members.len() > MAX_GROUP_NAMES_SHOWN => format!(
                                "group {g} [{} +{} more]",
                                d.group_members[..MAX_GROUP_NAMES_SHOWN].join(" "),
                                d.group_members.len() - MAX_GROUP_NAMES_SHOWN
                            ),
                            Some(g) => format!("group {g} [{}]", d.group_members.join(" ")),
                            None => "no IOMMU group".into(),
                        };
                        writeln!(
                            out,
                            "  {:<28} {:<32} driver {:<16} {group}  {}",
                            d.name,
                            d.dt_path.as_deref().unwrap_or("-"),
                            d.driver.as_deref().unwrap_or("-"),
                            verdict_text(v)
                        )?;
                    }
                    writeln!(out, "{}", status_of(&args.common.sysfs_root))?;
                    // status_of names a missing vfio-platform; VFIO itself is the other half.
                    if let Some(missing) = KernelFacts::read(&args.common.sysfs_root).vfio_missing() {
                        writeln!(out, "kernel: {missing}")?;
                    }
                }
            }
        }
        HostCommand::Bind { devices, yes, force, persist: keep, dry_run, format } => {
            let yes = *yes && !*dry_run;
            let found: Vec<PlatformDevice> = devices
                .iter()
                .map(|d| platreset_host::discover::read_device(&root, d))
                .collect::<Result<_, _>>()
                .map_err(host_err)?;
            // What this kernel cannot do is not the policy's to waive: vfio-platform missing
            // makes every bind fail; a device without an IOMMU group fails its probe unless
            // no-IOMMU mode is on (--force tries anyway, in case this reading is wrong).
            let facts = KernelFacts::read(&args.common.sysfs_root);
            if let Some(missing) = facts.vfio_platform_missing() {
                return Err(CliError::Refused(format!("cannot bind to vfio-platform: {missing}")));
            }
            for d in found.iter().filter(|d| d.iommu_group.is_none()) {
                if let Some(missing) = facts.no_group_missing(&d.name) {
                    if !force {
                        return Err(CliError::Refused(format!("{missing}; --force tries anyway")));
                    }
                    eprintln!(
                        "platreset: WARNING: --force: {missing}; vfio-platform will probably refuse it"
                    );
                }
            }
            let (reset_required, release) = (facts.reset_required, facts.release.clone());
            for (d, v) in found.iter().zip(verdicts(args, &found)?) {
                if let Some(v) = v.as_ref().filter(|v| v.method == platreset_policy::policy::Method::None) {
                    check_reset_required(&d.name, reset_required, *force, release.as_deref(), v)?;
                }
                if let Some(v) = v.filter(|v| !v.eligible()) {
                    let reasons: Vec<String> = v.reasons.iter().map(|r| r.to_string()).collect();
                    if !force {
                        return Err(CliError::Refused(format!(
                            "the policy refuses {}: {}; --force binds anyway (see `platreset explain`)",
                            d.name,
                            reasons.join("; ")
                        )));
                    }
                    eprintln!(
                        "platreset: WARNING: --force: binding {} although the policy refuses it: {}",
                        d.name,
                        reasons.join("; ")
                    );
                }
            }
            let plan = plan_bind(&root, devices).map_err(host_err)?;
            let writes = plan.writes().map_err(host_err)?;
            let sysfs = &args.common.sysfs_root;
            if !yes {
                if *format == Format::Json {
                    let rows: Vec<_> = writes
                        .iter()
                        .map(|w| {
                            json!({"device": w.device, "step": w.step.to_string(),
                                        "path": w.path.display().to_string(),
                                        "bytes": String::from_utf8_lossy(&w.bytes)})
                        })
                        .collect();
                    writeln!(out, "{}", json!({"dry_run": true, "writes": rows}))?;
                    return Ok(());
                }
                writeln!(out, "dry run (add --yes to write):")?;
                for w in &writes {
                    writeln!(
                        out,
                        "  {} <- {:?}  ({}, {})",
                        w.path.display(),
                        String::from_utf8_lossy(&w.bytes),
                        w.device,
                        w.step
                    )?;
                }
                return Ok(());
            }
            let mut writer = LoggingWriter::new(RealWriter);
            let result = execute(&plan, &mut writer);
            let (_, log) = writer.into_parts();
            for w in &log {
                eprintln!("platreset: wrote {} <- {:?}", w.path.display(), String::from_utf8_lossy(&w.bytes));
            }
            let report = result.map_err(host_err)?;
            let mut rows = Vec::new();
            for b in &report.bound {
                let file = group_file_of(sysfs, b.iommu_group)?;
                let noiommu = file.to_string_lossy().contains("noiommu-");
                let kept = if *keep { Some(persist(sysfs, &b.device).map_err(host_err)?) } else { None };
                if noiommu {
                    eprintln!(
                        "platreset: WARNING: {} is in a no-IOMMU group ({}): nothing confines its DMA, \
                         the kernel taints itself when the group is opened, and only CAP_SYS_RAWIO may open it",
                        b.device,
                        file.display()
                    );
                }
                if *format == Format::Json {
                    rows.push(json!({"device": b.device, "previous_driver": b.previous_driver,
                                     "iommu_group": b.iommu_group, "group_file": file.display().to_string(),
                                     "noiommu": noiommu,
                                     "persisted": kept.as_ref().map(|p| p.display().to_string())}));
                    continue;
                }
                writeln!(
                    out,
                    "{} is on vfio-platform (was {}), IOMMU group {} -> {}",
                    b.device,
                    b.previous_driver.as_deref().unwrap_or("unbound"),
                    b.iommu_group,
                    file.display()
                )?;
                if let Some(path) = kept {
                    writeln!(out, "  kept across reboots: {}", path.display())?;
                }
            }
            if *format == Format::Json {
                writeln!(out, "{}", json!({"dry_run": false, "bound": rows}))?;
            }
        }
        HostCommand::Unbind { device, yes, format } => {
            if !yes {
                writeln!(out, "dry run: {device} would get its driver_override cleared (\"\\n\"), be unbound and probed again; add --yes")?;
                return Ok(());
            }
            let mut writer = LoggingWriter::new(RealWriter);
            let report = unbind(&root, device, &mut writer).map_err(host_err)?;
            if *format == Format::Json {
                writeln!(
                    out,
                    "{}",
                    json!({"device": report.device, "previous_driver": report.previous_driver, "driver": report.driver})
                )?;
            } else {
                writeln!(out, "{} is on {}", report.device, report.driver.as_deref().unwrap_or("no driver"))?;
            }
        }
        HostCommand::Info { device, format } | HostCommand::Reset { device, format, .. } => {
            let d = platreset_host::discover::read_device(&root, device).map_err(host_err)?;
            let dry_run = matches!(&args.command, HostCommand::Reset { yes: false, .. });
            let group = vfio_group_of(&d, &KernelFacts::read(&args.common.sysfs_root), !dry_run)?;
            let file = group_file_of(&args.common.sysfs_root, group)?;
            if let HostCommand::Reset { yes: false, .. } = &args.command {
                writeln!(
                    out,
                    "dry run: VFIO_DEVICE_RESET on {device} through {}; add --yes",
                    file.display()
                )?;
                return Ok(());
            }
            let container = Container::open_default().map_err(host_err)?;
            let vfio_group = Group::open(&container, &file).map_err(host_err)?;
            let iommu = match vfio_group.iommu_type() {
                IommuType::Type1v2 => "type1v2",
                IommuType::Type1 => "type1",
                IommuType::NoIommu => "noiommu",
            };
            let dev = vfio_group.device(device).map_err(host_err)?;
            if let HostCommand::Reset { .. } = &args.command {
                let started = std::time::Instant::now();
                dev.reset().map_err(host_err)?;
                let micros = started.elapsed().as_micros();
                if *format == Format::Json {
                    writeln!(
                        out,
                        "{}",
                        json!({"device": device, "group_file": file.display().to_string(), "iommu": iommu,
                               "reset": "ok", "elapsed_us": micros})
                    )?;
                } else {
                    writeln!(
                        out,
                        "{device}: reset through VFIO_DEVICE_RESET on {} ({micros} µs)",
                        file.display()
                    )?;
                }
            } else {
                let info = dev.info().map_err(host_err)?;
                let regions = dev.regions().map_err(host_err)?;
                let irqs = dev.irqs().map_err(host_err)?;
                if *format == Format::Json {
                    let regions: Vec<_> = regions
                        .iter()
                        .map(|r| json!({"index": r.index, "size": r.size, "offset": r.offset, "flags": r.flag_names()}))
                        .collect();
                    let irqs: Vec<_> = irqs
                        .iter()
                        .map(|i| json!({"index": i.index, "count": i.count, "flags": i.flag_names()}))
                        .collect();
                    writeln!(
                        out,
                        "{}",
                        json!({"device": device, "group_file": file.display().to_string(), "iommu": iommu,
                               "flags": info.flag_names(), "has_reset": info.has_reset(),
                               "regions": regions, "irqs": irqs})
                    )?;
                } else {
                    writeln!(out, "{device} ({}, {iommu}): {info}", file.display())?;
                    for r in &regions {
                        writeln!(out, "  {r}")?;
                    }
                    for i in &irqs {
                        writeln!(out, "  {i}")?;
                    }
                }
            }
        }
        HostCommand::Guard { pid, devices, yes, generic_reset, restore } => {
            let mut steps: Vec<Step> = Vec::new();
            let dtb =
                args.common.dtb.clone().unwrap_or_else(|| args.common.sysfs_root.join("sys/firmware/fdt"));
            let facts = KernelFacts::read(&args.common.sysfs_root);
            for name in devices {
                let d = platreset_host::discover::read_device(&root, name).map_err(host_err)?;
                let group = vfio_group_of(&d, &facts, *yes)?;
                let group_file = group_file_of(&args.common.sysfs_root, group)?;
                let (name, yes, generic, dt_path, dtb) =
                    (name.clone(), *yes, *generic_reset, d.dt_path.clone(), dtb.clone());
                steps.push(Box::new(move || {
                    if !yes {
                        return Ok(format!("dry run: would reset {name} through VFIO (add --yes)"));
                    }
                    let vfio = Container::open_default()
                        .and_then(|c| Group::open(&c, &group_file))
                        .and_then(|g| g.device(&name))
                        .and_then(|d| d.reset());
                    match vfio {
                        Ok(()) => Ok(format!("{name} reset through VFIO")),
                        Err(e) if generic => {
                            let node = dt_path.clone().ok_or_else(|| {
                                format!("{e}; and {name} has no DT node for a generic reset")
                            })?;
                            generic_reset_of(&dtb, &node).map(|report| {
                                format!("{name}: VFIO could not ({e}); reset through its reset controllers:\n{report}")
                            })
                        }
                        Err(e) => {
                            Err(format!("{e} (--generic-reset would reset it through its reset controllers)"))
                        }
                    }
                }));
            }
            if *restore {
                for name in devices {
                    let (name, yes, root) = (name.clone(), *yes, SysfsRoot::new(&args.common.sysfs_root));
                    steps.push(Box::new(move || {
                        if !yes {
                            return Ok(format!("dry run: would give {name} back to its host driver"));
                        }
                        let mut writer = LoggingWriter::new(RealWriter);
                        let report = unbind(&root, &name, &mut writer).map_err(|e| e.to_string())?;
                        Ok(format!("{name} is back on {}", report.driver.as_deref().unwrap_or("no driver")))
                    }));
                }
            }
            let report = run_guard(*pid, steps, &mut std::io::stderr()).map_err(host_err)?;
            if !report.all_succeeded() {
                return Err(CliError::Host(format!(
                    "{} reset step(s) failed after pid {pid} exited",
                    report.failures().count()
                )));
            }
        }
    }
    Ok(())
}
