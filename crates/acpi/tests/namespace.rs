//! The AML reader on tables compiled by the real `iasl` (tests/asl), and on broken ones.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_acpi::{AcpiDevice, AcpiError, Namespace, Table};

fn devices() -> Vec<AcpiDevice> {
    let aml = platreset_testkit::asl_fixture("devices");
    let mut ns = Namespace::default();
    ns.add(&Table::parse("DSDT", &aml).unwrap()).unwrap();
    ns.devices()
}

fn device(path: &str) -> AcpiDevice {
    devices().into_iter().find(|d| d.path == path).unwrap_or_else(|| panic!("no {path} in {:?}", devices()))
}

#[test]
fn every_device_is_listed_by_absolute_path() {
    let paths: Vec<String> = devices().into_iter().map(|d| d.path).collect();
    assert_eq!(
        paths,
        ["\\_SB.DMA0", "\\_SB.ETH0", "\\_SB.PCI0", "\\_SB.PCI0.GPU0", "\\_SB.PCI0.SATA", "\\_SB.UAR0"]
    );
}

#[test]
fn a_device_with_a_rst_method_is_found_with_string_ids() {
    let eth = device("\\_SB.ETH0");
    assert_eq!(eth.hid.as_deref(), Some("AMDI8001"));
    assert_eq!(eth.cids, ["AMDI8002"]);
    assert!(eth.rst && !eth.prr);
}

#[test]
fn a_device_without_rst_is_not() {
    let uart = device("\\_SB.UAR0");
    assert!(!uart.rst);
    assert_eq!(uart.hid.as_deref(), Some("PNP0501"), "EISAID decoded");
    assert_eq!(uart.cids, ["PNP0500", "ARMH0011"], "a _CID package of an EISAID and a string");
    assert!(!device("\\_SB.PCI0").rst && !device("\\_SB.PCI0.GPU0").rst);
}

#[test]
fn rst_added_from_a_nested_scope_through_a_parent_prefix_counts() {
    // Scope (^^DMA0) { Method (_RST) } inside \_SB.PCI0.GPU0.
    let dma = device("\\_SB.DMA0");
    assert!(dma.rst);
    assert!(dma.prr, "and its _PRR power-resource reference is seen");
}

#[test]
fn a_device_declared_by_full_path_gets_rst_from_a_later_scope() {
    assert!(device("\\_SB.PCI0.SATA").rst);
}

#[test]
fn broken_tables_are_errors_naming_table_and_offset() {
    let good = platreset_testkit::asl_fixture("devices");
    assert!(matches!(Table::parse("T", &good[..20]), Err(AcpiError::Truncated { .. })));
    assert!(matches!(Table::parse("T", &good[..good.len() - 1]), Err(AcpiError::Truncated { .. })));
    let mut sum = good.clone();
    sum[40] ^= 0x10;
    assert!(matches!(Table::parse("T", &sum), Err(AcpiError::Checksum { .. })));
    let mut sig = good.clone();
    sig[..4].copy_from_slice(b"FACP");
    assert!(matches!(Table::parse("T", &sig), Err(AcpiError::Signature { .. })));
}

/// Wraps AML in a valid header with a correct checksum.
fn table(aml: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"SSDT");
    t.extend_from_slice(&((36 + aml.len()) as u32).to_le_bytes());
    t.extend_from_slice(&[2, 0]); // revision, checksum (fixed below)
    t.extend_from_slice(b"PLTRSTTESTTABL\x01\0\0\0INTL\x01\0\0\0"); // OEM id (6), table id (8), revisions, creator
    t.extend_from_slice(aml);
    let sum = t.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

#[test]
fn a_package_length_past_its_parent_is_an_error_at_its_offset() {
    let aml = [
        0x10, 0x0A, b'\\', b'_', b'S', b'B', b'_', // Scope (\_SB_), PkgLength 10 (6 bytes follow)
        0x5B, 0x82, 0x3F, b'D', // Device, PkgLength 63: far past the scope's end
    ];
    let t = table(&aml);
    let err = Namespace::default().add(&Table::parse("SSDT1", &t).unwrap()).unwrap_err();
    assert!(matches!(err, AcpiError::Malformed { offset: 45, .. }), "{err}");
    assert!(err.to_string().starts_with("SSDT1: package length"), "{err}");
}

#[test]
fn deep_nesting_is_refused_quickly() {
    // 100 nested Scope (\_SB_) { … } with correct lengths.
    let mut aml: Vec<u8> = Vec::new();
    for _ in 0..100 {
        let mut outer = vec![0x10];
        let body_len = 4 + 1 + aml.len() + 3; // pkglength (4 bytes) + '\' + … + name
        outer.push(0xC0 | (body_len & 0x0f) as u8);
        outer.extend_from_slice(&[(body_len >> 4) as u8, (body_len >> 12) as u8, (body_len >> 20) as u8]);
        outer.extend_from_slice(b"\\_SB_");
        outer.pop(); // "\_SB" plus a full 4-byte segment below
        outer.push(b'_');
        outer.extend_from_slice(&aml);
        aml = outer;
    }
    let t = table(&aml);
    let result = Namespace::default().add(&Table::parse("SSDT2", &t).unwrap());
    assert!(matches!(result, Err(AcpiError::TooDeep { .. })), "{result:?}");
}

#[test]
fn a_hundred_thousand_mutated_tables_never_panic() {
    let good = platreset_testkit::asl_fixture("devices");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut parsed = 0;
    for i in 0..100_000 {
        let mut t = good.clone();
        match i % 4 {
            0 => {
                let at = 36 + (next() as usize) % (t.len() - 36);
                t[at] ^= 1 << (next() % 8);
            }
            1 => {
                let at = 36 + (next() as usize) % (t.len() - 36);
                t[at] = [0x00, 0xFF, 0x10, 0x5B, 0x08, 0x12, 0x2F, 0x5C, 0x5E, 0xC0][(next() % 10) as usize];
            }
            2 => {
                let cut = 36 + (next() as usize) % (t.len() - 36);
                t.truncate(cut);
                let len = t.len() as u32;
                t[4..8].copy_from_slice(&len.to_le_bytes());
            }
            _ => {
                let a = 36 + (next() as usize) % (t.len() - 36);
                let b = 36 + (next() as usize) % (t.len() - 36);
                t.swap(a, b);
            }
        }
        // Fix the checksum so the AML walker, not the checksum, meets the damage.
        t[9] = 0;
        let sum = t
            .iter()
            .take(u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize)
            .fold(0u8, |s, &b| s.wrapping_add(b));
        t[9] = 0u8.wrapping_sub(sum);
        if let Ok(table) = Table::parse("M", &t) {
            let mut ns = Namespace::default();
            if ns.add(&table).is_ok() {
                parsed += 1;
                let _ = ns.devices();
            }
        }
    }
    eprintln!("mutated tables: 100000, parsed cleanly: {parsed}");
}
