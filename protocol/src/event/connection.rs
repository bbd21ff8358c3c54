//! Events about connections to peers: connected, disconnected (with why), a failed
//! attempt, and a change of a link's security level.

use crate::address::AddressInfo;
use crate::device_found::DeviceFoundFlags;
use crate::status::Status;
use crate::wire::Bytes16;

crate::open_enum! {
    /// Why a connection ended (Device Disconnected, Reason).
    pub struct DisconnectReason(u8) {
        /// No reason given.
        UNSPECIFIED = 0x00 => "Unspecified",
        /// The link supervision timer expired.
        TIMEOUT = 0x01 => "Connection Timeout",
        /// This host ended the connection.
        LOCAL_HOST = 0x02 => "Terminated by Local Host",
        /// The peer ended the connection.
        REMOTE = 0x03 => "Terminated by Remote Host",
        /// Ended because authentication failed.
        AUTHENTICATION_FAILURE = 0x04 => "Terminated due to Authentication Failure",
        /// This host ended the connection to suspend.
        LOCAL_HOST_SUSPEND = 0x05 => "Terminated by Local Host for Suspend",
    }
}

crate::wire_struct! {
    /// Device Connected (0x000B): a baseband (BR/EDR) or LE connection to a peer is up.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | Flags (4) | EIR_Data_Length (2) | EIR_Data (...)
    /// ```
    /// The kernel fills EIR_Data with what it knows of the peer (name, class of device,
    /// or the LE advertising data it connected on).
    pub struct DeviceConnected {
        /// The peer (its identity when the kernel could resolve it).
        pub address: AddressInfo,
        /// Only Legacy Pairing and Initiated Connection are defined here.
        pub flags: DeviceFoundFlags,
        /// EIR structures about the peer.
        pub eir: Bytes16,
    }
}

crate::wire_struct! {
    /// Device Disconnected (0x000C): the connection to a peer is gone.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) [ | Reason (1) ]
    /// ```
    /// Reason was appended in a later API version; kernels before it send only the address,
    /// which decodes with `reason: None`.
    pub struct DeviceDisconnected {
        /// The peer.
        pub address: AddressInfo,
        /// Why, when the kernel says.
        pub reason: Option<DisconnectReason>,
    }
}

crate::wire_struct! {
    /// Connect Failed (0x000D): a connection attempt to a peer failed.
    pub struct ConnectFailed {
        /// The peer.
        pub address: AddressInfo,
        /// Why, as an MGMT status.
        pub status: Status,
    }
}

crate::wire_struct! {
    /// Security Level Changed (0x0033): the security level of a connection changed (kernel
    /// `MGMT_EV_SECURITY_LEVEL_CHANGED`, `struct mgmt_ev_security_level_changed`).
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | Level (1)
    /// ```
    /// The level is the kernel's `BT_SECURITY_*` value: 0 SDP, 1 low, 2 medium
    /// (encrypted), 3 high (authenticated), 4 FIPS (Secure Connections).
    pub struct SecurityLevelChanged {
        /// The peer.
        pub address: AddressInfo,
        /// The new security level.
        pub level: u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    #[test]
    fn device_connected_bredr_with_name() {
        // Frame from lab/bredr-ssp-numeric-comparison.btsnoop, record 125: we connected to
        // 00:BB:00:00:00:02; EIR holds the Complete Local Name "bumble-peer".
        let b = hex("02000000bb00 00 08000000 0d00 0c0962756d626c652d70656572");
        let ev = DeviceConnected {
            address: AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR),
            flags: DeviceFoundFlags::INITIATED_CONNECTION,
            eir: Bytes16(hex("0c0962756d626c652d70656572")),
        };
        check(&b, &ev);
        assert_eq!(&ev.eir[2..], b"bumble-peer");
    }

    #[test]
    fn device_connected_le() {
        // Frame from lab/btvirt-kernel-kernel-le-sc-passkey.btsnoop, record 295: LE public
        // peer, we initiated, EIR is a TX Power Level structure (0 dBm).
        check(
            &hex("01000101aa00 01 08000000 0300 020a00"),
            &DeviceConnected {
                address: AddressInfo::new(
                    "00:AA:01:01:00:01".parse().unwrap(),
                    AddressType::LE_PUBLIC,
                ),
                flags: DeviceFoundFlags::INITIATED_CONNECTION,
                eir: Bytes16(hex("020a00")),
            },
        );
        // Frame from lab/le-sc-passkey.btsnoop, record 96: no EIR data at all.
        check(
            &hex("02000000bbc0 02 08000000 0000"),
            &DeviceConnected {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                flags: DeviceFoundFlags::INITIATED_CONNECTION,
                eir: Bytes16(vec![]),
            },
        );
    }

    #[test]
    fn device_disconnected() {
        // Frame from lab/bredr-ssp-numeric-comparison.btsnoop, record 155: the peer hung up.
        let ev = DeviceDisconnected {
            address: AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR),
            reason: Some(DisconnectReason::REMOTE),
        };
        check(&hex("02000000bb00 00 03"), &ev);
        assert_eq!(ev.reason.unwrap().to_string(), "Terminated by Remote Host");
    }

    #[test]
    fn device_disconnected_from_a_kernel_without_reason() {
        // Documented layout before Reason was appended: the address alone.
        check(
            &hex("02000000bb00 00"),
            &DeviceDisconnected {
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
                reason: None,
            },
        );
    }

    #[test]
    fn connect_failed() {
        // Documented layout: 00:BB:00:00:00:02 BR/EDR, Status 0x04 (Connect Failed).
        check(
            &hex("02000000bb00 00 04"),
            &ConnectFailed {
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
                status: Status::CONNECT_FAILED,
            },
        );
    }

    #[test]
    fn security_level_changed() {
        // Composed from the kernel header layout (struct mgmt_ev_security_level_changed):
        // LE random peer, level 3 (high).
        check(
            &hex("02000000bbc0 02 03"),
            &SecurityLevelChanged {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                level: 3,
            },
        );
    }
}
