//! `platreset explain`: why a device may or may not be handed to a VM, rule by rule, with the
//! evidence and what to do next. The account is the policy's [`Explanation`], built on the same
//! verdict `audit` prints.
//!
//! Owns: the arguments, finding the device, and the two renderings of the account (JSON through
//! serde, text from its typed fields). Must not: decide or word anything the policy does not —
//! every pass, fail and piece of evidence shown comes from the [`Explanation`].

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_fdt::Fdt;
use platreset_policy::evidence::{self, DriverGrade};
use platreset_policy::explanation::{Explanation, GroupExplanation, KernelDriverUse};
use platreset_policy::policy::{self, Evaluator, LineSupport, Policy};
use platreset_reset::DEFAULT_PULSE_US;
use platreset_topology::Topology;
use serde::Serialize;

use crate::error::CliError;
use crate::policy_args::PolicyArgs;
use crate::term::{Out, Style};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object whose `verdict` is the one `audit` prints.
    Json,
}

/// Arguments of `platreset explain`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  platreset explain board.dtb /soc/pwm@e6e30000      why a PWM sharing its reset line is refused
  platreset explain board.dtb sdhi0 --format json    the same verdict object audit prints
  platreset explain board.dtb pwm0 --group           the PWMs sharing its line, assigned as one unit
  platreset explain board.dtb '\\_SB.ETH0' --acpi /sys/firmware/acpi/tables   an ACPI device")]
pub struct ExplainArgs {
    /// The device tree (DTB file).
    pub dtb: PathBuf,
    /// The device: a path, a label (&sdhi0 or sdhi0) or an alias (mmc0); with --acpi, also an
    /// ACPI namespace path (\_SB.ETH0).
    pub node: String,
    /// Also explain the group of devices that share reset lines with this one, assigned together.
    #[arg(long)]
    pub group: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The verdict's policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Hands `with` the account of `spec` in a DTB already in memory (the one `explain --format
/// json` prints, without `file`), and returns what it returns.
pub(crate) fn explained<R>(
    blob: &[u8],
    file: &str,
    spec: &str,
    policy: &Policy,
    with: impl FnOnce(&Explanation<'_>) -> R,
) -> Result<R, CliError> {
    let fdt = Fdt::parse(blob).map_err(|source| CliError::Dtb { file: file.to_string(), source })?;
    let node = fdt.resolve(spec).map_err(|source| CliError::Lookup { file: file.to_string(), source })?;
    let topology = Topology::build(&fdt);
    let evaluator = Evaluator::new(policy, &topology, &[]);
    let verdict = evaluator.verdict(node.id());
    Ok(with(&Explanation::of(&evaluator, &node, &verdict)))
}

/// Runs the command.
pub fn run(args: &ExplainArgs) -> Result<(), CliError> {
    let policy = args.policy.policy(DEFAULT_PULSE_US)?;
    let acpi = args.policy.acpi_devices()?;
    let blob = crate::read::dtb(&args.dtb)?;
    let file = args.dtb.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    if args.node.starts_with('\\') && args.policy.acpi.is_none() {
        return Err(CliError::Acpi(format!(
            "{} is an ACPI namespace path: pass the tables with --acpi DIR (e.g. /sys/firmware/acpi/tables)",
            args.node
        )));
    }
    let mut out = std::io::BufWriter::new(crate::term::stdout(args.format == Format::Text));
    if args.node.starts_with('\\') {
        let device = acpi.iter().find(|d| d.path == args.node).ok_or_else(|| {
            CliError::Acpi(format!("no device {} in the tables (see `platreset acpi DIR`)", args.node))
        })?;
        let verdict = policy::acpi_verdict(&policy, device);
        let explanation = Explanation::of_acpi(&policy, device, &verdict);
        write(&Printed { explanation: &explanation, file: &file }, args.format, &mut out)?;
    } else {
        let node =
            fdt.resolve(&args.node).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(&policy, &topology, &acpi);
        let verdict = evaluator.verdict(node.id());
        let mut explanation = Explanation::of(&evaluator, &node, &verdict);
        if args.group {
            explanation.group = Some(GroupExplanation::of(&evaluator, node.id()));
        }
        write(&Printed { explanation: &explanation, file: &file }, args.format, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

fn write(doc: &Printed<'_, '_>, format: Format, out: &mut dyn Out) -> Result<(), CliError> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => text(doc, out)?,
    }
    Ok(())
}

/// What `explain` prints: the account, then the file it is about.
#[derive(Serialize)]
struct Printed<'d, 'x> {
    #[serde(flatten)]
    explanation: &'d Explanation<'x>,
    file: &'d str,
}

/// What the Linux driver does with the reset: its grade, the lines it takes, and every reset
/// call in its unit (the one rule 4 cites marked).
fn kernel_driver(k: &KernelDriverUse, out: &mut dyn Write) -> std::io::Result<()> {
    let (e, d) = (&k.evidence, k.evidence.driver);
    writeln!(
        out,
        "\nLinux driver ({}), matched by {}: {} ({}:{})",
        evidence::SOURCE,
        e.compatible,
        d.name,
        d.file,
        d.line
    )?;
    writeln!(out, "  grade: {} ({}); lines taken: {}", d.grade.as_str(), e.label(), e.lines_label())?;
    if d.unclassified > 0 && d.grade != DriverGrade::RecoveryReset {
        writeln!(out, "  {} reset use(s) not classified: the grade is a lower bound", d.unclassified)?;
    }
    if d.sites.is_empty() {
        writeln!(out, "  no reset call")?;
    }
    let cited = e.site();
    for s in d.sites {
        let mark = if cited == Some(s) { "  <- cited" } else { "" };
        let tied = if s.tied { "" } else { " (untied)" };
        writeln!(
            out,
            "  {:<8} {}:{} {}() {} [{}]{tied}{mark}",
            s.op,
            s.file,
            s.line,
            s.function,
            s.call,
            s.paths.join(", ")
        )?;
    }
    Ok(())
}

/// The account for people, from the same fields the JSON is.
fn text(doc: &Printed<'_, '_>, out: &mut dyn Out) -> std::io::Result<()> {
    let x = doc.explanation;
    writeln!(out, "{} ({})", x.node, doc.file)?;
    let compatible = if x.compatible.is_empty() { "-".into() } else { x.compatible.join(", ") };
    writeln!(out, "  compatible: {compatible}")?;
    writeln!(out, "  status: {}", x.status)?;
    writeln!(out, "\nReset method, in the kernel's order: {}", x.method.chosen.as_str())?;
    for m in &x.method.considered {
        let mark = if m.found { "yes" } else { "no " };
        writeln!(out, "  [{mark}] {:<16} {}", m.method.as_str(), m.why)?;
    }
    if !x.lines.is_empty() {
        writeln!(out, "\nReset lines:")?;
        for l in x.lines.iter() {
            let args: Vec<String> = l.args.iter().map(u32::to_string).collect();
            let how = match &l.support {
                LineSupport::Kernel(d) | LineSupport::Pulse(d) => format!("{} (driver {d})", l.reset()),
                LineSupport::Cannot(why) => format!("cannot: {why}"),
            };
            writeln!(out, "  {}: {} <{}>: {how}", l.index, l.controller, args.join(" "))?;
            let sharers: Vec<String> =
                l.sharers.iter().map(|o| format!("{} ({})", o.node, o.status)).collect();
            if l.truncated() {
                let more = l.sharer_count - sharers.len();
                writeln!(out, "     shared with {} and {more} more", sharers.join(", "))?;
            } else if !sharers.is_empty() {
                writeln!(out, "     shared with {}", sharers.join(", "))?;
            }
        }
    }
    if let Some(error) = &x.error {
        writeln!(out, "\nresets cannot be resolved: {error}")?;
    }
    if let Some(k) = &x.kernel_driver {
        kernel_driver(k, out)?;
    }
    writeln!(out, "\nRules:")?;
    for r in &x.rules {
        let (mark, style) = match (r.pass, r.accepted()) {
            (false, _) => ("FAIL", Style::Bad),
            (true, true) => ("warn", Style::Warn),
            (true, false) => ("pass", Style::Good),
        };
        write!(out, "  [")?;
        out.paint(style, mark)?;
        writeln!(out, "] {}. {}: {}", r.rule.number(), r.rule.title(), r.evidence)?;
        if let Some(fix) = &r.fix {
            writeln!(out, "         fix: {fix}")?;
        }
    }
    if let Some((used, note)) = x.allowlist.and_then(|a| a.entry.note.as_ref().map(|n| (a, n))) {
        writeln!(out, "  allowlist note ({}): {note}", used.entry.key())?;
    }
    if let Some(g) = &x.group {
        writeln!(out, "\nGroup (devices sharing reset lines, assigned together):")?;
        if g.single {
            writeln!(out, "  none: this device shares no line")?;
        }
        for m in &g.members {
            let verdict = if m.verdict.eligible() {
                "eligible".into()
            } else {
                let reasons: Vec<_> = m.verdict.reasons.iter().map(|r| r.text()).collect();
                format!("refused: {}", reasons.join("; "))
            };
            writeln!(out, "  {}: {verdict}", m.node)?;
        }
        if !g.also_reset.is_empty() {
            writeln!(out, "  also reset (disabled, not assigned): {}", g.also_reset.join(", "))?;
        }
        if !g.host_infrastructure.is_empty() {
            let host: Vec<String> =
                g.host_infrastructure.iter().map(|h| format!("{} ({})", h.node, h.infrastructure)).collect();
            writeln!(out, "  kept by the host (infrastructure, never assigned): {}", host.join(", "))?;
        }
        let verdict = if g.eligible { "the group may be handed to one VM" } else { "refused" };
        writeln!(out, "  group verdict: {verdict}")?;
    }
    write!(out, "\nVerdict: ")?;
    match (x.verdict.infrastructure, x.verdict.eligible()) {
        (Some(service), _) => {
            out.paint(Style::Bad, &format!("not a candidate: {}", policy::not_a_candidate(service)))?
        }
        (None, true) => out.paint(Style::Good, "eligible: the device may be handed to a VM")?,
        (None, false) => out.paint(Style::Bad, "refused")?,
    }
    writeln!(out)?;
    for w in &x.verdict.warnings {
        writeln!(out, "  warning (accepted): {w}")?;
    }
    if !x.provides_resets_to.is_empty() && x.verdict.infrastructure.is_none() {
        writeln!(
            out,
            "  note: it is also the reset controller of {}: assigning it takes that controller from \
             their host drivers; give them to the same guest or leave them unused",
            x.provides_resets_to.join(", ")
        )?;
    }
    if !x.next.is_empty() {
        writeln!(out, "\nNext:")?;
        for step in &x.next {
            writeln!(out, "  {step}")?;
        }
    }
    Ok(())
}
