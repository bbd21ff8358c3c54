//! The two open code spaces that head every frame: command opcodes and event codes. Their named
//! constants come from the command and event tables.

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// A command opcode. Open: an opcode this crate does not know is a value, not an error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opcode(pub u16);

impl Opcode {
    /// The command's name as doc/mgmt-protocol.rst gives it, if known.
    pub fn name(self) -> Option<&'static str> {
        crate::command::opcode_name(self.0)
    }
}

/// An event code. Open, like [`Opcode`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventCode(pub u16);

impl EventCode {
    /// The event's name as doc/mgmt-protocol.rst gives it, if known.
    pub fn name(self) -> Option<&'static str> {
        crate::event::event_name(self.0)
    }
}

macro_rules! code_impls {
    ($t:ident) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({:#06x} {})", stringify!($t), self.0, n),
                    None => write!(f, "{}({:#06x})", stringify!($t), self.0),
                }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "unknown {:#06x}", self.0),
                }
            }
        }

        impl Wire for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                u16::decode(r).map($t)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out)
            }
        }

        impl From<u16> for $t {
            fn from(v: u16) -> Self {
                $t(v)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

code_impls!(Opcode);
code_impls!(EventCode);
