//! 128-bit UUIDs as MGMT carries them (little endian).

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// A 128-bit UUID in wire order (least significant octet first, as in Add UUID).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid128(pub [u8; 16]);

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
