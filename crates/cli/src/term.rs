//! Text for people, made safe to print: every character a terminal would obey rather than show
//! — ESC (colours, cursor moves, screen clears), CR (back to the start of a line, over a row
//! already printed), the other C0 and C1 controls, DEL, and the bidirectional overrides that
//! reorder what is shown — is written as a visible escape (`\u{1b}`), so a crafted node name, file
//! name or `_HID` cannot rewrite or forge what the user reads. Newlines and tabs are the
//! renderers' own and pass.
//!
//! Owns: that filter, for the text formats. Must not: touch JSON (serde escapes it), DOT or
//! binary output, which have their own rules.

use std::io::{self, Write};

/// Whether `c` is shown escaped by the writer: newlines and tabs are the renderers' own.
fn obeyed(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || reorders(c)
}

/// The bidirectional marks and overrides that change the order in which text is shown.
fn reorders(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` — one field: a name, a path — with every control character (newlines and tabs too: a
/// field has none of its own) and bidirectional override escaped.
pub fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    escaped(s, |c| c.is_control() || reorders(c))
}

/// `s` with the characters `escape` picks written as `\u{…}`.
fn escaped(s: &str, escape: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(&escape) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A writer that escapes what a terminal would obey, newlines and tabs aside (or passes
/// everything, for machine formats).
pub struct Terminal<W: Write> {
    inner: W,
    escape: bool,
    /// The start of a UTF-8 sequence split across two writes.
    pending: Vec<u8>,
}

impl<W: Write> Terminal<W> {
    /// Escapes what `inner` receives when `escape` (text formats); passes it untouched otherwise.
    pub fn new(inner: W, escape: bool) -> Self {
        Terminal { inner, escape, pending: Vec::new() }
    }
}

/// Standard output for a command's result: escaped when `text`.
pub fn stdout(text: bool) -> Terminal<io::StdoutLock<'static>> {
    Terminal::new(io::stdout().lock(), text)
}

impl<W: Write> Write for Terminal<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.escape {
            return self.inner.write(buf);
        }
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.inner.write_all(escaped(text, obeyed).as_bytes())?;
                    rest = &[];
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // Valid up to here by the check above.
                    let good = std::str::from_utf8(good).unwrap_or_default();
                    self.inner.write_all(escaped(good, obeyed).as_bytes())?;
                    match e.error_len() {
                        // Cut at the end of this write: the rest comes with the next one.
                        None => {
                            self.pending = bad.to_vec();
                            rest = &[];
                        }
                        Some(n) => {
                            for b in &bad[..n] {
                                write!(self.inner, "\\x{b:02x}")?;
                            }
                            rest = &bad[n..];
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            for b in pending {
                write!(self.inner, "\\x{b:02x}")?;
            }
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Terminal<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn through(chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        {
            let mut t = Terminal::new(&mut out, true);
            for c in chunks {
                t.write_all(c).unwrap();
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn what_a_terminal_obeys_is_shown_and_the_rest_passes() {
        assert_eq!(through(&[b"a\x1b[2Jb\rc\td\n"]), "a\\u{1b}[2Jb\\u{d}c\td\n");
        assert_eq!(through(&["\u{85}x\u{202e}y\u{7f}".as_bytes()]), "\\u{85}x\\u{202e}y\\u{7f}");
        assert_eq!(
            through(&["plain ümlaut /soc/mmc@ee100000 ELIGIBLE\n".as_bytes()]),
            "plain ümlaut /soc/mmc@ee100000 ELIGIBLE\n"
        );
    }

    #[test]
    fn a_character_split_across_writes_is_joined_and_invalid_bytes_are_shown() {
        let split = "\u{202e}".as_bytes();
        assert_eq!(through(&[b"a", &split[..1], &split[1..], b"b"]), "a\\u{202e}b");
        assert_eq!(through(&[b"a\xff\xfeb"]), "a\\xff\\xfeb");
        assert_eq!(through(&[b"a", &split[..2]]), "a\\xe2\\x80");
    }

    #[test]
    fn machine_formats_pass_untouched() {
        let mut out = Vec::new();
        Terminal::new(&mut out, false).write_all(b"{\"a\":\"\x1b\"}").unwrap();
        assert_eq!(out, b"{\"a\":\"\x1b\"}");
    }
}
