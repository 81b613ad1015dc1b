//! `platreset kmod`: what the kernel's generic reset module (`kmod/vfio-platform-reset-generic`)
//! needs on one board — the compatibles the policy finds safe, as a `/etc/modprobe.d/` file and as
//! a DKMS source tree — and why each other device was left out. A dry run unless `--install`.
//!
//! Owns: the files' text and where they go. Must not: decide which compatibles are listed (the
//! policy's [`plan`] does) or build or load the module.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use platreset_acpi::AcpiDevice;
use platreset_fdt::Fdt;
use platreset_policy::generic_module::{plan, ModulePlan};
use platreset_policy::policy::{Evaluator, Policy};
use platreset_reset::DEFAULT_PULSE_US;
use platreset_topology::Topology;
use serde_json::json;

use crate::error::CliError;
use crate::files::{write_all_or_none, Planned};
use crate::policy_args::PolicyArgs;

/// The module's name as modprobe knows it.
pub const MODULE: &str = "vfio_platform_reset_generic";
/// The DKMS package name (the module's file name).
const PACKAGE: &str = "vfio-platform-reset-generic";
/// The DKMS package version: this platreset's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The module's source, as committed in `kmod/` (the DKMS tree is written from it).
const SOURCES: [(&str, &str); 3] = [
    (
        "vfio-platform-reset-generic.c",
        include_str!("../data/vfio-platform-reset-generic/vfio-platform-reset-generic.c"),
    ),
    ("Kbuild", include_str!("../data/vfio-platform-reset-generic/Kbuild")),
    ("Makefile", include_str!("../data/vfio-platform-reset-generic/Makefile")),
];

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `platreset kmod`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  platreset kmod board.dtb                          what the module would take, and why not the rest
  platreset kmod board.dtb --allow-pulse --trust-reset --format json
  sudo platreset kmod --install                     the running host's DT; writes /etc/modprobe.d and /usr/src
  dkms install vfio-platform-reset-generic/VERSION  then build it for the running kernel (see the README)")]
pub struct KmodArgs {
    /// The device tree (DTB file); default: the running host's /sys/firmware/fdt.
    pub dtb: Option<PathBuf>,
    /// Write the files (without it: a dry run that prints them).
    #[arg(long)]
    pub install: bool,
    /// The directory the files are written under (a staging root for an image build).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The policy that decides which compatibles are listed.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The policy options that changed the list, for the files' header.
fn options_text(policy: &PolicyArgs) -> String {
    let mut on = Vec::new();
    if policy.trust_reset {
        on.push("--trust-reset");
    }
    if policy.allow_pulse {
        on.push("--allow-pulse");
    }
    if policy.allow_shared_with_disabled {
        on.push("--allow-shared-with-disabled");
    }
    if !policy.reset_required {
        on.push("--reset-required false");
    }
    if policy.allowlist.is_some() {
        on.push("--allowlist");
    }
    if on.is_empty() {
        "the default policy".into()
    } else {
        format!("the policy with {}", on.join(" "))
    }
}

/// The module's plan for a DTB in memory.
pub(crate) fn evaluator_plan(
    blob: &[u8],
    file: &str,
    policy: &Policy,
    acpi: &[AcpiDevice],
) -> Result<ModulePlan, CliError> {
    let fdt = Fdt::parse(blob).map_err(|source| CliError::Dtb { file: file.to_string(), source })?;
    let topology = Topology::build(&fdt);
    Ok(plan(&Evaluator::new(policy, &topology, acpi)))
}

/// The modprobe `options` line.
pub(crate) fn options_line(plan: &ModulePlan) -> String {
    let pulse = plan.pulse_us.map(|us| format!(" pulse_us={us}")).unwrap_or_default();
    format!("options {MODULE} compatibles=\"{}\"{pulse}", plan.parameter())
}

/// `/etc/modprobe.d/platreset-reset-generic.conf`.
fn modprobe_conf(plan: &ModulePlan, source: &str, policy: &str) -> String {
    let mut text = format!(
        "# Written by `platreset kmod`: the compatibles whose every device on this board may be reset\n\
         # through its own DT reset lines (see `platreset explain`), for vfio-platform.\n\
         # Device tree: {source}\n\
         # Policy: {policy}\n"
    );
    text.push_str(&options_line(plan));
    text.push('\n');
    text.push_str(
        "# vfio-platform asks modprobe for \"vfio-reset:<first compatible>\" when no handler is registered.\n",
    );
    for included in &plan.included {
        text.push_str(&format!("alias vfio-reset:{} {MODULE}\n", included.compatible));
    }
    text
}

/// The DKMS package's `dkms.conf`.
fn dkms_conf() -> String {
    format!(
        "# Written by `platreset kmod`: the generic vfio-platform reset module, built by DKMS for each kernel.\n\
         # vfio-platform's private header is not in a kernel headers package: VFIO_PLATFORM_SRC (in the\n\
         # environment of `dkms build`) must name drivers/vfio/platform of the kernel's source tree,\n\
         # unless the kernel's build directory is a full source tree.\n\
         PACKAGE_NAME=\"{PACKAGE}\"\n\
         PACKAGE_VERSION=\"{VERSION}\"\n\
         BUILT_MODULE_NAME[0]=\"{PACKAGE}\"\n\
         DEST_MODULE_LOCATION[0]=\"/updates/dkms\"\n\
         MAKE[0]=\"make -C ${{kernel_source_dir}} M=${{dkms_tree}}/${{PACKAGE_NAME}}/${{PACKAGE_VERSION}}/build \
         VFIO_PLATFORM_SRC=${{VFIO_PLATFORM_SRC:-${{kernel_source_dir}}/drivers/vfio/platform}} modules\"\n\
         CLEAN=\"make -C ${{kernel_source_dir}} M=${{dkms_tree}}/${{PACKAGE_NAME}}/${{PACKAGE_VERSION}}/build clean\"\n\
         AUTOINSTALL=\"yes\"\n"
    )
}

/// Every file `--install` writes, under `root`.
fn files(plan: &ModulePlan, root: &Path, source: &str, policy: &str) -> Vec<Planned> {
    let mut files = vec![Planned {
        path: root.join("etc/modprobe.d/platreset-reset-generic.conf"),
        bytes: modprobe_conf(plan, source, policy).into_bytes(),
    }];
    let tree = root.join(format!("usr/src/{PACKAGE}-{VERSION}"));
    files.push(Planned { path: tree.join("dkms.conf"), bytes: dkms_conf().into_bytes() });
    for (name, text) in SOURCES {
        files.push(Planned { path: tree.join(name), bytes: text.as_bytes().to_vec() });
    }
    files
}

/// Runs the command.
pub fn run(args: &KmodArgs) -> Result<(), CliError> {
    let path = args.dtb.clone().unwrap_or_else(|| PathBuf::from("/sys/firmware/fdt"));
    // Regular files only, bounded, never blocking (a DTB's size is a u32, but no real one is
    // near 64 MiB).
    let blob = crate::read::dtb(&path).map_err(|e| match (&args.dtb, e) {
        (None, CliError::Input { path, source }) => CliError::NoHostFdt { path, source },
        (_, e) => e,
    })?;
    let file = path.display().to_string();
    let policy = args.policy.policy(DEFAULT_PULSE_US)?;
    let plan = evaluator_plan(&blob, &file, &policy, &args.policy.acpi_devices()?)?;
    let policy_text = options_text(&args.policy);
    let files = files(&plan, &args.root, &file, &policy_text);
    if args.install && plan.included.is_empty() {
        return Err(CliError::Refused(format!(
            "nothing to install: no compatible in {file} is eligible for the generic reset under {policy_text} \
             (run without --install to see why each device was left out)"
        )));
    }
    let written = if args.install { write_all_or_none(&files, true)? } else { Vec::new() };
    let mut out = crate::term::stdout(args.format == Format::Text);
    match args.format {
        Format::Json => {
            let doc = json!({
                "file": file,
                "module": MODULE,
                "policy": policy_text,
                "compatibles": plan.included.iter().map(|i| &i.compatible).collect::<Vec<_>>(),
                "parameter": plan.parameter(),
                "pulse_us": plan.pulse_us,
                "included": plan.included.iter().map(|i| json!({
                    "compatible": i.compatible, "devices": i.devices, "pulse": i.pulse,
                    "firmware": i.firmware})).collect::<Vec<_>>(),
                "excluded": plan.excluded.iter().map(|e| json!({
                    "compatible": e.compatible, "device": e.device, "rule": e.why.rule(),
                    "reason": e.why.text()})).collect::<Vec<_>>(),
                "files": files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>(),
                "modprobe_conf": modprobe_conf(&plan, &file, &policy_text),
                "installed": args.install,
            });
            writeln!(out, "{doc}")?;
        }
        Format::Text => {
            writeln!(
                out,
                "{file}: {} compatible(s) for the generic reset module ({MODULE}) under {policy_text}",
                plan.included.len()
            )?;
            for included in &plan.included {
                let pulse = if included.pulse { ", pulse" } else { "" };
                let firmware = if included.firmware.is_empty() {
                    String::new()
                } else {
                    format!(", the kernel resets it through {}", included.firmware.join(", "))
                };
                writeln!(
                    out,
                    "  + {}  ({}{pulse}{firmware})",
                    included.compatible,
                    included.devices.join(", ")
                )?;
            }
            if !plan.excluded.is_empty() {
                writeln!(out, "left out ({} device(s)):", plan.excluded.len())?;
                for excluded in &plan.excluded {
                    let rule = match excluded.why.rule() {
                        0 => "module".to_string(),
                        n => format!("rule {n}"),
                    };
                    writeln!(
                        out,
                        "  - {} {} [{rule}]: {}",
                        excluded.compatible,
                        excluded.device,
                        excluded.why.text()
                    )?;
                }
            }
            if plan.included.is_empty() {
                writeln!(
                    out,
                    "nothing to install: `platreset explain {file} <device>` shows what each rule needs"
                )?;
                return Ok(());
            }
            writeln!(out, "\n{}:", files[0].path.display())?;
            for line in modprobe_conf(&plan, &file, &policy_text).lines() {
                writeln!(out, "  {line}")?;
            }
            let tree = files[1].path.parent().map(|p| p.display().to_string()).unwrap_or_default();
            writeln!(out, "DKMS source tree {tree}: dkms.conf, {}", SOURCES.map(|(n, _)| n).join(", "))?;
            if args.install {
                writeln!(out, "wrote {} file(s); next:", written.len())?;
            } else {
                writeln!(out, "dry run: add --install to write these files; then:")?;
            }
            writeln!(
                out,
                "  dkms install {PACKAGE}/{VERSION}   (VFIO_PLATFORM_SRC=<kernel source>/drivers/vfio/platform)\n  \
                 modprobe vfio-platform && modprobe {MODULE}"
            )?;
        }
    }
    Ok(())
}
