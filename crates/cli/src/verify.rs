//! `platreset verify`: run the device's resolved reset on the simulated SoC and show, check by
//! check, whether its DMA and interrupt stopped and whether anything else was reset.
//!
//! Owns: the command line, fault parsing, `--all` over files and nodes, and the report's
//! rendering. Must not: simulate (that is `platreset-sim`) or decide eligibility (the policy's
//! verdict is printed beside the result, not changed by it).

use std::io::{IsTerminal, Write};

use crate::term::{Out, Style};
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};
use platreset_fdt::{Fdt, NodeId};
use platreset_policy::policy::{Evaluator, Method, Verdict};
use platreset_reset::DEFAULT_PULSE_US;
use platreset_sim::verify::{verify, Performer, Report, ResetBy, VerifyError, MODEL_VERSION};
use platreset_sim::{Fault, Verifier};
use platreset_topology::Topology;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::audit::inputs;
use crate::error::CliError;
use crate::policy_args::PolicyArgs;
use crate::read::Source;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// JSON: one report object for a node; with --all, one object with every result.
    Json,
}

/// A fault as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultArg(pub Fault);

impl FromStr for FaultArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fault = match s {
            "stuck-reset" => Fault::StuckReset,
            "no-flush" => Fault::NoFlush,
            "short-delay" => Fault::ShortDelay,
            "dma-survives-reset" => Fault::DmaSurvivesReset,
            _ => match s.strip_prefix("bus-error=") {
                Some(addr) => Fault::BusError(parse_addr(addr).ok_or_else(|| {
                    format!("bus-error needs an address (0x… or decimal), not '{addr}'")
                })?),
                None => {
                    return Err(format!(
                        "unknown fault '{s}': one of stuck-reset, no-flush, short-delay, dma-survives-reset, bus-error=ADDR"
                    ))
                }
            },
        };
        Ok(FaultArg(fault))
    }
}

fn parse_addr(text: &str) -> Option<u64> {
    let text = text.replace('_', "");
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn fault_name(fault: Fault) -> String {
    match fault {
        Fault::StuckReset => "stuck-reset".into(),
        Fault::NoFlush => "no-flush".into(),
        Fault::ShortDelay => "short-delay".into(),
        Fault::DmaSurvivesReset => "dma-survives-reset".into(),
        Fault::BusError(addr) => format!("bus-error={addr:#x}"),
    }
}

/// Arguments of `platreset verify`.
#[derive(Debug, Args)]
#[command(after_help = "Faults (repeatable --fault):
  stuck-reset         the device's reset bits ignore every write
  short-delay         the device needs its reset held 2 ms, longer than any driver waits
  dma-survives-reset  broken IP: the reset clears its registers but not its DMA engine
  no-flush            a flush never completes (FlexRM rings)
  bus-error=ADDR      every access to ADDR is a bus error

Exit status: 0 when every check holds (for --all: for every device verified), 3 when a check
fails, 1 when the verification could not run.

Examples:
  platreset verify board.dtb /soc/mmc@ee100000
  platreset verify board.dtb sdhi0 --fault stuck-reset
  platreset verify board.dtb pwm0 --format json | jq .checks
  platreset verify --all --okay dtbs/")]
pub struct VerifyArgs {
    /// The device tree (DTB file); with --all, also a directory of DTBs.
    pub dtb: PathBuf,
    /// The device: a path, a label (&sdhi0 or sdhi0) or an alias (mmc0).
    #[arg(required_unless_present = "all")]
    pub node: Option<String>,
    /// Verify every device whose reset method resolves (with progress on a terminal).
    #[arg(long, conflicts_with = "node")]
    pub all: bool,
    /// With --all: enabled devices only.
    #[arg(long, requires = "all")]
    pub okay: bool,
    /// Inject a fault (repeatable); see the list below.
    #[arg(long = "fault", value_name = "KIND")]
    pub faults: Vec<FaultArg>,
    /// Wait between assert and deassert when a controller has no reset sequence of its own
    /// (microseconds, at most 1000000).
    #[arg(long, value_name = "US", default_value_t = DEFAULT_PULSE_US,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(platreset_reset::MAX_PULSE_US)))]
    pub pulse_us: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// After a PASS, record it as allowlist evidence in FILE (created when absent): an entry for
    /// the device's first compatible on this machine, which --allowlist FILE then applies
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub record_evidence: Option<PathBuf>,
    /// The policy whose verdict is shown beside the result.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// One verification as `verify` prints it: the simulator's report beside the policy's verdict.
/// Its JSON (`--format json`, and each of `--all`'s results) is a stable shape; the text is
/// rendered from the same fields.
struct Verified {
    file: String,
    node: String,
    faults: Vec<String>,
    report: Report,
    verdict: Verdict,
}

impl Verified {
    fn new(file: &str, node: &str, faults: &[Fault], verdict: Verdict, report: Report) -> Verified {
        let faults = faults.iter().map(|f| fault_name(*f)).collect();
        Verified { file: file.to_string(), node: node.to_string(), faults, report, verdict }
    }

    /// The failed checks as `check: evidence`.
    fn failures(&self) -> Vec<String> {
        self.report.checks.iter().filter(|c| !c.pass).map(|c| format!("{}: {}", c.name, c.evidence)).collect()
    }
}

impl Serialize for Verified {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Check<'a> {
            check: &'a str,
            pass: bool,
            evidence: &'a str,
        }
        #[derive(Serialize)]
        struct Ticks {
            reset_start: u64,
            reset_done: u64,
            end: u64,
        }
        struct Ops<'a>(&'a [platreset_reset::MmioOp]);
        impl Serialize for Ops<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(crate::json::op))
            }
        }
        let r = &self.report;
        let mut doc = serializer.serialize_struct("Verified", 11)?;
        doc.serialize_field("file", &self.file)?;
        doc.serialize_field("node", &self.node)?;
        doc.serialize_field("method", r.reset_by.as_str())?;
        doc.serialize_field("model", MODEL_VERSION)?;
        doc.serialize_field("faults", &self.faults)?;
        doc.serialize_field("pass", &r.pass())?;
        let checks: Vec<Check<'_>> =
            r.checks.iter().map(|c| Check { check: c.name, pass: c.pass, evidence: &c.evidence }).collect();
        doc.serialize_field("checks", &checks)?;
        doc.serialize_field("collateral", &r.collateral)?;
        doc.serialize_field(
            "ticks",
            &Ticks { reset_start: r.reset_start, reset_done: r.reset_done, end: r.end },
        )?;
        doc.serialize_field("ops", &Ops(&r.ops))?;
        doc.serialize_field("verdict", &self.verdict)?;
        doc.end()
    }
}

fn text(v: &Verified, out: &mut dyn Out) -> std::io::Result<()> {
    let r = &v.report;
    writeln!(out, "verify {} ({}): method {}, on {MODEL_VERSION}", v.node, v.file, r.reset_by.as_str())?;
    writeln!(out, "  faults: {}", if v.faults.is_empty() { "none".into() } else { v.faults.join(", ") })?;
    writeln!(
        out,
        "  DMA and interrupt running from 0 us; reset from {} us to {} us ({} access(es)); run on to {} us",
        r.reset_start,
        r.reset_done,
        r.ops.len(),
        r.end
    )?;
    for c in &r.checks {
        let (mark, style) = if c.pass { ("pass", Style::Good) } else { ("FAIL", Style::Bad) };
        write!(out, "  [")?;
        out.paint(style, mark)?;
        writeln!(out, "] {}: {}", c.name, c.evidence)?;
    }
    let verdict = if v.verdict.eligible() {
        "eligible".to_string()
    } else {
        let reasons: Vec<String> = v.verdict.reasons.iter().map(ToString::to_string).collect();
        format!("refused: {}", reasons.join("; "))
    };
    write!(out, "Result: ")?;
    if r.pass() {
        out.paint(Style::Good, "PASS")?;
        writeln!(out, " — the reset quiesces the device on the simulator model")?;
    } else {
        out.paint(Style::Bad, "FAIL")?;
        writeln!(out)?;
    }
    writeln!(out, "Policy verdict (unchanged by verify): {verdict}")
}

/// One line about a verification, for the demo: whether it passed, and the evidence of the
/// failed checks (or of the DMA check when all passed).
pub(crate) fn summary_of(
    blob: &[u8],
    file: &str,
    spec: &str,
    faults: &[Fault],
    policy: &platreset_policy::policy::Policy,
) -> Result<(bool, String), CliError> {
    let fdt = Fdt::parse(blob).map_err(|source| CliError::Dtb { file: file.to_string(), source })?;
    let node = fdt.resolve(spec).map_err(|source| CliError::Lookup { file: file.to_string(), source })?;
    let topology = Topology::build(&fdt);
    let method = Evaluator::new(policy, &topology, &[]).verdict(node.id()).method;
    let report = reset_by(&node.path(), &method)
        .and_then(|by| verify(&topology, node.id(), &by, faults, DEFAULT_PULSE_US, Performer::Resolved))
        .map_err(|e| CliError::Verify(e.to_string()))?;
    let failed: Vec<String> = report.checks.iter().filter(|c| !c.pass).map(|c| c.evidence.clone()).collect();
    let summary = if failed.is_empty() {
        let dma =
            report.checks.iter().find(|c| c.name.starts_with("no DMA write")).map(|c| c.evidence.clone());
        format!("{}; interrupt low; registers at reset values; nothing else reset", dma.unwrap_or_default())
    } else {
        failed.join("; ")
    };
    Ok((report.pass(), summary))
}

/// The simulator's name for the reset the policy resolved; a method it cannot run is an error
/// naming why (no method, or ACPI `_RST`, which platreset does not evaluate).
fn reset_by(node: &str, method: &Method) -> Result<ResetBy, VerifyError> {
    match method {
        Method::Generic => Ok(ResetBy::Lines),
        Method::DeviceSpecific(compatible) => Ok(ResetBy::Handler((*compatible).to_string())),
        Method::None => {
            Err(VerifyError::NoMethod { node: node.to_string(), why: "the policy resolved none".into() })
        }
        Method::Acpi { path } => Err(VerifyError::NotSimulated {
            node: node.to_string(),
            why: format!("its reset is the ACPI method {path}._RST, which platreset does not evaluate"),
        }),
    }
}

/// Runs the command.
pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let faults: Vec<Fault> = args.faults.iter().map(|f| f.0).collect();
    let policy = args.policy.policy(args.pulse_us)?;
    let acpi = args.policy.acpi_devices()?;
    if args.all {
        return run_all(args, &faults, &policy, &acpi);
    }
    if args.okay {
        // clap's `requires` counts --all's default as given: checked here.
        return Err(CliError::Usage(
            "--okay picks the enabled devices of --all; with one NODE it does nothing: add --all or drop --okay".into(),
        ));
    }
    let blob = crate::read::dtb(&args.dtb)?;
    let file = args.dtb.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    let spec = args.node.as_deref().unwrap_or_default();
    let node = fdt.resolve(spec).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
    let topology = Topology::build(&fdt);
    let verdict = Evaluator::new(&policy, &topology, &acpi).verdict(node.id());
    let report = reset_by(&node.path(), &verdict.method)
        .and_then(|by| verify(&topology, node.id(), &by, &faults, args.pulse_us, Performer::Resolved))
        .map_err(|e| CliError::Verify(e.to_string()))?;
    let verified = Verified::new(&file, &node.path(), &faults, verdict, report);
    let mut out = crate::term::stdout(args.format == Format::Text);
    match args.format {
        Format::Json => writeln!(out, "{}", json_line(&verified)?)?,
        Format::Text => text(&verified, &mut out)?,
    }
    out.flush()?;
    if let Some(list) = &args.record_evidence {
        match (verified.report.pass(), faults.is_empty()) {
            (true, true) => {
                let key = crate::evidence::record(list, &args.dtb, &fdt, &node, &verified.report)?;
                eprintln!(
                    "platreset: recorded in {}: {key}, proven on the simulator; use it with --allowlist {}",
                    list.display(),
                    list.display()
                );
            }
            (true, false) => eprintln!(
                "platreset: not recorded in {}: a run with injected faults is no evidence",
                list.display()
            ),
            (false, _) => {
                eprintln!("platreset: not recorded in {}: the verification failed", list.display())
            }
        }
    }
    match verified.failures().len() {
        0 => Ok(()),
        n => Err(CliError::ChecksFailed(format!("{}: {n} check(s) failed", verified.node))),
    }
}

/// One device of `--all`: its result or why it could not be verified.
struct Outcome {
    file: String,
    node: String,
    result: Result<Verified, String>,
}

fn json_line(value: &impl Serialize) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|e| CliError::Refused(format!("cannot write JSON: {e}")))
}

fn run_all(
    args: &VerifyArgs,
    faults: &[Fault],
    policy: &platreset_policy::policy::Policy,
    acpi: &[platreset_acpi::AcpiDevice],
) -> Result<(), CliError> {
    let files = inputs::collect(std::slice::from_ref(&args.dtb))?;
    let progress = if std::io::stderr().is_terminal() && files.len() > 1 {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut outcomes = Vec::new();
    let mut unreadable = 0usize;
    let mut buf = Vec::new();
    for input in &files {
        progress.set_message(input.display.clone());
        let from = if input.from_directory { Source::Walked } else { Source::Named };
        let blob = match crate::read::dtb_into(&input.path, from, input.regular, &mut buf) {
            Ok(n) => &buf[..n],
            Err(e) => {
                eprintln!("platreset: cannot read {}: {e}", input.display);
                unreadable += 1;
                continue;
            }
        };
        let fdt = match Fdt::parse(blob) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("platreset: invalid DTB: {e} ({})", input.display);
                unreadable += 1;
                continue;
            }
        };
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(policy, &topology, acpi);
        let mut targets: Vec<NodeId> = topology.consumers().iter().map(|c| c.node).collect();
        // Devices reset by a handler need no `resets`.
        targets.extend(
            fdt.nodes()
                .filter(|n| {
                    n.compatible().next().is_some_and(|c| {
                        platreset_reset::handlers::COMPATIBLES.iter().any(|h| h.as_bytes() == c)
                    })
                })
                .map(|n| n.id()),
        );
        targets.sort_unstable();
        targets.dedup();
        let mut chosen = Vec::new();
        for id in targets {
            let Some(node) = fdt.node(id) else { continue };
            if args.okay && !node.is_enabled() {
                continue;
            }
            let verdict = evaluator.verdict(id);
            if matches!(verdict.method, Method::None | Method::Acpi { .. }) {
                continue;
            }
            chosen.push((node, verdict));
        }
        // One simulated SoC per file, restored between devices: a build per device made a
        // file of thousands of controllers quadratic.
        let ids: Vec<NodeId> = chosen.iter().map(|(node, _)| node.id()).collect();
        let mut verifier = Verifier::new(&topology, &ids);
        for (node, verdict) in chosen {
            let id = node.id();
            let result = match reset_by(&node.path(), &verdict.method).and_then(|by| match &mut verifier {
                Ok(verifier) => verifier.verify(id, &by, faults, args.pulse_us, Performer::Resolved),
                Err(e) => Err(VerifyError::Sim(e.clone())),
            }) {
                Ok(report) => Ok(Verified::new(&input.display, &node.path(), faults, verdict, report)),
                Err(
                    e @ (VerifyError::NotSimulated { .. }
                    | VerifyError::NoMethod { .. }
                    | VerifyError::Sim(_)),
                ) => Err(e.to_string()),
            };
            outcomes.push(Outcome { file: input.display.clone(), node: node.path(), result });
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let passed = outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|v| v.report.pass())).count();
    let failed = outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|v| !v.report.pass())).count();
    let skipped = outcomes.len() - passed - failed;
    let tallies = Tallies::of(&outcomes);
    let mut out = crate::term::stdout(args.format == Format::Text);
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct NotVerified<'a> {
                file: &'a str,
                node: &'a str,
                not_verified: &'a str,
            }
            #[derive(Serialize)]
            #[serde(untagged)]
            enum Entry<'a> {
                Verified(&'a Verified),
                NotVerified(NotVerified<'a>),
            }
            #[derive(Serialize)]
            struct Summary<'a> {
                files: usize,
                unreadable: usize,
                verified: usize,
                passed: usize,
                failed: usize,
                not_verified: usize,
                /// Added: each failed check with the number of devices failing it, most first.
                failed_checks: Vec<Tally<'a>>,
                /// Added: why devices were not verified, with how many, most first.
                not_verified_reasons: Vec<Tally<'a>>,
            }
            #[derive(Serialize)]
            struct All<'a> {
                model: &'a str,
                results: Vec<Entry<'a>>,
                summary: Summary<'a>,
            }
            let results = outcomes
                .iter()
                .map(|o| match &o.result {
                    Ok(v) => Entry::Verified(v),
                    Err(why) => {
                        Entry::NotVerified(NotVerified { file: &o.file, node: &o.node, not_verified: why })
                    }
                })
                .collect();
            let summary = Summary {
                files: files.len(),
                unreadable,
                verified: passed + failed,
                passed,
                failed,
                not_verified: skipped,
                failed_checks: tallies.checks.clone(),
                not_verified_reasons: tallies.reasons.clone(),
            };
            writeln!(out, "{}", json_line(&All { model: MODEL_VERSION, results, summary })?)?;
        }
        Format::Text => {
            for o in &outcomes {
                match &o.result {
                    Ok(v) if v.report.pass() => {
                        write!(out, "  ")?;
                        out.paint(Style::Good, "pass")?;
                        writeln!(out, "  {} {}", o.file, o.node)?;
                    }
                    Ok(v) => {
                        write!(out, "  ")?;
                        out.paint(Style::Bad, "FAIL")?;
                        writeln!(out, "  {} {}: {}", o.file, o.node, v.failures().join("; "))?;
                    }
                    Err(why) => writeln!(out, "  -     {} {}: not verified: {why}", o.file, o.node)?,
                }
            }
            tallies.text(&mut out)?;
            writeln!(
                out,
                "Summary: {} file(s) ({unreadable} unreadable); {} device(s) verified: {passed} passed, {failed} failed; {skipped} not verified (no model or no method to simulate)",
                files.len(),
                passed + failed
            )?;
        }
    }
    if failed > 0 {
        let unread = match unreadable {
            0 => String::new(),
            n => format!("; {n} of {} input file(s) could not be verified", files.len()),
        };
        return Err(CliError::ChecksFailed(format!("{failed} device(s) failed verification{unread}")));
    }
    if unreadable > 0 {
        return Err(CliError::SomeInputsFailed { done: "verified", failed: unreadable, total: files.len() });
    }
    Ok(())
}

/// A reason and how many devices it applies to.
#[derive(Debug, Clone, Serialize)]
struct Tally<'a> {
    reason: std::borrow::Cow<'a, str>,
    devices: usize,
}

/// A reason with its node paths written as `<node>`, so the same cause on different nodes (and
/// boards) is counted once.
fn generic(reason: &str) -> std::borrow::Cow<'_, str> {
    if !reason.contains('/') {
        return reason.into();
    }
    let words: Vec<String> = reason
        .split(' ')
        .map(|word| match word.strip_prefix('/') {
            // A unit address may hold a comma (`pcie@0,0`): only trailing punctuation ends it.
            Some(_) => {
                let path = word.trim_end_matches([',', ':', ')', ';']);
                format!("<node>{}", &word[path.len()..])
            }
            None => word.to_string(),
        })
        .collect();
    words.join(" ").into()
}

/// `--all`'s failures summarised by reason: what a user fixes first.
struct Tallies<'a> {
    checks: Vec<Tally<'a>>,
    reasons: Vec<Tally<'a>>,
}

/// How many reasons for not verifying the text summary lists (the JSON has them all).
const REASONS_SHOWN: usize = 10;

impl<'a> Tallies<'a> {
    fn of(outcomes: &'a [Outcome]) -> Tallies<'a> {
        let mut checks: std::collections::HashMap<std::borrow::Cow<'a, str>, usize> =
            std::collections::HashMap::new();
        let mut reasons: std::collections::HashMap<std::borrow::Cow<'a, str>, usize> =
            std::collections::HashMap::new();
        for o in outcomes {
            match &o.result {
                Ok(v) => {
                    for c in v.report.checks.iter().filter(|c| !c.pass) {
                        *checks.entry(c.name.into()).or_default() += 1;
                    }
                }
                // The node is the line's own: the reason is what follows it.
                Err(why) => {
                    let reason =
                        why.strip_prefix(o.node.as_str()).and_then(|r| r.strip_prefix(": ")).unwrap_or(why);
                    *reasons.entry(generic(reason)).or_default() += 1;
                }
            }
        }
        let sorted = |map: std::collections::HashMap<std::borrow::Cow<'a, str>, usize>| {
            let mut list: Vec<Tally<'a>> =
                map.into_iter().map(|(reason, devices)| Tally { reason, devices }).collect();
            list.sort_by(|a, b| b.devices.cmp(&a.devices).then(a.reason.cmp(&b.reason)));
            list
        };
        Tallies { checks: sorted(checks), reasons: sorted(reasons) }
    }

    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if !self.checks.is_empty() {
            writeln!(out, "Failed checks, by the number of devices failing them:")?;
            for t in &self.checks {
                writeln!(out, "  {:>6}  {}", t.devices, t.reason)?;
            }
        }
        if !self.reasons.is_empty() {
            writeln!(out, "Not verified, by reason:")?;
            for t in self.reasons.iter().take(REASONS_SHOWN) {
                writeln!(out, "  {:>6}  {}", t.devices, t.reason)?;
            }
            let rest: usize = self.reasons.iter().skip(REASONS_SHOWN).map(|t| t.devices).sum();
            if rest > 0 {
                let others = self.reasons.len() - REASONS_SHOWN;
                writeln!(out, "  {rest:>6}  for {others} other reason(s) (--format json lists them all)")?;
            }
        }
        Ok(())
    }
}
