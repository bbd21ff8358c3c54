//! The sans-IO pairing core, fed events and results by hand (no runtime, explicit time): what
//! it asks, replies, stores and reports. Cases that differ only in data are table rows.

use std::time::{Duration, Instant};

use bluez_mgmt::agent::{InvalidAnswer, Peer, PinCode};
use bluez_mgmt::keystore::AdapterId;
use bluez_mgmt::pairing::core::{SetUp, StoreResult};
use bluez_mgmt::pairing::{
    Action, Answer, ConfirmAnswerer, Controllers, CoreConfig, Notice, PairError, PairingCore,
    PairingReply, Question, Report, RequestKind, Ticket, KEYS_AT_STOP,
};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, EventCode, IoCapability, Status,
};

mod support;
use support::{HCI0, HCI1};

const TIMEOUT: Duration = Duration::from_secs(25);

fn config(store: bool) -> CoreConfig {
    CoreConfig {
        controllers: Controllers::All,
        answer_timeout: TIMEOUT,
        auto_accept_initiated: true,
        io_capability: Some(IoCapability::DISPLAY_YES_NO),
        store,
        load_bonds: store,
        power_on: store,
    }
}

fn addr(n: u8, t: AddressType) -> AddressInfo {
    AddressInfo::new(Address([n, 0, 0, 0, 0xBB, 0]), t)
}

fn peer(index: ControllerIndex, n: u8, t: AddressType) -> Peer {
    Peer::new(index, addr(n, t))
}

fn wire(a: &AddressInfo) -> Vec<u8> {
    [&a.address.0[..], &[a.address_type.0]].concat()
}

fn event(code: EventCode, params: &[u8]) -> Event {
    Event::decode(code, params).expect("a valid event")
}

fn confirm(a: &AddressInfo, hint: u8, value: u32) -> Event {
    event(
        EventCode::USER_CONFIRM_REQUEST,
        &[&wire(a)[..], &[hint], &value.to_le_bytes()].concat(),
    )
}

fn passkey_request(a: &AddressInfo) -> Event {
    event(EventCode::USER_PASSKEY_REQUEST, &wire(a))
}

fn pin_request(a: &AddressInfo, secure: bool) -> Event {
    event(
        EventCode::PIN_CODE_REQUEST,
        &[&wire(a)[..], &[secure as u8]].concat(),
    )
}

fn new_ltk(a: &AddressInfo, hint: bool) -> Event {
    event(
        EventCode::NEW_LONG_TERM_KEY,
        &[
            &[hint as u8][..],
            &wire(a),
            &[0x03, 0x00, 16],
            &[0; 10],
            &[7; 16],
        ]
        .concat(),
    )
}

fn drain(core: &mut PairingCore) -> Vec<Action> {
    std::iter::from_fn(|| core.poll_action()).collect()
}

/// `fn $name(actions) -> Vec<$t>`: the actions matching `$pat`, as `$out`.
macro_rules! picked {
    ($name:ident -> $t:ty, $pat:pat => $out:expr) => {
        fn $name(actions: &[Action]) -> Vec<$t> {
            actions
                .iter()
                .filter_map(|a| match a {
                    $pat => Some($out),
                    _ => None,
                })
                .collect()
        }
    };
}

picked!(asks -> (Ticket, Question), Action::Ask { ticket, question, .. } => (*ticket, question.clone()));
picked!(replies -> PairingReply, Action::Reply(r) => r.clone());
picked!(reports -> Report, Action::Report(r) => r.clone());
picked!(store_writes -> Ticket, Action::Store { ticket, .. } => *ticket);

/// The notice that the agent's question `ticket` about `p` was withdrawn.
fn cancelled(ticket: Ticket, p: &Peer) -> Action {
    Action::Notify(Notice::Cancelled {
        ticket,
        peer: p.clone(),
    })
}

fn adapter() -> AdapterId {
    AdapterId::public(Address([1, 0, 0, 1, 0xAA, 0]))
}

#[test]
fn each_request_is_asked_and_the_answer_checked_before_it_is_sent() {
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let a = &p.address;
    // (event, the question, the agent's answer, the reply sent, the report)
    let rows: Vec<(Event, Question, Answer, PairingReply, Report)> = vec![
        (
            confirm(a, 0, 123_456),
            Question::ConfirmValue(123_456),
            Answer::Bool(true),
            PairingReply::UserConfirm {
                peer: p.clone(),
                accept: true,
            },
            Report::Answered {
                peer: p.clone(),
                request: RequestKind::ConfirmValue,
                accepted: true,
            },
        ),
        (
            confirm(a, 1, 0),
            Question::Authorize,
            Answer::Bool(false),
            PairingReply::UserConfirm {
                peer: p.clone(),
                accept: false,
            },
            Report::Answered {
                peer: p.clone(),
                request: RequestKind::Authorize,
                accepted: false,
            },
        ),
        (
            passkey_request(a),
            Question::Passkey,
            Answer::Passkey(Some(999_999)),
            PairingReply::UserPasskey {
                peer: p.clone(),
                passkey: Some(999_999),
            },
            Report::Answered {
                peer: p.clone(),
                request: RequestKind::Passkey,
                accepted: true,
            },
        ),
        (
            passkey_request(a),
            Question::Passkey,
            Answer::Passkey(Some(1_000_000)),
            PairingReply::UserPasskey {
                peer: p.clone(),
                passkey: None,
            },
            Report::InvalidAnswer {
                peer: p.clone(),
                error: InvalidAnswer::PasskeyOutOfRange(1_000_000),
            },
        ),
        (
            pin_request(a, true),
            Question::PinCode(true),
            Answer::PinCode(Some(PinCode::new("0000").unwrap())),
            PairingReply::PinCode {
                peer: p.clone(),
                pin: None,
            },
            Report::InvalidAnswer {
                peer: p.clone(),
                error: InvalidAnswer::PinCodeNotSecure,
            },
        ),
        (
            pin_request(a, false),
            Question::PinCode(false),
            Answer::Failed,
            PairingReply::PinCode {
                peer: p.clone(),
                pin: None,
            },
            Report::AgentPanicked {
                peer: p.clone(),
                request: RequestKind::PinCode,
            },
        ),
    ];
    for (event, question, answer, reply, report) in rows {
        let mut core = PairingCore::new(config(false));
        core.handle_event(HCI0, &event, Instant::now());
        let asked = asks(&drain(&mut core));
        assert_eq!(asked.len(), 1, "{event:?}");
        assert_eq!(asked[0].1, question);
        core.handle_answer(asked[0].0, answer);
        let out = drain(&mut core);
        assert_eq!(replies(&out), vec![reply], "{question:?}");
        assert_eq!(reports(&out), vec![report], "{question:?}");
        // A second answer to the same ticket is ignored.
        core.handle_answer(asked[0].0, Answer::Bool(true));
        assert!(drain(&mut core).is_empty());
    }
}

#[test]
fn our_own_pairing_is_authorized_only_for_the_same_address_and_type() {
    let ours = peer(HCI0, 1, AddressType::LE_PUBLIC);
    // (the device asking, auto-accepted?)
    let rows = [
        (ours.clone(), true),
        (peer(HCI0, 1, AddressType::LE_RANDOM), false),
        (peer(HCI0, 1, AddressType::BR_EDR), false),
        (peer(HCI0, 2, AddressType::LE_PUBLIC), false),
        (peer(HCI1, 1, AddressType::LE_PUBLIC), false),
    ];
    for (asking, auto) in rows {
        let mut core = PairingCore::new(config(false));
        let pairing = core.start_pairing(ours.clone(), IoCapability::KEYBOARD_DISPLAY);
        assert!(matches!(drain(&mut core)[..], [Action::PairDevice { .. }]));
        core.handle_event(
            asking.index,
            &confirm(&asking.address, 1, 0),
            Instant::now(),
        );
        let out = drain(&mut core);
        if auto {
            assert_eq!(
                replies(&out),
                vec![PairingReply::UserConfirm {
                    peer: asking.clone(),
                    accept: true
                }]
            );
            assert_eq!(
                reports(&out),
                vec![Report::AutoAccepted {
                    peer: asking.clone()
                }]
            );
            // A stop now waits for the keys of what we accepted, until the pairing ends.
            core.handle_shutdown(Instant::now());
            drain(&mut core);
            assert!(!core.is_flushed());
            core.handle_pair_result(pairing, Err(PairError::Status(Status::CANCELLED)));
            assert!(core.is_flushed());
        } else {
            assert_eq!(asks(&out).len(), 1, "{asking}: the agent is asked");
            assert!(replies(&out).is_empty());
        }
    }
}

#[test]
fn an_unanswered_question_times_out_with_a_negative_reply() {
    let mut core = PairingCore::new(config(false));
    let p = peer(HCI0, 1, AddressType::BR_EDR);
    let t0 = Instant::now();
    core.handle_event(HCI0, &confirm(&p.address, 0, 42), t0);
    let (ticket, _) = asks(&drain(&mut core))[0].clone();
    assert_eq!(core.poll_timeout(), Some(t0 + TIMEOUT));
    core.handle_timeout(t0 + TIMEOUT - Duration::from_millis(1));
    assert!(drain(&mut core).is_empty(), "not yet");
    core.handle_timeout(t0 + TIMEOUT);
    let out = drain(&mut core);
    assert_eq!(
        out,
        vec![
            cancelled(ticket, &p),
            Action::Reply(PairingReply::UserConfirm {
                peer: p.clone(),
                accept: false
            }),
            Action::Report(Report::TimedOut {
                peer: p.clone(),
                request: RequestKind::ConfirmValue
            }),
        ]
    );
    assert_eq!(core.poll_timeout(), None);
    core.handle_answer(ticket, Answer::Bool(true));
    assert!(drain(&mut core).is_empty(), "a late answer is dropped");
}

#[test]
fn a_question_is_withdrawn_by_what_ends_it() {
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let a = &p.address;
    let removed = event(EventCode::INDEX_REMOVED, &[]);
    let failed = event(
        EventCode::AUTHENTICATION_FAILED,
        &[&wire(a)[..], &[0x05]].concat(),
    );
    let disconnected = event(
        EventCode::DEVICE_DISCONNECTED,
        &[&wire(a)[..], &[0x02]].concat(),
    );
    // (what happens next, on which controller, withdrawn?)
    let rows = [
        (confirm(a, 0, 7), HCI0, true),
        (failed, HCI0, true),
        (disconnected, HCI0, true),
        (removed.clone(), HCI0, true),
        (removed, HCI1, false),
    ];
    for (next, index, withdrawn) in rows {
        let mut core = PairingCore::new(config(false));
        core.handle_event(HCI0, &passkey_request(a), Instant::now());
        let (ticket, _) = asks(&drain(&mut core))[0].clone();
        core.handle_event(index, &next, Instant::now());
        let out = drain(&mut core);
        let cancelled = out.contains(&Action::Notify(Notice::Cancelled {
            ticket,
            peer: p.clone(),
        }));
        assert_eq!(cancelled, withdrawn, "{next:?} on {index}: {out:?}");
        assert_eq!(
            reports(&out).contains(&Report::Withdrawn { peer: p.clone() }),
            withdrawn
        );
    }
}

#[test]
fn controllers_are_set_up_at_start_and_when_added() {
    let mut core = PairingCore::new(CoreConfig {
        controllers: Controllers::Only(vec![HCI0, HCI1]),
        ..config(true)
    });
    core.start(&[HCI0, ControllerIndex(2)]);
    let set_up = |index| {
        Action::SetUp(SetUp {
            index,
            io_capability: Some(IoCapability::DISPLAY_YES_NO),
            load_bonds: true,
            power_on: true,
        })
    };
    assert_eq!(drain(&mut core), vec![set_up(HCI0)]);
    core.handle_event(HCI1, &event(EventCode::INDEX_ADDED, &[]), Instant::now());
    assert_eq!(drain(&mut core), vec![set_up(HCI1)]);
    core.handle_event(
        ControllerIndex(2),
        &event(EventCode::INDEX_ADDED, &[]),
        Instant::now(),
    );
    assert!(drain(&mut core).is_empty(), "not served");
}

#[test]
fn keys_are_stored_in_order_per_device_and_pairing_ends_once_they_are() {
    let mut core = PairingCore::new(config(true));
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let other = peer(HCI0, 2, AddressType::LE_PUBLIC);
    // A key before the controller's directory is known waits for it.
    core.handle_event(HCI0, &new_ltk(&other.address, true), Instant::now());
    assert!(!drain(&mut core)
        .iter()
        .any(|a| matches!(a, Action::Store { .. })));
    core.set_adapter(HCI0, adapter());
    let out = drain(&mut core);
    let Some(Action::Store {
        ticket: other_t, ..
    }) = out.first()
    else {
        panic!("{out:?}")
    };
    let other_t = *other_t;

    let pairing = core.start_pairing(p.clone(), IoCapability::DISPLAY_YES_NO);
    drain(&mut core);
    core.handle_event(HCI0, &new_ltk(&p.address, true), Instant::now());
    core.handle_event(HCI0, &new_ltk(&p.address, true), Instant::now());
    let stores = store_writes(&drain(&mut core));
    assert_eq!(stores.len(), 1, "one write in flight per device");
    core.handle_pair_result(pairing, Ok(()));
    assert!(
        drain(&mut core).is_empty(),
        "not done before its keys are stored"
    );
    let written = |a: &AddressInfo| StoreResult::Written {
        what: "long term key",
        device: a.clone(),
        path: "/x".into(),
    };
    core.handle_stored(stores[0], written(&p.address));
    let out = drain(&mut core);
    let next = store_writes(&out);
    assert_eq!(next.len(), 1, "the second write goes now: {out:?}");
    assert!(!out.iter().any(|a| matches!(a, Action::Done { .. })));
    // The other device's write, still out, does not hold this pairing.
    core.handle_stored(next[0], written(&p.address));
    let out = drain(&mut core);
    assert_eq!(
        out.last(),
        Some(&Action::Done {
            ticket: pairing,
            result: Ok(())
        })
    );
    core.handle_stored(other_t, written(&other.address));
}

/// "Paired" means stored: a pairing of ours whose key could not be written (the first or the
/// second of its two) ends with a store error once both writes are done, after the
/// StoreFailed report; the other key is still written.
#[test]
fn a_pairing_whose_key_could_not_be_written_ends_with_a_store_error() {
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let written = StoreResult::Written {
        what: "long term key",
        device: p.address.clone(),
        path: "/x".into(),
    };
    let failed = StoreResult::Failed {
        device: p.address.clone(),
        error: "disk full".into(),
    };
    for (first, second, ok) in [
        (&written, &written, true),
        (&failed, &written, false),
        (&written, &failed, false),
    ] {
        let mut core = PairingCore::new(config(true));
        core.set_adapter(HCI0, adapter());
        let pairing = core.start_pairing(p.clone(), IoCapability::DISPLAY_YES_NO);
        drain(&mut core);
        core.handle_event(HCI0, &new_ltk(&p.address, true), Instant::now());
        core.handle_event(HCI0, &new_ltk(&p.address, true), Instant::now());
        core.handle_pair_result(pairing, Ok(()));
        let mut out = drain(&mut core);
        for outcome in [first, second] {
            let stores = store_writes(&out);
            assert_eq!(stores.len(), 1, "{first:?}, {second:?}: {out:?}");
            core.handle_stored(stores[0], outcome.clone());
            out = drain(&mut core);
            let store_failed = reports(&out)
                .iter()
                .any(|r| matches!(r, Report::StoreFailed { .. }));
            assert_eq!(store_failed, std::ptr::eq(outcome, &failed), "{out:?}");
        }
        match out.last() {
            Some(Action::Done { ticket, result }) if *ticket == pairing => {
                assert_eq!(result.is_ok(), ok, "{result:?}");
                if let Err(e) = result {
                    assert!(
                        matches!(e, PairError::Store(m) if m.contains("disk full")),
                        "{e}"
                    );
                }
            }
            other => panic!("{first:?}, {second:?}: the pairing did not end: {other:?}"),
        }
    }
}

#[test]
fn unpair_forgets_the_stored_bond_also_on_not_paired() {
    // (kernel status, store used?, forget sent?, result)
    let rows = [
        (Status::SUCCESS, true, true, Ok(())),
        (
            Status::NOT_PAIRED,
            true,
            true,
            Err(PairError::Status(Status::NOT_PAIRED)),
        ),
        (
            Status::INVALID_PARAMETERS,
            true,
            false,
            Err(PairError::Status(Status::INVALID_PARAMETERS)),
        ),
        (Status::SUCCESS, false, false, Ok(())),
    ];
    for (status, store, forget, result) in rows {
        let mut core = PairingCore::new(config(store));
        core.set_adapter(HCI0, adapter());
        let p = peer(HCI0, 1, AddressType::BR_EDR);
        let t = core.start_unpair(p.clone(), true);
        assert!(matches!(
            drain(&mut core)[..],
            [Action::UnpairDevice { .. }]
        ));
        core.handle_unpair_result(t, Ok(status));
        let out = drain(&mut core);
        let forgot = out.iter().find_map(|a| match a {
            Action::Forget { ticket, device, .. } => Some((*ticket, *device)),
            _ => None,
        });
        assert_eq!(forgot.is_some(), forget, "{status:?}: {out:?}");
        let out = match forgot {
            Some((ft, device)) => {
                assert_eq!(device, p.address.address);
                core.handle_stored(ft, StoreResult::Removed(true));
                let out = drain(&mut core);
                assert!(reports(&out).contains(&Report::Removed {
                    index: HCI0,
                    device
                }));
                out
            }
            None => out,
        };
        assert_eq!(
            out.last(),
            Some(&Action::Done { ticket: t, result }),
            "{status:?}"
        );
    }
}

#[test]
fn a_key_whose_controller_goes_before_it_is_named_is_reported_not_stored() {
    let mut core = PairingCore::new(config(true));
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let pairing = core.start_pairing(p.clone(), IoCapability::DISPLAY_YES_NO);
    drain(&mut core);
    core.handle_event(HCI0, &new_ltk(&p.address, true), Instant::now());
    drain(&mut core);
    core.handle_event(HCI0, &event(EventCode::INDEX_REMOVED, &[]), Instant::now());
    let out = drain(&mut core);
    assert!(
        reports(&out)
            .iter()
            .any(|r| matches!(r, Report::StoreFailed { index, .. } if *index == HCI0)),
        "{out:?}"
    );
    assert_eq!(
        out.last(),
        Some(&Action::Done {
            ticket: pairing,
            result: Err(PairError::ControllerRemoved)
        })
    );
}

#[test]
fn shutdown_refuses_what_is_outstanding_cancels_our_pairing_and_waits_for_the_store() {
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let a = &p.address;
    let refused = |question: Question| match question {
        Question::ConfirmValue(_) | Question::Authorize => PairingReply::UserConfirm {
            peer: p.clone(),
            accept: false,
        },
        Question::Passkey => PairingReply::UserPasskey {
            peer: p.clone(),
            passkey: None,
        },
        Question::PinCode(_) => PairingReply::PinCode {
            peer: p.clone(),
            pin: None,
        },
    };
    // (the request pending at shutdown, its kind): each gets its time limit's negative reply.
    let rows = [
        (confirm(a, 0, 42), RequestKind::ConfirmValue),
        (confirm(a, 1, 0), RequestKind::Authorize),
        (passkey_request(a), RequestKind::Passkey),
        (pin_request(a, true), RequestKind::PinCode),
    ];
    for (request, kind) in rows {
        let mut core = PairingCore::new(config(true));
        core.set_adapter(HCI0, adapter());
        let other = peer(HCI0, 2, AddressType::LE_PUBLIC);
        // Our own pairing with another device, still pending on the kernel.
        let pairing = core.start_pairing(other.clone(), IoCapability::DISPLAY_YES_NO);
        core.handle_event(HCI0, &request, Instant::now());
        // A key queued before the shutdown: its write is in flight.
        core.handle_event(HCI0, &new_ltk(a, true), Instant::now());
        let out = drain(&mut core);
        let (ticket, question) = asks(&out)[0].clone();
        assert_eq!(question.kind(), kind);
        let store = *store_writes(&out).first().expect("a store write");
        assert!(!core.is_flushed());

        core.handle_shutdown(Instant::now());
        let out = drain(&mut core);
        assert_eq!(
            out,
            vec![
                cancelled(ticket, &p),
                Action::Reply(refused(question.clone())),
                Action::Report(Report::ShutDown {
                    peer: p.clone(),
                    request: kind
                }),
                Action::CancelPairDevice {
                    ticket: pairing,
                    peer: other.clone()
                },
            ],
            "{kind:?}"
        );
        assert_eq!(core.poll_timeout(), None, "nothing left to time out");
        core.handle_answer(ticket, Answer::Bool(true));
        assert!(drain(&mut core).is_empty(), "a late answer is dropped");
        // A request arriving while the store flushes is refused at once, never asked.
        core.handle_event(HCI0, &request, Instant::now());
        let out = drain(&mut core);
        assert!(asks(&out).is_empty(), "{out:?}");
        assert_eq!(replies(&out), vec![refused(question)]);
        // The write queued before the shutdown finishes: now the keys are flushed.
        assert!(!core.is_flushed());
        core.handle_stored(
            store,
            StoreResult::Written {
                what: "long term key",
                device: a.clone(),
                path: "/x".into(),
            },
        );
        drain(&mut core);
        assert!(core.is_flushed());
    }
}

fn new_link_key(a: &AddressInfo) -> Event {
    // Spec layout: store hint, address, key type (0x05: authenticated P-192), value, PIN length.
    event(
        EventCode::NEW_LINK_KEY,
        &[&[1][..], &wire(a), &[0x05], &[7; 16], &[0]].concat(),
    )
}

fn new_irk(rpa: &Address, identity: &AddressInfo) -> Event {
    // Spec layout: store hint, the resolvable private address, the identity, the key.
    event(
        EventCode::NEW_IDENTITY_RESOLVING_KEY,
        &[&[1][..], &rpa.0, &wire(identity), &[9; 16]].concat(),
    )
}

fn passkey_notify(a: &AddressInfo) -> Event {
    // Spec layout: address, passkey, digits entered.
    event(
        EventCode::PASSKEY_NOTIFY,
        &[&wire(a)[..], &123456u32.to_le_bytes(), &[0]].concat(),
    )
}

/// How our side took part in a pairing before a stop.
#[derive(Clone, Copy, Debug)]
enum TookPart {
    /// The agent answered a Numeric Comparison: yes or no.
    Answered(bool),
    /// The kernel showed a passkey for the peer to type.
    PasskeyShown,
}

/// How a wait for keys at a stop can end.
enum KeysEnd {
    /// These events arrive.
    Events(Vec<Event>),
    /// The limit passes.
    Limit,
}

/// A stop between our "yes" and the kernel's keys waits for them, bounded: the keys (by the
/// identity address when the peer paired from a resolvable private one), a failure, a
/// disconnection or the controller's removal end the wait; past [`KEYS_AT_STOP`] the keys are
/// given up with a report. A passkey the kernel shows counts as a "yes"; a "no" leaves nothing
/// to wait for, and while running no timer is kept for keys.
#[test]
fn a_stop_waits_for_the_keys_of_a_pairing_we_accepted() {
    let identity = addr(1, AddressType::LE_PUBLIC);
    let bredr = addr(1, AddressType::BR_EDR);
    let rpa = AddressInfo::new(Address([1, 0, 0, 0, 0xBB, 0x40]), AddressType::LE_RANDOM);
    let removed = event(EventCode::INDEX_REMOVED, &[]);
    let status = |code: EventCode| {
        let mut params = wire(&identity);
        params.push(0x05);
        event(code, &params)
    };
    use KeysEnd::{Events, Limit};
    use TookPart::{Answered, PasskeyShown};
    let yes = Answered(true);
    // (case, the address the request came from, how we took part, how the wait ends, keys
    // written, keys given up)
    let rows = [
        (
            "LTK",
            &identity,
            yes,
            Events(vec![new_ltk(&identity, true)]),
            1,
            false,
        ),
        (
            "link key",
            &bredr,
            yes,
            Events(vec![new_link_key(&bredr)]),
            1,
            false,
        ),
        (
            "IRK, then the LTK by identity",
            &rpa,
            yes,
            Events(vec![
                new_irk(&rpa.address, &identity),
                new_ltk(&identity, true),
            ]),
            2,
            false,
        ),
        (
            "failure",
            &identity,
            yes,
            Events(vec![status(EventCode::AUTHENTICATION_FAILED)]),
            0,
            false,
        ),
        (
            "disconnection",
            &identity,
            yes,
            Events(vec![status(EventCode::DEVICE_DISCONNECTED)]),
            0,
            false,
        ),
        (
            "controller removed",
            &identity,
            yes,
            Events(vec![removed]),
            0,
            false,
        ),
        ("limit", &identity, yes, Limit, 0, true),
        (
            "passkey shown, then the LTK",
            &identity,
            PasskeyShown,
            Events(vec![new_ltk(&identity, true)]),
            1,
            false,
        ),
        ("a no", &identity, Answered(false), Events(vec![]), 0, false),
    ];
    for (case, from, took_part, end, written, given_up) in rows {
        let mut core = PairingCore::new(config(true));
        core.set_adapter(HCI0, adapter());
        let t0 = Instant::now();
        let accept = match took_part {
            Answered(accept) => {
                core.handle_event(HCI0, &confirm(from, 0, 42), t0);
                let (ticket, _) = asks(&drain(&mut core))[0].clone();
                core.handle_answer(ticket, Answer::Bool(accept));
                accept
            }
            PasskeyShown => {
                // Shown, then shown again as the peer types (one wait all the same).
                core.handle_event(HCI0, &passkey_notify(from), t0);
                core.handle_event(HCI0, &passkey_notify(from), t0);
                true
            }
        };
        drain(&mut core);
        assert_eq!(core.poll_timeout(), None, "{case}: no timer while running");

        let stop = t0 + Duration::from_secs(1);
        core.handle_shutdown(stop);
        let awaiting: Vec<Report> = if accept {
            vec![Report::AwaitingKeys {
                peer: Peer::new(HCI0, from.clone()),
            }]
        } else {
            vec![]
        };
        assert_eq!(reports(&drain(&mut core)), awaiting, "{case}");
        assert_eq!(core.is_flushed(), !accept, "{case}");
        if accept {
            assert_eq!(core.poll_timeout(), Some(stop + KEYS_AT_STOP), "{case}");
        }
        match end {
            Events(events) => {
                for e in &events {
                    core.handle_event(HCI0, e, stop);
                }
            }
            Limit => {
                core.handle_timeout(stop + KEYS_AT_STOP - Duration::from_millis(1));
                assert!(!core.is_flushed(), "{case}: not before the limit");
                core.handle_timeout(stop + KEYS_AT_STOP);
            }
        }
        // Every write the keys asked for, in order, finishes.
        let mut out = Vec::new();
        let mut stores = 0;
        loop {
            let now = drain(&mut core);
            let writes = store_writes(&now);
            out.extend(now);
            let Some(&store) = writes.first() else { break };
            assert!(!core.is_flushed(), "{case}: a write is in flight");
            stores += 1;
            core.handle_stored(
                store,
                StoreResult::Written {
                    what: "key",
                    device: identity.clone(),
                    path: "/x".into(),
                },
            );
        }
        assert_eq!(stores, written, "{case}: {out:?}");
        assert!(core.is_flushed(), "{case}: {out:?}");
        assert_eq!(core.poll_timeout(), None, "{case}");
        let gave_up = reports(&out)
            .iter()
            .any(|r| matches!(r, Report::KeysNotReceived { peer } if peer.address == *from));
        assert_eq!(gave_up, given_up, "{case}: {out:?}");
    }
}

/// The keys awaited at a stop are bounded: an acceptance whose deadline passed while running
/// (a pairing that ended unseen) is not waited for nor reported, and only the latest 32
/// acceptances are remembered.
#[test]
fn keys_awaited_at_a_stop_are_bounded() {
    let accept = |core: &mut PairingCore, a: &AddressInfo, at: Instant| {
        core.handle_event(HCI0, &confirm(a, 0, 42), at);
        let (ticket, _) = asks(&drain(core))[0].clone();
        core.handle_answer(ticket, Answer::Bool(true));
        drain(core);
    };
    let t0 = Instant::now();
    let a = addr(1, AddressType::LE_PUBLIC);
    let mut core = PairingCore::new(config(false));
    accept(&mut core, &a, t0);
    core.handle_shutdown(t0 + TIMEOUT + Duration::from_secs(60));
    assert!(core.is_flushed());
    assert_eq!(core.poll_timeout(), None);
    assert!(drain(&mut core).is_empty());

    let mut core = PairingCore::new(config(false));
    let peers: Vec<AddressInfo> = (0..40).map(|n| addr(n, AddressType::LE_PUBLIC)).collect();
    for a in &peers {
        accept(&mut core, a, t0);
    }
    core.handle_shutdown(t0);
    assert_eq!(reports(&drain(&mut core)).len(), 32);
    let disconnected = |a: &AddressInfo| {
        event(
            EventCode::DEVICE_DISCONNECTED,
            &[&wire(a)[..], &[0x13]].concat(),
        )
    };
    for a in &peers[8..] {
        assert!(!core.is_flushed(), "{a:?}");
        core.handle_event(HCI0, &disconnected(a), t0);
    }
    assert!(core.is_flushed(), "the 8 oldest were no longer awaited");
}

/// A request handed in before its time is read and stamped once it is answered (as the
/// service's inline path does, writing the reply first) keeps the time limits of one handed
/// in with its time: the question's limit runs from the stamp, and so does the wait for the
/// keys of a pairing it accepted, which outlasts an earlier wait for the same peer. The core
/// last heard the time an hour before: a limit counted from anything but the stamp runs out
/// early.
#[test]
fn a_request_stamped_after_its_answer_counts_its_limits_from_the_stamp() {
    // How long the keys of an accepted pairing may follow its request (the core's own
    // constant, not exported).
    const KEYS_AFTER_REQUEST: Duration = Duration::from_secs(30);
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(3600);
    let ms = Duration::from_millis(1);
    let p = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let request = confirm(&p.address, 0, 42);
    // The request at `later`, its question answered with `answer` before the stamp.
    let asked = |unclocked: bool, answer: Option<bool>| {
        let mut core = PairingCore::new(config(false));
        // Shown a passkey at t0: keys awaited until t0 + 30 s.
        core.handle_event(HCI0, &passkey_notify(&p.address), t0);
        drain(&mut core);
        if unclocked {
            core.handle_event_unclocked(HCI0, &request);
        } else {
            core.handle_event(HCI0, &request, later);
        }
        let (ticket, _) = asks(&drain(&mut core))[0].clone();
        if let Some(accept) = answer {
            core.handle_answer(ticket, Answer::Bool(accept));
            drain(&mut core);
        }
        if unclocked {
            assert_eq!(core.poll_timeout(), None, "no limit before the stamp");
            core.stamp(later);
        }
        core
    };
    for unclocked in [false, true] {
        let mut core = asked(unclocked, None);
        assert_eq!(core.poll_timeout(), Some(later + TIMEOUT), "{unclocked}");
        core.handle_timeout(later + TIMEOUT - ms);
        assert!(drain(&mut core).is_empty(), "{unclocked}: not yet");
        core.handle_timeout(later + TIMEOUT);
        assert_eq!(
            replies(&drain(&mut core)),
            vec![PairingReply::UserConfirm {
                peer: p.clone(),
                accept: false
            }],
            "{unclocked}"
        );

        // Accepted: a stop waits for the keys until the request's time plus the answer's
        // limit plus 30 s, not until the passkey's wait ran out.
        let keys_due = later + TIMEOUT + KEYS_AFTER_REQUEST;
        for (stop, awaited) in [(keys_due - ms, true), (keys_due, false)] {
            let mut core = asked(unclocked, Some(true));
            core.handle_shutdown(stop);
            let awaiting = vec![Report::AwaitingKeys { peer: p.clone() }];
            let expected = if awaited { awaiting } else { vec![] };
            assert_eq!(
                reports(&drain(&mut core)),
                expected,
                "{unclocked} {awaited}"
            );
            assert_eq!(core.is_flushed(), !awaited, "{unclocked} {awaited}");
        }
    }
}

#[test]
fn who_answers_a_confirmation_before_it_is_handed_in_is_who_answers_it() {
    // The early write decides a reply from `confirm_answered_by` before the request reaches
    // the core; handed in afterwards (with the agent's answer), the core must ask for that
    // same reply. Every state the answer depends on, each request kind, both answers.
    let ours = peer(HCI0, 1, AddressType::LE_PUBLIC);
    let other = peer(HCI0, 2, AddressType::LE_PUBLIC);
    let other_type = peer(HCI0, 1, AddressType::LE_RANDOM);
    type SetUpState = fn(&mut PairingCore, &Peer);
    let states: [(&str, bool, SetUpState); 6] = [
        ("fresh", true, |_, _| {}),
        ("pairing with ours", true, |core, ours| {
            core.start_pairing(ours.clone(), IoCapability::KEYBOARD_DISPLAY);
        }),
        ("pairing with ours, no auto-accept", false, |core, ours| {
            core.start_pairing(ours.clone(), IoCapability::KEYBOARD_DISPLAY);
        }),
        ("a question open for each", true, |core, ours| {
            for p in [ours.clone(), peer(HCI0, 2, AddressType::LE_PUBLIC)] {
                core.handle_event(p.index, &confirm(&p.address, 0, 1), Instant::now());
            }
        }),
        ("stopping", true, |core, _| {
            core.handle_shutdown(Instant::now())
        }),
        ("our pairing ended", true, |core, ours| {
            let t = core.start_pairing(ours.clone(), IoCapability::KEYBOARD_DISPLAY);
            core.handle_pair_result(t, Err(PairError::Status(Status::CANCELLED)));
        }),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (state, auto_accept, set_up) in states {
        for asking in [
            &ours,
            &other,
            &other_type,
            &peer(HCI1, 1, AddressType::LE_PUBLIC),
        ] {
            for (hint, value) in [(0u8, 123_456u32), (1, 0)] {
                for agent_says in [true, false] {
                    let served = Controllers::Only(vec![HCI0]);
                    let mut core = PairingCore::new(CoreConfig {
                        controllers: served,
                        auto_accept_initiated: auto_accept,
                        ..config(false)
                    });
                    set_up(&mut core, &ours);
                    drain(&mut core);
                    let case = format!("{state}, {asking}, hint {hint}, agent says {agent_says}");
                    let by = core.confirm_answered_by(
                        asking,
                        bluez_mgmt::protocol::event::ConfirmHint(hint),
                        value,
                    );
                    core.handle_event(
                        asking.index,
                        &confirm(&asking.address, hint, value),
                        Instant::now(),
                    );
                    let mut out = drain(&mut core);
                    let reply = |accept| PairingReply::UserConfirm {
                        peer: asking.clone(),
                        accept,
                    };
                    match by {
                        None => {
                            assert!(asks(&out).is_empty(), "{case}: nobody answers");
                            assert!(
                                replies(&out).iter().all(PairingReply::is_negative),
                                "{case}: no reply, or the stop's refusal"
                            );
                            seen.insert("none");
                        }
                        Some(ConfirmAnswerer::Core(accept)) => {
                            assert!(asks(&out).is_empty(), "{case}: the agent is not asked");
                            assert_eq!(replies(&out), vec![reply(accept)], "{case}");
                            seen.insert("core");
                        }
                        Some(ConfirmAnswerer::Agent(request)) => {
                            let [(ticket, question)] = &asks(&out)[..] else {
                                panic!("{case}: the agent is asked once: {out:?}");
                            };
                            let ticket = *ticket;
                            assert_eq!(question.yes_no(), Some(request), "{case}");
                            assert!(replies(&out).is_empty(), "{case}: no reply before it");
                            core.handle_answer(ticket, Answer::Bool(agent_says));
                            out = drain(&mut core);
                            assert_eq!(replies(&out), vec![reply(agent_says)], "{case}");
                            seen.insert("agent");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(seen.len(), 3, "every answerer met: {seen:?}");
}
