//! Crafted definition blocks whose nested `Scope` paths made the namespace grow quadratically
//! (issue 16, point 6): scopes nested deep, each named by a long multi-segment path, with many
//! objects below. Every object used to carry the whole path (a 130 KB table listing 10,000
//! devices became 765 MB of `platreset acpi` output); paths are now bounded, so what one object
//! costs is a constant. Bounded by sizes, never by time.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_acpi::{AcpiError, Namespace, Table, MAX_DEPTH, MAX_PATH_SEGMENTS};

/// A PkgLength for a package whose contents after the length are `body` bytes.
fn pkg_length(body: usize) -> Vec<u8> {
    for extra in 0..4usize {
        let total = body + 1 + extra;
        if extra == 0 && total < 0x40 {
            return vec![total as u8];
        }
        if extra > 0 && total < 1 << (4 + 8 * extra) {
            let mut out = vec![(extra as u8) << 6 | (total & 0x0f) as u8];
            out.extend((0..extra).map(|i| (total >> (4 + 8 * i)) as u8));
            return out;
        }
    }
    panic!("package of {body} bytes is too long for a PkgLength");
}

/// `Scope (name) { body }`.
fn scope(name: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x10]; // ScopeOp
    out.extend(pkg_length(name.len() + body.len()));
    out.extend_from_slice(name);
    out.extend_from_slice(body);
    out
}

/// `Device (name) {}`.
fn device(name: [u8; 4]) -> Vec<u8> {
    let mut out = vec![0x5B, 0x82]; // ExtOpPrefix, DeviceOp
    out.extend(pkg_length(4));
    out.extend_from_slice(&name);
    out
}

/// A MultiNamePath of `count` copies of `segment`.
fn multi_name(segment: [u8; 4], count: u8) -> Vec<u8> {
    let mut out = vec![0x2F, count]; // MultiNamePrefix, SegCount
    for _ in 0..count {
        out.extend_from_slice(&segment);
    }
    out
}

/// Wraps AML in a DSDT header with a correct checksum.
fn table(aml: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"DSDT");
    t.extend_from_slice(&((36 + aml.len()) as u32).to_le_bytes());
    t.extend_from_slice(&[2, 0]); // revision, checksum (fixed below)
    t.extend_from_slice(b"PLTRSTCRAFTED\0\x01\0\0\0INTL\x01\0\0\0"); // OEM id (6), table id (8), revisions, creator
    t.extend_from_slice(aml);
    let sum = t.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

/// `devices` devices (names AAAA, AAAB, …) inside `depth` nested scopes below `\_SB`, each
/// scope named by `segments` copies of its own segment.
fn nested(depth: usize, segments: u8, devices: usize) -> Vec<u8> {
    let mut aml: Vec<u8> = (0..devices)
        .flat_map(|i| {
            device([
                b'A' + (i / 17_576 % 26) as u8,
                b'A' + (i / 676 % 26) as u8,
                b'A' + (i / 26 % 26) as u8,
                b'A' + (i % 26) as u8,
            ])
        })
        .collect();
    for level in 0..depth {
        let segment = [
            b'L',
            b'0' + (level / 100 % 10) as u8,
            b'0' + (level / 10 % 10) as u8,
            b'0' + (level % 10) as u8,
        ];
        let name = if segments == 1 { segment.to_vec() } else { multi_name(segment, segments) };
        aml = scope(&name, &aml);
    }
    table(&scope(b"\\_SB_", &aml))
}

#[test]
fn scopes_nested_with_long_names_are_refused_at_the_first_path_past_the_limit() {
    // 60 scopes, each 255 segments deeper: 10,000 devices would each carry 15,300 segments.
    let t = nested(60, 255, 10_000);
    assert!(t.len() < 140_000, "{}", t.len());
    let err = Namespace::default().add(&Table::parse("DSDT", &t).unwrap()).unwrap_err();
    let AcpiError::PathTooLong { offset, max, .. } = &err else { panic!("{err}") };
    assert_eq!(*max, MAX_PATH_SEGMENTS);
    // \_SB_ plus the outermost scope's 255 segments is already past it: the error is at that
    // scope's name string, before any of the 10,000 devices is read.
    let name = t.windows(6).position(|w| w == [0x2F, 0xFF, b'L', b'0', b'5', b'9']).unwrap();
    assert_eq!(*offset, name, "{err}");
    assert!(err.to_string().contains("a name path longer than 128 segments"), "{err}");
}

#[test]
fn the_deepest_paths_allowed_cost_each_object_a_bounded_path() {
    // As deep as nesting allows, two segments a level: 1 + 2 × 60 = 121 segments, under the
    // limit; 5,000 devices at the bottom.
    let depth = MAX_DEPTH - 4;
    let t = nested(depth, 2, 5_000);
    let mut ns = Namespace::default();
    ns.add(&Table::parse("DSDT", &t).unwrap()).unwrap();
    let devices = ns.devices();
    assert_eq!(devices.len(), 5_000);
    let segments = |path: &str| path.split('.').count();
    assert!(devices.iter().all(|d| segments(&d.path) == 1 + 2 * depth + 1));
    // What is printed per device is bounded by the path limit (at most 5 bytes a segment),
    // whatever the nesting: linear in the devices, so in the table.
    let printed: usize = devices.iter().map(|d| d.path.len()).sum();
    assert!(printed <= devices.len() * 5 * MAX_PATH_SEGMENTS, "{printed}");
    // A device costs at least 7 bytes of AML (DeviceOp, length, name).
    let per_byte = (5 * MAX_PATH_SEGMENTS).div_ceil(7);
    assert!(printed <= per_byte * t.len(), "{printed} bytes of paths from a {}-byte table", t.len());
}

#[test]
fn a_path_at_the_limit_is_read_and_one_past_it_is_not() {
    // \_SB_ and 126 segments make a 127-segment scope: its device's path is 128, the limit.
    let fits = table(&scope(b"\\_SB_", &scope(&multi_name(*b"ABCD", 126), &device(*b"DEV0"))));
    let mut ns = Namespace::default();
    ns.add(&Table::parse("DSDT", &fits).unwrap()).unwrap();
    let devices = ns.devices();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].path.split('.').count(), MAX_PATH_SEGMENTS);
    // One segment more: the scope is still read, its device's path (129) is not.
    let past = table(&scope(b"\\_SB_", &scope(&multi_name(*b"ABCD", 127), &device(*b"DEV0"))));
    let err = Namespace::default().add(&Table::parse("DSDT", &past).unwrap()).unwrap_err();
    assert!(matches!(err, AcpiError::PathTooLong { .. }), "{err}");
}
