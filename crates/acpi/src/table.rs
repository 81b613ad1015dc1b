//! The 36-byte table header and its checksum.

use thiserror::Error;

/// A malformed table or AML stream, with where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AcpiError {
    /// The table is shorter than its header or than its own length field.
    #[error("{table}: truncated: {what} needs {need} bytes at offset {offset:#x}, {have} available")]
    Truncated {
        /// Table name.
        table: String,
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes there.
        have: usize,
    },
    /// The bytes do not sum to zero.
    #[error("{table}: checksum mismatch (bytes sum to {sum:#04x}, not 0)")]
    Checksum {
        /// Table name.
        table: String,
        /// The sum.
        sum: u8,
    },
    /// Not a definition block.
    #[error("{table}: signature {signature:?} is not DSDT or SSDT")]
    Signature {
        /// Table name.
        table: String,
        /// What was found.
        signature: String,
    },
    /// A package length that runs past its enclosing package, or a malformed name.
    #[error("{table}: {what} at offset {offset:#x}")]
    Malformed {
        /// Table name.
        table: String,
        /// What is wrong.
        what: String,
        /// Where.
        offset: usize,
    },
    /// Scopes nested deeper than [`crate::MAX_DEPTH`].
    #[error("{table}: scopes nested deeper than {max} at offset {offset:#x}")]
    TooDeep {
        /// Table name.
        table: String,
        /// Where.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A name path longer than [`crate::MAX_PATH_SEGMENTS`] segments (nested scopes with
    /// multi-segment names, which would make every object below them carry the whole path).
    #[error("{table}: a name path longer than {max} segments at offset {offset:#x}")]
    PathTooLong {
        /// Table name.
        table: String,
        /// Where the name string starts.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A `_CRS` resource descriptor that runs past its buffer, or is shorter than its fields.
    #[error("{table}: {object}: {what} at offset {offset:#x}")]
    Resource {
        /// Table name.
        table: String,
        /// The `_CRS` object, e.g. `\_SB.ETH0._CRS`.
        object: String,
        /// What is wrong.
        what: String,
        /// Where the descriptor starts.
        offset: usize,
    },
    /// A table file cannot be read.
    #[error("cannot read {path}: {why}")]
    Io {
        /// Path.
        path: String,
        /// OS error text.
        why: String,
    },
    /// A directory holds no definition block at all.
    #[error("no DSDT or SSDT table in {dir} (files named DSDT*, SSDT*, as /sys/firmware/acpi/tables lays them out)")]
    NoTables {
        /// The directory.
        dir: String,
    },
}

/// A validated definition block.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    /// Name to report (the file name).
    pub name: String,
    /// `DSDT` or `SSDT`.
    pub signature: [u8; 4],
    /// The AML after the header.
    pub aml: &'a [u8],
}

impl<'a> Table<'a> {
    /// Checks header, length and checksum of `bytes`, named `name` in errors.
    pub fn parse(name: &str, bytes: &'a [u8]) -> Result<Table<'a>, AcpiError> {
        let truncated = |need: usize| AcpiError::Truncated {
            table: name.to_string(),
            what: "table header",
            offset: 0,
            need,
            have: bytes.len(),
        };
        let header = bytes.get(..36).ok_or_else(|| truncated(36))?;
        let mut signature = [0u8; 4];
        signature.copy_from_slice(&header[..4]);
        if &signature != b"DSDT" && &signature != b"SSDT" {
            return Err(AcpiError::Signature {
                table: name.to_string(),
                signature: String::from_utf8_lossy(&signature).into_owned(),
            });
        }
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if length < 36 {
            return Err(AcpiError::Malformed {
                table: name.to_string(),
                what: format!("length {length} is shorter than the header"),
                offset: 4,
            });
        }
        let whole = bytes.get(..length).ok_or_else(|| AcpiError::Truncated {
            table: name.to_string(),
            what: "table (per its length field)",
            offset: 0,
            need: length,
            have: bytes.len(),
        })?;
        let sum = whole.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        if sum != 0 {
            return Err(AcpiError::Checksum { table: name.to_string(), sum });
        }
        Ok(Table { name: name.to_string(), signature, aml: &whole[36..] })
    }
}
