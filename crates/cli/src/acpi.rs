//! `platreset acpi`: the ACPI devices of a set of definition blocks and whether each has `_RST`,
//! which is how vfio-platform resets an ACPI-described device, with the memory ranges of a static
//! `_CRS`, by which a device-tree node finds its ACPI companion.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_acpi::{AcpiDevice, Crs};
use serde_json::json;

use crate::error::CliError;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// A JSON array of `{path, hid, cids, rst, prr, mmio: [{base, size}], crs}`.
    Json,
}

/// Arguments of `platreset acpi`.
#[derive(Debug, Args)]
pub struct AcpiArgs {
    /// A directory of DSDT/SSDT files, as /sys/firmware/acpi/tables lays them out.
    #[arg(value_name = "DIR", default_value = "/sys/firmware/acpi/tables")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the command.
pub fn run(args: &AcpiArgs) -> Result<(), CliError> {
    let namespace = platreset_acpi::read_tables(&args.dir).map_err(|e| CliError::Acpi(e.to_string()))?;
    let devices = namespace.devices();
    let mut out = crate::term::stdout(args.format == Format::Text);
    match args.format {
        Format::Json => {
            let list: Vec<_> = devices
                .iter()
                .map(|d| {
                    // Hex strings: JSON numbers lose precision above 2^53 in many readers.
                    let mmio: Vec<_> = d
                        .mmio
                        .iter()
                        .map(|r| json!({"base": format!("{:#x}", r.base), "size": format!("{:#x}", r.len)}))
                        .collect();
                    json!({
                        "path": d.path,
                        "hid": d.hid,
                        "cids": d.cids,
                        "rst": d.rst,
                        "prr": d.prr,
                        "mmio": mmio,
                        "crs": crs_name(d.crs),
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::Value::Array(list))?;
        }
        Format::Text => {
            writeln!(out, "{} ACPI device(s) in {}", devices.len(), args.dir.display())?;
            for d in &devices {
                let ids = std::iter::once(d.hid.clone().unwrap_or_else(|| "-".into()))
                    .chain(d.cids.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", ");
                let reset = match (d.rst, d.prr) {
                    (true, _) => "_RST: vfio-platform can reset it",
                    (false, true) => {
                        "no _RST (has _PRR: a power-resource reset, which vfio-platform does not use)"
                    }
                    (false, false) => "no _RST",
                };
                writeln!(out, "  {:<24} {:<32} {reset}{}", d.path, ids, resources(d))?;
            }
        }
    }
    Ok(())
}

fn crs_name(crs: Crs) -> &'static str {
    match crs {
        Crs::None => "none",
        Crs::Static => "static",
        Crs::Method => "method",
    }
}

/// What `_CRS` says of memory, after the reset text: inclusive ranges, as the kernel prints
/// resources (`mem 0xe0700000-0xe070ffff`); nothing when there is no `_CRS`.
fn resources(d: &AcpiDevice) -> String {
    match d.crs {
        Crs::None => String::new(),
        Crs::Method => "; mem unknown (_CRS is a method, not evaluated)".to_string(),
        Crs::Static if d.mmio.is_empty() => "; no mem in _CRS".to_string(),
        Crs::Static => {
            let ranges: Vec<String> = d
                .mmio
                .iter()
                .map(|r| match r.last() {
                    Some(last) => format!("{:#x}-{last:#x}", r.base),
                    None => format!("{:#x}+{:#x}", r.base, r.len),
                })
                .collect();
            format!("; mem {}", ranges.join(", "))
        }
    }
}
