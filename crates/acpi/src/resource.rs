//! Resource descriptors (ACPI 6.5 §6.4): the memory ranges a static `_CRS` resource template
//! declares, as Linux turns them into `IORESOURCE_MEM` resources (`drivers/acpi/resource.c`).
//!
//! Owns: walking small and large descriptors by their own lengths, and decoding Memory24,
//! Memory32, Memory32Fixed and the Word/DWord/QWord/Extended address spaces of memory type.
//! Every other descriptor is skipped by its length. Must not: know about tables or AML; `aml.rs`
//! hands over the buffer and turns a [`Fault`] into an error with the table and offset.

/// A range of CPU physical addresses, `len` bytes from `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemRange {
    /// First address.
    pub base: u64,
    /// Size in bytes.
    pub len: u64,
}

impl MemRange {
    /// Whether `addr` lies in the range.
    pub fn contains(&self, addr: u64) -> bool {
        // Subtracting instead of computing `base + len` keeps a range that ends at 2^64 exact.
        addr >= self.base && addr - self.base < self.len
    }

    /// Whether the range shares at least one address with the `len` bytes from `base`.
    pub fn overlaps(&self, base: u64, len: u64) -> bool {
        if self.len == 0 || len == 0 {
            return false;
        }
        if base >= self.base {
            base - self.base < self.len
        } else {
            self.base - base < len
        }
    }

    /// The last address of the range (`None` when it is empty or would wrap past 2^64).
    pub fn last(&self) -> Option<u64> {
        self.len.checked_sub(1).and_then(|n| self.base.checked_add(n))
    }
}

/// Where a device's current resources (`_CRS`) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crs {
    /// No `_CRS` the reader can use: none in the device's scope, or a `Name (_CRS, …)` whose
    /// value is not a buffer of constant size (ACPI requires a buffer; Linux finds no resources).
    #[default]
    None,
    /// `Name (_CRS, Buffer)`: the device's memory ranges are the ones its descriptors declare.
    Static,
    /// `Method (_CRS)`: the ranges exist only when the method runs, and AML is never evaluated
    /// here, so they are unknown.
    Method,
}

/// A descriptor that does not fit: `at` is its offset from the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub at: usize,
    pub what: String,
}

/// A resource template buffer: `bytes` as the AML writes them, then zeros up to `len` (a
/// `Buffer (n) { … }` with fewer than `n` initializer bytes is zero-filled).
struct Template<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl Template<'_> {
    /// The little-endian integer of `n` bytes at `at`; the caller has checked they are in `len`.
    fn le(&self, at: usize, n: usize) -> u64 {
        (0..n).rev().fold(0u64, |acc, i| (acc << 8) | u64::from(self.bytes.get(at + i).copied().unwrap_or(0)))
    }

    /// A descriptor named `what` of `need` bytes at `at` must end inside the buffer.
    fn fits(&self, at: usize, need: usize, what: &str) -> Result<(), Fault> {
        let have = self.len.saturating_sub(at);
        if need > have {
            return Err(Fault {
                at,
                what: format!("{what} needs {need} bytes, the _CRS buffer has {have} left"),
            });
        }
        Ok(())
    }
}

/// The large descriptors that can carry memory: name, and the length their fixed fields need.
fn memory_kind(lead: u8) -> Option<(&'static str, usize)> {
    match lead {
        0x81 => Some(("Memory24 descriptor", 9)),
        0x85 => Some(("Memory32 descriptor", 17)),
        0x86 => Some(("Memory32Fixed descriptor", 9)),
        0x87 => Some(("DWord address space descriptor", 23)),
        0x88 => Some(("Word address space descriptor", 13)),
        0x8A => Some(("QWord address space descriptor", 43)),
        0x8B => Some(("Extended address space descriptor", 53)),
        _ => None,
    }
}

/// The memory ranges of the resource template `bytes` zero-filled to `len` bytes, in the order
/// of their descriptors.
pub(crate) fn memory_ranges(bytes: &[u8], len: usize) -> Result<Vec<MemRange>, Fault> {
    let t = Template { bytes, len: len.max(bytes.len()) };
    let mut ranges = Vec::new();
    let mut pos = 0;
    // Past the initializer bytes the buffer is zeros, which read as empty descriptors of a
    // reserved small type: nothing more can be declared there, and stopping keeps a declared size
    // of up to 2^64 from being walked byte by byte.
    while let Some(&lead) = bytes.get(pos) {
        if lead & 0x80 == 0 {
            if (lead >> 3) & 0x0F == 0x0F {
                break; // End Tag
            }
            // A zero-length small descriptor is still its one tag byte, so the walk always advances.
            let total = 1 + usize::from(lead & 0x07);
            t.fits(pos, total, &format!("small descriptor {lead:#04x}"))?;
            pos += total;
            continue;
        }
        let (what, fixed) = memory_kind(lead).map_or_else(
            || (format!("large descriptor {lead:#04x}"), 0),
            |(name, fixed)| (name.to_string(), fixed),
        );
        t.fits(pos, 3, &format!("{what} header"))?;
        let body = t.le(pos + 1, 2) as usize; // 16 bits
        t.fits(pos, 3 + body, &what)?;
        if body < fixed {
            // Reading its fields anyway would take them from the next descriptor.
            return Err(Fault {
                at: pos,
                what: format!("{what} declares {body} bytes, its fields need {fixed}"),
            });
        }
        let field = |offset: usize, n: usize| t.le(pos + offset, n);
        let range = match lead {
            // Memory24 counts in 256-byte units.
            0x81 => fixed_range(field(4, 2) << 8, field(10, 2) << 8),
            0x85 => fixed_range(field(4, 4), field(16, 4)),
            0x86 => fixed_range(field(4, 4), field(8, 4)),
            // Address spaces: fields of 2, 4 or 8 bytes after type, general and specific flags
            // (and, for Extended, a revision and a reserved byte).
            0x88 => address_space(
                field(3, 1),
                field(4, 1),
                [field(8, 2), field(10, 2), field(12, 2), field(14, 2)],
            ),
            0x87 => address_space(
                field(3, 1),
                field(4, 1),
                [field(10, 4), field(14, 4), field(18, 4), field(22, 4)],
            ),
            0x8A => address_space(
                field(3, 1),
                field(4, 1),
                [field(14, 8), field(22, 8), field(30, 8), field(38, 8)],
            ),
            0x8B => address_space(
                field(3, 1),
                field(4, 1),
                [field(16, 8), field(24, 8), field(32, 8), field(40, 8)],
            ),
            _ => None,
        };
        ranges.extend(range);
        pos += 3 + body;
    }
    Ok(ranges)
}

/// Memory24/Memory32/Memory32Fixed: `len` bytes from `base`. Linux disables an empty one
/// (`acpi_dev_memresource_flags`), so it is not reported.
fn fixed_range(base: u64, len: u64) -> Option<MemRange> {
    (len != 0).then_some(MemRange { base, len })
}

/// An address space descriptor's memory range, the way Linux's `acpi_decode_space` makes it:
/// the window is `_MIN..=_MAX` (not `_MIN` plus `_LEN`), moved to the CPU's view by `_TRA` only
/// when the device produces the range (general flags bit 0 clear: a bridge window), since a
/// consumer's translation offset must be 0 and Linux ignores it. A window with `_LEN` 0 or
/// `_MAX` below `_MIN` is disabled there, so it is not reported; one that would wrap past 2^64 is
/// not CPU-addressable.
fn address_space(kind: u64, general_flags: u64, [min, max, translation, len]: [u64; 4]) -> Option<MemRange> {
    const MEMORY: u64 = 0;
    if kind != MEMORY || len == 0 {
        return None;
    }
    let offset = if general_flags & 1 == 0 { translation } else { 0 };
    let start = min.checked_add(offset)?;
    let end = max.checked_add(offset)?;
    let size = end.checked_sub(start)?.checked_add(1)?;
    Some(MemRange { base: start, len: size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(bytes: &[u8]) -> Vec<MemRange> {
        memory_ranges(bytes, bytes.len()).unwrap_or_else(|f| panic!("{f:?}"))
    }

    const END_TAG: [u8; 2] = [0x79, 0x00]; // End Tag, checksum

    #[test]
    fn memory24_counts_in_256_byte_units() {
        let bytes = [
            0x81, 0x09, 0x00, // Memory24, length 9
            0x01, // read-write
            0x00, 0x0E, // _MIN 0x0E00 (× 256)
            0xFF, 0x0E, // _MAX
            0x00, 0x00, // _ALN
            0x10, 0x00, // _LEN 0x10 (× 256)
            0x79, 0x00, // End Tag
        ];
        assert_eq!(ranges(&bytes), [MemRange { base: 0x000E_0000, len: 0x1000 }]);
    }

    #[test]
    fn memory32_uses_its_minimum_and_length() {
        let bytes = [
            0x85, 0x11, 0x00, // Memory32, length 17
            0x01, // read-write
            0x00, 0x00, 0x50, 0xE0, // _MIN 0xE0500000
            0x00, 0xF0, 0x5F, 0xE0, // _MAX 0xE05FF000 (a relocatable window's last base)
            0x00, 0x10, 0x00, 0x00, // _ALN
            0x00, 0x10, 0x00, 0x00, // _LEN 0x1000
        ];
        assert_eq!(ranges(&bytes), [MemRange { base: 0xE050_0000, len: 0x1000 }]);
    }

    #[test]
    fn an_empty_memory32fixed_is_not_a_range() {
        let bytes = [
            0x86, 0x09, 0x00, // Memory32Fixed, length 9
            0x01, // read-write
            0x00, 0x00, 0x70, 0xE0, // _BAS
            0x00, 0x00, 0x00, 0x00, // _LEN 0
        ];
        assert_eq!(ranges(&bytes), []);
    }

    /// A QWord address space descriptor of `kind` with the given general flags and fields.
    fn qword(kind: u8, general: u8, min: u64, max: u64, translation: u64, len: u64) -> Vec<u8> {
        let mut d = vec![0x8A, 0x2B, 0x00]; // QWord address space, length 43
        d.extend_from_slice(&[kind, general, 0x00]); // resource type, general flags, type flags
        d.extend_from_slice(&0u64.to_le_bytes()); // _GRA
        for field in [min, max, translation, len] {
            d.extend_from_slice(&field.to_le_bytes()); // _MIN, _MAX, _TRA, _LEN
        }
        d
    }

    const CONSUMER: u8 = 0x01;
    const PRODUCER: u8 = 0x00;

    #[test]
    fn a_producer_window_is_moved_by_its_translation_offset() {
        let mut bytes = qword(0, PRODUCER, 0x8000_0000, 0xFFFF_FFFF, 0x3F_0000_0000, 0x8000_0000);
        bytes.extend_from_slice(&END_TAG);
        assert_eq!(ranges(&bytes), [MemRange { base: 0x3F_8000_0000, len: 0x8000_0000 }]);
    }

    #[test]
    fn a_consumer_translation_offset_is_ignored_as_linux_does() {
        let bytes = qword(0, CONSUMER, 0x40_0000_0000, 0x40_0000_FFFF, 0x1000, 0x1_0000);
        assert_eq!(ranges(&bytes), [MemRange { base: 0x40_0000_0000, len: 0x1_0000 }]);
    }

    #[test]
    fn the_window_is_min_to_max_whatever_len_says() {
        // _LEN disagrees with _MAX - _MIN + 1; Linux keeps _MIN..=_MAX.
        let bytes = qword(0, CONSUMER, 0x1000, 0x1FFF, 0, 0x10);
        assert_eq!(ranges(&bytes), [MemRange { base: 0x1000, len: 0x1000 }]);
    }

    #[test]
    fn disabled_or_unaddressable_windows_are_not_ranges() {
        let cases = [
            qword(0, CONSUMER, 0x1000, 0x1FFF, 0, 0),         // _LEN 0: unassigned
            qword(0, CONSUMER, 0x2000, 0x1FFF, 0, 0x10),      // _MAX below _MIN
            qword(0, CONSUMER, 0, u64::MAX, 0, u64::MAX),     // all of 2^64: its size does not fit
            qword(0, PRODUCER, 0x1000, u64::MAX, 0x10, 0x10), // translated past 2^64
            qword(1, CONSUMER, 0x3F8, 0x3FF, 0, 8),           // I/O
            qword(0xC0, CONSUMER, 0x1000, 0x1FFF, 0, 0x1000), // vendor-defined
        ];
        for bytes in cases {
            assert_eq!(ranges(&bytes), [], "{bytes:02x?}");
        }
    }

    #[test]
    fn word_dword_and_extended_memory_spaces_are_read() {
        let bytes = [
            0x88, 0x0D, 0x00, // Word address space, length 13
            0x00, 0x0D, 0x00, // memory, consumer + fixed min/max, type flags
            0x00, 0x00, // _GRA
            0x00, 0xA0, // _MIN 0xA000
            0xFF, 0xAF, // _MAX 0xAFFF
            0x00, 0x00, // _TRA
            0x00, 0x10, // _LEN 0x1000
            0x87, 0x17, 0x00, // DWord address space, length 23
            0x00, 0x0D, 0x00, // memory, consumer, type flags
            0x00, 0x00, 0x00, 0x00, // _GRA
            0x00, 0x00, 0x01, 0xE1, // _MIN 0xE1010000
            0xFF, 0x0F, 0x01, 0xE1, // _MAX 0xE1010FFF
            0x00, 0x00, 0x00, 0x00, // _TRA
            0x00, 0x10, 0x00, 0x00, // _LEN 0x1000
            0x8B, 0x35, 0x00, // Extended address space, length 53
            0x00, 0x0D, 0x00, 0x01, 0x00, // memory, consumer, type flags, revision, reserved
            0, 0, 0, 0, 0, 0, 0, 0, // _GRA
            0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, // _MIN 0x50_0000_0000
            0xFF, 0xFF, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, // _MAX 0x50_0000_FFFF
            0, 0, 0, 0, 0, 0, 0, 0, // _TRA
            0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // _LEN 0x10000
            0, 0, 0, 0, 0, 0, 0, 0, // type-specific attributes
            0x79, 0x00, // End Tag
        ];
        assert_eq!(
            ranges(&bytes),
            [
                MemRange { base: 0xA000, len: 0x1000 },
                MemRange { base: 0xE101_0000, len: 0x1000 },
                MemRange { base: 0x50_0000_0000, len: 0x1_0000 },
            ]
        );
    }

    #[test]
    fn other_descriptors_are_skipped_by_their_length() {
        let bytes = [
            0x22, 0x10, 0x00, // IRQNoFlags {4}
            0x00, // a reserved small type of length 0: one byte
            0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, // IO (Decode16, 0x3F8, 0x3F8, 1, 8)
            0x89, 0x06, 0x00, 0x09, 0x01, 0x40, 0x00, 0x00, 0x00, // Interrupt {0x40}
            0x86, 0x09, 0x00, 0x01, // Memory32Fixed, read-write
            0x00, 0x00, 0x70, 0xE0, // _BAS 0xE0700000
            0x00, 0x00, 0x01, 0x00, // _LEN 0x10000
            0x79, 0x00, // End Tag
            0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0xF0, 0, 0x10, 0, 0, // after the End Tag: not read
        ];
        assert_eq!(ranges(&bytes), [MemRange { base: 0xE070_0000, len: 0x1_0000 }]);
    }

    #[test]
    fn a_buffer_longer_than_its_bytes_is_zero_filled() {
        let bytes = [
            0x86, 0x09, 0x00, 0x01, // Memory32Fixed, length 9, read-write
            0x00, 0x00, 0x00, 0xE0, // _BAS 0xE0000000
            0x00, 0x10, 0x00, // _LEN 0x1000, its high byte left to the zero fill
        ];
        assert_eq!(memory_ranges(&bytes, 12), Ok(vec![MemRange { base: 0xE000_0000, len: 0x1000 }]));
        assert_eq!(memory_ranges(&bytes, usize::MAX), Ok(vec![MemRange { base: 0xE000_0000, len: 0x1000 }]));
    }

    #[test]
    fn a_descriptor_past_the_buffer_is_a_fault_at_its_start() {
        let bytes = [
            0x22, 0x10, 0x00, // IRQNoFlags {4}
            0x86, 0x09, 0x00, 0x01, 0x00, // Memory32Fixed, length 9: 7 of its 12 bytes
        ];
        let fault = memory_ranges(&bytes, bytes.len()).unwrap_err();
        assert_eq!(fault.at, 3);
        assert_eq!(fault.what, "Memory32Fixed descriptor needs 12 bytes, the _CRS buffer has 5 left");
        let cut_header = [0x22, 0x10, 0x00, 0x8A, 0x2B]; // QWord: only 2 of its 3 header bytes
        let fault = memory_ranges(&cut_header, 5).unwrap_err();
        assert_eq!(fault.at, 3);
        assert_eq!(
            fault.what,
            "QWord address space descriptor header needs 3 bytes, the _CRS buffer has 2 left"
        );
        let small = [0x47, 0x01, 0xF8]; // IO: 3 of its 8 bytes
        assert_eq!(memory_ranges(&small, 3).unwrap_err().at, 0);
    }

    #[test]
    fn a_descriptor_shorter_than_its_fields_is_a_fault() {
        let bytes = [
            0x86, 0x05, 0x00, // Memory32Fixed, length 5 (needs 9)
            0x01, 0x00, 0x00, 0x70, 0xE0, //
            0x79, 0x00, // End Tag
        ];
        let fault = memory_ranges(&bytes, bytes.len()).unwrap_err();
        assert_eq!(
            (fault.at, fault.what.as_str()),
            (0, "Memory32Fixed descriptor declares 5 bytes, its fields need 9")
        );
    }

    #[test]
    fn ranges_compare_without_overflow() {
        let top = MemRange { base: u64::MAX - 0xFFF, len: 0x1000 };
        assert!(top.contains(u64::MAX) && !top.contains(u64::MAX - 0x1000));
        assert_eq!(top.last(), Some(u64::MAX));
        assert!(top.overlaps(u64::MAX, 1) && top.overlaps(0, u64::MAX) && !top.overlaps(0, 0x10));
        let r = MemRange { base: 0x1000, len: 0x1000 };
        assert!(r.contains(0x1000) && r.contains(0x1FFF) && !r.contains(0x2000) && !r.contains(0xFFF));
        assert!(r.overlaps(0xFFF, 2) && r.overlaps(0x1FFF, u64::MAX) && !r.overlaps(0x2000, 1));
        assert!(!r.overlaps(0, 0x1000) && !r.overlaps(0x1800, 0));
        assert!(
            !MemRange { base: 5, len: 0 }.overlaps(0, 10) && MemRange { base: 5, len: 0 }.last().is_none()
        );
        assert_eq!(MemRange { base: u64::MAX, len: 2 }.last(), None);
    }
}
