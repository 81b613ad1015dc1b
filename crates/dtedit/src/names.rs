//! The devicetree specification's rules for names (v0.4 §2.2.1 node names, table 2.1; §2.2.4
//! property names, table 2.2), on the raw bytes of a name, and a printable rendering of any name
//! for messages. Both writers ([`crate::to_dtb`], [`crate::to_dts`]) and every reader of an
//! untrusted tree that turns its names into output check names here, so that one rule decides
//! everywhere.
//!
//! Lengths: the specification gives node names (the part before `@`) and property names 1 to 31
//! characters, but `dtc` and Linux accept longer ones and real trees have them (REFERENCE §4: the
//! corpus holds 73 distinct property names and 13 node names past 31, all from the kernel's own
//! sources), so only the lower bound — not empty — is enforced: a tree a reader must accept is
//! not refused here. The upper bound on any name is the DTB's own 32-bit sizes.
//!
//! Owns: the character sets, the `@` rule and the rendering of names in messages. Must not:
//! decide what a name means.

use std::fmt;

/// Which kind of name a [`NameProblem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A node name (`base[@unit-address]`).
    Node,
    /// A property name.
    Property,
    /// A label, as `dtc` accepts one (`[a-zA-Z_][a-zA-Z0-9_]*`) and writes it into `__symbols__`.
    Label,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            NameKind::Node => "node name",
            NameKind::Property => "property name",
            NameKind::Label => "label",
        }
    }

    /// The characters allowed, as the specification's tables list them.
    fn allowed(self) -> &'static str {
        match self {
            NameKind::Node => "A-Z a-z 0-9 , . _ + - and one `@` before the unit address",
            NameKind::Property => "A-Z a-z 0-9 , . _ + ? # -",
            NameKind::Label => "A-Z a-z 0-9 _, not a digit first",
        }
    }
}

/// What is wrong with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty (only the root node's may be).
    Empty {
        /// Node or property.
        kind: NameKind,
    },
    /// A byte outside the name's character set.
    BadByte {
        /// Node or property.
        kind: NameKind,
        /// The byte.
        byte: u8,
        /// Its offset in the name.
        at: usize,
    },
    /// A node name with a second `@`.
    SecondAt {
        /// Its offset in the name.
        at: usize,
    },
    /// A node name that starts with `@`.
    NothingBeforeAt,
    /// A node name that ends with `@`.
    EmptyUnitAddress,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty { kind: NameKind::Node } => {
                write!(f, "the node name is empty (only the root's may be)")
            }
            NameProblem::Empty { kind } => write!(f, "the {} is empty", kind.as_str()),
            NameProblem::BadByte { kind, byte, at } => {
                write!(f, "byte {byte:#04x}")?;
                if byte.is_ascii_graphic() || *byte == b' ' {
                    write!(f, " ({:?})", char::from(*byte))?;
                }
                write!(f, " at offset {at} is not allowed in a {} ({})", kind.as_str(), kind.allowed())
            }
            NameProblem::SecondAt { at } => {
                write!(f, "a second `@` at offset {at} of the node name (one unit address only)")
            }
            NameProblem::NothingBeforeAt => write!(f, "the node name has nothing before `@`"),
            NameProblem::EmptyUnitAddress => write!(f, "the node name has an empty unit address"),
        }
    }
}

/// Characters of a node name (specification v0.4 table 2.1), the `@` excepted.
fn is_node_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b',' | b'.' | b'_' | b'+' | b'-')
}

/// Characters of a property name (specification v0.4 table 2.2).
fn is_property_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b',' | b'.' | b'_' | b'+' | b'?' | b'#' | b'-')
}

/// What is wrong with a (non-root) node name, if anything: `base[@unit]`, both parts non-empty
/// and made of node-name characters.
pub fn node_name_problem(name: &[u8]) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty { kind: NameKind::Node });
    }
    let at = name.iter().position(|&b| b == b'@');
    for (i, &b) in name.iter().enumerate() {
        if b == b'@' && Some(i) != at {
            return Some(NameProblem::SecondAt { at: i });
        }
        if b != b'@' && !is_node_byte(b) {
            return Some(NameProblem::BadByte { kind: NameKind::Node, byte: b, at: i });
        }
    }
    match at {
        Some(0) => Some(NameProblem::NothingBeforeAt),
        Some(at) if at + 1 == name.len() => Some(NameProblem::EmptyUnitAddress),
        _ => None,
    }
}

/// What is wrong with a property name, if anything.
pub fn property_name_problem(name: &[u8]) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty { kind: NameKind::Property });
    }
    let (at, &byte) = name.iter().enumerate().find(|&(_, &b)| !is_property_byte(b))?;
    Some(NameProblem::BadByte { kind: NameKind::Property, byte, at })
}

/// What is wrong with a label, if anything: `dtc`'s rule (`[a-zA-Z_][a-zA-Z0-9_]*`), which every
/// label it writes into `__symbols__` follows and which crosvm's `dt-symbol=` and AVF's
/// `dtbo_label` take.
pub fn label_problem(label: &[u8]) -> Option<NameProblem> {
    let Some(&first) = label.first() else {
        return Some(NameProblem::Empty { kind: NameKind::Label });
    };
    if first.is_ascii_digit() {
        return Some(NameProblem::BadByte { kind: NameKind::Label, byte: first, at: 0 });
    }
    let (at, &byte) = label.iter().enumerate().find(|&(_, &b)| !(b.is_ascii_alphanumeric() || b == b'_'))?;
    Some(NameProblem::BadByte { kind: NameKind::Label, byte, at })
}

/// `name` for a message: printable ASCII as it is, a backslash doubled, every other byte as
/// `\xNN` — so that a crafted name can neither break the message's lines nor pass for another.
pub fn printable(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_follow_the_specification() {
        for good in ["a", "uart@1000", "dev@1,2000", "A,b.c_d+e-f@g", "__symbols__"] {
            assert_eq!(node_name_problem(good.as_bytes()), None, "{good}");
        }
        for bad in ["", "@1", "a@", "a@1@2", "a b", "a/b", "é", "a:b", "a\0", "a;b", "a{", "a\"", "a\n"] {
            assert!(node_name_problem(bad.as_bytes()).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn property_names_follow_the_specification() {
        for good in ["#address-cells", "linux,phandle", "a?", "x+y.z_w"] {
            assert_eq!(property_name_problem(good.as_bytes()), None, "{good}");
        }
        for bad in ["", "a@b", "a b", "a=b", "a\0", "a/b", "a;b", "a\"b", "a\\b", "a\x1b"] {
            assert!(property_name_problem(bad.as_bytes()).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn labels_follow_dtcs_rule() {
        for good in ["uart0", "_x", "sdhi_0", "A"] {
            assert_eq!(label_problem(good.as_bytes()), None, "{good}");
        }
        for bad in ["", "0uart", "a,b", "a-b", "a b", "a\n"] {
            assert!(label_problem(bad.as_bytes()).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn a_problem_names_the_offending_byte_and_its_offset() {
        let problem = property_name_problem(b"x;\n").unwrap();
        assert_eq!(
            problem.to_string(),
            "byte 0x3b (';') at offset 1 is not allowed in a property name (A-Z a-z 0-9 , . _ + ? # -)"
        );
        let problem = node_name_problem(b"a\x1bb").unwrap();
        assert_eq!(
            problem.to_string(),
            "byte 0x1b at offset 1 is not allowed in a node name \
             (A-Z a-z 0-9 , . _ + - and one `@` before the unit address)"
        );
    }

    #[test]
    fn printable_escapes_every_byte_a_terminal_or_a_reader_could_misread() {
        assert_eq!(printable(b"uart@1000"), "uart@1000");
        assert_eq!(printable(b"a\nb\x1b[1m\\\xff"), "a\\x0ab\\x1b[1m\\\\\\xff");
    }
}
