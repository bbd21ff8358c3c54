//! 128-bit UUIDs as MGMT carries them (little endian).

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// A 128-bit UUID in wire order (least significant octet first, as in Add UUID).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid128(pub [u8; 16]);

impl Uuid128 {
    /// The Bluetooth Base UUID `00000000-0000-1000-8000-00805f9b34fb`, wire order.
    pub const BASE: Uuid128 = Uuid128([
        0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ]);

    /// A 16- or 32-bit UUID widened with the Base UUID (`0x180f` gives
    /// `0000180f-0000-1000-8000-00805f9b34fb`).
    pub fn from_u32(short: u32) -> Uuid128 {
        let mut u = Uuid128::BASE;
        u.0[12..].copy_from_slice(&short.to_le_bytes());
        u
    }

    /// The 32-bit value when this is a Base UUID widening (`from_u32`'s inverse).
    pub fn as_u32(&self) -> Option<u32> {
        (self.0[..12] == Uuid128::BASE.0[..12])
            .then(|| u32::from_le_bytes([self.0[12], self.0[13], self.0[14], self.0[15]]))
    }
}

/// Text that is not a UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, or 4 or 8 hex digits for
/// a short one, optionally with `0x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUuidError(pub String);

impl fmt::Display for ParseUuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a UUID (want 0000180f-0000-1000-8000-00805f9b34fb, 180f or 0x180f)",
            self.0
        )
    }
}

impl std::error::Error for ParseUuidError {}

impl core::str::FromStr for Uuid128 {
    type Err = ParseUuidError;
    /// The usual form, or a 16/32-bit short form (4 or 8 hex digits, `0x` optional).
    fn from_str(s: &str) -> Result<Uuid128, ParseUuidError> {
        let err = || ParseUuidError(s.to_string());
        let t = s.trim();
        let short = t.strip_prefix("0x").unwrap_or(t);
        if (short.len() == 4 || short.len() == 8) && short.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(short, 16)
                .map(Uuid128::from_u32)
                .map_err(|_| err());
        }
        let groups: Vec<&str> = t.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] {
            return Err(err());
        }
        let mut b = crate::hex::parse_hex(&groups.concat()).ok_or_else(err)?;
        b.reverse();
        let mut out = [0u8; 16];
        out.copy_from_slice(&b);
        Ok(Uuid128(out))
    }
}

impl fmt::Display for Uuid128 {
    /// The usual form, most significant first: `0000110a-0000-1000-8000-00805f9b34fb`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut b = self.0;
        b.reverse();
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid128({self})")
    }
}

impl Wire for Uuid128 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(Uuid128)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Uuid128 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let full: Uuid128 = "0000180f-0000-1000-8000-00805f9b34fb".parse().unwrap();
        assert_eq!(full, Uuid128::from_u32(0x180f));
        assert_eq!("0x180f".parse::<Uuid128>().unwrap(), full);
        assert_eq!("180F".parse::<Uuid128>().unwrap(), full);
        assert_eq!(full.as_u32(), Some(0x180f));
        assert_eq!(full.to_string(), "0000180f-0000-1000-8000-00805f9b34fb");
        let custom: Uuid128 = "12345678-1234-5678-1234-56789abcdef0".parse().unwrap();
        assert_eq!(custom.0[0], 0xf0);
        assert_eq!(custom.as_u32(), None);
        for bad in ["", "18f", "zzzz", "12345678-1234-5678-1234-56789abcdef"] {
            assert!(bad.parse::<Uuid128>().is_err(), "{bad}");
        }
    }
}
