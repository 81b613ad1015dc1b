//! `platreset host list`: every platform device with its DT node, driver, IOMMU group (bounded
//! member list) and policy verdict, and what the kernel lacks for VFIO.
//!
//! Owns: the listing's text (a table with column headers, after a first line saying when the
//! machine has no device tree) and JSON. Must not: write anything.

use std::path::PathBuf;

use crate::error::CliError;
use crate::term::{Out, Style};

use super::*;

/// Lists the devices under the root.
pub(super) fn run(
    args: &HostArgs,
    root: &SysfsRoot,
    out: &mut dyn Out,
    format: &Format,
) -> Result<(), CliError> {
    let sysfs = &args.common.sysfs_root;
    let no_tree = no_device_tree(args).map(|fdt| {
        format!(
            "No device tree: {} does not exist (an ACPI or x86 machine?), so no device has a DT node or a \
             verdict; --dtb FILE gives the verdicts of a DTB.",
            fdt.display()
        )
    });
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
            if let Some(no_tree) = &no_tree {
                eprintln!("platreset: {no_tree}");
            }
            for missing in facts.missing_for_vfio() {
                eprintln!("platreset: kernel: {missing}");
            }
            for odd in &listing.odd {
                eprintln!("platreset: host: not listed: {}: {}", odd.name, odd.error);
            }
        }
        Format::Text => {
            if let Some(no_tree) = &no_tree {
                writeln!(out, "{no_tree}")?;
            }
            writeln!(out, "{} platform device(s) under {}", devices.len(), args.common.sysfs_root.display())?;
            if !devices.is_empty() {
                table(out, devices, &verdicts)?;
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

/// The host's DTB when the verdicts would come from it and it does not exist: no `--dtb` and no
/// `<root>/sys/firmware/fdt` (a machine booted without a device tree).
fn no_device_tree(args: &HostArgs) -> Option<PathBuf> {
    if args.common.dtb.is_some() {
        return None;
    }
    let fdt = args.common.sysfs_root.join("sys/firmware/fdt");
    match std::fs::symlink_metadata(&fdt) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(fdt),
        _ => None,
    }
}

/// The devices as a table under column headers, each column as wide as its widest cell; the
/// verdict last, unpadded, in its colour.
fn table(out: &mut dyn Out, devices: &[PlatformDevice], verdicts: &[Option<Verdict>]) -> std::io::Result<()> {
    let header = ["DEVICE", "DT NODE", "DRIVER", "IOMMU GROUP"];
    let rows: Vec<[String; 4]> = devices
        .iter()
        .map(|d| {
            let group = match d.iommu_group {
                Some(g) if d.group_members.len() > MAX_GROUP_NAMES_SHOWN => format!(
                    "{g} [{} +{} more]",
                    d.group_members[..MAX_GROUP_NAMES_SHOWN].join(" "),
                    d.group_members.len() - MAX_GROUP_NAMES_SHOWN
                ),
                Some(g) => format!("{g} [{}]", d.group_members.join(" ")),
                None => "-".into(),
            };
            [
                d.name.clone(),
                d.dt_path.clone().unwrap_or_else(|| "-".into()),
                d.driver.clone().unwrap_or_else(|| "-".into()),
                group,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let cells = |row: [&str; 4]| {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            line.push_str("  ");
            line.push_str(cell);
            line.push_str(&" ".repeat(w - cell.chars().count()));
        }
        line
    };
    writeln!(out, "{}  VERDICT", cells(header))?;
    for (row, v) in rows.iter().zip(verdicts) {
        write!(out, "{}  ", cells(row.each_ref().map(String::as_str)))?;
        let style = match v {
            None => None,
            Some(v) if v.eligible() => Some(Style::Good),
            Some(_) => Some(Style::Bad),
        };
        match style {
            Some(style) => out.paint(style, &verdict_text(v))?,
            None => write!(out, "{}", verdict_text(v))?,
        }
        writeln!(out)?;
    }
    Ok(())
}
