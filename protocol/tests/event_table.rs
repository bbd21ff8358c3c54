//! The event table is complete: every event code the Management API defines
//! (0x0001..=0x0033) has a named type, and the names agree everywhere.

use bluez_mgmt_protocol::event::ALL_EVENT_CODES;
use bluez_mgmt_protocol::{Event, EventCode};

/// The highest event code the API defines today (Security Level Changed).
const LAST_EVENT_CODE: u16 = 0x0033;

#[test]
fn every_code_up_to_the_last_has_a_named_type() {
    assert_eq!(ALL_EVENT_CODES.len(), 51);
    for code in 0x0001..=LAST_EVENT_CODE {
        let found: Vec<_> = ALL_EVENT_CODES
            .iter()
            .filter(|(c, _)| c.0 == code)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "event code {code:#06x} must be in the table exactly once"
        );
        let (_, name) = found[0];
        assert_eq!(EventCode(code).name(), Some(*name), "{code:#06x}");
        assert_eq!(EventCode(code).to_string(), *name);
    }
    // The listing CI prints (`-- --nocapture`): one line per event code, then the total.
    for (code, name) in ALL_EVENT_CODES {
        println!("event {:#06x} {name}", code.0);
    }
    println!("MGMT events with a named type: {}", ALL_EVENT_CODES.len());
}

#[test]
fn names_are_unique_and_codes_ascend() {
    let mut names: Vec<&str> = ALL_EVENT_CODES.iter().map(|(_, n)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ALL_EVENT_CODES.len());
    assert!(ALL_EVENT_CODES.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn documented_names() {
    let cases = [
        (0x0001, "Command Complete"),
        (0x0006, "New Settings"),
        (0x000C, "Device Disconnected"),
        (0x000F, "User Confirmation Request"),
        (0x0012, "Device Found"),
        (0x0018, "New Identity Resolving Key"),
        (0x0022, "Local Out Of Band Extended Data Updated"),
        (0x0028, "Default System Configuration Changed"),
        (0x0029, "Default Runtime Configuration Changed"),
        (0x0031, "Mesh Device Found"),
        (0x0033, "Security Level Changed"),
    ];
    for (code, name) in cases {
        assert_eq!(EventCode(code).name(), Some(name), "{code:#06x}");
    }
    assert_eq!(EventCode::USER_CONFIRM_REQUEST, EventCode(0x000F));
    assert_eq!(EventCode::SECURITY_LEVEL_CHANGED, EventCode(0x0033));
    assert_eq!(
        format!("{:?}", EventCode::PASSKEY_NOTIFY),
        "EventCode(0x0017 Passkey Notify)"
    );
}

#[test]
fn codes_outside_the_table_are_unknown() {
    assert_eq!(EventCode(0x0000).name(), None);
    assert_eq!(EventCode(LAST_EVENT_CODE + 1).name(), None);
    assert_eq!(EventCode(0x0034).to_string(), "unknown 0x0034");
    let e = Event::decode(EventCode(0x0034), &[1, 2, 3]).unwrap();
    assert!(matches!(e, Event::Unknown { .. }));
}

#[test]
fn known_codes_never_decode_as_unknown() {
    // Whatever the bytes, a code in the table decodes to its own type or fails; it never
    // falls back to Unknown.
    for (code, name) in ALL_EVENT_CODES {
        for params in [&[][..], &[0u8; 8][..], &[0u8; 300][..]] {
            if let Ok(e) = Event::decode(*code, params) {
                assert!(!matches!(e, Event::Unknown { .. }), "{name}");
                assert_eq!(e.code(), *code, "{name}");
            }
        }
    }
}
