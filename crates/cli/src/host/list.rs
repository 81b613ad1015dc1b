//! `platreset host list`: every platform device with its DT node, driver, IOMMU group (bounded
//! member list) and policy verdict, and what the kernel lacks for VFIO.
//!
//! Owns: the listing's text and JSON. Must not: write anything.

use std::io::Write;

use crate::error::CliError;

use super::*;

/// Lists the devices under the root.
pub(super) fn run(
    args: &HostArgs,
    root: &SysfsRoot,
    out: &mut dyn Write,
    format: &Format,
) -> Result<(), CliError> {
    let sysfs = &args.common.sysfs_root;
    let facts = KernelFacts::read(sysfs);
    let listing = list(root).map_err(|e| CliError::Host(format!("{e}\n{}", status_with(sysfs, &facts))))?;
    let devices = &listing.devices;
    let verdicts = verdicts(args, devices)?;
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
            for missing in facts.missing_for_vfio() {
                eprintln!("platreset: kernel: {missing}");
            }
            for odd in &listing.odd {
                eprintln!("platreset: host: not listed: {}: {}", odd.name, odd.error);
            }
        }
        Format::Text => {
            writeln!(out, "{} platform device(s) under {}", devices.len(), args.common.sysfs_root.display())?;
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
            writeln!(out, "{}", status_with(sysfs, &facts))?;
            // status_with names a missing vfio-platform; VFIO itself is the other half.
            if let Some(missing) = facts.vfio_missing() {
                writeln!(out, "kernel: {missing}")?;
            }
            if !listing.odd.is_empty() {
                writeln!(out, "{} entr(ies) of the platform bus could not be read:", listing.odd.len())?;
                for odd in &listing.odd {
                    writeln!(out, "  {}: {}", odd.name, odd.error)?;
                }
            }
        }
    }
    match listing.odd.len() {
        0 => Ok(()),
        n => Err(CliError::Host(format!(
            "{n} of {} platform bus entr(ies) could not be read; the others are listed",
            n + devices.len()
        ))),
    }
}
