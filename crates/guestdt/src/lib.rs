//! Guest device trees for platform devices handed to a VM: a node "as simple and generic as
//! possible" (the seed's words), built from the host node by one property policy, laid out for
//! the VMM that will run the guest.
//!
//! Owns: the property policy (`props`), reading the host's wiring (`host`) and checking the host
//! names it carries into the output (`host_names`), the parts that go with a device (`subnodes`), the shared node
//! builder (`build`) and one module per target. Must not: write files or decide eligibility.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod avf;
pub mod build;
pub mod crosvm;
pub mod driver_needs;
pub mod host;
mod host_names;
pub mod props;
pub mod qemu;
pub mod rules;
pub mod subnodes;
pub mod xen;
mod xml;

pub use build::{GuestError, Output, Placed};
pub use host::{HostDevice, HostError, HostIrq};
pub use props::{Action, Decision, Fix, HostClock, HostClocks, KeptOn, Overrides, Supply, Tree};

/// What every target may need beyond the devices.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// The guest's base DTB, loaded (QEMU's dumpdtb, crosvm's base for checking an overlay…).
    pub base: Option<platreset_dtedit::Node>,
    /// Each device's sysfs name on the host (`ee100000.mmc`), by host path: for the VMM arguments.
    pub sysfs_names: Vec<(String, String)>,
    /// Devices the allowlist records as not mastering DMA (host paths): Xen may force-assign
    /// them without an IOMMU.
    pub non_dma: Vec<String>,
    /// Xen: write the dom0less form.
    pub dom0less: bool,
}
