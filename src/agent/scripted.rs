//! [`ScriptedAgent`]: a test agent that answers from a script and records every call, for
//! testing code that pairs (ours and users').
//!
//! ```
//! use bluez_mgmt::agent::{ScriptedAgent, Agent};
//! use bluez_mgmt::protocol::IoCapability;
//!
//! let agent = ScriptedAgent::new(IoCapability::KEYBOARD_ONLY)
//!     .then_passkey(Some(123456))
//!     .then_authorize(true);
//! // hand `agent.clone()` to the pairing service, then:
//! // agent.wait_for_calls(2, Duration::from_secs(5)).await;
//! // agent.assert_script_used();
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt_protocol::{IoCapability, Status};
use tokio::sync::Notify;

use super::{Agent, KeyNotice, Peer, PinCode, YesNoRequest};

/// One call an agent received, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`Agent::confirm_value`].
    ConfirmValue {
        /// The device.
        peer: Peer,
        /// The value to compare.
        value: u32,
    },
    /// [`Agent::authorize`].
    Authorize {
        /// The device.
        peer: Peer,
    },
    /// [`Agent::request_passkey`].
    RequestPasskey {
        /// The device.
        peer: Peer,
    },
    /// [`Agent::display_passkey`].
    DisplayPasskey {
        /// The device.
        peer: Peer,
        /// The passkey.
        passkey: u32,
        /// Keypresses entered so far.
        entered: u8,
    },
    /// [`Agent::request_pin_code`].
    RequestPinCode {
        /// The device.
        peer: Peer,
        /// Whether a 16-digit PIN is required.
        secure: bool,
    },
    /// [`Agent::cancelled`].
    Cancelled {
        /// The device.
        peer: Peer,
    },
    /// [`Agent::failed`].
    Failed {
        /// The device.
        peer: Peer,
        /// The failure status.
        status: Status,
    },
    /// [`Agent::completed`].
    Completed {
        /// The device.
        peer: Peer,
        /// The key delivered.
        key: KeyNotice,
    },
}

impl Call {
    /// The device the call is about.
    pub fn peer(&self) -> &Peer {
        match self {
            Call::ConfirmValue { peer, .. }
            | Call::Authorize { peer }
            | Call::RequestPasskey { peer }
            | Call::DisplayPasskey { peer, .. }
            | Call::RequestPinCode { peer, .. }
            | Call::Cancelled { peer }
            | Call::Failed { peer, .. }
            | Call::Completed { peer, .. } => peer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirm,
    Authorize,
    Passkey,
    Pin,
}

#[derive(Debug, Clone)]
enum Value {
    Bool(bool),
    Passkey(Option<u32>),
    Pin(Option<PinCode>),
}

#[derive(Debug, Clone)]
struct Step {
    value: Value,
    delay: Option<Duration>,
    panic: bool,
    /// Given by [`Agent::answer_at_once`] (see [`ScriptedAgent::at_once`]).
    at_once: bool,
}

#[derive(Debug, Default)]
struct State {
    script: Vec<(Kind, VecDeque<Step>)>,
    last: Option<Kind>,
    calls: Vec<Call>,
}

impl State {
    fn queue(&mut self, kind: Kind) -> &mut VecDeque<Step> {
        if let Some(i) = self.script.iter().position(|(k, _)| *k == kind) {
            &mut self.script[i].1
        } else {
            self.script.push((kind, VecDeque::new()));
            &mut self.script.last_mut().expect("just pushed").1
        }
    }
}

/// A test agent: answers each request kind from its own queue of scripted answers (refusing
/// once a queue is empty) and records every call. Clones share the script and the record.
#[derive(Debug, Clone)]
pub struct ScriptedAgent {
    io: IoCapability,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl ScriptedAgent {
    /// An agent with this IO capability and an empty script.
    pub fn new(io: IoCapability) -> ScriptedAgent {
        ScriptedAgent {
            io,
            state: Arc::default(),
            changed: Arc::default(),
        }
    }

    fn push(self, kind: Kind, value: Value) -> Self {
        {
            let mut s = self.state.lock().expect("scripted agent lock");
            s.queue(kind).push_back(Step {
                value,
                delay: None,
                panic: false,
                at_once: false,
            });
            s.last = Some(kind);
        }
        self
    }

    fn modify_last(self, f: impl FnOnce(&mut Step)) -> Self {
        {
            let mut s = self.state.lock().expect("scripted agent lock");
            let kind = s
                .last
                .expect("delayed()/panicking() must follow a scripted answer");
            f(s.queue(kind).back_mut().expect("scripted answer present"));
        }
        self
    }

    /// Next Numeric Comparison answer.
    pub fn then_confirm(self, accept: bool) -> Self {
        self.push(Kind::Confirm, Value::Bool(accept))
    }

    /// Next Just Works authorization answer.
    pub fn then_authorize(self, accept: bool) -> Self {
        self.push(Kind::Authorize, Value::Bool(accept))
    }

    /// Next passkey answer (any `u32`, to test out-of-range handling).
    pub fn then_passkey(self, passkey: Option<u32>) -> Self {
        self.push(Kind::Passkey, Value::Passkey(passkey))
    }

    /// Next PIN code answer.
    pub fn then_pin_code(self, pin: Option<PinCode>) -> Self {
        self.push(Kind::Pin, Value::Pin(pin))
    }

    /// The answer scripted just before is given only after `delay`.
    pub fn delayed(self, delay: Duration) -> Self {
        self.modify_last(|s| s.delay = Some(delay))
    }

    /// The answer scripted just before panics instead of answering.
    pub fn panicking(self) -> Self {
        self.modify_last(|s| s.panic = true)
    }

    /// The yes/no answer scripted just before ([`ScriptedAgent::then_confirm`],
    /// [`ScriptedAgent::then_authorize`]) is given at once ([`Agent::answer_at_once`]),
    /// when the request is read, instead of by the async method; the call is recorded the
    /// same way. Not with [`ScriptedAgent::delayed`].
    pub fn at_once(self) -> Self {
        self.modify_last(|s| {
            assert!(
                matches!(s.value, Value::Bool(_)) && s.delay.is_none(),
                "at_once() follows then_confirm() or then_authorize(), undelayed"
            );
            s.at_once = true;
        })
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state
            .lock()
            .expect("scripted agent lock")
            .calls
            .clone()
    }

    /// Waits until at least `n` calls were recorded, or `timeout` passes; returns the calls.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.calls();
            }
        }
    }

    /// Panics unless the recorded calls are exactly `expected`.
    #[track_caller]
    pub fn assert_calls(&self, expected: &[Call]) {
        assert_eq!(self.calls(), expected, "scripted agent calls");
    }

    /// Panics unless every scripted answer was used.
    #[track_caller]
    pub fn assert_script_used(&self) {
        let s = self.state.lock().expect("scripted agent lock");
        let left: Vec<_> = s
            .script
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, q)| format!("{} {k:?}", q.len()))
            .collect();
        assert!(
            left.is_empty(),
            "unused scripted answers: {}",
            left.join(", ")
        );
    }

    fn record(&self, call: Call) {
        self.state
            .lock()
            .expect("scripted agent lock")
            .calls
            .push(call);
        self.changed.notify_waiters();
    }

    async fn next(&self, kind: Kind) -> Option<Value> {
        let step = self
            .state
            .lock()
            .expect("scripted agent lock")
            .queue(kind)
            .pop_front()?;
        if step.at_once {
            panic!("scripted agent: an answer scripted at_once() was asked for by {kind:?}");
        }
        if let Some(d) = step.delay {
            tokio::time::sleep(d).await;
        }
        if step.panic {
            panic!("scripted agent: scripted panic on {kind:?}");
        }
        Some(step.value)
    }
}

impl Agent for ScriptedAgent {
    fn io_capability(&self) -> IoCapability {
        self.io
    }

    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<bool> {
        let (kind, call) = match request {
            YesNoRequest::ConfirmValue(value) => (
                Kind::Confirm,
                Call::ConfirmValue {
                    peer: peer.clone(),
                    value,
                },
            ),
            YesNoRequest::Authorize => (Kind::Authorize, Call::Authorize { peer: peer.clone() }),
        };
        let step = {
            let mut s = self.state.lock().expect("scripted agent lock");
            let queue = s.queue(kind);
            if !queue.front().is_some_and(|step| step.at_once) {
                return None;
            }
            queue.pop_front()?
        };
        self.record(call);
        if step.panic {
            panic!("scripted agent: scripted panic on {kind:?}");
        }
        Some(matches!(step.value, Value::Bool(true)))
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.record(Call::ConfirmValue {
            peer: peer.clone(),
            value,
        });
        matches!(self.next(Kind::Confirm).await, Some(Value::Bool(true)))
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        self.record(Call::Authorize { peer: peer.clone() });
        matches!(self.next(Kind::Authorize).await, Some(Value::Bool(true)))
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        self.record(Call::RequestPasskey { peer: peer.clone() });
        match self.next(Kind::Passkey).await {
            Some(Value::Passkey(p)) => p,
            _ => None,
        }
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        self.record(Call::DisplayPasskey {
            peer: peer.clone(),
            passkey,
            entered,
        });
    }

    async fn request_pin_code(&self, peer: &Peer, secure: bool) -> Option<PinCode> {
        self.record(Call::RequestPinCode {
            peer: peer.clone(),
            secure,
        });
        match self.next(Kind::Pin).await {
            Some(Value::Pin(p)) => p,
            _ => None,
        }
    }

    fn cancelled(&self, peer: &Peer) {
        self.record(Call::Cancelled { peer: peer.clone() });
    }

    fn failed(&self, peer: &Peer, status: Status) {
        self.record(Call::Failed {
            peer: peer.clone(),
            status,
        });
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        self.record(Call::Completed {
            peer: peer.clone(),
            key,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt_protocol::{Address, AddressInfo, AddressType, ControllerIndex};

    fn peer() -> Peer {
        Peer::new(
            ControllerIndex(1),
            AddressInfo::new(Address([9; 6]), AddressType::BR_EDR),
        )
    }

    #[tokio::test]
    async fn answers_in_order_then_refuses() {
        let a = ScriptedAgent::new(IoCapability::KEYBOARD_DISPLAY)
            .then_confirm(true)
            .then_passkey(Some(7))
            .then_confirm(false);
        assert!(a.confirm_value(&peer(), 1).await);
        assert!(!a.confirm_value(&peer(), 2).await);
        assert!(!a.confirm_value(&peer(), 3).await);
        assert_eq!(a.request_passkey(&peer()).await, Some(7));
        assert_eq!(a.request_passkey(&peer()).await, None);
        a.assert_script_used();
        assert_eq!(a.calls().len(), 5);
        assert_eq!(
            a.calls()[0],
            Call::ConfirmValue {
                peer: peer(),
                value: 1
            }
        );
    }

    #[test]
    #[should_panic(expected = "unused scripted answers")]
    fn unused_answers_are_reported() {
        ScriptedAgent::new(IoCapability::DISPLAY_ONLY)
            .then_authorize(true)
            .assert_script_used();
    }

    #[tokio::test]
    #[should_panic(expected = "scripted panic")]
    async fn scripted_panic() {
        let a = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
            .then_confirm(true)
            .panicking();
        a.confirm_value(&peer(), 5).await;
    }

    #[tokio::test]
    async fn waits_for_calls() {
        let a = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO);
        let b = a.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            b.authorize(&peer()).await;
        });
        assert_eq!(a.wait_for_calls(1, Duration::from_secs(1)).await.len(), 1);
        assert_eq!(a.wait_for_calls(2, Duration::from_millis(5)).await.len(), 1);
    }
}
