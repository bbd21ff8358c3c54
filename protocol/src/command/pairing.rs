//! Commands that drive pairing: the IO capability, starting, cancelling and undoing a pairing,
//! and the answers to the kernel's PIN code, confirmation and passkey requests. Every one
//! that names a device is answered with that device's address.

use core::fmt;

use crate::address::AddressInfo;
use crate::error::DecodeError;
use crate::io_capability::IoCapability;
use crate::wire::{Reader, Wire};

/// The 16-octet PIN_Code field of PIN Code Reply. A pairing secret: `Debug` and serialisation
/// print `<redacted>`; [`PinCode::expose`] gives the bytes.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PinCode([u8; 16]);

impl PinCode {
    /// The field holding `pin` (at most 16 octets; longer input is cut at 16), zero-padded.
    pub fn new(pin: &[u8]) -> Self {
        let mut b = [0u8; 16];
        let n = pin.len().min(16);
        b[..n].copy_from_slice(&pin[..n]);
        PinCode(b)
    }

    /// The raw field, zero padding included. Never log it.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for PinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinCode(<redacted>)")
    }
}

impl Wire for PinCode {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(PinCode)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PinCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

crate::wire_struct! {
    /// PIN Code Reply (0x0016): answers a PIN Code Request. Layout: `address (7) |
    /// pin_length (1) | pin_code (16)`.
    pub struct PinCodeReply {
        /// The peer.
        pub address: AddressInfo,
        /// How many octets of `pin_code` are the PIN.
        pub pin_length: u8,
        /// The PIN, zero-padded to 16 octets.
        pub pin_code: PinCode,
    }
}

impl PinCodeReply {
    /// The reply giving `pin` (at most 16 octets) to `address`.
    pub fn new(address: AddressInfo, pin: &[u8]) -> Self {
        PinCodeReply {
            address,
            pin_length: pin.len().min(16) as u8,
            pin_code: PinCode::new(pin),
        }
    }
}

crate::wire_struct! {
    /// PIN Code Negative Reply (0x0017): refuses a PIN Code Request.
    pub struct PinCodeNegativeReply {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Set IO Capability (0x0018): the IO capability used for pairing (SSP and SMP).
    pub struct SetIoCapability {
        /// The capability; KeyboardDisplay becomes DisplayYesNo on BR/EDR.
        pub io_capability: IoCapability,
    }
}

crate::wire_struct! {
    /// Pair Device (0x0019). Layout: `address (7) | io_capability (1)`. Answered (when the
    /// pairing ends) with the peer's identity address if it gave one.
    pub struct PairDevice {
        /// The peer.
        pub address: AddressInfo,
        /// IO capability for this pairing only.
        pub io_capability: IoCapability,
    }
}

crate::wire_struct! {
    /// Cancel Pair Device (0x001A): cancels a pending Pair Device for the same address.
    pub struct CancelPairDevice {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Unpair Device (0x001B): removes every key of a device. Layout: `address (7) |
    /// disconnect (1)`.
    pub struct UnpairDevice {
        /// The peer.
        pub address: AddressInfo,
        /// Also drop any connection to it (should be true except for qualification tests).
        pub disconnect: bool,
    }
}

crate::wire_struct! {
    /// User Confirmation Reply (0x001C): accepts a User Confirmation Request.
    pub struct UserConfirmReply {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// User Confirmation Negative Reply (0x001D): rejects a User Confirmation Request.
    pub struct UserConfirmNegativeReply {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// User Passkey Reply (0x001E): answers a User Passkey Request. Layout: `address (7) |
    /// passkey (4)`.
    pub struct UserPasskeyReply {
        /// The peer.
        pub address: AddressInfo,
        /// The passkey, 0-999999.
        pub passkey: u32,
    }
}

crate::wire_struct! {
    /// User Passkey Negative Reply (0x001F): refuses a User Passkey Request.
    pub struct UserPasskeyNegativeReply {
        /// The peer.
        pub address: AddressInfo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::command::golden::{self, hex};
    use crate::status::Status;
    use crate::{AnyReply, Opcode};

    fn le_peer() -> AddressInfo {
        // C0:BB:00:00:00:02, LE random: the Bumble peer of the lab captures.
        AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM)
    }

    fn bredr_peer() -> AddressInfo {
        AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR)
    }

    #[test]
    fn pin_code_reply() {
        // Documented layout, doc/mgmt-protocol.rst: address, PIN_Length (1), PIN_Code (16).
        let b = hex("02000000bb00 00 04 31323334 000000000000000000000000");
        let c = PinCodeReply::new(bredr_peer(), b"1234");
        golden::command(&b, c.clone());
        golden::reply::<PinCodeReply>(&hex("02000000bb00 00"), bredr_peer());
        assert!(!format!("{c:?}").contains("49"), "the PIN must not print");
    }

    #[test]
    fn pin_code_negative_reply() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bb00 00");
        golden::command(
            &b,
            PinCodeNegativeReply {
                address: bredr_peer(),
            },
        );
        golden::reply::<PinCodeNegativeReply>(&b, bredr_peer());
    }

    #[test]
    fn set_io_capability() {
        // Frames from fixtures/le-sc-passkey.btsnoop (KeyboardOnly) and
        // fixtures/bredr-ssp-numeric-comparison.btsnoop (DisplayYesNo); empty replies.
        golden::command(
            &[0x02],
            SetIoCapability {
                io_capability: IoCapability::KEYBOARD_ONLY,
            },
        );
        golden::command(
            &[0x01],
            SetIoCapability {
                io_capability: IoCapability::DISPLAY_YES_NO,
            },
        );
        golden::reply::<SetIoCapability>(&[], ());
    }

    #[test]
    fn pair_device() {
        // Frame from fixtures/le-sc-passkey.btsnoop: pair with C0:BB:00:00:00:02 (LE random)
        // as KeyboardOnly; the reply carries the same address.
        golden::command(
            &hex("02000000bbc0 02 02"),
            PairDevice {
                address: le_peer(),
                io_capability: IoCapability::KEYBOARD_ONLY,
            },
        );
        golden::reply::<PairDevice>(&hex("02000000bbc0 02"), le_peer());
        // Frame from fixtures/bredr-ssp-numeric-comparison.btsnoop: BR/EDR, DisplayYesNo.
        golden::command(
            &hex("02000000bb00 00 01"),
            PairDevice {
                address: bredr_peer(),
                io_capability: IoCapability::DISPLAY_YES_NO,
            },
        );
        golden::reply::<PairDevice>(&hex("02000000bb00 00"), bredr_peer());
    }

    #[test]
    fn cancel_pair_device() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, CancelPairDevice { address: le_peer() });
        golden::reply::<CancelPairDevice>(&b, le_peer());
    }

    #[test]
    fn unpair_device() {
        // Frame from fixtures/bredr-ssp-numeric-comparison.btsnoop: unpair and disconnect.
        golden::command(
            &hex("02000000bb00 00 01"),
            UnpairDevice {
                address: bredr_peer(),
                disconnect: true,
            },
        );
        golden::reply::<UnpairDevice>(&hex("02000000bb00 00"), bredr_peer());
        // Frame from fixtures/le-sc-passkey.btsnoop: a second unpair fails with Not Paired
        // and still carries the address.
        let r = AnyReply::decode(
            Opcode::UNPAIR_DEVICE,
            Status::NOT_PAIRED,
            &hex("02000000bbc0 00"),
        )
        .unwrap();
        assert!(matches!(r, AnyReply::UnpairDevice(a) if a.address == le_peer().address));
    }

    #[test]
    fn user_confirm_reply() {
        // Frame from fixtures/bredr-ssp-numeric-comparison.btsnoop: accept; reply the address.
        let b = hex("02000000bb00 00");
        golden::command(
            &b,
            UserConfirmReply {
                address: bredr_peer(),
            },
        );
        golden::reply::<UserConfirmReply>(&b, bredr_peer());
    }

    #[test]
    fn user_confirm_negative_reply() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, UserConfirmNegativeReply { address: le_peer() });
        golden::reply::<UserConfirmNegativeReply>(&b, le_peer());
    }

    #[test]
    fn user_passkey_reply() {
        // Frame from fixtures/le-sc-passkey.btsnoop: passkey 654321 (0x0009fbf1).
        golden::command(
            &hex("02000000bbc0 02 f1fb0900"),
            UserPasskeyReply {
                address: le_peer(),
                passkey: 654_321,
            },
        );
        golden::reply::<UserPasskeyReply>(&hex("02000000bbc0 02"), le_peer());
        // Frame from fixtures/btvirt-kernel-kernel-le-sc-passkey.btsnoop: 00:AA:01:01:00:01,
        // LE public, passkey 404231 (0x00062b07).
        let peer = AddressInfo::new("00:AA:01:01:00:01".parse().unwrap(), AddressType::LE_PUBLIC);
        golden::command(
            &hex("01000101aa00 01 072b0600"),
            UserPasskeyReply {
                address: peer.clone(),
                passkey: 404_231,
            },
        );
        golden::reply::<UserPasskeyReply>(&hex("01000101aa00 01"), peer);
    }

    #[test]
    fn user_passkey_negative_reply() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, UserPasskeyNegativeReply { address: le_peer() });
        golden::reply::<UserPasskeyNegativeReply>(&b, le_peer());
    }
}
