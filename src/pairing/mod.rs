//! The pairing service: one place that answers the kernel's pairing requests with an
//! [`Agent`](crate::agent::Agent), starts and removes pairings, keeps bonds in a
//! [`KeyStore`](crate::keystore::KeyStore) and sets up controllers as they come and go.
//!
//! It is two layers, like the [`session`](crate::session) and the [`client`](crate::client):
//! - [`core`]: the sans-IO [`PairingCore`]. Events with their controller index and `now` go
//!   in; [`Action`]s come out (ask the agent, send a reply command, store a key, set up a
//!   controller, report). Every decision is made there and tested by feeding it events.
//! - [`service`]: the thin tokio driver, [`PairingService`]. It owns one filtered
//!   subscription, polls the agent's futures on its own task, submits reply commands to the
//!   client, runs store writes on the blocking pool (in order per device, off the event path)
//!   and hands results back to the core.
//!
//! A user who only implements `Agent` writes:
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bluez_mgmt::agent::NoInputNoOutput;
//! use bluez_mgmt::client::Client;
//! use bluez_mgmt::keystore::KeyStore;
//! use bluez_mgmt::pairing::{PairingService, ServiceConfig};
//!
//! let client = Client::open().await?;
//! let service = PairingService::new(client, NoInputNoOutput, ServiceConfig::default())
//!     .with_store(KeyStore::open("/var/lib/bluetooth"));
//! let running = service.start().await?;
//! running.await.ok();
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::PathBuf;

use bluez_mgmt_protocol::{Address, AddressInfo, ControllerIndex, Status};

use crate::agent::{InvalidAnswer, KeyNotice, Peer, PinCode};

pub mod core;
mod rehearsal;
pub mod service;

pub use self::core::{
    Action, Answer, ConfirmAnswerer, CoreConfig, Notice, PairingCore, PolicyRefusal, Question,
    SetUp, SetUpOutcome, StoreResult, Ticket, KEYS_AT_STOP,
};
pub use service::{BondStore, PairingService, ServiceConfig};

/// Which controllers a service serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Controllers {
    /// Every controller, present at start or added later.
    #[default]
    All,
    /// Only these.
    Only(Vec<ControllerIndex>),
}

impl Controllers {
    /// True if `index` is served.
    pub fn includes(&self, index: ControllerIndex) -> bool {
        match self {
            Controllers::All => true,
            Controllers::Only(v) => v.contains(&index),
        }
    }
}

/// An answer the service sends to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingReply {
    /// User Confirmation Reply (0x001C) or, when `accept` is false, Neg Reply (0x001D).
    UserConfirm {
        /// The device.
        peer: Peer,
        /// Accept or reject.
        accept: bool,
    },
    /// User Passkey Reply (0x001E) or, for `None`, Neg Reply (0x001F).
    UserPasskey {
        /// The device.
        peer: Peer,
        /// The passkey (always 0..=999999 here).
        passkey: Option<u32>,
    },
    /// PIN Code Reply (0x0016) or, for `None`, Neg Reply (0x0017).
    PinCode {
        /// The device.
        peer: Peer,
        /// The PIN.
        pin: Option<PinCode>,
    },
}

impl PairingReply {
    /// True for the negative replies.
    pub fn is_negative(&self) -> bool {
        match self {
            PairingReply::UserConfirm { accept, .. } => !accept,
            PairingReply::UserPasskey { passkey, .. } => passkey.is_none(),
            PairingReply::PinCode { pin, .. } => pin.is_none(),
        }
    }

    /// The device.
    pub fn peer(&self) -> &Peer {
        match self {
            PairingReply::UserConfirm { peer, .. }
            | PairingReply::UserPasskey { peer, .. }
            | PairingReply::PinCode { peer, .. } => peer,
        }
    }
}

/// The kind of request an answer was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Numeric Comparison.
    ConfirmValue,
    /// Just Works authorization.
    Authorize,
    /// Passkey entry.
    Passkey,
    /// Legacy PIN code.
    PinCode,
}

/// What the service did, for logs, UIs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Report {
    /// A reply was sent with the agent's answer.
    Answered {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
        /// True for a positive reply.
        accepted: bool,
    },
    /// Just Works authorization accepted without the agent: we started this pairing.
    AutoAccepted {
        /// The device.
        peer: Peer,
    },
    /// The agent did not answer in time; a negative reply was sent.
    TimedOut {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
    },
    /// The agent panicked; a negative reply was sent.
    AgentPanicked {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
    },
    /// The agent's answer could not be sent; a negative reply was sent.
    InvalidAnswer {
        /// The device.
        peer: Peer,
        /// Why.
        error: InvalidAnswer,
    },
    /// The service was shutting down: the request was refused with the negative reply its
    /// time limit would send.
    ShutDown {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
    },
    /// The service is stopping while a pairing it accepted (or showed a passkey for) is under
    /// way: it waits for that pairing's keys, a failure or a disconnection, at most
    /// [`KEYS_AT_STOP`].
    AwaitingKeys {
        /// The device.
        peer: Peer,
    },
    /// The service stopped without the keys of a pairing it had accepted: neither they nor a
    /// failure or a disconnection came within [`KEYS_AT_STOP`] of the stop. The peer may hold
    /// a bond we do not.
    KeysNotReceived {
        /// The device.
        peer: Peer,
    },
    /// An outstanding request was withdrawn (failure, disconnection, a newer request, the
    /// controller went away).
    Withdrawn {
        /// The device.
        peer: Peer,
    },
    /// The reply command failed.
    ReplyFailed {
        /// The device.
        peer: Peer,
        /// The status or link failure.
        error: String,
    },
    /// Pairing failed (Authentication Failed).
    Failed {
        /// The device.
        peer: Peer,
        /// Why.
        status: Status,
    },
    /// A key arrived (its storing is reported separately).
    KeyDelivered {
        /// The device.
        peer: Peer,
        /// Which.
        key: KeyNotice,
    },
    /// A key or parameter set was written to `path`.
    Stored {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// Which: "link key", "long term key", "IRK", "CSRK", "connection parameters".
        what: &'static str,
        /// The info file written.
        path: PathBuf,
    },
    /// A key was not stored, for the reason given (store hint 0, non-identity address).
    NotStored {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// Why.
        reason: &'static str,
    },
    /// Storing failed (disk error).
    StoreFailed {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// What went wrong.
        error: String,
    },
    /// A stored bond was removed after Unpair Device.
    Removed {
        /// The controller.
        index: ControllerIndex,
        /// The device.
        device: Address,
    },
    /// A controller was set up (IO capability, bonds, power): one line saying what was done.
    ControllerReady {
        /// The controller.
        index: ControllerIndex,
        /// What was done.
        summary: String,
    },
    /// A stored bond file did not parse and was left out of the Load commands (the other
    /// bonds were loaded).
    BondLeftOut {
        /// The controller.
        index: ControllerIndex,
        /// The file, line and problem.
        error: crate::keystore::LoadError,
    },
    /// The kernel refused a stored device policy at set-up (Block Device for a device whose
    /// info file says `Blocked=true`, Add Device with auto-connect for a bonded LE device);
    /// the other devices' policies were applied and the set-up went on.
    PolicyRefused {
        /// The controller.
        index: ControllerIndex,
        /// The device.
        device: AddressInfo,
        /// The command refused: `"Block Device"` or `"Add Device"`.
        command: &'static str,
        /// What went wrong.
        error: String,
    },
    /// Setting up a controller failed.
    ControllerFailed {
        /// The controller.
        index: ControllerIndex,
        /// What went wrong.
        error: String,
    },
    /// A controller went away; what was pending on it was withdrawn.
    ControllerRemoved {
        /// The controller.
        index: ControllerIndex,
    },
    /// The service's event queue overflowed and events were dropped for it. Should never
    /// happen (its queue holds only pairing, key and controller events); if it does, a
    /// request may go unanswered and a key unstored.
    EventsLost {
        /// How many events were dropped.
        count: u64,
    },
}

/// A failure to carry a command to the kernel, with the client error's kind kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    kind: crate::client::ErrorKind,
    message: String,
}

impl LinkError {
    /// The kind of the client error behind it.
    pub fn kind(&self) -> crate::client::ErrorKind {
        self.kind
    }
}

impl From<crate::client::Error> for LinkError {
    fn from(e: crate::client::Error) -> LinkError {
        LinkError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LinkError {}

/// Why a pairing (or cancel / unpair) did not succeed. [`PairError::kind`] places it among
/// the crate's [`ErrorKind`](crate::ErrorKind)s, and it converts into [`crate::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// The kernel completed the command with this status.
    Status(Status),
    /// No completion within the timeout; Cancel Pair Device was sent.
    TimedOut,
    /// The controller went away during the pairing.
    ControllerRemoved,
    /// The command could not be carried.
    Link(LinkError),
    /// The kernel part succeeded but the store failed (key not stored, bond not removed).
    Store(String),
    /// A controller's stored bonds do not fit in one Load command of a kind; none were sent.
    TooManyKeys(String),
}

impl PairError {
    /// The kind, as the crate's [`Error`](crate::Error) has it: Permission Denied stays
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied), a link failure
    /// keeps the client error's kind.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        const PAIR_DEVICE: bluez_mgmt_protocol::Opcode = bluez_mgmt_protocol::Opcode(0x0019);
        match self {
            PairError::Status(s) if *s == Status::PERMISSION_DENIED => K::PermissionDenied,
            PairError::Status(s) => K::Refused { status: *s },
            PairError::TimedOut => K::Timeout {
                opcode: PAIR_DEVICE,
                index: ControllerIndex::NONE,
            },
            PairError::ControllerRemoved => K::ControllerRemoved {
                opcode: PAIR_DEVICE,
                index: ControllerIndex::NONE,
            },
            PairError::Link(l) => l.kind(),
            PairError::Store(_) => K::Store,
            PairError::TooManyKeys(_) => K::TooManyKeys,
        }
    }

    /// The result of a command from the client's answer.
    pub(crate) fn from_call<T>(r: Result<T, crate::client::Error>) -> Result<Status, PairError> {
        match r {
            Ok(_) => Ok(Status::SUCCESS),
            Err(e) => match e.status() {
                Some(s) => Ok(s),
                None if matches!(e.kind(), crate::client::ErrorKind::ControllerRemoved { .. }) => {
                    Err(PairError::ControllerRemoved)
                }
                None => Err(PairError::Link(e.into())),
            },
        }
    }
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairError::Status(s) => write!(f, "the kernel answered {}", s.description()),
            PairError::TimedOut => f.write_str("pairing timed out (cancelled)"),
            PairError::ControllerRemoved => f.write_str("the controller went away"),
            PairError::Link(e) => write!(f, "link to the kernel failed: {e}"),
            PairError::Store(e) => write!(f, "the store failed: {e}"),
            PairError::TooManyKeys(e) => write!(f, "the bonds cannot be loaded: {e}"),
        }
    }
}

impl std::error::Error for PairError {}
