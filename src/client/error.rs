//! The client's error: opaque, with a [`kind`](Error::kind) to match on (h2 style).

use core::fmt;
use std::io;

use crate::protocol::command::limits::CommandTooLong;
use crate::protocol::{ControllerIndex, DecodeError, Opcode, Status};
use crate::session::RequestError;
use crate::socket::{SocketError, SocketErrorKind};

/// What went wrong, broadly. Match on this; print the [`Error`] for the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The kernel answered the command with a status other than Success (and other than
    /// Permission Denied, which is [`ErrorKind::PermissionDenied`]).
    Status {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
        /// The status.
        status: Status,
    },
    /// The controller was removed while the command was queued or pending.
    ControllerRemoved {
        /// The command.
        opcode: Opcode,
        /// The controller.
        index: ControllerIndex,
    },
    /// No reply came before the request's timeout.
    Timeout {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
    },
    /// The transport failed (an I/O error, or a replay that saw an unexpected command).
    Transport,
    /// A reply did not decode as the command's documented reply.
    Decode,
    /// The kernel has no Bluetooth support.
    NoBluetooth,
    /// The control channel needs CAP_NET_ADMIN: opening it failed, or the kernel answered
    /// Permission Denied to an untrusted socket.
    PermissionDenied,
    /// The client's connection is closed; nothing more can be sent.
    Closed,
    /// The command is longer than one command frame, or a Load command carries more entries
    /// than the kernel accepts; it was refused before anything was sent (see
    /// [`check_command`](crate::protocol::command::limits::check_command)).
    CommandTooLong {
        /// The command.
        opcode: Opcode,
        /// The controller it addressed.
        index: ControllerIndex,
    },
    /// The kernel refused a pairing operation (Pair Device, Unpair Device, a reply) with this
    /// status; the pairing did not happen.
    Refused {
        /// The status.
        status: Status,
    },
    /// The bond store failed (reading or writing its directory).
    Store,
    /// More stored keys of one kind than one Load command carries.
    TooManyKeys,
}

impl ErrorKind {
    /// A short name for messages: "permission denied", "timeout", ...
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Status { .. } => "command failed",
            ErrorKind::ControllerRemoved { .. } => "controller removed",
            ErrorKind::Timeout { .. } => "timeout",
            ErrorKind::Transport => "transport failed",
            ErrorKind::Decode => "malformed reply",
            ErrorKind::NoBluetooth => "no Bluetooth",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Closed => "connection closed",
            ErrorKind::Refused { .. } => "refused",
            ErrorKind::Store => "store failed",
            ErrorKind::TooManyKeys => "too many keys",
            ErrorKind::CommandTooLong { .. } => "command too long",
        }
    }
}

/// An error from the client. Opaque: see [`Error::kind`].
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    status: Option<Status>,
    params: Vec<u8>,
}

const CAP_HINT: &str = "needs CAP_NET_ADMIN (run as root or `setcap cap_net_admin+ep`)";

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The MGMT status, when the kernel answered with one.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Return parameters that came with a failed command (often empty, or the address).
    pub fn reply_params(&self) -> &[u8] {
        &self.params
    }

    /// An error of `kind` with this message (for the parts of the crate above the client).
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
            status: None,
            params: Vec::new(),
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn transport(context: &str, e: io::Error) -> Error {
        Error::new(ErrorKind::Transport, format!("{context}: {e}")).with_source(e)
    }

    pub(crate) fn closed(reason: Option<&str>) -> Error {
        match reason {
            Some(r) => Error::new(
                ErrorKind::Closed,
                format!("the MGMT connection is closed: {r}"),
            ),
            None => Error::new(ErrorKind::Closed, "the MGMT connection is closed"),
        }
    }

    pub(crate) fn too_long(index: ControllerIndex, e: CommandTooLong) -> Error {
        Error::new(
            ErrorKind::CommandTooLong {
                opcode: e.opcode,
                index,
            },
            format!("not sent to {index}: {e}"),
        )
        .with_source(e)
    }

    pub(crate) fn decode(opcode: Opcode, index: ControllerIndex, e: DecodeError) -> Error {
        Error::new(
            ErrorKind::Decode,
            format!("the reply to {opcode} on {index} does not decode: {e}"),
        )
        .with_source(e)
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Error {
        let message = e.to_string();
        match e {
            RequestError::Status {
                opcode,
                index,
                status,
                params,
            } => {
                let kind = if status == Status::PERMISSION_DENIED {
                    ErrorKind::PermissionDenied
                } else {
                    ErrorKind::Status {
                        opcode,
                        index,
                        status,
                    }
                };
                let message = if kind == ErrorKind::PermissionDenied {
                    format!("{message}: the control socket {CAP_HINT}")
                } else {
                    message
                };
                Error {
                    kind,
                    message,
                    source: None,
                    status: Some(status),
                    params,
                }
            }
            RequestError::ControllerRemoved { opcode, index } => {
                Error::new(ErrorKind::ControllerRemoved { opcode, index }, message)
            }
            RequestError::Timeout { opcode, index } => {
                Error::new(ErrorKind::Timeout { opcode, index }, message)
            }
            RequestError::Closed { .. } => Error::new(ErrorKind::Closed, message),
        }
    }
}

impl From<crate::keystore::Error> for Error {
    fn from(e: crate::keystore::Error) -> Error {
        use crate::keystore::ErrorKind as K;
        let kind = match e.kind() {
            K::TooManyKeys => ErrorKind::TooManyKeys,
            K::Io => ErrorKind::Store,
            // A kernel failure keeps the client error's kind.
            _ => std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<Error>())
                .map_or(ErrorKind::Transport, Error::kind),
        };
        let message = e.to_string();
        Error::new(kind, message).with_source(e)
    }
}

impl From<crate::pairing::PairError> for Error {
    fn from(e: crate::pairing::PairError) -> Error {
        let kind = e.kind();
        let message = e.to_string();
        let status = match &e {
            crate::pairing::PairError::Status(s) => Some(*s),
            _ => None,
        };
        let mut error = Error::new(kind, message).with_source(e);
        error.status = status;
        error
    }
}

impl From<SocketError> for Error {
    fn from(e: SocketError) -> Error {
        match e.kind() {
            SocketErrorKind::NoBluetooth => {
                let message = e.to_string();
                Error::new(ErrorKind::NoBluetooth, message).with_source(e)
            }
            SocketErrorKind::PermissionDenied => Error::new(
                ErrorKind::PermissionDenied,
                format!("cannot open the MGMT control channel: {CAP_HINT}"),
            )
            .with_source(e),
            _ => {
                let message = e.to_string();
                Error::new(ErrorKind::Transport, message).with_source(e)
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
