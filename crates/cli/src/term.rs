//! Text for people, made safe to print: every character a terminal would obey rather than show
//! — ESC (colours, cursor moves, screen clears), CR (back to the start of a line, over a row
//! already printed), the other C0 and C1 controls, DEL, and the bidirectional overrides that
//! reorder what is shown — is written as a visible escape (`\u{1b}`), so a crafted node name, file
//! name or `_HID` cannot rewrite or forge what the user reads. Newlines and tabs are the
//! renderers' own and pass.
//!
//! Colour is the renderers' own and goes around the filter, never through it: a renderer asks
//! for a styled span with [`Out::paint`], and the writer puts its SGR sequence straight on the
//! output, the span's text through the filter, then the reset. Bytes that reach the filter are
//! content, so an ESC in them is shown escaped whether colour is on or not.
//!
//! Owns: that filter, for the text formats, and when colour is used (`--color`, `NO_COLOR`, a
//! terminal). Must not: touch JSON (serde escapes it), DOT or binary output, which have their own
//! rules; nor colour anything but text formats.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// When text output is coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    #[default]
    Auto,
    /// Always, even into a pipe or a file, and despite `NO_COLOR` (an explicit choice wins).
    Always,
    /// Never.
    Never,
}

/// The choice `main` made for this process: 0 auto, 1 always, 2 never. A process-wide setting,
/// as the terminal it describes is.
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Records `--color` for every later [`stdout`].
pub fn choose_color(choice: ColorChoice) {
    let code = match choice {
        ColorChoice::Auto => 0,
        ColorChoice::Always => 1,
        ColorChoice::Never => 2,
    };
    CHOICE.store(code, Ordering::Relaxed);
}

/// Whether to colour, from the choice and what the environment says (https://no-color.org: a
/// set, non-empty `NO_COLOR` turns colour off unless the user asked for it explicitly).
pub fn colors(
    choice: ColorChoice,
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
        }
    }
}

/// Whether standard output gets colour, by the recorded choice.
fn stdout_colors() -> bool {
    let choice = match CHOICE.load(Ordering::Relaxed) {
        1 => ColorChoice::Always,
        2 => ColorChoice::Never,
        _ => ColorChoice::Auto,
    };
    colors(
        choice,
        io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    )
}

/// The width of the terminal standard output is, in columns: `COLUMNS` when set to a number,
/// else the terminal's size; `None` when standard output is not a terminal (a pipe, a file)
/// or its width is unknown.
pub fn stdout_width() -> Option<usize> {
    let out = io::stdout();
    if !out.is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok());
    columns
        .or_else(|| rustix::termios::tcgetwinsize(&out).ok().map(|w| usize::from(w.ws_col)))
        .filter(|&w| w > 0)
}

/// The styles renderers may ask for: what a mark means, not how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Eligible, pass.
    Good,
    /// Refused, FAIL.
    Bad,
    /// Accepted with a warning.
    Warn,
}

impl Style {
    /// The SGR sequence that starts the style.
    fn sgr(self) -> &'static [u8] {
        match self {
            Style::Good => b"\x1b[32m",
            Style::Bad => b"\x1b[31m",
            Style::Warn => b"\x1b[33m",
        }
    }
}

/// The SGR sequence that ends every style.
const RESET: &[u8] = b"\x1b[0m";

/// Output for people that can show the renderer's own styles.
pub trait Out: Write {
    /// Whether [`Out::paint`] adds colour.
    fn colored(&self) -> bool;
    /// Writes `text` as any text (escaped), in `style` when colour is on.
    fn paint(&mut self, style: Style, text: &str) -> io::Result<()>;
}

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
    /// Whether [`Out::paint`] adds SGR sequences (only ever with `escape`).
    color: bool,
    /// The start of a UTF-8 sequence split across two writes.
    pending: Vec<u8>,
}

impl<W: Write> Terminal<W> {
    /// Escapes what `inner` receives when `escape` (text formats); passes it untouched otherwise.
    pub fn new(inner: W, escape: bool) -> Self {
        Terminal { inner, escape, color: false, pending: Vec::new() }
    }

    /// The same writer, painting styled spans in colour when `color` and it escapes (text).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color && self.escape;
        self
    }

    /// Writes the start of a character cut at the end of the last write as escaped bytes: the
    /// next bytes are the renderer's own.
    fn settle(&mut self) -> io::Result<()> {
        for b in std::mem::take(&mut self.pending) {
            write!(self.inner, "\\x{b:02x}")?;
        }
        Ok(())
    }
}

/// Standard output for a command's result: escaped when `text`, and coloured when `text` and
/// `--color` and the environment say so.
pub fn stdout(text: bool) -> Terminal<io::StdoutLock<'static>> {
    Terminal::new(io::stdout().lock(), text).with_color(text && stdout_colors())
}

impl<W: Write> Out for Terminal<W> {
    fn colored(&self) -> bool {
        self.color
    }

    fn paint(&mut self, style: Style, text: &str) -> io::Result<()> {
        if !self.color {
            return self.write_all(text.as_bytes());
        }
        self.settle()?;
        self.inner.write_all(style.sgr())?;
        // The span's text is content: through the filter like any other.
        self.write_all(text.as_bytes())?;
        self.settle()?;
        self.inner.write_all(RESET)
    }
}

impl<W: Out + ?Sized> Out for &mut W {
    fn colored(&self) -> bool {
        (**self).colored()
    }

    fn paint(&mut self, style: Style, text: &str) -> io::Result<()> {
        (**self).paint(style, text)
    }
}

/// A buffer in front of a [`Terminal`]: what it holds is written out before a styled span, so
/// the span lands in its place (only when colour is on: without it, the span is plain text and
/// is buffered like the rest).
impl<W: Out> Out for io::BufWriter<W> {
    fn colored(&self) -> bool {
        self.get_ref().colored()
    }

    fn paint(&mut self, style: Style, text: &str) -> io::Result<()> {
        if !self.colored() {
            return self.write_all(text.as_bytes());
        }
        self.flush()?;
        self.get_mut().paint(style, text)
    }
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
        self.settle()?;
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
    fn colour_is_the_renderers_own_and_an_esc_in_content_is_still_escaped() {
        let mut out = Vec::new();
        {
            let mut t = Terminal::new(&mut out, true).with_color(true);
            write!(t, "/soc/\x1b[31mfake ").unwrap();
            t.paint(Style::Good, "eligible \x1b[2J").unwrap();
            t.paint(Style::Bad, "refused").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/soc/\\u{1b}[31mfake \x1b[32meligible \\u{1b}[2J\x1b[0m\x1b[31mrefused\x1b[0m"
        );
        // Off: the same bytes as plain writes.
        let mut plain = Vec::new();
        {
            let mut t = Terminal::new(&mut plain, true);
            t.paint(Style::Good, "eligible").unwrap();
        }
        assert_eq!(plain, b"eligible");
        // Machine formats are never coloured.
        assert!(!Terminal::new(Vec::new(), false).with_color(true).colored());
    }

    #[test]
    fn a_buffer_in_front_keeps_the_order_of_text_and_styled_spans() {
        let mut out = Vec::new();
        {
            let mut b = io::BufWriter::new(Terminal::new(&mut out, true).with_color(true));
            write!(b, "a ").unwrap();
            b.paint(Style::Warn, "w").unwrap();
            writeln!(b, " z").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "a \x1b[33mw\x1b[0m z\n");
    }

    #[test]
    fn no_color_and_the_choice_decide_colour() {
        use std::ffi::OsStr;
        let set = Some(OsStr::new("1"));
        assert!(colors(ColorChoice::Auto, true, None, None));
        assert!(colors(ColorChoice::Auto, true, Some(OsStr::new("")), None), "an empty NO_COLOR is unset");
        assert!(!colors(ColorChoice::Auto, true, set, None), "NO_COLOR honoured");
        assert!(!colors(ColorChoice::Auto, false, None, None), "a pipe gets no colour");
        assert!(!colors(ColorChoice::Auto, true, None, Some(OsStr::new("dumb"))));
        assert!(colors(ColorChoice::Always, false, set, None), "an explicit --color always wins");
        assert!(!colors(ColorChoice::Never, true, None, None));
    }

    #[test]
    fn machine_formats_pass_untouched() {
        let mut out = Vec::new();
        Terminal::new(&mut out, false).write_all(b"{\"a\":\"\x1b\"}").unwrap();
        assert_eq!(out, b"{\"a\":\"\x1b\"}");
    }
}
