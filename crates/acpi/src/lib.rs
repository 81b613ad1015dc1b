//! A small, strict reader of ACPI definition blocks (DSDT, SSDT): enough of AML to list the
//! devices of the namespace with their `_HID`/`_CID`, whether a `_RST` method (or a `_PRR`
//! power-resource reference) exists in their scope — the question vfio-platform asks of ACPI —
//! and the memory ranges of a static `_CRS`, which match a device-tree node to its ACPI companion.
//!
//! Owns: the table header and checksum, package lengths, name strings (root `\`, parent `^`,
//! dual and multi-segment names), the namespace-building opcodes (Scope, Device, Method,
//! Name, PowerResource, Processor, ThermalZone, External, Alias, Mutex, Event, OperationRegion),
//! and the memory descriptors of a `Name (_CRS, Buffer)` (a `_CRS` method is only noted).
//! Anything else inside a scope is skipped to the end of that scope by its package length: the
//! reader never guesses at an opcode it does not know. Must not: evaluate AML.
//!
//! Threat model: tables are untrusted bytes. Every read is bounds-checked, every package must fit
//! in its parent, nesting and name paths are capped (so what one object costs, in memory and in
//! output, is bounded), and each error names the table and the byte offset.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod aml;
mod resource;
mod table;

pub use aml::{read_tables, AcpiDevice, Namespace, MAX_DEPTH, MAX_PATH_SEGMENTS};
pub use resource::{Crs, MemRange};
pub use table::{AcpiError, Table};
