//! `verify --record-evidence FILE`: a passing verification written down as an allowlist entry,
//! so that `--allowlist FILE` turns what the simulator showed into the policy's evidence.
//!
//! Owns: the entry's key (the device's first compatible, on the machine's first compatible) and
//! its wording, in the schema `data/allowlist.toml` documents, and adding it to FILE whole or not
//! at all. Must not: decide that a run passed (the caller records only a PASS without faults), or
//! change an entry already in FILE (a key already there is refused: the user edits it).

use std::path::Path;

use platreset_fdt::{Fdt, Node};
use platreset_policy::allowlist::Allowlist;
use platreset_sim::verify::{Report, MODEL_VERSION};

use crate::error::CliError;
use crate::files::{write_all_or_none, Planned};

/// What a new file starts with.
const HEADER: &str = "# Quiescence evidence recorded by `platreset verify --record-evidence`; use it with\n\
                      # `--allowlist FILE` (added to the built-in data/allowlist.toml).\nschema = 1\n";

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Adds the evidence of `report` (a PASS of `node` in `dtb`) to the allowlist `list`; returns the
/// entry's key as the allowlist names it.
pub fn record(
    list: &Path,
    dtb: &Path,
    fdt: &Fdt<'_>,
    node: &Node<'_, '_>,
    report: &Report,
) -> Result<String, CliError> {
    let refuse = |why: String| CliError::Refused(format!("not recorded in {}: {why}", list.display()));
    let device = node
        .compatible()
        .next()
        .map(|c| platreset_fdt::shown(c).into_owned())
        .ok_or_else(|| refuse(format!("{} has no compatible to key an entry by", node.path())))?;
    let machine = fdt.root().compatible().next().map(|c| platreset_fdt::shown(c).into_owned());
    let mut entry = format!("\n[[entry]]\ndevice = {}\n", quoted(&device));
    if let Some(machine) = &machine {
        // The simulator models this SoC's wiring: the evidence holds on this machine.
        entry.push_str(&format!("machine = {}\n", quoted(machine)));
    }
    let source = format!("platreset verify {} {}", dtb.display(), node.path());
    entry.push_str(&format!(
        "dma = true\nquiescence = {{ kind = \"simulator\", model = {}, version = {}, source = {} }}\n",
        quoted(report.model),
        quoted(MODEL_VERSION),
        quoted(&source)
    ));
    let existing = match std::fs::symlink_metadata(list) {
        Ok(_) => crate::policy_args::read_allowlist_text(list)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_string(),
        Err(source) => return Err(CliError::Input { path: list.to_path_buf(), source }),
    };
    let before = Allowlist::parse(&list.display().to_string(), &existing)
        .map_err(|e| CliError::Allowlist(e.to_string()))?;
    if let Some(there) =
        before.entries().iter().find(|e| e.device.as_deref() == Some(&device) && e.machine == machine)
    {
        return Err(refuse(format!("it already has an entry for {}: edit that one", there.key())));
    }
    let mut text = existing;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&entry);
    // The whole file must still be an allowlist.
    let parsed = Allowlist::parse(&list.display().to_string(), &text).map_err(|e| refuse(e.to_string()))?;
    let key = parsed.entries().last().map(|e| e.key()).unwrap_or(device);
    write_all_or_none(&[Planned { path: list.to_path_buf(), bytes: text.into_bytes() }], false)?;
    Ok(key)
}
