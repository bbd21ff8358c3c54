//! Commands that switch one controller setting, each answered with the new current settings
//! (doc/mgmt-protocol.rst: Set Powered ... Set Privacy, Set Wideband Speech).
//!
//! Toggles whose only valid values are 0x00 and 0x01 are `bool` (any other octet is a decode
//! error, as the kernel answers Invalid Parameters). Settings with more modes carry an open
//! enumeration, so a mode a newer kernel adds is a value, not an error.

use crate::address::Address;
use crate::keys::IdentityResolvingKey;

crate::wire_struct! {
    /// Set Powered (0x0005): power a controller on or off.
    pub struct SetPowered {
        /// Power on (true) or off.
        pub powered: bool,
    }
}

crate::open_enum! {
    /// The Discoverable parameter of Set Discoverable.
    pub struct Discoverable(u8) {
        /// Not discoverable.
        OFF = 0x00 => "Not Discoverable",
        /// General discoverable.
        GENERAL = 0x01 => "General Discoverable",
        /// Limited discoverable (since 1.4); needs a timeout.
        LIMITED = 0x02 => "Limited Discoverable",
    }
}

crate::wire_struct! {
    /// Set Discoverable (0x0006). Layout: `discoverable (1) | timeout (2)`.
    pub struct SetDiscoverable {
        /// The discoverable mode.
        pub discoverable: Discoverable,
        /// Seconds until discoverable switches off again; 0 for no timeout (must be 0 with
        /// [`Discoverable::OFF`], must be set with [`Discoverable::LIMITED`]).
        pub timeout: u16,
    }
}

crate::wire_struct! {
    /// Set Connectable (0x0007): page scan on BR/EDR, connectable advertising on LE.
    pub struct SetConnectable {
        /// Connectable (true) or not.
        pub connectable: bool,
    }
}

crate::wire_struct! {
    /// Set Fast Connectable (0x0008): page scan parameters that favour connect time over power.
    pub struct SetFastConnectable {
        /// Enable (true) or disable.
        pub enable: bool,
    }
}

crate::wire_struct! {
    /// Set Bondable (0x0009): whether pairing stores keys.
    pub struct SetBondable {
        /// Bondable (true) or not.
        pub bondable: bool,
    }
}

crate::wire_struct! {
    /// Set Link Security (0x000A): BR/EDR security mode 3.
    pub struct SetLinkSecurity {
        /// Enable (true) or disable.
        pub link_security: bool,
    }
}

crate::wire_struct! {
    /// Set Secure Simple Pairing (0x000B).
    pub struct SetSecureSimplePairing {
        /// Enable (true) or disable.
        pub secure_simple_pairing: bool,
    }
}

crate::wire_struct! {
    /// Set High Speed (0x000C): Bluetooth High Speed (AMP) support.
    pub struct SetHighSpeed {
        /// Enable (true) or disable.
        pub high_speed: bool,
    }
}

crate::wire_struct! {
    /// Set Low Energy (0x000D).
    pub struct SetLowEnergy {
        /// Enable (true) or disable.
        pub low_energy: bool,
    }
}

crate::open_enum! {
    /// The Advertising parameter of Set Advertising.
    pub struct AdvertisingMode(u8) {
        /// Advertising off.
        OFF = 0x00 => "Disabled",
        /// Advertising on; connectable only if the connectable setting is on.
        ON = 0x01 => "Enabled",
        /// Advertising on in connectable mode regardless of the connectable setting (since 1.9).
        CONNECTABLE = 0x02 => "Enabled Connectable",
    }
}

crate::wire_struct! {
    /// Set Advertising (0x0029, since 1.4).
    pub struct SetAdvertising {
        /// The advertising mode.
        pub advertising: AdvertisingMode,
    }
}

crate::wire_struct! {
    /// Set BR/EDR (0x002A, since 1.4): enable or disable BR/EDR on a dual-mode controller.
    pub struct SetBrEdr {
        /// Enable (true) or disable.
        pub br_edr: bool,
    }
}

crate::wire_struct! {
    /// Set Static Address (0x002B, since 1.4): the LE static random address;
    /// 00:00:00:00:00:00 disables it.
    pub struct SetStaticAddress {
        /// The static random address.
        pub address: Address,
    }
}

crate::open_enum! {
    /// The Secure_Connections parameter of Set Secure Connections.
    pub struct SecureConnectionsMode(u8) {
        /// Secure Connections off.
        OFF = 0x00 => "Disabled",
        /// Secure Connections on.
        ON = 0x01 => "Enabled",
        /// Secure Connections Only mode.
        ONLY = 0x02 => "Secure Connections Only",
    }
}

crate::wire_struct! {
    /// Set Secure Connections (0x002D, since 1.5).
    pub struct SetSecureConnections {
        /// The Secure Connections mode.
        pub secure_connections: SecureConnectionsMode,
    }
}

crate::open_enum! {
    /// The Debug_Keys parameter of Set Debug Keys.
    pub struct DebugKeysMode(u8) {
        /// Debug keys are discarded when the connection ends.
        DISCARD = 0x00 => "Discard keys on disconnect",
        /// Debug keys are kept until reboot (never persistent).
        KEEP = 0x01 => "Discard keys on reboot",
        /// Kept until reboot, and the controller generates debug keys (SSP debug mode, since 1.7).
        KEEP_AND_GENERATE = 0x02 => "Discard keys on reboot (SSP debug mode)",
    }
}

crate::wire_struct! {
    /// Set Debug Keys (0x002E, since 1.5).
    pub struct SetDebugKeys {
        /// What to do with debug keys.
        pub debug_keys: DebugKeysMode,
    }
}

crate::open_enum! {
    /// The Privacy parameter of Set Privacy.
    pub struct PrivacyMode(u8) {
        /// Privacy off.
        OFF = 0x00 => "Disabled",
        /// Always use a resolvable private address.
        ON = 0x01 => "Enabled",
        /// Limited privacy: the identity address is used when bondable and discoverable.
        LIMITED = 0x02 => "Limited",
    }
}

crate::wire_struct! {
    /// Set Privacy (0x002F, since 1.5). Layout: `privacy (1) | identity resolving key (16)`.
    pub struct SetPrivacy {
        /// The privacy mode.
        pub privacy: PrivacyMode,
        /// The local IRK for generating resolvable private addresses (redacted in `Debug`).
        pub irk: IdentityResolvingKey,
    }
}

crate::wire_struct! {
    /// Set Wideband Speech (0x0047, since 1.16).
    pub struct SetWidebandSpeech {
        /// Enable (true) or disable.
        pub wideband_speech: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden;
    use crate::settings::Settings;

    fn settings(bits: u32) -> Settings {
        Settings::from_bits_retain(bits)
    }

    #[test]
    fn set_powered() {
        // Frame from fixtures/projet_rp-ble_capture.btsnoop: power on, reply c1 0a 02 00
        // (powered, SSP, BR/EDR, LE, secure connections, wideband speech).
        golden::command(&[0x01], SetPowered { powered: true });
        golden::reply::<SetPowered>(&[0xc1, 0x0a, 0x02, 0x00], settings(0x0002_0ac1));
        // Frame from fixtures/le-sc-passkey.btsnoop: power off, reply 00 02 00 00 (LE only).
        golden::command(&[0x00], SetPowered { powered: false });
        golden::reply::<SetPowered>(&[0x00, 0x02, 0x00, 0x00], Settings::LE);
    }

    #[test]
    fn set_discoverable() {
        // Documented layout, doc/mgmt-protocol.rst: Discoverable (1), Timeout (2).
        golden::command(
            &[0x02, 0x3c, 0x00],
            SetDiscoverable {
                discoverable: Discoverable::LIMITED,
                timeout: 60,
            },
        );
        golden::reply::<SetDiscoverable>(&[0x1b, 0x02, 0x00, 0x00], settings(0x021b));
        // A mode this crate does not know is a value.
        let c: SetDiscoverable = crate::wire::decode_exact("Test", &[0x07, 0, 0]).unwrap();
        assert_eq!(c.discoverable.to_string(), "unknown 0x07");
    }

    #[test]
    fn set_connectable() {
        // Frame from fixtures/le-sc-passkey.btsnoop: connectable on, reply 12 0a 00 00.
        golden::command(&[0x01], SetConnectable { connectable: true });
        golden::reply::<SetConnectable>(&[0x12, 0x0a, 0x00, 0x00], settings(0x0a12));
    }

    #[test]
    fn set_fast_connectable() {
        // Documented layout, doc/mgmt-protocol.rst: Enable (1).
        golden::command(&[0x01], SetFastConnectable { enable: true });
        golden::reply::<SetFastConnectable>(&[0xc5, 0x00, 0x00, 0x00], settings(0xc5));
    }

    #[test]
    fn set_bondable() {
        // Frame from fixtures/le-sc-passkey.btsnoop: bondable on, reply 10 0a 00 00.
        golden::command(&[0x01], SetBondable { bondable: true });
        golden::reply::<SetBondable>(&[0x10, 0x0a, 0x00, 0x00], settings(0x0a10));
    }

    #[test]
    fn set_link_security() {
        // Documented layout, doc/mgmt-protocol.rst: Link_Security (1).
        golden::command(
            &[0x00],
            SetLinkSecurity {
                link_security: false,
            },
        );
        golden::reply::<SetLinkSecurity>(&[0xc1, 0x00, 0x00, 0x00], settings(0xc1));
    }

    #[test]
    fn set_secure_simple_pairing() {
        // Frame from fixtures/bredr-ssp-numeric-comparison.btsnoop: SSP on, reply c0 00 00 00.
        golden::command(
            &[0x01],
            SetSecureSimplePairing {
                secure_simple_pairing: true,
            },
        );
        golden::reply::<SetSecureSimplePairing>(
            &[0xc0, 0x00, 0x00, 0x00],
            Settings::SSP | Settings::BREDR,
        );
    }

    #[test]
    fn set_high_speed() {
        // Documented layout, doc/mgmt-protocol.rst: High_Speed (1).
        golden::command(&[0x01], SetHighSpeed { high_speed: true });
        golden::reply::<SetHighSpeed>(&[0xc0, 0x01, 0x00, 0x00], settings(0x01c0));
    }

    #[test]
    fn set_low_energy() {
        // Frame from fixtures/bredr-ssp-numeric-comparison.btsnoop: LE on, reply c0 02 00 00.
        golden::command(&[0x01], SetLowEnergy { low_energy: true });
        golden::reply::<SetLowEnergy>(&[0xc0, 0x02, 0x00, 0x00], settings(0x02c0));
    }

    #[test]
    fn set_advertising() {
        // Frame from fixtures/btvirt-kernel-kernel-le-sc-passkey.btsnoop (hci1): advertising
        // on, reply d3 0e 0c 00.
        golden::command(
            &[0x01],
            SetAdvertising {
                advertising: AdvertisingMode::ON,
            },
        );
        golden::reply::<SetAdvertising>(&[0xd3, 0x0e, 0x0c, 0x00], settings(0x000c_0ed3));
        // Documented layout: 0x02 is connectable advertising.
        golden::command(
            &[0x02],
            SetAdvertising {
                advertising: AdvertisingMode::CONNECTABLE,
            },
        );
    }

    #[test]
    fn set_br_edr() {
        // Documented layout, doc/mgmt-protocol.rst: BR/EDR (1).
        golden::command(&[0x00], SetBrEdr { br_edr: false });
        golden::reply::<SetBrEdr>(&[0x00, 0x02, 0x00, 0x00], Settings::LE);
    }

    #[test]
    fn set_static_address() {
        // Documented layout, doc/mgmt-protocol.rst: Address (6), least significant octet first.
        golden::command(
            &[0x66, 0x55, 0x44, 0x33, 0x22, 0xc1],
            SetStaticAddress {
                address: "C1:22:33:44:55:66".parse().unwrap(),
            },
        );
        golden::reply::<SetStaticAddress>(&[0x00, 0x82, 0x00, 0x00], settings(0x8200));
    }

    #[test]
    fn set_secure_connections() {
        // Frame from fixtures/le-sc-passkey.btsnoop: SC on, reply 00 0a 00 00 (LE, SC).
        golden::command(
            &[0x01],
            SetSecureConnections {
                secure_connections: SecureConnectionsMode::ON,
            },
        );
        golden::reply::<SetSecureConnections>(
            &[0x00, 0x0a, 0x00, 0x00],
            Settings::LE | Settings::SECURE_CONN,
        );
        // Documented layout: 0x02 is Secure Connections Only.
        golden::command(
            &[0x02],
            SetSecureConnections {
                secure_connections: SecureConnectionsMode::ONLY,
            },
        );
    }

    #[test]
    fn set_debug_keys() {
        // Documented layout, doc/mgmt-protocol.rst: Debug_Keys (1).
        golden::command(
            &[0x02],
            SetDebugKeys {
                debug_keys: DebugKeysMode::KEEP_AND_GENERATE,
            },
        );
        golden::reply::<SetDebugKeys>(&[0x00, 0x12, 0x00, 0x00], settings(0x1200));
    }

    #[test]
    fn set_privacy() {
        // Documented layout, doc/mgmt-protocol.rst: Privacy (1), Identity_Resolving_Key (16).
        let mut b = vec![0x02];
        b.extend(1..=16u8);
        let mut irk = [0u8; 16];
        irk.iter_mut().zip(1u8..).for_each(|(k, v)| *k = v);
        golden::command(
            &b,
            SetPrivacy {
                privacy: PrivacyMode::LIMITED,
                irk: IdentityResolvingKey::new(irk),
            },
        );
        golden::reply::<SetPrivacy>(&[0x00, 0x22, 0x00, 0x00], settings(0x2200));
        let c: SetPrivacy = crate::wire::decode_exact("Test", &b).unwrap();
        assert!(!format!("{c:?}").contains("16"), "the IRK must not print");
    }

    #[test]
    fn set_wideband_speech() {
        // Documented layout, doc/mgmt-protocol.rst: Wideband_Speech (1).
        golden::command(
            &[0x01],
            SetWidebandSpeech {
                wideband_speech: true,
            },
        );
        golden::reply::<SetWidebandSpeech>(&[0xc1, 0x00, 0x02, 0x00], settings(0x0002_00c1));
    }

    #[test]
    fn toggle_rejects_other_octets() {
        let e = crate::wire::decode_exact::<SetBondable>("Set Bondable", &[0x02]).unwrap_err();
        assert_eq!(e.field(), "bondable");
        assert_eq!(e.problem(), crate::Problem::InvalidValue { value: 2 });
    }
}
