//! The two events that end a command: Command Complete (with the typed reply) and Command
//! Status.

use crate::code::Opcode;
use crate::command::AnyReply;
use crate::error::DecodeError;
use crate::status::Status;
use crate::wire::{Reader, Wire};

/// Command Complete (0x0001): the command `opcode` finished with `status`; `reply` holds its
/// return parameters, typed by opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CommandComplete {
    /// The command that completed.
    pub opcode: Opcode,
    /// How it ended.
    pub status: Status,
    /// Its return parameters.
    pub reply: AnyReply,
}

impl Wire for CommandComplete {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.set_field("opcode");
        let opcode = Opcode::decode(r)?;
        r.set_field("status");
        let status = Status::decode(r)?;
        let params = r.take_rest();
        let reply = AnyReply::decode(opcode, status, params)?;
        Ok(CommandComplete {
            opcode,
            status,
            reply,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.opcode.encode(out);
        self.status.encode(out);
        self.reply.encode(out);
    }
}

crate::wire_struct! {
    /// Command Status (0x0002): an early status for `opcode`; a status other than Success also
    /// ends the command.
    pub struct CommandStatus {
        /// The command.
        pub opcode: Opcode,
        /// Its status.
        pub status: Status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ReadVersionReply;
    use crate::event::golden::{check, hex};
    use crate::wire::{decode_exact, encode_to_vec};

    #[test]
    fn read_version_complete_from_lab_kernel() {
        // Command Complete for Read Version from kernel 6.1 (MGMT 1.22), as recorded in
        // ../shared/lab/NOTES.md: opcode 0x0001, status 0, version 1, revision 22.
        let b = [0x01, 0x00, 0x00, 0x01, 0x16, 0x00];
        let cc: CommandComplete = decode_exact("Command Complete", &b).unwrap();
        assert_eq!(cc.opcode, Opcode::READ_VERSION);
        assert_eq!(
            cc.reply,
            AnyReply::ReadVersion(ReadVersionReply {
                version: 1,
                revision: 22
            })
        );
        assert_eq!(encode_to_vec(&cc), b);
    }

    #[test]
    fn set_powered_complete_from_raspberry_pi() {
        // Frame from public/projet_rp-ble_capture.snoop, record 93: Set Powered completed with
        // Success; the reply is the current settings 0x00020ac1 (powered, SSP, BR/EDR, LE,
        // secure connections, wideband speech).
        let settings = crate::Settings::POWERED
            | crate::Settings::SSP
            | crate::Settings::BREDR
            | crate::Settings::LE
            | crate::Settings::SECURE_CONN
            | crate::Settings::WIDEBAND_SPEECH;
        check(
            &hex("0500 00 c10a0200"),
            &CommandComplete {
                opcode: Opcode::SET_POWERED,
                status: Status::SUCCESS,
                reply: AnyReply::SetPowered(settings),
            },
        );
    }

    #[test]
    fn failed_command_complete_keeps_its_bytes() {
        // Documented layout: Read Controller Information failed with Invalid Index and no
        // return parameters; the reply is kept unparsed and re-encodes to nothing.
        let cc = CommandComplete {
            opcode: Opcode::READ_INFO,
            status: Status::INVALID_INDEX,
            reply: AnyReply::Unparsed {
                opcode: Opcode::READ_INFO,
                params: crate::wire::RestBytes(vec![]),
            },
        };
        check(&hex("0400 11"), &cc);
    }

    #[test]
    fn command_status() {
        // Documented layout, doc/mgmt-protocol.rst "Command Status": opcode 0x0005 (Set
        // Powered), status 0x0a (Busy).
        check(
            &hex("0500 0a"),
            &CommandStatus {
                opcode: Opcode::SET_POWERED,
                status: Status::BUSY,
            },
        );
        assert!(crate::Event::decode(crate::EventCode::COMMAND_STATUS, &hex("0500")).is_err());
    }
}
