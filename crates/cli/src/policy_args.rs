//! The options every command that decides eligibility shares (`audit`, `explain`, `reset`):
//! the `reset_required` knob, the rules a user may waive, the evidence grades accepted, the
//! allowlist and the ACPI tables.
//!
//! Owns: turning those flags into a [`Policy`] and the host's ACPI devices. Must not: apply rules.

use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};
use platreset_acpi::AcpiDevice;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::grade::AcceptEvidence;
use platreset_policy::policy::{Options, Policy};

use crate::error::CliError;

/// The largest allowlist read: far above any real one (the shipped list is a few KiB; 200,000
/// entries with their evidence are about 30 MiB), far below what would exhaust memory.
const ALLOWLIST_MAX: usize = 64 << 20;

/// Policy options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Policy")]
pub struct PolicyArgs {
    /// vfio_platform's reset_required module parameter. `false` (as after
    /// `modprobe vfio_platform reset_required=0`) lets a device without any reset be opened;
    /// the VM then gets it as the last user left it
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, global = true)]
    pub reset_required: bool,
    /// Accept a reset whose quiescence is unproven (no allowlist evidence that it stops DMA and
    /// interrupts): the verdict turns the refusal into a warning
    #[arg(long, global = true)]
    pub trust_reset: bool,
    /// Accept a reset line shared only with disabled nodes (the host uses none of them)
    #[arg(long, global = true)]
    pub allow_shared_with_disabled: bool,
    /// Accept platreset's assert, wait, deassert pulse for drivers without a .reset (Linux's
    /// reset_control_reset would fail on them)
    #[arg(long, global = true)]
    pub allow_pulse: bool,
    /// Accept what the device's Linux driver does with its reset as proof that the reset quiesces
    /// it (rule 4), when the driver takes every reset line the node has. kernel-driver (the same
    /// as kernel-driver-recovery): the driver pulses the reset in a remove, PM or error-recovery
    /// path to bring a running IP back; kernel-driver-probe: a pulse at probe is enough. A
    /// driver that only deasserts, or never uses its reset, is never accepted. Evidence from
    /// data/evidence (linux-source-6.1). Default: no driver grade is accepted, and a refusal
    /// says when this option would change the verdict. DT resets alone cannot prove a line
    /// exclusive: dt-schema's reset.yaml lets a line shared by several blocks be described
    /// once, on a bus node
    #[arg(long, value_enum, value_name = "GRADE", global = true)]
    pub accept_evidence: Option<EvidenceGrade>,
    /// More quiescence allowlist entries, on top of the built-in data/allowlist.toml (an entry
    /// here replaces a built-in one with the same key); `verify --record-evidence` writes them
    #[arg(long, value_name = "FILE", global = true)]
    pub allowlist: Option<PathBuf>,
    /// Leave the built-in allowlist out: only --allowlist FILE's entries (none without it)
    #[arg(long, global = true)]
    pub no_builtin_allowlist: bool,
    /// The host's ACPI tables (a directory like /sys/firmware/acpi/tables): a device with an ACPI
    /// companion (matched by MMIO address) is reset through its _RST, as vfio-platform does
    #[arg(long, value_name = "DIR", global = true)]
    pub acpi: Option<PathBuf>,
}

/// The values of `--accept-evidence`: the weakest Linux-driver grade accepted.
// The variants are the option's values (`kernel-driver-…`): the shared prefix is what users type.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvidenceGrade {
    /// The driver pulses the reset in a remove, PM or recovery path (= kernel-driver-recovery)
    KernelDriver,
    /// The driver pulses the reset in a remove, PM or recovery path
    KernelDriverRecovery,
    /// The driver pulses the reset at probe, or in a recovery path
    KernelDriverProbe,
}

impl EvidenceGrade {
    fn policy(self) -> AcceptEvidence {
        match self {
            EvidenceGrade::KernelDriver => AcceptEvidence::KernelDriver,
            EvidenceGrade::KernelDriverRecovery => AcceptEvidence::KernelDriverRecovery,
            EvidenceGrade::KernelDriverProbe => AcceptEvidence::KernelDriverProbe,
        }
    }
}

impl PolicyArgs {
    /// The options as when none is given on the command line.
    pub fn defaults() -> PolicyArgs {
        PolicyArgs {
            reset_required: true,
            trust_reset: false,
            allow_shared_with_disabled: false,
            allow_pulse: false,
            accept_evidence: None,
            allowlist: None,
            no_builtin_allowlist: false,
            acpi: None,
        }
    }

    /// The policy these options describe, pulses lasting `pulse_us`.
    pub fn policy(&self, pulse_us: u32) -> Result<Policy, CliError> {
        let invalid = |e: platreset_policy::allowlist::AllowlistError| CliError::Allowlist(e.to_string());
        let builtin = if self.no_builtin_allowlist {
            Allowlist::empty()
        } else {
            Allowlist::builtin().map_err(invalid)?
        };
        let allowlist = match &self.allowlist {
            None => builtin,
            Some(path) => builtin.extended_by(read_allowlist(path)?.map_err(invalid)?),
        };
        let options = Options {
            reset_required: self.reset_required,
            trust_reset: self.trust_reset,
            allow_shared_with_disabled: self.allow_shared_with_disabled,
            allow_pulse: self.allow_pulse,
            pulse_us,
            accept_evidence: self.accept_evidence.map(EvidenceGrade::policy),
        };
        Ok(Policy { options, allowlist })
    }

    /// The ACPI devices of `--acpi DIR` (none without it).
    pub fn acpi_devices(&self) -> Result<Vec<AcpiDevice>, CliError> {
        match &self.acpi {
            None => Ok(Vec::new()),
            Some(dir) => platreset_acpi::read_tables(dir)
                .map(|ns| ns.devices())
                .map_err(|e| CliError::Acpi(e.to_string())),
        }
    }
}

/// Reads and parses an allowlist file: a regular file of at most [`ALLOWLIST_MAX`] bytes of UTF-8.
pub fn read_allowlist(
    path: &std::path::Path,
) -> Result<Result<Allowlist, platreset_policy::allowlist::AllowlistError>, CliError> {
    let text = read_allowlist_text(path)?;
    Ok(Allowlist::parse(&path.display().to_string(), &text))
}

/// An allowlist file's text, read as [`read_allowlist`] reads it.
pub fn read_allowlist_text(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = crate::read::regular(path, ALLOWLIST_MAX)?;
    String::from_utf8(bytes).map_err(|e| CliError::Input {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
        ),
    })
}
