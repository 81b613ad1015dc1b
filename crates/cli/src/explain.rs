//! `platreset explain`: why a device may or may not be handed to a VM, rule by rule, with the
//! evidence and what to do next. Its verdict is the policy's, the same object `audit` prints.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_fdt::Fdt;
use platreset_reset::perform::support;
use platreset_reset::DEFAULT_PULSE_US;
use platreset_topology::Topology;
use platreset_vfio::policy::{self, Method, Reason};
use serde_json::json;

use crate::error::CliError;

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
pub struct ExplainArgs {
    /// The device tree (DTB file).
    pub dtb: PathBuf,
    /// The device: a path, a label (&sdhi0 or sdhi0) or an alias (mmc0).
    pub node: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the command.
pub fn run(args: &ExplainArgs) -> Result<(), CliError> {
    let blob =
        std::fs::read(&args.dtb).map_err(|source| CliError::Input { path: args.dtb.clone(), source })?;
    let file = args.dtb.display().to_string();
    let fdt = Fdt::parse(&blob).map_err(|source| CliError::Dtb { file: file.clone(), source })?;
    let node = fdt.resolve(&args.node).map_err(|source| CliError::Lookup { file: file.clone(), source })?;
    let topology = Topology::build(&fdt);
    let verdict = policy::verdict(&topology, node.id());
    let compatible: Vec<String> =
        node.compatible().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let consumer = topology.consumer(node.id());
    let path_of = |id| fdt.node(id).map(|n| n.path()).unwrap_or_default();

    // The methods in the kernel's order, each with why it was or was not chosen.
    let first = compatible.first().cloned().unwrap_or_default();
    let handler = policy_handler(&first);
    let considered = vec![
        json!({"method": "acpi", "found": false,
               "why": "a device-tree device: vfio-platform looks for ACPI _RST only on ACPI devices (see `platreset acpi`)"}),
        json!({"method": "device-specific", "found": handler.is_some(),
        "why": match handler {
            Some(h) => format!("a handler is registered for the first compatible \"{h}\""),
            None => format!("no handler is registered for the first compatible \"{first}\" (only calxeda,hb-xgmac, amd,xgbe-seattle-v1a and brcm,iproc-flexrm-mbox have one)"),
        }}),
        json!({"method": "generic", "found": consumer.is_some(),
               "why": if consumer.is_some() { "the node has resets".to_string() } else { "the node has no resets property".to_string() }}),
    ];

    let lines: Vec<serde_json::Value> = consumer
        .map(|c| c.lines())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let controller = fdt.node(line.controller());
            let (how, driver) = match controller.map(|c| support(&c, DEFAULT_PULSE_US)) {
                Some((s, _)) => (s.as_str(), s.driver()),
                None => ("unsupported", None),
            };
            let others: Vec<String> =
                topology.users_of(line).filter(|&n| n != node.id()).map(path_of).collect();
            json!({"index": i, "controller": path_of(line.controller()), "args": line.args(),
                   "reset": how, "driver": driver, "shared_with": others})
        })
        .collect();
    let error = consumer.and_then(|c| c.resets.as_ref().err()).map(ToString::to_string);

    let failed = |pred: &dyn Fn(&Reason) -> bool| verdict.reasons.iter().find(|r| pred(r));
    let rule = |name: &str, reason: Option<&Reason>, evidence: String| {
        json!({"rule": name, "pass": reason.is_none(), "evidence": reason.map_or(evidence, |r| r.text().into_owned()),
               "fix": reason.map(Reason::fix)})
    };
    let mut rules = vec![rule(
        "a reset method exists",
        failed(&|r| matches!(r, Reason::NoReset)),
        format!("method {}", verdict.method.as_str()),
    )];
    if verdict.method == Method::Generic {
        rules.push(rule(
            "every reset specifier resolves",
            failed(&|r| matches!(r, Reason::Unresolvable)),
            format!("{} line(s) resolved", lines.len()),
        ));
        let shared: Vec<&Reason> =
            verdict.reasons.iter().filter(|r| matches!(r, Reason::SharedLine { .. })).collect();
        let shared_rule = json!({"rule": "no reset line is shared with another node", "pass": shared.is_empty(),
            "evidence": if shared.is_empty() { "every line is dedicated".to_string() } else { shared.iter().map(|r| r.text()).collect::<Vec<_>>().join("; ") },
            "fix": shared.first().map(|r| r.fix())});
        rules.push(shared_rule);
    }
    rules.push(rule(
        "DMA is confined by an IOMMU",
        failed(&|r| matches!(r, Reason::NoIommu)),
        "the node has iommus".to_string(),
    ));

    let doc = json!({
        "file": file,
        "node": node.path(),
        "status": String::from_utf8_lossy(node.status()),
        "compatible": compatible,
        "method": {"chosen": verdict.method.as_str(), "considered": considered},
        "lines": lines,
        "error": error,
        "rules": rules,
        "verdict": {"eligible": verdict.eligible(), "method": verdict.method.as_str(),
                    "reasons": verdict.reasons.iter().map(|r| r.text()).collect::<Vec<_>>()},
    });
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{doc}")?,
        Format::Text => text(&doc, &mut out)?,
    }
    Ok(())
}

fn policy_handler(compatible: &str) -> Option<&'static str> {
    platreset_vfio::handlers::handler_for(compatible).map(|h| h.compatible())
}

fn text(doc: &serde_json::Value, out: &mut dyn Write) -> std::io::Result<()> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    writeln!(out, "{} ({})", s(&doc["node"]), s(&doc["file"]))?;
    let compatible: Vec<String> = doc["compatible"].as_array().into_iter().flatten().map(s).collect();
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
            let args: Vec<String> =
                l["args"].as_array().into_iter().flatten().map(|a| a.to_string()).collect();
            let driver = l["driver"].as_str().map(|d| format!(", driver {d}")).unwrap_or_default();
            writeln!(
                out,
                "  {}: {} <{}>: platreset resets it: {}{driver}",
                l["index"],
                s(&l["controller"]),
                args.join(" "),
                s(&l["reset"])
            )?;
            let others: Vec<String> = l["shared_with"].as_array().into_iter().flatten().map(s).collect();
            if !others.is_empty() {
                writeln!(out, "     shared with {}", others.join(", "))?;
            }
        }
    }
    if let Some(error) = doc["error"].as_str() {
        writeln!(out, "\nresets cannot be resolved: {error}")?;
    }
    writeln!(out, "\nRules:")?;
    for r in doc["rules"].as_array().into_iter().flatten() {
        let mark = if r["pass"] == true { "pass" } else { "FAIL" };
        writeln!(out, "  [{mark}] {}: {}", s(&r["rule"]), s(&r["evidence"]))?;
        if let Some(fix) = r["fix"].as_str() {
            writeln!(out, "         fix: {fix}")?;
        }
    }
    let eligible = doc["verdict"]["eligible"] == true;
    writeln!(
        out,
        "\nVerdict: {}",
        if eligible { "eligible: the device may be handed to a VM" } else { "refused" }
    )?;
    Ok(())
}
