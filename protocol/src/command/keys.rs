//! Commands that hand the kernel its stored keys at start: link keys, long term keys, identity
//! resolving keys, and the list of keys known to be compromised.
//!
//! The key records ([`LinkKeyInfo`], [`LongTermKeyInfo`], [`IrkInfo`]) live in
//! [`crate::keys`]; their key bytes redact themselves in `Debug`.

use core::fmt;

use crate::error::DecodeError;
use crate::keys::{IrkInfo, LinkKeyInfo, LongTermKeyInfo};
use crate::wire::{List16, Reader, Wire};

crate::wire_struct! {
    /// Load Link Keys (0x0012). Layout: `debug_keys (1) | count (2) | { address (6) |
    /// address_type (1) | key_type (1) | value (16) | pin_length (1) } * count`.
    pub struct LoadLinkKeys {
        /// Whether to accept debug keys (deprecated; see Set Debug Keys).
        pub debug_keys: bool,
        /// The BR/EDR link keys; this list replaces the kernel's.
        pub keys: List16<LinkKeyInfo>,
    }
}

crate::wire_struct! {
    /// Load Long Term Keys (0x0013). Layout: `count (2) | { address (6) | address_type (1) |
    /// key_type (1) | central (1) | encryption_size (1) | ediv (2) | rand (8) | value (16) } *
    /// count`.
    pub struct LoadLongTermKeys {
        /// The LE long term keys, by identity address; this list replaces the kernel's.
        pub keys: List16<LongTermKeyInfo>,
    }
}

crate::wire_struct! {
    /// Load Identity Resolving Keys (0x0030, since 1.5). Layout: `count (2) | { address (6) |
    /// address_type (1) | value (16) } * count`.
    pub struct LoadIrks {
        /// The peers' IRKs, by identity address; this list replaces the kernel's.
        pub keys: List16<IrkInfo>,
    }
}

crate::open_enum! {
    /// The kind of key a blocked key entry names.
    pub struct BlockedKeyType(u8) {
        /// A BR/EDR link key.
        LINK_KEY = 0x00 => "Link Key",
        /// An LE long term key.
        LONG_TERM_KEY = 0x01 => "Long Term Key",
        /// An LE identity resolving key.
        IDENTITY_RESOLVING_KEY = 0x02 => "Identity Resolving Key",
    }
}

/// One entry of Load Blocked Keys (`mgmt_blocked_key_info`, 17 octets): a key value known to
/// be compromised, which pairing must never accept.
///
/// These values are public by nature (they are on the block list because they leaked), so
/// `Debug` prints them.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BlockedKey {
    /// Which kind of key.
    pub key_type: BlockedKeyType,
    /// The key value, in wire order.
    pub value: [u8; 16],
}

impl fmt::Debug for BlockedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockedKey")
            .field("key_type", &self.key_type)
            .field("value", &format_args!("{}", crate::hex::Hex(&self.value)))
            .finish()
    }
}

impl Wire for BlockedKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.set_field("key_type");
        let key_type = BlockedKeyType::decode(r)?;
        r.set_field("value");
        let value = r.array()?;
        Ok(BlockedKey { key_type, value })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.key_type.encode(out);
        out.extend_from_slice(&self.value);
    }
}

crate::wire_struct! {
    /// Load Blocked Keys (0x0046, since 1.15; `MGMT_OP_SET_BLOCKED_KEYS`). Layout:
    /// `count (2) | { key_type (1) | value (16) } * count`.
    pub struct LoadBlockedKeys {
        /// The compromised keys; this list replaces the kernel's.
        pub keys: List16<BlockedKey>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{AddressInfo, AddressType};
    use crate::command::golden::{self, hex};
    use crate::keys::{IdentityResolvingKey, LinkKey, LinkKeyType, LongTermKey, LongTermKeyType};
    use crate::wire::decode_exact;
    use crate::Problem;

    fn peer(t: AddressType) -> AddressInfo {
        AddressInfo::new("00:AA:01:00:00:01".parse().unwrap(), t)
    }

    #[test]
    fn load_link_keys() {
        // Documented layout, doc/mgmt-protocol.rst: Debug_Keys (1), Key_Count (2), then per
        // key Address (6), Address_Type (1), Key_Type (1), Value (16), PIN_Length (1).
        let b = hex("00 0100 010000 01aa00 00 08 000102030405060708090a0b0c0d0e0f 00");
        let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        golden::command(
            &b,
            LoadLinkKeys {
                debug_keys: false,
                keys: List16(vec![LinkKeyInfo {
                    address: peer(AddressType::BR_EDR),
                    key_type: LinkKeyType::AUTHENTICATED_P256,
                    value: LinkKey::new(key),
                    pin_length: 0,
                }]),
            },
        );
        golden::reply::<LoadLinkKeys>(&[], ());
        // An empty list clears the kernel's keys.
        golden::command(
            &[0x00, 0x00, 0x00],
            LoadLinkKeys {
                debug_keys: false,
                keys: List16(vec![]),
            },
        );
    }

    #[test]
    fn load_link_keys_truncated() {
        // Two keys promised, one 25-byte record given, so the second record's address fails.
        let b = hex("00 0200 010000 01aa00 00 08 000102030405060708090a0b0c0d0e0f 00");
        let e = decode_exact::<LoadLinkKeys>("Load Link Keys", &b).unwrap_err();
        assert_eq!(e.message(), "Load Link Keys");
        assert_eq!(e.field(), "address");
        assert_eq!(e.offset(), 28);
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 6,
                actual: 0
            }
        );
        // A count that promises more items than bytes is refused before reading them.
        let e = decode_exact::<LoadLinkKeys>("Load Link Keys", &hex("00 ffff 00")).unwrap_err();
        assert_eq!(e.field(), "keys");
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 0xffff,
                actual: 1
            }
        );
    }

    #[test]
    fn load_long_term_keys() {
        // Documented layout, doc/mgmt-protocol.rst: Key_Count (2), then Address (6),
        // Address_Type (1), Key_Type (1), Central (1), Encryption_Size (1), EDIV (2),
        // Rand (8), Value (16).
        let b = hex(
            "0100 010000 01aa00 01 03 00 10 0000 0000000000000000 ffeeddccbbaa99887766554433221100",
        );
        let key: [u8; 16] = hex("ffeeddccbbaa99887766554433221100").try_into().unwrap();
        golden::command(
            &b,
            LoadLongTermKeys {
                keys: List16(vec![LongTermKeyInfo {
                    address: peer(AddressType::LE_PUBLIC),
                    key_type: LongTermKeyType::AUTHENTICATED_P256,
                    central: 0,
                    encryption_size: 16,
                    ediv: 0,
                    rand: 0,
                    value: LongTermKey::new(key),
                }]),
            },
        );
        golden::reply::<LoadLongTermKeys>(&[], ());
    }

    #[test]
    fn load_irks() {
        // Documented layout, doc/mgmt-protocol.rst: Key_Count (2), then Address (6),
        // Address_Type (1), Value (16).
        let b = hex("0100 010000 01aa00 02 0f0e0d0c0b0a09080706050403020100");
        let key: [u8; 16] = hex("0f0e0d0c0b0a09080706050403020100").try_into().unwrap();
        golden::command(
            &b,
            LoadIrks {
                keys: List16(vec![IrkInfo {
                    address: peer(AddressType::LE_RANDOM),
                    value: IdentityResolvingKey::new(key),
                }]),
            },
        );
        golden::reply::<LoadIrks>(&[], ());
    }

    #[test]
    fn load_blocked_keys() {
        // Documented layout, doc/mgmt-protocol.rst: Key_Count (2), then Key_Type (1),
        // Value (16).
        let b = hex("0200 00 00112233445566778899aabbccddeeff 02 ffffffffffffffffffffffffffffffff");
        golden::command(
            &b,
            LoadBlockedKeys {
                keys: List16(vec![
                    BlockedKey {
                        key_type: BlockedKeyType::LINK_KEY,
                        value: hex("00112233445566778899aabbccddeeff").try_into().unwrap(),
                    },
                    BlockedKey {
                        key_type: BlockedKeyType::IDENTITY_RESOLVING_KEY,
                        value: [0xff; 16],
                    },
                ]),
            },
        );
        golden::reply::<LoadBlockedKeys>(&[], ());
    }
}
