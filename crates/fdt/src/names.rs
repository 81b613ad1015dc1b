//! Classifying property names by their strings-block offset in O(1).
//!
//! Looking a property up by name compares bytes; a pass that inspects every property of every
//! node for a handful of names does better to classify each name offset once. A name offset
//! denotes name N exactly when the bytes at it are N followed by NUL (dtc merges common suffixes,
//! so one string can serve several names), so the table marks every such position.

use crate::property::Property;

/// Name offset → index of the name in the list the table was built from.
#[derive(Debug, Clone)]
pub struct NameTable {
    // tag[offset] = index + 1, 0 = none of the names. u8: at most 255 names.
    tags: Vec<u8>,
}

impl NameTable {
    pub(crate) fn new(strings: &[u8], names: &[&str]) -> NameTable {
        let mut tags = vec![0u8; strings.len()];
        for (end, _) in strings.iter().enumerate().filter(|(_, &b)| b == 0) {
            for (i, name) in names.iter().enumerate().take(255) {
                let name = name.as_bytes();
                if let Some(start) = end.checked_sub(name.len()) {
                    if &strings[start..end] == name && tags[start] == 0 {
                        tags[start] = i as u8 + 1;
                    }
                }
            }
        }
        NameTable { tags }
    }

    /// Index (into the list given to [`crate::Fdt::name_table`]) of the property's name.
    #[inline]
    pub fn get(&self, prop: &Property<'_>) -> Option<usize> {
        match self.tags.get(prop.name_offset() as usize) {
            Some(&tag) if tag > 0 => Some(usize::from(tag) - 1),
            _ => None,
        }
    }
}
