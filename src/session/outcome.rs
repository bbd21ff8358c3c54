//! What a request ends with: the raw reply of a Command Complete, or the reason it failed.

use core::fmt;

use crate::protocol::wire::decode_exact;
use crate::protocol::{AnyReply, Command, ControllerIndex, DecodeError, Opcode, Status};

/// The successful end of a request: the Command Complete's return parameters, kept as bytes so
/// that the caller decodes them with the type it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// The controller the command addressed.
    pub index: ControllerIndex,
    /// The command that completed.
    pub opcode: Opcode,
    /// The return parameters, exactly as the kernel sent them.
    pub params: Vec<u8>,
}

impl CommandReply {
    /// Decodes the return parameters as `C`'s reply. The parameters must match exactly.
    pub fn decode<C: Command>(&self) -> Result<C::Reply, DecodeError> {
        decode_exact::<C::Reply>(C::NAME, &self.params)
    }

    /// Decodes the return parameters by opcode.
    pub fn any(&self) -> Result<AnyReply, DecodeError> {
        AnyReply::decode(self.opcode, Status::SUCCESS, &self.params)
    }
}

/// Why a request ended without a reply to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The kernel answered with a status other than Success (in Command Complete or Command
    /// Status).
    Status {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
        /// The status.
        status: Status,
        /// Return parameters that came with the failure (often none, or the address).
        params: Vec<u8>,
    },
    /// The controller went away (Index Removed, or Invalid Index for a controller that was
    /// there) while the command was queued or pending.
    ControllerRemoved {
        /// The command.
        opcode: Opcode,
        /// The controller that was removed.
        index: ControllerIndex,
    },
    /// The request's deadline passed before its reply came.
    Timeout {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
    },
    /// The session was closed before the reply came.
    Closed {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
    },
}

impl RequestError {
    /// The command the failed request carried.
    pub fn opcode(&self) -> Opcode {
        match self {
            RequestError::Status { opcode, .. }
            | RequestError::ControllerRemoved { opcode, .. }
            | RequestError::Timeout { opcode, .. }
            | RequestError::Closed { opcode, .. } => *opcode,
        }
    }

    /// The controller the failed request addressed.
    pub fn index(&self) -> ControllerIndex {
        match self {
            RequestError::Status { index, .. }
            | RequestError::ControllerRemoved { index, .. }
            | RequestError::Timeout { index, .. }
            | RequestError::Closed { index, .. } => *index,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Status {
                opcode,
                index,
                status,
                ..
            } => write!(f, "{opcode} on {index} failed: {}", status.description()),
            RequestError::ControllerRemoved { opcode, index } => {
                write!(
                    f,
                    "controller {index} was removed while {opcode} was pending"
                )
            }
            RequestError::Timeout { opcode, index } => {
                write!(f, "{opcode} on {index} timed out")
            }
            RequestError::Closed { opcode, index } => {
                write!(
                    f,
                    "the connection closed while {opcode} on {index} was pending"
                )
            }
        }
    }
}

impl std::error::Error for RequestError {}
