//! The three-octet Class of Device.

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// Class of Device (3 octets, little endian on the wire): service classes, major and minor
/// device class.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClassOfDevice(pub [u8; 3]);

impl ClassOfDevice {
    /// The 24-bit value.
    pub fn value(self) -> u32 {
        u32::from(self.0[0]) | u32::from(self.0[1]) << 8 | u32::from(self.0[2]) << 16
    }
}

impl fmt::Display for ClassOfDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#08x}", self.value())
    }
}

impl fmt::Debug for ClassOfDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClassOfDevice({self})")
    }
}

impl Wire for ClassOfDevice {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(ClassOfDevice)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ClassOfDevice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
