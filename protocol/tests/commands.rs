//! Whole command frames and their Command Complete events, replayed from the lab capture
//! fixtures/le-sc-passkey.btsnoop (kernel 6.1, MGMT 1.22): a raw MGMT client sets a controller
//! up, pairs over LE Secure Connections with a Bumble device using Passkey Entry, then unpairs
//! twice. Parameters are the capture's bytes; each frame header is rebuilt from the monitor
//! record's opcode and controller index.

use bluez_mgmt_protocol::{
    AddressInfo, AddressType, AnyCommand, AnyReply, CommandFrame, ControllerIndex, Event,
    EventFrame, IoCapability, Opcode, Settings, Status,
};

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn command_frame(opcode: u16, index: u16, params: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&opcode.to_le_bytes());
    b.extend_from_slice(&index.to_le_bytes());
    b.extend_from_slice(&(params.len() as u16).to_le_bytes());
    b.extend_from_slice(params);
    b
}

fn complete_frame(opcode: u16, index: u16, status: u8, reply: &[u8]) -> Vec<u8> {
    let mut params = opcode.to_le_bytes().to_vec();
    params.push(status);
    params.extend_from_slice(reply);
    command_frame(0x0001, index, &params)
}

/// (opcode, index, command parameters, status, reply parameters), in capture order (Read
/// Controller Information left out: its 280-byte replies are checked in the crate's unit
/// tests).
const SESSION: &[(u16, u16, &str, u8, &str)] = &[
    (0x0001, 0xffff, "", 0x00, "011600"),
    (0x0003, 0xffff, "", 0x00, "01000000"),
    (0x0005, 0x0000, "00", 0x00, "00020000"),
    (0x000d, 0x0000, "01", 0x00, "00020000"),
    (0x002d, 0x0000, "01", 0x00, "000a0000"),
    (0x0009, 0x0000, "01", 0x00, "100a0000"),
    (0x0007, 0x0000, "01", 0x00, "120a0000"),
    (0x0018, 0x0000, "02", 0x00, ""),
    (0x0005, 0x0000, "01", 0x00, "130a0000"),
    (0x0019, 0x0000, "02000000bbc00202", 0x00, "02000000bbc002"),
    (
        0x001e,
        0x0000,
        "02000000bbc002f1fb0900",
        0x00,
        "02000000bbc002",
    ),
    (0x001b, 0x0000, "02000000bbc00001", 0x06, "02000000bbc000"),
    (0x001b, 0x0000, "02000000bbc00101", 0x06, "02000000bbc001"),
];

#[test]
fn every_captured_command_round_trips() {
    for (opcode, index, params, _, _) in SESSION {
        let bytes = command_frame(*opcode, *index, &hex(params));
        let frame = CommandFrame::decode(&bytes).unwrap_or_else(|e| panic!("{opcode:#06x}: {e}"));
        assert_eq!(frame.index, ControllerIndex(*index));
        assert_eq!(frame.command.opcode(), Opcode(*opcode));
        assert!(!matches!(frame.command, AnyCommand::Unknown { .. }));
        assert_eq!(frame.encode().unwrap(), bytes, "{opcode:#06x}");
    }
}

#[test]
fn every_captured_reply_round_trips() {
    for (opcode, index, _, status, reply) in SESSION {
        let bytes = complete_frame(*opcode, *index, *status, &hex(reply));
        let frame = EventFrame::decode(&bytes).unwrap_or_else(|e| panic!("{opcode:#06x}: {e}"));
        let Event::CommandComplete(cc) = &frame.event else {
            panic!("{opcode:#06x}: not a Command Complete: {:?}", frame.event)
        };
        assert_eq!(cc.opcode, Opcode(*opcode));
        assert_eq!(cc.status, Status(*status));
        assert!(
            !matches!(
                cc.reply,
                AnyReply::Unknown { .. } | AnyReply::Unparsed { .. }
            ),
            "{opcode:#06x}: reply not typed: {:?}",
            cc.reply
        );
        assert_eq!(frame.encode().unwrap(), bytes, "{opcode:#06x}");
    }
}

#[test]
fn pairing_commands_decode_to_their_values() {
    let peer = AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM);

    let bytes = command_frame(0x0019, 0, &hex("02000000bbc00202"));
    let AnyCommand::PairDevice(pair) = CommandFrame::decode(&bytes).unwrap().command else {
        panic!("not Pair Device")
    };
    assert_eq!(pair.address, peer);
    assert_eq!(pair.io_capability, IoCapability::KEYBOARD_ONLY);

    let bytes = command_frame(0x001e, 0, &hex("02000000bbc002f1fb0900"));
    let AnyCommand::UserPasskeyReply(passkey) = CommandFrame::decode(&bytes).unwrap().command
    else {
        panic!("not User Passkey Reply")
    };
    assert_eq!(passkey.address, peer);
    assert_eq!(passkey.passkey, 654_321);

    let bytes = complete_frame(0x0019, 0, 0x00, &hex("02000000bbc002"));
    let Event::CommandComplete(cc) = EventFrame::decode(&bytes).unwrap().event else {
        panic!("not Command Complete")
    };
    assert_eq!(cc.reply, AnyReply::PairDevice(peer.clone()));

    // Unpairing a device the kernel no longer knows: Not Paired, and the reply still names
    // the device.
    let bytes = complete_frame(0x001b, 0, 0x06, &hex("02000000bbc001"));
    let Event::CommandComplete(cc) = EventFrame::decode(&bytes).unwrap().event else {
        panic!("not Command Complete")
    };
    assert_eq!(cc.status, Status::NOT_PAIRED);
    assert_eq!(
        cc.reply,
        AnyReply::UnpairDevice(AddressInfo::new(
            "C0:BB:00:00:00:02".parse().unwrap(),
            AddressType::LE_PUBLIC
        ))
    );
}

#[test]
fn settings_replies_decode_to_their_values() {
    let bytes = complete_frame(0x0005, 0, 0x00, &hex("130a0000"));
    let Event::CommandComplete(cc) = EventFrame::decode(&bytes).unwrap().event else {
        panic!("not Command Complete")
    };
    assert_eq!(
        cc.reply,
        AnyReply::SetPowered(
            Settings::POWERED
                | Settings::CONNECTABLE
                | Settings::BONDABLE
                | Settings::LE
                | Settings::SECURE_CONN
        )
    );
}

#[test]
fn a_frame_whose_parameters_do_not_fit_names_the_command() {
    // Pair Device with the IO capability octet missing.
    let bytes = command_frame(0x0019, 0, &hex("02000000bbc002"));
    let e = CommandFrame::decode(&bytes).unwrap_err();
    assert_eq!(e.message(), "Pair Device");
    assert_eq!(e.field(), "io_capability");
    assert_eq!(e.offset(), 7);
}
