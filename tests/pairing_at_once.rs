//! Answers an agent gives at once ([`Agent::answer_at_once`]) through the real client and
//! pairing service, on every wire (the script, the socket code as a task, the driver thread,
//! where the reply is written from the request's bytes before they are decoded): the same
//! reply written byte for byte, the same agent calls and the same reports (a stop then waiting
//! for the keys of what was accepted) as when the agent answers the same through its async
//! method; an agent that panics there gets the negative reply, as one that panics in the
//! method does; a reply the kernel refuses is reported either way.
//!
//! [`Agent::answer_at_once`]: bluez_mgmt::agent::Agent::answer_at_once

use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::{Call, Peer, ScriptedAgent};
use bluez_mgmt::pairing::{Report, RequestKind};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, IoCapability, Opcode, Status};
use bluez_mgmt::transport::ScriptedTransport;

mod support;
use support::{
    on_every_wire, one_confirmation, one_confirmation_completed, script_played, service_on, Wire,
    HCI0,
};

/// An LE public peer's address and type (wire order).
const PEER: [u8; 7] = [0x01, 0x00, 0x00, 0x00, 0xBB, 0x00, 0x01];

/// The value of the numeric comparisons.
const VALUE: u32 = 654_321;

/// What the agent is asked.
#[derive(Clone, Copy, Debug)]
enum Asked {
    Comparison,
    JustWorks,
}

/// How the scripted agent answers.
#[derive(Clone, Copy, Debug)]
enum Says {
    Yes,
    No,
    Panics,
}

fn peer() -> Peer {
    Peer::new(
        HCI0,
        AddressInfo::new(Address(PEER[..6].try_into().unwrap()), AddressType(PEER[6])),
    )
}

/// The request and the reply we must write for it (see `one_confirmation`).
fn script(asked: Asked, says: Says) -> Arc<ScriptedTransport> {
    let hint = match asked {
        Asked::Comparison => 0,
        Asked::JustWorks => 1,
    };
    let reply = match says {
        Says::Yes => Opcode::USER_CONFIRM_REPLY,
        Says::No | Says::Panics => Opcode::USER_CONFIRM_NEG_REPLY,
    };
    one_confirmation(PEER, hint, VALUE, reply)
}

/// The agent, answering at once or through its method.
fn agent(asked: Asked, says: Says, at_once: bool) -> ScriptedAgent {
    let accept = matches!(says, Says::Yes);
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO);
    let agent = match asked {
        Asked::Comparison => agent.then_confirm(accept),
        Asked::JustWorks => agent.then_authorize(accept),
    };
    let agent = if matches!(says, Says::Panics) {
        agent.panicking()
    } else {
        agent
    };
    if at_once {
        agent.at_once()
    } else {
        agent
    }
}

/// Runs one request through a service on `wire`; returns the agent's calls and the reports
/// up to a stop (for an accepted pairing, until the stop says it waits for its keys).
async fn run(wire: Wire, asked: Asked, says: Says, at_once: bool) -> (Vec<Call>, Vec<Report>) {
    let case = format!("{wire:?}, {asked:?}, {says:?}, at once {at_once}");
    let script = script(asked, says);
    let agent = agent(asked, says, at_once);
    let service = service_on(&wire.client(&script), HCI0, agent.clone(), true);
    let mut reports = service.reports();
    service
        .start()
        .await
        .expect("Set IO Capability as scripted");
    script_played(&script)
        .await
        .unwrap_or_else(|e| panic!("{case}: the reply written as scripted: {e}"));
    let stopping = tokio::spawn({
        let service = service.clone();
        async move { service.shutdown().await }
    });
    let accepted = matches!(says, Says::Yes);
    let mut seen = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        if accepted {
            // The stop waits for the keys (5 s at most): what it says is enough.
            while let Ok(r) = reports.recv().await {
                let awaiting = matches!(r, Report::AwaitingKeys { .. });
                seen.push(r);
                if awaiting {
                    return;
                }
            }
        } else {
            let _ = stopping.await;
            while let Ok(r) = reports.try_recv() {
                seen.push(r);
            }
        }
    })
    .await;
    assert!(collected.is_ok(), "{case}: reports so far {seen:?}");
    // When the controller's set-up is reported depends on the tasks' turns, not the answer.
    seen.retain(|r| !matches!(r, Report::ControllerReady { .. }));
    (agent.calls(), seen)
}

on_every_wire!(
    an_answer_given_at_once_is_the_answer_given_later,
    a_reply_the_kernel_refuses_is_reported,
);

async fn an_answer_given_at_once_is_the_answer_given_later(wire: Wire) {
    for asked in [Asked::Comparison, Asked::JustWorks] {
        for says in [Says::Yes, Says::No, Says::Panics] {
            let case = format!("{wire:?}, {asked:?}, {says:?}");
            let later = run(wire, asked, says, false).await;
            let at_once = run(wire, asked, says, true).await;
            assert_eq!(at_once, later, "{case}: calls and reports");
            let (calls, reports) = at_once;
            let call = match asked {
                Asked::Comparison => Call::ConfirmValue {
                    peer: peer(),
                    value: VALUE,
                },
                Asked::JustWorks => Call::Authorize { peer: peer() },
            };
            assert_eq!(calls, vec![call], "{case}: the agent asked once");
            let answered = reports.iter().any(|r| {
                matches!(r, Report::Answered { accepted, .. }
                    if *accepted == matches!(says, Says::Yes))
            });
            let panicked = reports
                .iter()
                .any(|r| matches!(r, Report::AgentPanicked { .. }));
            match says {
                Says::Panics => assert!(panicked && !answered, "{case}: {reports:?}"),
                _ => assert!(answered && !panicked, "{case}: {reports:?}"),
            }
            let awaiting = reports
                .iter()
                .any(|r| matches!(r, Report::AwaitingKeys { .. }));
            assert_eq!(
                awaiting,
                matches!(says, Says::Yes),
                "{case}: a stop waits for the keys of what was accepted: {reports:?}"
            );
        }
    }
}

/// A reply the kernel refuses (its Command Complete says Not Connected: the peer left while
/// we answered) is reported after the answer, whether the agent answered at once (the reply's
/// outcome then comes back on the client's driver, which wakes the service's task only for a
/// failure) or through its method; a stop then ends. (The answer is no: a stop would wait
/// for the keys of an accepted pairing.)
async fn a_reply_the_kernel_refuses_is_reported(wire: Wire) {
    for at_once in [false, true] {
        let case = format!("{wire:?}, at once {at_once}");
        let script = one_confirmation_completed(
            PEER,
            0,
            VALUE,
            Opcode::USER_CONFIRM_NEG_REPLY,
            Status::NOT_CONNECTED,
        );
        let agent = agent(Asked::Comparison, Says::No, at_once);
        let service = service_on(&wire.client(&script), HCI0, agent, true);
        let mut reports = service.reports();
        service
            .start()
            .await
            .expect("Set IO Capability as scripted");
        let mut seen = Vec::new();
        let collected = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(r) = reports.recv().await {
                let failed = matches!(r, Report::ReplyFailed { .. });
                seen.push(r);
                if failed {
                    return;
                }
            }
        })
        .await;
        assert!(collected.is_ok(), "{case}: reports so far {seen:?}");
        seen.retain(|r| !matches!(r, Report::ControllerReady { .. }));
        assert_eq!(
            seen,
            vec![
                Report::Answered {
                    peer: peer(),
                    request: RequestKind::ConfirmValue,
                    accepted: false,
                },
                Report::ReplyFailed {
                    peer: peer(),
                    error: Status::NOT_CONNECTED.description(),
                },
            ],
            "{case}"
        );
        script_played(&script)
            .await
            .unwrap_or_else(|e| panic!("{case}: the reply written as scripted: {e}"));
        let stopped = tokio::time::timeout(Duration::from_secs(5), service.shutdown()).await;
        assert!(stopped.is_ok(), "{case}: the stop ended");
    }
}
