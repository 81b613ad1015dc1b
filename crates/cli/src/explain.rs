//! `platreset explain`: why a device may or may not be handed to a VM, rule by rule, with the
//! evidence and what to do next. Its verdict is the policy's, the same object `audit` prints.
//!
//! Owns: the account (JSON, and text rendered from that JSON). Must not: decide anything the
//! policy does not — every pass or fail shown comes from the [`Evaluator`]'s verdict.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_acpi::AcpiDevice;
use platreset_fdt::{Fdt, Node, NodeId};
use platreset_policy::allowlist::Entry;
use platreset_policy::group::Group;
use platreset_policy::policy::{self, Evaluator, LineSupport, Method, Policy, Reason, Verdict};
use platreset_reset::handlers::COMPATIBLES;
use platreset_reset::DEFAULT_PULSE_US;
use platreset_topology::{ResetLine, Topology, SHARERS_NAMED};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::policy_args::PolicyArgs;

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

/// The account of `spec` in a DTB already in memory, as `explain --format json` prints it.
pub(crate) fn account_of(blob: &[u8], file: &str, spec: &str, policy: &Policy) -> Result<Value, CliError> {
    let fdt = Fdt::parse(blob).map_err(|source| CliError::Dtb { file: file.to_string(), source })?;
    let node = fdt.resolve(spec).map_err(|source| CliError::Lookup { file: file.to_string(), source })?;
    let topology = Topology::build(&fdt);
    let evaluator = Evaluator::new(policy, &topology, &[]);
    let verdict = evaluator.verdict(node.id());
    serde_json::to_value(account(&evaluator, &node, &verdict)).map_err(|e| CliError::Refused(e.to_string()))
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
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.node.starts_with('\\') {
        let device = acpi.iter().find(|d| d.path == args.node).ok_or_else(|| {
            CliError::Acpi(format!("no device {} in the tables (see `platreset acpi DIR`)", args.node))
        })?;
        let verdict = policy::acpi_verdict(&policy, device);
        let mut doc = acpi_account(&policy, device, &verdict);
        doc.file = Some(file);
        write(&doc, args.format, &mut out)?;
    } else {
        let node =
            fdt.resolve(&args.node).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(&policy, &topology, &acpi);
        let verdict = evaluator.verdict(node.id());
        let mut doc = account(&evaluator, &node, &verdict);
        if args.group {
            doc.group = Some(group_account(&evaluator, node.id()));
        }
        doc.file = Some(file);
        write(&doc, args.format, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

fn write(doc: &Account<'_>, format: Format, out: &mut dyn Write) -> Result<(), CliError> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => text(doc, out)?,
    }
    Ok(())
}

/// The account of one device, as printed: the small parts built, the per-line parts (a node
/// may list 300,000 lines) produced while they are written, so memory stays that of the tree
/// and the verdict.
#[derive(Serialize)]
struct Account<'x> {
    node: String,
    status: String,
    compatible: Vec<String>,
    method: Value,
    lines: Lines<'x>,
    error: Option<String>,
    allowlist: Value,
    rules: Vec<Rule<'x>>,
    next: Vec<String>,
    #[serde(serialize_with = "verdict_json")]
    verdict: &'x Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

/// The verdict object `audit` prints (crate::json::verdict's shape), reasons written one by one.
fn verdict_json<S: Serializer>(v: &&Verdict, serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(4))?;
    map.serialize_entry("eligible", &v.eligible())?;
    map.serialize_entry("method", v.method.as_str())?;
    map.serialize_entry("reasons", &Texts(&v.reasons))?;
    map.serialize_entry("warnings", &Texts(&v.warnings))?;
    map.end()
}

/// Reasons as a JSON array of their texts.
struct Texts<'x>(&'x [Reason]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|r| r.text()))
    }
}

/// A device's reset lines, each described when it is written.
#[derive(Clone, Copy)]
struct Lines<'x> {
    evaluator: Option<&'x Evaluator<'x, 'x, 'x, 'x>>,
    node: Option<NodeId>,
    lines: &'x [ResetLine],
}

impl<'x> Lines<'x> {
    fn none() -> Lines<'x> {
        Lines { evaluator: None, node: None, lines: &[] }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = LineAccount<'x>> + 'x {
        let (evaluator, node, lines) = (self.evaluator, self.node, self.lines);
        lines
            .iter()
            .enumerate()
            .filter_map(move |(index, line)| Some(line_account(evaluator?, node?, index, line)))
    }
}

impl Serialize for Lines<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One reset line: how platreset resets it, and who else uses it (the first
/// [`SHARERS_NAMED`] in document order, and how many).
#[derive(Serialize)]
struct LineAccount<'x> {
    index: usize,
    controller: Cow<'x, str>,
    args: &'x [u32],
    reset: &'static str,
    driver: Option<&'static str>,
    why: Option<String>,
    shared_with: Vec<Cow<'x, str>>,
    sharers: Vec<Sharer<'x>>,
    shared_with_count: usize,
    shared_with_truncated: bool,
}

#[derive(Serialize)]
struct Sharer<'x> {
    node: Cow<'x, str>,
    status: String,
}

fn line_account<'x>(
    e: &'x Evaluator<'x, 'x, 'x, 'x>,
    node: NodeId,
    index: usize,
    line: &'x ResetLine,
) -> LineAccount<'x> {
    let topology = e.topology();
    let (reset, driver, why) = match e.line_support(line) {
        LineSupport::Kernel(d) => ("kernel", Some(d), None),
        LineSupport::Pulse(d) => ("pulse", Some(d), None),
        LineSupport::Cannot(why) => ("unsupported", None, Some(why)),
    };
    let count = topology.other_users(line, node);
    let sharers: Vec<Sharer<'x>> = topology
        .users_of(line)
        .filter(|&n| n != node)
        .take(SHARERS_NAMED)
        .filter_map(|id| topology.node(id).map(|n| (id, n)))
        .map(|(id, n)| Sharer { node: e.path(id), status: String::from_utf8_lossy(n.status()).into_owned() })
        .collect();
    LineAccount {
        index,
        controller: e.path(line.controller()),
        args: line.args(),
        reset,
        driver,
        why,
        shared_with: sharers.iter().map(|s| s.node.clone()).collect(),
        shared_with_count: count,
        shared_with_truncated: count > sharers.len(),
        sharers,
    }
}

/// One rule of the account.
#[derive(Serialize)]
struct Rule<'x> {
    number: u8,
    rule: &'static str,
    pass: bool,
    accepted_with: Vec<&'static str>,
    #[serde(serialize_with = "display")]
    evidence: Evidence<'x>,
    fix: Option<&'static str>,
}

fn display<S: Serializer>(evidence: &Evidence<'_>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(evidence)
}

/// What a rule rests on, written when printed (a refusal per line makes it long).
enum Evidence<'x> {
    /// Words.
    Text(String),
    /// The reasons that fail the rule, or (prefixed "accepted: ") the waived ones.
    Reasons { reasons: Vec<&'x Reason>, accepted: bool },
    /// How each line is reset ("line 0: kernel (driver), …").
    Drivers(Lines<'x>),
}

impl fmt::Display for Evidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Text(text) => f.write_str(text),
            Evidence::Reasons { reasons, accepted } => {
                if *accepted {
                    f.write_str("accepted: ")?;
                }
                for (i, r) in reasons.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    f.write_str(&r.text())?;
                }
                Ok(())
            }
            Evidence::Drivers(lines) => {
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "line {}: {} ({})", l.index, l.reset, l.driver.unwrap_or("-"))?;
                }
                Ok(())
            }
        }
    }
}

/// One rule: failed when the verdict refuses for it, accepted when a refusal was waived.
fn rule<'x>(v: &'x Verdict, number: u8, name: &'static str, evidence: Evidence<'x>) -> Rule<'x> {
    let refused: Vec<&Reason> = v.reasons.iter().filter(|r| r.rule() == number).collect();
    let waived: Vec<&Reason> = v.warnings.iter().filter(|r| r.rule() == number).collect();
    let accepted_with = waived.iter().filter_map(|r| r.accepted_by()).collect();
    let fix = refused.first().map(|r| r.fix());
    let (pass, evidence) = match (refused.is_empty(), waived.is_empty()) {
        (false, _) => (false, Evidence::Reasons { reasons: refused, accepted: false }),
        (true, false) => (true, Evidence::Reasons { reasons: waived, accepted: true }),
        (true, true) => (true, evidence),
    };
    Rule { number, rule: name, pass, accepted_with, evidence, fix }
}

fn entry_json(entry: Option<&Entry>, source: &str) -> Value {
    entry.map_or(Value::Null, |e| {
        json!({"key": e.key(), "dma": e.dma, "source": source,
               "quiescence": e.quiescence.as_ref().map(|q| json!({"kind": q.kind(), "text": q.to_string()})),
               "note": e.note})
    })
}

fn quiescence_evidence(entry: Option<&Entry>) -> String {
    match entry.and_then(|e| e.quiescence.as_ref()) {
        Some(q) => q.to_string(),
        None => "no reset, nothing to prove".into(),
    }
}

fn dma_evidence(iommus: bool, entry: Option<&Entry>) -> String {
    match (iommus, entry) {
        (true, _) => "the node has iommus".into(),
        (false, Some(e)) if !e.dma => format!("the allowlist records {} as not mastering DMA", e.key()),
        _ => String::new(),
    }
}

/// Rules 4 and 5, which read the allowlist: the same for device-tree and ACPI devices.
fn push_evidence_rules<'x>(rules: &mut Vec<Rule<'x>>, v: &'x Verdict, entry: Option<&Entry>, iommus: bool) {
    if v.method != Method::None {
        let name = "the reset is known to stop the device's DMA and interrupts";
        rules.push(rule(v, 4, name, Evidence::Text(quiescence_evidence(entry))));
    }
    let name = "DMA is confined by an IOMMU, or the device does not master DMA";
    rules.push(rule(v, 5, name, Evidence::Text(dma_evidence(iommus, entry))));
}

/// The account of a device-tree node, on the policy's verdict `v` about it.
fn account<'x>(e: &'x Evaluator<'x, 'x, 'x, 'x>, node: &Node<'_, '_>, v: &'x Verdict) -> Account<'x> {
    let topology = e.topology();
    let compatible: Vec<String> =
        node.compatible().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let first = compatible.first().cloned().unwrap_or_default();
    let consumer = topology.consumer(node.id());
    let companion = e.companion(node.id());
    let entry = e.allowlist_entry(node.id());

    // The methods in the kernel's order, each with why it was or was not chosen.
    let acpi_why = match companion {
        Some(d) if d.rst => format!("the ACPI companion {} (same MMIO) has _RST: vfio-platform evaluates it", d.path),
        Some(d) => format!("the ACPI companion {} (same MMIO) has no _RST; vfio-platform resets ACPI devices only through _RST and looks no further", d.path),
        None => "no ACPI companion: a device-tree device (pass --acpi DIR for a host with ACPI tables)".into(),
    };
    let handler = COMPATIBLES.iter().find(|c| **c == first);
    let handler_why = match handler {
        Some(h) => format!("a handler is registered for the first compatible \"{h}\""),
        None => format!(
            "no handler is registered for the first compatible \"{first}\" (only {} have one)",
            COMPATIBLES.join(", ")
        ),
    };
    let considered = json!([
        {"method": "acpi", "found": companion.is_some_and(|d| d.rst), "why": acpi_why},
        {"method": "device-specific", "found": handler.is_some() && companion.is_none(), "why": handler_why},
        {"method": "generic", "found": consumer.is_some() && handler.is_none() && companion.is_none(),
         "why": if consumer.is_some() { "the node has resets" } else { "the node has no resets property" }},
    ]);

    let lines = Lines {
        evaluator: Some(e),
        node: Some(node.id()),
        lines: topology.consumer(node.id()).map(|c| c.lines()).unwrap_or_default(),
    };
    let error = consumer.and_then(|c| c.resets.as_ref().err()).map(ToString::to_string);

    let iommus = node.property("iommus").is_some();
    let mut rules =
        vec![rule(v, 1, "a reset method exists", Evidence::Text(format!("method {}", v.method.as_str())))];
    if v.method == Method::Generic {
        let name = "every reset line resolves and a driver here can reset it";
        rules.push(rule(v, 2, name, Evidence::Drivers(lines)));
        let name = "no reset line is shared with another node";
        rules.push(rule(v, 3, name, Evidence::Text("every line is dedicated".into())));
    }
    push_evidence_rules(&mut rules, v, entry, iommus);

    let source = e.policy().allowlist.source();
    Account {
        node: node.path(),
        status: String::from_utf8_lossy(node.status()).into_owned(),
        compatible,
        method: json!({"chosen": v.method.as_str(), "considered": considered}),
        lines,
        error,
        allowlist: entry_json(entry, source),
        rules,
        next: next_steps(v, node),
        verdict: v,
        group: None,
        file: None,
    }
}

/// The account of an ACPI device (by namespace path), on the policy's verdict `v` about it.
fn acpi_account<'x>(policy: &Policy, device: &AcpiDevice, v: &'x Verdict) -> Account<'x> {
    let ids = device.hid.iter().chain(&device.cids).map(String::as_bytes);
    let entry = policy.allowlist.lookup(ids, std::iter::empty::<&[u8]>());
    let rst_why = if device.rst {
        "the device has a _RST method: vfio-platform evaluates it".to_string()
    } else if device.prr {
        "no _RST (a _PRR power-resource reset exists, which vfio-platform does not use)".to_string()
    } else {
        "no _RST method in the device's scope".to_string()
    };
    let mut rules =
        vec![rule(v, 1, "a reset method exists", Evidence::Text(format!("method {}", v.method.as_str())))];
    // An ACPI device's IOMMU mapping is in the IORT, which is not read: never "has iommus".
    push_evidence_rules(&mut rules, v, entry, false);
    Account {
        node: device.path.clone(),
        status: "okay".into(),
        compatible: device.hid.iter().chain(&device.cids).cloned().collect(),
        method: json!({"chosen": v.method.as_str(), "considered": [
            {"method": "acpi", "found": device.rst, "why": rst_why},
            {"method": "device-specific", "found": false, "why": "an ACPI device: vfio-platform looks up handlers only for device-tree devices"},
            {"method": "generic", "found": false, "why": "an ACPI device has no resets property"}]}),
        lines: Lines::none(),
        error: None,
        allowlist: entry_json(entry, policy.allowlist.source()),
        rules,
        next: v.reasons.iter().map(|r| r.fix().to_string()).collect(),
        verdict: v,
        group: None,
        file: None,
    }
}

/// What to do next: each refusal's fix, or, for an eligible device, how vfio-platform takes it.
fn next_steps(v: &Verdict, node: &Node<'_, '_>) -> Vec<String> {
    if !v.eligible() {
        let mut steps: Vec<String> = Vec::new();
        for fix in v.reasons.iter().map(Reason::fix) {
            if !steps.iter().any(|s| s == fix) {
                steps.push(fix.to_string());
            }
        }
        return steps;
    }
    // The name the kernel gives its platform device (of_device_make_bus_id's rule).
    let device = node.platform_device_name().unwrap_or_else(|| node.name_lossy().into_owned());
    vec![
        format!("echo vfio-platform > /sys/bus/platform/devices/{device}/driver_override"),
        format!("echo {device} > /sys/bus/platform/devices/{device}/driver/unbind"),
        format!("echo {device} > /sys/bus/platform/drivers_probe"),
    ]
}

fn group_account(e: &Evaluator<'_, '_, '_, '_>, node: NodeId) -> Value {
    let fdt = e.topology().fdt();
    let path_of = |id: NodeId| fdt.node(id).map(|n| n.path()).unwrap_or_default();
    let group = Group::of(e.topology(), node);
    let gv = e.group_verdict(&group);
    let members: Vec<Value> = gv
        .assign
        .iter()
        .map(|(id, v)| json!({"node": path_of(*id), "verdict": crate::json::verdict(v)}))
        .collect();
    json!({"members": members, "also_reset": gv.also_reset.iter().map(|&id| path_of(id)).collect::<Vec<_>>(),
           "eligible": gv.eligible(), "single": group.is_single()})
}

fn s(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

fn list(v: &Value) -> Vec<Cow<'_, str>> {
    v.as_array().into_iter().flatten().map(s).collect()
}

fn text(doc: &Account<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{} ({})", doc.node, doc.file.as_deref().unwrap_or_default())?;
    let compatible = if doc.compatible.is_empty() { "-".into() } else { doc.compatible.join(", ") };
    writeln!(out, "  compatible: {compatible}")?;
    writeln!(out, "  status: {}", doc.status)?;
    writeln!(out, "\nReset method, in the kernel's order: {}", s(&doc.method["chosen"]))?;
    for m in doc.method["considered"].as_array().into_iter().flatten() {
        let mark = if m["found"] == true { "yes" } else { "no " };
        writeln!(out, "  [{mark}] {:<16} {}", s(&m["method"]), s(&m["why"]))?;
    }
    if !doc.lines.is_empty() {
        writeln!(out, "\nReset lines:")?;
        for l in doc.lines.iter() {
            let args: Vec<String> = l.args.iter().map(u32::to_string).collect();
            let how = match (l.driver, &l.why) {
                (Some(d), _) => format!("{} (driver {d})", l.reset),
                (None, Some(why)) => format!("cannot: {why}"),
                (None, None) => l.reset.to_string(),
            };
            writeln!(out, "  {}: {} <{}>: {how}", l.index, l.controller, args.join(" "))?;
            let sharers: Vec<String> =
                l.sharers.iter().map(|o| format!("{} ({})", o.node, o.status)).collect();
            if l.shared_with_truncated {
                let more = l.shared_with_count - sharers.len();
                writeln!(out, "     shared with {} and {more} more", sharers.join(", "))?;
            } else if !sharers.is_empty() {
                writeln!(out, "     shared with {}", sharers.join(", "))?;
            }
        }
    }
    if let Some(error) = &doc.error {
        writeln!(out, "\nresets cannot be resolved: {error}")?;
    }
    writeln!(out, "\nRules:")?;
    for r in &doc.rules {
        let mark = match (r.pass, !r.accepted_with.is_empty()) {
            (false, _) => "FAIL",
            (true, true) => "warn",
            (true, false) => "pass",
        };
        writeln!(out, "  [{mark}] {}. {}: {}", r.number, r.rule, r.evidence)?;
        if let Some(fix) = r.fix {
            writeln!(out, "         fix: {fix}")?;
        }
    }
    if let Some(note) = doc.allowlist["note"].as_str() {
        writeln!(out, "  allowlist note ({}): {note}", s(&doc.allowlist["key"]))?;
    }
    if let Some(g) = doc.group.as_ref().filter(|g| g.is_object()) {
        writeln!(out, "\nGroup (devices sharing reset lines, assigned together):")?;
        if g["single"] == true {
            writeln!(out, "  none: this device shares no line")?;
        }
        for m in g["members"].as_array().into_iter().flatten() {
            let v = &m["verdict"];
            let verdict = if v["eligible"] == true {
                "eligible".into()
            } else {
                format!("refused: {}", list(&v["reasons"]).join("; "))
            };
            writeln!(out, "  {}: {verdict}", s(&m["node"]))?;
        }
        let also = list(&g["also_reset"]);
        if !also.is_empty() {
            writeln!(out, "  also reset (disabled, not assigned): {}", also.join(", "))?;
        }
        let verdict = if g["eligible"] == true { "the group may be handed to one VM" } else { "refused" };
        writeln!(out, "  group verdict: {verdict}")?;
    }
    writeln!(
        out,
        "\nVerdict: {}",
        if doc.verdict.eligible() { "eligible: the device may be handed to a VM" } else { "refused" }
    )?;
    for w in &doc.verdict.warnings {
        writeln!(out, "  warning (accepted): {w}")?;
    }
    if !doc.next.is_empty() {
        writeln!(out, "\nNext:")?;
        for step in &doc.next {
            writeln!(out, "  {step}")?;
        }
    }
    Ok(())
}
