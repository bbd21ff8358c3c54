//! Commands about connections: disconnecting, listing, reading link information and clocks,
//! and loading the LE connection parameters and connection subrate parameters the kernel uses
//! for known devices.

use crate::address::AddressInfo;
use crate::keys::ConnectionParameters;
use crate::wire::List16;

crate::wire_struct! {
    /// Disconnect (0x0014): drop the connection to a device. Answered with its address.
    pub struct Disconnect {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Get Connections (0x0015): no parameters.
    pub struct GetConnections {}
}

crate::wire_struct! {
    /// Reply to Get Connections. Layout: `count (2) | { address (6) | address_type (1) } *
    /// count`. Devices with a known IRK are listed by identity address.
    pub struct GetConnectionsReply {
        /// The connected devices.
        pub connections: List16<AddressInfo>,
    }
}

crate::wire_struct! {
    /// Get Connection Information (0x0031, since 1.6).
    pub struct GetConnectionInfo {
        /// The peer.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Reply to Get Connection Information. Layout: `address (7) | rssi (1) | tx_power (1) |
    /// max_tx_power (1)`, all signed dBm; 127 means unknown.
    pub struct GetConnectionInfoReply {
        /// The peer.
        pub address: AddressInfo,
        /// Received signal strength, dBm (127: not available).
        pub rssi: i8,
        /// Current transmit power, dBm (127: unknown).
        pub tx_power: i8,
        /// Maximum transmit power, dBm (127: unknown).
        pub max_tx_power: i8,
    }
}

crate::wire_struct! {
    /// Get Clock Information (0x0032, since 1.7). Address 00:00:00:00:00:00 asks only for the
    /// local clock.
    pub struct GetClockInfo {
        /// The peer (BR/EDR).
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Reply to Get Clock Information. Layout: `address (7) | local_clock (4) |
    /// piconet_clock (4) | accuracy (2)`.
    pub struct GetClockInfoReply {
        /// The peer.
        pub address: AddressInfo,
        /// The local Bluetooth clock.
        pub local_clock: u32,
        /// The piconet clock of the connection.
        pub piconet_clock: u32,
        /// Clock accuracy (0xffff: unknown).
        pub accuracy: u16,
    }
}

crate::wire_struct! {
    /// Load Connection Parameters (0x0035, since 1.7). Layout: `count (2) | { address (6) |
    /// address_type (1) | min_interval (2) | max_interval (2) | latency (2) | timeout (2) } *
    /// count`.
    pub struct LoadConnectionParameters {
        /// Preferred LE connection parameters per identity address.
        pub parameters: List16<ConnectionParameters>,
    }
}

crate::wire_struct! {
    /// One entry of Load Connection Subrate (21 octets).
    pub struct ConnectionSubrate {
        /// The peer's identity address.
        pub address: AddressInfo,
        /// Minimum connection rate interval, units of 0.125 ms (0x0008-0x0C80).
        pub min_interval: u16,
        /// Maximum connection rate interval, units of 0.125 ms.
        pub max_interval: u16,
        /// Minimum subrate factor.
        pub subrate_min: u16,
        /// Maximum subrate factor.
        pub subrate_max: u16,
        /// Maximum peripheral latency, in subrated connection events.
        pub max_latency: u16,
        /// Continuation number.
        pub continuation_number: u16,
        /// Supervision timeout, units of 10 ms.
        pub supervision_timeout: u16,
    }
}

crate::wire_struct! {
    /// Load Connection Subrate (0x005C). Layout: `count (2) | { address (6) |
    /// address_type (1) | min_interval (2) | max_interval (2) | subrate_min (2) |
    /// subrate_max (2) | max_latency (2) | continuation_number (2) |
    /// supervision_timeout (2) } * count`.
    ///
    /// Each entry is the kernel's `mgmt_conn_subrate`; the bluetooth-next `mgmt.h` revision
    /// this crate was first checked against stops at 0x005B, so the layout follows the
    /// document (and later headers, which agree).
    pub struct LoadConnectionSubrate {
        /// Subrate parameters per identity address.
        pub parameters: List16<ConnectionSubrate>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::command::golden::{self, hex};
    use crate::wire::decode_exact;
    use crate::Problem;

    fn peer(t: AddressType) -> AddressInfo {
        AddressInfo::new("00:AA:01:00:00:01".parse().unwrap(), t)
    }

    #[test]
    fn disconnect() {
        // Documented layout, doc/mgmt-protocol.rst: Address (6), Address_Type (1), both ways.
        let b = hex("010000 01aa00 01");
        golden::command(
            &b,
            Disconnect {
                address: peer(AddressType::LE_PUBLIC),
            },
        );
        golden::reply::<Disconnect>(&b, peer(AddressType::LE_PUBLIC));
    }

    #[test]
    fn get_connections() {
        // Documented layout, doc/mgmt-protocol.rst: Connection_Count (2), then Address (6),
        // Address_Type (1).
        golden::command(&[], GetConnections {});
        golden::reply::<GetConnections>(
            &hex("0200 010000 01aa00 00 66554433 22c1 02"),
            GetConnectionsReply {
                connections: List16(vec![
                    peer(AddressType::BR_EDR),
                    AddressInfo::new("C1:22:33:44:55:66".parse().unwrap(), AddressType::LE_RANDOM),
                ]),
            },
        );
    }

    #[test]
    fn get_connections_truncated() {
        let e = decode_exact::<GetConnectionsReply>(
            "Get Connections reply",
            &hex("0200 010000 01aa00 00 665544"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Get Connections reply");
        assert_eq!(e.field(), "address");
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 6,
                actual: 3
            }
        );
    }

    #[test]
    fn get_connection_info() {
        // Documented layout, doc/mgmt-protocol.rst: address, RSSI, TX_Power, Max_TX_Power.
        let a = hex("010000 01aa00 01");
        golden::command(
            &a,
            GetConnectionInfo {
                address: peer(AddressType::LE_PUBLIC),
            },
        );
        golden::reply::<GetConnectionInfo>(
            &hex("010000 01aa00 01 c4 7f 0c"),
            GetConnectionInfoReply {
                address: peer(AddressType::LE_PUBLIC),
                rssi: -60,
                tx_power: 127,
                max_tx_power: 12,
            },
        );
    }

    #[test]
    fn get_clock_info() {
        // Documented layout, doc/mgmt-protocol.rst: address, Local_Clock (4),
        // Piconet_Clock (4), Accuracy (2).
        golden::command(
            &hex("000000000000 00"),
            GetClockInfo {
                address: AddressInfo::new(Default::default(), AddressType::BR_EDR),
            },
        );
        golden::reply::<GetClockInfo>(
            &hex("000000000000 00 78563412 00000000 ffff"),
            GetClockInfoReply {
                address: AddressInfo::new(Default::default(), AddressType::BR_EDR),
                local_clock: 0x1234_5678,
                piconet_clock: 0,
                accuracy: 0xffff,
            },
        );
    }

    #[test]
    fn load_connection_parameters() {
        // Documented layout, doc/mgmt-protocol.rst: Param_Count (2), then address, Min and
        // Max_Connection_Interval, Connection_Latency, Supervision_Timeout (2 each).
        golden::command(
            &hex("0100 010000 01aa00 01 1800 2800 0000 2a00"),
            LoadConnectionParameters {
                parameters: List16(vec![ConnectionParameters {
                    address: peer(AddressType::LE_PUBLIC),
                    min_interval: 0x18,
                    max_interval: 0x28,
                    latency: 0,
                    timeout: 0x2a,
                }]),
            },
        );
        golden::reply::<LoadConnectionParameters>(&[], ());
    }

    #[test]
    fn load_connection_subrate() {
        // Documented layout, doc/mgmt-protocol.rst: Param_Count (2), then address and seven
        // 2-octet fields.
        golden::command(
            &hex("0100 010000 01aa00 02 0800 800c 0100 0400 0000 0100 c800"),
            LoadConnectionSubrate {
                parameters: List16(vec![ConnectionSubrate {
                    address: peer(AddressType::LE_RANDOM),
                    min_interval: 8,
                    max_interval: 0x0c80,
                    subrate_min: 1,
                    subrate_max: 4,
                    max_latency: 0,
                    continuation_number: 1,
                    supervision_timeout: 200,
                }]),
            },
        );
        golden::reply::<LoadConnectionSubrate>(&[], ());
    }
}
