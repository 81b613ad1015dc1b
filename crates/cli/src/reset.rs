//! `platreset reset`: what resetting a device through its reset controllers does, register by
//! register, exactly as the kernel's drivers would do it, through the library's one call for it
//! (`platreset_reset::perform::reset_node`). The default backend records and writes nothing.
//! When a line fails, the report is printed all the same — the lines done, the failed one, the
//! undo of the lines before it — with the error (a JSON `"error"` field), and the exit status is 1.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use platreset_fdt::Fdt;
use platreset_policy::policy::{Evaluator, Reason, Verdict};
use platreset_reset::perform::{
    reset_node, ControllerWindow, Failure, LineSelect, NodeError, Operation, Report,
};
use platreset_reset::{MmioOp, Trace, DEFAULT_PULSE_US};
use platreset_topology::Topology;
use serde_json::json;

use crate::error::CliError;
use crate::policy_args::PolicyArgs;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object (stable interface).
    Json,
}

/// Where register accesses go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Dry run: record every access, write nothing.
    Trace,
    /// Real registers through /dev/mem (needs --write-hardware).
    Devmem,
}

/// Arguments of `platreset reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The device tree (DTB file).
    pub dtb: PathBuf,
    /// The device: a path (/soc/mmc@ee100000), a label (&sdhi0 or sdhi0) or an alias (mmc0).
    pub node: String,
    /// Only this line: an index into `resets` or a name from `reset-names`.
    #[arg(long, value_name = "NAME|INDEX")]
    pub line: Option<String>,
    /// Assert the line(s) and leave them asserted, instead of a full reset.
    #[arg(long, conflicts_with = "deassert")]
    pub assert: bool,
    /// Deassert the line(s), instead of a full reset.
    #[arg(long)]
    pub deassert: bool,
    /// Where the accesses go: `trace` records them and writes nothing; `devmem` writes the real
    /// registers through /dev/mem and needs --write-hardware.
    #[arg(long, value_enum, default_value_t = Backend::Trace)]
    pub backend: Backend,
    /// Really write hardware registers with --backend devmem. The kernel's own driver for the
    /// controller may be using the same registers at the same time.
    #[arg(long)]
    pub write_hardware: bool,
    /// With --backend devmem, act even when the policy refuses the device (e.g. a shared line).
    #[arg(long)]
    pub force: bool,
    /// The physical-memory device (a file standing in for it in tests).
    #[arg(long, value_name = "PATH", default_value = "/dev/mem")]
    pub devmem: PathBuf,
    /// The lock file that keeps two platreset processes from writing registers at once.
    #[arg(long, value_name = "PATH", default_value = platreset_devmem::DEFAULT_LOCK)]
    pub lock: PathBuf,
    /// Wait between assert and deassert when a controller has no reset sequence of its own
    /// (microseconds, at most 1000000).
    #[arg(long, value_name = "US", default_value_t = DEFAULT_PULSE_US,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(platreset_reset::MAX_PULSE_US)))]
    pub pulse_us: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The policy that decides whether --backend devmem may act without --force.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// A register access of line `line` (its position in `resets`), as `reset --format json` prints it;
/// an access undoing the line after a later line failed carries `"undo": true`.
fn op_json(op: &MmioOp, line: usize, undo: bool) -> serde_json::Value {
    let mut value = crate::json::op(op);
    if let Some(object) = value.as_object_mut() {
        object.insert("line".into(), line.into());
        if undo {
            object.insert("undo".into(), true.into());
        }
    }
    value
}

fn op_text(op: &MmioOp) -> String {
    match op {
        MmioOp::Read32 { reg, value } => {
            format!("read32  {:#010x} {:<12} -> {value:#010x}", reg.addr.get(), reg.name)
        }
        MmioOp::Write32 { reg, value } => {
            format!("write32 {:#010x} {:<12} <- {value:#010x}", reg.addr.get(), reg.name)
        }
        MmioOp::DelayUs { us } => format!("delay   {us} us"),
        MmioOp::Poll32 { reg, mask, expect, timeout_us } => format!(
            "poll32  {:#010x} {:<12} until (value & {mask:#x}) == {expect:#x}, at most {timeout_us} us",
            reg.addr.get(),
            reg.name
        ),
    }
}

/// Runs the command.
pub fn run(args: &ResetArgs) -> Result<(), CliError> {
    if args.backend == Backend::Trace && (args.write_hardware || args.force) {
        let given = if args.write_hardware { "--write-hardware" } else { "--force" };
        return Err(CliError::Usage(format!(
            "{given} acts on --backend devmem only; the default trace backend writes nothing: add --backend devmem to write registers, or drop {given} for a dry run"
        )));
    }
    let blob = crate::read::dtb(&args.dtb)?;
    run_on(&blob, &args.dtb.display().to_string(), args)
}

/// Runs the command on a DTB already in memory (`file` names it in messages).
pub fn run_on(blob: &[u8], file: &str, args: &ResetArgs) -> Result<(), CliError> {
    let file = file.to_string();
    let fdt = Fdt::parse(blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    let node = fdt.resolve(&args.node).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
    let topology = Topology::build(&fdt);
    let select = match &args.line {
        None => LineSelect::All,
        Some(text) => text.parse().map(LineSelect::Index).unwrap_or_else(|_| LineSelect::Name(text.clone())),
    };
    let operation = match (args.assert, args.deassert) {
        (true, _) => Operation::Assert,
        (_, true) => Operation::Deassert,
        _ => Operation::Reset,
    };
    let fail = |source| CliError::Reset { file: file.clone(), source: Box::new(source) };
    let policy = args.policy.policy(args.pulse_us)?;
    let acpi = args.policy.acpi_devices()?;
    let verdict = Evaluator::new(&policy, &topology, &acpi).verdict(node.id());
    let result = match args.backend {
        Backend::Trace => {
            reset_node(&topology, node.id(), &select, operation, args.pulse_us, |_| Ok(Trace::new()))
        }
        Backend::Devmem => reset_node(&topology, node.id(), &select, operation, args.pulse_us, |windows| {
            if !args.write_hardware {
                return Err(CliError::Refused(
                    "--backend devmem writes real registers: add --write-hardware to mean it (leave both out for a dry run)".into(),
                ));
            }
            if !args.force {
                refuse_unless_eligible(&verdict, &node.path())?;
            }
            open_devmem(&args.devmem, &args.lock, windows)
        }),
    };
    let (report, error) = match result {
        Ok(report) => (report, None),
        Err(NodeError::Lines(e)) => return Err(fail(e)),
        Err(NodeError::Backend(e)) => return Err(e),
        Err(NodeError::Failed(Failure { report, error })) => (report, Some(error)),
    };
    // Warn about each line acted on that other nodes share: they are reset too.
    let mut warnings: Vec<String> = verdict
        .failed()
        .filter_map(|r| match r {
            Reason::SharedLine { index, .. } => report
                .lines()
                .any(|o| o.index == *index)
                .then(|| format!("{r}: acting on it acts on them too")),
            _ => None,
        })
        .collect();
    // Linux ignores a failed undo; say what it leaves behind.
    warnings.extend(report.undone().filter_map(|o| {
        let e = o.error.as_ref()?;
        let left = if o.action == Operation::Deassert { "asserted" } else { "deasserted" };
        Some(format!("undoing line {} failed, so it may be left {left}: {e}", o.index))
    }));
    let mut out = crate::term::stdout(args.format != Format::Json);
    match args.format {
        Format::Json => {
            let mut doc = json!({
                "node": node.path(),
                "method": verdict.method.as_str(),
                "operation": operation.as_str(),
                "backend": match args.backend { Backend::Trace => "trace", Backend::Devmem => "devmem" },
                "lines": report.lines().map(|o| json!({
                    "controller": o.controller,
                    "args": o.line.args(),
                    "driver": o.driver,
                    "mode": o.mode.map(|m| m.as_str()),
                    "index": o.index,
                    "name": o.name,
                })).collect::<Vec<_>>(),
                "ops": report.steps.iter().flat_map(|o| o.ops.iter().map(|op| op_json(op, o.index, o.undo))).collect::<Vec<_>>(),
                "warnings": warnings,
                "verdict": {"eligible": verdict.eligible(), "method": verdict.method.as_str(),
                            "reasons": verdict.reasons.iter().map(ToString::to_string).collect::<Vec<_>>()},
            });
            if let (Some(error), Some(object)) = (&error, doc.as_object_mut()) {
                object.insert("error".into(), error.to_string().into());
            }
            writeln!(out, "{doc}")?;
        }
        Format::Text => {
            match args.backend {
                Backend::Trace => writeln!(out, "{} ({}): dry run, nothing is written", node.path(), file)?,
                Backend::Devmem => {
                    writeln!(out, "{} ({}): written through {}", node.path(), file, args.devmem.display())?
                }
            }
            write!(out, "{}", report_text(&report))?;
            for w in &warnings {
                writeln!(out, "warning: {w}")?;
            }
        }
    }
    match error {
        None => Ok(()),
        Some(error) => Err(fail(*error)),
    }
}

/// The report as `platreset reset` prints it for people: each line with its accesses, then the
/// undo of the lines before a failed one, each with its own, and what failed.
pub(crate) fn report_text(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for o in &report.steps {
        let args_text: Vec<String> = o.line.args().iter().map(u32::to_string).collect();
        let name = o.name.as_ref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let line = format!(
            "line {}{name}: {} <{}>, driver {}",
            o.index,
            o.controller,
            args_text.join(" "),
            o.driver
        );
        let _ = if o.undo {
            writeln!(text, "  undo {line}: {} (a later line failed)", o.action.as_str())
        } else {
            let how = match o.mode {
                Some(platreset_reset::Mode::Kernel) => "the kernel driver's reset sequence".to_string(),
                Some(platreset_reset::Mode::Pulse { us }) => {
                    format!("pulse: assert, {us} us, deassert (the driver has no reset sequence)")
                }
                None => "single operation".to_string(),
            };
            writeln!(text, "  {line}, {how}")
        };
        for op in &o.ops {
            let _ = writeln!(text, "    {}", op_text(op));
        }
        match &o.error {
            Some(e) => {
                let _ = writeln!(text, "    failed: {e}");
            }
            // Linux's deassert without a .deassert operation, for one: nothing to write.
            None if o.ops.is_empty() => {
                let _ = writeln!(text, "    no register access: nothing to do for this driver");
            }
            None => {}
        }
    }
    text
}

/// Refuses a device the policy refuses (the caller decides whether `--force` lifts it).
pub(crate) fn refuse_unless_eligible(verdict: &Verdict, node: &str) -> Result<(), CliError> {
    if verdict.eligible() {
        return Ok(());
    }
    let reasons: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
    Err(CliError::Refused(format!("the policy refuses {node}: {}; --force acts anyway", reasons.join("; "))))
}

/// Opens `devmem` for exactly the controllers' register windows, warning for each that its own
/// driver may be using the registers.
pub(crate) fn open_devmem(
    devmem: &Path,
    lock: &Path,
    windows: &[ControllerWindow],
) -> Result<platreset_reset::Recorder<platreset_devmem::DevMem>, CliError> {
    for w in windows {
        eprintln!(
            "platreset: warning: writing {}'s registers behind the kernel's back: its own driver may be using them",
            w.controller
        );
    }
    let windows: Vec<platreset_reset::Window> = windows.iter().map(|w| w.window).collect();
    platreset_devmem::DevMem::open(devmem, lock, &windows)
        .map(platreset_reset::Recorder::over)
        .map_err(|e| CliError::Refused(devmem_refusal(&e)))
}

/// A `/dev/mem` failure in words: an EPERM (or EACCES) from mapping a window is the kernel's devmem
/// restriction (REFERENCE §7: Debian builds with IO_STRICT_DEVMEM, and the controller's driver
/// claims its registers), so say which claim blocks it and how to lift it.
fn devmem_refusal(error: &platreset_devmem::DevMemError) -> String {
    use platreset_devmem::DevMemError;
    let eperm = |source: &std::io::Error| source.kind() == std::io::ErrorKind::PermissionDenied;
    match error {
        DevMemError::Map { window, source, .. } if eperm(source) => {
            let facts = platreset_host::kernel::KernelFacts::read(std::path::Path::new("/"));
            format!("{error}: {}", facts.devmem_refusal(window.base.get(), window.size))
        }
        DevMemError::Open { source, .. } if eperm(source) => format!(
            "{error}: EPERM when opening /dev/mem as root is the kernel's lockdown (integrity or \
             confidentiality mode, e.g. under Secure Boot); /sys/kernel/security/lockdown says which"
        ),
        _ => error.to_string(),
    }
}
