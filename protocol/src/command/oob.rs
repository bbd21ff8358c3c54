//! Out Of Band pairing data: reading the local controller's hash and randomizer (plain or as
//! EIR/AD structures) and giving the kernel a remote device's.

use crate::address::AddressInfo;
use crate::discovery::DiscoveryType;
use crate::wire::Bytes16;

crate::wire_struct! {
    /// One OOB hash and randomizer pair (32 octets): P-192 (C-192/R-192) or P-256
    /// (C-256/R-256).
    pub struct OobHashRandomizer {
        /// The hash (commitment) C.
        pub hash: [u8; 16],
        /// The randomizer R.
        pub randomizer: [u8; 16],
    }
}

crate::wire_struct! {
    /// Read Local Out Of Band Data (0x0020): no parameters.
    pub struct ReadLocalOobData {}
}

crate::wire_struct! {
    /// Reply to Read Local Out Of Band Data. Layout: `hash_192 (16) | randomizer_192 (16) [ |
    /// hash_256 (16) | randomizer_256 (16) ]`; the P-256 pair is present only when Secure
    /// Connections is enabled.
    pub struct ReadLocalOobDataReply {
        /// The P-192 pair.
        pub p192: OobHashRandomizer,
        /// The P-256 pair, with Secure Connections.
        pub p256: Option<OobHashRandomizer>,
    }
}

crate::wire_struct! {
    /// Add Remote Out Of Band Data (0x0021). Layout: `address (7) | hash_192 (16) |
    /// randomizer_192 (16) [ | hash_256 (16) | randomizer_256 (16) ]`. Zero values mean "not
    /// provided"; LE peers use only the P-256 pair.
    pub struct AddRemoteOobData {
        /// The peer.
        pub address: AddressInfo,
        /// The P-192 pair (zero for LE, and in Secure Connections Only mode).
        pub p192: OobHashRandomizer,
        /// The P-256 pair, if given (the kernel sets it to zero otherwise).
        pub p256: Option<OobHashRandomizer>,
    }
}

crate::wire_struct! {
    /// Remove Remote Out Of Band Data (0x0022); address 00:00:00:00:00:00 removes all.
    pub struct RemoveRemoteOobData {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Read Local Out Of Band Extended Data (0x003B, since 1.9): which transport's data to
    /// read, as an address type mask (0x01 BR/EDR, 0x06 LE).
    pub struct ReadLocalOobExtData {
        /// The transport.
        pub address_types: DiscoveryType,
    }
}

crate::wire_struct! {
    /// Reply to Read Local Out Of Band Extended Data. Layout: `type (1) | eir_len (2) |
    /// eir (eir_len)`. For BR/EDR the EIR holds the class of device, C/R-192 and -256 hashes
    /// and randomizers and the name; for LE the LE address, role, SC confirmation and random
    /// values, appearance, name and flags.
    pub struct ReadLocalOobExtDataReply {
        /// The transport the data is for.
        pub address_types: DiscoveryType,
        /// The OOB data as EIR/AD structures.
        pub eir: Bytes16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::command::golden::{self, hex};

    fn pair(h: u8, r: u8) -> OobHashRandomizer {
        OobHashRandomizer {
            hash: [h; 16],
            randomizer: [r; 16],
        }
    }

    fn blocks(values: &[u8]) -> Vec<u8> {
        values.iter().flat_map(|v| [*v; 16]).collect()
    }

    #[test]
    fn read_local_oob_data() {
        // Documented layout, doc/mgmt-protocol.rst: Hash_192, Randomizer_192, then the
        // optional Hash_256, Randomizer_256 (16 octets each).
        golden::command(&[], ReadLocalOobData {});
        golden::reply::<ReadLocalOobData>(
            &blocks(&[0x11, 0x22]),
            ReadLocalOobDataReply {
                p192: pair(0x11, 0x22),
                p256: None,
            },
        );
        golden::reply::<ReadLocalOobData>(
            &blocks(&[0x11, 0x22, 0x33, 0x44]),
            ReadLocalOobDataReply {
                p192: pair(0x11, 0x22),
                p256: Some(pair(0x33, 0x44)),
            },
        );
    }

    #[test]
    fn read_local_oob_data_half_p256_is_an_error() {
        let e = crate::wire::decode_exact::<ReadLocalOobDataReply>(
            "Read Local Out Of Band Data reply",
            &blocks(&[0x11, 0x22, 0x33]),
        )
        .unwrap_err();
        assert_eq!(e.field(), "randomizer");
        assert_eq!(e.offset(), 48);
    }

    #[test]
    fn add_remote_oob_data() {
        // Documented layout, doc/mgmt-protocol.rst: address, Hash_192, Randomizer_192 and the
        // optional P-256 pair.
        let peer = AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM);
        let mut b = hex("02000000bbc0 02");
        b.extend(blocks(&[0, 0, 0x33, 0x44]));
        golden::command(
            &b,
            AddRemoteOobData {
                address: peer.clone(),
                p192: pair(0, 0),
                p256: Some(pair(0x33, 0x44)),
            },
        );
        let mut short = hex("02000000bbc0 02");
        short.extend(blocks(&[0x11, 0x22]));
        golden::command(
            &short,
            AddRemoteOobData {
                address: peer.clone(),
                p192: pair(0x11, 0x22),
                p256: None,
            },
        );
        golden::reply::<AddRemoteOobData>(&hex("02000000bbc0 02"), peer);
    }

    #[test]
    fn remove_remote_oob_data() {
        // Documented layout, doc/mgmt-protocol.rst: address; all zero removes everything.
        let b = hex("000000000000 00");
        let any = AddressInfo::new(Default::default(), AddressType::BR_EDR);
        golden::command(
            &b,
            RemoveRemoteOobData {
                address: any.clone(),
            },
        );
        golden::reply::<RemoveRemoteOobData>(&b, any);
    }

    #[test]
    fn read_local_oob_ext_data() {
        // Documented layout, doc/mgmt-protocol.rst: Address_Type (1); reply Address_Type (1),
        // EIR_Data_Length (2), EIR_Data (here LE Role 0x00 and Flags 0x06).
        golden::command(
            &[0x06],
            ReadLocalOobExtData {
                address_types: DiscoveryType::LE,
            },
        );
        golden::reply::<ReadLocalOobExtData>(
            &hex("06 0600 021c00 020106"),
            ReadLocalOobExtDataReply {
                address_types: DiscoveryType::LE,
                eir: Bytes16(hex("021c00 020106")),
            },
        );
    }

    #[test]
    fn read_local_oob_ext_data_truncated_eir() {
        let e = crate::wire::decode_exact::<ReadLocalOobExtDataReply>(
            "Read Local Out Of Band Extended Data reply",
            &hex("06 0600 021c00"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Read Local Out Of Band Extended Data reply");
        assert_eq!(e.field(), "eir");
        assert_eq!(
            e.problem(),
            crate::Problem::Truncated {
                expected: 6,
                actual: 3
            }
        );
    }
}
