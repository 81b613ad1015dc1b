//! The CLI's errors: what failed, why, and where (file, node, offset), printed as
//! `platreset: <what failed>: <why> (<where>)`.

use std::path::PathBuf;

use thiserror::Error;

/// A failure that ends a command.
#[derive(Debug, Error)]
pub enum CliError {
    /// An input path cannot be read.
    #[error("cannot read input: {source} ({})", path.display())]
    Input {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An output file cannot be written.
    #[error("cannot write output: {source} ({})", path.display())]
    WriteFile {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No PATH was given and the host has no flattened device tree to read.
    #[error("no PATH given and the running host's device tree cannot be read: {source} ({}); pass a DTB file or a directory of DTBs", path.display())]
    NoHostFdt {
        /// Where it was looked for.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A DTB does not parse.
    #[error("invalid DTB: {source} ({file})")]
    Dtb {
        /// The file.
        file: String,
        /// What the reader found.
        source: platreset_fdt::FdtError,
    },
    /// A node named on the command line is not in the tree.
    #[error("{source} (in {file})")]
    Lookup {
        /// The file.
        file: String,
        /// Why.
        source: platreset_fdt::LookupError,
    },
    /// A reset operation cannot be performed.
    #[error("cannot reset: {source} (in {file})")]
    Reset {
        /// The file.
        file: String,
        /// Why.
        source: Box<platreset_reset::perform::PerformError>,
    },
    /// ACPI tables cannot be read or parsed.
    #[error("ACPI: {0}")]
    Acpi(String),
    /// The allowlist file is not valid.
    #[error("invalid allowlist: {0}")]
    Allowlist(String),
    /// The live host refused or failed an operation (a message composed here).
    #[error("host: {0}")]
    Host(String),
    /// Reading or writing below the sysfs root failed.
    #[error("host: {0}")]
    Sysfs(#[from] platreset_host::sysfs::HostError),
    /// Binding or unbinding failed (the transaction restored what it could, and says so).
    #[error("host: {0}")]
    Bind(#[from] platreset_host::bind::BindError),
    /// A VFIO call failed.
    #[error("host: {0}")]
    Vfio(#[from] platreset_host::vfio::VfioError),
    /// The guard could not watch the process.
    #[error("host: {0}")]
    Guard(#[from] platreset_host::guard::GuardError),
    /// A guest device tree cannot be built.
    #[error("cannot build the guest device tree: {0}")]
    GuestDt(String),
    /// A verification could not run.
    #[error("cannot verify: {0}")]
    Verify(String),
    /// A verification ran and some check failed (exit status 3).
    #[error("verification failed: {0}")]
    ChecksFailed(String),
    /// An action refused for safety, with what to do.
    #[error("refusing: {0}")]
    Refused(String),
    /// Writing the output failed (a closed pipe is not reported).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// Options that contradict each other, or that do nothing where they were given.
    #[error("{0}")]
    Usage(String),
    /// Some inputs failed; each was reported as it was met.
    #[error("{failed} of {total} input file(s) could not be {done}")]
    SomeInputsFailed {
        /// What the command does to a file (`audited`, `verified`).
        done: &'static str,
        /// How many failed.
        failed: usize,
        /// How many there were.
        total: usize,
    },
}
