//! XML 1.0 attribute values (W3C XML 1.0 §2.2 `Char`, §2.4, §3.3.3): the text of one attribute,
//! quoted with `"`, from any string — for `assignable_devices.xml`, whose `kind` comes from the
//! host's `compatible` and may hold anything.
//!
//! `& < > " '` become entity references; tab, line feed and carriage return become character
//! references (written as themselves, attribute-value normalization would turn them into spaces);
//! DEL and the C1 controls, which XML 1.0 allows but a terminal may act on, become character
//! references too. The other C0 controls, U+FFFE and U+FFFF are not XML characters at all — not
//! even as references — so a string holding one is refused, naming it.
//!
//! Owns: the escaping. Must not: decide what goes into the file.

/// `s` as the inside of a `"`-quoted attribute value, or the first character XML 1.0 cannot carry.
pub fn attribute(s: &str) -> Result<String, char> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | '\u{7f}'..='\u{9f}' => out.push_str(&format!("&#x{:x};", u32::from(c))),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => return Err(c),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::attribute;

    #[test]
    fn markup_characters_become_entity_references() {
        assert_eq!(attribute(r#"a&b<c>d"e'f"#).unwrap(), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(attribute("sdhi-r8a774a1").unwrap(), "sdhi-r8a774a1");
    }

    #[test]
    fn white_space_and_c1_controls_become_character_references() {
        assert_eq!(attribute("a\tb\nc\rd\u{7f}e\u{85}").unwrap(), "a&#x9;b&#xa;c&#xd;d&#x7f;e&#x85;");
    }

    #[test]
    fn characters_xml_cannot_carry_are_refused() {
        assert_eq!(attribute("a\u{1}b"), Err('\u{1}'));
        assert_eq!(attribute("a\u{1b}[1m"), Err('\u{1b}'));
        assert_eq!(attribute("a\u{0}"), Err('\u{0}'));
        assert_eq!(attribute("\u{ffff}"), Err('\u{ffff}'));
    }
}
