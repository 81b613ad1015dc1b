//! Guest device trees for platform devices handed to a VM: a node "as simple and generic as
//! possible" (the seed's words), built from the host node by one property policy, laid out for
//! the VMM that will run the guest.
//!
//! Owns: the property policy (`props`), reading the host's wiring (`host`), the shared node
//! builder (`build`) and one module per target. Must not: write files or decide eligibility.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod host;
pub mod props;
pub mod qemu;

pub use build::{GuestError, Placed};
pub use host::{HostDevice, HostError, HostIrq};
pub use props::{Action, Decision, Overrides, Tree};
