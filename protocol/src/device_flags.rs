//! Per-device flags (Get/Set Device Flags, Device Flags Changed).

bitflags::bitflags! {
    /// Flags the kernel keeps per known device.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DeviceFlags: u32 {
        /// The device may wake the system.
        const REMOTE_WAKEUP = 1 << 0;
        /// Device privacy mode.
        const DEVICE_PRIVACY = 1 << 1;
        /// Address resolution.
        const ADDRESS_RESOLUTION = 1 << 2;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(DeviceFlags, u32);
