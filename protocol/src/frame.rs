//! Whole frames: the six-octet header (code, controller index, parameter length) followed by
//! the parameters, for commands and for events.
//!
//! ```text
//!  0       2       4       6
//! +-------+-------+-------+--------------------+
//! | code  | index | len   | parameters (len)   |
//! +-------+-------+-------+--------------------+
//!   all little endian
//! ```

use zerocopy::little_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::code::{EventCode, Opcode};
use crate::command::AnyCommand;
use crate::error::{DecodeError, FrameTooLong, Problem};
use crate::event::Event;
use crate::index::ControllerIndex;

/// Length of the frame header.
pub const HEADER_LEN: usize = 6;

/// Largest parameter block a frame can carry.
pub const MAX_PARAMS_LEN: usize = u16::MAX as usize;

/// The frame header as it is laid out on the wire.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// Opcode (commands) or event code (events).
    pub code: U16,
    /// Controller index, 0xFFFF for none.
    pub index: U16,
    /// Length of the parameters that follow.
    pub param_len: U16,
}

/// A frame split into header fields and parameter bytes, not yet decoded by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// Opcode or event code.
    pub code: u16,
    /// Controller index.
    pub index: ControllerIndex,
    /// The parameters (exactly the header's length).
    pub params: &'a [u8],
}

impl<'a> RawFrame<'a> {
    /// Splits `bytes` into header and parameters. The header's length must match the bytes
    /// that follow it exactly.
    pub fn parse(kind: &'static str, bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let Ok((hdr, params)) = Header::ref_from_prefix(bytes) else {
            return Err(DecodeError::new(
                kind,
                "header",
                0,
                Problem::Truncated {
                    expected: HEADER_LEN,
                    actual: bytes.len(),
                },
            ));
        };
        let declared = usize::from(hdr.param_len.get());
        if declared != params.len() {
            return Err(DecodeError::new(
                kind,
                "header",
                4,
                Problem::LengthMismatch {
                    declared,
                    actual: params.len(),
                },
            ));
        }
        Ok(RawFrame {
            code: hdr.code.get(),
            index: ControllerIndex(hdr.index.get()),
            params,
        })
    }
}

fn build(code: u16, index: ControllerIndex, params: Vec<u8>) -> Result<Vec<u8>, FrameTooLong> {
    let len = u16::try_from(params.len()).map_err(|_| FrameTooLong {
        length: params.len(),
    })?;
    let hdr = Header {
        code: U16::new(code),
        index: U16::new(index.0),
        param_len: U16::new(len),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + params.len());
    out.extend_from_slice(hdr.as_bytes());
    out.extend_from_slice(&params);
    Ok(out)
}

/// A command frame: which controller, and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFrame {
    /// The controller addressed.
    pub index: ControllerIndex,
    /// The command and its parameters.
    pub command: AnyCommand,
}

impl CommandFrame {
    /// Decodes a whole command frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw = RawFrame::parse("command frame", bytes)?;
        Ok(CommandFrame {
            index: raw.index,
            command: AnyCommand::decode(Opcode(raw.code), raw.params)?,
        })
    }

    /// Encodes the frame; fails only if the parameters exceed 65535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, FrameTooLong> {
        let mut params = Vec::new();
        self.command.encode(&mut params);
        build(self.command.opcode().0, self.index, params)
    }
}

/// An event frame: which controller, and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFrame {
    /// The controller the event is about.
    pub index: ControllerIndex,
    /// The event and its parameters.
    pub event: Event,
}

impl EventFrame {
    /// Decodes a whole event frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw = RawFrame::parse("event frame", bytes)?;
        Ok(EventFrame {
            index: raw.index,
            event: Event::decode(EventCode(raw.code), raw.params)?,
        })
    }

    /// Encodes the frame; fails only if the parameters exceed 65535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, FrameTooLong> {
        let mut params = Vec::new();
        self.event.encode(&mut params);
        build(self.event.code().0, self.index, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ReadVersion;

    #[test]
    fn read_version_command_bytes() {
        // The Read Version command as BlueZ's own tools send it: 01 00 ff ff 00 00.
        let f = CommandFrame {
            index: ControllerIndex::NONE,
            command: ReadVersion {}.into(),
        };
        let b = f.encode().unwrap();
        assert_eq!(b, [0x01, 0x00, 0xff, 0xff, 0x00, 0x00]);
        assert_eq!(CommandFrame::decode(&b).unwrap(), f);
    }

    #[test]
    fn header_errors() {
        let e = EventFrame::decode(&[1, 0, 0]).unwrap_err();
        assert_eq!(e.field(), "header");
        let e = EventFrame::decode(&[1, 0, 0, 0, 5, 0, 1]).unwrap_err();
        assert_eq!(
            e.problem(),
            Problem::LengthMismatch {
                declared: 5,
                actual: 1
            }
        );
    }
}
