//! `platreset explain`: why a device may or may not be handed to a VM, rule by rule, with the
//! evidence and what to do next. Its verdict is the policy's, the same object `audit` prints.
//!
//! Owns: the account (JSON, and text rendered from that JSON). Must not: decide anything the
//! policy does not — every pass or fail shown comes from the [`Evaluator`]'s verdict.

use std::borrow::Cow;
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
use platreset_topology::Topology;
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
    Ok(account(&evaluator, &node))
}

/// Runs the command.
pub fn run(args: &ExplainArgs) -> Result<(), CliError> {
    let policy = args.policy.policy(DEFAULT_PULSE_US)?;
    let acpi = args.policy.acpi_devices()?;
    let blob =
        std::fs::read(&args.dtb).map_err(|source| CliError::Input { path: args.dtb.clone(), source })?;
    let file = args.dtb.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    if args.node.starts_with('\\') && args.policy.acpi.is_none() {
        return Err(CliError::Acpi(format!(
            "{} is an ACPI namespace path: pass the tables with --acpi DIR (e.g. /sys/firmware/acpi/tables)",
            args.node
        )));
    }
    let doc = if args.node.starts_with('\\') {
        let device = acpi.iter().find(|d| d.path == args.node).ok_or_else(|| {
            CliError::Acpi(format!("no device {} in the tables (see `platreset acpi DIR`)", args.node))
        })?;
        acpi_account(&policy, device)
    } else {
        let node =
            fdt.resolve(&args.node).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(&policy, &topology, &acpi);
        let mut doc = account(&evaluator, &node);
        if args.group {
            doc["group"] = group_account(&evaluator, node.id());
        }
        doc
    };
    let mut doc = doc;
    doc["file"] = json!(file);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{doc}")?,
        Format::Text => text(&doc, &mut out)?,
    }
    Ok(())
}

/// One rule: failed when the verdict refuses for it, accepted when a refusal was waived.
fn rule(v: &Verdict, number: u8, name: &str, evidence: String) -> Value {
    let refused: Vec<&Reason> = v.reasons.iter().filter(|r| r.rule() == number).collect();
    let waived: Vec<&Reason> = v.warnings.iter().filter(|r| r.rule() == number).collect();
    let texts = |list: &[&Reason]| list.iter().map(|r| r.text()).collect::<Vec<_>>().join("; ");
    let (pass, evidence) = match (refused.is_empty(), waived.is_empty()) {
        (false, _) => (false, texts(&refused)),
        (true, false) => (true, format!("accepted: {}", texts(&waived))),
        (true, true) => (true, evidence),
    };
    json!({"number": number, "rule": name, "pass": pass,
           "accepted_with": waived.iter().filter_map(|r| r.accepted_by()).collect::<Vec<_>>(),
           "evidence": evidence, "fix": refused.first().map(|r| r.fix())})
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
fn push_evidence_rules(rules: &mut Vec<Value>, v: &Verdict, entry: Option<&Entry>, iommus: bool) {
    if v.method != Method::None {
        let name = "the reset is known to stop the device's DMA and interrupts";
        rules.push(rule(v, 4, name, quiescence_evidence(entry)));
    }
    let name = "DMA is confined by an IOMMU, or the device does not master DMA";
    rules.push(rule(v, 5, name, dma_evidence(iommus, entry)));
}

/// The account of a device-tree node.
fn account(e: &Evaluator<'_, '_, '_, '_>, node: &Node<'_, '_>) -> Value {
    let topology = e.topology();
    let fdt = topology.fdt();
    let v = e.verdict(node.id());
    let path_of = |id: NodeId| fdt.node(id).map(|n| n.path()).unwrap_or_default();
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

    let lines: Vec<Value> = consumer
        .map(|c| c.lines())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let (how, driver, why) = match e.line_support(line) {
                LineSupport::Kernel(d) => ("kernel", Some(d), None),
                LineSupport::Pulse(d) => ("pulse", Some(d), None),
                LineSupport::Cannot(why) => ("unsupported", None, Some(why)),
            };
            let others: Vec<Value> = topology
                .users_of(line)
                .filter(|&n| n != node.id())
                .filter_map(|id| fdt.node(id))
                .map(|n| json!({"node": n.path(), "status": String::from_utf8_lossy(n.status())}))
                .collect();
            let shared_with: Vec<&Value> = others.iter().map(|o| &o["node"]).collect();
            json!({"index": i, "controller": path_of(line.controller()), "args": line.args(),
                   "reset": how, "driver": driver, "why": why, "shared_with": shared_with, "sharers": others})
        })
        .collect();
    let error = consumer.and_then(|c| c.resets.as_ref().err()).map(ToString::to_string);

    let iommus = node.property("iommus").is_some();
    let mut rules = vec![rule(&v, 1, "a reset method exists", format!("method {}", v.method.as_str()))];
    if v.method == Method::Generic {
        let drivers: Vec<String> = lines
            .iter()
            .map(|l| {
                format!(
                    "line {}: {} ({})",
                    l["index"],
                    l["reset"].as_str().unwrap_or("?"),
                    l["driver"].as_str().unwrap_or("-")
                )
            })
            .collect();
        rules.push(rule(
            &v,
            2,
            "every reset line resolves and a driver here can reset it",
            drivers.join(", "),
        ));
        rules.push(rule(
            &v,
            3,
            "no reset line is shared with another node",
            "every line is dedicated".into(),
        ));
    }
    push_evidence_rules(&mut rules, &v, entry, iommus);

    let source = e.policy().allowlist.source();
    json!({
        "node": node.path(),
        "status": String::from_utf8_lossy(node.status()),
        "compatible": compatible,
        "method": {"chosen": v.method.as_str(), "considered": considered},
        "lines": lines,
        "error": error,
        "allowlist": entry_json(entry, source),
        "rules": rules,
        "next": next_steps(&v, node),
        "verdict": crate::json::verdict(&v),
    })
}

/// The account of an ACPI device (by namespace path).
fn acpi_account(policy: &Policy, device: &AcpiDevice) -> Value {
    let v = policy::acpi_verdict(policy, device);
    let ids = device.hid.iter().chain(&device.cids).map(String::as_bytes);
    let entry = policy.allowlist.lookup(ids, std::iter::empty::<&[u8]>());
    let rst_why = if device.rst {
        "the device has a _RST method: vfio-platform evaluates it".to_string()
    } else if device.prr {
        "no _RST (a _PRR power-resource reset exists, which vfio-platform does not use)".to_string()
    } else {
        "no _RST method in the device's scope".to_string()
    };
    let mut rules = vec![rule(&v, 1, "a reset method exists", format!("method {}", v.method.as_str()))];
    // An ACPI device's IOMMU mapping is in the IORT, which is not read: never "has iommus".
    push_evidence_rules(&mut rules, &v, entry, false);
    json!({
        "node": device.path,
        "status": "okay",
        "compatible": device.hid.iter().chain(&device.cids).collect::<Vec<_>>(),
        "method": {"chosen": v.method.as_str(), "considered": [
            {"method": "acpi", "found": device.rst, "why": rst_why},
            {"method": "device-specific", "found": false, "why": "an ACPI device: vfio-platform looks up handlers only for device-tree devices"},
            {"method": "generic", "found": false, "why": "an ACPI device has no resets property"}]},
        "lines": [],
        "error": null,
        "allowlist": entry_json(entry, policy.allowlist.source()),
        "rules": rules,
        "next": v.reasons.iter().map(|r| r.fix()).collect::<Vec<_>>(),
        "verdict": crate::json::verdict(&v),
    })
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
    // The kernel names a DT platform device "<translated address in hex>.<node name>".
    let name = node.name();
    let base = String::from_utf8_lossy(name.split(|&b| b == b'@').next().unwrap_or(name)).into_owned();
    let device = match node.reg_cpu().ok().and_then(|r| r.first().copied()) {
        Some(r) => format!("{:x}.{base}", r.address),
        None => base,
    };
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

fn text(doc: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{} ({})", s(&doc["node"]), s(&doc["file"]))?;
    let compatible = list(&doc["compatible"]);
    writeln!(
        out,
        "  compatible: {}",
        if compatible.is_empty() { "-".into() } else { compatible.join(", ") }
    )?;
    writeln!(out, "  status: {}", s(&doc["status"]))?;
    writeln!(out, "\nReset method, in the kernel's order: {}", s(&doc["method"]["chosen"]))?;
    for m in doc["method"]["considered"].as_array().into_iter().flatten() {
        let mark = if m["found"] == true { "yes" } else { "no " };
        writeln!(out, "  [{mark}] {:<16} {}", s(&m["method"]), s(&m["why"]))?;
    }
    if let Some(lines) = doc["lines"].as_array().filter(|l| !l.is_empty()) {
        writeln!(out, "\nReset lines:")?;
        for l in lines {
            let args = list(&l["args"]);
            let how = match (l["driver"].as_str(), l["why"].as_str()) {
                (Some(d), _) => format!("{} (driver {d})", s(&l["reset"])),
                (None, Some(why)) => format!("cannot: {why}"),
                (None, None) => s(&l["reset"]).into_owned(),
            };
            writeln!(out, "  {}: {} <{}>: {how}", l["index"], s(&l["controller"]), args.join(" "))?;
            let sharers: Vec<String> = l["sharers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| format!("{} ({})", s(&o["node"]), s(&o["status"])))
                .collect();
            if !sharers.is_empty() {
                writeln!(out, "     shared with {}", sharers.join(", "))?;
            }
        }
    }
    if let Some(error) = doc["error"].as_str() {
        writeln!(out, "\nresets cannot be resolved: {error}")?;
    }
    writeln!(out, "\nRules:")?;
    for r in doc["rules"].as_array().into_iter().flatten() {
        let mark = match (r["pass"] == true, r["accepted_with"].as_array().is_some_and(|a| !a.is_empty())) {
            (false, _) => "FAIL",
            (true, true) => "warn",
            (true, false) => "pass",
        };
        writeln!(out, "  [{mark}] {}. {}: {}", r["number"], s(&r["rule"]), s(&r["evidence"]))?;
        if let Some(fix) = r["fix"].as_str() {
            writeln!(out, "         fix: {fix}")?;
        }
    }
    if let Some(note) = doc["allowlist"]["note"].as_str() {
        writeln!(out, "  allowlist note ({}): {note}", s(&doc["allowlist"]["key"]))?;
    }
    if doc["group"].is_object() {
        let g = &doc["group"];
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
    let verdict = &doc["verdict"];
    let eligible = verdict["eligible"] == true;
    writeln!(
        out,
        "\nVerdict: {}",
        if eligible { "eligible: the device may be handed to a VM" } else { "refused" }
    )?;
    for w in list(&verdict["warnings"]) {
        writeln!(out, "  warning (accepted): {w}")?;
    }
    let next = list(&doc["next"]);
    if !next.is_empty() {
        writeln!(out, "\nNext:")?;
        for step in next {
            writeln!(out, "  {step}")?;
        }
    }
    Ok(())
}
