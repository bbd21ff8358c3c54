//! Commands that set what a controller tells others about itself: class of device, local
//! name, service UUIDs (for EIR and the class of device), Device ID and appearance.

use crate::name::{LocalName, ShortName};
use crate::uuid::Uuid128;

crate::wire_struct! {
    /// Set Device Class (0x000E): the major and minor device class (BR/EDR). Answered with the
    /// resulting [`ClassOfDevice`](crate::ClassOfDevice) (zero while powered off).
    pub struct SetDeviceClass {
        /// Major device class.
        pub major: u8,
        /// Minor device class.
        pub minor: u8,
    }
}

crate::wire_struct! {
    /// Set Local Name (0x000F), and its reply, which has the same layout:
    /// `name (249, nul-terminated) | short_name (11, nul-terminated)`.
    pub struct SetLocalName {
        /// Complete local name.
        pub name: LocalName,
        /// Short local name, used when the complete one does not fit.
        pub short_name: ShortName,
    }
}

impl SetLocalName {
    /// The command for `name` and `short_name`, each truncated to fit its field with its nul.
    pub fn new(name: &str, short_name: &str) -> Self {
        SetLocalName {
            name: LocalName::new(name),
            short_name: ShortName::new(short_name),
        }
    }
}

crate::wire_struct! {
    /// Add UUID (0x0010): a service UUID for EIR. Layout: `uuid (16) | svc_hint (1)`.
    /// Answered with the resulting [`ClassOfDevice`](crate::ClassOfDevice).
    pub struct AddUuid {
        /// The UUID, little endian.
        pub uuid: Uuid128,
        /// The service class bits of the Class of Device this UUID sets.
        pub service_hint: u8,
    }
}

crate::wire_struct! {
    /// Remove UUID (0x0011): removes a UUID added with Add UUID; the all-zero UUID removes
    /// them all. Answered with the resulting [`ClassOfDevice`](crate::ClassOfDevice).
    pub struct RemoveUuid {
        /// The UUID, little endian.
        pub uuid: Uuid128,
    }
}

crate::open_enum! {
    /// Who assigned the Vendor field of Set Device ID.
    pub struct DeviceIdSource(u16) {
        /// Device ID disabled.
        DISABLED = 0x0000 => "Disabled",
        /// Bluetooth SIG company identifier.
        BLUETOOTH_SIG = 0x0001 => "Bluetooth SIG",
        /// USB Implementer's Forum vendor ID.
        USB_IF = 0x0002 => "USB Implementer's Forum",
    }
}

crate::wire_struct! {
    /// Set Device ID (0x0028): the Device ID record put in EIR. Layout:
    /// `source (2) | vendor (2) | product (2) | version (2)`.
    pub struct SetDeviceId {
        /// Who assigned `vendor`.
        pub source: DeviceIdSource,
        /// Vendor ID.
        pub vendor: u16,
        /// Product ID.
        pub product: u16,
        /// Product version.
        pub version: u16,
    }
}

crate::wire_struct! {
    /// Set Appearance (0x0043, since 1.14): the GAP appearance value (LE).
    pub struct SetAppearance {
        /// The appearance value.
        pub appearance: u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class_of_device::ClassOfDevice;
    use crate::command::golden::{self, hex};

    #[test]
    fn set_device_class() {
        // Documented layout, doc/mgmt-protocol.rst: Major_Class (1), Minor_Class (1); reply
        // Class_Of_Device (3), here computer/laptop with the networking service bit.
        golden::command(
            &[0x01, 0x0c],
            SetDeviceClass {
                major: 1,
                minor: 0x0c,
            },
        );
        golden::reply::<SetDeviceClass>(&[0x0c, 0x01, 0x02], ClassOfDevice([0x0c, 0x01, 0x02]));
    }

    #[test]
    fn set_local_name() {
        // Documented layout, doc/mgmt-protocol.rst: Name (249), Short_Name (11), and the same
        // as return parameters.
        let mut b = b"kitchen-speaker".to_vec();
        b.resize(249, 0);
        b.extend_from_slice(b"kitchen");
        b.resize(260, 0);
        let c = SetLocalName::new("kitchen-speaker", "kitchen");
        golden::command(&b, c.clone());
        golden::reply::<SetLocalName>(&b, c.clone());
        assert_eq!(c.name.to_string(), "kitchen-speaker");
    }

    #[test]
    fn add_uuid() {
        // Documented layout, doc/mgmt-protocol.rst: UUID (16, little endian), SVC_Hint (1).
        // 0000110b-0000-1000-8000-00805f9b34fb (Audio Sink), hint 0x04 (rendering).
        let b = hex("fb349b5f80000080 00100000 0b110000 04");
        let uuid = Uuid128(hex("fb349b5f8000008000100000 0b110000").try_into().unwrap());
        assert_eq!(uuid.to_string(), "0000110b-0000-1000-8000-00805f9b34fb");
        golden::command(
            &b,
            AddUuid {
                uuid,
                service_hint: 0x04,
            },
        );
        golden::reply::<AddUuid>(&[0x00, 0x00, 0x04], ClassOfDevice([0, 0, 4]));
    }

    #[test]
    fn remove_uuid() {
        // Documented layout, doc/mgmt-protocol.rst: UUID (16); all zero removes every UUID.
        golden::command(
            &[0u8; 16],
            RemoveUuid {
                uuid: Uuid128([0; 16]),
            },
        );
        golden::reply::<RemoveUuid>(&[0, 0, 0], ClassOfDevice([0; 3]));
    }

    #[test]
    fn set_device_id() {
        // Documented layout, doc/mgmt-protocol.rst: Source, Vendor, Product, Version (2 each).
        golden::command(
            &hex("0200 6b1d 4602 0905"),
            SetDeviceId {
                source: DeviceIdSource::USB_IF,
                vendor: 0x1d6b,
                product: 0x0246,
                version: 0x0509,
            },
        );
        golden::reply::<SetDeviceId>(&[], ());
    }

    #[test]
    fn set_appearance() {
        // Documented layout, doc/mgmt-protocol.rst: Appearance (2); 0x0341 heart rate belt.
        golden::command(&[0x41, 0x03], SetAppearance { appearance: 0x0341 });
        golden::reply::<SetAppearance>(&[], ());
    }
}
