//! The `--format jsonl` writer: [`NodeRecord`]s written straight into a byte buffer.
//!
//! serde_json's generic serialiser was a tenth of a corpus audit's time; this writer emits the
//! same bytes (keys in declaration order, serde_json's escaping) with none of the indirection.
//! A test keeps the two identical.

use super::report::NodeRecord;

/// Bytes a JSON string must escape: control characters, `"` and `\\`.
const ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any byte needs escaping. Eight bytes at a time (the verdict's reasons are long and
/// never need escaping), the tail through the table.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // "Some byte is zero" / "some byte is below n" (n <= 0x80), exact as yes/no answers
    // (Bit Twiddling Hacks, "Determine if a word has a byte less than n").
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0;
    let has = |w: u64, b: u8| below(w ^ (ONES * u64::from(b)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_ne_bytes(word);
        if below(w, 0x20) || has(w, b'"') || has(w, b'\\') {
            return true;
        }
    }
    chunks.remainder().iter().fold(false, |any, &b| any | ESCAPE[usize::from(b)])
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        // The common case (paths, compatibles): one tight scan, one copy.
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn strings<S: AsRef<str>>(out: &mut Vec<u8>, list: &[S]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s.as_ref());
    }
    out.push(b']');
}

fn numbers(out: &mut Vec<u8>, list: &[u32]) {
    out.push(b'[');
    for (i, n) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
    }
    out.push(b']');
}

fn key(out: &mut Vec<u8>, first: bool, name: &str) {
    if !first {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

/// Appends one record and its newline.
#[cfg(test)]
pub fn record(out: &mut Vec<u8>, r: &NodeRecord<'_>) {
    record_after(out, &file_prefix(&r.file), r);
}

/// The bytes every record of `file` starts with (`{"file":"…"`), escaped once per file.
pub fn file_prefix(file: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(file.len() + 12);
    prefix.push(b'{');
    key(&mut prefix, true, "file");
    string(&mut prefix, file);
    prefix
}

/// Appends one record whose `file` is already written as `prefix` (from [`file_prefix`]).
pub fn record_after(out: &mut Vec<u8>, prefix: &[u8], r: &NodeRecord<'_>) {
    out.extend_from_slice(prefix);
    key(out, false, "node");
    string(out, &r.node);
    key(out, false, "status");
    string(out, &r.status);
    key(out, false, "compatible");
    strings(out, &r.compatible);
    key(out, false, "resets");
    match &r.resets {
        None => out.extend_from_slice(b"null"),
        Some(lines) => {
            out.push(b'[');
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                key(out, true, "controller");
                string(out, &line.controller);
                key(out, false, "args");
                numbers(out, &line.args);
                out.push(b'}');
            }
            out.push(b']');
        }
    }
    if let Some(error) = &r.error {
        key(out, false, "error");
        string(out, error);
    }
    key(out, false, "shared_with");
    strings(out, &r.shared_with);
    key(out, false, "iommus");
    out.extend_from_slice(if r.iommus { b"true" } else { b"false" });
    key(out, false, "verdict");
    out.push(b'{');
    key(out, true, "eligible");
    out.extend_from_slice(if r.verdict.eligible { b"true" } else { b"false" });
    key(out, false, "method");
    string(out, r.verdict.method);
    key(out, false, "reasons");
    strings(out, &r.verdict.reasons);
    key(out, false, "warnings");
    strings(out, &r.verdict.warnings);
    key(out, false, "evidence_grade");
    string(out, r.verdict.evidence_grade);
    key(out, false, "evidence_citation");
    match &r.verdict.evidence_citation {
        Some(citation) => string(out, citation),
        None => out.extend_from_slice(b"null"),
    }
    key(out, false, "evidence_lines");
    match r.verdict.evidence_lines {
        Some(lines) => string(out, lines),
        None => out.extend_from_slice(b"null"),
    }
    key(out, false, "candidate");
    out.extend_from_slice(if r.verdict.candidate { b"true" } else { b"false" });
    key(out, false, "infrastructure");
    match r.verdict.infrastructure {
        Some(kind) => string(out, kind),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    key(out, false, "reset_names");
    strings(out, &r.reset_names);
    key(out, false, "shared_with_count");
    out.extend_from_slice(itoa::Buffer::new().format(r.shared_with_count).as_bytes());
    key(out, false, "shared_with_truncated");
    out.extend_from_slice(if r.shared_with_truncated { b"true" } else { b"false" });
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::{LineRecord, VerdictRecord};
    use platreset_policy::policy::{Method, Verdict};

    /// A node id to put in a record (the root of an empty tree).
    fn root_id() -> platreset_fdt::NodeId {
        let root = platreset_dtedit::Node::new("");
        let blob = platreset_dtedit::to_dtb(&root, &platreset_dtedit::WriteOptions::default())
            .expect("an empty tree");
        platreset_fdt::Fdt::parse(&blob).expect("written by dtedit").root().id()
    }

    fn sample(text: &str) -> NodeRecord<'static> {
        NodeRecord {
            file: format!("dir/{text}.dtb").into(),
            node: format!("/soc/{text}@0").into(),
            status: text.to_string().into(),
            compatible: vec![text.to_string().into(), "".into()],
            resets: Some(vec![LineRecord { controller: "/c".into(), args: vec![0, 7, u32::MAX].into() }]),
            error: Some(text.to_string()),
            shared_with: vec!["/a".into(), text.to_string().into()],
            iommus: true,
            verdict: VerdictRecord {
                eligible: false,
                method: "generic",
                reasons: vec![text.to_string().into()],
                warnings: vec![text.to_string().into()],
                evidence_grade: "kernel-driver-recovery",
                evidence_citation: (!text.is_empty()).then(|| text.to_string()),
                evidence_lines: (!text.is_empty()).then_some("all"),
                candidate: text.is_empty(),
                infrastructure: (!text.is_empty()).then_some("power-gate"),
                verdict: Verdict {
                    method: Method::Generic,
                    reasons: vec![],
                    warnings: vec![],
                    evidence: Default::default(),
                    infrastructure: None,
                },
            },
            reset_names: vec![text.to_string().into()],
            shared_with_count: text.len() * 1_000,
            shared_with_truncated: !text.is_empty(),
            resettable: true,
            id: root_id(),
        }
    }

    #[test]
    fn escape_scan_finds_every_byte_that_needs_escaping_at_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                for b in 0u8..=255 {
                    let mut bytes = vec![b'a'; len];
                    bytes[pos] = b;
                    let expected = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escape(&bytes), expected, "byte {b:#x} at {pos} of {len}");
                }
            }
        }
        assert!(!needs_escape("ééééé/ü∑".as_bytes()));
    }

    #[test]
    fn jsonl_writer_emits_exactly_what_serde_json_emits() {
        let mut hostile: String = (0u8..0x80).map(char::from).collect();
        hostile.push_str("é\u{2028}\u{fffd}\"\\/");
        for text in ["plain", "", hostile.as_str()] {
            let mut record = sample(text);
            for with_error in [true, false] {
                if !with_error {
                    record.error = None;
                    record.resets = None;
                }
                let mut ours = Vec::new();
                super::record(&mut ours, &record);
                let mut theirs = serde_json::to_vec(&record).expect("records serialise");
                theirs.push(b'\n');
                assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
            }
        }
    }
}
