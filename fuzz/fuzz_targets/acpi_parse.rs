//! Fuzzes the AML reader: any bytes as a table, and the same bytes with a header and checksum
//! that pass, so the namespace walk itself meets the input. It must never panic or hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use platreset_acpi::{Namespace, Table};

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = Table::parse("FUZZ", data) {
        let mut ns = Namespace::default();
        let _ = ns.add(&table);
        let _ = ns.devices();
    }
    let mut wrapped = Vec::with_capacity(36 + data.len());
    wrapped.extend_from_slice(b"SSDT");
    wrapped.extend_from_slice(&((36 + data.len()) as u32).to_le_bytes());
    wrapped.extend_from_slice(b"\x02\x00PLTRSTFUZZTABL\x01\x00\x00\x00INTL\x01\x00\x00\x00");
    wrapped.extend_from_slice(data);
    let sum = wrapped.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    wrapped[9] = 0u8.wrapping_sub(sum);
    if let Ok(table) = Table::parse("FUZZ", &wrapped) {
        let mut ns = Namespace::default();
        let _ = ns.add(&table);
        let _ = ns.devices();
    }
});
