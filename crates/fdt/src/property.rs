//! Property values and their typed readings (cells, 64-bit values, string lists, address/size
//! pairs). A reading that does not fit the value's length is an error naming the property and its
//! offset; nothing here can index out of bounds.

use std::borrow::Cow;

use crate::bytes::be32;
use crate::error::FdtError;
use crate::records::PropRec;
use crate::Fdt;

/// A property of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property<'a> {
    // The strings block; the name is found in it only when asked for (hot loops classify
    // properties by `nameoff` and never need the bytes).
    strings: &'a [u8],
    value: &'a [u8],
    offset: u32,
    nameoff: u32,
}

impl<'a> Property<'a> {
    #[inline]
    pub(crate) fn from_rec(fdt: &Fdt<'a>, rec: &PropRec) -> Self {
        let start = rec.value_start();
        let value = fdt.blob().get(start..start + rec.len as usize).unwrap_or_default();
        Property { strings: fdt.strings(), value, offset: rec.offset, nameoff: rec.nameoff }
    }

    /// The name, as raw bytes.
    pub fn name(&self) -> &'a [u8] {
        // The walk checked that a NUL follows `nameoff` inside the strings block.
        let tail = self.strings.get(self.nameoff as usize..).unwrap_or_default();
        &tail[..memchr::memchr(0, tail).unwrap_or(tail.len())]
    }

    /// Whether the property is called `name` (compares without searching for the terminator).
    pub fn is_named(&self, name: &str) -> bool {
        let (at, name) = (self.nameoff as usize, name.as_bytes());
        self.strings.get(at..at + name.len()) == Some(name)
            && self.strings.get(at + name.len()) == Some(&0)
            // A NUL inside `name` would match across two adjacent names of the strings block.
            && !name.contains(&0)
    }

    /// The name as text (invalid UTF-8 replaced).
    pub fn name_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.name())
    }

    /// The raw value.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// Offset of the property's FDT_PROP token in the blob.
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    pub(crate) fn strings_block(&self) -> &'a [u8] {
        self.strings
    }

    /// Offset of the name in the strings block (what [`crate::NameTable`] classifies).
    pub fn name_offset(&self) -> u32 {
        self.nameoff
    }

    pub(crate) fn bad_value(&self, problem: String) -> FdtError {
        FdtError::BadValue { property: self.name_lossy().into_owned(), offset: self.offset(), problem }
    }

    /// The value as exactly one cell.
    pub fn u32(&self) -> Result<u32, FdtError> {
        match self.value.len() {
            4 => be32(self.value, 0).ok_or_else(|| self.bad_value("unreadable".into())),
            n => Err(self.bad_value(format!("expected one 4-byte cell, found {n} bytes"))),
        }
    }

    /// The value as exactly one 64-bit number (two cells).
    pub fn u64(&self) -> Result<u64, FdtError> {
        match self.value.len() {
            8 => Ok(self.u32s()?.fold(0u64, |acc, c| (acc << 32) | u64::from(c))),
            n => Err(self.bad_value(format!("expected two 4-byte cells, found {n} bytes"))),
        }
    }

    /// The value as a list of cells; its length must be a multiple of four.
    pub fn u32s(&self) -> Result<U32Cells<'a>, FdtError> {
        if !self.value.len().is_multiple_of(4) {
            return Err(self
                .bad_value(format!("length {} is not a multiple of 4 (a list of cells)", self.value.len())));
        }
        Ok(U32Cells { value: self.value, pos: 0 })
    }

    /// The value as a list of 64-bit numbers (pairs of cells).
    pub fn u64s(&self) -> Result<Vec<u64>, FdtError> {
        Ok(self.decode_pairs(2, 0)?.into_iter().map(|(a, _)| a).collect())
    }

    /// The value as a string list: split at NULs, the final terminator not making an empty entry.
    /// Lenient on purpose: a missing final NUL still yields the last string.
    pub fn strings(&self) -> StringList<'a> {
        let value = self.value.strip_suffix(b"\0").unwrap_or(self.value);
        StringList { rest: (!self.value.is_empty()).then_some(value) }
    }

    /// The first string (up to the first NUL, or the whole value without one).
    pub fn first_string(&self) -> &'a [u8] {
        let v = self.value;
        &v[..v.iter().position(|&b| b == 0).unwrap_or(v.len())]
    }

    /// Decodes `(address, size)` tuples of `ac` and `sc` cells (each ≤ 2 cells' worth of value).
    pub fn decode_pairs(&self, ac: u32, sc: u32) -> Result<Vec<(u64, u64)>, FdtError> {
        let cells: Vec<u32> = self.u32s()?.collect();
        // Widened before adding: callers may pass any u32 (`reg` caps both at 4, others need not).
        let stride = (ac as usize).saturating_add(sc as usize);
        if stride == 0 {
            return Err(self.bad_value("#address-cells and #size-cells are both 0".into()));
        }
        if !cells.len().is_multiple_of(stride) {
            return Err(self.bad_value(format!(
                "{} cells do not divide into entries of {ac} address + {sc} size cells",
                cells.len()
            )));
        }
        cells
            .chunks_exact(stride)
            .map(|entry| {
                let (a, s) = entry.split_at(ac as usize);
                Ok((self.number(a)?, self.number(s)?))
            })
            .collect()
    }

    pub(crate) fn number(&self, cells: &[u32]) -> Result<u64, FdtError> {
        let split = cells.len().saturating_sub(2);
        let (high, low) = cells.split_at(split);
        if high.iter().any(|&c| c != 0) {
            return Err(self.bad_value(format!("a {}-cell value does not fit in 64 bits", cells.len())));
        }
        Ok(low.iter().fold(0u64, |acc, &c| (acc << 32) | u64::from(c)))
    }
}

/// Iterator over the cells of a property.
#[derive(Debug, Clone)]
pub struct U32Cells<'a> {
    value: &'a [u8],
    pos: usize,
}

impl Iterator for U32Cells<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let cell = be32(self.value, self.pos)?;
        self.pos += 4;
        Some(cell)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.value.len().saturating_sub(self.pos) / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for U32Cells<'_> {}

/// Iterator over the strings of a string-list property.
#[derive(Debug, Clone, Default)]
pub struct StringList<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for StringList<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rest.iter().position(|&b| b == 0) {
            Some(nul) => {
                self.rest = Some(&rest[nul + 1..]);
                Some(&rest[..nul])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}
