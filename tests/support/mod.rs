//! What the host-side tests share (as h2's tests share `h2-support`): MGMT frame builders,
//! fixture paths and capture loaders. Each test file that needs them says `mod support;`.
//! Opcodes and event codes are the protocol crate's named constants (`Opcode::READ_INFO`,
//! `EventCode::NEW_LINK_KEY`), never local copies.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use bluez_mgmt::protocol::{ControllerIndex, EventCode, Opcode, Status};
use bluez_mgmt::transport::{Conversation, ReplaySocket, ScriptStep};

/// The little-endian `u16` at `i`.
pub fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// `fixtures/<name>` (a file name with its extension).
pub fn fixture(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "fixtures", name]
        .iter()
        .collect()
}

/// The conversation of the first MGMT client in `fixtures/<name>.btsnoop`.
pub fn fixture_steps(name: &str) -> Vec<ScriptStep> {
    Conversation::from_capture(
        fixture(&format!("{name}.btsnoop")),
        ReplaySocket::FirstCommand,
    )
    .expect("fixture")
    .steps
}

/// Every event frame the first client of `fixtures/<name>.btsnoop` received.
pub fn fixture_events(name: &str) -> Vec<Vec<u8>> {
    fixture_steps(name)
        .into_iter()
        .filter_map(|s| match s {
            ScriptStep::Read(f) => Some(f),
            ScriptStep::Write(_) => None,
        })
        .collect()
}

/// The event frames with this code.
pub fn events_with(frames: &[Vec<u8>], code: EventCode) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|f| u16_at(f, 0) == code.0)
        .cloned()
        .collect()
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

/// A Command Complete event frame with status Success.
pub fn command_complete(index: ControllerIndex, opcode: Opcode, reply: &[u8]) -> Vec<u8> {
    frame(
        EventCode::COMMAND_COMPLETE.0,
        index,
        &complete_params(opcode, Status::SUCCESS, reply),
    )
}
