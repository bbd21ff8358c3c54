//! Controller indexes: which controller (hciN) a frame is about, or none.

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// The controller a command or event concerns: `hciN` has index N; 0xFFFF means the frame is
/// not about any controller (Read Version, Read Index List, ...).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ControllerIndex(pub u16);

impl ControllerIndex {
    /// The `<non-controller>` index, 0xFFFF.
    pub const NONE: ControllerIndex = ControllerIndex(0xFFFF);

    /// True for [`ControllerIndex::NONE`].
    pub fn is_none(self) -> bool {
        self == Self::NONE
    }
}

impl fmt::Display for ControllerIndex {
    /// `hci0`, or `-` for the non-controller index.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            f.write_str("-")
        } else {
            write!(f, "hci{}", self.0)
        }
    }
}

impl fmt::Debug for ControllerIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ControllerIndex({self})")
    }
}

impl From<u16> for ControllerIndex {
    fn from(v: u16) -> Self {
        ControllerIndex(v)
    }
}

impl Wire for ControllerIndex {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(ControllerIndex)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ControllerIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_none() {
            s.serialize_none()
        } else {
            s.serialize_u16(self.0)
        }
    }
}
