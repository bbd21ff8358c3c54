//! The one error decoding can produce, saying which message, which field, where, and what was
//! expected against what was there.

use core::fmt;

/// Why a message could not be decoded.
///
/// Every decode failure names the message (`"Read Controller Information reply"`), the field
/// being read, the byte offset of that field within the parameters, and a [`Problem`] with the
/// expected and actual figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    message: &'static str,
    field: &'static str,
    offset: usize,
    problem: Problem,
}

/// What exactly was wrong with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The field needs `expected` bytes but only `actual` remain.
    Truncated {
        /// Bytes the field needs.
        expected: usize,
        /// Bytes that were left.
        actual: usize,
    },
    /// The message is complete after `expected` bytes but `actual` were given and the API
    /// does not allow trailing fields here.
    TrailingBytes {
        /// Length of the message as decoded.
        expected: usize,
        /// Length of the parameters given.
        actual: usize,
    },
    /// The header's parameter length disagrees with the bytes that follow it.
    LengthMismatch {
        /// Parameter length the header declares.
        declared: usize,
        /// Parameter bytes present.
        actual: usize,
    },
    /// A field whose value space is closed (a boolean, a fixed enumeration) holds a value
    /// outside it.
    InvalidValue {
        /// The value found.
        value: u64,
    },
}

impl DecodeError {
    pub(crate) fn new(
        message: &'static str,
        field: &'static str,
        offset: usize,
        problem: Problem,
    ) -> Self {
        DecodeError {
            message,
            field,
            offset,
            problem,
        }
    }

    /// The message being decoded, as the API names it.
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The field being read when decoding failed (`"header"` for the frame header).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Offset of the failing field from the start of the message parameters.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong.
    pub fn problem(&self) -> Problem {
        self.problem
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: field `{}` at offset {}: ",
            self.message, self.field, self.offset
        )?;
        match self.problem {
            Problem::Truncated { expected, actual } => write!(
                f,
                "truncated: expected {expected} bytes, {actual} available"
            ),
            Problem::TrailingBytes { expected, actual } => write!(
                f,
                "trailing bytes: expected length {expected}, actual length {actual}"
            ),
            Problem::LengthMismatch { declared, actual } => write!(
                f,
                "length mismatch: header declares {declared} parameter bytes, {actual} present"
            ),
            Problem::InvalidValue { value } => write!(f, "invalid value {value:#x}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encoding failed because a frame's parameters do not fit the 16-bit length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLong {
    /// Parameter length that was asked for.
    pub length: usize,
}

impl fmt::Display for FrameTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MGMT parameters of {} bytes do not fit the 16-bit length field (at most 65535)",
            self.length
        )
    }
}

impl std::error::Error for FrameTooLong {}
