//! The agent runner against a scripted fake link: which replies it sends to which requests,
//! concurrency between devices, timeouts, panicking agents, and Just Works authorization for
//! pairings it started.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bluez_mgmt::agent::runner::{
    Controllers, LinkError, PairError, PairingEvent, PairingLink, PairingReply, Report, RequestKind,
};
use bluez_mgmt::agent::{
    AgentRunner, Call, InvalidAnswer, KeyKind, KeyNotice, Peer, PinCode, RunnerConfig,
    ScriptedAgent,
};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, IoCapability, Status,
};
use tokio::sync::{mpsc, Notify};

/// What the fake link saw the runner do.
#[derive(Default)]
struct Seen {
    io: Vec<(ControllerIndex, IoCapability)>,
    replies: Vec<(Instant, PairingReply)>,
    cancels: Vec<Peer>,
    unpairs: Vec<(Peer, bool)>,
}

/// What Pair Device does in the fake.
#[derive(Clone)]
enum PairScript {
    /// Raise this event, wait for the runner's reply, complete with Success.
    RaiseThenSucceed(PairingEvent),
    /// Never complete.
    Hang,
}

#[derive(Clone)]
struct FakeLink {
    events: Arc<Mutex<Option<mpsc::Sender<PairingEvent>>>>,
    seen: Arc<Mutex<Seen>>,
    changed: Arc<Notify>,
    pair: Arc<Mutex<Option<PairScript>>>,
}

impl FakeLink {
    fn new() -> FakeLink {
        FakeLink {
            events: Arc::default(),
            seen: Arc::default(),
            changed: Arc::default(),
            pair: Arc::default(),
        }
    }

    async fn raise(&self, e: PairingEvent) {
        let tx = self
            .events
            .lock()
            .unwrap()
            .clone()
            .expect("runner subscribed");
        tx.send(e).await.expect("runner alive");
    }

    fn replies(&self) -> Vec<PairingReply> {
        self.seen
            .lock()
            .unwrap()
            .replies
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    async fn wait_replies(&self, n: usize) -> Vec<(Instant, PairingReply)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            {
                let s = self.seen.lock().unwrap();
                if s.replies.len() >= n {
                    return s.replies.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited 10 s for {n} replies, have {:?}", self.replies());
            }
        }
    }
}

impl PairingLink for FakeLink {
    async fn controllers(&self) -> Result<Vec<ControllerIndex>, LinkError> {
        Ok(vec![ControllerIndex(0), ControllerIndex(1)])
    }

    async fn set_io_capability(
        &self,
        index: ControllerIndex,
        io: IoCapability,
    ) -> Result<Status, LinkError> {
        self.seen.lock().unwrap().io.push((index, io));
        Ok(Status::SUCCESS)
    }

    fn subscribe(&self) -> mpsc::Receiver<PairingEvent> {
        let (tx, rx) = mpsc::channel(16);
        *self.events.lock().unwrap() = Some(tx);
        rx
    }

    async fn reply(&self, reply: PairingReply) -> Result<Status, LinkError> {
        self.seen
            .lock()
            .unwrap()
            .replies
            .push((Instant::now(), reply));
        self.changed.notify_waiters();
        Ok(Status::SUCCESS)
    }

    async fn pair_device(&self, _peer: &Peer, _io: IoCapability) -> Result<Status, LinkError> {
        let script = self.pair.lock().unwrap().clone();
        match script {
            Some(PairScript::RaiseThenSucceed(e)) => {
                let before = self.seen.lock().unwrap().replies.len();
                self.raise(e).await;
                self.wait_replies(before + 1).await;
                Ok(Status::SUCCESS)
            }
            Some(PairScript::Hang) => std::future::pending().await,
            None => Ok(Status::AUTHENTICATION_FAILED),
        }
    }

    async fn cancel_pair_device(&self, peer: &Peer) -> Result<Status, LinkError> {
        self.seen.lock().unwrap().cancels.push(peer.clone());
        Ok(Status::SUCCESS)
    }

    async fn unpair_device(&self, peer: &Peer, disconnect: bool) -> Result<Status, LinkError> {
        self.seen
            .lock()
            .unwrap()
            .unpairs
            .push((peer.clone(), disconnect));
        Ok(Status::NOT_PAIRED)
    }
}

fn peer(last: u8) -> Peer {
    Peer::new(
        ControllerIndex(0),
        AddressInfo::new(
            Address::from_display_bytes([0, 0xAA, 1, 1, 0, last]),
            AddressType::LE_PUBLIC,
        ),
    )
}

fn confirm(p: &Peer, value: u32) -> PairingEvent {
    PairingEvent::UserConfirmRequest {
        peer: p.clone(),
        confirm_hint: false,
        value,
    }
}

async fn started(
    agent: ScriptedAgent,
    config: RunnerConfig,
) -> (FakeLink, AgentRunner<FakeLink, ScriptedAgent>) {
    let link = FakeLink::new();
    let runner = AgentRunner::new(link.clone(), agent, config);
    runner.start().await.expect("start");
    (link, runner)
}

async fn next_report(rx: &mut tokio::sync::broadcast::Receiver<Report>) -> Report {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a report within 10 s")
        .expect("report channel open")
}

#[tokio::test]
async fn confirm_request_gets_the_agents_answer() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let (link, _runner) = started(agent.clone(), RunnerConfig::default()).await;
    assert_eq!(
        link.seen.lock().unwrap().io,
        vec![
            (ControllerIndex(0), IoCapability::DISPLAY_YES_NO),
            (ControllerIndex(1), IoCapability::DISPLAY_YES_NO)
        ]
    );
    link.raise(confirm(&peer(1), 396_130)).await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserConfirm {
            peer: peer(1),
            accept: true
        }]
    );
    agent.assert_calls(&[Call::ConfirmValue {
        peer: peer(1),
        value: 396_130,
    }]);
    agent.assert_script_used();
}

#[tokio::test]
async fn a_slow_answer_for_one_device_does_not_delay_another() {
    // The first confirmation (device 1) takes 1.5 s; the second (device 2) is immediate.
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
        .then_confirm(true)
        .delayed(Duration::from_millis(1500))
        .then_confirm(false);
    let (link, _runner) = started(agent.clone(), RunnerConfig::default()).await;
    let t0 = Instant::now();
    link.raise(confirm(&peer(1), 111_111)).await;
    agent.wait_for_calls(1, Duration::from_secs(5)).await;
    link.raise(confirm(&peer(2), 222_222)).await;
    let replies = link.wait_replies(2).await;
    assert_eq!(
        replies[0].1,
        PairingReply::UserConfirm {
            peer: peer(2),
            accept: false
        },
        "device 2 answered first"
    );
    assert!(
        replies[0].0 - t0 < Duration::from_millis(1000),
        "device 2 waited for device 1"
    );
    assert_eq!(
        replies[1].1,
        PairingReply::UserConfirm {
            peer: peer(1),
            accept: true
        }
    );
}

#[tokio::test]
async fn an_agent_that_does_not_answer_in_time_is_answered_negatively() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY)
        .then_passkey(Some(123_456))
        .delayed(Duration::from_secs(60));
    let config = RunnerConfig {
        answer_timeout: Duration::from_millis(200),
        ..RunnerConfig::default()
    };
    let (link, runner) = started(agent.clone(), config).await;
    let mut reports = runner.reports();
    link.raise(PairingEvent::UserPasskeyRequest { peer: peer(3) })
        .await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserPasskey {
            peer: peer(3),
            passkey: None
        }]
    );
    assert_eq!(
        next_report(&mut reports).await,
        Report::TimedOut {
            peer: peer(3),
            request: RequestKind::Passkey
        }
    );
}

#[tokio::test]
async fn a_panicking_agent_is_answered_negatively_and_the_runner_keeps_serving() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
        .then_confirm(true)
        .panicking()
        .then_confirm(true);
    let (link, runner) = started(agent.clone(), RunnerConfig::default()).await;
    let mut reports = runner.reports();
    link.raise(confirm(&peer(1), 1)).await;
    link.wait_replies(1).await;
    assert_eq!(
        next_report(&mut reports).await,
        Report::AgentPanicked {
            peer: peer(1),
            request: RequestKind::ConfirmValue
        }
    );
    link.raise(confirm(&peer(2), 2)).await;
    link.wait_replies(2).await;
    assert_eq!(
        link.replies(),
        vec![
            PairingReply::UserConfirm {
                peer: peer(1),
                accept: false
            },
            PairingReply::UserConfirm {
                peer: peer(2),
                accept: true
            },
        ]
    );
}

#[tokio::test]
async fn just_works_for_a_pairing_we_started_is_accepted_without_asking() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO);
    let (link, runner) = started(agent.clone(), RunnerConfig::default()).await;
    *link.pair.lock().unwrap() = Some(PairScript::RaiseThenSucceed(
        PairingEvent::UserConfirmRequest {
            peer: peer(4),
            confirm_hint: true,
            value: 0,
        },
    ));
    runner
        .pair(
            &peer(4),
            IoCapability::DISPLAY_YES_NO,
            Duration::from_secs(10),
        )
        .await
        .expect("paired");
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserConfirm {
            peer: peer(4),
            accept: true
        }]
    );
    agent.assert_calls(&[]);
}

#[tokio::test]
async fn just_works_from_a_peer_asks_the_agent() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_authorize(false);
    let (link, _runner) = started(agent.clone(), RunnerConfig::default()).await;
    link.raise(PairingEvent::UserConfirmRequest {
        peer: peer(5),
        confirm_hint: true,
        value: 0,
    })
    .await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserConfirm {
            peer: peer(5),
            accept: false
        }]
    );
    agent.assert_calls(&[Call::Authorize { peer: peer(5) }]);
}

#[tokio::test]
async fn an_out_of_range_passkey_is_never_sent() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY).then_passkey(Some(1_000_000));
    let (link, runner) = started(agent, RunnerConfig::default()).await;
    let mut reports = runner.reports();
    link.raise(PairingEvent::UserPasskeyRequest { peer: peer(6) })
        .await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserPasskey {
            peer: peer(6),
            passkey: None
        }]
    );
    assert_eq!(
        next_report(&mut reports).await,
        Report::InvalidAnswer {
            peer: peer(6),
            error: InvalidAnswer::PasskeyOutOfRange(1_000_000)
        }
    );
}

#[tokio::test]
async fn a_valid_passkey_is_sent() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY).then_passkey(Some(999_999));
    let (link, _runner) = started(agent, RunnerConfig::default()).await;
    link.raise(PairingEvent::UserPasskeyRequest { peer: peer(6) })
        .await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserPasskey {
            peer: peer(6),
            passkey: Some(999_999)
        }]
    );
}

#[tokio::test]
async fn a_secure_pin_request_refuses_a_short_pin() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY)
        .then_pin_code(Some(PinCode::new("0000").unwrap()))
        .then_pin_code(Some(PinCode::new("0000").unwrap()));
    let (link, _runner) = started(agent, RunnerConfig::default()).await;
    link.raise(PairingEvent::PinCodeRequest {
        peer: peer(7),
        secure: true,
    })
    .await;
    link.wait_replies(1).await;
    link.raise(PairingEvent::PinCodeRequest {
        peer: peer(7),
        secure: false,
    })
    .await;
    link.wait_replies(2).await;
    assert_eq!(
        link.replies(),
        vec![
            PairingReply::PinCode {
                peer: peer(7),
                pin: None
            },
            PairingReply::PinCode {
                peer: peer(7),
                pin: Some(PinCode::new("0000").unwrap())
            },
        ]
    );
}

#[tokio::test]
async fn authentication_failure_withdraws_the_request_and_reports() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
        .then_confirm(true)
        .delayed(Duration::from_secs(60));
    let (link, runner) = started(agent.clone(), RunnerConfig::default()).await;
    let mut reports = runner.reports();
    link.raise(confirm(&peer(8), 5)).await;
    agent.wait_for_calls(1, Duration::from_secs(5)).await;
    link.raise(PairingEvent::AuthenticationFailed {
        peer: peer(8),
        status: Status::AUTHENTICATION_FAILED,
    })
    .await;
    assert_eq!(
        next_report(&mut reports).await,
        Report::Withdrawn { peer: peer(8) }
    );
    assert_eq!(
        next_report(&mut reports).await,
        Report::Failed {
            peer: peer(8),
            status: Status::AUTHENTICATION_FAILED
        }
    );
    agent.assert_calls(&[
        Call::ConfirmValue {
            peer: peer(8),
            value: 5,
        },
        Call::Cancelled { peer: peer(8) },
        Call::Failed {
            peer: peer(8),
            status: Status::AUTHENTICATION_FAILED,
        },
    ]);
    assert!(link.replies().is_empty(), "no reply after the failure");
}

#[tokio::test]
async fn keys_and_displays_reach_the_agent() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_ONLY);
    let (link, _runner) = started(agent.clone(), RunnerConfig::default()).await;
    link.raise(PairingEvent::PasskeyNotify {
        peer: peer(9),
        passkey: 42,
        entered: 0,
    })
    .await;
    agent.wait_for_calls(1, Duration::from_secs(5)).await;
    let key = KeyNotice {
        kind: KeyKind::LongTermKey,
        authenticated: true,
        persistent: true,
    };
    link.raise(PairingEvent::NewKey { peer: peer(9), key })
        .await;
    agent.wait_for_calls(2, Duration::from_secs(5)).await;
    agent.assert_calls(&[
        Call::DisplayPasskey {
            peer: peer(9),
            passkey: 42,
            entered: 0,
        },
        Call::Completed { peer: peer(9), key },
    ]);
}

#[tokio::test]
async fn other_controllers_are_left_alone() {
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
    let config = RunnerConfig {
        controllers: Controllers::Only(vec![ControllerIndex(1)]),
        ..RunnerConfig::default()
    };
    let (link, _runner) = started(agent.clone(), config).await;
    assert_eq!(
        link.seen.lock().unwrap().io,
        vec![(ControllerIndex(1), IoCapability::DISPLAY_YES_NO)]
    );
    link.raise(confirm(&peer(1), 1)).await; // index 0: ignored
    let mut on1 = peer(1);
    on1.index = ControllerIndex(1);
    link.raise(confirm(&on1, 2)).await;
    link.wait_replies(1).await;
    assert_eq!(
        link.replies(),
        vec![PairingReply::UserConfirm {
            peer: on1.clone(),
            accept: true
        }]
    );
    agent.assert_calls(&[Call::ConfirmValue {
        peer: on1,
        value: 2,
    }]);
}

#[tokio::test]
async fn pair_times_out_and_cancels_and_unpair_reports_status() {
    let agent = ScriptedAgent::new(IoCapability::NO_INPUT_NO_OUTPUT);
    let (link, runner) = started(agent, RunnerConfig::default()).await;
    *link.pair.lock().unwrap() = Some(PairScript::Hang);
    let r = runner
        .pair(
            &peer(1),
            IoCapability::NO_INPUT_NO_OUTPUT,
            Duration::from_millis(100),
        )
        .await;
    assert_eq!(r, Err(PairError::TimedOut));
    assert_eq!(link.seen.lock().unwrap().cancels, vec![peer(1)]);
    assert_eq!(
        runner.unpair(&peer(1), true).await,
        Err(PairError::Status(Status::NOT_PAIRED))
    );
    assert_eq!(link.seen.lock().unwrap().unpairs, vec![(peer(1), true)]);
}

#[tokio::test]
async fn a_runner_for_its_own_pairings_leaves_the_io_capability_alone() {
    let agent = ScriptedAgent::new(IoCapability::KEYBOARD_DISPLAY);
    let config = RunnerConfig {
        register_io_capability: false,
        ..RunnerConfig::default()
    };
    let (link, _runner) = started(agent, config).await;
    assert!(link.seen.lock().unwrap().io.is_empty());
}
