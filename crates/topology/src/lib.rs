//! The reset topology of one device tree: every node with `resets`, each specifier resolved
//! against its controller's `#reset-cells`, the nodes that share an identical line, and an
//! inventory of reset controllers, and which consumers are host infrastructure (IOMMUs, power
//! gates, clock controllers, …) and which nodes are IOMMUs.
//!
//! Owns: resolving reset specifiers the way Linux's `of_parse_phandle_with_args` does, and the
//! sharing analysis that no kernel code performs. Must not: decide whether a device is safe to
//! assign (that is the policy's job), know controller register layouts, or touch the host.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod line;
mod resolve;
mod service;
mod topology;

pub use line::{ResetLine, MAX_RESET_ARGS};
pub use resolve::ResolveError;
pub use service::Service;
pub use topology::{Consumer, Controller, Topology, PROPERTY_NAMES, SHARERS_NAMED};
