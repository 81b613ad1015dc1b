//! `platreset reset`: what resetting a device through its reset controllers does, register by
//! register, exactly as the kernel's drivers would do it. The default backend records and
//! writes nothing.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_fdt::Fdt;
use platreset_policy::policy::{Evaluator, Reason};
use platreset_reset::perform::{bind_lines, perform, LineOutcome, LineSelect, Operation};
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
    /// Wait between assert and deassert when a controller has no reset sequence of its own.
    #[arg(long, value_name = "US", default_value_t = DEFAULT_PULSE_US)]
    pub pulse_us: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The policy that decides whether --backend devmem may act without --force.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// A register access of line `line` (its position in `resets`), as `reset --format json` prints it.
fn op_json(op: &MmioOp, line: usize) -> serde_json::Value {
    let mut value = crate::json::op(op);
    if let Some(object) = value.as_object_mut() {
        object.insert("line".into(), line.into());
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
    let blob =
        std::fs::read(&args.dtb).map_err(|source| CliError::Input { path: args.dtb.clone(), source })?;
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
    let lines = bind_lines(&fdt, &topology, node.id(), &select).map_err(fail)?;
    let policy = args.policy.policy(args.pulse_us)?;
    let acpi = args.policy.acpi_devices()?;
    let verdict = Evaluator::new(&policy, &topology, &acpi).verdict(node.id());
    let outcomes = match args.backend {
        Backend::Trace => {
            let mut trace = Trace::new();
            perform(&fdt, node.id(), &lines, operation, &mut trace, args.pulse_us).map_err(fail)?
        }
        Backend::Devmem => {
            if !args.write_hardware {
                return Err(CliError::Refused(
                    "--backend devmem writes real registers: add --write-hardware to mean it (leave both out for a dry run)".into(),
                ));
            }
            if !verdict.eligible() && !args.force {
                let reasons: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
                return Err(CliError::Refused(format!(
                    "the policy refuses {}: {}; --force acts anyway",
                    node.path(),
                    reasons.join("; ")
                )));
            }
            let mut windows = Vec::new();
            for line in &lines {
                let controller = fdt.node(line.line.controller()).map(|c| c.path()).unwrap_or_default();
                let reg = fdt.node(line.line.controller()).map(|c| c.reg_cpu());
                match reg {
                    Some(Ok(regs)) if !regs.is_empty() => windows.push(platreset_reset::Window {
                        base: platreset_reset::PhysAddr::new(regs[0].address),
                        size: regs[0].size,
                    }),
                    _ => {
                        return Err(CliError::Refused(format!(
                            "controller {controller} has no usable reg to map"
                        )))
                    }
                }
                eprintln!(
                    "platreset: warning: writing {controller}'s registers behind the kernel's back: its own driver may be using them"
                );
            }
            let mut mem = platreset_devmem::DevMem::open(&args.devmem, &args.lock, &windows)
                .map_err(|e| CliError::Refused(devmem_refusal(&e)))?;
            perform(&fdt, node.id(), &lines, operation, &mut mem, args.pulse_us).map_err(fail)?
        }
    };
    // Warn about each line acted on that other nodes share: they are reset too.
    let warnings: Vec<String> = verdict
        .failed()
        .filter_map(|r| match r {
            Reason::SharedLine { index, .. } => outcomes
                .iter()
                .any(|o| o.index == *index)
                .then(|| format!("{r}: acting on it acts on them too")),
            _ => None,
        })
        .collect();
    let controller = |o: &LineOutcome| fdt.node(o.line.controller()).map(|c| c.path()).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let doc = json!({
                "node": node.path(),
                "method": verdict.method.as_str(),
                "operation": match operation { Operation::Reset => "reset", Operation::Assert => "assert", Operation::Deassert => "deassert" },
                "backend": match args.backend { Backend::Trace => "trace", Backend::Devmem => "devmem" },
                "lines": outcomes.iter().map(|o| json!({
                    "controller": controller(o),
                    "args": o.line.args(),
                    "driver": o.driver,
                    "mode": o.mode.map(|m| m.as_str()),
                    "index": o.index,
                    "name": o.name,
                })).collect::<Vec<_>>(),
                "ops": outcomes.iter().flat_map(|o| o.ops.iter().map(|op| op_json(op, o.index))).collect::<Vec<_>>(),
                "warnings": warnings,
                "verdict": {"eligible": verdict.eligible(), "method": verdict.method.as_str(),
                            "reasons": verdict.reasons.iter().map(ToString::to_string).collect::<Vec<_>>()},
            });
            writeln!(out, "{doc}")?;
        }
        Format::Text => {
            match args.backend {
                Backend::Trace => writeln!(out, "{} ({}): dry run, nothing is written", node.path(), file)?,
                Backend::Devmem => {
                    writeln!(out, "{} ({}): written through {}", node.path(), file, args.devmem.display())?
                }
            }
            for o in &outcomes {
                let args_text: Vec<String> = o.line.args().iter().map(u32::to_string).collect();
                let how = match o.mode {
                    Some(platreset_reset::Mode::Kernel) => "the kernel driver's reset sequence".to_string(),
                    Some(platreset_reset::Mode::Pulse { us }) => {
                        format!("pulse: assert, {us} us, deassert (the driver has no reset sequence)")
                    }
                    None => "single operation".to_string(),
                };
                let name = o.name.as_ref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
                writeln!(
                    out,
                    "  line {}{name}: {} <{}>, driver {}, {how}",
                    o.index,
                    controller(o),
                    args_text.join(" "),
                    o.driver
                )?;
                for op in &o.ops {
                    writeln!(out, "    {}", op_text(op))?;
                }
            }
            for w in &warnings {
                writeln!(out, "warning: {w}")?;
            }
        }
    }
    Ok(())
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
