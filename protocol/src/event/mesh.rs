//! Events of the kernel's mesh support: a matching advertisement arrived, an outbound mesh
//! packet left its transmit slot.

use crate::address::AddressInfo;
use crate::device_found::DeviceFoundFlags;
use crate::wire::Bytes16;

crate::wire_struct! {
    /// Mesh Device Found (0x0031, since 1.21): an advertisement or scan response with an AD
    /// type from the Set Mesh Receiver filter arrived.
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | RSSI (1) | Instant (8) | Flags (4)
    ///   | AD_Data_Length (2) | AD_Data (...)
    /// ```
    pub struct MeshDeviceFound {
        /// The sender (an LE address).
        pub address: AddressInfo,
        /// Signal strength in dBm.
        pub rssi: i8,
        /// When the packet was received, in kernel units; only useful to time a response.
        pub instant: u64,
        /// The same flags as Device Found.
        pub flags: DeviceFoundFlags,
        /// All AD structures of the packet.
        pub ad_data: Bytes16,
    }
}

crate::wire_struct! {
    /// Mesh Packet Transmit Complete (0x0032, since 1.21): a packet queued with Mesh Send
    /// is done and its transmit slot is free.
    pub struct MeshPacketTransmitComplete {
        /// The handle Mesh Send returned.
        pub handle: u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    #[test]
    fn mesh_device_found() {
        // Documented layout: LE random sender at -70 dBm, instant 0x0000000012345678, no
        // flags, AD data with one Mesh Message structure (length 3, type 0x2a, 2 octets).
        check(
            &hex("02000000bbc0 02 ba 7856341200000000 00000000 0400 032a0102"),
            &MeshDeviceFound {
                address: AddressInfo::new(
                    "C0:BB:00:00:00:02".parse().unwrap(),
                    AddressType::LE_RANDOM,
                ),
                rssi: -70,
                instant: 0x1234_5678,
                flags: DeviceFoundFlags::empty(),
                ad_data: Bytes16(hex("032a0102")),
            },
        );
    }

    #[test]
    fn mesh_packet_transmit_complete() {
        // Documented layout: Handle 0x01.
        check(&[0x01], &MeshPacketTransmitComplete { handle: 1 });
    }
}
