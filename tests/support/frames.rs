//! MGMT frames as the tests write them: the header (code, controller index, parameter length)
//! and the parameters, laid out as doc/mgmt-protocol.rst gives them; Command Complete replies;
//! scripted command/reply exchanges.

use bluez_mgmt::protocol::{ControllerIndex, EventCode, Opcode, Status};
use bluez_mgmt::transport::ScriptBuilder;

/// Controller 0.
pub const HCI0: ControllerIndex = ControllerIndex(0);
/// Controller 1.
pub const HCI1: ControllerIndex = ControllerIndex(1);
/// No controller (global commands and events).
pub const NONE: ControllerIndex = ControllerIndex::NONE;

/// The little-endian `u16` at `i`.
pub fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// A whole MGMT frame: code (opcode or event code), controller index, parameter length,
/// parameters.
pub fn frame(code: u16, index: ControllerIndex, params: &[u8]) -> Vec<u8> {
    let mut f = code.to_le_bytes().to_vec();
    f.extend_from_slice(&index.0.to_le_bytes());
    f.extend_from_slice(&(params.len() as u16).to_le_bytes());
    f.extend_from_slice(params);
    f
}

/// Command Complete parameters: the opcode answered, the status, the return parameters.
pub fn complete_params(opcode: Opcode, status: Status, reply: &[u8]) -> Vec<u8> {
    [&opcode.0.to_le_bytes()[..], &[status.0], reply].concat()
}

/// A Command Complete event frame with this status.
pub fn complete(index: ControllerIndex, opcode: Opcode, status: Status, reply: &[u8]) -> Vec<u8> {
    frame(
        EventCode::COMMAND_COMPLETE.0,
        index,
        &complete_params(opcode, status, reply),
    )
}

/// A Command Complete event frame with status Success.
pub fn command_complete(index: ControllerIndex, opcode: Opcode, reply: &[u8]) -> Vec<u8> {
    complete(index, opcode, Status::SUCCESS, reply)
}

/// Scripted exchanges: a command written and the Command Complete read back.
pub trait Exchange: Sized {
    /// `opcode` with `params` written on `index`, answered Success with `reply`.
    fn exchange(self, index: ControllerIndex, opcode: Opcode, params: &[u8], reply: &[u8]) -> Self;

    /// The Read Controller Index List exchange, naming `indexes`.
    fn index_list(self, indexes: &[ControllerIndex]) -> Self {
        let mut reply = (indexes.len() as u16).to_le_bytes().to_vec();
        for i in indexes {
            reply.extend_from_slice(&i.0.to_le_bytes());
        }
        self.exchange(NONE, Opcode::READ_INDEX_LIST, &[], &reply)
    }
}

impl Exchange for ScriptBuilder {
    fn exchange(self, index: ControllerIndex, opcode: Opcode, params: &[u8], reply: &[u8]) -> Self {
        self.write_command(index, opcode, params)
            .read(command_complete(index, opcode, reply))
    }
}

/// A Command Status event frame: the opcode answered and the status.
pub fn command_status(index: ControllerIndex, opcode: Opcode, status: Status) -> Vec<u8> {
    frame(
        EventCode::COMMAND_STATUS.0,
        index,
        &[&opcode.0.to_le_bytes()[..], &[status.0]].concat(),
    )
}

/// A command frame: `opcode` on `index` with `params`.
pub fn command(index: ControllerIndex, opcode: Opcode, params: &[u8]) -> Vec<u8> {
    frame(opcode.0, index, params)
}

/// Device Found parameters: address and type (`address`, wire order), RSSI, flags, the EIR
/// (or advertising data) with its length.
pub fn device_found(address: [u8; 7], rssi: i8, flags: u32, eir: &[u8]) -> Vec<u8> {
    [
        &address[..],
        &[rssi as u8],
        &flags.to_le_bytes(),
        &(eir.len() as u16).to_le_bytes(),
        eir,
    ]
    .concat()
}
