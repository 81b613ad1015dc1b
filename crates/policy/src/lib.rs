//! What vfio-platform decides about a device-tree device: which reset method it would use and
//! whether handing the device to a VM is safe, with the reasons, and the account of that
//! decision rule by rule (`explanation`).
//!
//! Owns: the policy rules, their wording and their account. Must not: open files under /sys or
//! /dev, perform a reset, or lay out what a command prints.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod allowlist;
mod companion;
pub mod evidence;
pub mod explanation;
pub mod generic_module;
pub mod grade;
pub mod group;
pub mod policy;
mod reason;
