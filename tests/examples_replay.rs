//! The replay example's logic (examples/replay_capture.rs) and the guide's steps
//! (`bluez_mgmt::guide`) on a pairing the kernel tier recorded
//! (fixtures/kernel-le-sc-numeric-comparison.btsnoop): with an agent that accepts, every
//! recorded command matches; with one that refuses, the replay fails with the mismatch decoded
//! in words, its capture record and its socket.

#[allow(dead_code)]
#[path = "../examples/replay_capture.rs"]
mod replay_capture;

use std::time::Duration;

use bluez_mgmt::agent::{KeyKind, ScriptedAgent};
use bluez_mgmt::pairing::{PairError, Report, RequestKind};
use bluez_mgmt::protocol::{IoCapability, Status};
use bluez_mgmt::transport::Conversation;

mod support;
use support::{confirmed_then_keyed, conversation};

/// The fixture, as the guide tells a user to copy their own recording into `tests/`.
fn recorded() -> Conversation {
    conversation("kernel-le-sc-numeric-comparison")
}

#[tokio::test]
async fn an_accepting_agent_replays_the_recorded_pairing() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let replayed = replay_capture::replay_pairing(recorded(), agent.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let peer = replayed.peer.clone();
    assert_eq!(peer.to_string(), "hci0 C0:BB:00:00:00:02 (LE Random)");
    agent.wait_for_calls(2, Duration::from_secs(5)).await;
    // The value the kernel showed in the recording.
    agent.assert_calls(&confirmed_then_keyed(&peer, 210_959, KeyKind::LongTermKey));
    assert!(
        replayed.reports.contains(&Report::Answered {
            peer: peer.clone(),
            request: RequestKind::ConfirmValue,
            accepted: true,
        }),
        "{:?}",
        replayed.reports
    );
    // The recording unpaired three addresses; only the LE random one had keys.
    let outcomes: Vec<_> = replayed.unpaired.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Err(PairError::Status(Status::NOT_PAIRED)),
            Err(PairError::Status(Status::NOT_PAIRED)),
            Ok(()),
        ]
    );
}

#[tokio::test]
async fn a_refusing_agent_fails_with_the_decoded_mismatch() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(false);
    let failure = replay_capture::replay_pairing(recorded(), agent)
        .await
        .expect_err("refusing is not what the recording holds");
    // Shown in the test's output (`cargo test --test examples_replay -- --nocapture`) and
    // quoted in the guide.
    println!("{failure}");
    for words in [
        "expected: hci0 User Confirmation Reply (0x001c)",
        "actual:   hci0 User Confirmation Negative Reply (0x001d)",
        "capture record #",
        "socket cookie 1",
        "\"pairing_bumble:\"",
    ] {
        assert!(
            failure.contains(words),
            "{words:?} missing from:\n{failure}"
        );
    }
}
