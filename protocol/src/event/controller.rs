//! Events about a controller as a whole: errors, appearing and disappearing (plain,
//! unconfigured and extended), settings, names, class, PHYs and configuration options.

use crate::class_of_device::ClassOfDevice;
use crate::config_options::ConfigOptions;
use crate::controller_type::{Bus, ControllerType};
use crate::name::{LocalName, ShortName};
use crate::phy::Phys;
use crate::settings::Settings;
use crate::wire::Bytes16;

crate::wire_struct! {
    /// Controller Error (0x0003): the HCI Hardware Error code.
    pub struct ControllerError {
        /// Error code from the controller.
        pub error_code: u8,
    }
}

crate::wire_struct! {
    /// Index Added (0x0004): a controller appeared (the frame's index); no parameters.
    pub struct IndexAdded {}
}

crate::wire_struct! {
    /// Index Removed (0x0005): a controller went away (the frame's index); no parameters.
    pub struct IndexRemoved {}
}

crate::wire_struct! {
    /// New Settings (0x0006): the controller's current settings changed.
    pub struct NewSettings {
        /// The new current settings.
        pub current_settings: Settings,
    }
}

crate::wire_struct! {
    /// Class Of Device Changed (0x0007): the controller's Class of Device changed (it reads
    /// as zero while the controller is powered off).
    pub struct ClassOfDeviceChanged {
        /// The new Class of Device.
        pub class_of_device: ClassOfDevice,
    }
}

crate::wire_struct! {
    /// Local Name Changed (0x0008): the controller's names changed.
    ///
    /// ```text
    /// Name (249 octets, nul-padded) | Short_Name (11 octets, nul-padded)
    /// ```
    pub struct LocalNameChanged {
        /// The complete local name.
        pub name: LocalName,
        /// The short local name.
        pub short_name: ShortName,
    }
}

crate::wire_struct! {
    /// Unconfigured Index Added (0x001D): a controller that needs configuration appeared
    /// (the frame's index); no parameters.
    pub struct UnconfiguredIndexAdded {}
}

crate::wire_struct! {
    /// Unconfigured Index Removed (0x001E): an unconfigured controller went away; no
    /// parameters.
    pub struct UnconfiguredIndexRemoved {}
}

crate::wire_struct! {
    /// New Configuration Options (0x001F): the options the controller still misses changed.
    pub struct NewConfigurationOptions {
        /// Configuration options still missing.
        pub missing_options: ConfigOptions,
    }
}

crate::wire_struct! {
    /// Extended Index Added (0x0020): a controller appeared; sent instead of Index Added and
    /// Unconfigured Index Added once Read Extended Controller Index List has been used.
    pub struct ExtendedIndexAdded {
        /// What kind of controller.
        pub controller_type: ControllerType,
        /// How it is attached.
        pub bus: Bus,
    }
}

crate::wire_struct! {
    /// Extended Index Removed (0x0021): a controller went away; sent instead of Index
    /// Removed and Unconfigured Index Removed once Read Extended Controller Index List has
    /// been used.
    pub struct ExtendedIndexRemoved {
        /// What kind of controller it was.
        pub controller_type: ControllerType,
        /// How it was attached.
        pub bus: Bus,
    }
}

crate::wire_struct! {
    /// Extended Controller Information Changed (0x0025): new values for the EIR-encoded
    /// controller information (name, class of device, appearance, ...), for sockets that
    /// used Read Extended Controller Information.
    ///
    /// ```text
    /// EIR_Data_Length (2 octets) | EIR_Data (EIR_Data_Length octets)
    /// ```
    pub struct ExtendedControllerInfoChanged {
        /// The changed information as EIR structures.
        pub eir: Bytes16,
    }
}

crate::wire_struct! {
    /// PHY Configuration Changed (0x0026): the default PHYs changed.
    pub struct PhyConfigurationChanged {
        /// The PHYs now selected.
        pub selected_phys: Phys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::golden::{check, hex};

    #[test]
    fn controller_error() {
        // Documented layout, doc/mgmt-protocol.rst "Controller Error": Error_Code 0x01.
        check(&[0x01], &ControllerError { error_code: 1 });
    }

    #[test]
    fn index_added_and_removed_are_empty() {
        // Documented layout: no parameters.
        check(&[], &IndexAdded {});
        check(&[], &IndexRemoved {});
        check(&[], &UnconfiguredIndexAdded {});
        check(&[], &UnconfiguredIndexRemoved {});
        assert!(crate::Event::decode(crate::EventCode::INDEX_ADDED, &[0]).is_err());
    }

    #[test]
    fn new_settings() {
        // Documented layout: Current_Settings 0x00000ad3 (powered, connectable, bondable,
        // SSP, BR/EDR, LE, secure connections).
        let ev = NewSettings {
            current_settings: Settings::from_bits_retain(0x0ad3),
        };
        check(&hex("d30a0000"), &ev);
        assert!(ev
            .current_settings
            .contains(Settings::POWERED | Settings::LE));
    }

    #[test]
    fn class_of_device_changed() {
        // Frame from public/projet_rp-ble_capture.snoop, record 88 (Raspberry Pi,
        // bluetoothd): class 0x7c010c.
        let ev = ClassOfDeviceChanged {
            class_of_device: ClassOfDevice([0x0c, 0x01, 0x7c]),
        };
        check(&hex("0c017c"), &ev);
        assert_eq!(ev.class_of_device.value(), 0x7c010c);
    }

    #[test]
    fn local_name_changed() {
        // Documented layout: Name "mgmt-test" in 249 octets, Short_Name "mgmt" in 11.
        let mut b = b"mgmt-test".to_vec();
        b.resize(249, 0);
        b.extend_from_slice(b"mgmt");
        b.resize(260, 0);
        let ev = LocalNameChanged {
            name: LocalName::new("mgmt-test"),
            short_name: ShortName::new("mgmt"),
        };
        check(&b, &ev);
        assert_eq!(ev.name.to_string(), "mgmt-test");
        // One octet short of the short name.
        assert!(crate::Event::decode(crate::EventCode::LOCAL_NAME_CHANGED, &b[..259]).is_err());
    }

    #[test]
    fn new_configuration_options() {
        // Documented layout: Missing_Options with bit 1 (public address) set.
        check(
            &hex("02000000"),
            &NewConfigurationOptions {
                missing_options: ConfigOptions::PUBLIC_ADDRESS,
            },
        );
    }

    #[test]
    fn extended_index_added_and_removed() {
        // Documented layout: Controller_Type 0x00 (primary), Controller_Bus 0x01 (USB);
        // then Controller_Type 0x01 (unconfigured), Controller_Bus 0x00 (virtual).
        let added = ExtendedIndexAdded {
            controller_type: ControllerType::PRIMARY,
            bus: Bus::USB,
        };
        check(&[0x00, 0x01], &added);
        let removed = ExtendedIndexRemoved {
            controller_type: ControllerType::UNCONFIGURED,
            bus: Bus::VIRTUAL,
        };
        check(&[0x01, 0x00], &removed);
        assert_eq!(format!("{:?}", removed.bus), "Bus(Virtual)");
    }

    #[test]
    fn extended_controller_info_changed() {
        // Documented layout: EIR_Data_Length 6, then a Complete Local Name structure "hci0"
        // (length 5, type 0x09).
        check(
            &hex("0600 05 09 68636930"),
            &ExtendedControllerInfoChanged {
                eir: Bytes16(hex("050968636930")),
            },
        );
        // A length that promises more than the message holds.
        assert!(crate::Event::decode(
            crate::EventCode::EXTENDED_CONTROLLER_INFO_CHANGED,
            &hex("0700 0509686369")
        )
        .is_err());
    }

    #[test]
    fn phy_configuration_changed() {
        // Documented layout: Selected_PHYs = BR 1M 1-slot | LE 1M TX | LE 1M RX (0x00000601).
        check(
            &hex("01060000"),
            &PhyConfigurationChanged {
                selected_phys: Phys::BR_1M_1SLOT | Phys::LE_1M_TX | Phys::LE_1M_RX,
            },
        );
    }
}
