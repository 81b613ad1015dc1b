//! `platreset acpi`: the ACPI devices of a set of definition blocks and whether each has `_RST`,
//! which is how vfio-platform resets an ACPI-described device.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::error::CliError;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// A JSON array of `{path, hid, cids, rst, prr}`.
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
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let list: Vec<_> = devices
                .iter()
                .map(|d| json!({"path": d.path, "hid": d.hid, "cids": d.cids, "rst": d.rst, "prr": d.prr}))
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
                writeln!(out, "  {:<24} {:<32} {reset}", d.path, ids)?;
            }
        }
    }
    Ok(())
}
