//! Readable DTS for a tree: deterministic (same tree, same text), so that it can be checked in
//! as a golden file and diffed; accepted by `dtc`, which compiles it back to the same tree, for
//! every tree [`crate::to_dtb`] accepts — and it accepts the same trees: both writers make the same
//! checks first ([`crate::write`]'s `check_root` and `check_node`: names by the specification's
//! character sets, no duplicates), so that no name can carry DTS syntax (`;`, `{`, `=`, quotes,
//! line breaks) into the source.
//!
//! A value is printed as a string list when it is one (each string printable ASCII and
//! non-empty, the last NUL-terminated; a lone NUL is `""`), else as `<cells>` in hex when its
//! length is a multiple of four, else as `[bytes]`. A string literal escapes `"` and `\`, and any
//! other byte outside printable ASCII as `\xNN` (which the string-list rule never lets through; the
//! escape stands in case it does). An empty value is `name;`. Labels and phandle references are
//! not reconstructed: a reference prints as the cell it was compiled to.
//!
//! Owns: the DTS rendering. Must not: accept a tree the DTB writer refuses.

use std::fmt::Write as _;

use crate::tree::Node;
use crate::write::{check_node, check_root, WriteError, WriteOptions};

/// The tree as DTS source: `/dts-v1/;`, then the root. Tabs indent; a blank line precedes each
/// child node that follows something else. Refused, as [`crate::to_dtb`] refuses it, when a name
/// breaks the specification's rules or two siblings share one.
pub fn to_dts(root: &Node) -> Result<String, WriteError> {
    to_dts_with(root, &WriteOptions::default())
}

/// Like [`to_dts`], with a `/memreserve/` line for each of `opts.reservations`.
/// (`opts.boot_cpuid` has no DTS syntax: pass it to `dtc -b`.)
pub fn to_dts_with(root: &Node, opts: &WriteOptions) -> Result<String, WriteError> {
    check_root(root, opts)?;
    check_node(root, &[])?;
    let mut out = String::from("/dts-v1/;\n\n");
    for (address, size) in &opts.reservations {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "/memreserve/ {address:#x} {size:#x};");
    }
    if !opts.reservations.is_empty() {
        out.push('\n');
    }
    out.push_str("/ {\n");
    write_properties(&mut out, root, 1);
    // Depth-first without recursion: each frame is a node, its next child and its depth; `names`
    // is the path of the node on top, below the root, for the checks.
    let mut stack: Vec<(&Node, usize, usize)> = vec![(root, 0, 1)];
    let mut names: Vec<&str> = Vec::new();
    while let Some(top) = stack.last_mut() {
        let (node, next, depth) = *top;
        match node.children.get(next) {
            Some(child) => {
                top.1 += 1;
                names.push(&child.name);
                check_node(child, &names)?;
                if next > 0 || !node.props.is_empty() {
                    out.push('\n');
                }
                indent(&mut out, depth);
                out.push_str(&child.name);
                out.push_str(" {\n");
                write_properties(&mut out, child, depth + 1);
                stack.push((child, 0, depth + 1));
            }
            None => {
                indent(&mut out, depth - 1);
                out.push_str("};\n");
                stack.pop();
                names.pop();
            }
        }
    }
    Ok(out)
}

fn indent(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n('\t', depth));
}

fn write_properties(out: &mut String, node: &Node, depth: usize) {
    for prop in &node.props {
        indent(out, depth);
        out.push_str(&prop.name);
        if !prop.value.is_empty() {
            out.push_str(" = ");
            write_value(out, &prop.value);
        }
        out.push_str(";\n");
    }
}

fn write_value(out: &mut String, value: &[u8]) {
    if let Some(strings) = string_list(value) {
        for (i, s) in strings.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('"');
            escape_string(out, s);
            out.push('"');
        }
    } else if value.len().is_multiple_of(4) {
        out.push('<');
        for (i, cell) in value.chunks_exact(4).enumerate() {
            let cell = u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]]);
            let _ = write!(out, "{}{cell:#x}", if i > 0 { " " } else { "" });
        }
        out.push('>');
    } else {
        out.push('[');
        for (i, b) in value.iter().enumerate() {
            let _ = write!(out, "{}{b:02x}", if i > 0 { " " } else { "" });
        }
        out.push(']');
    }
}

/// One string's bytes inside a DTS string literal: `"` and `\\` escaped, printable ASCII as it
/// is, any other byte as `\\xNN` (two hex digits always, so a following hex digit is not read
/// into the escape).
fn escape_string(out: &mut String, s: &[u8]) {
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// The strings of `value` when it reads as a printable string list (see the module comment).
fn string_list(value: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let body = value.strip_suffix(b"\0")?;
    let printable = body.iter().all(|&b| b == 0 || (0x20..=0x7e).contains(&b));
    let no_empty_string = body.is_empty() || body.split(|&b| b == 0).all(|s| !s.is_empty());
    (printable && no_empty_string).then(|| body.split(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(value: &[u8]) -> String {
        let mut out = String::new();
        write_value(&mut out, value);
        out
    }

    #[test]
    fn values_print_as_strings_then_cells_then_bytes() {
        assert_eq!(render(b"a\0bc\0"), r#""a", "bc""#);
        assert_eq!(render(b"\0"), r#""""#);
        assert_eq!(render(b"q\"\\\0"), r#""q\"\\""#);
        assert_eq!(render(b"a\0\0b\0\0\0\0"), "<0x61000062 0x0>", "an empty string inside: cells");
        assert_eq!(render(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]), "<0x1 0xffffffff>");
        assert_eq!(render(b"abc"), "[61 62 63]", "no final NUL: not a string");
        assert_eq!(render(b"\x01bc\0"), "<0x1626300>", "not printable: cells");
    }

    #[test]
    fn a_string_literal_escapes_quotes_backslashes_and_every_unprintable_byte() {
        let mut out = String::new();
        escape_string(&mut out, b"a\"b\\c\nd\x1be\xff1");
        assert_eq!(out, r#"a\"b\\c\x0ad\x1be\xff1"#);
    }
}
