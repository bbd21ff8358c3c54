//! Commands that find devices: starting and stopping discovery (plain, limited, filtered by
//! service UUID and RSSI), confirming names during discovery, and the LE scan parameters.

use crate::address::AddressInfo;
use crate::discovery::DiscoveryType;
use crate::uuid::Uuid128;
use crate::wire::List16;

crate::wire_struct! {
    /// Start Discovery (0x0023). Answered with the same address type mask.
    pub struct StartDiscovery {
        /// Which transports and address types to look for (0x01 BR/EDR, 0x06 LE, 0x07 both).
        pub address_types: DiscoveryType,
    }
}

crate::wire_struct! {
    /// Stop Discovery (0x0024): the mask given to the Start command. Answered with it.
    pub struct StopDiscovery {
        /// The running discovery's address types.
        pub address_types: DiscoveryType,
    }
}

crate::wire_struct! {
    /// Confirm Name (0x0025): answers a Device Found with the Confirm Name flag. Layout:
    /// `address (7) | name_known (1)`.
    pub struct ConfirmName {
        /// The device.
        pub address: AddressInfo,
        /// True if user space knows the name; false asks the kernel to resolve it.
        pub name_known: bool,
    }
}

crate::wire_struct! {
    /// Set Scan Parameters (0x002C, since 1.4): LE scan interval and window for connection
    /// establishment and passive scanning, units of 0.625 ms. Layout: `interval (2) |
    /// window (2)`.
    pub struct SetScanParameters {
        /// Scan interval.
        pub interval: u16,
        /// Scan window.
        pub window: u16,
    }
}

crate::wire_struct! {
    /// Start Service Discovery (0x003A, since 1.8). Layout: `address_types (1) |
    /// rssi_threshold (1) | uuid_count (2) | uuid (16) * uuid_count`. Answered with the
    /// address type mask.
    pub struct StartServiceDiscovery {
        /// Which transports and address types to look for.
        pub address_types: DiscoveryType,
        /// Devices weaker than this (dBm) are not reported; 127 reports all.
        pub rssi_threshold: i8,
        /// Report only devices advertising one of these; empty reports all.
        pub uuids: List16<Uuid128>,
    }
}

crate::wire_struct! {
    /// Start Limited Discovery (0x0041, since 1.11): discovery of limited-discoverable devices
    /// only. Answered with the address type mask.
    pub struct StartLimitedDiscovery {
        /// Which transports and address types to look for.
        pub address_types: DiscoveryType,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::command::golden::{self, hex};
    use crate::wire::decode_exact;
    use crate::Problem;

    #[test]
    fn start_discovery() {
        // Frame from fixtures/projet_rp-capture.btsnoop: interleaved discovery (0x07), reply
        // 0x07.
        golden::command(
            &[0x07],
            StartDiscovery {
                address_types: DiscoveryType::INTERLEAVED,
            },
        );
        golden::reply::<StartDiscovery>(&[0x07], DiscoveryType::INTERLEAVED);
    }

    #[test]
    fn stop_discovery() {
        // Frame from fixtures/projet_rp-ble_capture.btsnoop: stop LE discovery (0x06).
        golden::command(
            &[0x06],
            StopDiscovery {
                address_types: DiscoveryType::LE,
            },
        );
        golden::reply::<StopDiscovery>(&[0x06], DiscoveryType::LE);
    }

    #[test]
    fn confirm_name() {
        // Documented layout, doc/mgmt-protocol.rst: address, Name_Known (1).
        let peer = AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR);
        golden::command(
            &hex("02000000bb00 00 00"),
            ConfirmName {
                address: peer.clone(),
                name_known: false,
            },
        );
        golden::reply::<ConfirmName>(&hex("02000000bb00 00"), peer);
    }

    #[test]
    fn set_scan_parameters() {
        // Documented layout, doc/mgmt-protocol.rst: Interval (2), Window (2).
        golden::command(
            &hex("6000 3000"),
            SetScanParameters {
                interval: 0x60,
                window: 0x30,
            },
        );
        golden::reply::<SetScanParameters>(&[], ());
    }

    #[test]
    fn start_service_discovery() {
        // Frame from fixtures/projet_rp-ble_capture.btsnoop: LE, RSSI threshold 127, no
        // UUIDs; reply 0x06.
        golden::command(
            &hex("06 7f 0000"),
            StartServiceDiscovery {
                address_types: DiscoveryType::LE,
                rssi_threshold: 127,
                uuids: List16(vec![]),
            },
        );
        golden::reply::<StartServiceDiscovery>(&[0x06], DiscoveryType::LE);
        // Documented layout: with one UUID (0000180d-..., Heart Rate) and threshold -70 dBm.
        let hr = hex("fb349b5f80000080 00100000 0d180000");
        let mut b = hex("06 ba 0100");
        b.extend_from_slice(&hr);
        golden::command(
            &b,
            StartServiceDiscovery {
                address_types: DiscoveryType::LE,
                rssi_threshold: -70,
                uuids: List16(vec![Uuid128(hr.try_into().unwrap())]),
            },
        );
    }

    #[test]
    fn start_service_discovery_truncated() {
        // Two UUIDs promised, one and a half given.
        let mut b = hex("06 7f 0200");
        b.extend_from_slice(&[0xaa; 24]);
        let e = decode_exact::<StartServiceDiscovery>("Start Service Discovery", &b).unwrap_err();
        assert_eq!(e.message(), "Start Service Discovery");
        assert_eq!(e.field(), "uuids");
        assert_eq!(e.offset(), 20);
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 16,
                actual: 8
            }
        );
    }

    #[test]
    fn start_limited_discovery() {
        // Documented layout, doc/mgmt-protocol.rst: Address_Type (1), both ways.
        golden::command(
            &[0x01],
            StartLimitedDiscovery {
                address_types: DiscoveryType::BREDR,
            },
        );
        golden::reply::<StartLimitedDiscovery>(&[0x01], DiscoveryType::BREDR);
    }
}
