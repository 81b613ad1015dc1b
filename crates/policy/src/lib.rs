//! What vfio-platform decides about a device-tree device: which reset method it would use and
//! whether handing the device to a VM is safe, with the reasons.
//!
//! Owns: the policy rules and their wording. Must not: open files under /sys or /dev, or perform
//! a reset.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod allowlist;
mod companion;
pub mod generic_module;
pub mod group;
pub mod policy;
mod reason;
