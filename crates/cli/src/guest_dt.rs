//! `platreset guest-dt`: the guest device-tree node(s) for devices handed to a VM, for the VMM
//! that runs it, with the decision behind every property.
//!
//! Owns: the command line, reading the host and base trees, writing the output atomically (a
//! failed run leaves no partial file), and the report. Must not: decide properties or layouts
//! (`platreset-guestdt` does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Args, ValueEnum};
use platreset_dtedit::{from_fdt, to_dtb, to_dts, Node as DtNode, WriteOptions};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{avf, crosvm, qemu, xen, HostDevice, Output, Overrides, Placed, TargetOptions};
use serde_json::{json, Value};

use crate::error::CliError;

/// The VMMs a guest tree can be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// QEMU's virt machine: the devices on its platform bus.
    Qemu,
    /// crosvm: a DT overlay and the --vfio/--device-tree-overlay arguments.
    Crosvm,
    /// Xen: the partial device tree and the xl (or, with --dom0less, ImageBuilder) lines.
    Xen,
    /// Android pKVM (AVF): the VM DTBO and the assignable_devices.xml entries.
    Avf,
}

impl Target {
    fn as_str(self) -> &'static str {
        match self {
            Target::Qemu => "qemu",
            Target::Crosvm => "crosvm",
            Target::Xen => "xen",
            Target::Avf => "avf",
        }
    }
}

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people (on stderr when the tree goes to stdout).
    Text,
    /// One JSON object: every property decision and where each device landed.
    Json,
}

/// A `--clock-rate NAME=HZ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRate(pub String, pub u64);

impl FromStr for ClockRate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, hz) = s.split_once('=').ok_or_else(|| format!("expected NAME=HZ, not '{s}'"))?;
        let hz = hz.replace('_', "").parse().map_err(|_| format!("'{hz}' is not a rate in Hz"))?;
        Ok(ClockRate(name.to_string(), hz))
    }
}

/// Arguments of `platreset guest-dt`.
#[derive(Debug, Args)]
#[command(after_help = "Property policy (shared by every target; --explain prints each decision):
  regenerated   reg, interrupts, interrupt-parent, phandle (the target's layout)
  dropped       resets, power-domains, iommus, pinctrl-*, assigned-clock-* (host-only wiring)
  warned        dmas, gpio-ranges, unknown cells that could hold a phandle
  clocks        fixed-rate guest clocks when every rate is known (clock-frequency of the provider,
                assigned-clock-rates, or --clock-rate NAME=HZ); dropped with a warning when the
                node has power-domains; otherwise refused, naming the property
  refused       other properties that reference host nodes (phys, *-gpios, *-supply…), subnodes

Examples:
  platreset guest-dt board.dtb sdhi0 --target qemu                        a DTS fragment
  qemu-system-aarch64 -M virt -machine dumpdtb=virt.dtb
  platreset guest-dt board.dtb sdhi0 --target qemu --base virt.dtb -o guest.dtb --explain")]
pub struct GuestDtArgs {
    /// The host's device tree (DTB file).
    pub dtb: PathBuf,
    /// The devices: paths, labels or aliases; several go to one guest.
    #[arg(required = true)]
    pub nodes: Vec<String>,
    /// The VMM.
    #[arg(long, value_enum)]
    pub target: Target,
    /// The guest's base DTB (QEMU: what `-machine dumpdtb=` writes): the output is then a
    /// complete guest DTB with the devices merged in; without it, a DTS fragment.
    #[arg(long, value_name = "GUEST.dtb")]
    pub base: Option<PathBuf>,
    /// Where to write the result (written whole or not at all); default stdout for a fragment.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Copy this property as it is, whatever it holds (repeatable).
    #[arg(long, value_name = "NAME")]
    pub keep: Vec<String>,
    /// Drop this property (repeatable).
    #[arg(long, value_name = "NAME")]
    pub drop: Vec<String>,
    /// The rate of a clock, by clock-names entry or index (repeatable).
    #[arg(long, value_name = "NAME=HZ")]
    pub clock_rate: Vec<ClockRate>,
    /// Xen: the dom0less form (xen,reg / xen,path, ImageBuilder lines).
    #[arg(long)]
    pub dom0less: bool,
    /// Print the decision for every property.
    #[arg(long)]
    pub explain: bool,
    /// Report format (the tree itself is DTB with --base, DTS without).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Input { path: path.to_path_buf(), source })
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a failure never
/// leaves a partial output.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.platreset-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::WriteFile { path: path.to_path_buf(), source });
    }
    Ok(())
}

/// The GIC's phandle in a guest base tree.
fn gic_phandle(root: &DtNode) -> Option<u32> {
    fn walk(node: &DtNode) -> Option<u32> {
        let is_gic = node.prop("interrupt-controller").is_some()
            && node.prop("compatible").is_some_and(|c| {
                c.split(|&b| b == 0).any(|s| s.starts_with(b"arm,gic") || s == b"arm,cortex-a15-gic")
            });
        if is_gic {
            if let Some(p) = node.prop("phandle").filter(|p| p.len() == 4) {
                return Some(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
            }
        }
        node.children.iter().find_map(walk)
    }
    walk(root)
}

/// Runs the command.
pub fn run(args: &GuestDtArgs) -> Result<(), CliError> {
    let host_blob = read(&args.dtb)?;
    let file = args.dtb.display().to_string();
    let host = Fdt::parse(&host_blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    let tree = Tree::new(&host);
    let overrides = Overrides {
        keep: args.keep.clone(),
        drop: args.drop.clone(),
        clock_rates: args.clock_rate.iter().map(|c| (c.0.clone(), c.1)).collect(),
    };
    let mut devices = Vec::new();
    for spec in &args.nodes {
        let node = host.resolve(spec).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
        let device = HostDevice::read(&tree, &node, &overrides)
            .map_err(|e| CliError::GuestDt(format!("{e} (in {file})")))?;
        devices.push(device);
    }

    let (base_blob, base_file) = match &args.base {
        Some(path) => (Some(read(path)?), path.display().to_string()),
        None => (None, String::new()),
    };
    let base = match &base_blob {
        Some(blob) => {
            let base =
                Fdt::parse(blob).map_err(|source| CliError::Dtb { file: base_file.clone(), source })?;
            Some(from_fdt(&base))
        }
        None => None,
    };
    let fail = |e: platreset_guestdt::GuestError| CliError::GuestDt(e.to_string());
    let output = match args.target {
        Target::Qemu => {
            let mut root = base.clone().unwrap_or_else(|| DtNode::new(""));
            let gic = gic_phandle(&root);
            let placed = qemu::place(&mut root, &devices, gic).map_err(fail)?;
            let bytes = match &base {
                Some(_) => {
                    to_dtb(&root, &WriteOptions::default()).map_err(|e| CliError::GuestDt(e.to_string()))?
                }
                None => to_dts(&root).into_bytes(),
            };
            let suffix = if base.is_some() { ".dtb" } else { ".dts" };
            Output { files: vec![(suffix.to_string(), bytes)], placed, ..Output::default() }
        }
        target => {
            let options = TargetOptions {
                base,
                sysfs_names: Vec::new(),
                non_dma: non_dma(&host, &devices),
                dom0less: args.dom0less,
            };
            match target {
                Target::Crosvm => crosvm::build(&devices, &options),
                Target::Xen => xen::build(&devices, &options),
                _ => avf::build(&devices, &options),
            }
            .map_err(fail)?
        }
    };

    // The first file goes to -o; the others beside it, named by their suffix.
    let mut written = Vec::new();
    match &args.output {
        Some(path) => {
            for (i, (suffix, bytes)) in output.files.iter().enumerate() {
                let target = if i == 0 { path.clone() } else { sibling(path, suffix) };
                write_atomically(&target, bytes)?;
                written.push(target.display().to_string());
            }
        }
        None if output.files.len() == 1 && output.files[0].0 == ".dts" => {
            std::io::stdout().lock().write_all(&output.files[0].1)?;
        }
        None => {
            return Err(CliError::GuestDt(format!(
                "the {} output is binary ({}): name the file with -o",
                args.target.as_str(),
                output.files.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }
    let lines: Vec<String> = output
        .lines
        .iter()
        .map(|l| match written.first() {
            Some(first) => l.replace("guest.dtbo", first).replace("guest-partial.dtb", first),
            None => l.clone(),
        })
        .collect();
    let report = report(args, &devices, &output.placed, &written, &lines, &output.notes);
    // The report goes where it does not mix with the tree.
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    let sink: &mut dyn Write = if args.output.is_some() { &mut out } else { &mut err };
    match args.format {
        Format::Json => writeln!(sink, "{report}")?,
        Format::Text => text(&report, args.explain, sink)?,
    }
    Ok(())
}

/// `guest.dtbo` + `-assignable_devices.xml` → `guest-assignable_devices.xml`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}{suffix}"))
}

/// The devices the allowlist records as not mastering DMA.
fn non_dma(host: &Fdt<'_>, devices: &[HostDevice]) -> Vec<String> {
    let Ok(allowlist) = platreset_policy::allowlist::Allowlist::builtin() else { return Vec::new() };
    let machine: Vec<&[u8]> = host.root().compatible().collect();
    devices
        .iter()
        .filter(|d| {
            host.find_path(&d.path).is_ok_and(|n| {
                allowlist.lookup(n.compatible(), machine.iter().copied()).is_some_and(|e| !e.dma)
            })
        })
        .map(|d| d.path.clone())
        .collect()
}

fn report(
    args: &GuestDtArgs,
    devices: &[HostDevice],
    placed: &[Placed],
    written: &[String],
    lines: &[String],
    notes: &[String],
) -> Value {
    let devices: Vec<Value> = devices
        .iter()
        .zip(placed)
        .map(|(d, p)| {
            json!({
                "node": d.path,
                "regions": p.regs.iter().map(|&(host, guest, size)| json!({"host": host, "guest": guest, "size": size})).collect::<Vec<_>>(),
                "interrupts": p.irqs.iter().zip(&d.irqs).map(|(&(spi, trigger), h)| json!({"host_spi": h.spi, "guest_spi": spi, "trigger": trigger})).collect::<Vec<_>>(),
                "properties": d.decisions.iter().map(|x| json!({"name": x.name, "action": x.action.as_str(), "why": x.why})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "target": args.target.as_str(),
        "files": written,
        "base": args.base.as_ref().map(|p| p.display().to_string()),
        "devices": devices,
        "lines": lines,
        "notes": notes,
    })
}

fn text(report: &Value, explain: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    for d in report["devices"].as_array().into_iter().flatten() {
        writeln!(out, "{} -> {}:", s(&d["node"]), s(&report["target"]))?;
        for r in d["regions"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "  region {:#x} size {:#x} -> guest {:#x}",
                r["host"].as_u64().unwrap_or(0),
                r["size"].as_u64().unwrap_or(0),
                r["guest"].as_u64().unwrap_or(0)
            )?;
        }
        for i in d["interrupts"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "  interrupt SPI {} -> guest SPI {} (trigger {})",
                i["host_spi"], i["guest_spi"], i["trigger"]
            )?;
        }
        for p in d["properties"].as_array().into_iter().flatten() {
            let action = s(&p["action"]);
            if explain || action == "drop-with-warning" {
                let mark = if action == "drop-with-warning" { "warning: dropped" } else { action.as_str() };
                writeln!(out, "  {:<24} {mark}: {}", s(&p["name"]), s(&p["why"]))?;
            }
        }
    }
    let lines: Vec<String> = report["lines"].as_array().into_iter().flatten().map(s).collect();
    if !lines.is_empty() {
        writeln!(out, "For the VMM:")?;
        for l in lines {
            writeln!(out, "  {l}")?;
        }
    }
    for n in report["notes"].as_array().into_iter().flatten() {
        writeln!(out, "note: {}", s(n))?;
    }
    for f in report["files"].as_array().into_iter().flatten() {
        writeln!(out, "wrote {}", s(f))?;
    }
    Ok(())
}
