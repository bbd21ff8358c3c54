//! The command table is complete: every opcode 0x0001..=0x005C that doc/mgmt-protocol.rst
//! defines has a named type, a name, a parameter decoder and a reply decoder.

use bluez_mgmt_protocol::command::ALL_OPCODES;
use bluez_mgmt_protocol::{AnyCommand, AnyReply, Opcode, Status};

const FIRST: u16 = 0x0001;
const LAST: u16 = 0x005C;

#[test]
fn every_documented_opcode_has_a_type() {
    let missing: Vec<String> = (FIRST..=LAST)
        .filter(|code| !ALL_OPCODES.iter().any(|(op, _)| op.0 == *code))
        .map(|code| format!("{code:#06x}"))
        .collect();
    assert!(missing.is_empty(), "opcodes without a type: {missing:?}");
    assert_eq!(ALL_OPCODES.len(), 92);
    // The listing CI prints (`-- --nocapture`): one line per opcode, then the total.
    for (opcode, name) in ALL_OPCODES {
        println!("command {:#06x} {name}", opcode.0);
    }
    println!("MGMT commands with a named type: {}", ALL_OPCODES.len());
}

#[test]
fn table_is_in_opcode_order_without_duplicates() {
    for pair in ALL_OPCODES.windows(2) {
        assert!(
            pair[0].0 < pair[1].0,
            "{:?} before {:?}",
            pair[0].0,
            pair[1].0
        );
    }
}

#[test]
fn every_opcode_has_its_documented_name() {
    for code in FIRST..=LAST {
        let op = Opcode(code);
        let name = op
            .name()
            .unwrap_or_else(|| panic!("{code:#06x} has no name"));
        let (_, table_name) = ALL_OPCODES.iter().find(|(o, _)| *o == op).unwrap();
        assert_eq!(name, *table_name);
        assert_eq!(op.to_string(), name);
        assert!(!name.is_empty());
    }
    // Spot checks against the section titles of doc/mgmt-protocol.rst.
    assert_eq!(Opcode(0x0005).name(), Some("Set Powered"));
    assert_eq!(Opcode(0x0019).name(), Some("Pair Device"));
    assert_eq!(Opcode(0x003A).name(), Some("Start Service Discovery"));
    assert_eq!(
        Opcode(0x0056).name(),
        Some("Add Advertisement Patterns Monitor With RSSI Threshold")
    );
    assert_eq!(Opcode(0x005C).name(), Some("Load Connection Subrate"));
    assert_eq!(Opcode::LOAD_CONN_SUBRATE, Opcode(0x005C));
    assert_eq!(Opcode(0x005D).name(), None);
}

#[test]
fn every_opcode_decodes_as_its_own_type() {
    for (op, name) in ALL_OPCODES {
        // Empty parameters either decode (commands without parameters, or whose parameters
        // are all optional) or fail naming the command; never fall through to Unknown.
        match AnyCommand::decode(*op, &[]) {
            Ok(AnyCommand::Unknown { .. }) => panic!("{name}: decoded as unknown"),
            Ok(c) => assert_eq!(c.opcode(), *op),
            Err(e) => assert_eq!(e.message(), *name),
        }
        match AnyReply::decode(*op, Status::SUCCESS, &[]) {
            Ok(AnyReply::Unknown { .. }) | Ok(AnyReply::Unparsed { .. }) => {
                panic!("{name}: reply decoded as unknown")
            }
            Ok(r) => assert_eq!(r.opcode(), *op),
            Err(e) => assert_eq!(e.message(), format!("{name} reply")),
        }
    }
}

#[test]
fn opcodes_past_the_table_are_values() {
    let c = AnyCommand::decode(Opcode(LAST + 1), &[0xaa]).unwrap();
    assert!(matches!(c, AnyCommand::Unknown { .. }));
    assert_eq!(Opcode(LAST + 1).to_string(), "unknown 0x005d");
}
