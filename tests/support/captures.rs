//! The real kernel captures under `fixtures/` (each with its recipe in fixtures/README.md): paths,
//! the first MGMT client's conversation, the frames in it, and the captured Read Controller
//! Information reply (with settings rewritten for a case the capture did not record).

use std::path::PathBuf;

use bluez_mgmt::protocol::{Address, CommandFrame, EventCode, Opcode};
use bluez_mgmt::transport::{Conversation, ReplaySocket, ScriptStep};

use super::frames::u16_at;

/// The `fixtures/` directory.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `fixtures/<name>` (a file name with its extension).
pub fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Every capture (`*.btsnoop`) in `fixtures/`, sorted by name.
pub fn all_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "btsnoop"))
        .collect();
    files.sort();
    files
}

/// The conversation of the first MGMT client in `fixtures/<name>.btsnoop`.
pub fn conversation(name: &str) -> Conversation {
    Conversation::from_capture(
        fixture(&format!("{name}.btsnoop")),
        ReplaySocket::FirstCommand,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The steps of [`conversation`].
pub fn fixture_steps(name: &str) -> Vec<ScriptStep> {
    conversation(name).steps
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

/// Every command the steps write, decoded.
pub fn commands_written(steps: &[ScriptStep]) -> Vec<CommandFrame> {
    steps
        .iter()
        .filter_map(|s| match s {
            ScriptStep::Write(b) => Some(CommandFrame::decode(b).expect("captured command")),
            ScriptStep::Read(_) => None,
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

/// The captured Command Complete of the first Read Controller Information.
pub fn read_info_complete(frames: &[Vec<u8>]) -> Vec<u8> {
    frames
        .iter()
        .find(|f| {
            u16_at(f, 0) == EventCode::COMMAND_COMPLETE.0 && u16_at(f, 6) == Opcode::READ_INFO.0
        })
        .expect("a Read Controller Information reply in the capture")
        .clone()
}

/// The controller's address in a Read Controller Information Command Complete frame.
pub fn info_address(complete: &[u8]) -> Address {
    // Header 6, opcode 2, status 1.
    Address(complete[9..15].try_into().unwrap())
}

/// The supported settings in a Read Controller Information Command Complete frame.
pub fn supported_settings(complete: &[u8]) -> u32 {
    // Header 6, opcode 2, status 1, address 6, version 1, manufacturer 2.
    u32::from_le_bytes(complete[18..22].try_into().unwrap())
}

/// The same reply with the supported settings replaced.
pub fn with_supported_settings(mut complete: Vec<u8>, settings: u32) -> Vec<u8> {
    complete[18..22].copy_from_slice(&settings.to_le_bytes());
    complete
}

/// The same reply with the current settings (after the supported ones) replaced: powered or
/// not.
pub fn with_current_settings(mut complete: Vec<u8>, settings: u32) -> Vec<u8> {
    complete[22..26].copy_from_slice(&settings.to_le_bytes());
    complete
}
