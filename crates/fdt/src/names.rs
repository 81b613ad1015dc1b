//! Classifying property names by their strings-block offset in O(1).
//!
//! Looking a property up by name compares bytes; a pass that inspects every property of every
//! node for a handful of names does better to classify each name offset once. A name offset
//! denotes name N exactly when the bytes at it are N followed by NUL (dtc merges common
//! suffixes, so one string can serve several names). Offsets are classified lazily, the first
//! time a property uses them: a tree uses far fewer distinct offsets than its strings block has
//! bytes.

use std::cell::Cell;

use crate::property::Property;

const UNKNOWN: u8 = 0;
const NONE_OF_THEM: u8 = 1;
/// How many names a table classifies.
pub const MAX_NAMES: usize = 32;

/// Name offset → index of the name in the list the table was built from (at most 32 names, so
/// that a node's classes fit a `u32` mask).
#[derive(Debug, Clone)]
pub struct NameTable<'a> {
    strings: &'a [u8],
    // Per strings-block offset: UNKNOWN, NONE_OF_THEM, or 2 + index. Filled on first use.
    tags: Vec<Cell<u8>>,
    names: &'static [&'static str],
}

impl<'a> NameTable<'a> {
    pub(crate) fn new(strings: &'a [u8], names: &'static [&'static str]) -> NameTable<'a> {
        NameTable {
            strings,
            tags: vec![Cell::new(UNKNOWN); strings.len()],
            names: &names[..names.len().min(MAX_NAMES)],
        }
    }

    /// Index (into the list given to [`crate::Fdt::name_table`]) of the property's name.
    #[inline]
    pub fn get(&self, prop: &Property<'_>) -> Option<usize> {
        if !self.is_for(prop.strings_block()) {
            // A property of another tree: its offset means nothing here, so compare its name.
            let name = prop.name();
            return self.names.iter().position(|n| n.as_bytes() == name);
        }
        self.classify(prop.name_offset())
    }

    /// The names, in the order their indices refer to.
    pub fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// Whether the table was built over this strings block.
    pub(crate) fn is_for(&self, strings: &[u8]) -> bool {
        std::ptr::eq(strings, self.strings)
    }

    #[inline]
    pub(crate) fn classify(&self, nameoff: u32) -> Option<usize> {
        let cell = self.tags.get(nameoff as usize)?;
        let tag = match cell.get() {
            UNKNOWN => {
                let tag = self.compute(nameoff as usize);
                cell.set(tag);
                tag
            }
            tag => tag,
        };
        (tag >= 2).then(|| usize::from(tag - 2))
    }

    #[cold]
    fn compute(&self, at: usize) -> u8 {
        let tail = self.strings.get(at..).unwrap_or_default();
        // Terminator first: a name of length L matches only where byte L is the NUL, which
        // rejects nearly every candidate with one load and no scan of the string.
        self.names
            .iter()
            .position(|n| tail.get(n.len()) == Some(&0) && tail.starts_with(n.as_bytes()))
            .map_or(NONE_OF_THEM, |i| i as u8 + 2)
    }
}
