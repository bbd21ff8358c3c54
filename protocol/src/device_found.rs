//! Flags on discovered and connected devices (Device Found, Device Connected, Advertisement
//! Monitor Device Found, Mesh Device Found).

bitflags::bitflags! {
    /// What the kernel says about a found or connected device.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DeviceFoundFlags: u32 {
        /// The kernel wants Confirm Name.
        const CONFIRM_NAME = 1 << 0;
        /// The device uses legacy pairing.
        const LEGACY_PAIRING = 1 << 1;
        /// Not connectable.
        const NOT_CONNECTABLE = 1 << 2;
        /// We initiated the connection (Device Connected).
        const INITIATED_CONNECTION = 1 << 3;
        /// The name request failed.
        const NAME_REQUEST_FAILED = 1 << 4;
        /// The data came from a scan response.
        const SCAN_RESPONSE = 1 << 5;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(DeviceFoundFlags, u32);
