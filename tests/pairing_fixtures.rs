//! The kernel tier's pairing captures, one per association model and procedure, replayed
//! through the MGMT client and the agent runner with a [`ScriptedAgent`] (see
//! fixtures/README.md for how each was recorded: tests/kernel/pairing_bumble.rs and
//! tests/kernel/legacy_pin.rs, Linux 6.1 in QEMU).
//!
//! Each capture holds one scenario driven by the runner from one MGMT socket, so the replay
//! runs the whole conversation: the runner must write every command the capture's runner
//! wrote, byte for byte and in order (Pair Device, the answers, the Unpair Devices), and the
//! agent must be asked exactly what the capture's agent was asked (kind, peer and value, the
//! value read from the captured request), given the captured answers (the typed passkey read
//! from the captured User Passkey Reply), and told of every key the capture delivered.

use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::{Call, KeyKind, KeyNotice, Peer, PinCode, ScriptedAgent};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::PairingService;
use bluez_mgmt::protocol::event::ConfirmHint;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, AnyCommand, CommandFrame, ControllerIndex, Event,
    EventFrame, IoCapability, Opcode,
};
use bluez_mgmt::transport::{ScriptStep, ScriptedTransport};

mod support;
use support::{controller_address, conversation, service_on, u16_at, Wire};

/// The Bumble peer's public (BR/EDR) address, printed by the peer script.
const BUMBLE: &str = "00:BB:00:00:00:02";
/// The Bumble peer's LE static random address (its LE identity).
const BUMBLE_LE: &str = "C0:BB:00:00:00:02";

/// A pairing request the capture's kernel raised to the runner's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// User Confirmation Request with hint 1 (Just Works).
    Authorize,
    /// User Confirmation Request with hint 0 and this value.
    Confirm(u32),
    /// User Passkey Request.
    Passkey,
    /// Passkey Notify with this passkey.
    Notify(u32),
    /// PIN Code Request with this `secure` flag.
    Pin(bool),
}

/// What one capture's conversation holds.
struct Recorded {
    steps: Vec<ScriptStep>,
    /// The controller of the first command (Pair Device in the Bumble scenarios).
    index: ControllerIndex,
    /// Requests, per controller, in order.
    requests: Vec<(ControllerIndex, Request)>,
    /// Passkeys the runner typed (User Passkey Reply), in order.
    typed: Vec<u32>,
    /// Keys delivered, as the agent hears of them.
    keys: Vec<(ControllerIndex, Call)>,
}

fn recorded(name: &str) -> Recorded {
    let conv = conversation(name);
    let mut r = Recorded {
        steps: conv.steps.clone(),
        index: ControllerIndex::NONE,
        requests: Vec::new(),
        typed: Vec::new(),
        keys: Vec::new(),
    };
    for step in &conv.steps {
        match step {
            ScriptStep::Write(bytes) => {
                let f = CommandFrame::decode(bytes).expect("captured command decodes");
                if r.index == ControllerIndex::NONE {
                    r.index = f.index;
                }
                if let AnyCommand::UserPasskeyReply(c) = f.command {
                    r.typed.push(c.passkey);
                }
            }
            ScriptStep::Read(bytes) => {
                let f = EventFrame::decode(bytes).expect("captured event decodes");
                let i = f.index;
                let completed = |a: &AddressInfo, kind, authenticated, persistent| {
                    let peer = Peer::new(i, a.clone());
                    let key = KeyNotice {
                        kind,
                        authenticated,
                        persistent,
                    };
                    (i, Call::Completed { peer, key })
                };
                match f.event {
                    Event::UserConfirmRequest(e)
                        if e.confirm_hint == ConfirmHint::AUTHORIZATION_ONLY =>
                    {
                        r.requests.push((i, Request::Authorize))
                    }
                    Event::UserConfirmRequest(e) => r.requests.push((i, Request::Confirm(e.value))),
                    Event::UserPasskeyRequest(_) => r.requests.push((i, Request::Passkey)),
                    Event::PasskeyNotify(e) => r.requests.push((i, Request::Notify(e.passkey))),
                    Event::PinCodeRequest(e) => r.requests.push((i, Request::Pin(e.secure))),
                    Event::NewLinkKey(e) => r.keys.push(completed(
                        &e.key.address,
                        KeyKind::LinkKey,
                        e.key.key_type.is_authenticated(),
                        e.store_hint,
                    )),
                    Event::NewLongTermKey(e) => r.keys.push(completed(
                        &e.key.address,
                        KeyKind::LongTermKey,
                        e.key.key_type.is_authenticated(),
                        e.store_hint,
                    )),
                    _ => {}
                }
            }
        }
    }
    r
}

/// The capture's runner initiated: Pair Device carries the IO capability.
fn runner(
    client: &Client,
    index: ControllerIndex,
    agent: ScriptedAgent,
) -> PairingService<ScriptedAgent> {
    service_on(client, index, agent, false)
}

/// Replays one kernel-initiated pairing with the Bumble peer. `requests` are the request
/// kinds the capture must hold (values come from the capture); `authenticated` is the flag
/// every delivered key must carry.
async fn replay_against_bumble(
    name: &str,
    transport: AddressType,
    io: IoCapability,
    requests: &[fn(&Request) -> bool],
    authenticated: bool,
    wire: Wire,
) {
    let rec = recorded(name);
    let index = rec.index;
    let (address, le): (Address, Address) = (BUMBLE.parse().unwrap(), BUMBLE_LE.parse().unwrap());
    let target = match transport {
        AddressType::BR_EDR => Peer::new(index, AddressInfo::new(address, transport)),
        _ => Peer::new(index, AddressInfo::new(le, AddressType::LE_RANDOM)),
    };

    // The capture holds the requests the scenario is about, on the runner's controller.
    let captured: Vec<Request> = rec.requests.iter().map(|(_, r)| *r).collect();
    assert_eq!(
        captured.len(),
        requests.len(),
        "{name}: requests {captured:?}"
    );
    for (r, is) in captured.iter().zip(requests) {
        assert!(is(r), "{name}: unexpected request {r:?} in {captured:?}");
    }
    assert!(!rec.keys.is_empty(), "{name}: the capture delivered keys");

    // Script the agent with the captured answers; the runner itself answers the Just Works
    // authorization of a pairing it started.
    let mut agent = ScriptedAgent::new(io);
    let mut typed = rec.typed.iter();
    let mut expected = Vec::new();
    for r in &captured {
        match r {
            Request::Confirm(value) => {
                agent = agent.then_confirm(true);
                expected.push(Call::ConfirmValue {
                    peer: target.clone(),
                    value: *value,
                });
            }
            Request::Passkey => {
                let passkey = *typed.next().expect("a captured User Passkey Reply");
                agent = agent.then_passkey(Some(passkey));
                expected.push(Call::RequestPasskey {
                    peer: target.clone(),
                });
            }
            Request::Notify(passkey) => expected.push(Call::DisplayPasskey {
                peer: target.clone(),
                passkey: *passkey,
                entered: 0,
            }),
            Request::Authorize | Request::Pin(_) => {}
        }
    }
    expected.extend(rec.keys.iter().map(|(_, c)| c.clone()));

    let script = Arc::new(ScriptedTransport::new(rec.steps.clone()));
    let client = wire.client(&script);
    let runner = runner(&client, index, agent.clone());
    let _task = runner.start().await.expect("runner starts");
    runner
        .pair(&target, io, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{name} over {wire:?}: the captured pairing succeeds: {e}"));
    agent
        .wait_for_calls(expected.len(), Duration::from_secs(5))
        .await;
    // The scenario then unpaired the peer under every address type.
    for (a, t) in [
        (address, AddressType::BR_EDR),
        (address, AddressType::LE_PUBLIC),
        (le, AddressType::LE_RANDOM),
    ] {
        let _ = runner
            .unpair(&Peer::new(index, AddressInfo::new(a, t)), true)
            .await;
    }
    agent.assert_calls(&expected);
    agent.assert_script_used();
    for call in &expected {
        if let Call::Completed { key, .. } = call {
            assert_eq!(key.authenticated, authenticated, "{name}: key {key:?}");
        }
    }
    script
        .check_done()
        .unwrap_or_else(|e| panic!("{name} over {wire:?}: every captured command written: {e}"));
}

fn authorize(r: &Request) -> bool {
    *r == Request::Authorize
}
fn confirm(r: &Request) -> bool {
    matches!(r, Request::Confirm(_))
}
fn passkey(r: &Request) -> bool {
    *r == Request::Passkey
}

/// One module per kernel-initiated capture, `script` and `thread` in it (the capture replayed
/// through each [`Wire`]: the driver thread answers a request before the session sees it):
/// `name: fixture, transport, IO capability, [the requests it holds], whether its keys are
/// authenticated;`.
macro_rules! bumble_replays {
    ($($name:ident: $fixture:literal, $transport:ident, $io:ident, [$($request:ident),*], $authenticated:literal;)*) => {$(
        mod $name {
            use super::*;

            async fn replay(wire: Wire) {
                replay_against_bumble(
                    $fixture,
                    AddressType::$transport,
                    IoCapability::$io,
                    &[$($request),*],
                    $authenticated,
                    wire,
                )
                .await;
            }

            #[tokio::test]
            async fn script() {
                replay(Wire::Script).await
            }

            #[tokio::test]
            async fn thread() {
                replay(Wire::Thread).await
            }
        }
    )*};
}

bumble_replays! {
    // DisplayYesNo against NoInputNoOutput: the initiating kernel accepts without asking.
    bredr_ssp_just_works: "kernel-bredr-ssp-just-works", BR_EDR, DISPLAY_YES_NO, [], false;
    bredr_ssp_numeric_comparison: "kernel-bredr-ssp-numeric-comparison", BR_EDR, DISPLAY_YES_NO, [confirm], true;
    // KeyboardOnly against DisplayOnly: the kernel types what Bumble displays.
    bredr_ssp_passkey: "kernel-bredr-ssp-passkey", BR_EDR, KEYBOARD_ONLY, [passkey], true;
    // The kernel asks even the initiator to authorize LE Just Works; the runner answers
    // for a pairing it started.
    le_sc_just_works: "kernel-le-sc-just-works", LE_RANDOM, DISPLAY_YES_NO, [authorize], false;
    le_sc_numeric_comparison: "kernel-le-sc-numeric-comparison", LE_RANDOM, DISPLAY_YES_NO, [confirm], true;
    le_sc_passkey: "kernel-le-sc-passkey", LE_RANDOM, KEYBOARD_ONLY, [passkey], true;
    le_legacy_just_works: "kernel-le-legacy-just-works", LE_RANDOM, DISPLAY_YES_NO, [authorize], false;
    le_legacy_passkey: "kernel-le-legacy-passkey", LE_RANDOM, KEYBOARD_ONLY, [passkey], true;
}

/// Legacy PIN pairing between btvirt's two kernel controllers, both answered from the one
/// captured socket by two runners; the PIN is the one tests/kernel/legacy_pin.rs gives. Over
/// each [`Wire`]: on the driver thread's, two services each take their request early.
#[tokio::test]
async fn bredr_legacy_pin() {
    for wire in [Wire::Script, Wire::Thread] {
        legacy_pin(wire).await;
    }
}

async fn legacy_pin(wire: Wire) {
    let name = "kernel-bredr-legacy-pin";
    let rec = recorded(name);
    // The initiator (Pair Device's controller) is asked first, then the responder.
    let (a, b) = match rec.requests[..] {
        [(a, _), (b, _)] => (a, b),
        _ => panic!("{name}: two PIN Code Requests, have {:?}", rec.requests),
    };
    assert_eq!(
        rec.requests,
        [(a, Request::Pin(false)), (b, Request::Pin(false))],
        "{name}: one PIN Code Request per side, not secure"
    );
    let pin = || Some(PinCode::new(*b"7291").unwrap());
    let agents = [
        ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_pin_code(pin()),
        ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_pin_code(pin()),
    ];
    let script = Arc::new(ScriptedTransport::new(rec.steps.clone()));
    let client = wire.client(&script);
    let initiator = runner(&client, a, agents[0].clone());
    let responder = runner(&client, b, agents[1].clone());
    let _ta = initiator.start().await.expect("initiator runner");
    let _tb = responder.start().await.expect("responder runner");
    let b_address = controller_address(&client, b).await;
    let a_address = controller_address(&client, a).await;
    let target = Peer::new(a, AddressInfo::new(b_address, AddressType::BR_EDR));
    initiator
        .pair(
            &target,
            IoCapability::DISPLAY_YES_NO,
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("{wire:?}: the captured PIN pairing succeeds: {e}"));
    let back = Peer::new(b, AddressInfo::new(a_address, AddressType::BR_EDR));
    for (n, (agent, peer)) in agents.iter().zip([&target, &back]).enumerate() {
        let mut expected = vec![Call::RequestPinCode {
            peer: peer.clone(),
            secure: false,
        }];
        expected.extend(
            rec.keys
                .iter()
                .filter(|(i, _)| *i == peer.index)
                .map(|(_, c)| c.clone()),
        );
        agent
            .wait_for_calls(expected.len(), Duration::from_secs(5))
            .await;
        agent.assert_calls(&expected);
        agent.assert_script_used();
        assert!(
            expected.len() == 2,
            "side {n}: one New Link Key (Combination, so unauthenticated)"
        );
        assert!(matches!(
            expected[1],
            Call::Completed {
                key: KeyNotice {
                    kind: KeyKind::LinkKey,
                    authenticated: false,
                    ..
                },
                ..
            }
        ));
    }
    for peer in [&target, &back] {
        let _ = initiator.unpair(peer, true).await;
    }
    script
        .check_done()
        .unwrap_or_else(|e| panic!("{name} over {wire:?}: every captured command written: {e}"));
}

/// The replay catches a wrong answer: typing another passkey than the captured runner did is
/// a command the capture does not hold.
#[tokio::test]
async fn a_different_passkey_does_not_match_the_capture() {
    let rec = recorded("kernel-bredr-ssp-passkey");
    let wrong = (rec.typed[0] + 1) % 1_000_000;
    let script = Arc::new(ScriptedTransport::new(rec.steps.clone()));
    let client = Client::with_transport(script.clone());
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY).then_passkey(Some(wrong));
    let runner = runner(&client, rec.index, agent);
    let _task = runner.start().await.expect("runner starts");
    let target = Peer::new(
        rec.index,
        AddressInfo::new(BUMBLE.parse().unwrap(), AddressType::BR_EDR),
    );
    let r = runner
        .pair(
            &target,
            IoCapability::KEYBOARD_ONLY,
            Duration::from_millis(500),
        )
        .await;
    assert!(r.is_err(), "the wrong passkey cannot complete the pairing");
    let m = script.mismatch().expect("the wrong reply was flagged");
    assert_eq!(Opcode(u16_at(&m.actual, 0)), Opcode::USER_PASSKEY_REPLY);
}
