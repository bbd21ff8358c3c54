//! Events that hand out key material after pairing, and the connection parameters a
//! peripheral asked for: New Link Key, New Long Term Key, New Identity Resolving Key, New
//! Signature Resolving Key, New Connection Parameter.
//!
//! The key bytes inside are [`LinkKey`](crate::LinkKey) and its siblings, whose `Debug`
//! prints `<redacted>`: these events can be logged without leaking a secret.

use crate::address::{Address, AddressInfo};
use crate::keys::{CsrkInfo, IrkInfo, LinkKeyInfo, LongTermKeyInfo};

crate::wire_struct! {
    /// New Link Key (0x0009): BR/EDR pairing produced a link key.
    ///
    /// ```text
    /// Store_Hint (1) | Address (6) | Address_Type (1) | Key_Type (1) | Value (16) | PIN_Length (1)
    /// ```
    pub struct NewLinkKey {
        /// True when the host should store the key persistently (false for "No Bonding").
        pub store_hint: bool,
        /// The key record.
        pub key: LinkKeyInfo,
    }
}

crate::wire_struct! {
    /// New Long Term Key (0x000A): LE pairing produced a long term key.
    ///
    /// ```text
    /// Store_Hint (1) | Address (6) | Address_Type (1) | Key_Type (1) | Central (1)
    ///   | Encryption_Size (1) | EDiv (2) | Rand (8) | Value (16)
    /// ```
    pub struct NewLongTermKey {
        /// True when the host should store the key persistently.
        pub store_hint: bool,
        /// The key record; its address is the peer's identity.
        pub key: LongTermKeyInfo,
    }
}

crate::wire_struct! {
    /// New Identity Resolving Key (0x0018, since 1.5): the peer distributed its IRK.
    ///
    /// ```text
    /// Store_Hint (1) | Random_Address (6) | Address (6) | Address_Type (1) | Value (16)
    /// ```
    /// From here on the kernel names the device by its identity address.
    pub struct NewIdentityResolvingKey {
        /// True when the host should store the key persistently.
        pub store_hint: bool,
        /// The resolvable private address that resolved to the identity, or
        /// 00:00:00:00:00:00 when the peer was known by its identity address.
        pub random_address: Address,
        /// The key record; its address is the peer's identity.
        pub key: IrkInfo,
    }
}

crate::wire_struct! {
    /// New Signature Resolving Key (0x0019, since 1.5): pairing produced a CSRK (local
    /// ones sign, remote ones verify).
    ///
    /// ```text
    /// Store_Hint (1) | Address (6) | Address_Type (1) | Type (1) | Value (16)
    /// ```
    pub struct NewSignatureResolvingKey {
        /// True when the host should store the key persistently.
        pub store_hint: bool,
        /// The key record.
        pub key: CsrkInfo,
    }
}

crate::wire_struct! {
    /// New Connection Parameter (0x001C, since 1.7): a peripheral asked for new LE
    /// connection parameters.
    ///
    /// Layout as the kernel sends it (`struct mgmt_ev_new_conn_param`):
    /// ```text
    /// Address (6) | Address_Type (1) | Store_Hint (1) | Min_Interval (2) | Max_Interval (2)
    ///   | Latency (2) | Supervision_Timeout (2)
    /// ```
    /// doc/mgmt-protocol.rst lists Store_Hint first; the kernel header puts it after the
    /// address, and the kernel is what sends the bytes.
    pub struct NewConnectionParameter {
        /// The peer's identity.
        pub address: AddressInfo,
        /// True when the host should store the parameters persistently.
        pub store_hint: bool,
        /// Minimum connection interval (units of 1.25 ms).
        pub min_interval: u16,
        /// Maximum connection interval (units of 1.25 ms).
        pub max_interval: u16,
        /// Peripheral latency (connection events).
        pub latency: u16,
        /// Supervision timeout (units of 10 ms).
        pub timeout: u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};
    use crate::keys::{
        CsrkType, IdentityResolvingKey, LinkKey, LinkKeyType, LongTermKey, LongTermKeyType,
        SignatureResolvingKey,
    };

    /// The key must not appear in `Debug`, neither as hex nor as a list of numbers.
    fn assert_redacted(debug: &str, key: &[u8; 16]) {
        let hex_key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex_key.to_uppercase();
        let decimal = format!("{:?}", &key[..4]).trim_end_matches(']').to_string();
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains(&hex_key), "{debug}");
        assert!(!debug.contains(&hex_upper), "{debug}");
        assert!(!debug.contains(&decimal), "{debug}");
    }

    fn key16(s: &str) -> [u8; 16] {
        hex(s).try_into().unwrap()
    }

    #[test]
    fn new_link_key() {
        // Frame from lab/bredr-ssp-numeric-comparison.btsnoop, record 140 (kernel 6.1, SSP
        // numeric comparison with a Bumble device).
        let b = hex("01 02000000bb00 00 08 e454160f1f4e6869f28cadbf042fe459 00");
        let value = key16("e454160f1f4e6869f28cadbf042fe459");
        let ev = NewLinkKey {
            store_hint: true,
            key: LinkKeyInfo {
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
                key_type: LinkKeyType::AUTHENTICATED_P256,
                value: LinkKey::new(value),
                pin_length: 0,
            },
        };
        check(&b, &ev);
        assert_redacted(&format!("{ev:?}"), &value);
        assert_redacted(&format!("{:?}", crate::Event::from(ev)), &value);
    }

    #[test]
    fn new_link_key_store_hint_must_be_boolean() {
        let mut b = hex("01 02000000bb00 00 08 e454160f1f4e6869f28cadbf042fe459 00");
        b[0] = 2;
        let e = crate::Event::decode(crate::EventCode::NEW_LINK_KEY, &b).unwrap_err();
        assert_eq!(e.field(), "store_hint");
    }

    #[test]
    fn new_long_term_key() {
        // Frame from lab/le-sc-passkey.btsnoop, record 241 (kernel 6.1, LE SC passkey entry).
        let b = hex(
            "01 02000000bbc0 02 03 00 10 0000 0000000000000000 f5fe38e5016e766f3211b1f5cac9491d",
        );
        let value = key16("f5fe38e5016e766f3211b1f5cac9491d");
        let ev = NewLongTermKey {
            store_hint: true,
            key: LongTermKeyInfo {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                key_type: LongTermKeyType::AUTHENTICATED_P256,
                central: 0,
                encryption_size: 16,
                ediv: 0,
                rand: 0,
                value: LongTermKey::new(value),
            },
        };
        check(&b, &ev);
        assert_redacted(&format!("{ev:?}"), &value);
    }

    #[test]
    fn new_identity_resolving_key() {
        // Documented layout, doc/mgmt-protocol.rst "New Identity Resolving Key": store,
        // resolvable address 7A:11:22:33:44:55, identity C0:BB:00:00:00:02 (LE random,
        // static), key 00 01 .. 0f.
        let b = hex("01 554433 22117a 02000000bbc0 02 000102030405060708090a0b0c0d0e0f");
        let value = key16("000102030405060708090a0b0c0d0e0f");
        let ev = NewIdentityResolvingKey {
            store_hint: true,
            random_address: "7A:11:22:33:44:55".parse().unwrap(),
            key: IrkInfo {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                value: IdentityResolvingKey::new(value),
            },
        };
        check(&b, &ev);
        assert_redacted(&format!("{ev:?}"), &value);
    }

    #[test]
    fn new_signature_resolving_key() {
        // Frame from lab/btvirt-kernel-kernel-le-sc-passkey.btsnoop, record 424 (two kernel
        // controllers; hci0 learns the peer's CSRK).
        let b = hex("01 01000101aa00 01 03 e214fa64ee06990c35814fa5ede7d74d");
        let value = key16("e214fa64ee06990c35814fa5ede7d74d");
        let ev = NewSignatureResolvingKey {
            store_hint: true,
            key: CsrkInfo {
                address: AddressInfo::new(
                    "00:AA:01:01:00:01".parse().unwrap(),
                    AddressType::LE_PUBLIC,
                ),
                csrk_type: CsrkType::REMOTE_AUTHENTICATED,
                value: SignatureResolvingKey::new(value),
            },
        };
        check(&b, &ev);
        assert_redacted(&format!("{ev:?}"), &value);
    }

    #[test]
    fn new_connection_parameter() {
        // Documented layout (field order of the kernel's struct mgmt_ev_new_conn_param):
        // C0:BB:00:00:00:02 LE random, store, interval 24..40 (30-50 ms), latency 0,
        // timeout 42 (420 ms).
        let b = hex("02000000bbc0 02 01 1800 2800 0000 2a00");
        let ev = NewConnectionParameter {
            address: AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM),
            store_hint: true,
            min_interval: 24,
            max_interval: 40,
            latency: 0,
            timeout: 42,
        };
        check(&b, &ev);
    }
}
