//! The one error type of capture reading and writing: what went wrong ([`ErrorKind`]) and
//! where in the file (record number, byte offset).

use core::fmt;
use std::io;

use bluez_mgmt_protocol::DecodeError;

/// Why a capture could not be read or written, and where.
///
/// Opaque: ask [`kind`](CaptureError::kind) for the category, and
/// [`record`](CaptureError::record) / [`offset`](CaptureError::offset) for the position.
/// `Display` says all of it, for example
/// `record 7 at byte offset 412: truncated record data: expected 20 bytes, 3 present`.
#[derive(Debug)]
pub struct CaptureError {
    kind: ErrorKind,
    record: Option<u64>,
    offset: Option<u64>,
    detail: Detail,
}

/// The category of a [`CaptureError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader or writer failed.
    Io,
    /// The file does not start with `btsnoop\0`.
    BadMagic,
    /// The btsnoop version is not 1.
    UnsupportedVersion,
    /// The datalink is not 2001 (Linux monitor).
    UnsupportedDatalink,
    /// The file ends in the middle of the header or of a record.
    Truncated,
    /// A record's payload does not have the layout its monitor opcode calls for.
    MalformedRecord,
    /// A control-channel record holds an MGMT message that does not decode.
    Decode,
    /// A record is too large for the format's 32-bit length fields.
    TooLong,
    /// A record declares more data than any monitor record carries
    /// ([`MAX_RECORD_LEN`](super::MAX_RECORD_LEN)); it is not read.
    RecordTooLarge,
}

#[derive(Debug)]
enum Detail {
    Io(io::Error),
    BadMagic([u8; 8]),
    Version(u32),
    Datalink(u32),
    Truncated {
        what: &'static str,
        expected: u64,
        present: u64,
    },
    Malformed {
        opcode: super::MonitorOpcode,
        message: String,
    },
    Decode(DecodeError),
    TooLong(usize),
    TooLarge(u32),
}

impl CaptureError {
    fn new(kind: ErrorKind, detail: Detail) -> Self {
        CaptureError {
            kind,
            record: None,
            offset: None,
            detail,
        }
    }

    pub(crate) fn io(e: io::Error) -> Self {
        Self::new(ErrorKind::Io, Detail::Io(e))
    }

    pub(crate) fn bad_magic(found: [u8; 8]) -> Self {
        Self::new(ErrorKind::BadMagic, Detail::BadMagic(found))
    }

    pub(crate) fn version(found: u32) -> Self {
        Self::new(ErrorKind::UnsupportedVersion, Detail::Version(found))
    }

    pub(crate) fn datalink(found: u32) -> Self {
        Self::new(ErrorKind::UnsupportedDatalink, Detail::Datalink(found))
    }

    pub(crate) fn truncated(what: &'static str, expected: u64, present: u64) -> Self {
        Self::new(
            ErrorKind::Truncated,
            Detail::Truncated {
                what,
                expected,
                present,
            },
        )
    }

    pub(crate) fn malformed(opcode: super::MonitorOpcode, message: String) -> Self {
        Self::new(
            ErrorKind::MalformedRecord,
            Detail::Malformed { opcode, message },
        )
    }

    pub(crate) fn decode(e: DecodeError) -> Self {
        Self::new(ErrorKind::Decode, Detail::Decode(e))
    }

    pub(crate) fn too_long(len: usize) -> Self {
        Self::new(ErrorKind::TooLong, Detail::TooLong(len))
    }

    pub(crate) fn too_large(declared: u32) -> Self {
        Self::new(ErrorKind::RecordTooLarge, Detail::TooLarge(declared))
    }

    pub(crate) fn at(mut self, record: Option<u64>, offset: Option<u64>) -> Self {
        self.record = record.or(self.record);
        self.offset = offset.or(self.offset);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The number of the record concerned, counting from 1, if the error is about a record.
    pub fn record(&self) -> Option<u64> {
        self.record
    }

    /// Byte offset in the file where the failing header or record starts, if known.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The MGMT decode failure, for [`ErrorKind::Decode`].
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match &self.detail {
            Detail::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.record, self.offset) {
            (Some(r), Some(o)) => write!(f, "record {r} at byte offset {o}: ")?,
            (Some(r), None) => write!(f, "record {r}: ")?,
            (None, Some(o)) => write!(f, "byte offset {o}: ")?,
            (None, None) => {}
        }
        match &self.detail {
            Detail::Io(e) => write!(f, "I/O error: {e}"),
            Detail::BadMagic(m) => write!(
                f,
                "not a btsnoop file: expected magic \"btsnoop\\0\", found {}",
                bluez_mgmt_protocol::hex::Hex(m)
            ),
            Detail::Version(v) => write!(f, "unsupported btsnoop version {v} (expected 1)"),
            Detail::Datalink(d) => write!(
                f,
                "unsupported btsnoop datalink {d} (expected 2001, the Linux monitor format of `btmon -w`)"
            ),
            Detail::Truncated {
                what,
                expected,
                present,
            } => write!(
                f,
                "truncated {what}: expected {expected} bytes, {present} present"
            ),
            Detail::Malformed { opcode, message } => write!(f, "malformed {opcode} record: {message}"),
            Detail::Decode(e) => write!(f, "MGMT decode failed: {e}"),
            Detail::TooLong(n) => write!(
                f,
                "record data of {n} bytes does not fit the 32-bit length field"
            ),
            Detail::TooLarge(n) => write!(
                f,
                "record declares {n} bytes of data, more than the largest monitor record \
                 ({} bytes: an MGMT frame with 65535 parameter bytes); not read",
                super::MAX_RECORD_LEN
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.detail {
            Detail::Io(e) => Some(e),
            Detail::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for CaptureError {
    fn from(e: io::Error) -> Self {
        CaptureError::io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_position() {
        let e = CaptureError::truncated("record data", 20, 3).at(Some(7), Some(412));
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert_eq!(e.record(), Some(7));
        assert_eq!(e.offset(), Some(412));
        assert_eq!(
            e.to_string(),
            "record 7 at byte offset 412: truncated record data: expected 20 bytes, 3 present"
        );
    }

    #[test]
    fn header_errors_name_what_was_found() {
        let e = CaptureError::datalink(1002).at(None, Some(12));
        assert!(e.to_string().contains("datalink 1002"), "{e}");
        let e = CaptureError::bad_magic(*b"pcapfile");
        assert!(e.to_string().contains("7063617066696c65"), "{e}");
    }
}
