//! `platreset audit`: the reset topology of one or many DTBs, for people (table), scripts (json,
//! jsonl) and pictures (dot). Each file is parsed once; a file that fails is reported and the
//! others still processed, with a non-zero exit at the end.

mod cells;
pub(crate) mod inputs;
mod jsonl;
mod render;
pub mod report;
mod scan;
mod sort;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platreset_fdt::{Fdt, Scratch};
use platreset_topology::PROPERTY_NAMES;

use crate::error::CliError;
use crate::policy_args::PolicyArgs;
use crate::term::Out;
pub use inputs::Input;
use platreset_acpi::AcpiDevice;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::policy::{Options, Policy};
use platreset_reset::DEFAULT_PULSE_US;
use report::{FileReport, Filter, VerdictFilter};
pub use sort::SortKey;

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One row per device, shared lines marked, then a summary (for people).
    Table,
    /// One JSON document: every file with its nodes and controllers, and a summary.
    Json,
    /// One JSON object per line per node with `resets` (stable interface for scripts).
    Jsonl,
    /// A Graphviz digraph: controllers → devices; a shared line is one red node fanning out to
    /// its users; full paths in tooltips (SVG); a legend.
    Dot,
}

/// Arguments of `platreset audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// DTB files or directories (every *.dtb below, recursively). Default: /sys/firmware/fdt.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Report enabled nodes only (status absent, "okay" or "ok"); sharing is still computed over
    /// every node.
    #[arg(long)]
    pub okay: bool,
    /// Report only nodes with a compatible string matching this glob (`*`, `?`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub compatible: Vec<String>,
    /// Report only nodes whose full path matches this glob (`*`, `?`; quote it from the shell),
    /// e.g. '/soc/mmc@*'; repeatable (a node matching any of them).
    #[arg(long, value_name = "PATTERN")]
    pub node: Vec<String>,
    /// Report only nodes with this verdict (sharing is still computed over every node).
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub verdict: Option<VerdictFilter>,
    /// Report only eligible nodes: --verdict eligible.
    #[arg(long, conflicts_with_all = ["verdict", "refused"])]
    pub eligible: bool,
    /// Report only refused nodes: --verdict refused (host infrastructure is no candidate, so
    /// neither eligible nor refused: --verdict infrastructure).
    #[arg(long, conflicts_with = "verdict")]
    pub refused: bool,
    /// Order of the nodes within each file (default: the tree's order). Ties keep the tree's order.
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SortKey>,
    /// Table format only: print only the summary, and the files that could not be audited
    /// (with why) — none of the per-file tables.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Table format only: fit each row in N columns, cutting the widest cells with `…` and
    /// wrapping the footnotes and the summary lines (default: the terminal's width when standard output is one —
    /// `COLUMNS` or its size — and whole rows into a pipe or a file).
    #[arg(long, value_name = "N", conflicts_with = "wide", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// Table format only: whole rows, however wide the terminal.
    #[arg(long)]
    pub wide: bool,
    /// Threads reading and parsing files (0: one per core). Output order does not depend on it.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Also propose each group of devices that share reset lines as one assignable unit, with
    /// its verdict (table and json formats)
    #[arg(long)]
    pub group: bool,
    /// The verdict's policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// What decides each record besides the tree: the filters, the policy and the host's ACPI devices.
pub(crate) struct Settings {
    /// Which nodes to report.
    pub filter: Filter,
    /// The rules.
    pub policy: Policy,
    /// ACPI companions, from `--acpi`.
    pub acpi: Vec<AcpiDevice>,
    /// The order of each file's nodes (`None`: the tree's).
    pub sort: Option<SortKey>,
}

impl Settings {
    /// No filter, the built-in allowlist, `options`, no ACPI.
    pub fn builtin(options: Options) -> Result<Settings, CliError> {
        let policy = Policy {
            options,
            allowlist: Allowlist::builtin().map_err(|e| CliError::Allowlist(e.to_string()))?,
        };
        Ok(Settings { filter: Filter::default(), policy, acpi: Vec::new(), sort: None })
    }
}

/// What one worker made of one file.
pub(crate) struct FileOutcome {
    pub file: String,
    pub result: Result<FileReport, String>,
    /// Pre-rendered JSONL (so serialisation runs on the workers too).
    pub jsonl: Option<String>,
}

pub(crate) fn audit_one(
    scratch: &mut Option<Scratch>,
    input: &Input,
    data: std::io::Result<&[u8]>,
    settings: &Settings,
    format: Format,
) -> FileOutcome {
    let file = input.display.clone();
    let mut jsonl = None;
    let result = match data {
        Err(e) => Err(format!("cannot read: {e}")),
        Ok(bytes) => {
            match Fdt::parse_classifying(bytes, scratch.take().unwrap_or_default(), PROPERTY_NAMES) {
                Err(e) => Err(format!("invalid DTB: {e}")),
                Ok(fdt) => {
                    let report = if format == Format::Jsonl && settings.sort.is_some() {
                        // Sorted: every record is needed before the first is written.
                        let mut report =
                            report::build(&file, &fdt, &settings.filter, &settings.policy, &settings.acpi);
                        sort::sort(&mut report.nodes, settings.sort);
                        let mut out = Vec::with_capacity(16 * 1024);
                        let prefix = jsonl::file_prefix(&file);
                        for r in &report.nodes {
                            jsonl::record_after(&mut out, &prefix, r);
                        }
                        jsonl = Some(String::from_utf8(out).unwrap_or_default());
                        FileReport { nodes: Vec::new(), ..report }
                    } else if format == Format::Jsonl {
                        // Stream: each record is written as it is made, borrowing from the tree.
                        let mut out = Vec::with_capacity(16 * 1024);
                        let prefix = jsonl::file_prefix(&file);
                        let controllers = report::visit(
                            &file,
                            &fdt,
                            &settings.filter,
                            &settings.policy,
                            &settings.acpi,
                            |r| jsonl::record_after(&mut out, &prefix, &r),
                        );
                        jsonl = Some(String::from_utf8(out).unwrap_or_default());
                        FileReport { nodes: Vec::new(), controllers, groups: Vec::new() }
                    } else {
                        let mut report =
                            report::build(&file, &fdt, &settings.filter, &settings.policy, &settings.acpi);
                        sort::sort(&mut report.nodes, settings.sort);
                        report
                    };
                    *scratch = Some(fdt.into_scratch());
                    Ok(report)
                }
            }
        }
    };
    if let (Format::Jsonl, Err(error)) = (format, &result) {
        jsonl = Some(render::jsonl_error(&file, error));
    }
    FileOutcome { file, result, jsonl }
}

/// Runs the command.
pub fn run(args: &AuditArgs) -> Result<(), CliError> {
    let inputs = match inputs::collect(&args.paths) {
        Ok(inputs) => inputs,
        Err(e) => {
            // Scripts reading JSON get the failure in the shape of a failed file too.
            if matches!(args.format, Format::Json | Format::Jsonl) {
                let file = match &e {
                    CliError::Input { path, .. } | CliError::NoHostFdt { path, .. } => {
                        path.display().to_string()
                    }
                    _ => String::new(),
                };
                println!("{}", serde_json::json!({"file": file, "error": e.to_string()}));
            }
            return Err(e);
        }
    };
    match (args.group, args.format) {
        (true, Format::Jsonl) => {
            return Err(CliError::Usage(
                "--group needs --format table or json: the jsonl shape is one node per line".into(),
            ))
        }
        (true, Format::Dot) => {
            return Err(CliError::Usage(
                "--group needs --format table or json: the dot picture draws every shared line already"
                    .into(),
            ))
        }
        _ => {}
    }
    if args.quiet && args.format != Format::Table {
        return Err(CliError::Usage(
            "--quiet shortens the table to its summary: the other formats are for programs (filter them with jq)"
                .into(),
        ));
    }
    let verdict = match (args.eligible, args.refused) {
        (true, _) => Some(VerdictFilter::Eligible),
        (_, true) => Some(VerdictFilter::Refused),
        _ => args.verdict,
    };
    let settings = Settings {
        filter: Filter {
            okay: args.okay,
            compatible: args.compatible.clone(),
            groups: args.group,
            node: args.node.clone(),
            verdict,
        },
        policy: args.policy.policy(DEFAULT_PULSE_US)?,
        acpi: args.policy.acpi_devices()?,
        sort: args.sort,
    };
    let width = match (args.wide, args.width) {
        (true, _) => None,
        (false, Some(n)) => Some(usize::from(n)),
        (false, None) => crate::term::stdout_width(),
    };
    let view = View { format: args.format, quiet: args.quiet, width };
    run_on(&inputs, &settings, view, args.jobs, &mut crate::term::stdout(args.format == Format::Table))
}

/// How the results are shown: the format, and for the table whether only its summary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    /// The format.
    pub format: Format,
    /// Table only: the summary and the failures, no per-file tables.
    pub quiet: bool,
    /// Table only: the width rows are cut to (`None`: whole rows).
    pub width: Option<usize>,
}

impl From<Format> for View {
    fn from(format: Format) -> View {
        View { format, quiet: false, width: None }
    }
}

/// Audits `inputs` into `out`.
pub(crate) fn run_on(
    inputs: &[Input],
    settings: &Settings,
    view: View,
    jobs: usize,
    out: &mut dyn Out,
) -> Result<(), CliError> {
    let format = view.format;
    let progress = progress_bar(inputs);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut collected: Vec<FileOutcome> = Vec::new();
    let (mut failed, mut write_error) = (0usize, None);
    scan::scan(
        inputs,
        jobs,
        |scratch: &mut Option<Scratch>, input, data| audit_one(scratch, input, data, settings, format),
        |outcome: FileOutcome| {
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            if let Err(why) = &outcome.result {
                failed += 1;
                // The table shows each failure in its place: said once, not again on stderr.
                // Machine formats carry it in their shape, and people read it here.
                if format != Format::Table {
                    let say = || eprintln!("platreset: {why} ({})", outcome.file);
                    match &progress {
                        Some(bar) => bar.suspend(say),
                        None => say(),
                    }
                }
            }
            match &outcome.jsonl {
                Some(text) => {
                    if write_error.is_none() {
                        write_error = out.write_all(text.as_bytes()).err();
                    }
                }
                None => collected.push(outcome),
            }
        },
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    render(&collected, view, &mut out)?;
    out.flush()?;
    if failed > 0 {
        return Err(CliError::SomeInputsFailed { done: "audited", failed, total: inputs.len() });
    }
    Ok(())
}

/// Writes collected outcomes as `view` says (JSONL outcomes carry their own text).
pub(crate) fn render(
    outcomes: &[FileOutcome],
    view: impl Into<View>,
    out: &mut dyn Out,
) -> std::io::Result<()> {
    let view = view.into();
    match view.format {
        Format::Jsonl => outcomes
            .iter()
            .filter_map(|o| o.jsonl.as_deref())
            .try_for_each(|text| out.write_all(text.as_bytes())),
        Format::Json => render::json(outcomes, out),
        Format::Table => render::table(outcomes, view.quiet, view.width, out),
        Format::Dot => render::dot(outcomes, out),
    }
}

fn progress_bar(inputs: &[Input]) -> Option<indicatif::ProgressBar> {
    let walked = inputs.iter().any(|i| i.from_directory);
    if !walked || inputs.len() < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(inputs.len() as u64);
    let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} DTBs {elapsed}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}
