//! The kernel tier's OOB pairing captures (tests/kernel/oob.rs, Linux 6.1 in QEMU; recipes in
//! fixtures/README.md) replayed through the library: `oob::kernel::read_local` parses the
//! kernel's real Read Local OOB Extended Data replies, the data is carried through the NFC
//! record (and the QR text form) as in the recording, and `oob::kernel::add_remote` must then
//! write byte for byte the Add Remote OOB Data the recording's client wrote (the replay
//! transport checks every command). Pair Device must succeed and every New Long Term Key be an
//! authenticated P-256 key, as the kernel reported.

use std::time::Duration;

use bluez_mgmt::client::{Client, EventFilter};
use bluez_mgmt::oob::{kernel, ndef, text, LeOobData, OobData, OobTransport, OobValue};
use bluez_mgmt::protocol::keys::LongTermKeyType;
use bluez_mgmt::protocol::{AddressType, AnyCommand, ControllerIndex, Event};

mod support;
use support::{commands_written, conversation};

/// (fixture, New Long Term Key events the recording's client saw).
const FIXTURES: [(&str, usize); 4] = [
    ("kernel-oob-btvirt-initiator-holds", 2),
    ("kernel-oob-btvirt-responder-holds", 2),
    ("kernel-oob-btvirt-both-hold", 2),
    ("kernel-oob-bumble-le-sc", 1),
];

/// The peer's data as the Add Remote OOB Data command carries it (for the Bumble recording,
/// whose peer data came from outside the kernel).
fn from_command(c: &bluez_mgmt::protocol::command::AddRemoteOobData) -> OobData {
    let p256 = c.p256.as_ref().expect("LE data is the P-256 pair");
    OobData::Le(LeOobData {
        address: c.address.address,
        address_type: c.address.address_type,
        confirm: Some(OobValue(p256.hash)),
        random: Some(OobValue(p256.randomizer)),
        ..LeOobData::default()
    })
}

async fn replay(name: &str, ltks: usize) {
    let conv = conversation(name);
    let writes = commands_written(&conv.steps);
    let client = Client::with_transport(conv.into_transport());
    let mut events = client.subscribe(EventFilter::all());
    let mut local: Vec<(ControllerIndex, OobData)> = Vec::new();
    let mut paired = false;
    for w in writes {
        match w.command {
            AnyCommand::ReadLocalOobExtData(_) => {
                let d = kernel::read_local(&client, w.index, OobTransport::Le)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: read_local: {e}"));
                let OobData::Le(le) = &d else {
                    panic!("{name}: not LE data: {d:?}")
                };
                assert_eq!(le.address_type, AddressType::LE_PUBLIC, "{name}");
                assert!(le.role.is_some(), "{name}: the kernel gives its LE role");
                local.push((w.index, d));
            }
            AnyCommand::AddRemoteOobData(c) => {
                // Between two kernels the data is the other controller's, as we read it; with
                // Bumble it is the peer's.
                let data = local
                    .iter()
                    .find(|(i, d)| *i != w.index && d.address() == c.address)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_else(|| from_command(&c));
                let carried = ndef::decode(&ndef::encode(&data)).expect("NDEF round trip");
                let carried = text::decode(&text::encode(&carried)).expect("text round trip");
                let added = kernel::add_remote(&client, w.index, &carried)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: add_remote: {e}"));
                assert_eq!(added, c.address, "{name}");
            }
            AnyCommand::PairDevice(c) => {
                client
                    .call_with_timeout(w.index, &c, Duration::from_secs(5))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: Pair Device: {e}"));
                paired = true;
            }
            other => panic!("{name}: the OOB scenario does not send {other:?}"),
        }
    }
    assert!(paired, "{name}: no Pair Device");
    let mut keys = Vec::new();
    while keys.len() < ltks {
        let item = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("{name}: only {keys:?} of {ltks} keys"))
            .expect("event stream");
        if let Ok((_, Event::NewLongTermKey(k))) = item {
            keys.push(k.key.key_type);
        }
    }
    assert!(
        keys.iter()
            .all(|t| *t == LongTermKeyType::AUTHENTICATED_P256),
        "{name}: {keys:?}"
    );
}

#[tokio::test]
async fn oob_captures_replay_through_the_library() {
    for (name, ltks) in FIXTURES {
        replay(name, ltks).await;
    }
}
