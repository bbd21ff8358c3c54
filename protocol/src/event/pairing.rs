//! Events of the pairing dialogue: the kernel asks user space for a PIN, a yes/no or a
//! passkey, tells it a passkey to show, reports a failure, and hands out fresh local
//! out-of-band data.

use crate::address::{Address, AddressInfo, AddressType};
use crate::code::EventCode;
use crate::discovery::DiscoveryType;
use crate::index::ControllerIndex;
use crate::status::Status;
use crate::wire::Bytes16;

crate::open_enum! {
    /// What a User Confirmation Request wants from the user.
    pub struct ConfirmHint(u8) {
        /// Show the value and ask whether it matches the peer's (Numeric Comparison).
        NUMERIC_COMPARISON = 0x00 => "Numeric Comparison",
        /// Only ask yes or no; the value means nothing (Just Works authorization).
        AUTHORIZATION_ONLY = 0x01 => "Authorization Only",
    }
}

crate::wire_struct! {
    /// PIN Code Request (0x000E): legacy pairing needs a PIN; answer with PIN Code Reply or
    /// PIN Code Negative Reply.
    pub struct PinCodeRequest {
        /// The peer.
        pub address: AddressInfo,
        /// True when a secure (16-digit) PIN is required.
        pub secure: bool,
    }
}

crate::wire_struct! {
    /// User Confirmation Request (0x000F): answer with User Confirmation Reply or User
    /// Confirmation Negative Reply.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | Confirm_Hint (1) | Value (4)
    /// ```
    pub struct UserConfirmRequest {
        /// The peer.
        pub address: AddressInfo,
        /// Whether to show `value` or just ask yes/no.
        pub confirm_hint: ConfirmHint,
        /// The six-digit number to compare (0..=999999).
        pub value: u32,
    }
}

crate::wire_struct! {
    /// User Passkey Request (0x0010): the user must type the passkey the peer shows; answer
    /// with User Passkey Reply or User Passkey Negative Reply.
    pub struct UserPasskeyRequest {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Authentication Failed (0x0011): pairing or authentication with a peer failed.
    pub struct AuthenticationFailed {
        /// The peer.
        pub address: AddressInfo,
        /// Why, as an MGMT status.
        pub status: Status,
    }
}

crate::wire_struct! {
    /// Passkey Notify (0x0017): show `passkey` to the user while they type it on the peer;
    /// needs no reply. Sent again as the peer reports keypresses.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | Passkey (4) | Entered (1)
    /// ```
    pub struct PasskeyNotify {
        /// The peer.
        pub address: AddressInfo,
        /// The six-digit passkey (0..=999999).
        pub passkey: u32,
        /// How many digits the user has entered on the peer so far.
        pub entered: u8,
    }
}

crate::wire_struct! {
    /// Local Out Of Band Extended Data Updated (0x0022, since 1.9): new local OOB data,
    /// for sockets that used Read Local Out Of Band Extended Data (for example after the
    /// RPA changed).
    ///
    /// ```text
    /// Address_Type (1, bit mask) | EIR_Data_Length (2) | EIR_Data (...)
    /// ```
    pub struct LocalOobExtendedDataUpdated {
        /// Which transport the data is for, as the same bit mask discovery uses: 0x01
        /// BR/EDR, 0x06 LE.
        pub address_types: DiscoveryType,
        /// The OOB data as EIR structures.
        pub eir: Bytes16,
    }
}

impl UserConfirmRequest {
    /// Reads a whole event frame in place if it is exactly one User Confirmation Request:
    /// its controller and the request, equal to what [`EventFrame::decode`] gives for the
    /// same bytes, found with a few comparisons instead of the general decoder (a pairing
    /// service that writes its reply before anything else is done with the frame uses it).
    /// `None` for every other frame, a malformed one included. Never panics.
    ///
    /// [`EventFrame::decode`]: crate::EventFrame::decode
    pub fn in_frame(frame: &[u8]) -> Option<(ControllerIndex, UserConfirmRequest)> {
        // Header (event code, index, parameter length) and the 12 octets of the layout above.
        let [c0, c1, i0, i1, l0, l1, a0, a1, a2, a3, a4, a5, kind, hint, v0, v1, v2, v3] = *frame
        else {
            return None;
        };
        if u16::from_le_bytes([c0, c1]) != EventCode::USER_CONFIRM_REQUEST.0
            || u16::from_le_bytes([l0, l1]) != 12
        {
            return None;
        }
        Some((
            ControllerIndex(u16::from_le_bytes([i0, i1])),
            UserConfirmRequest {
                address: AddressInfo::new(Address([a0, a1, a2, a3, a4, a5]), AddressType(kind)),
                confirm_hint: ConfirmHint(hint),
                value: u32::from_le_bytes([v0, v1, v2, v3]),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    #[test]
    fn pin_code_request() {
        // Documented layout: 00:BB:00:00:00:02 BR/EDR, Secure 0x00.
        check(
            &hex("02000000bb00 00 00"),
            &PinCodeRequest {
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
                secure: false,
            },
        );
    }

    #[test]
    fn user_confirm_request_bredr() {
        // Frame from lab/bredr-ssp-numeric-comparison.btsnoop, record 133: compare 013327.
        check(
            &hex("02000000bb00 00 00 0f340000"),
            &UserConfirmRequest {
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
                confirm_hint: ConfirmHint::NUMERIC_COMPARISON,
                value: 13327,
            },
        );
    }

    #[test]
    fn user_confirm_request_le() {
        // Frame from lab/le-sc-numeric-comparison.btsnoop, record 116: compare 634034.
        let ev = UserConfirmRequest {
            address: AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM),
            confirm_hint: ConfirmHint::NUMERIC_COMPARISON,
            value: 634034,
        };
        check(&hex("02000000bbc0 02 00 b2ac0900"), &ev);
        assert_eq!(
            format!("{:?}", ev.confirm_hint),
            "ConfirmHint(Numeric Comparison)"
        );
        assert_eq!(ConfirmHint(7).to_string(), "unknown 0x07");
    }

    #[test]
    fn a_confirm_request_read_in_place_is_what_the_decoder_gives() {
        // Parameters of the two lab frames above, after an event header for hci0 and hci3.
        let with_header = |index: u16, len: u16, params: &str| {
            let mut f = EventCode::USER_CONFIRM_REQUEST.0.to_le_bytes().to_vec();
            f.extend_from_slice(&index.to_le_bytes());
            f.extend_from_slice(&len.to_le_bytes());
            f.extend(hex(params));
            f
        };
        let frames = [
            with_header(0, 12, "02000000bb00 00 00 0f340000"),
            with_header(3, 12, "02000000bbc0 02 01 b2ac0900"),
            with_header(0, 12, "02000000bbc0 09 07 ffffffff"),
        ];
        for frame in &frames {
            let decoded = crate::EventFrame::decode(frame).unwrap();
            let crate::Event::UserConfirmRequest(event) = decoded.event else {
                panic!("{decoded:?}");
            };
            assert_eq!(
                UserConfirmRequest::in_frame(frame),
                Some((decoded.index, event))
            );
        }
        // Anything else is not one: truncated, one octet more, a length field that does not
        // match, another event with the same length.
        let f = &frames[0];
        let mut longer = f.clone();
        longer.push(0);
        let mut other = f.clone();
        other[0] = 0x10;
        let mut bad_len = f.clone();
        bad_len[4] = 11;
        for frame in [&f[..17], &longer[..], &other[..], &bad_len[..], &[][..]] {
            assert_eq!(UserConfirmRequest::in_frame(frame), None, "{frame:02x?}");
        }
    }

    #[test]
    fn user_passkey_request() {
        // Frame from lab/le-sc-passkey.btsnoop, record 112.
        check(
            &hex("02000000bbc0 02"),
            &UserPasskeyRequest {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
            },
        );
    }

    #[test]
    fn authentication_failed() {
        // Documented layout: LE random peer, Status 0x05 (Authentication Failed).
        check(
            &hex("02000000bbc0 02 05"),
            &AuthenticationFailed {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                status: Status::AUTHENTICATION_FAILED,
            },
        );
    }

    #[test]
    fn passkey_notify() {
        // Frame from lab/btvirt-kernel-kernel-le-sc-passkey.btsnoop, record 309 (hci1 shows
        // 001579, nothing entered yet).
        check(
            &hex("00000001aa00 01 2b060000 00"),
            &PasskeyNotify {
                address: AddressInfo::new(
                    "00:AA:01:00:00:00".parse().unwrap(),
                    AddressType::LE_PUBLIC,
                ),
                passkey: 1579,
                entered: 0,
            },
        );
    }

    #[test]
    fn local_oob_extended_data_updated() {
        // Documented layout: Address_Type 0x06 (LE), EIR with LE Bluetooth Device Address
        // (type 0x1b: C0:BB:00:00:00:02, random) and LE Role (type 0x1c: 0x00).
        let eir = hex("081b 02000000bbc0 01 021c00");
        check(
            &hex("06 0c00 081b02000000bbc001021c00"),
            &LocalOobExtendedDataUpdated {
                address_types: DiscoveryType::LE,
                eir: Bytes16(eir),
            },
        );
    }
}
