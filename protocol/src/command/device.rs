//! Commands about known remote devices: blocking, the kernel's action list (Add/Remove
//! Device) and per-device flags.

use crate::address::AddressInfo;
use crate::device_flags::DeviceFlags;

crate::wire_struct! {
    /// Block Device (0x0026): refuse connections from (and reports of) a device.
    pub struct BlockDevice {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Unblock Device (0x0027); address 00:00:00:00:00:00 unblocks all.
    pub struct UnblockDevice {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::open_enum! {
    /// What the kernel does with a device on its action list (Add Device, Device Added).
    pub struct AddDeviceAction(u8) {
        /// Scan in the background and report the device when found (LE only).
        BACKGROUND_SCAN = 0x00 => "Background scan",
        /// Allow incoming connections (BR/EDR) or directed advertising (LE).
        ALLOW_INCOMING = 0x01 => "Allow incoming connection",
        /// Connect whenever the device is found (LE only).
        AUTO_CONNECT = 0x02 => "Auto-connect",
    }
}

crate::wire_struct! {
    /// Add Device (0x0033, since 1.7). Layout: `address (7) | action (1)`.
    pub struct AddDevice {
        /// The device.
        pub address: AddressInfo,
        /// What to do with it.
        pub action: AddDeviceAction,
    }
}

crate::wire_struct! {
    /// Remove Device (0x0034, since 1.7); address 00:00:00:00:00:00 removes all.
    pub struct RemoveDevice {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Get Device Flags (0x004F, since 1.18).
    pub struct GetDeviceFlags {
        /// The device (added with Add Device).
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Reply to Get Device Flags. Layout: `address (7) | supported (4) | current (4)`.
    pub struct GetDeviceFlagsReply {
        /// The device.
        pub address: AddressInfo,
        /// Flags this device can have.
        pub supported_flags: DeviceFlags,
        /// Flags it has.
        pub current_flags: DeviceFlags,
    }
}

crate::wire_struct! {
    /// Set Device Flags (0x0050, since 1.18). Layout: `address (7) | current (4)`.
    pub struct SetDeviceFlags {
        /// The device.
        pub address: AddressInfo,
        /// The flags it should have (all must be supported).
        pub current_flags: DeviceFlags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::command::golden::{self, hex};

    fn peer() -> AddressInfo {
        AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM)
    }

    #[test]
    fn block_device() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, BlockDevice { address: peer() });
        golden::reply::<BlockDevice>(&b, peer());
    }

    #[test]
    fn unblock_device() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, UnblockDevice { address: peer() });
        golden::reply::<UnblockDevice>(&b, peer());
    }

    #[test]
    fn add_device() {
        // Documented layout, doc/mgmt-protocol.rst: address, Action (1).
        golden::command(
            &hex("02000000bbc0 02 02"),
            AddDevice {
                address: peer(),
                action: AddDeviceAction::AUTO_CONNECT,
            },
        );
        golden::reply::<AddDevice>(&hex("02000000bbc0 02"), peer());
        // An action this crate does not know is kept.
        let c: AddDevice = crate::wire::decode_exact("Test", &hex("02000000bbc0 02 09")).unwrap();
        assert_eq!(c.action, AddDeviceAction(9));
    }

    #[test]
    fn remove_device() {
        // Documented layout, doc/mgmt-protocol.rst: address, both ways.
        let b = hex("02000000bbc0 02");
        golden::command(&b, RemoveDevice { address: peer() });
        golden::reply::<RemoveDevice>(&b, peer());
    }

    #[test]
    fn get_device_flags() {
        // Documented layout, doc/mgmt-protocol.rst: address; reply address, Supported_Flags
        // (4), Current_Flags (4).
        golden::command(&hex("02000000bbc0 02"), GetDeviceFlags { address: peer() });
        golden::reply::<GetDeviceFlags>(
            &hex("02000000bbc0 02 07000000 01000000"),
            GetDeviceFlagsReply {
                address: peer(),
                supported_flags: DeviceFlags::REMOTE_WAKEUP
                    | DeviceFlags::DEVICE_PRIVACY
                    | DeviceFlags::ADDRESS_RESOLUTION,
                current_flags: DeviceFlags::REMOTE_WAKEUP,
            },
        );
    }

    #[test]
    fn set_device_flags() {
        // Documented layout, doc/mgmt-protocol.rst: address, Current_Flags (4).
        golden::command(
            &hex("02000000bbc0 02 02000000"),
            SetDeviceFlags {
                address: peer(),
                current_flags: DeviceFlags::DEVICE_PRIVACY,
            },
        );
        golden::reply::<SetDeviceFlags>(&hex("02000000bbc0 02"), peer());
    }
}
