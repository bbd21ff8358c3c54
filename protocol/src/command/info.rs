//! Commands that read what the kernel and its controllers are: version, supported commands,
//! controller lists (plain, unconfigured, extended), controller information (plain and
//! extended) and controller capabilities.

use crate::address::Address;
use crate::class_of_device::ClassOfDevice;
use crate::code::{EventCode, Opcode};
use crate::controller_type::{Bus, ControllerType};
use crate::error::DecodeError;
use crate::index::ControllerIndex;
use crate::name::{LocalName, ShortName};
use crate::settings::Settings;
use crate::wire::{Bytes16, List16, Reader, Wire};

crate::wire_struct! {
    /// Read Management Version Information (0x0001): no parameters.
    pub struct ReadVersion {}
}

crate::wire_struct! {
    /// Reply to Read Management Version Information.
    pub struct ReadVersionReply {
        /// Management API version.
        pub version: u8,
        /// Management API revision.
        pub revision: u16,
    }
}

crate::wire_struct! {
    /// Read Management Supported Commands (0x0002): no parameters.
    pub struct ReadCommands {}
}

/// Reply to Read Management Supported Commands: two counts, then the opcodes, then the event
/// codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ReadCommandsReply {
    /// Supported commands (Read Version and Read Commands themselves are not listed).
    pub commands: Vec<Opcode>,
    /// Supported events (Command Complete and Command Status are not listed).
    pub events: Vec<EventCode>,
}

impl Wire for ReadCommandsReply {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.set_field("num_commands");
        let nc = usize::from(u16::decode(r)?);
        r.set_field("num_events");
        let ne = usize::from(u16::decode(r)?);
        r.set_field("commands");
        r.check_count(nc + ne, 2)?;
        let commands = (0..nc)
            .map(|_| Opcode::decode(r))
            .collect::<Result<_, _>>()?;
        r.set_field("events");
        let events = (0..ne)
            .map(|_| EventCode::decode(r))
            .collect::<Result<_, _>>()?;
        Ok(ReadCommandsReply { commands, events })
    }

    /// # Panics
    /// If either list holds more than 65535 entries.
    fn encode(&self, out: &mut Vec<u8>) {
        u16::try_from(self.commands.len())
            .expect("at most 65535 opcodes")
            .encode(out);
        u16::try_from(self.events.len())
            .expect("at most 65535 event codes")
            .encode(out);
        self.commands.iter().for_each(|c| c.encode(out));
        self.events.iter().for_each(|e| e.encode(out));
    }
}

crate::wire_struct! {
    /// Read Controller Index List (0x0003): no parameters.
    pub struct ReadIndexList {}
}

crate::wire_struct! {
    /// Reply to Read Controller Index List and to Read Unconfigured Controller Index List.
    /// Layout: `count (2) | index (2) * count`.
    pub struct ReadIndexListReply {
        /// The controllers (configured ones, or unconfigured ones for 0x0036).
        pub indexes: List16<ControllerIndex>,
    }
}

crate::wire_struct! {
    /// Read Controller Information (0x0004): no parameters.
    pub struct ReadInfo {}
}

crate::wire_struct! {
    /// Reply to Read Controller Information (280 octets).
    pub struct ReadInfoReply {
        /// The controller's public address (00:00:00:00:00:00 for LE-only without one).
        pub address: Address,
        /// Bluetooth Core version of the controller (HCI version).
        pub bluetooth_version: u8,
        /// Manufacturer (company identifier).
        pub manufacturer: u16,
        /// Settings the controller can have.
        pub supported_settings: Settings,
        /// Settings it has now.
        pub current_settings: Settings,
        /// Class of Device.
        pub class_of_device: ClassOfDevice,
        /// Complete local name.
        pub name: LocalName,
        /// Short local name.
        pub short_name: ShortName,
    }
}

crate::wire_struct! {
    /// Read Unconfigured Controller Index List (0x0036, since 1.7): no parameters; sent to the
    /// non-controller index. Its reply is a [`ReadIndexListReply`].
    pub struct ReadUnconfiguredIndexList {}
}

crate::wire_struct! {
    /// Read Extended Controller Index List (0x003C, since 1.9): no parameters; sent to the
    /// non-controller index.
    pub struct ReadExtIndexList {}
}

crate::wire_struct! {
    /// One entry of Read Extended Controller Index List (4 octets).
    pub struct ExtIndexEntry {
        /// The controller.
        pub index: ControllerIndex,
        /// Configured, unconfigured or AMP.
        pub controller_type: ControllerType,
        /// Its bus.
        pub bus: Bus,
    }
}

crate::wire_struct! {
    /// Reply to Read Extended Controller Index List. Layout:
    /// `count (2) | { index (2) | type (1) | bus (1) } * count`.
    pub struct ReadExtIndexListReply {
        /// Every controller the kernel knows, configured or not.
        pub controllers: List16<ExtIndexEntry>,
    }
}

crate::wire_struct! {
    /// Read Extended Controller Information (0x0042, since 1.14): no parameters.
    pub struct ReadExtInfo {}
}

crate::wire_struct! {
    /// Reply to Read Extended Controller Information. Layout: `address (6) | version (1) |
    /// manufacturer (2) | supported (4) | current (4) | eir_len (2) | eir (eir_len)`.
    pub struct ReadExtInfoReply {
        /// The controller's public address.
        pub address: Address,
        /// Bluetooth Core version of the controller (HCI version).
        pub bluetooth_version: u8,
        /// Manufacturer (company identifier).
        pub manufacturer: u16,
        /// Settings the controller can have.
        pub supported_settings: Settings,
        /// Settings it has now.
        pub current_settings: Settings,
        /// Class of device, names, appearance, as EIR structures.
        pub eir: Bytes16,
    }
}

crate::wire_struct! {
    /// Read Controller Capabilities (0x0048, since 1.17): no parameters.
    pub struct ReadControllerCapabilities {}
}

crate::wire_struct! {
    /// Reply to Read Controller Capabilities. Layout: `length (2) | data (length)`; the data
    /// uses the EIR format with its own type space (0x01 security flags, 0x02 BR/EDR and 0x03
    /// LE maximum encryption key size, 0x04 LE TX power range).
    pub struct ReadControllerCapabilitiesReply {
        /// The capability structures.
        pub capabilities: Bytes16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};
    use crate::name::FixedName;

    #[test]
    fn read_version() {
        // Frame from fixtures/le-sc-passkey.btsnoop: version 1.22.
        golden::command(&[], ReadVersion {});
        golden::reply::<ReadVersion>(
            &[0x01, 0x16, 0x00],
            ReadVersionReply {
                version: 1,
                revision: 22,
            },
        );
    }

    #[test]
    fn read_commands() {
        // Documented layout, doc/mgmt-protocol.rst: two counts, then opcodes, then events.
        golden::command(&[], ReadCommands {});
        golden::reply::<ReadCommands>(
            &hex("0200 0100 0300 0400 0600"),
            ReadCommandsReply {
                commands: vec![Opcode::READ_INDEX_LIST, Opcode::READ_INFO],
                events: vec![EventCode(0x0006)],
            },
        );
    }

    #[test]
    fn read_commands_truncated_names_lists() {
        // Two opcodes and one event promised (6 bytes), 2 given.
        let e = crate::wire::decode_exact::<ReadCommandsReply>(
            "Read Commands reply",
            &hex("0200 0100 0300"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Read Commands reply");
        assert_eq!(e.field(), "commands");
        assert_eq!(
            e.problem(),
            crate::Problem::Truncated {
                expected: 6,
                actual: 2
            }
        );
    }

    #[test]
    fn read_index_list() {
        // Frame from fixtures/btvirt-kernel-kernel-le-sc-passkey.btsnoop: hci0 and hci1.
        golden::command(&[], ReadIndexList {});
        golden::reply::<ReadIndexList>(
            &hex("0200 0000 0100"),
            ReadIndexListReply {
                indexes: List16(vec![ControllerIndex(0), ControllerIndex(1)]),
            },
        );
    }

    #[test]
    fn read_info() {
        // Frame from fixtures/le-sc-passkey.btsnoop (the first Read Info, powered off, LE
        // only): address 00:BB:00:00:00:01, version 0x09, manufacturer 0xffff, supported
        // 0x0001be1b, current 0x00000200, class 0, empty names.
        let mut b = hex("01000000bb00 09 ffff 1bbe0100 00020000 000000");
        b.resize(280, 0);
        golden::command(&[], ReadInfo {});
        golden::reply::<ReadInfo>(
            &b,
            ReadInfoReply {
                address: "00:BB:00:00:00:01".parse().unwrap(),
                bluetooth_version: 9,
                manufacturer: 0xffff,
                supported_settings: Settings::from_bits_retain(0x0001_be1b),
                current_settings: Settings::LE,
                class_of_device: ClassOfDevice([0; 3]),
                name: FixedName::default(),
                short_name: FixedName::default(),
            },
        );
    }

    #[test]
    fn read_unconfigured_index_list() {
        // Documented layout, doc/mgmt-protocol.rst: Num_Controllers (2), Controller_Index[i].
        golden::command(&[], ReadUnconfiguredIndexList {});
        golden::reply::<ReadUnconfiguredIndexList>(
            &hex("0100 0200"),
            ReadIndexListReply {
                indexes: List16(vec![ControllerIndex(2)]),
            },
        );
    }

    #[test]
    fn read_ext_index_list() {
        // Documented layout, doc/mgmt-protocol.rst: count, then index (2), type (1), bus (1).
        golden::command(&[], ReadExtIndexList {});
        golden::reply::<ReadExtIndexList>(
            &hex("0200 0000 00 01 0100 01 00"),
            ReadExtIndexListReply {
                controllers: List16(vec![
                    ExtIndexEntry {
                        index: ControllerIndex(0),
                        controller_type: ControllerType::PRIMARY,
                        bus: Bus::USB,
                    },
                    ExtIndexEntry {
                        index: ControllerIndex(1),
                        controller_type: ControllerType::UNCONFIGURED,
                        bus: Bus::VIRTUAL,
                    },
                ]),
            },
        );
    }

    #[test]
    fn read_ext_index_list_truncated() {
        // Two entries promised (8 bytes), one given.
        let e = crate::wire::decode_exact::<ReadExtIndexListReply>(
            "Read Extended Controller Index List reply",
            &hex("0200 0000 00 01"),
        )
        .unwrap_err();
        assert_eq!(e.message(), "Read Extended Controller Index List reply");
        // The second entry's first field, at offset 6.
        assert_eq!(e.field(), "index");
        assert_eq!(e.offset(), 6);
        assert_eq!(
            e.problem(),
            crate::Problem::Truncated {
                expected: 2,
                actual: 0
            }
        );
    }

    #[test]
    fn read_ext_info() {
        // Documented layout, doc/mgmt-protocol.rst: address, version, manufacturer, settings,
        // EIR length and data (here Class of Device 0x000000 and the complete name "hci").
        golden::command(&[], ReadExtInfo {});
        golden::reply::<ReadExtInfo>(
            &hex("010000 01aa00 0b 0200 ffff0300 c1020000 0a00 040d000000 0409686369"),
            ReadExtInfoReply {
                address: "00:AA:01:00:00:01".parse().unwrap(),
                bluetooth_version: 0x0b,
                manufacturer: 2,
                supported_settings: Settings::from_bits_retain(0x0003_ffff),
                current_settings: Settings::from_bits_retain(0x02c1),
                eir: Bytes16(hex("040d000000 0409686369")),
            },
        );
    }

    #[test]
    fn read_controller_capabilities() {
        // Documented layout, doc/mgmt-protocol.rst: length (2), then EIR-style structures:
        // security flags 0x0f, BR/EDR and LE max key size 16.
        golden::command(&[], ReadControllerCapabilities {});
        golden::reply::<ReadControllerCapabilities>(
            &hex("0900 02010f 020210 020310"),
            ReadControllerCapabilitiesReply {
                capabilities: Bytes16(hex("02010f 020210 020310")),
            },
        );
    }
}
