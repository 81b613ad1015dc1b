//! Malformed DTBs built byte by byte, one defect each, with a comment per field so the bytes can
//! be audited. Each test asserts the exact `FdtError` variant and the offset it names.
//!
//! Layout used by [`dtb`] unless a test says otherwise:
//!
//! | offset | what                                     |
//! |--------|------------------------------------------|
//! | 0x00   | header (40 bytes, version 17)            |
//! | 0x28   | memory reservation map: (0, 0) only      |
//! | 0x38   | structure block (`STRUCT`)               |
//! | …      | strings block, right after the structure |

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::exercise::{exercise, Outcome};
use platreset_fdt::{Fdt, FdtError, Phandle, Reservation, MAX_DEPTH};

/// Where [`dtb`] puts the structure block.
const STRUCT: usize = 0x38;

/// Assembles a version-17 DTB: header, an empty reservation map, `structure`, `strings`.
fn dtb(structure: &[u8], strings: &[u8]) -> Vec<u8> {
    dtb_with_reservations(&[0; 16], structure, strings)
}

/// Like [`dtb`] with the reservation map's bytes given (a multiple of 8 bytes).
fn dtb_with_reservations(rsvmap: &[u8], structure: &[u8], strings: &[u8]) -> Vec<u8> {
    let off_struct = 0x28 + rsvmap.len();
    let off_strings = off_struct + structure.len();
    let total = off_strings + strings.len();
    let word = |v: usize| u32::try_from(v).unwrap().to_be_bytes();
    let mut blob = Vec::with_capacity(total);
    blob.extend_from_slice(&0xd00d_feed_u32.to_be_bytes()); // 0x00 magic
    blob.extend_from_slice(&word(total)); // 0x04 totalsize
    blob.extend_from_slice(&word(off_struct)); // 0x08 off_dt_struct
    blob.extend_from_slice(&word(off_strings)); // 0x0c off_dt_strings
    blob.extend_from_slice(&word(0x28)); // 0x10 off_mem_rsvmap
    blob.extend_from_slice(&word(17)); // 0x14 version
    blob.extend_from_slice(&word(16)); // 0x18 last_comp_version
    blob.extend_from_slice(&word(0)); // 0x1c boot_cpuid_phys
    blob.extend_from_slice(&word(strings.len())); // 0x20 size_dt_strings
    blob.extend_from_slice(&word(structure.len())); // 0x24 size_dt_struct
    blob.extend_from_slice(rsvmap); // 0x28 memory reservation map
    blob.extend_from_slice(structure);
    blob.extend_from_slice(strings);
    assert_eq!(blob.len(), total);
    blob
}

/// Overwrites the big-endian word at `offset` (a header field, in the tests below).
fn set_word(blob: &mut [u8], offset: usize, value: u32) {
    blob[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
}

/// The smallest valid structure block: an empty root node.
const EMPTY_ROOT: &[u8] = &[
    0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
    0x00, 0x00, 0x00, 0x00, // 0x3c name "" + NUL, padded to 4
    0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE
    0x00, 0x00, 0x00, 0x09, // 0x44 FDT_END
];

/// A root with one property `x` (name offset 0) of `len` bytes, of which 4 are present.
fn root_with_property(len: u32, nameoff: u32) -> Vec<u8> {
    let mut s = vec![
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name "" + padding
        0x00, 0x00, 0x00, 0x03, // 0x40 FDT_PROP
    ];
    s.extend_from_slice(&len.to_be_bytes()); // 0x44 len
    s.extend_from_slice(&nameoff.to_be_bytes()); // 0x48 nameoff
    s.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x2a, // 0x4c value <42>
        0x00, 0x00, 0x00, 0x02, // 0x50 FDT_END_NODE
        0x00, 0x00, 0x00, 0x09, // 0x54 FDT_END
    ]);
    s
}

/// Parses `blob`, expecting an error; shows the error when the pattern does not match.
macro_rules! assert_parse_err {
    ($blob:expr, $pattern:pat) => {{
        match Fdt::parse(&$blob) {
            Err(e @ $pattern) => e,
            Err(other) => panic!("expected {}, got {other:?}", stringify!($pattern)),
            Ok(fdt) => {
                panic!("expected {}, but the blob parsed ({} nodes)", stringify!($pattern), fdt.node_count())
            }
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Valid baselines: the builders themselves make good blobs.

#[test]
fn the_minimal_tree_parses() {
    let blob = dtb(EMPTY_ROOT, b"");
    let fdt = Fdt::parse(&blob).unwrap();
    assert_eq!(fdt.node_count(), 1);
    assert_eq!(fdt.root().offset(), STRUCT);
    assert_eq!(fdt.reservations().unwrap(), []);
    let with_property = dtb(&root_with_property(4, 0), b"x\0");
    let fdt = Fdt::parse(&with_property).unwrap();
    let x = fdt.root().property("x").unwrap();
    assert_eq!((x.offset(), x.u32()), (0x40, Ok(42)));
}

#[test]
fn bytes_after_totalsize_are_ignored() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    blob.extend_from_slice(&[0xff; 64]);
    assert_eq!(Fdt::parse(&blob).unwrap().header().total_size, blob.len() - 64);
}

#[test]
fn version_16_without_size_dt_struct_parses() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x14, 16); // version
    set_word(&mut blob, 0x24, 0xffff_ffff); // size_dt_struct: not a v16 field, must be ignored
    assert_eq!(Fdt::parse(&blob).unwrap().node_count(), 1);
}

#[test]
fn a_newer_version_compatible_with_17_parses() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x14, 18); // version
    set_word(&mut blob, 0x18, 17); // last_comp_version
    assert_eq!(Fdt::parse(&blob).unwrap().header().version, 18);
}

// ---------------------------------------------------------------------------------------------
// Header

#[test]
fn bad_magic_is_refused_naming_the_word_found() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x00, 0xedfe_0dd0); // magic, byte-swapped
    let e = assert_parse_err!(blob, FdtError::BadMagic { found: 0xedfe_0dd0 });
    assert!(e.to_string().contains("offset 0x0"), "{e}");
}

#[test]
fn unsupported_versions_are_refused() {
    for (version, last_comp) in [(15, 15), (1, 1), (18, 18), (17, 18), (16, 17)] {
        let mut blob = dtb(EMPTY_ROOT, b"");
        set_word(&mut blob, 0x14, version); // version
        set_word(&mut blob, 0x18, last_comp); // last_comp_version
        let e = match Fdt::parse(&blob) {
            Err(e @ FdtError::UnsupportedVersion { version: v, last_comp: l })
                if (v, l) == (version, last_comp) =>
            {
                e
            }
            other => panic!("version {version}/{last_comp}: {other:?}"),
        };
        assert!(e.to_string().contains("offset 0x14"), "{e}");
    }
}

#[test]
fn blob_shorter_than_its_header_is_truncated() {
    let blob = dtb(EMPTY_ROOT, b"");
    assert_parse_err!(blob[..0], FdtError::Truncated { what: "header", offset: 0, need: 4, have: 0 });
    // Version (0x14) is readable, last_comp_version (0x18..0x1c) is not.
    assert_parse_err!(
        blob[..0x18],
        FdtError::Truncated { what: "header", offset: 0, need: 0x1c, have: 0x18 }
    );
    // A version-17 header needs all 40 bytes.
    assert_parse_err!(
        blob[..0x24],
        FdtError::Truncated { what: "header", offset: 0, need: 0x28, have: 0x24 }
    );
}

#[test]
fn totalsize_larger_than_the_buffer_is_refused() {
    let blob = dtb(EMPTY_ROOT, b"");
    let cut = &blob[..blob.len() - 1];
    let e = assert_parse_err!(cut, FdtError::BadTotalSize { totalsize: 0x48, buffer: 0x47, .. });
    assert!(e.to_string().contains("offset 0x4"), "{e}");

    let mut huge = blob.clone();
    set_word(&mut huge, 0x04, u32::MAX); // totalsize
    assert_parse_err!(huge, FdtError::BadTotalSize { totalsize: u32::MAX, buffer: 0x48, .. });
}

#[test]
fn totalsize_smaller_than_the_header_is_refused() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x04, 0x20); // totalsize: less than the 0x28-byte header
    let e = assert_parse_err!(blob, FdtError::BadTotalSize { totalsize: 0x20, buffer: 0x48, .. });
    assert!(e.to_string().contains("smaller than the header"), "{e}");
}

#[test]
fn structure_block_outside_the_blob_is_refused() {
    let mut past_end = dtb(EMPTY_ROOT, b"");
    set_word(&mut past_end, 0x08, 0x48); // off_dt_struct = totalsize: the 16 bytes lie beyond
    assert_parse_err!(
        past_end,
        FdtError::BlockOutOfRange {
            block: "structure",
            field: 0x8,
            start: 0x48,
            end: 0x58,
            min: 0x28,
            totalsize: 0x48
        }
    );

    let mut too_long = dtb(EMPTY_ROOT, b"");
    set_word(&mut too_long, 0x24, 0xffff_ffff); // size_dt_struct
    assert_parse_err!(
        too_long,
        FdtError::BlockOutOfRange { block: "structure", field: 0x8, start: 0x38, end: 0x1_0000_0037, .. }
    );

    let mut over_header = dtb(EMPTY_ROOT, b"");
    set_word(&mut over_header, 0x08, 0x20); // off_dt_struct inside the header
    assert_parse_err!(
        over_header,
        FdtError::BlockOutOfRange { block: "structure", field: 0x8, start: 0x20, .. }
    );
}

#[test]
fn strings_block_outside_the_blob_is_refused() {
    let mut blob = dtb(EMPTY_ROOT, b"a\0");
    set_word(&mut blob, 0x20, 0x100); // size_dt_strings
    assert_parse_err!(
        blob,
        FdtError::BlockOutOfRange {
            block: "strings",
            field: 0xc,
            start: 0x48,
            end: 0x148,
            totalsize: 0x4a,
            ..
        }
    );

    let mut far = dtb(EMPTY_ROOT, b"a\0");
    set_word(&mut far, 0x0c, 0xffff_fff0); // off_dt_strings
    assert_parse_err!(
        far,
        FdtError::BlockOutOfRange { block: "strings", field: 0xc, start: 0xffff_fff0, .. }
    );
}

#[test]
fn reservation_map_outside_the_blob_is_refused() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x10, 0x50); // off_mem_rsvmap beyond totalsize 0x48
    assert_parse_err!(
        blob,
        FdtError::BlockOutOfRange { block: "memory reservation", field: 0x10, start: 0x50, end: 0x50, .. }
    );
}

#[test]
fn misaligned_blocks_are_refused() {
    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x08, 0x3a); // off_dt_struct: 2 bytes off
    set_word(&mut blob, 0x24, 0x0c); // size_dt_struct: keeps the block inside the blob
    assert_parse_err!(blob, FdtError::Misaligned { block: "structure", offset: 0x3a, align: 4 });

    let mut blob = dtb(EMPTY_ROOT, b"");
    set_word(&mut blob, 0x10, 0x2c); // off_mem_rsvmap: 4 bytes off
    assert_parse_err!(blob, FdtError::Misaligned { block: "memory reservation", offset: 0x2c, align: 8 });
}

// ---------------------------------------------------------------------------------------------
// Memory reservation map (checked by `parse`, read by `reservations()`)

#[test]
fn reservations_are_read_up_to_the_terminator() {
    let rsvmap = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, // 0x28 address 0x1000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, // 0x30 size 0x2000
        0x00, 0x00, 0x00, 0x08, 0x80, 0x00, 0x00, 0x00, // 0x38 address 0x8_8000_0000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x40 size 0 (still an entry)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x48 terminator: address 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x50              size 0
    ];
    let blob = dtb_with_reservations(&rsvmap, EMPTY_ROOT, b"");
    let fdt = Fdt::parse(&blob).unwrap();
    assert_eq!(
        fdt.reservations().unwrap(),
        [Reservation { address: 0x1000, size: 0x2000 }, Reservation { address: 0x8_8000_0000, size: 0 }]
    );
}

#[test]
fn unterminated_reservation_map_is_rejected_by_parse() {
    let rsvmap = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, // 0x28 address 0x1000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
        0x00, // 0x30 size 0x2000
              // no (0, 0) terminator: the structure block starts at 0x38
    ];
    let blob = dtb_with_reservations(&rsvmap, EMPTY_ROOT, b"");
    assert_eq!(
        Fdt::parse(&blob).unwrap_err(),
        FdtError::UnterminatedReservations { offset: 0x28, limit: 0x38 }
    );

    // A map at the very end of the blob has no room for any entry.
    let mut at_end = dtb(EMPTY_ROOT, b"");
    set_word(&mut at_end, 0x10, 0x48); // off_mem_rsvmap = totalsize
    assert_eq!(
        Fdt::parse(&at_end).unwrap_err(),
        FdtError::UnterminatedReservations { offset: 0x48, limit: 0x48 }
    );
}

// ---------------------------------------------------------------------------------------------
// Structure block: names and properties

#[test]
fn unterminated_node_name_is_refused() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        b'r', b'o', b'o', b't', // 0x3c name "root" without NUL: the block ends here
    ];
    assert_parse_err!(dtb(&structure, b"\0"), FdtError::UnterminatedName { offset: 0x3c });
}

#[test]
fn property_longer_than_the_structure_block_is_refused() {
    // The block is 0x20 bytes long: it ends at 0x58.
    assert_parse_err!(
        dtb(&root_with_property(0x100, 0), b"x\0"),
        FdtError::PropertyOverflow { offset: 0x40, len: 0x100, end: 0x58 }
    );
    assert_parse_err!(
        dtb(&root_with_property(0xffff_ffff, 0), b"x\0"),
        FdtError::PropertyOverflow { offset: 0x40, len: 0xffff_ffff, end: 0x58 }
    );
    // One byte too long: the value would end at 0x59.
    assert_parse_err!(
        dtb(&root_with_property(0x0d, 0), b"x\0"),
        FdtError::PropertyOverflow { offset: 0x40, len: 0x0d, end: 0x58 }
    );
}

#[test]
fn truncated_property_header_is_refused() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x03, // 0x40 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x44 len; nameoff missing: the block ends at 0x48
    ];
    assert_parse_err!(
        dtb(&structure, b"x\0"),
        FdtError::Truncated { what: "property header", offset: 0x40, need: 12, have: 8 }
    );
}

#[test]
fn name_offset_outside_the_strings_block_is_refused() {
    assert_parse_err!(
        dtb(&root_with_property(4, 0x10), b"x\0"),
        FdtError::BadNameOffset { offset: 0x40, nameoff: 0x10, strings_size: 2 }
    );
    assert_parse_err!(
        dtb(&root_with_property(4, 0xffff_ffff), b"x\0"),
        FdtError::BadNameOffset { offset: 0x40, nameoff: 0xffff_ffff, strings_size: 2 }
    );
    // Inside the block, but no NUL follows before its end.
    assert_parse_err!(
        dtb(&root_with_property(4, 0), b"abc"),
        FdtError::BadNameOffset { offset: 0x40, nameoff: 0, strings_size: 3 }
    );
    // The terminator itself is a valid (empty) name; one past it is not.
    assert!(Fdt::parse(&dtb(&root_with_property(4, 1), b"x\0")).is_ok());
    assert_parse_err!(
        dtb(&root_with_property(4, 2), b"x\0"),
        FdtError::BadNameOffset { offset: 0x40, nameoff: 2, strings_size: 2 }
    );
}

#[test]
fn unknown_token_is_refused() {
    for token in [0x0000_0000_u32, 0x0000_0005, 0x0000_0008, 0x0000_000a, 0xffff_ffff, 0x0100_0000] {
        let mut structure = vec![
            0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
            0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        ];
        structure.extend_from_slice(&token.to_be_bytes()); // 0x40 the unknown token
        structure.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x02, // 0x44 FDT_END_NODE
            0x00, 0x00, 0x00, 0x09, // 0x48 FDT_END
        ]);
        let blob = dtb(&structure, b"");
        match Fdt::parse(&blob) {
            Err(FdtError::BadToken { token: t, offset: 0x40 }) if t == token => {}
            other => panic!("token {token:#x}: {other:?}"),
        }
    }
}

#[test]
fn nop_tokens_are_skipped_anywhere() {
    let structure = [
        0x00, 0x00, 0x00, 0x04, // 0x38 FDT_NOP
        0x00, 0x00, 0x00, 0x01, // 0x3c FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x40 name ""
        0x00, 0x00, 0x00, 0x04, // 0x44 FDT_NOP
        0x00, 0x00, 0x00, 0x02, // 0x48 FDT_END_NODE
        0x00, 0x00, 0x00, 0x04, // 0x4c FDT_NOP
        0x00, 0x00, 0x00, 0x09, // 0x50 FDT_END
    ];
    let blob = dtb(&structure, b"");
    assert_eq!(Fdt::parse(&blob).unwrap().root().offset(), 0x3c);
}

// ---------------------------------------------------------------------------------------------
// Structure block: tokens in the wrong place

#[test]
fn end_node_without_an_open_node_is_refused() {
    let structure = [
        0x00, 0x00, 0x00, 0x02, // 0x38 FDT_END_NODE, nothing open
        0x00, 0x00, 0x00, 0x09, // 0x3c FDT_END
    ];
    assert_parse_err!(
        dtb(&structure, b""),
        FdtError::UnexpectedToken { token: "FDT_END_NODE", offset: 0x38, .. }
    );

    let extra = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE closes the root
        0x00, 0x00, 0x00, 0x02, // 0x44 FDT_END_NODE, nothing open
        0x00, 0x00, 0x00, 0x09, // 0x48 FDT_END
    ];
    assert_parse_err!(
        dtb(&extra, b""),
        FdtError::UnexpectedToken { token: "FDT_END_NODE", offset: 0x44, .. }
    );
}

#[test]
fn property_outside_any_node_is_refused() {
    let before_root = [
        0x00, 0x00, 0x00, 0x03, // 0x38 FDT_PROP before any node
        0x00, 0x00, 0x00, 0x00, // 0x3c len 0
        0x00, 0x00, 0x00, 0x00, // 0x40 nameoff 0
        0x00, 0x00, 0x00, 0x09, // 0x44 FDT_END
    ];
    assert_parse_err!(
        dtb(&before_root, b"x\0"),
        FdtError::UnexpectedToken { token: "FDT_PROP", offset: 0x38, .. }
    );

    let after_root = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE
        0x00, 0x00, 0x00, 0x03, // 0x44 FDT_PROP after the root closed
        0x00, 0x00, 0x00, 0x00, // 0x48 len 0
        0x00, 0x00, 0x00, 0x00, // 0x4c nameoff 0
        0x00, 0x00, 0x00, 0x09, // 0x50 FDT_END
    ];
    assert_parse_err!(
        dtb(&after_root, b"x\0"),
        FdtError::UnexpectedToken { token: "FDT_PROP", offset: 0x44, .. }
    );
}

#[test]
fn property_after_a_subnode_is_refused() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x01, // 0x40 FDT_BEGIN_NODE
        b'c', 0x00, 0x00, 0x00, // 0x44 name "c" + padding
        0x00, 0x00, 0x00, 0x02, // 0x48 FDT_END_NODE (c)
        0x00, 0x00, 0x00, 0x03, // 0x4c FDT_PROP of the root, after its subnode c
        0x00, 0x00, 0x00, 0x00, // 0x50 len 0
        0x00, 0x00, 0x00, 0x00, // 0x54 nameoff 0
        0x00, 0x00, 0x00, 0x02, // 0x58 FDT_END_NODE (root)
        0x00, 0x00, 0x00, 0x09, // 0x5c FDT_END
    ];
    let e = assert_parse_err!(
        dtb(&structure, b"x\0"),
        FdtError::UnexpectedToken { token: "FDT_PROP", offset: 0x4c, .. }
    );
    assert!(e.to_string().contains("after a subnode"), "{e}");
}

#[test]
fn missing_fdt_end_is_refused() {
    let closed = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE; the block ends at 0x44 without FDT_END
    ];
    let e = assert_parse_err!(dtb(&closed, b""), FdtError::UnexpectedEnd { offset: 0x44, .. });
    assert!(e.to_string().contains("without FDT_END"), "{e}");

    let open = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""; the block ends at 0x40 with the root open
    ];
    let e = assert_parse_err!(dtb(&open, b""), FdtError::UnexpectedEnd { offset: 0x40, .. });
    assert!(e.to_string().contains("open node"), "{e}");

    // Half a token at the end is no token.
    let half = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE
        0x00, 0x00, // 0x44 half of FDT_END
    ];
    assert_parse_err!(dtb(&half, b""), FdtError::UnexpectedEnd { offset: 0x44, .. });
}

#[test]
fn fdt_end_inside_an_open_node_or_before_any_node_is_refused() {
    let open = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x09, // 0x40 FDT_END with the root open
    ];
    assert_parse_err!(dtb(&open, b""), FdtError::UnexpectedToken { token: "FDT_END", offset: 0x40, .. });

    let empty = [
        0x00, 0x00, 0x00, 0x09, // 0x38 FDT_END: no root at all
    ];
    let e =
        assert_parse_err!(dtb(&empty, b""), FdtError::UnexpectedToken { token: "FDT_END", offset: 0x38, .. });
    assert!(e.to_string().contains("no root"), "{e}");
}

#[test]
fn second_root_node_is_refused() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x02, // 0x40 FDT_END_NODE
        0x00, 0x00, 0x00, 0x01, // 0x44 FDT_BEGIN_NODE: a second root
        0x00, 0x00, 0x00, 0x00, // 0x48 name ""
        0x00, 0x00, 0x00, 0x02, // 0x4c FDT_END_NODE
        0x00, 0x00, 0x00, 0x09, // 0x50 FDT_END
    ];
    assert_parse_err!(
        dtb(&structure, b""),
        FdtError::UnexpectedToken { token: "FDT_BEGIN_NODE", offset: 0x44, .. }
    );
}

// ---------------------------------------------------------------------------------------------
// Depth

/// `depth` nested nodes named "n" (root included), closed properly.
fn nested(depth: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(depth * 12 + 4);
    for _ in 0..depth {
        s.extend_from_slice(&[0x00, 0x00, 0x00, 0x01]); // FDT_BEGIN_NODE
        s.extend_from_slice(&[b'n', 0x00, 0x00, 0x00]); // name "n" + padding
    }
    for _ in 0..depth {
        s.extend_from_slice(&[0x00, 0x00, 0x00, 0x02]); // FDT_END_NODE
    }
    s.extend_from_slice(&[0x00, 0x00, 0x00, 0x09]); // FDT_END
    s
}

#[test]
fn ten_thousand_nested_nodes_are_refused_quickly_at_the_depth_cap() {
    let blob = dtb(&nested(10_000), b"");
    let start = Instant::now();
    // Node k (0-based) starts at STRUCT + 8k; the first refused one is node MAX_DEPTH, which would
    // have depth MAX_DEPTH, i.e. be nested MAX_DEPTH + 1 levels deep.
    let expected_offset = STRUCT + 8 * MAX_DEPTH;
    match Fdt::parse(&blob) {
        Err(FdtError::TooDeep { offset, depth, max }) => {
            assert_eq!((offset, depth, max), (expected_offset, MAX_DEPTH + 1, MAX_DEPTH));
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_millis(100), "took {:?}", start.elapsed());
}

#[test]
fn nesting_up_to_the_cap_is_accepted() {
    let blob = dtb(&nested(MAX_DEPTH), b"");
    let fdt = Fdt::parse(&blob).unwrap();
    assert_eq!(fdt.node_count(), MAX_DEPTH);
    let deepest = fdt.nodes().last().unwrap();
    assert_eq!(deepest.depth(), MAX_DEPTH - 1);
    assert_eq!(deepest.path(), "/n".repeat(MAX_DEPTH - 1));
    assert_eq!(fdt.find_path(&deepest.path()), Ok(deepest));
    assert!(matches!(exercise(&blob), Outcome::Accepted { .. }));

    let blob = dtb(&nested(MAX_DEPTH + 1), b"");
    assert_parse_err!(blob, FdtError::TooDeep { depth: 65, max: 64, .. });
}

// ---------------------------------------------------------------------------------------------
// Phandles: trees that are valid but look cyclic or claim one phandle twice

/// Strings block for the phandle tests.
const PHANDLE_STRINGS: &[u8] = b"phandle\0resets\0linux,phandle\0";
// nameoff 0x00 "phandle", 0x08 "resets", 0x0f "linux,phandle"

#[test]
fn a_node_referenced_by_its_own_child_and_itself_resolves_without_looping() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x01, // 0x40 FDT_BEGIN_NODE
        b'a', 0x00, 0x00, 0x00, // 0x44 name "a"
        0x00, 0x00, 0x00, 0x03, // 0x48 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x4c len 4
        0x00, 0x00, 0x00, 0x00, // 0x50 nameoff -> "phandle"
        0x00, 0x00, 0x00, 0x01, // 0x54 phandle <1>
        0x00, 0x00, 0x00, 0x03, // 0x58 FDT_PROP
        0x00, 0x00, 0x00, 0x08, // 0x5c len 8
        0x00, 0x00, 0x00, 0x08, // 0x60 nameoff -> "resets"
        0x00, 0x00, 0x00, 0x01, // 0x64 resets <1 ...>: a's own phandle
        0x00, 0x00, 0x00, 0x00, // 0x68            ... 0>
        0x00, 0x00, 0x00, 0x01, // 0x6c FDT_BEGIN_NODE
        b'b', 0x00, 0x00, 0x00, // 0x70 name "b"
        0x00, 0x00, 0x00, 0x03, // 0x74 FDT_PROP
        0x00, 0x00, 0x00, 0x08, // 0x78 len 8
        0x00, 0x00, 0x00, 0x08, // 0x7c nameoff -> "resets"
        0x00, 0x00, 0x00, 0x01, // 0x80 resets <1 ...>: its parent's phandle
        0x00, 0x00, 0x00, 0x03, // 0x84            ... 3>
        0x00, 0x00, 0x00, 0x02, // 0x88 FDT_END_NODE (b)
        0x00, 0x00, 0x00, 0x02, // 0x8c FDT_END_NODE (a)
        0x00, 0x00, 0x00, 0x02, // 0x90 FDT_END_NODE (root)
        0x00, 0x00, 0x00, 0x09, // 0x94 FDT_END
    ];
    let blob = dtb(&structure, PHANDLE_STRINGS);
    let fdt = Fdt::parse(&blob).unwrap();
    let index = fdt.phandle_index();
    let a = fdt.find_path("/a").unwrap();
    let b = fdt.find_path("/a/b").unwrap();
    assert_eq!((a.offset(), b.offset()), (0x40, 0x6c));
    assert_eq!(index.lookup(&fdt, 1), Some(a));
    assert_eq!(b.parent(), Some(a));
    let from_b = b.property("resets").unwrap().u32s().unwrap().next().unwrap();
    let from_a = a.property("resets").unwrap().u32s().unwrap().next().unwrap();
    assert_eq!(index.lookup(&fdt, from_b), Some(a));
    assert_eq!(index.lookup(&fdt, from_a), Some(a));
    assert!(index.duplicates().is_empty());
    assert!(matches!(exercise(&blob), Outcome::Accepted { nodes: 3, properties: 3 }));
}

#[test]
fn two_nodes_claiming_one_phandle_keep_the_first_and_list_the_second_as_duplicate() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x01, // 0x40 FDT_BEGIN_NODE
        b'a', 0x00, 0x00, 0x00, // 0x44 name "a"
        0x00, 0x00, 0x00, 0x03, // 0x48 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x4c len 4
        0x00, 0x00, 0x00, 0x00, // 0x50 nameoff -> "phandle"
        0x00, 0x00, 0x00, 0x07, // 0x54 phandle <7>
        0x00, 0x00, 0x00, 0x02, // 0x58 FDT_END_NODE (a)
        0x00, 0x00, 0x00, 0x01, // 0x5c FDT_BEGIN_NODE
        b'b', 0x00, 0x00, 0x00, // 0x60 name "b"
        0x00, 0x00, 0x00, 0x03, // 0x64 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x68 len 4
        0x00, 0x00, 0x00, 0x0f, // 0x6c nameoff -> "linux,phandle"
        0x00, 0x00, 0x00, 0x07, // 0x70 linux,phandle <7>: the same value as a
        0x00, 0x00, 0x00, 0x02, // 0x74 FDT_END_NODE (b)
        0x00, 0x00, 0x00, 0x01, // 0x78 FDT_BEGIN_NODE
        b'c', 0x00, 0x00, 0x00, // 0x7c name "c"
        0x00, 0x00, 0x00, 0x03, // 0x80 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x84 len 4
        0x00, 0x00, 0x00, 0x00, // 0x88 nameoff -> "phandle"
        0x00, 0x00, 0x00, 0x07, // 0x8c phandle <7> a third time
        0x00, 0x00, 0x00, 0x02, // 0x90 FDT_END_NODE (c)
        0x00, 0x00, 0x00, 0x02, // 0x94 FDT_END_NODE (root)
        0x00, 0x00, 0x00, 0x09, // 0x98 FDT_END
    ];
    let blob = dtb(&structure, PHANDLE_STRINGS);
    let fdt = Fdt::parse(&blob).unwrap();
    let index = fdt.phandle_index();
    let [a, b, c] = ["/a", "/b", "/c"].map(|p| fdt.find_path(p).unwrap());
    let seven = Phandle::new(7).unwrap();
    assert_eq!(index.get(seven), Some(a.id()));
    assert_eq!(index.lookup(&fdt, 7), Some(a));
    assert_eq!(index.duplicates(), [(seven, b.id()), (seven, c.id())]);
    assert_eq!(index.len(), 1);
    // Each node still reports the phandle it claims.
    assert_eq!([a.phandle(), b.phandle(), c.phandle()], [Some(seven); 3]);
    assert!(matches!(exercise(&blob), Outcome::Accepted { nodes: 4, .. }));
}

#[test]
fn unusable_phandle_values_fall_back_to_linux_phandle_or_to_none() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x01, // 0x40 FDT_BEGIN_NODE
        b'z', 0x00, 0x00, 0x00, // 0x44 name "z"
        0x00, 0x00, 0x00, 0x03, // 0x48 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x4c len 4
        0x00, 0x00, 0x00, 0x00, // 0x50 nameoff -> "phandle"
        0x00, 0x00, 0x00, 0x00, // 0x54 phandle <0>: means "none"
        0x00, 0x00, 0x00, 0x02, // 0x58 FDT_END_NODE (z)
        0x00, 0x00, 0x00, 0x01, // 0x5c FDT_BEGIN_NODE
        b'w', 0x00, 0x00, 0x00, // 0x60 name "w"
        0x00, 0x00, 0x00, 0x03, // 0x64 FDT_PROP
        0x00, 0x00, 0x00, 0x02, // 0x68 len 2: not one cell
        0x00, 0x00, 0x00, 0x00, // 0x6c nameoff -> "phandle"
        0x00, 0x05, 0x00, 0x00, // 0x70 value 00 05 + padding
        0x00, 0x00, 0x00, 0x03, // 0x74 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x78 len 4
        0x00, 0x00, 0x00, 0x0f, // 0x7c nameoff -> "linux,phandle"
        0x00, 0x00, 0x00, 0x05, // 0x80 linux,phandle <5>: used, `phandle` is unreadable
        0x00, 0x00, 0x00, 0x02, // 0x84 FDT_END_NODE (w)
        0x00, 0x00, 0x00, 0x01, // 0x88 FDT_BEGIN_NODE
        b'm', 0x00, 0x00, 0x00, // 0x8c name "m"
        0x00, 0x00, 0x00, 0x03, // 0x90 FDT_PROP
        0x00, 0x00, 0x00, 0x04, // 0x94 len 4
        0x00, 0x00, 0x00, 0x00, // 0x98 nameoff -> "phandle"
        0xff, 0xff, 0xff, 0xff, // 0x9c phandle <0xffffffff>: means "none"
        0x00, 0x00, 0x00, 0x02, // 0xa0 FDT_END_NODE (m)
        0x00, 0x00, 0x00, 0x02, // 0xa4 FDT_END_NODE (root)
        0x00, 0x00, 0x00, 0x09, // 0xa8 FDT_END
    ];
    let blob = dtb(&structure, PHANDLE_STRINGS);
    let fdt = Fdt::parse(&blob).unwrap();
    let index = fdt.phandle_index();
    assert_eq!(fdt.find_path("/z").unwrap().phandle(), None);
    assert_eq!(fdt.find_path("/m").unwrap().phandle(), None);
    let w = fdt.find_path("/w").unwrap();
    assert_eq!(w.phandle(), Phandle::new(5));
    assert_eq!(index.lookup(&fdt, 5), Some(w));
    assert_eq!((index.len(), index.lookup(&fdt, 0), index.lookup(&fdt, u32::MAX)), (1, None, None));
    assert!(matches!(exercise(&blob), Outcome::Accepted { nodes: 4, .. }));
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs that once panicked

/// `decode_pairs` added the two cell counts in u32 and overflowed (a panic with overflow checks,
/// a wrong stride without) when a caller passed large counts.
#[test]
fn decode_pairs_with_huge_cell_counts_is_an_error_not_an_overflow() {
    let blob = dtb(&root_with_property(4, 0), b"x\0");
    let fdt = Fdt::parse(&blob).unwrap();
    let x = fdt.root().property("x").unwrap();
    for (ac, sc) in [(u32::MAX, 1), (1, u32::MAX), (u32::MAX, u32::MAX), (0x8000_0000, 0x8000_0000)] {
        match x.decode_pairs(ac, sc) {
            Err(FdtError::BadValue { offset: 0x40, .. }) => {}
            other => panic!("decode_pairs({ac:#x}, {sc:#x}): {other:?}"),
        }
    }
    assert_eq!(x.decode_pairs(1, 0), Ok(vec![(42, 0)]));
}

/// `Property::is_named` (behind `Node::property`, `Fdt::alias` and `Fdt::label`) compared the
/// requested name byte for byte and then wanted a NUL: a request containing a NUL matched across
/// two adjacent names of the strings block ("a\0b" found the property "a" before "b\0").
#[test]
fn a_requested_name_containing_nul_matches_no_property() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x03, // 0x40 FDT_PROP
        0x00, 0x00, 0x00, 0x00, // 0x44 len 0
        0x00, 0x00, 0x00, 0x00, // 0x48 nameoff -> "a"
        0x00, 0x00, 0x00, 0x03, // 0x4c FDT_PROP
        0x00, 0x00, 0x00, 0x00, // 0x50 len 0
        0x00, 0x00, 0x00, 0x02, // 0x54 nameoff -> "b"
        0x00, 0x00, 0x00, 0x02, // 0x58 FDT_END_NODE
        0x00, 0x00, 0x00, 0x09, // 0x5c FDT_END
    ];
    let blob = dtb(&structure, b"a\0b\0");
    let fdt = Fdt::parse(&blob).unwrap();
    let root = fdt.root();
    assert_eq!(root.property("a").map(|p| p.offset()), Some(0x40));
    assert_eq!(root.property("b").map(|p| p.offset()), Some(0x4c));
    for name in ["a\0b", "a\0", "\0"] {
        assert_eq!(root.property(name), None, "{name:?}");
        assert!(root.properties().all(|p| !p.is_named(name)), "{name:?}");
    }
}

/// Found by the fuzzer (an invariant of the test driver, not a crate bug): dtc refuses sibling
/// nodes of one name, the reader accepts them, like libfdt. A path then leads through the first
/// of them, so the second one's subtree cannot be reached by path.
#[test]
fn duplicate_sibling_names_parse_and_paths_take_the_first() {
    let structure = [
        0x00, 0x00, 0x00, 0x01, // 0x38 FDT_BEGIN_NODE (root)
        0x00, 0x00, 0x00, 0x00, // 0x3c name ""
        0x00, 0x00, 0x00, 0x01, // 0x40 FDT_BEGIN_NODE
        b'd', 0x00, 0x00, 0x00, // 0x44 name "d"
        0x00, 0x00, 0x00, 0x02, // 0x48 FDT_END_NODE (first d)
        0x00, 0x00, 0x00, 0x01, // 0x4c FDT_BEGIN_NODE
        b'd', 0x00, 0x00, 0x00, // 0x50 name "d" again
        0x00, 0x00, 0x00, 0x01, // 0x54 FDT_BEGIN_NODE
        b'c', 0x00, 0x00, 0x00, // 0x58 name "c"
        0x00, 0x00, 0x00, 0x02, // 0x5c FDT_END_NODE (c)
        0x00, 0x00, 0x00, 0x02, // 0x60 FDT_END_NODE (second d)
        0x00, 0x00, 0x00, 0x02, // 0x64 FDT_END_NODE (root)
        0x00, 0x00, 0x00, 0x09, // 0x68 FDT_END
    ];
    let blob = dtb(&structure, b"");
    let fdt = Fdt::parse(&blob).unwrap();
    let c = fdt.nodes().last().unwrap();
    assert_eq!((c.path().as_str(), c.parent().unwrap().offset()), ("/d/c", 0x4c));
    assert_eq!(fdt.find_path("/d").unwrap().offset(), 0x40);
    assert!(matches!(fdt.find_path("/d/c"), Err(platreset_fdt::LookupError::NotFound { .. })));
    assert!(matches!(exercise(&blob), Outcome::Accepted { nodes: 4, .. }));
}
