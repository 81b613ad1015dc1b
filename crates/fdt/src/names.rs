//! Classifying property names by their strings-block offset in O(1).
//!
//! Looking a property up by name compares bytes; a pass that inspects every property of every
//! node for a handful of names does better to classify each name offset once. A name offset
//! denotes name N exactly when the bytes at it are N followed by NUL (dtc merges common
//! suffixes, so one string can serve several names): the table marks every such position, found
//! with a substring search per name.

use crate::property::Property;

/// How many names a table classifies.
pub const MAX_NAMES: usize = 32;

/// Name offset → index of the name in the list the table was built from (at most 32 names, so
/// that a node's classes fit a `u32` mask).
#[derive(Debug, Clone)]
pub struct NameTable<'a> {
    strings: &'a [u8],
    // Per strings-block offset: 0, or 1 + the index of the name that starts there.
    tags: Vec<u8>,
    names: &'static [&'static str],
    phandle_classes: (Option<usize>, Option<usize>),
}

impl<'a> NameTable<'a> {
    pub(crate) fn new(strings: &'a [u8], names: &'static [&'static str]) -> NameTable<'a> {
        let names = &names[..names.len().min(MAX_NAMES)];
        let mut tags = vec![0u8; strings.len()];
        let mut needle = Vec::with_capacity(64);
        for (i, name) in names.iter().enumerate() {
            // Every place the bytes "name\0" occur is an offset that denotes `name`.
            needle.clear();
            needle.extend_from_slice(name.as_bytes());
            needle.push(0);
            for start in memchr::memmem::find_iter(strings, &needle) {
                if let Some(tag) = tags.get_mut(start).filter(|t| **t == 0) {
                    *tag = i as u8 + 1;
                }
            }
        }
        let class_of = |wanted: &str| names.iter().position(|n| *n == wanted);
        let phandle_classes = (class_of("phandle"), class_of("linux,phandle"));
        NameTable { strings, tags, names, phandle_classes }
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

    /// The classes of `phandle` and `linux,phandle`, when the names include them.
    pub(crate) fn phandle_classes(&self) -> (Option<usize>, Option<usize>) {
        self.phandle_classes
    }

    /// Whether the walk records phandles (the names include both spellings).
    pub(crate) fn records_phandles(&self) -> bool {
        matches!(self.phandle_classes, (Some(_), Some(_)))
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
        match self.tags.get(nameoff as usize) {
            Some(&tag) if tag > 0 => Some(usize::from(tag) - 1),
            _ => None,
        }
    }
}
