//! The agent runner over the real MGMT client, replaying real pairings captured in the QEMU
//! lab (kernel 6.1; see fixtures/README.md): the runner must write exactly the pairing
//! commands the capture's client wrote (Set IO Capability, Pair Device, the reply, Unpair
//! Device), byte for byte, and hand the agent the captured request.
//!
//! Each capture's conversation is cut down to the pairing commands: the capture's client
//! also powered the controller and read its information first, which the runner does not do;
//! those commands and their Command Complete events are dropped, every other frame is kept
//! as recorded.

use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::{Call, KeyKind, KeyNotice, Peer, ScriptedAgent};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{PairError, PairingService};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, EventCode, IoCapability, Opcode, Status,
};
use bluez_mgmt::transport::{ScriptStep, ScriptedTransport};

mod support;
use support::{confirmed_then_keyed, fixture_steps, on_every_wire, service_on, u16_at, Wire};

/// Set IO Capability, Pair Device, Cancel Pair Device, Unpair Device and the six replies.
const PAIRING_OPCODES: [Opcode; 10] = [
    Opcode::PIN_CODE_REPLY,
    Opcode::PIN_CODE_NEG_REPLY,
    Opcode::SET_IO_CAPABILITY,
    Opcode::PAIR_DEVICE,
    Opcode::CANCEL_PAIR_DEVICE,
    Opcode::UNPAIR_DEVICE,
    Opcode::USER_CONFIRM_REPLY,
    Opcode::USER_CONFIRM_NEG_REPLY,
    Opcode::USER_PASSKEY_REPLY,
    Opcode::USER_PASSKEY_NEG_REPLY,
];

/// The pairing part of the first MGMT client's conversation in `fixtures/<name>.btsnoop`.
fn pairing_script(name: &str) -> Arc<ScriptedTransport> {
    let steps: Vec<ScriptStep> = fixture_steps(name)
        .into_iter()
        .filter(|s| match s {
            ScriptStep::Write(f) => PAIRING_OPCODES.contains(&Opcode(u16_at(f, 0))),
            // Command Complete / Command Status carry the opcode they answer first.
            ScriptStep::Read(f)
                if [EventCode::COMMAND_COMPLETE, EventCode::COMMAND_STATUS]
                    .contains(&EventCode(u16_at(f, 0))) =>
            {
                PAIRING_OPCODES.contains(&Opcode(u16_at(f, 6)))
            }
            ScriptStep::Read(_) => true,
        })
        .collect();
    Arc::new(ScriptedTransport::new(steps))
}

fn bumble(address_type: AddressType, display: [u8; 6]) -> Peer {
    Peer::new(
        ControllerIndex(0),
        AddressInfo::new(Address::from_display_bytes(display), address_type),
    )
}

async fn runner(
    script: &Arc<ScriptedTransport>,
    agent: ScriptedAgent,
    wire: Wire,
) -> PairingService<ScriptedAgent> {
    let client = wire.client(script);
    let runner = service_on(&client, ControllerIndex(0), agent, true);
    runner.start().await.expect("Set IO Capability as captured");
    runner
}

/// Replays `name`: the runner pairs with `peer` as `io`, the agent answering as scripted, and
/// the agent has heard of the request and the key.
async fn paired(
    name: &str,
    agent: &ScriptedAgent,
    io: IoCapability,
    peer: &Peer,
    wire: Wire,
) -> (Arc<ScriptedTransport>, PairingService<ScriptedAgent>) {
    let script = pairing_script(name);
    let runner = runner(&script, agent.clone(), wire).await;
    runner
        .pair(peer, io, Duration::from_secs(10))
        .await
        .expect("paired");
    agent.wait_for_calls(2, Duration::from_secs(5)).await;
    (script, runner)
}

async fn unpair_both_le_types(runner: &PairingService<ScriptedAgent>, peer: &Peer) {
    // The capture's client then unpaired the address as BR/EDR and as LE public: neither
    // type had keys (the keys are under the LE random identity), so both say Not Paired.
    for t in [AddressType::BR_EDR, AddressType::LE_PUBLIC] {
        let mut p = peer.clone();
        p.address.address_type = t;
        assert_eq!(
            runner.unpair(&p, true).await,
            Err(PairError::Status(Status::NOT_PAIRED))
        );
    }
}

// The captured numeric comparison also runs through the kernel transport, over a socket
// whose far end plays the capture: the whole service on the real socket code.
on_every_wire!(le_sc_numeric_comparison_capture);

async fn le_sc_numeric_comparison_capture(wire: Wire) {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let peer = bumble(AddressType::LE_RANDOM, [0xC0, 0xBB, 0, 0, 0, 2]);
    let (script, runner) = paired(
        "le-sc-numeric-comparison",
        &agent,
        IoCapability::DISPLAY_YES_NO,
        &peer,
        wire,
    )
    .await;
    agent.assert_calls(&confirmed_then_keyed(&peer, 634_034, KeyKind::LongTermKey));
    unpair_both_le_types(&runner, &peer).await;
    script.check_done().expect("every captured command written");
}

#[tokio::test]
async fn le_sc_passkey_capture() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY).then_passkey(Some(654_321));
    let peer = bumble(AddressType::LE_RANDOM, [0xC0, 0xBB, 0, 0, 0, 2]);
    let (script, runner) = paired(
        "le-sc-passkey",
        &agent,
        IoCapability::KEYBOARD_ONLY,
        &peer,
        Wire::Script,
    )
    .await;
    assert_eq!(
        agent.calls()[0],
        Call::RequestPasskey { peer: peer.clone() }
    );
    assert!(matches!(
        agent.calls()[1],
        Call::Completed {
            key: KeyNotice {
                kind: KeyKind::LongTermKey,
                authenticated: true,
                ..
            },
            ..
        }
    ));
    unpair_both_le_types(&runner, &peer).await;
    script.check_done().expect("every captured command written");
}

#[tokio::test]
async fn bredr_ssp_numeric_comparison_capture() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let peer = bumble(AddressType::BR_EDR, [0, 0xBB, 0, 0, 0, 2]);
    let (script, runner) = paired(
        "bredr-ssp-numeric-comparison",
        &agent,
        IoCapability::DISPLAY_YES_NO,
        &peer,
        Wire::Script,
    )
    .await;
    agent.assert_calls(&confirmed_then_keyed(&peer, 13_327, KeyKind::LinkKey));
    // Here the BR/EDR address had the key: the first Unpair succeeds.
    runner.unpair(&peer, true).await.expect("unpaired");
    let mut le = peer.clone();
    le.address.address_type = AddressType::LE_PUBLIC;
    assert_eq!(
        runner.unpair(&le, true).await,
        Err(PairError::Status(Status::NOT_PAIRED))
    );
    script.check_done().expect("every captured command written");
}

/// A wrong answer is caught by the replay: the runner must not write a reply the capture's
/// client did not write.
#[tokio::test]
async fn a_different_answer_does_not_match_the_capture() {
    let script = pairing_script("le-sc-numeric-comparison");
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(false);
    let runner = runner(&script, agent.clone(), Wire::Script).await;
    let peer = bumble(AddressType::LE_RANDOM, [0xC0, 0xBB, 0, 0, 0, 2]);
    let r = runner
        .pair(
            &peer,
            IoCapability::DISPLAY_YES_NO,
            Duration::from_millis(500),
        )
        .await;
    assert!(
        r.is_err(),
        "the negative reply cannot complete the captured pairing"
    );
    let m = script.mismatch().expect("the negative reply was flagged");
    assert_eq!(Opcode(u16_at(&m.actual, 0)), Opcode::USER_CONFIRM_NEG_REPLY);
}

/// The start-up rehearsal never reaches the kernel: with a rehearsal agent the runner still
/// writes exactly the capture's commands, the real agent hears only the captured request, and
/// the rehearsal agent is asked once, about a made-up peer on no controller.
#[tokio::test]
async fn a_rehearsal_agent_is_asked_once_and_nothing_of_it_reaches_the_kernel() {
    let script = pairing_script("le-sc-numeric-comparison");
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let rehearsal = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let client = Client::with_transport(script.clone());
    let runner = service_on(&client, ControllerIndex(0), agent.clone(), true)
        .with_rehearsal_agent(rehearsal.clone());
    runner.start().await.expect("Set IO Capability as captured");
    let asked = rehearsal.calls();
    assert!(
        matches!(
            asked.as_slice(),
            [Call::ConfirmValue { peer, .. }] if peer.index == ControllerIndex::NONE
        ),
        "the rehearsal agent is asked one confirmation on no controller: {asked:?}"
    );
    let peer = bumble(AddressType::LE_RANDOM, [0xC0, 0xBB, 0, 0, 0, 2]);
    runner
        .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(10))
        .await
        .expect("paired");
    agent.wait_for_calls(2, Duration::from_secs(5)).await;
    agent.assert_calls(&confirmed_then_keyed(&peer, 634_034, KeyKind::LongTermKey));
    assert_eq!(rehearsal.calls().len(), 1, "asked at start only");
    unpair_both_le_types(&runner, &peer).await;
    script.check_done().expect("every captured command written");
}
