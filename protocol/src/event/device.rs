//! Events about the kernel's per-device lists: blocked and unblocked, unpaired, added to and
//! removed from the auto-connect list, and per-device flags.

use crate::address::AddressInfo;
use crate::command::AddDeviceAction;
use crate::device_flags::DeviceFlags;

crate::wire_struct! {
    /// Device Blocked (0x0014): a device was blocked with Block Device (sent to the other
    /// sockets).
    pub struct DeviceBlocked {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Device Unblocked (0x0015): a device was unblocked with Unblock Device (sent to the
    /// other sockets).
    pub struct DeviceUnblocked {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Device Unpaired (0x0016): all keys of a device were removed with Unpair Device (sent
    /// to the other sockets).
    pub struct DeviceUnpaired {
        /// The device (its identity, when it had one).
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Device Added (0x001A, since 1.7): a device was added with Add Device (sent to the
    /// other sockets).
    pub struct DeviceAdded {
        /// The device.
        pub address: AddressInfo,
        /// What the kernel will do about it.
        pub action: AddDeviceAction,
    }
}

crate::wire_struct! {
    /// Device Removed (0x001B, since 1.7): a device was removed with Remove Device (sent to
    /// the other sockets).
    pub struct DeviceRemoved {
        /// The device.
        pub address: AddressInfo,
    }
}

crate::wire_struct! {
    /// Device Flags Changed (0x002A, since 1.18): a device's flags changed with Set Device
    /// Flags, or a device was added with Add Device (then sent right after Device Added,
    /// to every socket).
    ///
    /// ```text
    /// Address (6) | Address_Type (1) | Supported_Flags (4) | Current_Flags (4)
    /// ```
    pub struct DeviceFlagsChanged {
        /// The device.
        pub address: AddressInfo,
        /// Flags the device can have.
        pub supported_flags: DeviceFlags,
        /// Flags it has now.
        pub current_flags: DeviceFlags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    fn peer() -> AddressInfo {
        AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR)
    }

    #[test]
    fn blocked_unblocked_unpaired_removed() {
        // Documented layout: Address and Address_Type only (00:BB:00:00:00:02, BR/EDR).
        let b = hex("02000000bb00 00");
        check(&b, &DeviceBlocked { address: peer() });
        check(&b, &DeviceUnblocked { address: peer() });
        check(&b, &DeviceUnpaired { address: peer() });
        check(&b, &DeviceRemoved { address: peer() });
    }

    #[test]
    fn device_added() {
        // Documented layout: LE random device, Action 0x02 (auto-connect).
        let ev = DeviceAdded {
            address: AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM),
            action: AddDeviceAction::AUTO_CONNECT,
        };
        check(&hex("02000000bbc0 02 02"), &ev);
        assert_eq!(ev.action.to_string(), "Auto-connect");
    }

    #[test]
    fn device_flags_changed() {
        // Documented layout: supported = remote wakeup | device privacy | address
        // resolution (0x07), current = remote wakeup (0x01).
        check(
            &hex("02000000bb00 00 07000000 01000000"),
            &DeviceFlagsChanged {
                address: peer(),
                supported_flags: DeviceFlags::REMOTE_WAKEUP
                    | DeviceFlags::DEVICE_PRIVACY
                    | DeviceFlags::ADDRESS_RESOLUTION,
                current_flags: DeviceFlags::REMOTE_WAKEUP,
            },
        );
    }
}
