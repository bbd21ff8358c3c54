//! Key material the kernel hands out after pairing and takes back at start: link keys, long
//! term keys, identity resolving keys and signature keys, with their records as they appear in
//! New Link Key, Load Link Keys and friends.
//!
//! The key bytes redact themselves: their `Debug` and serialised forms print `<redacted>`, so a
//! decoded message can be logged without leaking a secret. [`LinkKey::expose`] and its siblings
//! give the bytes to code that must store or load them.

use core::fmt;

use crate::address::{Address, AddressInfo};
use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

macro_rules! secret_key {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// A key from its 16 bytes, in wire order.
            pub fn new(bytes: [u8; 16]) -> Self {
                $name(bytes)
            }

            /// The key bytes, in wire order. Handle with care: never log them.
            pub fn expose(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl Wire for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.array().map($name)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str("<redacted>")
            }
        }
    };
}

secret_key!(
    /// A BR/EDR link key (16 bytes).
    LinkKey
);
secret_key!(
    /// An LE long term key (16 bytes).
    LongTermKey
);
secret_key!(
    /// An identity resolving key (IRK, 16 bytes).
    IdentityResolvingKey
);
secret_key!(
    /// A connection signature resolving key (CSRK, 16 bytes).
    SignatureResolvingKey
);

crate::open_enum! {
    /// Link key types (New Link Key, Load Link Keys).
    pub struct LinkKeyType(u8) {
        /// Combination key (legacy PIN pairing).
        COMBINATION = 0x00 => "Combination",
        /// Local unit key.
        LOCAL_UNIT = 0x01 => "Local Unit",
        /// Remote unit key.
        REMOTE_UNIT = 0x02 => "Remote Unit",
        /// Debug combination key.
        DEBUG_COMBINATION = 0x03 => "Debug Combination",
        /// Unauthenticated combination key from P-192.
        UNAUTHENTICATED_P192 = 0x04 => "Unauthenticated Combination P-192",
        /// Authenticated combination key from P-192.
        AUTHENTICATED_P192 = 0x05 => "Authenticated Combination P-192",
        /// Changed combination key.
        CHANGED_COMBINATION = 0x06 => "Changed Combination",
        /// Unauthenticated combination key from P-256.
        UNAUTHENTICATED_P256 = 0x07 => "Unauthenticated Combination P-256",
        /// Authenticated combination key from P-256.
        AUTHENTICATED_P256 = 0x08 => "Authenticated Combination P-256",
    }
}

impl LinkKeyType {
    /// True when the key came from a pairing with MITM protection.
    pub fn is_authenticated(self) -> bool {
        self == Self::AUTHENTICATED_P192 || self == Self::AUTHENTICATED_P256
    }
}

crate::open_enum! {
    /// Long term key types (New Long Term Key, Load Long Term Keys).
    pub struct LongTermKeyType(u8) {
        /// Unauthenticated legacy key.
        UNAUTHENTICATED_LEGACY = 0x00 => "Unauthenticated Legacy",
        /// Authenticated legacy key.
        AUTHENTICATED_LEGACY = 0x01 => "Authenticated Legacy",
        /// Unauthenticated key from P-256 (LE Secure Connections Just Works).
        UNAUTHENTICATED_P256 = 0x02 => "Unauthenticated P-256",
        /// Authenticated key from P-256 (LE Secure Connections with MITM).
        AUTHENTICATED_P256 = 0x03 => "Authenticated P-256",
        /// Debug key from P-256.
        DEBUG_P256 = 0x04 => "Debug P-256",
    }
}

impl LongTermKeyType {
    /// True when the key came from a pairing with MITM protection.
    pub fn is_authenticated(self) -> bool {
        self == Self::AUTHENTICATED_LEGACY || self == Self::AUTHENTICATED_P256
    }

    /// True for keys from LE Secure Connections (P-256).
    pub fn is_secure_connections(self) -> bool {
        matches!(self.0, 0x02..=0x04)
    }
}

crate::open_enum! {
    /// Signature key types (New Signature Resolving Key).
    pub struct CsrkType(u8) {
        /// Local, unauthenticated.
        LOCAL_UNAUTHENTICATED = 0x00 => "Local Unauthenticated",
        /// Remote, unauthenticated.
        REMOTE_UNAUTHENTICATED = 0x01 => "Remote Unauthenticated",
        /// Local, authenticated.
        LOCAL_AUTHENTICATED = 0x02 => "Local Authenticated",
        /// Remote, authenticated.
        REMOTE_AUTHENTICATED = 0x03 => "Remote Authenticated",
    }
}

crate::wire_struct! {
    /// One link key record (`mgmt_link_key_info`, 25 octets).
    pub struct LinkKeyInfo {
        /// The peer (BR/EDR).
        pub address: AddressInfo,
        /// Key type.
        pub key_type: LinkKeyType,
        /// The key.
        pub value: LinkKey,
        /// PIN length for legacy pairing keys.
        pub pin_length: u8,
    }
}

crate::wire_struct! {
    /// One long term key record (`mgmt_ltk_info`, 36 octets).
    pub struct LongTermKeyInfo {
        /// The peer's identity address.
        pub address: AddressInfo,
        /// Key type.
        pub key_type: LongTermKeyType,
        /// 0x01 when this key is used when we are central (the "Central"/initiator field).
        pub central: u8,
        /// Encryption key size in octets.
        pub encryption_size: u8,
        /// Encrypted diversifier.
        pub ediv: u16,
        /// Random number.
        pub rand: u64,
        /// The key.
        pub value: LongTermKey,
    }
}

crate::wire_struct! {
    /// One identity resolving key record (`mgmt_irk_info`, 23 octets).
    pub struct IrkInfo {
        /// The peer's identity address.
        pub address: AddressInfo,
        /// The key.
        pub value: IdentityResolvingKey,
    }
}

crate::wire_struct! {
    /// One signature key record (`mgmt_csrk_info`, 24 octets).
    pub struct CsrkInfo {
        /// The peer's identity address.
        pub address: AddressInfo,
        /// Key type.
        pub csrk_type: CsrkType,
        /// The key.
        pub value: SignatureResolvingKey,
    }
}

crate::wire_struct! {
    /// One set of LE connection parameters (`mgmt_conn_param`, 15 octets).
    pub struct ConnectionParameters {
        /// The peer.
        pub address: AddressInfo,
        /// Minimum connection interval (units of 1.25 ms).
        pub min_interval: u16,
        /// Maximum connection interval (units of 1.25 ms).
        pub max_interval: u16,
        /// Peripheral latency.
        pub latency: u16,
        /// Supervision timeout (units of 10 ms).
        pub timeout: u16,
    }
}

/// Resolvable private address carried beside an IRK in New Identity Resolving Key.
pub type ResolvablePrivateAddress = Address;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec};

    #[test]
    fn key_debug_is_redacted() {
        let k = LinkKey::new([0x42; 16]);
        let s = format!("{k:?}");
        assert_eq!(s, "LinkKey(<redacted>)");
        assert!(!s.contains("42"));
    }

    #[test]
    fn link_key_info_layout() {
        // Documented layout: address (6), type (1), key type (1), value (16), PIN length (1).
        let mut b = vec![1, 2, 3, 4, 5, 6, 0, 0x08];
        b.extend_from_slice(&[0xAB; 16]);
        b.push(0);
        let k: LinkKeyInfo = decode_exact("Test", &b).unwrap();
        assert_eq!(k.key_type, LinkKeyType::AUTHENTICATED_P256);
        assert!(k.key_type.is_authenticated());
        assert_eq!(encode_to_vec(&k), b);
        assert!(!format!("{k:?}").contains("171"));
    }
}
