//! Bluetooth Mesh support in the kernel: receiving mesh advertisements and queueing outbound
//! mesh packets.

use crate::address::AddressInfo;
use crate::index::ControllerIndex;
use crate::wire::{Bytes8, List8};

crate::wire_struct! {
    /// Set Mesh Receiver (0x0057, since 1.21). Layout: `enable (1) | window (2) | period (2) |
    /// num_ad_types (1) | ad_types (num_ad_types)`.
    pub struct SetMeshReceiver {
        /// Enable (true) or disable mesh receiving (passive scanning stays on while enabled).
        pub enable: bool,
        /// Scan window when nothing else scans, units of 0.625 ms.
        pub window: u16,
        /// Scan period (interval) when nothing else scans, units of 0.625 ms.
        pub period: u16,
        /// AD types to deliver as Mesh Device Found; others are ignored.
        pub ad_types: List8<u8>,
    }
}

crate::wire_struct! {
    /// Read Mesh Features (0x0058, since 1.21): no parameters.
    pub struct ReadMeshFeatures {}
}

crate::wire_struct! {
    /// Reply to Read Mesh Features. Layout: `index (2) | max_handles (1) | used_handles (1) |
    /// handle (1) * used_handles`. (The kernel's struct reserves three handle slots but sends
    /// only the used ones.)
    pub struct ReadMeshFeaturesReply {
        /// The controller this is about.
        pub index: ControllerIndex,
        /// Most packets that may be queued (0: outbound mesh not available).
        pub max_handles: u8,
        /// Handles of the packets awaiting transmission.
        pub handles: List8<u8>,
    }
}

crate::wire_struct! {
    /// Transmit Mesh Packet (0x0059, since 1.21; `MGMT_OP_MESH_SEND`). Layout: `address (7) |
    /// instant (8) | delay (2) | count (1) | data_len (1) | data (data_len)`.
    pub struct MeshSend {
        /// Address for the outbound advertisement (00:00:00:00:00:00 LE random: a fresh
        /// non-resolvable address).
        pub address: AddressInfo,
        /// The Instant of a received Mesh Device Found, for timed responses.
        pub instant: u64,
        /// Milliseconds after `instant` to send (0: as soon as possible).
        pub delay: u16,
        /// How many times to send (1 when `delay` is set).
        pub count: u8,
        /// AD type and mesh packet.
        pub data: Bytes8,
    }
}

crate::wire_struct! {
    /// Reply to Transmit Mesh Packet.
    pub struct MeshSendReply {
        /// The handle of the queued packet.
        pub handle: u8,
    }
}

crate::wire_struct! {
    /// Cancel Transmit Mesh Packet (0x005A, since 1.21; `MGMT_OP_MESH_SEND_CANCEL`).
    pub struct MeshSendCancel {
        /// The packet's handle; 0 cancels all.
        pub handle: u8,
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
    fn set_mesh_receiver() {
        // Documented layout, doc/mgmt-protocol.rst: Enable (1), Window (2), Period (2),
        // Num AD Types (1), AD Types[]: Mesh Message 0x2a and Mesh Beacon 0x2b.
        golden::command(
            &hex("01 3000 6000 02 2a2b"),
            SetMeshReceiver {
                enable: true,
                window: 0x30,
                period: 0x60,
                ad_types: List8(vec![0x2a, 0x2b]),
            },
        );
        golden::reply::<SetMeshReceiver>(&[], ());
    }

    #[test]
    fn read_mesh_features() {
        // Documented layout, doc/mgmt-protocol.rst: Index (2), Max Handles (1), Used Handles
        // (1), Handle[].
        golden::command(&[], ReadMeshFeatures {});
        golden::reply::<ReadMeshFeatures>(
            &hex("0000 03 01 02"),
            ReadMeshFeaturesReply {
                index: ControllerIndex(0),
                max_handles: 3,
                handles: List8(vec![2]),
            },
        );
    }

    #[test]
    fn mesh_send() {
        // Documented layout, doc/mgmt-protocol.rst: Addr (6), Addr Type (1), Instant (8),
        // Delay (2), Count (1), Data Length (1), Data.
        golden::command(
            &hex("000000000000 02 0000000000000000 0000 03 05 042a0102 03"),
            MeshSend {
                address: AddressInfo::new(Default::default(), AddressType::LE_RANDOM),
                instant: 0,
                delay: 0,
                count: 3,
                data: Bytes8(hex("042a010203")),
            },
        );
        golden::reply::<MeshSend>(&[0x01], MeshSendReply { handle: 1 });
    }

    #[test]
    fn mesh_send_truncated() {
        let e = decode_exact::<MeshSend>(
            "Transmit Mesh Packet",
            &hex("000000000000 02 0000000000000000 0000 03 05 042a"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Transmit Mesh Packet");
        assert_eq!(e.field(), "data");
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 5,
                actual: 2
            }
        );
    }

    #[test]
    fn mesh_send_cancel() {
        // Documented layout, doc/mgmt-protocol.rst: Handle (1); no return parameters.
        golden::command(&[0x00], MeshSendCancel { handle: 0 });
        golden::reply::<MeshSendCancel>(&[], ());
    }
}
