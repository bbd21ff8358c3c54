//! Pairing agents: the [`Agent`] trait and built-in agents. The
//! [`PairingService`](crate::pairing::PairingService) answers the kernel's pairing requests
//! with them.
//!
//! An agent is what bluetoothd calls an agent: the part that talks to the user (or stands in
//! for one). The kernel raises a request (User Confirmation Request, User Passkey Request,
//! PIN Code Request) or a notice (Passkey Notify); the service calls the matching agent
//! method and sends the answer back. Every request method has a default that refuses, so an
//! agent implements only what its IO capability can do:
//!
//! ```
//! use bluez_mgmt::agent::{Agent, Peer};
//! use bluez_mgmt::protocol::IoCapability;
//!
//! struct Kiosk;
//!
//! impl Agent for Kiosk {
//!     fn io_capability(&self) -> IoCapability {
//!         IoCapability::DISPLAY_YES_NO
//!     }
//!     async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
//!         println!("{peer}: does it show {value:06}? (accepting)");
//!         true
//!     }
//! }
//! ```
//!
//! An agent whose yes/no answers do not wait for anyone (a fixed policy, a headless board)
//! says so with [`Agent::answer_at_once`]: the service then writes the reply as soon as the
//! request is read, before it even decodes it, and does not call the async method. The
//! built-in [`NoInputNoOutput`], [`KeyboardOnly`] and [`DisplayOnly`] (for Just Works) do,
//! and [`PolicyAgent`] passes its inner agent's through for the peers its policy permits.

use core::fmt;
use std::future::Future;

use bluez_mgmt_protocol::{AddressInfo, ControllerIndex, IoCapability, Status};

mod builtin;
pub mod policy;
mod scripted;

pub use builtin::{DisplayOnly, KeyboardDisplay, KeyboardOnly, NoInputNoOutput, YesNo};
pub use policy::{Policy, PolicyAgent};
pub use scripted::{Call, ScriptedAgent};

/// The largest passkey: passkeys are six decimal digits.
pub const MAX_PASSKEY: u32 = 999_999;

/// The device a request is about: the controller it came through and the peer's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The local controller.
    pub index: ControllerIndex,
    /// The remote device's address and address type.
    pub address: AddressInfo,
}

impl Peer {
    /// A peer from its parts.
    pub fn new(index: ControllerIndex, address: AddressInfo) -> Peer {
        Peer { index, address }
    }

    /// True if both name the same device on the same controller, whatever the address type
    /// (one pairing can raise requests on BR/EDR and LE for the same address).
    pub fn same_device(&self, other: &Peer) -> bool {
        self.index == other.index && self.address.address == other.address.address
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.index,
            self.address.address,
            self.address.address_type.name().unwrap_or("unknown type")
        )
    }
}

/// A legacy (pre-SSP) PIN code: 1 to 16 octets, usually ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PinCode(Vec<u8>);

impl PinCode {
    /// A PIN code from its octets; 1 to 16 of them.
    pub fn new(pin: impl Into<Vec<u8>>) -> Result<PinCode, InvalidAnswer> {
        let pin = pin.into();
        if pin.is_empty() || pin.len() > 16 {
            return Err(InvalidAnswer::PinCodeLength(pin.len()));
        }
        Ok(PinCode(pin))
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for a 16-digit PIN, the only kind a secure (high security) request accepts.
    pub fn is_secure(&self) -> bool {
        self.0.len() == 16 && self.0.iter().all(u8::is_ascii_digit)
    }
}

impl fmt::Debug for PinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinCode({} octets)", self.0.len())
    }
}

/// An answer from an agent that cannot be sent to the kernel. The service sends a negative
/// reply instead and reports this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidAnswer {
    /// A passkey above [`MAX_PASSKEY`].
    PasskeyOutOfRange(u32),
    /// A PIN code of this many octets (1 to 16 allowed).
    PinCodeLength(usize),
    /// The request asked for a secure PIN (16 digits) and the agent gave another.
    PinCodeNotSecure,
}

impl fmt::Display for InvalidAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidAnswer::PasskeyOutOfRange(p) => {
                write!(f, "passkey {p} is not six digits (0..=999999)")
            }
            InvalidAnswer::PinCodeLength(n) => {
                write!(f, "PIN code of {n} octets (1 to 16 allowed)")
            }
            InvalidAnswer::PinCodeNotSecure => {
                write!(f, "a secure PIN code request needs 16 digits")
            }
        }
    }
}

impl std::error::Error for InvalidAnswer {}

/// Checks a passkey an agent gave.
pub fn check_passkey(passkey: u32) -> Result<u32, InvalidAnswer> {
    if passkey > MAX_PASSKEY {
        Err(InvalidAnswer::PasskeyOutOfRange(passkey))
    } else {
        Ok(passkey)
    }
}

/// Which key a finished pairing delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A BR/EDR link key (New Link Key).
    LinkKey,
    /// An LE long term key (New Long Term Key).
    LongTermKey,
}

/// A key the kernel reported at the end of a pairing. One pairing may deliver several
/// (an LTK per direction, a link key through cross-transport key derivation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyNotice {
    /// Which key.
    pub kind: KeyKind,
    /// True if the key came from a pairing with MITM protection.
    pub authenticated: bool,
    /// The kernel's store hint: true if user space should keep the key.
    pub persistent: bool,
}

/// A yes/no request, as [`Agent::answer_at_once`] is asked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YesNoRequest {
    /// Numeric Comparison ([`Agent::confirm_value`]): does the peer show this value?
    ConfirmValue(u32),
    /// Just Works authorization ([`Agent::authorize`]).
    Authorize,
}

/// A pairing agent. Request methods default to refusing; notices default to doing nothing.
///
/// The request futures must be `Send`. The service polls them on its own task, beside each
/// other, so a slow answer for one device never delays another; an answer that needs to block
/// (a terminal prompt) should do so on `spawn_blocking`. Implement them as `async fn`.
pub trait Agent: Send + Sync + 'static {
    /// The IO capability the service registers with Set IO Capability.
    fn io_capability(&self) -> IoCapability;

    /// Numeric Comparison (User Confirmation Request, `confirm_hint` 0): does the peer show
    /// `value` (six digits, print it as `{value:06}`)? `true` accepts.
    fn confirm_value(&self, peer: &Peer, value: u32) -> impl Future<Output = bool> + Send {
        let _ = (peer, value);
        async { false }
    }

    /// Just Works authorization (User Confirmation Request, `confirm_hint` 1): may this
    /// unauthenticated pairing go ahead? Not called for pairings the service itself started.
    fn authorize(&self, peer: &Peer) -> impl Future<Output = bool> + Send {
        let _ = peer;
        async { false }
    }

    /// The answer to a yes/no request when the agent knows it without waiting for anything
    /// (a fixed policy, a headless board, a test): `Some` is the answer, and the request's
    /// async method ([`Agent::confirm_value`], [`Agent::authorize`]) is then not called for
    /// it; `None` (the default) asks that method.
    ///
    /// An answer given here is written to the kernel as soon as the request is read, before
    /// anything else is done with it: the service calls this on the thread that read the
    /// request (the client's driver thread under [`Client::open`]), with the service's state
    /// locked. Return at once: no blocking, no I/O, no waiting for a lock held elsewhere.
    ///
    /// [`Client::open`]: crate::client::Client::open
    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<bool> {
        let _ = (peer, request);
        None
    }

    /// Passkey Entry, typing side (User Passkey Request): the passkey shown on the peer,
    /// 0..=999999, or `None` to refuse. A larger value is refused and reported.
    fn request_passkey(&self, peer: &Peer) -> impl Future<Output = Option<u32>> + Send {
        let _ = peer;
        async { None }
    }

    /// Passkey Entry, display side (Passkey Notify): show `passkey`; `entered` counts the
    /// keypresses the peer reported so far. Called again when the count changes.
    fn display_passkey(
        &self,
        peer: &Peer,
        passkey: u32,
        entered: u8,
    ) -> impl Future<Output = ()> + Send {
        let _ = (peer, passkey, entered);
        async {}
    }

    /// Legacy pairing (PIN Code Request). `secure` means only a 16-digit PIN is accepted.
    fn request_pin_code(
        &self,
        peer: &Peer,
        secure: bool,
    ) -> impl Future<Output = Option<PinCode>> + Send {
        let _ = (peer, secure);
        async { None }
    }

    /// A request to this agent was withdrawn (the pairing failed or was cancelled) before it
    /// answered.
    fn cancelled(&self, peer: &Peer) {
        let _ = peer;
    }

    /// Pairing with `peer` failed (Authentication Failed).
    fn failed(&self, peer: &Peer, status: Status) {
        let _ = (peer, status);
    }

    /// Pairing with `peer` delivered a key.
    fn completed(&self, peer: &Peer, key: KeyNotice) {
        let _ = (peer, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkey_range() {
        assert_eq!(check_passkey(0), Ok(0));
        assert_eq!(check_passkey(999_999), Ok(999_999));
        assert_eq!(
            check_passkey(1_000_000),
            Err(InvalidAnswer::PasskeyOutOfRange(1_000_000))
        );
    }

    #[test]
    fn pin_code_rules() {
        assert!(PinCode::new(Vec::new()).is_err());
        assert!(PinCode::new(vec![b'1'; 17]).is_err());
        assert!(!PinCode::new("0000").unwrap().is_secure());
        assert!(PinCode::new("1234567890123456").unwrap().is_secure());
        assert!(!format!("{:?}", PinCode::new("4321").unwrap()).contains("4321"));
    }
}
