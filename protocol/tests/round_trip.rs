//! The encoding laws over every table entry: for every command, reply and event type, and any
//! byte string, decoding never panics, and whenever it succeeds, encoding gives back exactly
//! the bytes (`encode(decode(b)) == b`) and decoding that again gives the same value
//! (`decode(encode(x)) == x`).
//!
//! The properties walk `ALL_OPCODES` and `ALL_EVENT_CODES`, so every type added to the tables
//! is covered without touching this file.

use std::fmt::Debug;

use bluez_mgmt_protocol::command::ALL_OPCODES;
use bluez_mgmt_protocol::event::ALL_EVENT_CODES;
use bluez_mgmt_protocol::{AnyCommand, AnyReply, DecodeError, Event, Status};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;

/// Parameter bytes that often form valid messages: small values (booleans, short lengths and
/// counts, zero high bytes) three times out of four, any octet otherwise.
fn params() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![3 => 0u8..=3, 1 => any::<u8>()], 0..300)
}

/// Checks both laws on every prefix of `bytes`; returns how many prefixes decoded.
fn laws_on_prefixes<T: PartialEq + Debug>(
    what: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Result<usize, TestCaseError> {
    let mut decoded = 0;
    for n in 0..=bytes.len() {
        let prefix = &bytes[..n];
        let Ok(value) = decode(prefix) else { continue };
        decoded += 1;
        let encoded = encode(&value);
        prop_assert_eq!(&encoded[..], prefix, "{}: encode(decode(b)) != b", what);
        let again = decode(&encoded);
        prop_assert!(again.is_ok(), "{}: re-decoding failed: {:?}", what, again);
        prop_assert_eq!(again.unwrap(), value, "{}: decode(encode(x)) != x", what);
    }
    Ok(decoded)
}

fn event_laws(bytes: &[u8]) -> Result<Vec<usize>, TestCaseError> {
    ALL_EVENT_CODES
        .iter()
        .map(|(code, name)| {
            laws_on_prefixes(
                name,
                bytes,
                |b| Event::decode(*code, b),
                |e| {
                    let mut out = Vec::new();
                    e.encode(&mut out);
                    out
                },
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_event_type_round_trips(bytes in params()) {
        event_laws(&bytes)?;
    }
}

proptest! {
    // Fewer cases: this walks two tables of about ninety opcodes each.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_command_and_reply_type_round_trips(bytes in params()) {
        for (opcode, name) in ALL_OPCODES {
            laws_on_prefixes(
                name,
                &bytes,
                |b| AnyCommand::decode(*opcode, b),
                |c| {
                    let mut out = Vec::new();
                    c.encode(&mut out);
                    out
                },
            )?;
            laws_on_prefixes(
                name,
                &bytes,
                |b| AnyReply::decode(*opcode, Status::SUCCESS, b),
                |r| {
                    let mut out = Vec::new();
                    r.encode(&mut out);
                    out
                },
            )?;
        }
    }
}

/// The event property is not vacuous: over a fixed set of inputs drawn like the property's,
/// every event type decodes at least once, so the laws were checked on real values of each.
#[test]
fn every_event_type_is_exercised() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = params();
    let mut hits = vec![0usize; ALL_EVENT_CODES.len()];
    for _ in 0..48 {
        let bytes = strategy.new_tree(&mut runner).unwrap().current();
        for (h, n) in hits
            .iter_mut()
            .zip(event_laws(&bytes).expect("the laws hold"))
        {
            *h += n;
        }
    }
    for ((code, name), h) in ALL_EVENT_CODES.iter().zip(&hits) {
        assert!(*h > 0, "{name} ({code:?}) never decoded");
    }
}
