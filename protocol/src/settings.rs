//! The controller settings bitmask (Supported_Settings, Current_Settings, New Settings).

bitflags::bitflags! {
    /// Controller settings (doc/mgmt-protocol.rst, Read Controller Information). Bits a newer
    /// kernel defines are kept, not dropped.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Settings: u32 {
        /// Powered on.
        const POWERED = 1 << 0;
        /// Connectable (page scan / connectable advertising).
        const CONNECTABLE = 1 << 1;
        /// Fast connectable.
        const FAST_CONNECTABLE = 1 << 2;
        /// Discoverable.
        const DISCOVERABLE = 1 << 3;
        /// Bondable: pairing stores keys.
        const BONDABLE = 1 << 4;
        /// Link level security (security mode 3).
        const LINK_SECURITY = 1 << 5;
        /// Secure Simple Pairing.
        const SSP = 1 << 6;
        /// BR/EDR enabled.
        const BREDR = 1 << 7;
        /// High Speed (AMP).
        const HS = 1 << 8;
        /// Low Energy enabled.
        const LE = 1 << 9;
        /// Advertising.
        const ADVERTISING = 1 << 10;
        /// Secure Connections.
        const SECURE_CONN = 1 << 11;
        /// Debug keys in use.
        const DEBUG_KEYS = 1 << 12;
        /// LE privacy.
        const PRIVACY = 1 << 13;
        /// Controller configuration needed.
        const CONFIGURATION = 1 << 14;
        /// Static address in use.
        const STATIC_ADDRESS = 1 << 15;
        /// PHY configuration.
        const PHY_CONFIGURATION = 1 << 16;
        /// Wideband speech.
        const WIDEBAND_SPEECH = 1 << 17;
        /// Connected isochronous streams, central.
        const CIS_CENTRAL = 1 << 18;
        /// Connected isochronous streams, peripheral.
        const CIS_PERIPHERAL = 1 << 19;
        /// Isochronous broadcaster.
        const ISO_BROADCASTER = 1 << 20;
        /// Synchronized receiver.
        const ISO_SYNC_RECEIVER = 1 << 21;
        /// LL privacy.
        const LL_PRIVACY = 1 << 22;
        /// PAST sender.
        const PAST_SENDER = 1 << 23;
        /// PAST receiver.
        const PAST_RECEIVER = 1 << 24;
        /// Shorter connection interval.
        const SHORTER_CONNECTION_INTERVAL = 1 << 25;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(Settings, u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_bits_are_kept_and_named() {
        let s = Settings::from_bits_retain(0x8000_0001);
        assert_eq!(s.names(), vec!["powered".to_string(), "bit-31".to_string()]);
        assert_eq!(crate::wire::encode_to_vec(&s), vec![1, 0, 0, 0x80]);
        assert_eq!(
            Settings::from_flag_name("secure-conn"),
            Some(Settings::SECURE_CONN)
        );
        assert_eq!(Settings::from_flag_name("nope"), None);
    }
}
