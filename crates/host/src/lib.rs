//! The running host: platform devices as sysfs shows them, binding them to vfio-platform as a
//! transaction that restores every device on failure, the VFIO ioctls, and a guard that resets a
//! VMM's devices when the VMM dies.
//!
//! Owns: every path under a sysfs root (validated: no `/`, no `..`, no symlink escaping the
//! root), every write (logged), and the ioctl numbers. Must not: decide eligibility (the policy
//! does) or write anything unless asked to by an explicit caller.

#![deny(missing_docs)]

pub mod bind;
pub mod clk;
pub mod discover;
pub mod fake;
pub mod guard;
pub mod kernel;
pub mod sysfs;
pub mod vfio;
