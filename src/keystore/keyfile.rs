//! The GLib key file syntax (`GKeyFile`) that bluetoothd's `info` files use: `[Group]` headers,
//! `Key=Value` lines, `#` comments and blank lines.
//!
//! The parser keeps every line as it was, so a file we only read, or rewrite after changing one
//! group, keeps its other groups, keys, comments and blank lines byte for byte. The rules follow
//! GLib's `gkeyfile.c`: leading whitespace of a line is ignored; a group line is `[name]` with
//! nothing but spaces or tabs after the `]`; any other non-comment line must contain `=` with a
//! non-empty key before it; a key line before the first group is an error; the last value of a
//! repeated key wins; keys added to an existing group go after its last key (before its trailing
//! blank lines); a new group is separated from what precedes it by one blank line.

use std::fmt;

/// A syntax error in a key file, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What one line of the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A blank line or a comment.
    Other,
    /// A group header; the group name.
    Group(String),
    /// A `key=value` line: the trimmed key and the raw (still escaped) value.
    Entry { key: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    raw: String,
    kind: Kind,
}

/// A parsed key file that can be changed and written back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFile {
    lines: Vec<Line>,
}

/// A value found in a key file, with the 1-based line it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    /// The raw value, still escaped as in the file.
    pub value: &'a str,
    /// 1-based line number.
    pub line: usize,
}

fn is_blank_or_comment(trimmed: &str) -> bool {
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn parse_group_line(trimmed: &str) -> Option<&str> {
    let inner = trimmed.strip_prefix('[')?;
    let close = inner.find(']')?;
    let rest = &inner[close + 1..];
    if !rest.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    Some(&inner[..close])
}

impl KeyFile {
    /// An empty key file.
    pub fn new() -> Self {
        KeyFile::default()
    }

    /// Parses a key file. Invalid UTF-8, a line that is neither a group, a key nor a comment, an
    /// invalid group name or a key before the first group is an error naming the line.
    pub fn parse(bytes: &[u8]) -> Result<Self, SyntaxError> {
        let mut lines = Vec::new();
        let mut in_group = false;
        let mut chunks: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if bytes.ends_with(b"\n") {
            chunks.pop();
        }
        for (i, chunk) in chunks.into_iter().enumerate() {
            let number = i + 1;
            let err = |message: String| SyntaxError {
                line: number,
                message,
            };
            let text = std::str::from_utf8(chunk).map_err(|e| {
                err(format!(
                    "not valid UTF-8 (at byte {} of the line)",
                    e.valid_up_to()
                ))
            })?;
            let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
            let kind = if is_blank_or_comment(trimmed) {
                Kind::Other
            } else if let Some(name) = parse_group_line(trimmed) {
                if name.is_empty() || name.contains('[') || name.chars().any(char::is_control) {
                    return Err(err(format!("invalid group name `[{name}]`")));
                }
                in_group = true;
                Kind::Group(name.to_string())
            } else if trimmed.starts_with('[') {
                return Err(err("group header without a closing `]`".to_string()));
            } else if let Some((key, value)) = trimmed.split_once('=') {
                let key = key.trim_end_matches(|c: char| c.is_ascii_whitespace());
                if key.is_empty() {
                    return Err(err("key line with an empty key".to_string()));
                }
                if !in_group {
                    return Err(err("key line before the first [group]".to_string()));
                }
                let value = value.trim_start_matches(|c: char| c.is_ascii_whitespace());
                Kind::Entry {
                    key: key.to_string(),
                    value: value.to_string(),
                }
            } else {
                return Err(err(
                    "line is not a [group], a Key=Value pair or a # comment (missing `=`?)"
                        .to_string(),
                ));
            };
            lines.push(Line {
                raw: text.to_string(),
                kind,
            });
        }
        Ok(KeyFile { lines })
    }

    /// The file as GLib writes it: every line followed by `\n`, and a blank line before each
    /// group header that does not already follow one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in &self.lines {
            if matches!(line.kind, Kind::Group(_)) && out.len() >= 2 && out[out.len() - 2] != b'\n'
            {
                out.push(b'\n');
            }
            out.extend_from_slice(line.raw.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// True when some line is the header of `group`.
    pub fn has_group(&self, group: &str) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(&l.kind, Kind::Group(g) if g == group))
    }

    /// The 1-based line of the last header of `group`.
    pub fn group_line(&self, group: &str) -> Option<usize> {
        self.lines
            .iter()
            .rposition(|l| matches!(&l.kind, Kind::Group(g) if g == group))
            .map(|i| i + 1)
    }

    /// Index of the last line holding `key` in `group` (groups may repeat; GLib merges them).
    fn find(&self, group: &str, key: &str) -> Option<usize> {
        let mut current: Option<&str> = None;
        let mut found = None;
        for (i, line) in self.lines.iter().enumerate() {
            match &line.kind {
                Kind::Group(g) => current = Some(g),
                Kind::Entry { key: k, .. } if current == Some(group) && k == key => found = Some(i),
                _ => {}
            }
        }
        found
    }

    /// The raw value of `key` in `group`, with its line.
    pub fn get(&self, group: &str, key: &str) -> Option<Found<'_>> {
        let i = self.find(group, key)?;
        match &self.lines[i].kind {
            Kind::Entry { value, .. } => Some(Found { value, line: i + 1 }),
            _ => None,
        }
    }

    /// Sets `key` in `group` to the raw (already escaped) `value`: in place when the key exists,
    /// else after the group's last key, else in a new group at the end of the file.
    pub fn set(&mut self, group: &str, key: &str, value: &str) {
        let line = Line {
            raw: format!("{key}={value}"),
            kind: Kind::Entry {
                key: key.to_string(),
                value: value.to_string(),
            },
        };
        if let Some(i) = self.find(group, key) {
            self.lines[i] = line;
            return;
        }
        let header = self
            .lines
            .iter()
            .rposition(|l| matches!(&l.kind, Kind::Group(g) if g == group));
        match header {
            Some(h) => {
                let mut at = h + 1;
                let mut i = h + 1;
                while i < self.lines.len() && !matches!(self.lines[i].kind, Kind::Group(_)) {
                    if matches!(self.lines[i].kind, Kind::Entry { .. }) {
                        at = i + 1;
                    }
                    i += 1;
                }
                self.lines.insert(at, line);
            }
            None => {
                if self.lines.last().is_some_and(|l| !l.raw.is_empty()) {
                    self.lines.push(Line {
                        raw: String::new(),
                        kind: Kind::Other,
                    });
                }
                self.lines.push(Line {
                    raw: format!("[{group}]"),
                    kind: Kind::Group(group.to_string()),
                });
                self.lines.push(line);
            }
        }
    }

    /// Removes every occurrence of `key` in `group`.
    pub fn remove_key(&mut self, group: &str, key: &str) {
        while let Some(i) = self.find(group, key) {
            self.lines.remove(i);
        }
    }

    /// Removes every section headed `group`, with all its lines.
    pub fn remove_group(&mut self, group: &str) {
        let mut keep = Vec::with_capacity(self.lines.len());
        let mut dropping = false;
        for line in self.lines.drain(..) {
            if let Kind::Group(g) = &line.kind {
                dropping = g == group;
            }
            if !dropping {
                keep.push(line);
            }
        }
        self.lines = keep;
    }

    /// The names of the groups, in file order, each once.
    pub fn groups(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for line in &self.lines {
            if let Kind::Group(g) = &line.kind {
                if !out.contains(&g.as_str()) {
                    out.push(g);
                }
            }
        }
        out
    }
}

/// Unescapes a string value (`\s \n \t \r \\`); any other escape is an error, as in GLib.
pub fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => return Err(format!("invalid escape sequence `\\{other}`")),
            None => return Err("value ends in a lone `\\`".to_string()),
        }
    }
    Ok(out)
}

/// Escapes a string value the way `g_key_file_set_string` does: backslash, newline, tab and
/// carriage return always, a space only at the start.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            ' ' if i == 0 => out.push_str("\\s"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

/// Splits a string list value (`a;b;`) into its raw items, honouring `\;`.
pub fn split_list(raw: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            ';' => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items
}

/// Joins raw list items the way `g_key_file_set_string_list` does: each followed by `;`.
pub fn join_list(items: &[String]) -> String {
    items.iter().map(|i| format!("{i};")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Layout built from GLib's key file rules (gkeyfile.c), not written by GLib.
    const SAMPLE: &str = "# comment\n[General]\nName=Foo\n\n[LinkKey]\nKey=00\nType=4\n";

    #[test]
    fn parse_and_write_back_is_identical() {
        let kf = KeyFile::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(kf.get("LinkKey", "Type").unwrap().value, "4");
        assert_eq!(kf.get("LinkKey", "Type").unwrap().line, 7);
        // GLib puts a blank line between a comment preamble and the first group.
        let expected = SAMPLE.replace("# comment\n", "# comment\n\n");
        assert_eq!(String::from_utf8(kf.to_bytes()).unwrap(), expected);
        let again = KeyFile::parse(expected.as_bytes()).unwrap();
        assert_eq!(again.to_bytes(), expected.as_bytes());
    }

    #[test]
    fn new_key_goes_before_trailing_blank_line_and_new_group_after_one() {
        let mut kf = KeyFile::parse(b"[General]\nName=Foo\n\n[LinkKey]\nKey=00\n").unwrap();
        kf.set("General", "Trusted", "true");
        kf.set("IdentityResolvingKey", "Key", "AB");
        kf.set("LinkKey", "Key", "11");
        assert_eq!(
            String::from_utf8(kf.to_bytes()).unwrap(),
            "[General]\nName=Foo\nTrusted=true\n\n[LinkKey]\nKey=11\n\n[IdentityResolvingKey]\nKey=AB\n"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = KeyFile::parse(b"[General]\nName=x\nbroken line\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = KeyFile::parse(b"Key=1\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = KeyFile::parse(b"[General]\n[Link\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = KeyFile::parse(b"[General]\nName=\xff\xfe\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = KeyFile::parse(b"[General]\n=x\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn whitespace_repeats_and_removal() {
        let mut kf = KeyFile::parse(b"  [A]  \n  K = v \nK=w\n[B]\nX=1\n[A]\nL=2\n").unwrap();
        assert_eq!(kf.get("A", "K").unwrap().value, "w");
        assert_eq!(kf.get("A", "L").unwrap().value, "2");
        assert_eq!(kf.groups(), vec!["A", "B"]);
        kf.remove_group("A");
        assert_eq!(kf.groups(), vec!["B"]);
        kf.remove_key("B", "X");
        assert!(kf.get("B", "X").is_none());
    }

    #[test]
    fn escapes_round_trip() {
        let s = " lead\tand\\back\nline";
        assert_eq!(escape(s), "\\slead\\tand\\\\back\\nline");
        assert_eq!(unescape(&escape(s)).unwrap(), s);
        assert!(unescape("bad\\q").is_err());
        assert!(unescape("bad\\").is_err());
        assert_eq!(split_list("BR/EDR;LE;"), vec!["BR/EDR", "LE"]);
        assert_eq!(join_list(&["BR/EDR".into(), "LE".into()]), "BR/EDR;LE;");
    }
}
