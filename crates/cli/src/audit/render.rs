//! Rendering audit results: JSONL lines, one JSON document, a table for people, a Graphviz graph.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use platreset_policy::grade::GRADES;
use platreset_policy::policy::service_noun;
use serde::Serialize;
use serde_json::json;

use super::cells;
use super::report::NodeRecord;
use super::FileOutcome;
use crate::term::{Out, Style};

/// The JSONL line of a file that could not be audited.
pub fn jsonl_error(file: &str, error: &str) -> String {
    let mut line = json!({"file": file, "error": error}).to_string();
    line.push('\n');
    line
}

/// Totals over every file.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    files: usize,
    failed: usize,
    nodes: usize,
    enabled: usize,
    sharing: usize,
    unresolvable: usize,
    eligible: usize,
    controllers: usize,
    /// Nodes whose every line platreset can reset (kernel sequence or pulse).
    resettable: usize,
    /// The same among enabled nodes: the coverage figure.
    resettable_enabled: usize,
    /// Per controller compatible (its first string).
    by_compatible: Vec<CompatibleSummary>,
    /// Enabled nodes per grade of rule 4's evidence (every grade named, zeros included).
    evidence_grades: BTreeMap<&'static str, usize>,
    /// Of those with a kernel-driver grade, the ones whose driver takes every line they have.
    evidence_grades_every_line: BTreeMap<&'static str, usize>,
    /// Refused enabled nodes that the options named (together) would make eligible, by the
    /// options: what a user can change without new evidence or new hardware (added).
    eligible_with: BTreeMap<String, usize>,
    /// Refused enabled nodes no policy option makes eligible (an IOMMU, a line of their own, a
    /// reset platreset can perform) (added).
    refused_whatever_the_options: usize,
    /// Nodes with resets that are host infrastructure, no passthrough candidates, by the service
    /// they provide (`power-gate`, …); counted in `nodes`, never in `eligible_with` or
    /// `refused_whatever_the_options` (added).
    infrastructure: BTreeMap<&'static str, usize>,
    /// The same among enabled nodes (added).
    infrastructure_enabled: usize,
}

/// The options that would make a refused device eligible, together (`--allow-pulse
/// --trust-reset`), with `--accept-evidence` in place of `--trust-reset` when the driver's
/// evidence would do; `None` when some failed rule no option waives.
fn options_to_accept(verdict: &platreset_policy::policy::Verdict) -> Vec<String> {
    use platreset_policy::policy::Reason;
    let mut options: Vec<&str> = Vec::new();
    let mut evidence = None;
    for reason in &verdict.reasons {
        let Some(option) = reason.accepted_by() else { return Vec::new() };
        if let Reason::QuiescenceUnproven { hint: Some(hint), .. } = reason {
            evidence = Some(hint.option);
        }
        options.push(option);
    }
    options.sort_unstable();
    options.dedup();
    let mut ways = vec![options.join(" ")];
    if let Some(value) = evidence {
        let mut with_evidence: Vec<String> =
            options.iter().filter(|o| **o != "--trust-reset").map(|o| o.to_string()).collect();
        with_evidence.push(format!("--accept-evidence {value}"));
        with_evidence.sort();
        ways.push(with_evidence.join(" "));
    }
    ways
}

#[derive(Debug, Default, Serialize)]
struct CompatibleSummary {
    compatible: String,
    controllers: usize,
    consumers: usize,
    enabled_consumers: usize,
    /// What platreset does with it (`kernel`, `pulse`, `no-reset`, `firmware`, `unsupported`).
    reset: Option<&'static str>,
    /// The driver, when one binds.
    driver: Option<&'static str>,
}

fn summarise(outcomes: &[FileOutcome]) -> Summary {
    let mut s = Summary { files: outcomes.len(), ..Summary::default() };
    for grade in GRADES {
        s.evidence_grades.insert(grade, 0);
        if grade.starts_with("kernel-driver") {
            s.evidence_grades_every_line.insert(grade, 0);
        }
    }
    let mut by: BTreeMap<String, CompatibleSummary> = BTreeMap::new();
    for outcome in outcomes {
        let Ok(report) = &outcome.result else {
            s.failed += 1;
            continue;
        };
        let mut kind_of: BTreeMap<&str, &str> = BTreeMap::new();
        for c in &report.controllers {
            let compatible = c.compatible.first().map_or("(no compatible)", String::as_str);
            kind_of.insert(&c.node, compatible);
            let entry = by.entry(compatible.to_string()).or_default();
            entry.controllers += 1;
            entry.reset = entry.reset.or(c.reset);
            entry.driver = entry.driver.or(c.driver);
        }
        s.controllers += report.controllers.len();
        for n in &report.nodes {
            s.nodes += 1;
            let enabled = n.is_enabled();
            s.enabled += usize::from(enabled);
            s.sharing += usize::from(!n.shared_with.is_empty());
            s.unresolvable += usize::from(n.resets.is_none());
            s.eligible += usize::from(n.verdict.eligible);
            let resettable = n.resettable;
            s.resettable += usize::from(resettable);
            s.resettable_enabled += usize::from(resettable && enabled);
            if let Some(kind) = n.verdict.infrastructure {
                *s.infrastructure.entry(kind).or_default() += 1;
                s.infrastructure_enabled += usize::from(enabled);
            }
            // Host infrastructure is no candidate: no option is offered to make it eligible.
            if enabled && !n.verdict.eligible && n.verdict.candidate {
                let ways = options_to_accept(&n.verdict.verdict);
                if ways.is_empty() {
                    s.refused_whatever_the_options += 1;
                }
                for way in ways {
                    *s.eligible_with.entry(way).or_default() += 1;
                }
            }
            if enabled {
                *s.evidence_grades.entry(n.verdict.evidence_grade).or_default() += 1;
                if n.verdict.evidence_lines == Some("all") {
                    *s.evidence_grades_every_line.entry(n.verdict.evidence_grade).or_default() += 1;
                }
            }
            let mut kinds: Vec<&str> =
                n.resets.iter().flatten().filter_map(|l| kind_of.get(&*l.controller).copied()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            for kind in kinds {
                let entry = by.entry(kind.to_string()).or_default();
                entry.consumers += 1;
                entry.enabled_consumers += usize::from(enabled);
            }
        }
    }
    s.by_compatible = by.into_iter().map(|(compatible, c)| CompatibleSummary { compatible, ..c }).collect();
    s.by_compatible.sort_by(|a, b| b.consumers.cmp(&a.consumers).then(a.compatible.cmp(&b.compatible)));
    s
}

/// One JSON document with every file and a summary.
pub fn json(outcomes: &[FileOutcome], out: &mut dyn Write) -> std::io::Result<()> {
    let files: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(report) if report.groups.is_empty() => {
                json!({"file": o.file, "nodes": report.nodes, "controllers": report.controllers})
            }
            Ok(report) => json!({"file": o.file, "nodes": report.nodes, "controllers": report.controllers,
                                 "groups": report.groups}),
            Err(error) => json!({"file": o.file, "error": error}),
        })
        .collect();
    let doc = json!({"files": files, "summary": summarise(outcomes)});
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(path)
}

fn format_args(args: &[u32]) -> String {
    args.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

/// A table per file and a summary, for people; with `quiet`, only the summary and the files
/// that could not be audited.
/// With `width`, each row fits it: the widest of NODE, RESETS and VERDICT cut with `…`, the
/// footnotes wrapped.
pub fn table(
    outcomes: &[FileOutcome],
    quiet: bool,
    width: Option<usize>,
    out: &mut dyn Out,
) -> std::io::Result<()> {
    for outcome in outcomes {
        let report = match &outcome.result {
            Ok(report) => report,
            Err(error) => {
                writeln!(out, "{}: not audited: {error}\n", outcome.file)?;
                continue;
            }
        };
        if quiet {
            continue;
        }
        let title = format!(
            "{}: {} node(s) with resets, {} reset controller(s)",
            outcome.file,
            report.nodes.len(),
            report.controllers.len()
        );
        match width {
            // A long file name pushes the counts to a line of their own.
            Some(width) if title.chars().count() > width => {
                let (file, counts) = title.split_at(outcome.file.len() + 1);
                for l in cells::wrap(file, 2, width).iter().chain(&cells::wrap(
                    &format!("  {}", counts.trim_start()),
                    4,
                    width,
                )) {
                    writeln!(out, "{l}")?;
                }
            }
            Some(_) => writeln!(out, "{title}")?,
            None => writeln!(out, "{title}")?,
        }
        if report.nodes.is_empty() {
            writeln!(out)?;
            continue;
        }
        let header = ["NODE", "STATUS", "RESETS (controller id)", "SHARED", "IOMMU", "VERDICT"];
        let names = cells::controller_names(report.controllers.iter().map(|c| c.node.as_str()).chain(
            report.nodes.iter().flat_map(|n| n.resets.iter().flatten().map(|l| l.controller.as_ref())),
        ));
        let rows: Vec<[String; 6]> = report.nodes.iter().map(|n| table_row(n, &names)).collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        if let Some(width) = width {
            // NODE, RESETS and VERDICT are the ones that grow; the others are a few letters.
            let caps = cells::fit_columns(&widths, &[0, 2, 5], width);
            widths.copy_from_slice(&caps);
        }
        let line = |cells: [&str; 6]| {
            let mut s = String::from(" ");
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let cell = cells::cut(cell, w);
                s.push(' ');
                s.push_str(&cell);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(w - cell.chars().count()));
                }
            }
            s
        };
        writeln!(out, "{}", line(header))?;
        for (row, n) in rows.iter().zip(&report.nodes) {
            // The verdict is the last column, unpadded: the row up to it, then the verdict in
            // its colour (plain bytes, the same as before, when colour is off).
            let [node, status, resets, shared, iommu, verdict] = row.each_ref().map(String::as_str);
            write!(out, "{}", line([node, status, resets, shared, iommu, ""]))?;
            // Cut before painting: the colour goes around the text that is left.
            out.paint(verdict_style(n), &cells::cut(verdict, widths[5]))?;
            writeln!(out)?;
        }
        // One footnote per set of nodes sharing: the first of the set says it, not each of
        // them about all the others. A set is known by its size and its first members by path
        // (all of them, or as many as a record names), so a crowded line is one footnote too.
        let mut said = std::collections::HashSet::new();
        let shared: Vec<&NodeRecord<'_>> = report
            .nodes
            .iter()
            .filter(|n| !n.shared_with.is_empty())
            .filter(|n| {
                let mut set: Vec<&str> = n.shared_with.iter().map(|s| s.as_ref()).collect();
                set.push(n.node.as_ref());
                set.sort_unstable();
                set.truncate(platreset_topology::SHARERS_NAMED);
                said.insert((n.shared_with_count, set))
            })
            .collect();
        // Footnotes and group lines fit the width too: wrapped at spaces, a piece still too
        // wide cut.
        let note = |out: &mut dyn Out, text: String, indent: usize| -> std::io::Result<()> {
            match width {
                Some(width) => {
                    cells::wrap(&text, indent, width).iter().try_for_each(|l| writeln!(out, "{l}"))
                }
                None => writeln!(out, "{text}"),
            }
        };
        for n in shared {
            let more = n.shared_with_count.saturating_sub(n.shared_with.len());
            if n.shared_with_truncated && more > 0 {
                note(
                    out,
                    format!("  * {} shares a line with {} and {more} more", n.node, n.shared_with.join(", ")),
                    4,
                )?;
            } else {
                note(out, format!("  * {} shares a line with {}", n.node, n.shared_with.join(", ")), 4)?;
            }
        }
        for g in &report.groups {
            let members: Vec<&str> = g.members.iter().map(|m| m.node.as_str()).collect();
            let verdict = if g.eligible {
                "eligible as one unit".to_string()
            } else {
                let refused: Vec<String> = g
                    .members
                    .iter()
                    .filter(|m| !m.eligible)
                    .map(|m| format!("{} ({})", m.node, m.reasons.join("; ")))
                    .collect();
                format!("refused: {}", refused.join(", "))
            };
            note(out, format!("  group {{{}}}: {verdict}", members.join(", ")), 4)?;
            if !g.also_reset.is_empty() {
                note(
                    out,
                    format!("    also reset (disabled, not assigned): {}", g.also_reset.join(", ")),
                    6,
                )?;
            }
            if !g.host_infrastructure.is_empty() {
                let host: Vec<String> = g
                    .host_infrastructure
                    .iter()
                    .map(|h| format!("{} ({})", h.node, h.infrastructure))
                    .collect();
                note(
                    out,
                    format!("    kept by the host (infrastructure, never assigned): {}", host.join(", ")),
                    6,
                )?;
            }
        }
        writeln!(out)?;
    }
    let s = summarise(outcomes);
    // Each summary line fits the width too: wrapped at spaces with a hanging indent.
    let say = |out: &mut dyn Out, text: &str, indent: usize| -> std::io::Result<()> {
        match width {
            Some(width) => cells::wrap(text, indent, width).iter().try_for_each(|l| writeln!(out, "{l}")),
            None => writeln!(out, "{text}"),
        }
    };
    say(
        out,
        &format!(
            "Summary: {} file(s) ({} failed); {} node(s) with resets ({} enabled); {} share a line; {} unresolvable; {} eligible; {} reset controller(s)",
            s.files, s.failed, s.nodes, s.enabled, s.sharing, s.unresolvable, s.eligible, s.controllers
        ),
        2,
    )?;
    let infrastructure: usize = s.infrastructure.values().sum();
    if infrastructure > 0 {
        let mut kinds: Vec<(&&str, &usize)> = s.infrastructure.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = kinds.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
        say(
            out,
            &format!(
                "Host infrastructure, not passthrough candidates: {infrastructure} node(s) with resets ({} enabled): {}",
                s.infrastructure_enabled,
                kinds.join(", ")
            ),
            2,
        )?;
    }
    if s.enabled > 0 {
        say(
            out,
            &format!(
                "Coverage: platreset can reset every line of {} of {} enabled node(s) with resets ({:.1}%)",
                s.resettable_enabled,
                s.enabled,
                100.0 * s.resettable_enabled as f64 / s.enabled as f64
            ),
            2,
        )?;
    }
    if s.enabled > 0 {
        let counts: Vec<String> = GRADES
            .iter()
            .filter_map(|&g| {
                let n = s.evidence_grades.get(g).copied().filter(|&n| n > 0)?;
                Some(match s.evidence_grades_every_line.get(g) {
                    Some(all) => format!("{n} {g} ({all} taking every line)"),
                    None => format!("{n} {g}"),
                })
            })
            .collect();
        say(out, &format!("Quiescence evidence of the enabled node(s): {}", counts.join(", ")), 2)?;
    }
    if !s.eligible_with.is_empty() {
        // Most first: the option that changes most is the first a user weighs.
        let mut ways: Vec<(&String, &usize)> = s.eligible_with.iter().collect();
        ways.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let said: Vec<String> = ways.iter().map(|(way, n)| format!("{way}: {n}")).collect();
        say(
            out,
            &format!("Refused enabled node(s) the options would make eligible: {}", said.join("; ")),
            2,
        )?;
    }
    if s.refused_whatever_the_options > 0 {
        say(
            out,
            &format!(
                "Refused enabled node(s) no option makes eligible: {} (each needs an IOMMU, a line of its own or a reset platreset can perform; `explain` says which)",
                s.refused_whatever_the_options
            ),
            2,
        )?;
    }
    if !s.by_compatible.is_empty() {
        say(out, "Reset controllers by compatible (consumer nodes, enabled, how platreset resets them):", 2)?;
        for c in &s.by_compatible {
            let how = match (c.reset, c.driver) {
                (Some(reset), Some(driver)) => format!("{reset} ({driver})"),
                (Some(reset), None) => reset.to_string(),
                _ => "-".to_string(),
            };
            say(
                out,
                &format!(
                    "  {:<40} {:>4} controller(s) {:>6} consumer(s) {:>6} enabled  {how}",
                    c.compatible, c.controllers, c.consumers, c.enabled_consumers
                ),
                4,
            )?;
        }
    }
    Ok(())
}

/// The colour of a node's verdict: eligible, eligible with accepted warnings, refused.
fn verdict_style(n: &NodeRecord<'_>) -> Style {
    if !n.verdict.candidate {
        // Not refused by a rule, but never offered: the colour of a caution, not of a failure.
        return Style::Warn;
    }
    match (n.verdict.eligible, n.verdict.warnings.is_empty()) {
        (true, true) => Style::Good,
        (true, false) => Style::Warn,
        (false, _) => Style::Bad,
    }
}

/// A node's row: its RESETS each controller once (see [`cells::resets_cell`]) by the names in
/// `names`, its VERDICT each reason once with a count.
fn table_row(n: &NodeRecord<'_>, names: &HashMap<String, String>) -> [String; 6] {
    let resets = match &n.resets {
        Some(lines) => cells::resets_cell(lines, names),
        None => format!("unresolvable: {}", n.error.as_deref().unwrap_or("?")),
    };
    let shared = if n.shared_with.is_empty() { "-".to_string() } else { format!("*{}", n.shared_with_count) };
    let mut verdict = if let Some(service) = n.verdict.verdict.infrastructure {
        // Said instead of the rules' refusals: what they would ask for is not the point.
        let noun = service_noun(service);
        let noun = noun.strip_prefix("an ").or_else(|| noun.strip_prefix("a ")).unwrap_or(noun);
        format!("not a candidate ({noun})")
    } else if n.verdict.eligible && n.verdict.verdict.warnings.is_empty() {
        "eligible".to_string()
    } else if n.verdict.eligible {
        format!("eligible, accepted: {}", cells::counted(&n.verdict.warning_short()))
    } else {
        format!("refused: {}", cells::counted(&n.verdict.short()))
    };
    if n.verdict.candidate {
        if n.verdict.method != "generic" {
            verdict.push_str(&format!(" ({} reset)", n.verdict.method));
        }
        verdict.push_str(&grade_tag(n));
    }
    [
        n.node.to_string(),
        n.status.to_string(),
        resets,
        shared,
        (if n.iommus { "yes" } else { "no" }).to_string(),
        verdict,
    ]
}

/// The evidence grade in the verdict cell, short: ` [recovery]`, ` [probe, partial]`,
/// ` [hardware]`; nothing for `none`.
fn grade_tag(n: &NodeRecord<'_>) -> String {
    let grade = n.verdict.evidence_grade;
    if grade == "none" {
        return String::new();
    }
    let short = grade.strip_prefix("kernel-driver-").unwrap_or(grade);
    match n.verdict.evidence_lines {
        Some(lines) if lines != "all" && short != "unused" => format!(" [{short}, {lines}]"),
        _ => format!(" [{short}]"),
    }
}

fn dot_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\n' => q.push_str("\\n"),
            c if c.is_control() => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The legend drawn once beside the files: what each shape, colour and line style means.
const LEGEND: &str = r##"  subgraph "cluster_legend" {
    label="Legend"; fontname="Helvetica"; fontsize=10; style=rounded;
    "legend:controller" [shape=box, style=filled, fillcolor="#dde6f0", label="reset controller\ncompatible", tooltip="a reset controller: hover for its full path"];
    "legend:line" [shape=ellipse, style=filled, fillcolor="#fde0dc", color=red, label="shared line\nid", tooltip="one reset line used by several devices: resetting one resets all"];
    "legend:eligible" [label="eligible device", color="#2e7d32", penwidth=2, tooltip="may be handed to a VM"];
    "legend:refused" [label="refused device", style="", tooltip="may not be handed to a VM: hover a device for why"];
    "legend:disabled" [label="disabled device", style="dashed", tooltip="status is not okay"];
    "legend:controller" -> "legend:line" [color=red, penwidth=2];
    "legend:line" -> "legend:refused" [color=red, penwidth=2];
    "legend:line" -> "legend:disabled" [color=red, penwidth=2];
    "legend:controller" -> "legend:eligible" [label="id", tooltip="a line of its own, labelled with its specifier cells"];
  }
"##;

/// What a device's tooltip says after its path: status and verdict.
fn dot_verdict(n: &NodeRecord<'_>) -> String {
    let verdict = if let Some(kind) = n.verdict.infrastructure {
        format!("not a candidate: host infrastructure ({kind})")
    } else if n.verdict.eligible {
        "eligible".to_string()
    } else {
        format!("refused: {}", n.verdict.short().join(", "))
    };
    format!("{}\nstatus {}; {verdict}", n.node, n.status)
}

/// A Graphviz digraph: one cluster per file, controllers (boxes) → devices, eligible devices
/// green, disabled devices dashed. A line used by several devices is a node of its own (red):
/// its controller → the line → each of its users, so a shared line is one red fan at a glance;
/// a line of one device is an edge labelled with its cells. Labels are short (the last path
/// component), tooltips carry full paths; a legend says what is what. One statement per record
/// and per line entry: the size is linear in the tree however crowded a line is.
pub fn dot(outcomes: &[FileOutcome], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "digraph resets {{")?;
    writeln!(out, "  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];")?;
    out.write_all(LEGEND.as_bytes())?;
    for (i, outcome) in outcomes.iter().enumerate() {
        let Ok(report) = &outcome.result else { continue };
        let id = |path: &str| dot_quote(&format!("{i}:{path}"));
        let line_id = |controller: &str, args: &[u32]| {
            dot_quote(&format!("{i}:line:{controller}:{}", format_args(args)))
        };
        writeln!(out, "  subgraph {} {{", dot_quote(&format!("cluster_{i}")))?;
        writeln!(out, "    label={};", dot_quote(&outcome.file))?;
        for c in &report.controllers {
            let compatible = c.compatible.first().map_or("", String::as_str);
            let label = format!("{}\n{compatible}", last_component(&c.node));
            writeln!(
                out,
                "    {} [shape=box, style=filled, fillcolor=\"#dde6f0\", label={}, tooltip={}];",
                id(&c.node),
                dot_quote(&label),
                dot_quote(&format!("{}\n{}", c.node, c.compatible.join(", ")))
            )?;
        }
        // Each shared line drawn, with how many of the devices drawn use it: counted first, so
        // the line's node is written once, before its edges.
        let mut users: HashMap<(&str, &[u32]), usize> = HashMap::new();
        let shared: Vec<Vec<usize>> = report.nodes.iter().map(|n| n.verdict.shared_indices()).collect();
        for (n, shared) in report.nodes.iter().zip(&shared) {
            for (index, line) in n.resets.iter().flatten().enumerate() {
                if shared.binary_search(&index).is_ok() {
                    *users.entry((&line.controller, &line.args)).or_default() += 1;
                }
            }
        }
        let mut drawn: HashSet<(&str, &[u32])> = HashSet::new();
        for (n, shared) in report.nodes.iter().zip(&shared) {
            let style = if n.is_enabled() { "" } else { "dashed" };
            let color = if n.verdict.eligible { ", color=\"#2e7d32\", penwidth=2" } else { "" };
            writeln!(
                out,
                "    {} [label={}, tooltip={}, style=\"{style}\"{color}];",
                id(&n.node),
                dot_quote(last_component(&n.node)),
                dot_quote(&dot_verdict(n))
            )?;
            for (index, line) in n.resets.iter().flatten().enumerate() {
                if shared.binary_search(&index).is_err() {
                    writeln!(
                        out,
                        "    {} -> {} [label={}];",
                        id(&line.controller),
                        id(&n.node),
                        dot_quote(&format_args(&line.args))
                    )?;
                    continue;
                }
                let key = (&*line.controller, &*line.args);
                let this = line_id(&line.controller, &line.args);
                if drawn.insert(key) {
                    let cells = format_args(&line.args);
                    let label = format!("shared line\n{cells}");
                    let count = users.get(&key).copied().unwrap_or(0);
                    let tooltip = format!(
                        "shared reset line {} <{cells}>: used by {count} device(s) drawn here",
                        line.controller
                    );
                    writeln!(
                        out,
                        "    {this} [shape=ellipse, style=filled, fillcolor=\"#fde0dc\", color=red, label={}, tooltip={}];",
                        dot_quote(label.trim_end()),
                        dot_quote(&tooltip)
                    )?;
                    writeln!(out, "    {} -> {this} [color=red, penwidth=2];", id(&line.controller))?;
                }
                writeln!(out, "    {this} -> {} [color=red, penwidth=2];", id(&n.node))?;
            }
        }
        writeln!(out, "  }}")?;
    }
    writeln!(out, "}}")
}
