//! Walking AML to build the namespace (iteratively, with an explicit stack of scopes).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::resource::{memory_ranges, Crs, MemRange};
use crate::table::{AcpiError, Table};

/// Deepest nesting of scopes accepted.
pub const MAX_DEPTH: usize = 64;

/// Longest absolute name path accepted, in segments. Real namespaces are a dozen deep at most;
/// without a bound, scopes nested [`MAX_DEPTH`] deep, each named by a 255-segment path, would
/// give every object below them a 16,000-segment path: a 130 KB table listing 10,000 devices
/// made 765 MB of output. With it, what one object costs is bounded by a constant.
pub const MAX_PATH_SEGMENTS: usize = 128;

/// An ACPI device of the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpiDevice {
    /// Absolute path, e.g. `\_SB.ETH0`.
    pub path: String,
    /// `_HID` (a string, or a decoded EISA id).
    pub hid: Option<String>,
    /// `_CID` entries.
    pub cids: Vec<String>,
    /// Whether a `_RST` method exists in the device's scope.
    pub rst: bool,
    /// Whether a `_PRR` object exists in the device's scope.
    pub prr: bool,
    /// The memory ranges of a static `_CRS`, in descriptor order; empty unless `crs` is
    /// [`Crs::Static`].
    pub mmio: Vec<MemRange>,
    /// Where the device's `_CRS` comes from.
    pub crs: Crs,
}

/// A name's value, as far as the reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    Integer(u64),
    List(Vec<Value>),
    /// The memory ranges of a `_CRS` buffer.
    Resources(Vec<MemRange>),
    Other,
}

/// The objects of one or more definition blocks.
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    devices: BTreeSet<Vec<[u8; 4]>>,
    methods: BTreeSet<Vec<[u8; 4]>>,
    names: BTreeMap<Vec<[u8; 4]>, Value>,
}

struct Frame {
    end: usize,
    scope: Vec<[u8; 4]>,
}

struct Reader<'t> {
    table: &'t str,
    aml: &'t [u8],
}

impl Reader<'_> {
    fn err(&self, what: impl Into<String>, at: usize) -> AcpiError {
        AcpiError::Malformed { table: self.table.to_string(), what: what.into(), offset: at + 36 }
    }

    fn byte(&self, at: usize) -> Result<u8, AcpiError> {
        self.aml.get(at).copied().ok_or_else(|| AcpiError::Truncated {
            table: self.table.to_string(),
            what: "AML",
            offset: at + 36,
            need: 1,
            have: 0,
        })
    }

    /// A PkgLength at `at`: (the package's end, where the length encoding ends).
    fn pkg_length(&self, at: usize, limit: usize) -> Result<(usize, usize), AcpiError> {
        let lead = self.byte(at)?;
        let extra = usize::from(lead >> 6);
        let mut length = if extra == 0 { usize::from(lead & 0x3f) } else { usize::from(lead & 0x0f) };
        for i in 0..extra {
            length |= usize::from(self.byte(at + 1 + i)?) << (4 + 8 * i);
        }
        let end = at.checked_add(length).filter(|&e| e <= limit && length > extra).ok_or_else(|| {
            self.err(
                format!(
                    "package length {length} runs past its enclosing package (ends at {:#x})",
                    limit + 36
                ),
                at,
            )
        })?;
        Ok((end, at + 1 + extra))
    }

    /// A NameString at `at` relative to `scope`: (absolute path, where it ends).
    fn name_string(&self, at: usize, scope: &[[u8; 4]]) -> Result<(Vec<[u8; 4]>, usize), AcpiError> {
        let mut pos = at;
        let mut path: Vec<[u8; 4]> = scope.to_vec();
        match self.byte(pos)? {
            b'\\' => {
                path.clear();
                pos += 1;
            }
            b'^' => {
                while self.byte(pos)? == b'^' {
                    if path.pop().is_none() {
                        return Err(self.err("parent prefix '^' above the root", pos));
                    }
                    pos += 1;
                }
            }
            _ => {}
        }
        let count = match self.byte(pos)? {
            0x00 => {
                pos += 1;
                0
            }
            0x2E => {
                pos += 1;
                2
            }
            0x2F => {
                let n = usize::from(self.byte(pos + 1)?);
                pos += 2;
                n
            }
            _ => 1,
        };
        for _ in 0..count {
            let seg = self.aml.get(pos..pos + 4).ok_or_else(|| self.err("name segment cut short", pos))?;
            let lead_ok = seg[0] == b'_' || seg[0].is_ascii_uppercase();
            if !lead_ok || !seg.iter().all(|&c| c == b'_' || c.is_ascii_uppercase() || c.is_ascii_digit()) {
                return Err(self.err(format!("invalid name segment {:?}", String::from_utf8_lossy(seg)), pos));
            }
            path.push([seg[0], seg[1], seg[2], seg[3]]);
            pos += 4;
        }
        if path.len() > MAX_PATH_SEGMENTS {
            return Err(AcpiError::PathTooLong {
                table: self.table.to_string(),
                offset: at + 36,
                max: MAX_PATH_SEGMENTS,
            });
        }
        Ok((path, pos))
    }

    /// A data object at `at` (for Name): its value and end, or `None` when the reader does not
    /// know its encoding (the caller then skips the rest of the scope).
    fn data(&self, at: usize, limit: usize, depth: usize) -> Result<Option<(Value, usize)>, AcpiError> {
        let int = |n: usize| -> Result<Option<(Value, usize)>, AcpiError> {
            let bytes = self.aml.get(at + 1..at + 1 + n).ok_or_else(|| self.err("integer cut short", at))?;
            let v = bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            Ok(Some((Value::Integer(v), at + 1 + n)))
        };
        match self.byte(at)? {
            0x00 => Ok(Some((Value::Integer(0), at + 1))),
            0x01 => Ok(Some((Value::Integer(1), at + 1))),
            0xFF => Ok(Some((Value::Integer(u64::MAX), at + 1))),
            0x0A => int(1),
            0x0B => int(2),
            0x0C => int(4),
            0x0E => int(8),
            0x0D => {
                let rest = self.aml.get(at + 1..limit).unwrap_or_default();
                let len =
                    rest.iter().position(|&b| b == 0).ok_or_else(|| self.err("unterminated string", at))?;
                Ok(Some((Value::Text(shown(&rest[..len])), at + 2 + len)))
            }
            0x11 => {
                let (end, _) = self.pkg_length(at + 1, limit)?;
                Ok(Some((Value::Other, end)))
            }
            0x12 | 0x13 => {
                let (end, body) = self.pkg_length(at + 1, limit)?;
                if depth >= MAX_DEPTH {
                    return Err(AcpiError::TooDeep {
                        table: self.table.to_string(),
                        offset: at + 36,
                        max: MAX_DEPTH,
                    });
                }
                let mut items = Vec::new();
                let mut pos = body + 1; // NumElements
                while pos < end {
                    match self.data(pos, end, depth + 1)? {
                        Some((v, next)) => {
                            items.push(v);
                            pos = next;
                        }
                        None => break, // references and expressions: not needed here
                    }
                }
                Ok(Some((Value::List(items), end)))
            }
            _ => Ok(None),
        }
    }

    /// The DefBuffer at `at`, the value of `object` (a `_CRS`): its memory ranges and its end.
    /// The ranges are `None` when the buffer size is computed, since then where the bytes start
    /// is unknown without evaluating AML.
    fn resource_template(
        &self,
        at: usize,
        limit: usize,
        object: &[[u8; 4]],
    ) -> Result<(Option<Vec<MemRange>>, usize), AcpiError> {
        let (end, size_at) = self.pkg_length(at + 1, limit)?;
        let size = match self.int_arg(size_at, end)? {
            Some(_) => self.data(size_at, end, 0)?,
            None => None,
        };
        let Some((Value::Integer(size), bytes_at)) = size else { return Ok((None, end)) };
        let bytes = self
            .aml
            .get(bytes_at..end)
            .ok_or_else(|| self.err("buffer size runs past the buffer's package", size_at))?;
        let len = usize::try_from(size).unwrap_or(usize::MAX);
        let ranges = memory_ranges(bytes, len).map_err(|fault| AcpiError::Resource {
            table: self.table.to_string(),
            object: display(object),
            what: fault.what,
            offset: bytes_at + fault.at + 36,
        })?;
        Ok((Some(ranges), end))
    }

    /// An integer TermArg (for OperationRegion); `None` for anything computed.
    fn int_arg(&self, at: usize, limit: usize) -> Result<Option<usize>, AcpiError> {
        match self.byte(at)? {
            0x00 | 0x01 | 0xFF | 0x0A | 0x0B | 0x0C | 0x0E => Ok(self.data(at, limit, 0)?.map(|(_, e)| e)),
            _ => Ok(None),
        }
    }
}

impl Namespace {
    /// Adds the objects of one definition block.
    pub fn add(&mut self, table: &Table<'_>) -> Result<(), AcpiError> {
        let r = Reader { table: &table.name, aml: table.aml };
        let mut stack = vec![Frame { end: r.aml.len(), scope: Vec::new() }];
        let mut pos = 0;
        loop {
            while stack.last().is_some_and(|f| pos >= f.end) {
                stack.pop();
            }
            let Some(frame) = stack.last() else { return Ok(()) };
            // The scope is read where it is needed, not copied for every object.
            let (end, top) = (frame.end, stack.len() - 1);
            let op = r.byte(pos)?;
            let ext = if op == 0x5B { Some(r.byte(pos + 1)?) } else { None };
            let open_scope = |stack: &mut Vec<Frame>, pkg_end: usize, path: Vec<[u8; 4]>| {
                if stack.len() > MAX_DEPTH {
                    return Err(AcpiError::TooDeep {
                        table: table.name.clone(),
                        offset: pos + 36,
                        max: MAX_DEPTH,
                    });
                }
                stack.push(Frame { end: pkg_end, scope: path });
                Ok(())
            };
            match (op, ext) {
                // Scope, Device, PowerResource, Processor, ThermalZone: a named scope.
                (0x10, None) | (0x5B, Some(0x82..=0x85)) => {
                    let start = if op == 0x10 { pos + 1 } else { pos + 2 };
                    let (pkg_end, name_at) = r.pkg_length(start, end)?;
                    let (path, mut body) = r.name_string(name_at, &stack[top].scope)?;
                    body += match ext {
                        Some(0x84) => 3,
                        Some(0x83) => 6,
                        _ => 0,
                    };
                    if ext == Some(0x82) {
                        self.devices.insert(path.clone());
                    }
                    if body > pkg_end {
                        return Err(r.err("scope header runs past its package", pos));
                    }
                    open_scope(&mut stack, pkg_end, path)?;
                    pos = body;
                }
                // Method: recorded, body skipped.
                (0x14, None) => {
                    let (pkg_end, name_at) = r.pkg_length(pos + 1, end)?;
                    let (path, _) = r.name_string(name_at, &stack[top].scope)?;
                    self.methods.insert(path);
                    pos = pkg_end;
                }
                // Name: the value matters for _HID/_CID/_PRR/_CRS.
                (0x08, None) => {
                    let (path, value_at) = r.name_string(pos + 1, &stack[top].scope)?;
                    let value = if path.last() == Some(b"_CRS") && r.byte(value_at)? == 0x11 {
                        let (ranges, next) = r.resource_template(value_at, end, &path)?;
                        Some((ranges.map_or(Value::Other, Value::Resources), next))
                    } else {
                        r.data(value_at, end, 0)?
                    };
                    match value {
                        Some((value, next)) => {
                            self.names.insert(path, value);
                            pos = next;
                        }
                        None => {
                            self.names.insert(path, Value::Other);
                            pos = end; // an unknown encoding: skip the rest of this scope
                        }
                    }
                }
                // External: NameString, ObjectType, ArgumentCount.
                (0x15, None) => pos = r.name_string(pos + 1, &stack[top].scope)?.1 + 2,
                // Alias: two NameStrings.
                (0x06, None) => {
                    let (_, next) = r.name_string(pos + 1, &stack[top].scope)?;
                    pos = r.name_string(next, &stack[top].scope)?.1;
                }
                // Mutex (NameString, SyncFlags) and Event (NameString).
                (0x5B, Some(0x01)) => pos = r.name_string(pos + 2, &stack[top].scope)?.1 + 1,
                (0x5B, Some(0x02)) => pos = r.name_string(pos + 2, &stack[top].scope)?.1,
                // OperationRegion: NameString, space, offset and length TermArgs.
                (0x5B, Some(0x80)) => {
                    let (_, space_at) = r.name_string(pos + 2, &stack[top].scope)?;
                    let after_offset = r.int_arg(space_at + 1, end)?;
                    let after_len = match after_offset {
                        Some(at) => r.int_arg(at, end)?,
                        None => None,
                    };
                    pos = after_len.unwrap_or(end);
                }
                // Field, IndexField, BankField and the package-length control flow: skipped whole.
                (0x5B, Some(0x81 | 0x86 | 0x87)) => pos = r.pkg_length(pos + 2, end)?.0,
                (0xA0 | 0xA1 | 0xA2 | 0x11 | 0x12 | 0x13, None) => pos = r.pkg_length(pos + 1, end)?.0,
                (0xA3, None) => pos += 1,
                // Anything else: not understood, so the rest of this scope is skipped.
                _ => pos = end,
            }
            if pos > r.aml.len() {
                return Err(r.err("object runs past the end of the table", pos));
            }
        }
    }

    /// Every device, sorted by path, with what its scope holds.
    pub fn devices(&self) -> Vec<AcpiDevice> {
        self.devices
            .iter()
            .map(|path| {
                let child = |seg: &[u8; 4]| {
                    let mut p = path.clone();
                    p.push(*seg);
                    p
                };
                let hid = self.names.get(&child(b"_HID")).and_then(id_text);
                let cids = match self.names.get(&child(b"_CID")) {
                    Some(Value::List(items)) => items.iter().filter_map(id_text).collect(),
                    Some(v) => id_text(v).into_iter().collect(),
                    None => Vec::new(),
                };
                let (crs, mmio) = match self.names.get(&child(b"_CRS")) {
                    Some(Value::Resources(ranges)) => (Crs::Static, ranges.clone()),
                    Some(_) => (Crs::None, Vec::new()),
                    None if self.methods.contains(&child(b"_CRS")) => (Crs::Method, Vec::new()),
                    None => (Crs::None, Vec::new()),
                };
                AcpiDevice {
                    path: display(path),
                    hid,
                    cids,
                    rst: self.methods.contains(&child(b"_RST")),
                    prr: self.names.contains_key(&child(b"_PRR")),
                    mmio,
                    crs,
                }
            })
            .collect()
    }
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Text(t) => Some(t.clone()),
        Value::Integer(v) => Some(eisa_id(*v as u32)),
        _ => None,
    }
}

/// A compressed EISA id (`EisaId ("PNP0501")`) back to its text.
fn eisa_id(value: u32) -> String {
    let v = value.swap_bytes();
    let letter = |shift: u32| char::from(b'@' + ((v >> shift) & 0x1f) as u8);
    format!("{}{}{}{:04X}", letter(26), letter(21), letter(16), v & 0xffff)
}

/// An AML string as text: invalid UTF-8 replaced, and control characters (an ID string has none;
/// ESC, CR or LF in one would be obeyed by a terminal) written as `\u{1b}`.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    text.chars().fold(String::with_capacity(text.len() + 8), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        out
    })
}

fn display(path: &[[u8; 4]]) -> String {
    let segs: Vec<String> = path
        .iter()
        .map(|s| {
            let text = String::from_utf8_lossy(s).into_owned();
            let trimmed = text.trim_end_matches('_');
            if trimmed.is_empty() {
                "_".to_string()
            } else {
                trimmed.to_string()
            }
        })
        .collect();
    format!("\\{}", segs.join("."))
}

/// Reads every `DSDT*`/`SSDT*` file of `dir` (as `/sys/firmware/acpi/tables` lays them out) into
/// one namespace.
pub fn read_tables(dir: &Path) -> Result<Namespace, AcpiError> {
    let io = |path: &Path, e: std::io::Error| AcpiError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name.starts_with("DSDT") || name.starts_with("SSDT")) && p.is_file()
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(AcpiError::NoTables { dir: dir.display().to_string() });
    }
    let mut namespace = Namespace::default();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        namespace.add(&Table::parse(&name, &bytes)?)?;
    }
    Ok(namespace)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_string_with_control_characters_is_shown_escaped() {
        assert_eq!(super::shown(b"ACME0001"), "ACME0001");
        assert_eq!(super::shown(b"ACM\x1b[2J\r\nE"), "ACM\\u{1b}[2J\\u{d}\\u{a}E");
        assert_eq!(super::shown(b"A\xffB"), "A\u{fffd}B");
    }
}
