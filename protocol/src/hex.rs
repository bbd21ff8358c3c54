//! Hex rendering of byte strings for `Debug`, `Display` and serialisation.

use core::fmt;

/// Formats bytes as lowercase hex with no separators (`"0a1b2c"`).
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Parses hex digits (upper or lower case, no separators) into bytes.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(Hex(&[0x0a, 0xff]).to_string(), "0aff");
        assert_eq!(parse_hex("0AfF"), Some(vec![0x0a, 0xff]));
        assert_eq!(parse_hex("0"), None);
        assert_eq!(parse_hex("zz"), None);
    }
}
