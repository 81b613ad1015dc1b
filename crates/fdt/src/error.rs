//! Errors of the DTB reader. Every variant that concerns the blob names the byte offset (from the
//! start of the blob) where the problem was found, so that a user can look at it with a hex dump.

use thiserror::Error;

/// Everything that can be wrong with a DTB or with a request made of it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FdtError {
    /// The blob ends before a structure that must be there.
    #[error("truncated at offset {offset:#x}: {what} needs {need} bytes, only {have} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs.
        need: usize,
        /// How many bytes were available.
        have: usize,
    },
    /// The first word is not 0xd00dfeed.
    #[error("bad magic at offset 0x0: {found:#010x} (a DTB starts with 0xd00dfeed){}", source_hint(*found))]
    BadMagic {
        /// The word found instead.
        found: u32,
    },
    /// The header's version fields describe a format this reader does not read.
    #[error("unsupported DTB version {version} (last compatible {last_comp}) at offset 0x14: versions 16 and 17 are read")]
    UnsupportedVersion {
        /// `version` field.
        version: u32,
        /// `last_comp_version` field.
        last_comp: u32,
    },
    /// The header's `totalsize` disagrees with the buffer.
    #[error("header totalsize {totalsize:#x} at offset 0x4 is {problem} (buffer holds {buffer:#x} bytes)")]
    BadTotalSize {
        /// `totalsize` field.
        totalsize: u32,
        /// Length of the buffer.
        buffer: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A block the header points to lies (partly) outside `totalsize` or over the header.
    #[error("{block} block [{start:#x}, {end:#x}) (header offset {field:#x}) lies outside the blob's [{min:#x}, {totalsize:#x})")]
    BlockOutOfRange {
        /// Which block.
        block: &'static str,
        /// The header field's offset.
        field: usize,
        /// Block start.
        start: u64,
        /// Block end (exclusive).
        end: u64,
        /// Lowest legal start (end of the header).
        min: usize,
        /// `totalsize`.
        totalsize: u32,
    },
    /// A block starts at an offset that is not aligned as the format requires.
    #[error("{block} block offset {offset:#x} is not {align}-byte aligned")]
    Misaligned {
        /// Which block.
        block: &'static str,
        /// Its offset.
        offset: usize,
        /// Required alignment.
        align: usize,
    },
    /// The memory reservation map runs out of the blob before its terminating entry.
    #[error("memory reservation map starting at {offset:#x} has no (0, 0) terminator before {limit:#x}")]
    UnterminatedReservations {
        /// Start of the map.
        offset: usize,
        /// Where the search stopped.
        limit: usize,
    },
    /// An unknown token in the structure block.
    #[error("unknown structure token {token:#010x} at offset {offset:#x}")]
    BadToken {
        /// The token.
        token: u32,
        /// Its offset.
        offset: usize,
    },
    /// A token that is valid but not where it appeared.
    #[error("unexpected {token} at offset {offset:#x}: {why}")]
    UnexpectedToken {
        /// Name of the token.
        token: &'static str,
        /// Its offset.
        offset: usize,
        /// What was expected instead.
        why: &'static str,
    },
    /// A node name without its NUL terminator inside the structure block.
    #[error("node name at offset {offset:#x} is not NUL-terminated within the structure block")]
    UnterminatedName {
        /// Start of the name.
        offset: usize,
    },
    /// A property whose value runs past the end of the structure block.
    #[error("property at offset {offset:#x} has length {len:#x}, which runs past the structure block's end {end:#x}")]
    PropertyOverflow {
        /// Offset of the FDT_PROP token.
        offset: usize,
        /// Declared value length.
        len: u32,
        /// End of the structure block.
        end: usize,
    },
    /// A property whose name offset does not point at a NUL-terminated string in the strings block.
    #[error("property at offset {offset:#x} has name offset {nameoff:#x}, outside the strings block (size {strings_size:#x}) or unterminated")]
    BadNameOffset {
        /// Offset of the FDT_PROP token.
        offset: usize,
        /// The name offset.
        nameoff: u32,
        /// Size of the strings block.
        strings_size: usize,
    },
    /// Nodes nested deeper than [`crate::MAX_DEPTH`].
    #[error("node at offset {offset:#x} is nested {depth} deep, beyond the limit of {max}")]
    TooDeep {
        /// Offset of the FDT_BEGIN_NODE token.
        offset: usize,
        /// Its depth.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The structure block ends (or the blob ends) before the tree is closed by FDT_END.
    #[error("structure block ends at {offset:#x} {why}")]
    UnexpectedEnd {
        /// Where reading stopped.
        offset: usize,
        /// What was still open.
        why: &'static str,
    },
    /// An address that cannot be translated to the CPU's address space.
    #[error("cannot translate {address:#x} of {node} through {bus}: {why}")]
    Untranslatable {
        /// The node whose `reg` was translated.
        node: String,
        /// The bus where translation stopped.
        bus: String,
        /// The address at that level.
        address: u64,
        /// Why.
        why: String,
    },
    /// A property value that does not have the shape its user asked for.
    #[error("property '{property}' at offset {offset:#x}: {problem}")]
    BadValue {
        /// The property's name.
        property: String,
        /// Offset of its FDT_PROP token.
        offset: usize,
        /// What is wrong.
        problem: String,
    },
}

/// A failed lookup of a node by path, alias or label.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Nothing matched.
    #[error("no node '{spec}' ({tried})")]
    NotFound {
        /// What the user asked for.
        spec: String,
        /// Where it was looked for.
        tried: String,
    },
    /// A path component without unit address matched several nodes.
    #[error("'{component}' in '{spec}' is ambiguous: it matches {}", matches.join(", "))]
    Ambiguous {
        /// What the user asked for.
        spec: String,
        /// The component.
        component: String,
        /// Every node it matches (two or more), in document order.
        matches: Vec<String>,
    },
    /// An alias or label whose value is not a usable path.
    #[error("{kind} '{name}' points to '{target}', which is {problem}")]
    BadTarget {
        /// "alias" or "label".
        kind: &'static str,
        /// The alias or label.
        name: String,
        /// What it points to.
        target: String,
        /// What is wrong.
        problem: String,
    },
}

/// What to do when the file is text: DTS source, most likely, which `dtc` compiles.
fn source_hint(found: u32) -> &'static str {
    let text = found.to_be_bytes().iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if text {
        "; this is text, DTS source perhaps: compile it first with `dtc -I dts -O dtb -o board.dtb board.dts`"
    } else {
        ""
    }
}
