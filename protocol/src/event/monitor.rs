//! Events of advertisement monitors: monitors added and removed by another socket, and
//! devices a monitor started or stopped tracking.

use crate::address::AddressInfo;
use crate::device_found::DeviceFoundFlags;
use crate::wire::Bytes16;

crate::wire_struct! {
    /// Advertisement Monitor Added (0x002B, since 1.18): a monitor was added with Add
    /// Advertisement Patterns Monitor (sent to the other sockets).
    pub struct AdvertisementMonitorAdded {
        /// The new monitor's handle.
        pub monitor_handle: u16,
    }
}

crate::wire_struct! {
    /// Advertisement Monitor Removed (0x002C, since 1.18): a monitor was removed with
    /// Remove Advertisement Monitor (sent to the other sockets).
    pub struct AdvertisementMonitorRemoved {
        /// The removed monitor's handle.
        pub monitor_handle: u16,
    }
}

crate::wire_struct! {
    /// Advertisement Monitor Device Found (0x002F, since 1.18): a monitor started tracking a
    /// device.
    ///
    /// ```text
    /// Monitor_Handle (2) | Address (6) | Address_Type (1) | RSSI (1) | Flags (4)
    ///   | AD_Data_Length (2) | AD_Data (...)
    /// ```
    pub struct AdvertisementMonitorDeviceFound {
        /// The monitor; 0 when this is a further report for an already matched monitor or
        /// the kernel filters in software and reports every advertisement.
        pub monitor_handle: u16,
        /// The device.
        pub address: AddressInfo,
        /// Signal strength in dBm; 127 means not available.
        pub rssi: i8,
        /// The same flags as Device Found.
        pub flags: DeviceFoundFlags,
        /// The advertising data.
        pub ad_data: Bytes16,
    }
}

crate::wire_struct! {
    /// Advertisement Monitor Device Lost (0x0030, since 1.18): a monitor stopped tracking
    /// a device.
    pub struct AdvertisementMonitorDeviceLost {
        /// The monitor.
        pub monitor_handle: u16,
        /// The device.
        pub address: AddressInfo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressType;
    use crate::event::golden::{check, hex};

    fn peer() -> AddressInfo {
        AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM)
    }

    #[test]
    fn monitor_added_and_removed() {
        // Documented layout: Monitor_Handle 0x0001.
        check(
            &[0x01, 0x00],
            &AdvertisementMonitorAdded { monitor_handle: 1 },
        );
        check(
            &[0x01, 0x00],
            &AdvertisementMonitorRemoved { monitor_handle: 1 },
        );
    }

    #[test]
    fn monitor_device_found() {
        // Documented layout: monitor 1, LE random device at -60 dBm, no flags, AD data with a
        // Flags structure (02 01 06).
        check(
            &hex("0100 02000000bbc0 02 c4 00000000 0300 020106"),
            &AdvertisementMonitorDeviceFound {
                monitor_handle: 1,
                address: peer(),
                rssi: -60,
                flags: DeviceFoundFlags::empty(),
                ad_data: Bytes16(hex("020106")),
            },
        );
    }

    #[test]
    fn monitor_device_lost() {
        // Documented layout: monitor 1, the same device.
        check(
            &hex("0100 02000000bbc0 02"),
            &AdvertisementMonitorDeviceLost {
                monitor_handle: 1,
                address: peer(),
            },
        );
    }
}
