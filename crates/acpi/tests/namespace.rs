//! The AML reader on tables compiled by the real `iasl` (tests/asl), and on broken ones.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_acpi::{AcpiDevice, AcpiError, Crs, MemRange, Namespace, Table};

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

fn range(base: u64, len: u64) -> MemRange {
    MemRange { base, len }
}

#[test]
fn static_crs_ranges_are_exactly_the_memory_descriptors_of_the_asl() {
    let eth = device("\\_SB.ETH0");
    assert_eq!(eth.crs, Crs::Static);
    assert_eq!(
        eth.mmio,
        [range(0xE070_0000, 0x1_0000), range(0xE071_0000, 0x100)],
        "two Memory32Fixed, in order, the Interrupt between them skipped"
    );
    let uart = device("\\_SB.UAR0");
    assert_eq!(uart.crs, Crs::Static);
    assert_eq!(uart.mmio, [range(0xE101_0000, 0x1000)], "DWordMemory; IO and IRQNoFlags skipped");
    let gpu = device("\\_SB.PCI0.GPU0");
    assert_eq!(gpu.crs, Crs::Static);
    assert_eq!(
        gpu.mmio,
        [range(0x40_0000_0000, 0x1_0000_0000), range(0xE200_0000, 0x100_0000)],
        "QWordMemory above 4 GiB, then Memory32Fixed"
    );
    let pci = device("\\_SB.PCI0");
    assert_eq!(pci.crs, Crs::Static);
    assert_eq!(
        pci.mmio,
        [range(0x3F_8000_0000, 0x8000_0000)],
        "the producer window at its CPU address (_MIN + _TRA); the bus numbers and I/O skipped"
    );
}

#[test]
fn a_crs_method_is_noted_but_never_evaluated() {
    let sata = device("\\_SB.PCI0.SATA");
    assert_eq!(sata.crs, Crs::Method);
    assert_eq!(sata.mmio, [], "the Memory32Fixed the method would return is not read");
}

#[test]
fn a_device_without_crs_has_none() {
    let dma = device("\\_SB.DMA0");
    assert_eq!((dma.crs, dma.mmio), (Crs::None, vec![]));
}

#[test]
fn ranges_match_addresses_a_device_tree_would_give() {
    let gpu = device("\\_SB.PCI0.GPU0");
    assert!(gpu.mmio.iter().any(|r| r.contains(0x40_8000_0000)));
    assert!(gpu.mmio.iter().any(|r| r.overlaps(0xE2FF_F000, 0x2000)));
    assert!(!gpu.mmio.iter().any(|r| r.overlaps(0xE300_0000, 0x1000)), "SATA's method buffer");
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

/// Recomputes the checksum of a table changed in place.
fn fix_checksum(t: &mut [u8]) {
    t[9] = 0;
    let sum = t.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    t[9] = 0u8.wrapping_sub(sum);
}

/// The table offset of ETH0's first descriptor: `Memory32Fixed (ReadWrite, 0xE0700000, …)`.
fn eth0_memory32fixed(table: &[u8]) -> usize {
    let descriptor = [0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x70, 0xE0]; // Memory32Fixed, length 9, RW, _BAS
    table
        .windows(descriptor.len())
        .position(|w| w == descriptor)
        .expect("ETH0's Memory32Fixed in the fixture")
}

#[test]
fn a_descriptor_overrunning_the_crs_buffer_is_an_error_at_its_offset() {
    let mut t = platreset_testkit::asl_fixture("devices");
    let at = eth0_memory32fixed(&t);
    t[at + 1] = 0x40; // length 64: past the buffer, which ends 35 bytes from here
    fix_checksum(&mut t);
    let err = Namespace::default().add(&Table::parse("DSDT", &t).unwrap()).unwrap_err();
    assert_eq!(
        err,
        AcpiError::Resource {
            table: "DSDT".into(),
            object: "\\_SB.ETH0._CRS".into(),
            what: "Memory32Fixed descriptor needs 67 bytes, the _CRS buffer has 35 left".into(),
            offset: at,
        }
    );
    assert!(err.to_string().starts_with("DSDT: \\_SB.ETH0._CRS: Memory32Fixed"), "{err}");
    assert!(err.to_string().ends_with(&format!("at offset {at:#x}")), "{err}");
}

#[test]
fn a_descriptor_shorter_than_its_fields_is_an_error_at_its_offset() {
    let mut t = platreset_testkit::asl_fixture("devices");
    let at = eth0_memory32fixed(&t);
    t[at + 1] = 0x05; // 5 bytes: its length field would be read from the next descriptor
    fix_checksum(&mut t);
    let err = Namespace::default().add(&Table::parse("DSDT", &t).unwrap()).unwrap_err();
    assert!(matches!(&err, AcpiError::Resource { offset, .. } if *offset == at), "{err}");
    assert!(err.to_string().contains("declares 5 bytes, its fields need 9"), "{err}");
}

/// An SSDT of `Scope (\_SB) { Device (DEV0) { Name (_CRS, Buffer (<size>) { <bytes> }) Method (_RST) } }`.
fn crs_table(size: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut buffer = vec![0x11, (1 + size.len() + bytes.len()) as u8]; // BufferOp, PkgLength
    buffer.extend_from_slice(size);
    buffer.extend_from_slice(bytes);
    let mut device = b"\x08_CRS".to_vec(); // NameOp, _CRS
    device.extend_from_slice(&buffer);
    device.extend_from_slice(&[0x14, 0x06, b'_', b'R', b'S', b'T', 0x00]); // Method (_RST, 0), empty
    let mut aml = vec![0x10, (1 + 5 + 2 + 1 + 4 + device.len()) as u8]; // ScopeOp, PkgLength
    aml.extend_from_slice(b"\\_SB_");
    aml.extend_from_slice(&[0x5B, 0x82, (1 + 4 + device.len()) as u8]); // DeviceOp, PkgLength
    aml.extend_from_slice(b"DEV0");
    aml.extend_from_slice(&device);
    assert!(aml[1] < 0x40, "one-byte package lengths only");
    table(&aml)
}

fn crs_device(t: &[u8]) -> Result<AcpiDevice, AcpiError> {
    let mut ns = Namespace::default();
    ns.add(&Table::parse("SSDT3", t)?)?;
    Ok(ns.devices().remove(0))
}

#[test]
fn a_hand_built_overrun_names_the_table_and_offset() {
    let bytes = [
        0x22, 0x10, 0x00, // IRQNoFlags {4}
        0x86, 0x09, 0x00, // Memory32Fixed, length 9: the buffer ends here
    ];
    let t = crs_table(&[0x0A, 0x06], &bytes); // BytePrefix 6
    let at = t.len() - 7 - 3; // the descriptor's 3 bytes before Method (_RST)
    let err = crs_device(&t).unwrap_err();
    assert!(matches!(&err, AcpiError::Resource { offset, .. } if *offset == at), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("SSDT3: \\_SB.DEV0._CRS: Memory32Fixed descriptor needs 12 bytes, the _CRS buffer has 3 left at offset {at:#x}")
    );
}

#[test]
fn a_crs_buffer_shorter_than_its_size_is_zero_filled() {
    let bytes = [
        0x86, 0x09, 0x00, 0x01, // Memory32Fixed, length 9, read-write
        0x00, 0x00, 0x00, 0xE0, // _BAS 0xE0000000
        0x00, 0x10, 0x00, // _LEN 0x1000 but for its high byte, which the zero fill gives
    ];
    for size in
        [&[0x0A, 0x0C][..], &[0x0B, 0x00, 0x01], &[0x0E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]]
    {
        let dev = crs_device(&crs_table(size, &bytes)).unwrap();
        assert_eq!((dev.crs, dev.mmio), (Crs::Static, vec![range(0xE000_0000, 0x1000)]), "size {size:02x?}");
        assert!(dev.rst, "the walk goes on after the buffer");
    }
    let dev = crs_device(&crs_table(&[0x0A, 0x0B], &bytes)).unwrap_err();
    assert!(matches!(dev, AcpiError::Resource { .. }), "size 11 with no zero fill: {dev}");
}

#[test]
fn a_crs_buffer_of_computed_size_is_skipped_unread() {
    let bytes = [0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0xE0, 0, 0x10, 0, 0]; // Memory32Fixed
    let dev = crs_device(&crs_table(&[0x60], &bytes)).unwrap(); // Local0: known only when run
    assert_eq!((dev.crs, dev.mmio), (Crs::None, vec![]));
    assert!(dev.rst, "the buffer is skipped by its package length");
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
