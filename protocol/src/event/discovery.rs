//! Events of device discovery: a device was found, discovery started or stopped.

use crate::address::AddressInfo;
use crate::device_found::DeviceFoundFlags;
use crate::discovery::DiscoveryType;
use crate::wire::Bytes16;

crate::wire_struct! {
    /// Device Found (0x0012): discovery (or passive scanning for a device in the accept
    /// list) heard a device.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | RSSI (1, signed dBm) | Flags (4)
    ///   | EIR_Data_Length (2) | EIR_Data (...)
    /// ```
    pub struct DeviceFound {
        /// The device.
        pub address: AddressInfo,
        /// Signal strength in dBm; 127 means not available.
        pub rssi: i8,
        /// What the kernel says about the device.
        pub flags: DeviceFoundFlags,
        /// Its EIR data, or its LE advertising and scan response data.
        pub eir: Bytes16,
    }
}

crate::wire_struct! {
    /// Discovering (0x0013): discovery of `discovery_type` started or stopped. The state
    /// may come and go several times between Start Discovery and Stop Discovery.
    pub struct Discovering {
        /// The address types being discovered (the doc calls it Address_Type).
        pub discovery_type: DiscoveryType,
        /// True when discovery is now running.
        pub discovering: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    #[test]
    fn device_found_with_name() {
        // Frame from public/projet_rp-ble_capture.snoop, record 105: an LE random device at
        // -38 dBm advertising Flags and the Complete Local Name "Daniel's Tab S9".
        let ev = DeviceFound {
            address: AddressInfo::new("50:F2:D6:78:E9:3E".parse().unwrap(), AddressType::LE_RANDOM),
            rssi: -38,
            flags: DeviceFoundFlags::empty(),
            eir: Bytes16(hex("020102 1009 44616e69656c277320546162205339")),
        };
        check(
            &hex("3ee978d6f250 02 da 00000000 1400 020102100944616e69656c277320546162205339"),
            &ev,
        );
        assert_eq!(&ev.eir[5..], b"Daniel's Tab S9");
    }

    #[test]
    fn device_found_not_connectable() {
        // Frame from public/projet_rp-ble_capture.snoop, record 155: -82 dBm, Not
        // Connectable, manufacturer data of company 0x004c.
        check(
            &hex("74175c4beaff 02 ae 04000000 0800 07ff4c0012020002"),
            &DeviceFound {
                address: AddressInfo::new(
                    "FF:EA:4B:5C:17:74".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                rssi: -82,
                flags: DeviceFoundFlags::NOT_CONNECTABLE,
                eir: Bytes16(hex("07ff4c0012020002")),
            },
        );
    }

    #[test]
    fn device_found_eir_longer_than_message_is_an_error() {
        let e = crate::Event::decode(
            crate::EventCode::DEVICE_FOUND,
            &hex("74175c4beaff 02 ae 04000000 0900 07ff4c0012020002"),
        )
        .unwrap_err();
        assert_eq!(e.field(), "eir");
    }

    #[test]
    fn discovering() {
        // Frames from public/projet_rp-ble_capture.snoop, records 101 and 304: LE discovery
        // on, then off.
        check(
            &[0x06, 0x01],
            &Discovering {
                discovery_type: DiscoveryType::LE,
                discovering: true,
            },
        );
        check(
            &[0x06, 0x00],
            &Discovering {
                discovery_type: DiscoveryType::LE,
                discovering: false,
            },
        );
        // Frame from public/projet_rp-capture.snoop, record 190: interleaved discovery on.
        check(
            &[0x07, 0x01],
            &Discovering {
                discovery_type: DiscoveryType::INTERLEAVED,
                discovering: true,
            },
        );
    }
}
