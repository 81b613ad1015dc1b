//! `platreset host bind` and `unbind`: the kernel's and the policy's pre-checks, the bind
//! transaction (every device restored on failure), driverctl-style persistence, and giving a
//! device back to its driver.
//!
//! Owns: the refusals' wording and what is printed. Must not: write outside
//! `platreset-host`'s transaction.

use std::io::Write;

use crate::error::CliError;

use super::*;

/// Binds `devices` to vfio-platform (a dry run without `yes`).
#[allow(clippy::too_many_arguments)] // the subcommand's own flags, passed as clap parsed them
pub(super) fn bind(
    args: &HostArgs,
    root: &SysfsRoot,
    out: &mut dyn Write,
    devices: &[String],
    yes: &bool,
    force: &bool,
    keep: &bool,
    dry_run: &bool,
    format: &Format,
) -> Result<(), CliError> {
    let yes = *yes && !*dry_run;
    let found: Vec<PlatformDevice> =
        devices.iter().map(|d| platreset_host::discover::read_device(root, d)).collect::<Result<_, _>>()?;
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
            eprintln!("platreset: WARNING: --force: {missing}; vfio-platform will probably refuse it");
        }
    }
    let (reset_required, release) = (facts.reset_required, facts.release.clone());
    for (d, v) in found.iter().zip(verdicts(args, &found)?) {
        // No verdict is no judgement: no DT node to read the reset lines and the sharers from,
        // or no host DT at all. That is a refusal, like any failed check.
        if v.is_none() {
            let why = match &d.dt_path {
                None => format!("{} has no DT node (no of_node link), so the policy cannot judge its reset", d.name),
                Some(path) => format!(
                    "the host's device tree does not have {path} (or cannot be read), so the policy cannot judge {}",
                    d.name
                ),
            };
            if !force {
                return Err(CliError::Refused(format!("{why}; --force binds anyway, unjudged")));
            }
            eprintln!("platreset: WARNING: --force: {why}; binding it unjudged");
        }
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
    let plan = plan_bind(root, devices)?;
    let writes = plan.writes()?;
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
    report_writes(&log);
    let report = result?;
    let mut rows = Vec::new();
    for b in &report.bound {
        let file = group_file_of(sysfs, b.iommu_group)?;
        let noiommu = file.to_string_lossy().contains("noiommu-");
        let kept = if *keep { Some(persist(sysfs, &b.device)?) } else { None };
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
    Ok(())
}

/// Gives `device` back to its original driver (a dry run without `yes`).
pub(super) fn unbind_device(
    root: &SysfsRoot,
    out: &mut dyn Write,
    device: &str,
    yes: &bool,
    format: &Format,
) -> Result<(), CliError> {
    let current = platreset_host::discover::read_device(root, device)?;
    if current.driver.as_deref() != Some(platreset_host::sysfs::VFIO_PLATFORM) {
        let on = current.driver.as_deref().map_or("no driver".to_string(), |d| format!("driver {d}"));
        return Err(CliError::Refused(format!(
            "{device} is on {on}, not vfio-platform: there is nothing to give back"
        )));
    }
    if !yes {
        writeln!(out, "dry run: {device} would get its driver_override cleared (\"\\n\"), be unbound and probed again; add --yes")?;
        return Ok(());
    }
    let mut writer = LoggingWriter::new(RealWriter);
    let result = unbind(root, device, &mut writer);
    report_writes(writer.log());
    let report = result?;
    if *format == Format::Json {
        writeln!(
            out,
            "{}",
            json!({"device": report.device, "previous_driver": report.previous_driver, "driver": report.driver})
        )?;
    } else {
        writeln!(out, "{} is on {}", report.device, report.driver.as_deref().unwrap_or("no driver"))?;
    }
    Ok(())
}

/// Each sysfs write as it went, on stderr: one that failed is said to have failed, never "wrote".
fn report_writes(log: &[platreset_host::sysfs::WriteRecord]) {
    for w in log {
        let (path, bytes) = (w.path.display(), String::from_utf8_lossy(&w.bytes));
        match &w.error {
            None => eprintln!("platreset: wrote {path} <- {bytes:?}"),
            Some(error) => {
                // The error often names the path again: say it once.
                let prefix = format!("{path}: ");
                let why = error.strip_prefix(&prefix).unwrap_or(error);
                eprintln!("platreset: FAILED to write {path} <- {bytes:?}: {why}");
            }
        }
    }
}
