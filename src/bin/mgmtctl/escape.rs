//! Text that comes from devices, captures or files, made safe to print: control characters
//! (C0, DEL, C1) and the Unicode bidirectional controls are escaped, so a device name holding
//! an escape sequence cannot move the cursor, recolour or rewrite what the terminal shows.

use std::borrow::Cow;

/// Whether `c` is printed escaped: a control character, or a bidirectional formatting
/// character (which reorders what follows it on screen).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every unsafe character written as `\u{XX}` and backslashes doubled (so an escape
/// cannot be faked); `s` itself when there is nothing to escape.
pub(crate) fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) || c == '\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it, C0 controls already escaped) with the remaining unsafe
/// characters (DEL, C1, bidirectional controls) escaped as `\uXXXX`, which JSON reads back as
/// the same characters.
pub(crate) fn json_escape_rest(json: &str) -> Cow<'_, str> {
    // Printable ASCII has nothing to escape: most lines are that, and are passed through.
    if json.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `s` holds a character [`escape_controls`] would change.
pub(crate) fn needs_escape(s: &str) -> bool {
    s.chars().any(is_unsafe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_kept() {
        for (input, shown) in [
            ("Keyboard K380", "Keyboard K380"),
            (
                "\u{1b}[2J\u{1b}]0;pwned\u{7}",
                "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}",
            ),
            ("a\rb\nc\td", "a\\u{d}b\\u{a}c\\u{9}d"),
            ("del\u{7f} csi\u{9b}", "del\\u{7f} csi\\u{9b}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("back\\slash", "back\\\\slash"),
            ("Ünïcødé 蓝牙", "Ünïcødé 蓝牙"),
        ] {
            assert_eq!(escape_controls(input), shown, "{input:?}");
        }
        assert!(needs_escape("x\u{1b}"));
        let json = serde_json::Value::String("n\u{1b}\u{9b}\u{202e}".into()).to_string();
        let escaped = json_escape_rest(&json);
        assert_eq!(escaped, "\"n\\u001b\\u009b\\u202e\"");
        let back: String = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, "n\u{1b}\u{9b}\u{202e}");
        assert!(!needs_escape("x y"));
    }
}
