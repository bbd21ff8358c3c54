//! Fixed-size, nul-padded name fields (the 249-octet local name and the 11-octet short name).

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// A name in a fixed-size field of `N` octets: UTF-8, ended by the first nul.
///
/// The raw field is kept whole, so bytes after the nul (which the kernel zero-fills, but a
/// capture may not) survive a decode/encode round trip. The field lives on the heap: a
/// 249-octet name inline would make every event and reply value that large.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FixedName<const N: usize>(pub Box<[u8; N]>);

/// The 249-octet complete local name field.
pub type LocalName = FixedName<249>;
/// The 11-octet short local name field.
pub type ShortName = FixedName<11>;

impl<const N: usize> FixedName<N> {
    /// A name field holding `name`, truncated at a character boundary to leave room for the
    /// terminating nul.
    pub fn new(name: &str) -> Self {
        let mut b = [0u8; N];
        let mut end = name.len().min(N.saturating_sub(1));
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        b[..end].copy_from_slice(&name.as_bytes()[..end]);
        FixedName(Box::new(b))
    }

    /// The bytes before the first nul.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&c| c == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// The name as text, with invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl<const N: usize> Default for FixedName<N> {
    fn default() -> Self {
        FixedName(Box::new([0; N]))
    }
}

impl<const N: usize> fmt::Debug for FixedName<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl<const N: usize> fmt::Display for FixedName<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl<const N: usize> Wire for FixedName<N> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(|a| FixedName(Box::new(a)))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0[..]);
    }
}

#[cfg(feature = "serde")]
impl<const N: usize> serde::Serialize for FixedName<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_and_terminates() {
        let n = ShortName::new("a-very-long-name");
        assert_eq!(n.to_string(), "a-very-lon");
        assert_eq!(n.0[10], 0);
        let n = ShortName::new("ééééééé");
        assert_eq!(n.to_string(), "ééééé");
    }
}
