//! `platreset host info` and `host reset`: a device bound to vfio-platform, through the VFIO
//! container, its group and the device file.
//!
//! Owns: what is printed of the device and of the reset. Must not: bind or unbind.

use std::io::Write;

use crate::error::CliError;

use super::*;

/// Shows a device's VFIO info, or resets it (`HostCommand::Reset`; a dry run without `--yes`).
pub(super) fn info_or_reset(
    args: &HostArgs,
    root: &SysfsRoot,
    out: &mut dyn Write,
    device: &str,
    format: &Format,
) -> Result<(), CliError> {
    let d = platreset_host::discover::read_device(root, device)?;
    let dry_run = matches!(&args.command, HostCommand::Reset { yes: false, .. });
    let group = vfio_group_of(&d, &KernelFacts::read(&args.common.sysfs_root), !dry_run)?;
    let file = group_file_of(&args.common.sysfs_root, group)?;
    if let HostCommand::Reset { yes: false, .. } = &args.command {
        writeln!(out, "dry run: VFIO_DEVICE_RESET on {device} through {}; add --yes", file.display())?;
        return Ok(());
    }
    let container = Container::open_default()?;
    let vfio_group = Group::open(&container, &file)?;
    let iommu = match vfio_group.iommu_type() {
        IommuType::Type1v2 => "type1v2",
        IommuType::Type1 => "type1",
        IommuType::NoIommu => "noiommu",
    };
    let dev = vfio_group.device(device)?;
    if let HostCommand::Reset { .. } = &args.command {
        let started = std::time::Instant::now();
        dev.reset()?;
        let micros = started.elapsed().as_micros();
        if *format == Format::Json {
            writeln!(
                out,
                "{}",
                json!({"device": device, "group_file": file.display().to_string(), "iommu": iommu,
                       "reset": "ok", "elapsed_us": micros})
            )?;
        } else {
            writeln!(out, "{device}: reset through VFIO_DEVICE_RESET on {} ({micros} µs)", file.display())?;
        }
    } else {
        let info = dev.info()?;
        let regions = dev.regions()?;
        let irqs = dev.irqs()?;
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
    Ok(())
}
