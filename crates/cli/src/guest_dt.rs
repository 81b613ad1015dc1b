//! `platreset guest-dt`: the guest device-tree node(s) for devices handed to a VM, for the VMM
//! that runs it, with the decision behind every property. A refused build lists every refusal of
//! every node at once and one command line whose flags make it build — tried before it is
//! printed — with what each flag costs the guest.
//!
//! Owns: the command line, reading the host and base trees, writing the output atomically (a
//! failed run leaves no partial file), and the report (text wrapped to a terminal's 80 columns,
//! or JSON). Must not: decide properties or layouts (`platreset-guestdt` does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use platreset_dtedit::{from_fdt, to_dtb, to_dts, Node as DtNode, WriteOptions};
use platreset_fdt::Fdt;
use platreset_guestdt::driver_needs::GuestNeed;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{
    avf, crosvm, qemu, xen, Action, HostClock, HostClocks, HostDevice, HostError, Output, Overrides, Placed,
    TargetOptions,
};
use platreset_host::sysfs::SysfsRoot;
use serde_json::{json, Value};

use crate::error::CliError;
use crate::files::{write_all_or_none, Planned};

/// The VMMs a guest tree can be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// QEMU's virt machine, QEMU 10.1 and older (vfio-platform was removed in 10.2): the
    /// devices on its platform bus.
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
        // The rate becomes a guest fixed-clock's one-cell clock-frequency: refused here, before
        // anything is read, rather than written as two cells Linux would misread.
        if let Some(why) = platreset_guestdt::build::fixed_clock_rate_problem(hz) {
            return Err(why);
        }
        Ok(ClockRate(name.to_string(), hz))
    }
}

/// Arguments of `platreset guest-dt`.
#[derive(Debug, Args)]
#[command(after_help = "Property policy (shared by every target; --explain prints each decision):
  regenerated   reg, interrupts, interrupt-parent, phandle (the target's layout)
  dropped       resets, power-domains, iommus, pinctrl-*, assigned-clock-* (host-only wiring)
  warned        dmas, gpio-ranges, unknown cells that could hold a phandle
  clocks        fixed-rate guest clocks when every rate is known (a fixed or fixed-factor
                provider, assigned-clock-rates anywhere in the tree, or --clock-rate NAME=HZ);
                dropped with a warning when the node has power-domains; otherwise refused
  supplies      *-supply: an always-on guest regulator-fixed named after the host regulator (its
                voltage when the host states a fixed one); the host must keep that regulator on
  class rules   what a binding offers instead: MMC cd-gpios -> broken-cd, wp-gpios -> disable-wp;
                optional links dropped (interconnects, OPP tables, qcom UFS and stmmac reset
                GPIOs), each naming its binding
  parts         copied beneath the device, phandles renumbered: an Ethernet MAC's MDIO bus and
                PHYs (their interrupts and reset GPIOs stay with the host), an I2C/SPI
                controller's bus devices (none needing a host interrupt), stmmac's
                snps,axi-config / snps,mtl-*-config nodes, configuration-only children
  refused       other properties that reference host nodes (phys, *-gpios…), other subnodes:
                every refusal at once, with one command line whose flags build it and their cost

Targets: qemu serves QEMU 10.1 and older (vfio-platform deprecated in 10.0, removed in 10.2).

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
    /// Read clock rates from the running host's clock summary (<ROOT>/sys/kernel/debug/clk/
    /// clk_summary, debugfs, root only): a rate the host's clock driver computes at run time is
    /// known there. Used after --clock-rate and before the tree's own rates. Kernels that list
    /// consumers (Debian's 6.1.192 does) name each device's clocks; on older ones only clocks named in the
    /// tree's clock-output-names are found. Run it before unbinding the host driver: a device
    /// no driver holds is no consumer. Used without this flag when DTB is the running host's
    /// own (<ROOT>/sys/firmware/fdt) and the summary is readable.
    #[arg(long)]
    pub from_host: bool,
    /// The filesystem root holding `sys/` for --from-host (tests point this at a fake tree).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub sysfs_root: std::path::PathBuf,
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
    crate::read::dtb(path)
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

/// Why no output was built.
enum Failure {
    /// Host nodes the policy refuses: every problem of every node.
    Refused(Vec<HostError>),
    /// The target refuses the layout.
    Target(String),
}

/// The user's `--keep`, `--drop` and `--clock-rate`, and the running host's clocks.
fn overrides(args: &GuestDtArgs, host_clocks: Option<Arc<HostClocks>>) -> Overrides {
    Overrides {
        keep: args.keep.clone(),
        drop: args.drop.clone(),
        clock_rates: args.clock_rate.iter().map(|c| (c.0.clone(), c.1)).collect(),
        host_clocks,
    }
}

/// The running host's clocks: with `--from-host` (an error when they cannot be read), or
/// when the DTB is the running host's own and its summary is readable.
fn host_clocks(args: &GuestDtArgs) -> Result<Option<Arc<HostClocks>>, CliError> {
    let root = SysfsRoot::new(&args.sysfs_root);
    let own = || {
        let live = args.sysfs_root.join("sys/firmware/fdt");
        matches!((args.dtb.canonicalize(), live.canonicalize()), (Ok(a), Ok(b)) if a == b)
    };
    if !args.from_host && !own() {
        return Ok(None);
    }
    let summary = match platreset_host::clk::read(&root) {
        Ok(summary) => summary,
        Err(e) if args.from_host => return Err(CliError::Host(format!("--from-host: {e}"))),
        Err(_) => return Ok(None),
    };
    Ok(Some(Arc::new(HostClocks {
        source: summary.path.display().to_string(),
        clocks: summary
            .clocks
            .into_iter()
            .map(|c| HostClock { name: c.name, rate: c.rate, consumers: c.consumers })
            .collect(),
        lists_consumers: summary.lists_consumers,
    })))
}

/// Reads every device of `tree` under `overrides` and builds the target's output; the devices
/// too.
fn build(
    args: &GuestDtArgs,
    tree: &Tree<'_, '_>,
    nodes: &[platreset_fdt::Node<'_, '_>],
    overrides: &Overrides,
    base: Option<&DtNode>,
) -> Result<(Vec<HostDevice>, Output), Failure> {
    let mut devices = Vec::new();
    let mut refused = Vec::new();
    for node in nodes {
        match HostDevice::read(tree, node, overrides) {
            Ok(device) => devices.push(device),
            Err(e) => refused.push(e),
        }
    }
    if !refused.is_empty() {
        return Err(Failure::Refused(refused));
    }
    let fail = |e: platreset_guestdt::GuestError| Failure::Target(e.to_string());
    let output = match args.target {
        Target::Qemu => {
            let mut root = base.cloned().unwrap_or_else(|| DtNode::new(""));
            let gic = gic_phandle(&root);
            let placed = qemu::place(&mut root, &devices, gic).map_err(fail)?;
            let bytes = match base {
                Some(_) => {
                    to_dtb(&root, &WriteOptions::default()).map_err(|e| Failure::Target(e.to_string()))?
                }
                None => to_dts(&root).map_err(|e| Failure::Target(e.to_string()))?.into_bytes(),
            };
            let suffix = if base.is_some() { ".dtb" } else { ".dts" };
            Output {
                files: vec![(suffix.to_string(), bytes)],
                placed,
                notes: qemu::notes(),
                ..Output::default()
            }
        }
        target => {
            let options = TargetOptions {
                base: base.cloned(),
                sysfs_names: Vec::new(),
                non_dma: non_dma(tree.fdt, &devices),
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
    Ok((devices, output))
}

/// Options that contradict each other or do nothing for the target asked for.
fn check_options(args: &GuestDtArgs) -> Result<(), CliError> {
    if args.dom0less && args.target != Target::Xen {
        return Err(CliError::Usage(format!(
            "--dom0less is a form of the xen output; the {} target has none: add --target xen or drop --dom0less",
            args.target.as_str()
        )));
    }
    if let Some(both) = args.keep.iter().find(|k| args.drop.contains(k)) {
        return Err(CliError::Usage(format!(
            "--keep {both} and --drop {both} ask for opposite things: give one of them"
        )));
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: &GuestDtArgs) -> Result<(), CliError> {
    check_options(args)?;
    let host_blob = read(&args.dtb)?;
    let file = args.dtb.display().to_string();
    let host = Fdt::parse(&host_blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    let nodes = args
        .nodes
        .iter()
        .map(|spec| host.resolve(spec).map_err(|source| CliError::Lookup { file: file.clone(), source }))
        .collect::<Result<Vec<_>, _>>()?;
    // A --drop or --keep that names no property of any node asked for is a typo, most likely.
    for name in args.drop.iter().chain(&args.keep) {
        if !nodes.iter().any(|n| n.property(name).is_some()) {
            let flag = if args.drop.contains(name) { "--drop" } else { "--keep" };
            let on = nodes.iter().map(|n| n.path()).collect::<Vec<_>>().join(", ");
            eprintln!("platreset: warning: {flag} {name}: {on} has no property {name}; nothing to do");
        }
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
    let overrides = overrides(args, host_clocks(args)?);
    // Indexed once: a refusal builds again with the flags that would lift it.
    let tree = Tree::new(&host);
    let (devices, output) = match build(args, &tree, &nodes, &overrides, base.as_ref()) {
        Ok(built) => built,
        Err(Failure::Target(why)) => return Err(CliError::GuestDt(why)),
        Err(Failure::Refused(refused)) => {
            let refusal = Refusal::new(&overrides, &refused, |lifted| {
                build(args, &tree, &nodes, lifted, base.as_ref()).map(|_| ())
            });
            if args.format == Format::Json {
                writeln!(std::io::stdout().lock(), "{}", refusal.json(args))?;
            }
            return Err(CliError::GuestDt(refusal.text(args)));
        }
    };
    // The first file goes to -o; the others beside it, named by their suffix.
    let mut written = Vec::new();
    match &args.output {
        Some(path) => {
            // Every file of the target, or none (an AVF .dtbo without its .xml is no use): each
            // through an exclusively created temporary, renamed over a regular file or a new path.
            let planned: Vec<Planned> = output
                .files
                .iter()
                .enumerate()
                .map(|(i, (suffix, bytes))| Planned {
                    path: if i == 0 { path.clone() } else { sibling(path, suffix) },
                    bytes: bytes.clone(),
                })
                .collect();
            written.extend(write_all_or_none(&planned, false)?.iter().map(|p| p.display().to_string()));
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
    let mut notes = output.notes.clone();
    // Rates read from the running host are said even without --explain: the tree does not hold them.
    if let Some(live) = &overrides.host_clocks {
        let from_host = devices.iter().flat_map(|d| &d.decisions).filter(|d| d.rates_from_host).count();
        if from_host > 0 {
            notes.push(format!(
                "clock rates read from the running host ({}) for {from_host} device(s); --explain shows each rate's source",
                live.source
            ));
        }
    }
    let report = report(args, &devices, &output.placed, &written, &lines, &notes);
    // The report goes where it does not mix with the tree.
    let for_people = args.format == Format::Text;
    let mut err = crate::term::Terminal::new(std::io::stderr().lock(), for_people);
    let mut out = crate::term::stdout(for_people);
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

/// The JSON of one guest supply: the property, the host regulator and what the host must do.
fn supply_json(property: &str, supply: &platreset_guestdt::Supply) -> Value {
    json!({
        "property": property,
        "host_regulator": supply.host,
        "name": supply.name,
        "guest_node": supply.node,
        "microvolt": supply.microvolt,
        "host_keeps_it_on": supply.kept_on.as_str(),
        "warning": supply.warns(),
        "guest": supply.guest_side(),
        "host_duty": supply.host_duty(),
    })
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
            let supplies: Vec<Value> = d
                .decisions
                .iter()
                .filter_map(|x| match &x.action {
                    Action::FixedRegulator(supply) => Some(supply_json(&x.name, supply)),
                    _ => None,
                })
                .collect();
            json!({
                "node": d.path,
                "regions": p.regs.iter().map(|&(host, guest, size)| json!({"host": host, "guest": guest, "size": size})).collect::<Vec<_>>(),
                "interrupts": p.irqs.iter().zip(&d.irqs).map(|(&(spi, trigger), h)| json!({"host_spi": h.spi, "guest_spi": spi, "trigger": trigger})).collect::<Vec<_>>(),
                "properties": d.decisions.iter().map(|x| {
                    let mut p = json!({"name": x.name, "action": x.action.as_str(), "why": x.why});
                    if let Some(need) = &x.guest_driver {
                        p["guest_driver"] = guest_driver_json(need);
                    }
                    p
                }).collect::<Vec<_>>(),
                "supplies": supplies,
                "carried": d.carried.iter().map(|c| json!({"node": c.host_path, "why": c.why, "notes": c.notes})).collect::<Vec<_>>(),
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

/// The width text output is wrapped to: a terminal's classic 80 columns.
const WIDTH: usize = 80;

/// `text` in lines of at most [`WIDTH`] columns (a longer word stands alone): the first line
/// starts with `first`, the others with `indent` spaces.
fn wrap(first: &str, indent: usize, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = first.trim().is_empty();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

fn write_wrapped(out: &mut dyn Write, first: &str, indent: usize, text: &str) -> std::io::Result<()> {
    wrap(first, indent, text).iter().try_for_each(|l| writeln!(out, "{}", l.trim_end()))
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
            let (action, name) = (s(&p["action"]), s(&p["name"]));
            let mark = match action.as_str() {
                "drop-with-warning" => "warning: dropped",
                // The guest's node differs from the host's by a binding's rule: always said.
                "replaced-by-flag" => "note",
                "fixed-regulator" => continue,
                _ if explain => action.as_str(),
                _ => continue,
            };
            write_wrapped(out, &format!("  {name:<24} {mark}:"), 4, &s(&p["why"]))?;
        }
        // Supplies always: the host has a duty for each.
        for x in d["supplies"].as_array().into_iter().flatten() {
            write_wrapped(out, &format!("  {:<24} regulator:", s(&x["property"])), 4, &s(&x["guest"]))?;
            let mark = if x["warning"] == true { "    warning:" } else { "    note:" };
            write_wrapped(out, mark, 6, &s(&x["host_duty"]))?;
        }
        // Nodes copied beneath the device always: the guest gets more than the device node.
        for c in d["carried"].as_array().into_iter().flatten() {
            write_wrapped(out, &format!("  copied {}:", s(&c["node"])), 4, &s(&c["why"]))?;
            for n in c["notes"].as_array().into_iter().flatten() {
                write_wrapped(out, "    warning:", 6, &s(n))?;
            }
        }
    }
    let lines: Vec<String> = report["lines"].as_array().into_iter().flatten().map(s).collect();
    if !lines.is_empty() {
        // Left whole: they are pasted as they are.
        writeln!(out, "For the VMM:")?;
        for l in lines {
            writeln!(out, "  {l}")?;
        }
    }
    for n in report["notes"].as_array().into_iter().flatten() {
        write_wrapped(out, "note:", 6, &s(n))?;
    }
    for f in report["files"].as_array().into_iter().flatten() {
        writeln!(out, "wrote {}", s(f))?;
    }
    Ok(())
}

/// A refused build: every problem of every node, the `--drop` flags that lift them with their
/// cost to the guest, and what building with those flags gave.
struct Refusal<'e> {
    /// Each refused node's error.
    refused: &'e [HostError],
    /// The fixes to add, in the order met, one per flag.
    fixes: Vec<&'e platreset_guestdt::Fix>,
    /// How many problems no flag lifts.
    unliftable: usize,
    /// With every flag added (tried only when each problem has one): `Ok` when it builds, else
    /// why the target (or the policy) still refuses.
    with_flags: Option<Result<(), String>>,
}

impl<'e> Refusal<'e> {
    /// Collects the fixes of `refused` and, when they lift every problem, tries `build` with them.
    fn new(
        base: &Overrides,
        refused: &'e [HostError],
        build: impl Fn(&Overrides) -> Result<(), Failure>,
    ) -> Refusal<'e> {
        let mut lifted = base.clone();
        let mut fixes: Vec<&platreset_guestdt::Fix> = Vec::new();
        let mut unliftable = 0;
        for problem in refused.iter().flat_map(HostError::problems) {
            match problem.fix() {
                Some(fix) => {
                    fix.apply(&mut lifted);
                    if !fixes.iter().any(|f| f.drop == fix.drop) {
                        fixes.push(fix);
                    }
                }
                None => unliftable += 1,
            }
        }
        let with_flags = (unliftable == 0).then(|| match build(&lifted) {
            Ok(()) => Ok(()),
            Err(Failure::Target(why)) => Err(why),
            Err(Failure::Refused(still)) => {
                Err(still.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            }
        });
        Refusal { refused, fixes, unliftable, with_flags }
    }

    fn problems(&self) -> impl Iterator<Item = &'e HostError> {
        self.refused.iter().flat_map(HostError::problems)
    }

    /// The properties whose `--drop` leaves a tree the guest's driver cannot probe on (it
    /// requires a clock or reset the flag removes), in the order met.
    fn unworkable(&self) -> Vec<&'e str> {
        let mut out: Vec<&str> = Vec::new();
        for problem in self.problems() {
            if let HostError::Refused { property, guest_driver: Some(need), .. } = problem {
                if need.is_required() && !out.contains(&property.as_str()) {
                    out.push(property);
                }
            }
        }
        out
    }

    /// One problem without its node's path (the report groups by node), a property's reason
    /// without the property's name repeated.
    fn describe(problem: &HostError) -> String {
        match problem {
            HostError::Refused { property, why, .. } => {
                let quoted = format!("`{property}`");
                let why = why
                    .strip_prefix(&quoted)
                    .map_or(why.as_str(), |w| w.trim_start_matches(':').trim_start());
                format!("property {property}: {why}")
            }
            other => {
                let text = other.to_string();
                let rest = text.strip_prefix(other.node()).unwrap_or(&text);
                rest.strip_prefix(": ").unwrap_or(rest.trim_start()).to_string()
            }
        }
    }

    /// The user's command with every flag added, as shell words, a flag and its value together.
    fn command(&self, args: &GuestDtArgs) -> Vec<String> {
        let quote = |s: &str| {
            let plain =
                !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
            if plain {
                s.to_string()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        };
        let mut words = vec!["platreset guest-dt".to_string(), quote(&args.dtb.display().to_string())];
        words.extend(args.nodes.iter().map(|n| quote(n)));
        words.push(format!("--target {}", args.target.as_str()));
        if let Some(base) = &args.base {
            words.push(format!("--base {}", quote(&base.display().to_string())));
        }
        if let Some(output) = &args.output {
            words.push(format!("-o {}", quote(&output.display().to_string())));
        }
        words.extend(args.keep.iter().map(|k| format!("--keep {}", quote(k))));
        words.extend(args.drop.iter().map(|d| format!("--drop {}", quote(d))));
        words.extend(
            args.clock_rate.iter().map(|c| format!("--clock-rate {}", quote(&format!("{}={}", c.0, c.1)))),
        );
        if args.from_host {
            words.push("--from-host".into());
        }
        if args.sysfs_root != Path::new("/") {
            words.push(format!("--sysfs-root {}", quote(&args.sysfs_root.display().to_string())));
        }
        if args.dom0less {
            words.push("--dom0less".into());
        }
        if args.explain {
            words.push("--explain".into());
        }
        if args.format == Format::Json {
            words.push("--format json".into());
        }
        words.extend(self.fixes.iter().map(|f| format!("--drop {}", quote(&f.drop))));
        words
    }

    /// The command as terminal lines, continued with ` \`.
    fn command_lines(&self, args: &GuestDtArgs) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = "  ".to_string();
        for word in self.command(args) {
            if line.trim().is_empty() {
                line.push_str(&word);
            } else if line.chars().count() + 1 + word.chars().count() + 2 > WIDTH {
                lines.push(format!("{line} \\"));
                line = format!("    {word}");
            } else {
                line.push(' ');
                line.push_str(&word);
            }
        }
        lines.push(line);
        lines
    }

    /// The error message: every refusal, then the command and its costs (or why none builds).
    fn text(&self, args: &GuestDtArgs) -> String {
        let n = self.problems().count();
        let mut out = vec![format!("{n} refusal{}", if n == 1 { "" } else { "s" })];
        for error in self.refused {
            out.extend(wrap("", 2, &format!("{} (in {}):", error.node(), args.dtb.display())));
            for problem in error.problems() {
                let mut text = Self::describe(problem);
                if problem.fix().is_none() {
                    text.push_str(" [no flag lifts this]");
                }
                out.extend(wrap("  ", 4, &text));
            }
        }
        let costs = |out: &mut Vec<String>| {
            for fix in &self.fixes {
                out.extend(wrap(&format!("  {}:", fix.flag()), 4, &fix.cost));
            }
        };
        match &self.with_flags {
            Some(Ok(())) => {
                out.push("To build it, run:".into());
                out.extend(self.command_lines(args));
                let unworkable = self.unworkable();
                if !unworkable.is_empty() {
                    out.extend(wrap("", 2, &Self::unworkable_warning(&unworkable)));
                }
                out.push("What each flag costs the guest:".into());
                costs(&mut out);
            }
            Some(Err(why)) => {
                out.push("These flags place every property:".into());
                out.extend(self.command_lines(args));
                out.extend(wrap(&format!("but the {} target still refuses:", args.target.as_str()), 2, why));
                out.push("What each flag costs the guest:".into());
                costs(&mut out);
            }
            None => {
                out.extend(wrap(
                    "No flag builds it:",
                    2,
                    &format!(
                        "{} of the refusals above {} none.",
                        self.unliftable,
                        if self.unliftable == 1 { "has" } else { "have" }
                    ),
                ));
                if !self.fixes.is_empty() {
                    out.push("These flags lift the others, at this cost to the guest:".into());
                    costs(&mut out);
                }
            }
        }
        out.join("\n")
    }

    /// Why the printed command's tree would not work, and the way to one that does.
    fn unworkable_warning(unworkable: &[&str]) -> String {
        let flags: Vec<String> = unworkable.iter().map(|p| format!("--drop {p}")).collect();
        let way = if unworkable.contains(&"resets") {
            "no guest device can stand in for a reset controller, so no flag gives a tree that works"
        } else {
            "a tree that works needs the clock rates instead: --clock-rate NAME=HZ, or --from-host on the board"
        };
        format!(
            "warning: the tree it builds will not work: the guest's driver requires what {} removes; {way}",
            flags.join(" and ")
        )
    }

    /// The same for scripts (`--format json`), on stdout.
    fn json(&self, args: &GuestDtArgs) -> Value {
        let refused: Vec<Value> = self
            .refused
            .iter()
            .flat_map(HostError::problems)
            .map(|problem| {
                json!({
                    "node": problem.node(),
                    "property": match problem { HostError::Refused { property, .. } => Some(property), _ => None },
                    "why": match problem { HostError::Refused { why, .. } => why.clone(), other => Self::describe(other) },
                    "flag": problem.fix().map(platreset_guestdt::Fix::flag),
                    "cost": problem.fix().map(|f| f.cost.clone()),
                    "guest_driver": match problem {
                        HostError::Refused { guest_driver: Some(need), .. } => guest_driver_json(need),
                        _ => Value::Null,
                    },
                })
            })
            .collect();
        let builds = matches!(self.with_flags, Some(Ok(())));
        json!({
            "target": args.target.as_str(),
            "file": args.dtb.display().to_string(),
            "refused": refused,
            "command": self.with_flags.is_some().then(|| self.command(args).join(" ")),
            "command_builds": builds,
            "command_works": builds && self.unworkable().is_empty(),
            "still_refused": match &self.with_flags { Some(Err(why)) => Some(why), _ => None },
        })
    }
}

/// What the guest's Linux driver needs from a node's `clocks` or `resets` (the kernel-source
/// evidence the decision rests on), for scripts: `needs` (`nothing`, `clock`, `reset`,
/// `unknown`, `no-evidence`), the driver and its file, and for a required clock or reset the
/// getter (`call`, `at`, `via`) and the node's name for it (under `clock` or `reset`).
fn guest_driver_json(need: &GuestNeed) -> Value {
    let (file, driver) = need.driver().unzip();
    let mut v = json!({"needs": need.kind(), "driver": driver, "file": file});
    if let GuestNeed::Required { getter, name, resource, .. } = need {
        v["getter"] = json!({"call": getter.call, "at": getter.at, "via": getter.via});
        v[resource.noun()] = json!(name);
    }
    v
}
