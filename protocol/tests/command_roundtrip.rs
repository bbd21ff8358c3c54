//! The wire contract over the whole command table, with arbitrary bytes: decoding never
//! panics, and whatever decodes encodes back to exactly the same bytes (parameters and replies
//! of all 92 commands).

use bluez_mgmt_protocol::command::ALL_OPCODES;
use bluez_mgmt_protocol::{AnyCommand, AnyReply, Status};
use proptest::prelude::*;

fn params() -> impl Strategy<Value = Vec<u8>> {
    // Mostly short blocks (where fixed layouts live), sometimes long ones (lists, names).
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..24),
        1 => prop::collection::vec(any::<u8>(), 0..400),
    ]
}

fn small_counts(mut b: Vec<u8>) -> Vec<u8> {
    // Many layouts start with a count or a boolean; small leading values decode far more often.
    for x in b.iter_mut().take(4) {
        *x %= 3;
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn commands_round_trip(i in 0..ALL_OPCODES.len(), bytes in params(), shrink_counts in any::<bool>()) {
        let (op, name) = ALL_OPCODES[i];
        let bytes = if shrink_counts { small_counts(bytes) } else { bytes };
        match AnyCommand::decode(op, &bytes) {
            Ok(c) => {
                prop_assert_eq!(c.opcode(), op);
                let mut out = Vec::new();
                c.encode(&mut out);
                prop_assert_eq!(out, bytes, "{}", name);
            }
            Err(e) => prop_assert_eq!(e.message(), name),
        }
    }

    #[test]
    fn replies_round_trip(i in 0..ALL_OPCODES.len(), bytes in params(), shrink_counts in any::<bool>(), status in any::<u8>()) {
        let (op, _) = ALL_OPCODES[i];
        let bytes = if shrink_counts { small_counts(bytes) } else { bytes };
        if let Ok(r) = AnyReply::decode(op, Status(status), &bytes) {
            prop_assert_eq!(r.opcode(), op);
            let mut out = Vec::new();
            r.encode(&mut out);
            prop_assert_eq!(out, bytes);
        }
    }
}
