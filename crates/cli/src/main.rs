//! The `platreset` command line. Parses arguments and dispatches to a command module; every
//! decision is made by the library crates.

#![forbid(unsafe_code)]

mod acpi;
mod audit;
mod completions;
mod demo;
mod error;
mod evidence;
mod explain;
mod files;
mod guest_dt;
mod host;
mod json;
mod kmod;
mod manpage;
mod policy_args;
mod read;
mod reset;
mod term;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::CliError;

// An audit of a thousand trees builds and drops a few hundred thousand small records; glibc's
// malloc spent a sixth of the run on them, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// platreset: make SoC platform devices safe to hand to virtual machines through vfio-platform.
///
/// It reads device trees, finds every device's reset lines and who shares them, and decides,
/// with reasons, whether a device can be reset safely and handed to a VM.
#[derive(Parser)]
#[command(name = "platreset", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour in text output: auto (only on a terminal, and not when NO_COLOR is set), always
    /// or never. JSON, JSONL and DOT are never coloured.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = term::ColorChoice::Auto, global = true)]
    color: term::ColorChoice,
}

#[derive(Subcommand)]
enum Command {
    /// List every device with a reset line, resolve its lines, and show which lines are shared.
    ///
    /// PATH is a DTB file or a directory (every *.dtb below it, recursively, in sorted order).
    /// Without PATH, the running host's /sys/firmware/fdt is read.
    ///
    /// Examples:
    ///   platreset audit board.dtb
    ///   platreset audit --okay --compatible 'renesas,*' /usr/lib/linux-image-*/renesas
    ///   platreset audit --refused --node '/soc/mmc@*' --sort verdict board.dtb
    ///   platreset audit -q dtbs/                       (the summary only)
    ///   platreset audit --format jsonl dtbs/ | jq 'select(.shared_with != [])'
    ///   platreset audit --format dot board.dtb | dot -Tsvg > resets.svg
    #[command(verbatim_doc_comment)]
    Audit(audit::AuditArgs),
    /// Explain, rule by rule, whether a device may be handed to a VM: which reset method vfio-platform would use and why the others were not, each rule with its evidence, the nodes sharing its lines, and what to do next.
    #[command(verbatim_doc_comment)]
    Explain(explain::ExplainArgs),
    /// Show the register accesses that reset a device, exactly as the kernel's driver would do them. A dry run by default: only --backend devmem --write-hardware writes registers.
    ///
    /// NODE is a path, a label (&sdhi0) or an alias (mmc0). Every line of the node is reset in
    /// `resets` order unless --line picks one. Controllers with a reset sequence of their own use it
    /// ("mode": "kernel"); the others get a pulse: assert, --pulse-us, deassert ("mode": "pulse").
    ///
    /// Examples:
    ///   platreset reset board.dtb /soc/mmc@ee100000
    ///   platreset reset board.dtb mmc0 --format json | jq '.ops'
    ///   platreset reset board.dtb '&usb2' --line companion --assert
    ///   sudo platreset reset /sys/firmware/fdt mmc0 --backend devmem --write-hardware
    #[command(verbatim_doc_comment)]
    Reset(reset::ResetArgs),
    /// List the ACPI devices of DSDT/SSDT tables and whether each has a _RST method (the reset vfio-platform uses for ACPI devices).
    ///
    /// Examples:
    ///   platreset acpi                       # the running host's /sys/firmware/acpi/tables
    ///   platreset acpi tables/ --format json | jq '.[] | select(.rst)'
    #[command(verbatim_doc_comment)]
    Acpi(acpi::AcpiArgs),
    /// Prove it on a simulator: build the SoC from the DTB, start the device's DMA and interrupt, perform the reset the policy resolved (the real driver or handler, on simulated registers), run on, and check that the DMA stopped, the interrupt is low, the registers are at reset values and no other device was reset.
    #[command(verbatim_doc_comment)]
    Verify(verify::VerifyArgs),
    /// Build the guest device-tree node(s) for devices handed to a VM, for the VMM that runs it: a property policy shared by every target (what is copied, regenerated, dropped or refused, and why), then the target's layout (addresses, interrupts, limits).
    #[command(verbatim_doc_comment)]
    GuestDt(guest_dt::GuestDtArgs),
    /// The running system: list platform devices with their IOMMU groups and verdicts, bind them to vfio-platform as a transaction (every device restored on failure), VFIO info and reset, and a guard that resets a VMM's devices when it dies. Writes only with --yes.
    ///
    /// Examples:
    ///   platreset host list
    ///   platreset host bind ee100000.mmc            (prints the writes)
    ///   sudo platreset host bind ee100000.mmc --yes --persist
    ///   sudo platreset host guard --pid "$(pidof crosvm)" ee100000.mmc --yes
    #[command(verbatim_doc_comment)]
    Host(host::HostArgs),
    /// What the kernel's generic reset module (kmod/vfio-platform-reset-generic) needs on this board: the compatibles whose every device the policy finds safe to reset through its own DT reset lines, as a /etc/modprobe.d file and a DKMS source tree, and why each other device was left out. A dry run unless --install.
    #[command(verbatim_doc_comment)]
    Kmod(kmod::KmodArgs),
    /// Show what platreset finds on a built-in example SoC (no hardware, no downloads).
    Demo(demo::DemoArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff) of platreset or of one of its commands.
    #[command(alias = "manpage")]
    Man(manpage::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::choose_color(cli.color);
    let result = match cli.command {
        Command::Audit(args) => audit::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Reset(args) => reset::run(&args),
        Command::Acpi(args) => acpi::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::GuestDt(args) => guest_dt::run(&args),
        Command::Host(args) => host::run(&args),
        Command::Kmod(args) => kmod::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Completions(args) => completions::run(&args, Cli::command()),
        Command::Man(args) => manpage::run(&args, Cli::command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is not an error worth a message.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(term::Terminal::new(std::io::stderr(), true), "platreset: {e}");
            match e {
                CliError::ChecksFailed(_) => ExitCode::from(3),
                // As clap does for the usage errors it finds itself.
                CliError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
