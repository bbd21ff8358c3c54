//! Commands that read what the kernel and its controllers are: version, supported commands,
//! controller lists and controller information.

use crate::address::Address;
use crate::class_of_device::ClassOfDevice;
use crate::code::{EventCode, Opcode};
use crate::error::DecodeError;
use crate::index::ControllerIndex;
use crate::name::{LocalName, ShortName};
use crate::settings::Settings;
use crate::wire::{List16, Reader, Wire};

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
    /// Reply to Read Controller Index List.
    pub struct ReadIndexListReply {
        /// The configured controllers.
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
