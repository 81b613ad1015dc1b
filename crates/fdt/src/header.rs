//! The DTB header and the memory-reservation block: validates every offset and size the header
//! declares before anything else reads the blob. Owns no knowledge of the structure block's tokens.

use crate::bytes::{be32, be64};
use crate::error::FdtError;

/// The magic word every DTB starts with.
pub const MAGIC: u32 = 0xd00d_feed;
/// Size of a version-17 header; version 16 lacks the last field (`size_dt_struct`).
const HEADER_V17: usize = 40;
const HEADER_V16: usize = 36;

/// The validated header: every block it names lies inside the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `totalsize`: the blob's size; bytes after it in the buffer are ignored.
    pub total_size: usize,
    /// Start of the structure block.
    pub struct_start: usize,
    /// End (exclusive) of the structure block.
    pub struct_end: usize,
    /// Start of the strings block.
    pub strings_start: usize,
    /// End (exclusive) of the strings block.
    pub strings_end: usize,
    /// Start of the memory-reservation block.
    pub rsvmap_start: usize,
    /// `version`.
    pub version: u32,
    /// `last_comp_version`.
    pub last_comp_version: u32,
    /// `boot_cpuid_phys`.
    pub boot_cpuid_phys: u32,
}

/// One memory reservation: physical address and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Physical start address.
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
}

fn field(blob: &[u8], offset: usize) -> Result<u32, FdtError> {
    be32(blob, offset).ok_or(FdtError::Truncated {
        what: "header",
        offset: 0,
        need: offset + 4,
        have: blob.len(),
    })
}

impl Header {
    /// Reads and checks the header of `blob`.
    pub fn parse(blob: &[u8]) -> Result<Header, FdtError> {
        let magic = field(blob, 0)?;
        if magic != MAGIC {
            return Err(FdtError::BadMagic { found: magic });
        }
        let version = field(blob, 0x14)?;
        let last_comp_version = field(blob, 0x18)?;
        // Version 17 is the current format; 16 differs only by lacking size_dt_struct. A newer
        // version is readable when it declares itself backwards compatible with 16 or 17.
        if version < 16 || last_comp_version > 17 || last_comp_version > version {
            return Err(FdtError::UnsupportedVersion { version, last_comp: last_comp_version });
        }
        let header_size = if version >= 17 { HEADER_V17 } else { HEADER_V16 };
        if blob.len() < header_size {
            return Err(FdtError::Truncated {
                what: "header",
                offset: 0,
                need: header_size,
                have: blob.len(),
            });
        }
        let totalsize = field(blob, 0x4)?;
        let total_size = totalsize as usize;
        if total_size > blob.len() {
            return Err(FdtError::BadTotalSize {
                totalsize,
                buffer: blob.len(),
                problem: "larger than the buffer (the file is truncated)",
            });
        }
        if total_size < header_size {
            return Err(FdtError::BadTotalSize {
                totalsize,
                buffer: blob.len(),
                problem: "smaller than the header",
            });
        }
        let off_struct = field(blob, 0x8)? as usize;
        let off_strings = field(blob, 0xc)? as usize;
        let off_rsvmap = field(blob, 0x10)? as usize;
        let boot_cpuid_phys = field(blob, 0x1c)?;
        let size_strings = field(blob, 0x20)? as usize;
        let size_struct =
            if version >= 17 { field(blob, 0x24)? as usize } else { total_size.saturating_sub(off_struct) };

        let check = |block: &'static str, fld: usize, start: usize, size: usize| {
            let end = start as u64 + size as u64;
            if start < header_size || end > total_size as u64 {
                return Err(FdtError::BlockOutOfRange {
                    block,
                    field: fld,
                    start: start as u64,
                    end,
                    min: header_size,
                    totalsize,
                });
            }
            Ok(start + size)
        };
        let struct_end = check("structure", 0x8, off_struct, size_struct)?;
        let strings_end = check("strings", 0xc, off_strings, size_strings)?;
        check("memory reservation", 0x10, off_rsvmap, 0)?;
        if !off_struct.is_multiple_of(4) {
            return Err(FdtError::Misaligned { block: "structure", offset: off_struct, align: 4 });
        }
        if !off_rsvmap.is_multiple_of(8) {
            return Err(FdtError::Misaligned { block: "memory reservation", offset: off_rsvmap, align: 8 });
        }
        Ok(Header {
            total_size,
            struct_start: off_struct,
            struct_end,
            strings_start: off_strings,
            strings_end,
            rsvmap_start: off_rsvmap,
            version,
            last_comp_version,
            boot_cpuid_phys,
        })
    }

    /// Reads the memory-reservation block up to its (0, 0) terminator, which must lie inside the
    /// blob (and before the structure or strings block when one follows it).
    pub fn reservations(&self, blob: &[u8]) -> Result<Vec<Reservation>, FdtError> {
        let limit = [self.struct_start, self.strings_start]
            .into_iter()
            .filter(|&o| o > self.rsvmap_start)
            .min()
            .unwrap_or(self.total_size)
            .min(self.total_size);
        let mut out = Vec::new();
        let mut pos = self.rsvmap_start;
        while pos + 16 <= limit {
            let (Some(address), Some(size)) = (be64(blob, pos), be64(blob, pos + 8)) else {
                break;
            };
            if address == 0 && size == 0 {
                return Ok(out);
            }
            out.push(Reservation { address, size });
            pos += 16;
        }
        Err(FdtError::UnterminatedReservations { offset: self.rsvmap_start, limit })
    }
}
