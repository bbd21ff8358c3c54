//! Replay of every capture in fixtures/ through the full client: the client is driven with the
//! commands the capture's main socket sent, the replay transport checks each written command
//! byte for byte against the capture, and every reply the client hands back must be the one
//! the capture recorded. The same session is also recorded through the recording transport
//! and read back.

use std::time::Duration;

use bluez_mgmt::capture::CaptureWriter;
use bluez_mgmt::client::{Client, ErrorKind};
use bluez_mgmt::protocol::{ControllerIndex, Opcode, RawFrame, Status};
use bluez_mgmt::session::CommandReply;
use bluez_mgmt::transport::{
    Conversation, RecordingTransport, ReplaySocket, ScriptStep, ScriptedTransport, Transport,
};
use std::sync::Arc;

mod support;
use support::fixture;

/// Every capture the fixtures README lists (fixtures/README.md gives their origin).
const FIXTURES: &[(&str, usize)] = &[
    // (file, number of commands its main socket sent, counted from the capture's CTRL_COMMAND records)
    ("batteread-capture.btsnoop", 0),
    ("bredr-ssp-numeric-comparison.btsnoop", 17),
    ("btvirt-kernel-kernel-le-sc-passkey.btsnoop", 31),
    ("le-sc-numeric-comparison.btsnoop", 16),
    ("le-sc-passkey.btsnoop", 16),
    ("projet_rp-ble_capture.btsnoop", 5),
    ("projet_rp-capture.btsnoop", 1),
    // Recorded by btmon while tests/kernel/client.rs ran in the VM harness (kernel 6.1).
    // The first socket to send a command is the harness's index-list poller; the client's
    // own socket reuses cookie 1 after it closes (see every_socket_of_every_capture_replays).
    ("client-pair-confirm.btsnoop", 4),
    ("client-controller-removed.btsnoop", 5),
    ("client-discoverable-rejected.btsnoop", 6),
    ("client-two-controllers.btsnoop", 6),
    // Pairing scenarios recorded by tests/kernel/pairing_bumble.rs and legacy_pin.rs: one
    // socket each (the runner's), so every command of the capture is its.
    ("kernel-bredr-legacy-pin.btsnoop", 7),
    ("kernel-bredr-ssp-just-works.btsnoop", 4),
    ("kernel-bredr-ssp-numeric-comparison.btsnoop", 5),
    ("kernel-bredr-ssp-passkey.btsnoop", 5),
    ("kernel-le-legacy-just-works.btsnoop", 5),
    ("kernel-le-legacy-passkey.btsnoop", 5),
    ("kernel-le-sc-just-works.btsnoop", 5),
    ("kernel-le-sc-numeric-comparison.btsnoop", 5),
    ("kernel-le-sc-passkey.btsnoop", 5),
];

/// What the capture says a command ended with.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Reply(Vec<u8>),
    Failed(Status),
    NoReply,
}

struct Command {
    index: ControllerIndex,
    opcode: Opcode,
    params: Vec<u8>,
    expected: Expected,
}

/// The main socket's commands and, for each, the Command Complete or failing Command Status
/// the capture recorded for it (first unclaimed one with the same index and opcode).
fn commands(conv: &Conversation) -> Vec<Command> {
    let mut claimed = vec![false; conv.steps.len()];
    let mut out = Vec::new();
    for (i, step) in conv.steps.iter().enumerate() {
        let ScriptStep::Write(frame) = step else {
            continue;
        };
        let raw = RawFrame::parse("command", frame).unwrap();
        let opcode = Opcode(raw.code);
        let mut expected = Expected::NoReply;
        for (j, later) in conv.steps.iter().enumerate().skip(i + 1) {
            let ScriptStep::Read(ev) = later else {
                continue;
            };
            let e = RawFrame::parse("event", ev).unwrap();
            if claimed[j] || !(e.code == 1 || e.code == 2) || e.index != raw.index {
                continue;
            }
            if u16::from_le_bytes([e.params[0], e.params[1]]) != opcode.0 {
                continue;
            }
            let status = Status(e.params[2]);
            if e.code == 2 && status.is_success() {
                claimed[j] = true;
                continue;
            }
            claimed[j] = true;
            expected = if status.is_success() {
                Expected::Reply(e.params[3..].to_vec())
            } else {
                Expected::Failed(status)
            };
            break;
        }
        out.push(Command {
            index: raw.index,
            opcode,
            params: raw.params.to_vec(),
            expected,
        });
    }
    out
}

/// Drives `client` with `cmds`, submitting each once the previous one has been written (so
/// the order of writes is the capture's whatever lane each command takes), and checks every
/// outcome against the capture.
///
/// Returns the kind of each command's error (`None` for a reply).
async fn drive(
    name: &str,
    client: &Client,
    script: &ScriptedTransport,
    cmds: &[Command],
) -> Vec<Option<ErrorKind>> {
    let mut kinds = Vec::new();
    let mut pending = Vec::new();
    for (i, c) in cmds.iter().enumerate() {
        let mut waited = 0;
        while script.writes_done() < i {
            assert!(
                script.mismatch().is_none(),
                "{name}: {}",
                script.mismatch().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += 1;
            assert!(waited < 5000, "{name}: command #{} never written", i - 1);
        }
        pending.push(client.submit_raw(c.index, c.opcode, c.params.clone(), None));
    }
    for (i, (c, p)) in cmds.iter().zip(pending).enumerate() {
        let outcome = tokio::time::timeout(Duration::from_secs(10), p)
            .await
            .unwrap_or_else(|_| panic!("{name}: command #{i} ({}) got no outcome", c.opcode));
        kinds.push(outcome.as_ref().err().map(|e| e.kind()));
        match (&c.expected, outcome) {
            (Expected::Reply(params), Ok(reply)) => {
                assert_eq!(
                    reply,
                    CommandReply {
                        index: c.index,
                        opcode: c.opcode,
                        params: params.clone()
                    },
                    "{name}: command #{i}"
                );
                reply
                    .any()
                    .unwrap_or_else(|e| panic!("{name}: reply #{i} does not decode: {e}"));
            }
            // Invalid Index for a controller the client knew: it was removed.
            (Expected::Failed(Status::INVALID_INDEX), Err(e))
                if matches!(e.kind(), ErrorKind::ControllerRemoved { .. }) => {}
            (Expected::Failed(status), Err(e)) => {
                assert_eq!(e.status(), Some(*status), "{name}: command #{i}: {e}");
            }
            (Expected::NoReply, Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::Closed, "{name}: command #{i}: {e}")
            }
            (expected, got) => panic!(
                "{name}: command #{i} ({}): expected {expected:?}, got {got:?}",
                c.opcode
            ),
        }
    }
    kinds
}

fn ensure_fixtures() {
    for (name, _) in FIXTURES {
        assert!(
            fixture(name).exists(),
            "fixtures/{name} is missing (see fixtures/README.md)"
        );
    }
}

/// Drives the client through `conv` (of capture `name`, the socket `socket`) and checks the
/// whole conversation was played.
async fn replay_through_client(name: &str, socket: &str, conv: Conversation) {
    let cmds = commands(&conv);
    let script = Arc::new(conv.into_transport());
    let client = Client::with_transport(script.clone());
    drive(name, &client, &script, &cmds).await;
    script
        .check_done()
        .unwrap_or_else(|e| panic!("{socket}: {e}"));
}

#[tokio::test]
async fn every_capture_replays_through_the_client() {
    ensure_fixtures();
    for (name, count) in FIXTURES {
        let conv = Conversation::from_capture(fixture(name), ReplaySocket::FirstCommand).unwrap();
        let cmds = commands(&conv);
        println!("{name}: {} commands", cmds.len());
        assert_eq!(cmds.len(), *count, "{name}");
        replay_through_client(name, name, conv).await;
    }
}

/// The pairing captures hold a Pair Device answered only after a pairing reply overtook it:
/// replaying them proves the client sends the reply while Pair Device is pending.
#[tokio::test]
async fn pairing_captures_need_the_reply_lane() {
    ensure_fixtures();
    for name in [
        "le-sc-numeric-comparison.btsnoop",
        "le-sc-passkey.btsnoop",
        "bredr-ssp-numeric-comparison.btsnoop",
    ] {
        let conv = Conversation::from_capture(fixture(name), ReplaySocket::FirstCommand).unwrap();
        let cmds = commands(&conv);
        // Step positions: Pair Device written, the pairing reply written, Pair Device answered.
        let writes: Vec<usize> = conv
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, ScriptStep::Write(_)))
            .map(|(i, _)| i)
            .collect();
        let pair = cmds
            .iter()
            .position(|c| c.opcode == Opcode::PAIR_DEVICE)
            .unwrap();
        let reply = pair
            + 1
            + cmds[pair + 1..]
                .iter()
                .position(|c| {
                    [Opcode::USER_CONFIRM_REPLY, Opcode::USER_PASSKEY_REPLY].contains(&c.opcode)
                })
                .unwrap();
        let pair_done = conv
            .steps
            .iter()
            .position(|s| matches!(s, ScriptStep::Read(f) if f[0] == 1 && f[6] == 0x19))
            .unwrap();
        assert!(
            writes[pair] < writes[reply] && writes[reply] < pair_done,
            "{name}"
        );
        // Without the reply lane the pairing reply would wait behind Pair Device, whose reply
        // the capture only gives after the pairing reply: `drive` would stall and fail.
        let script = Arc::new(conv.into_transport());
        let client = Client::with_transport(script.clone());
        drive(name, &client, &script, &cmds).await;
        script.check_done().unwrap();
    }
}

#[tokio::test]
async fn every_socket_of_every_capture_replays() {
    ensure_fixtures();
    for (name, _) in FIXTURES {
        let records: Vec<_> = bluez_mgmt::capture::CaptureReader::open(fixture(name))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let sockets = Conversation::sockets(&records).unwrap();
        for (cookie, instance) in sockets {
            let conv =
                Conversation::from_records(&records, ReplaySocket::Instance { cookie, instance })
                    .unwrap();
            let socket = format!("{name} cookie {cookie} #{instance}");
            replay_through_client(name, &socket, conv).await;
        }
    }
}

#[tokio::test]
async fn a_wrong_command_fails_with_a_diff() {
    ensure_fixtures();
    let name = "le-sc-numeric-comparison.btsnoop";
    let script =
        Arc::new(bluez_mgmt::transport::replay(fixture(name), ReplaySocket::FirstCommand).unwrap());
    let client = Client::with_transport(script.clone());
    // The capture starts with Read Version; send Read Controller Index List instead.
    let err = client
        .submit_raw(ControllerIndex::NONE, Opcode::READ_INDEX_LIST, vec![], None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    let text = err.to_string();
    assert!(
        text.contains("expected: - Read Management Version Information (0x0001) ReadVersion"),
        "{text}"
    );
    assert!(
        text.contains("actual:   - Read Controller Index List (0x0003) ReadIndexList"),
        "{text}"
    );
    assert!(text.contains("0100ffff0000"), "{text}");
}

/// Recording: the le-sc-passkey session replayed through a recording transport writes a
/// capture whose commands and events are the replayed socket's, in the same order.
#[tokio::test]
async fn recording_writes_a_capture_of_the_session() {
    ensure_fixtures();
    let name = "le-sc-passkey.btsnoop";
    let conv = Conversation::from_capture(fixture(name), ReplaySocket::FirstCommand).unwrap();
    let cmds = commands(&conv);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("recorded.btsnoop");
    let script = Arc::new(conv.clone().into_transport());
    {
        let writer = CaptureWriter::create(&out).unwrap();
        let recorder = RecordingTransport::new(script.clone(), writer, 77, "client-test");
        let client = Client::with_transport(recorder);
        drive(name, &client, &script, &cmds).await;
        drop(client);
        // Let the driver task wind down and drop the recorder (which writes CTRL_CLOSE).
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = Conversation::from_capture(&out, ReplaySocket::Cookie(77)).unwrap();
    let split = |steps: &[ScriptStep]| -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut w = Vec::new();
        let mut r = Vec::new();
        for s in steps {
            match s {
                ScriptStep::Write(f) => w.push(f.clone()),
                ScriptStep::Read(f) => r.push(f.clone()),
            }
        }
        (w, r)
    };
    assert_eq!(split(&recorded.steps), split(&conv.steps));
    let records: Vec<_> = bluez_mgmt::capture::CaptureReader::open(&out)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    match records.first().map(|r| r.body().unwrap()) {
        Some(bluez_mgmt::capture::RecordBody::ControlOpen(o)) => {
            assert_eq!(o.cookie, 77);
            assert_eq!(o.ident_text(), "client-test");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        records.last().map(|r| r.body().unwrap()),
        Some(bluez_mgmt::capture::RecordBody::ControlClose(c)) if c.cookie == 77
    ));
    // Replaying the recording itself works too.
    let again = Arc::new(bluez_mgmt::transport::replay(&out, ReplaySocket::Cookie(77)).unwrap());
    let client = Client::with_transport(again.clone());
    drive("recorded", &client, &again, &cmds).await;
    again.check_done().unwrap();
    let _: &dyn Transport = &*again;
}

/// In client-controller-removed.btsnoop (recorded by the kernel tier), the kernel answered the
/// pending Pair Device with Invalid Index and then sent Index Removed: replayed, the client
/// reports the controller's removal, not a bare status.
#[tokio::test]
async fn replayed_removal_is_reported_as_controller_removed() {
    ensure_fixtures();
    let name = "client-controller-removed.btsnoop";
    let records: Vec<_> = bluez_mgmt::capture::CaptureReader::open(fixture(name))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut checked = 0;
    for (cookie, instance) in Conversation::sockets(&records).unwrap() {
        let conv =
            Conversation::from_records(&records, ReplaySocket::Instance { cookie, instance })
                .unwrap();
        let cmds = commands(&conv);
        let Some(pair) = cmds.iter().position(|c| c.opcode == Opcode::PAIR_DEVICE) else {
            continue;
        };
        assert_eq!(cmds[pair].expected, Expected::Failed(Status::INVALID_INDEX));
        let script = Arc::new(conv.into_transport());
        let client = Client::with_transport(script.clone());
        let kinds = drive(name, &client, &script, &cmds).await;
        assert_eq!(
            kinds[pair],
            Some(ErrorKind::ControllerRemoved {
                opcode: Opcode::PAIR_DEVICE,
                index: cmds[pair].index
            })
        );
        checked += 1;
    }
    assert_eq!(checked, 1);
}
