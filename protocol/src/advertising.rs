//! Advertising instance flags (Add Advertising, Add Extended Advertising Parameters, Read
//! Advertising Features, Get Advertising Size Information).

bitflags::bitflags! {
    /// Flags of an advertising instance, and the flags a controller supports.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct AdvertisingFlags: u32 {
        /// Switch into connectable mode.
        const CONNECTABLE = 1 << 0;
        /// Advertise as discoverable.
        const DISCOVERABLE = 1 << 1;
        /// Advertise as limited discoverable.
        const LIMITED_DISCOVERABLE = 1 << 2;
        /// Add a Flags field to the advertising data.
        const MANAGED_FLAGS = 1 << 3;
        /// Add a TX Power field to the advertising data.
        const TX_POWER = 1 << 4;
        /// Add an Appearance field to the scan response.
        const APPEARANCE = 1 << 5;
        /// Add the local name to the scan response.
        const LOCAL_NAME = 1 << 6;
        /// Secondary channel on LE 1M.
        const SECONDARY_1M = 1 << 7;
        /// Secondary channel on LE 2M.
        const SECONDARY_2M = 1 << 8;
        /// Secondary channel on LE Coded.
        const SECONDARY_CODED = 1 << 9;
        /// TX power can be specified.
        const CAN_SET_TX_POWER = 1 << 10;
        /// Hardware advertising offload.
        const HW_OFFLOAD = 1 << 11;
        /// The Duration parameter is used.
        const PARAM_DURATION = 1 << 12;
        /// The Timeout parameter is used.
        const PARAM_TIMEOUT = 1 << 13;
        /// The interval parameters are used.
        const PARAM_INTERVALS = 1 << 14;
        /// The TX power parameter is used.
        const PARAM_TX_POWER = 1 << 15;
        /// The advertisement has a scan response.
        const PARAM_SCAN_RSP = 1 << 16;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(AdvertisingFlags, u32);
