//! Controller configuration: external configuration and the public address of unconfigured
//! controllers, the PHY selection, and the default system and runtime parameters (lists of
//! type-length-value entries).

use crate::address::Address;
use crate::config_options::ConfigOptions;
use crate::phy::Phys;
use crate::tlv::Tlv;
use crate::wire::Rest;

crate::wire_struct! {
    /// Read Controller Configuration Information (0x0037, since 1.7): no parameters.
    pub struct ReadConfigInfo {}
}

crate::wire_struct! {
    /// Reply to Read Controller Configuration Information. Layout: `manufacturer (2) |
    /// supported_options (4) | missing_options (4)`.
    pub struct ReadConfigInfoReply {
        /// Manufacturer (company identifier).
        pub manufacturer: u16,
        /// Options the controller can be configured with.
        pub supported_options: ConfigOptions,
        /// Options still missing before it counts as configured.
        pub missing_options: ConfigOptions,
    }
}

crate::wire_struct! {
    /// Set External Configuration (0x0038, since 1.7). Answered with the missing options.
    pub struct SetExternalConfig {
        /// True marks the controller configured, false unconfigured.
        pub configured: bool,
    }
}

crate::wire_struct! {
    /// Set Public Address (0x0039, since 1.7). Answered with the missing options.
    pub struct SetPublicAddress {
        /// The public address to program.
        pub address: Address,
    }
}

crate::wire_struct! {
    /// Get PHY Configuration (0x0044, since 1.15): no parameters.
    pub struct GetPhyConfiguration {}
}

crate::wire_struct! {
    /// Reply to Get PHY Configuration. Layout: `supported (4) | configurable (4) |
    /// selected (4)`.
    pub struct GetPhyConfigurationReply {
        /// PHYs the controller supports.
        pub supported_phys: Phys,
        /// PHYs that can be selected or deselected.
        pub configurable_phys: Phys,
        /// PHYs selected now.
        pub selected_phys: Phys,
    }
}

crate::wire_struct! {
    /// Set PHY Configuration (0x0045, since 1.15).
    pub struct SetPhyConfiguration {
        /// The PHYs to use for scanning and connection initiation.
        pub selected_phys: Phys,
    }
}

crate::open_enum! {
    /// The parameter types of Read/Set Default System Configuration.
    pub struct SystemConfigParameter(u16) {
        /// BR/EDR page scan type.
        BREDR_PAGE_SCAN_TYPE = 0x0000 => "BR/EDR Page Scan Type",
        /// BR/EDR page scan interval.
        BREDR_PAGE_SCAN_INTERVAL = 0x0001 => "BR/EDR Page Scan Interval",
        /// BR/EDR page scan window.
        BREDR_PAGE_SCAN_WINDOW = 0x0002 => "BR/EDR Page Scan Window",
        /// BR/EDR inquiry scan type.
        BREDR_INQUIRY_SCAN_TYPE = 0x0003 => "BR/EDR Inquiry Scan Type",
        /// BR/EDR inquiry scan interval.
        BREDR_INQUIRY_SCAN_INTERVAL = 0x0004 => "BR/EDR Inquiry Scan Interval",
        /// BR/EDR inquiry scan window.
        BREDR_INQUIRY_SCAN_WINDOW = 0x0005 => "BR/EDR Inquiry Scan Window",
        /// BR/EDR link supervision timeout.
        BREDR_LINK_SUPERVISION_TIMEOUT = 0x0006 => "BR/EDR Link Supervision Timeout",
        /// BR/EDR page timeout.
        BREDR_PAGE_TIMEOUT = 0x0007 => "BR/EDR Page Timeout",
        /// BR/EDR minimum sniff interval.
        BREDR_MIN_SNIFF_INTERVAL = 0x0008 => "BR/EDR Min Sniff Interval",
        /// BR/EDR maximum sniff interval.
        BREDR_MAX_SNIFF_INTERVAL = 0x0009 => "BR/EDR Max Sniff Interval",
        /// LE advertisement minimum interval.
        LE_ADV_MIN_INTERVAL = 0x000a => "LE Advertisement Min Interval",
        /// LE advertisement maximum interval.
        LE_ADV_MAX_INTERVAL = 0x000b => "LE Advertisement Max Interval",
        /// LE multi-advertisement rotation interval.
        LE_MULTI_ADV_ROTATION_INTERVAL = 0x000c => "LE Multi Advertisement Rotation Interval",
        /// LE scanning interval for auto connect.
        LE_SCAN_INTERVAL_AUTOCONNECT = 0x000d => "LE Scanning Interval for auto connect",
        /// LE scanning window for auto connect.
        LE_SCAN_WINDOW_AUTOCONNECT = 0x000e => "LE Scanning Window for auto connect",
        /// LE scanning interval for wake scenarios.
        LE_SCAN_INTERVAL_SUSPEND = 0x000f => "LE Scanning Interval for wake scenarios",
        /// LE scanning window for wake scenarios.
        LE_SCAN_WINDOW_SUSPEND = 0x0010 => "LE Scanning Window for wake scenarios",
        /// LE scanning interval for discovery.
        LE_SCAN_INTERVAL_DISCOVERY = 0x0011 => "LE Scanning Interval for discovery",
        /// LE scanning window for discovery.
        LE_SCAN_WINDOW_DISCOVERY = 0x0012 => "LE Scanning Window for discovery",
        /// LE scanning interval for advertisement monitoring.
        LE_SCAN_INTERVAL_ADV_MONITOR = 0x0013 => "LE Scanning Interval for adv monitoring",
        /// LE scanning window for advertisement monitoring.
        LE_SCAN_WINDOW_ADV_MONITOR = 0x0014 => "LE Scanning Window for adv monitoring",
        /// LE scanning interval for connect.
        LE_SCAN_INTERVAL_CONNECT = 0x0015 => "LE Scanning Interval for connect",
        /// LE scanning window for connect.
        LE_SCAN_WINDOW_CONNECT = 0x0016 => "LE Scanning Window for connect",
        /// LE minimum connection interval.
        LE_MIN_CONNECTION_INTERVAL = 0x0017 => "LE Min Connection Interval",
        /// LE maximum connection interval.
        LE_MAX_CONNECTION_INTERVAL = 0x0018 => "LE Max Connection Interval",
        /// LE connection latency.
        LE_CONNECTION_LATENCY = 0x0019 => "LE Connection Latency",
        /// LE connection supervision timeout.
        LE_CONNECTION_SUPERVISION_TIMEOUT = 0x001a => "LE Connection Supervision Timeout",
        /// LE autoconnect timeout.
        LE_AUTOCONNECT_TIMEOUT = 0x001b => "LE Autoconnect Timeout",
        /// LE allow-list scanning duration for advertisement monitoring.
        LE_ALLOW_LIST_SCAN_DURATION = 0x001d => "LE Allow List Scanning Duration for adv monitoring",
        /// LE no-filter scanning duration for advertisement monitoring.
        LE_NO_FILTER_SCAN_DURATION = 0x001e => "LE No Filter Scanning Duration for adv monitoring",
        /// Whether interleaved scanning is enabled for advertisement monitoring.
        LE_INTERLEAVE_SCAN = 0x001f => "LE Enable Interleave Scan for adv monitoring",
        /// BR/EDR connection idle timeout.
        BREDR_IDLE_TIMEOUT = 0x0020 => "BR/EDR Connection Idle Timeout",
    }
}

impl Tlv {
    /// The type read as a system configuration parameter.
    pub fn system_parameter(&self) -> SystemConfigParameter {
        SystemConfigParameter(self.parameter_type)
    }
}

crate::wire_struct! {
    /// A list of configuration parameters running to the end of the message: the reply to
    /// Read Default System/Runtime Configuration.
    pub struct ConfigParameters {
        /// The parameters with their current values.
        pub parameters: Rest<Tlv>,
    }
}

crate::wire_struct! {
    /// Read Default System Configuration (0x004B, since 1.18): no parameters.
    pub struct ReadDefaultSystemConfig {}
}

crate::wire_struct! {
    /// Set Default System Configuration (0x004C, since 1.18). Layout: TLV entries to the end
    /// of the message; invalid or unsupported entries make the kernel discard them all.
    pub struct SetDefaultSystemConfig {
        /// The parameters to change.
        pub parameters: Rest<Tlv>,
    }
}

crate::wire_struct! {
    /// Read Default Runtime Configuration (0x004D, since 1.18): no parameters.
    pub struct ReadDefaultRuntimeConfig {}
}

crate::wire_struct! {
    /// Set Default Runtime Configuration (0x004E, since 1.18). Layout: TLV entries to the end
    /// of the message.
    pub struct SetDefaultRuntimeConfig {
        /// The parameters to change.
        pub parameters: Rest<Tlv>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};
    use crate::wire::{decode_exact, Bytes8};
    use crate::Problem;

    #[test]
    fn read_config_info() {
        // Documented layout, doc/mgmt-protocol.rst: Manufacturer (2), Supported_Options (4),
        // Missing_Options (4).
        golden::command(&[], ReadConfigInfo {});
        golden::reply::<ReadConfigInfo>(
            &hex("0f00 03000000 02000000"),
            ReadConfigInfoReply {
                manufacturer: 15,
                supported_options: ConfigOptions::EXTERNAL_CONFIG | ConfigOptions::PUBLIC_ADDRESS,
                missing_options: ConfigOptions::PUBLIC_ADDRESS,
            },
        );
    }

    #[test]
    fn set_external_config() {
        // Documented layout, doc/mgmt-protocol.rst: Configuration (1); reply Missing_Options.
        golden::command(&[0x01], SetExternalConfig { configured: true });
        golden::reply::<SetExternalConfig>(&hex("00000000"), ConfigOptions::empty());
    }

    #[test]
    fn set_public_address() {
        // Documented layout, doc/mgmt-protocol.rst: Address (6); reply Missing_Options.
        golden::command(
            &hex("665544332211"),
            SetPublicAddress {
                address: "11:22:33:44:55:66".parse().unwrap(),
            },
        );
        golden::reply::<SetPublicAddress>(&hex("01000000"), ConfigOptions::EXTERNAL_CONFIG);
    }

    #[test]
    fn get_phy_configuration() {
        // Documented layout, doc/mgmt-protocol.rst: Supported_PHYs, Configurable_PHYs,
        // Selected_PHYs (4 each).
        golden::command(&[], GetPhyConfiguration {});
        golden::reply::<GetPhyConfiguration>(
            &hex("ff7f0000 fe7f0000 ff060000"),
            GetPhyConfigurationReply {
                supported_phys: Phys::from_bits_retain(0x7fff),
                configurable_phys: Phys::from_bits_retain(0x7ffe),
                selected_phys: Phys::from_bits_retain(0x06ff),
            },
        );
    }

    #[test]
    fn set_phy_configuration() {
        // Documented layout, doc/mgmt-protocol.rst: Selected_PHYs (4): BR 1M 1-slot, LE 1M
        // and LE 2M both ways.
        golden::command(
            &hex("011e0000"),
            SetPhyConfiguration {
                selected_phys: Phys::BR_1M_1SLOT
                    | Phys::LE_1M_TX
                    | Phys::LE_1M_RX
                    | Phys::LE_2M_TX
                    | Phys::LE_2M_RX,
            },
        );
        golden::reply::<SetPhyConfiguration>(&[], ());
    }

    #[test]
    fn read_default_system_config() {
        // Documented layout, doc/mgmt-protocol.rst: Parameter_Type (2), Value_Length (1),
        // Value, repeated: page scan type 0, LE min connection interval 0x18, interleave
        // scan 1 (one octet).
        golden::command(&[], ReadDefaultSystemConfig {});
        let reply = ConfigParameters {
            parameters: Rest(vec![
                Tlv::from_u16(SystemConfigParameter::BREDR_PAGE_SCAN_TYPE.0, 0),
                Tlv::from_u16(SystemConfigParameter::LE_MIN_CONNECTION_INTERVAL.0, 0x18),
                Tlv {
                    parameter_type: 0x001f,
                    value: Bytes8(vec![1]),
                },
            ]),
        };
        golden::reply::<ReadDefaultSystemConfig>(
            &hex("0000 02 0000 1700 02 1800 1f00 01 01"),
            reply.clone(),
        );
        assert_eq!(reply.parameters.0[1].as_u16(), Some(0x18));
        assert_eq!(reply.parameters.0[2].as_u16(), None);
        assert_eq!(
            reply.parameters.0[2].system_parameter().to_string(),
            "LE Enable Interleave Scan for adv monitoring"
        );
    }

    #[test]
    fn set_default_system_config() {
        // Documented layout, doc/mgmt-protocol.rst: TLV entries; LE scan interval and window
        // for discovery.
        golden::command(
            &hex("1100 02 1200 1200 02 1200"),
            SetDefaultSystemConfig {
                parameters: Rest(vec![
                    Tlv::from_u16(SystemConfigParameter::LE_SCAN_INTERVAL_DISCOVERY.0, 0x12),
                    Tlv::from_u16(SystemConfigParameter::LE_SCAN_WINDOW_DISCOVERY.0, 0x12),
                ]),
            },
        );
        golden::reply::<SetDefaultSystemConfig>(&[], ());
    }

    #[test]
    fn tlv_truncated() {
        // The second entry promises two value octets and has one.
        let e = decode_exact::<SetDefaultSystemConfig>(
            "Set Default System Configuration",
            &hex("1100 02 1200 1200 02 12"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Set Default System Configuration");
        assert_eq!(e.field(), "value");
        assert_eq!(e.offset(), 8);
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 2,
                actual: 1
            }
        );
    }

    #[test]
    fn read_default_runtime_config() {
        // Documented layout, doc/mgmt-protocol.rst: no runtime parameters are defined, so the
        // kernel returns an empty list.
        golden::command(&[], ReadDefaultRuntimeConfig {});
        golden::reply::<ReadDefaultRuntimeConfig>(
            &[],
            ConfigParameters {
                parameters: Rest(vec![]),
            },
        );
    }

    #[test]
    fn set_default_runtime_config() {
        // Documented layout, doc/mgmt-protocol.rst: TLV entries (type 0x0000, one octet).
        golden::command(
            &hex("0000 01 01"),
            SetDefaultRuntimeConfig {
                parameters: Rest(vec![Tlv {
                    parameter_type: 0,
                    value: Bytes8(vec![1]),
                }]),
            },
        );
        golden::reply::<SetDefaultRuntimeConfig>(&[], ());
    }
}
