//! The agent runner: registers an [`Agent`]'s IO capability, answers the kernel's pairing
//! requests with it, and starts, cancels and removes pairings.
//!
//! The runner talks to the kernel through a [`PairingLink`]: the few MGMT commands and events
//! pairing needs, as plain types ([`PairingEvent`], [`PairingReply`]). The MGMT client
//! implements it over the control socket; tests implement it with a scripted fake.
//!
//! Behaviour:
//! - each request is answered on its own task, so a slow answer for one device never
//!   delays another;
//! - an agent that does not answer within [`RunnerConfig::answer_timeout`] (default 25 s,
//!   below SMP's 30 s) gets a negative reply sent for it;
//! - an agent that panics gets a negative reply sent for it and the runner keeps serving;
//! - a Just Works authorization (`confirm_hint` 1) for a device this runner is pairing with
//!   through [`AgentRunner::pair`] is accepted without asking the agent (as bluetoothd does:
//!   the user already asked for this pairing);
//! - a passkey above 999999 or a PIN code that does not fit the request is never sent: a
//!   negative reply goes instead and [`Report::InvalidAnswer`] says why;
//! - Authentication Failed withdraws the device's outstanding request
//!   ([`Agent::cancelled`]) and calls [`Agent::failed`]; New Link Key and New Long Term Key
//!   call [`Agent::completed`].

use core::fmt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt_protocol::{ControllerIndex, IoCapability, Status};
use tokio::sync::{broadcast, mpsc};
use tokio::task::{AbortHandle, JoinHandle};

use super::{check_passkey, Agent, InvalidAnswer, KeyNotice, Peer, PinCode};

/// A pairing-related event from the kernel, reduced to what the runner needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingEvent {
    /// User Confirmation Request (0x000F).
    UserConfirmRequest {
        /// The device.
        peer: Peer,
        /// 1: authorize Just Works (value meaningless); 0: compare `value`.
        confirm_hint: bool,
        /// The six-digit value.
        value: u32,
    },
    /// User Passkey Request (0x0010).
    UserPasskeyRequest {
        /// The device.
        peer: Peer,
    },
    /// Passkey Notify (0x0017).
    PasskeyNotify {
        /// The device.
        peer: Peer,
        /// The passkey to show.
        passkey: u32,
        /// Keypresses the peer reported.
        entered: u8,
    },
    /// PIN Code Request (0x000E).
    PinCodeRequest {
        /// The device.
        peer: Peer,
        /// True if only a 16-digit PIN is acceptable.
        secure: bool,
    },
    /// Authentication Failed (0x0011).
    AuthenticationFailed {
        /// The device.
        peer: Peer,
        /// Why.
        status: Status,
    },
    /// New Link Key (0x0009) or New Long Term Key (0x000A).
    NewKey {
        /// The device.
        peer: Peer,
        /// Which key, and whether it is authenticated.
        key: KeyNotice,
    },
    /// Device Disconnected (0x000C): any outstanding request for it is withdrawn.
    DeviceDisconnected {
        /// The device.
        peer: Peer,
    },
}

/// An answer the runner sends to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingReply {
    /// User Confirmation Reply (0x001C) or, when `accept` is false, Neg Reply (0x001D).
    UserConfirm {
        /// The device.
        peer: Peer,
        /// Accept or reject.
        accept: bool,
    },
    /// User Passkey Reply (0x001E) or, for `None`, Neg Reply (0x001F).
    UserPasskey {
        /// The device.
        peer: Peer,
        /// The passkey (always 0..=999999 here).
        passkey: Option<u32>,
    },
    /// PIN Code Reply (0x0016) or, for `None`, Neg Reply (0x0017).
    PinCode {
        /// The device.
        peer: Peer,
        /// The PIN.
        pin: Option<PinCode>,
    },
}

impl PairingReply {
    /// True for the negative replies.
    pub fn is_negative(&self) -> bool {
        match self {
            PairingReply::UserConfirm { accept, .. } => !accept,
            PairingReply::UserPasskey { passkey, .. } => passkey.is_none(),
            PairingReply::PinCode { pin, .. } => pin.is_none(),
        }
    }

    /// The device.
    pub fn peer(&self) -> &Peer {
        match self {
            PairingReply::UserConfirm { peer, .. }
            | PairingReply::UserPasskey { peer, .. }
            | PairingReply::PinCode { peer, .. } => peer,
        }
    }
}

/// A failure of the link to the kernel (the socket, or a command's transport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    message: String,
}

impl LinkError {
    /// An error with this description.
    pub fn new(message: impl fmt::Display) -> LinkError {
        LinkError {
            message: message.to_string(),
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LinkError {}

/// What the runner needs from an MGMT connection. Commands return the command's status;
/// a `LinkError` means the command could not be carried at all.
pub trait PairingLink: Send + Sync + 'static {
    /// The configured controllers (Read Controller Index List).
    fn controllers(&self) -> impl Future<Output = Result<Vec<ControllerIndex>, LinkError>> + Send;
    /// Set IO Capability.
    fn set_io_capability(
        &self,
        index: ControllerIndex,
        io: IoCapability,
    ) -> impl Future<Output = Result<Status, LinkError>> + Send;
    /// A stream of the pairing events of every controller, from now on.
    fn subscribe(&self) -> mpsc::Receiver<PairingEvent>;
    /// Sends one reply command.
    fn reply(&self, reply: PairingReply) -> impl Future<Output = Result<Status, LinkError>> + Send;
    /// Pair Device; resolves when the kernel completes it.
    fn pair_device(
        &self,
        peer: &Peer,
        io: IoCapability,
    ) -> impl Future<Output = Result<Status, LinkError>> + Send;
    /// Cancel Pair Device.
    fn cancel_pair_device(
        &self,
        peer: &Peer,
    ) -> impl Future<Output = Result<Status, LinkError>> + Send;
    /// Unpair Device (removing keys; `disconnect` also drops the link).
    fn unpair_device(
        &self,
        peer: &Peer,
        disconnect: bool,
    ) -> impl Future<Output = Result<Status, LinkError>> + Send;
}

/// Which controllers a runner serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Controllers {
    /// Every controller the kernel lists when the runner starts (events from any index are
    /// answered).
    #[default]
    All,
    /// Only these.
    Only(Vec<ControllerIndex>),
}

impl Controllers {
    fn includes(&self, index: ControllerIndex) -> bool {
        match self {
            Controllers::All => true,
            Controllers::Only(v) => v.contains(&index),
        }
    }
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Controllers to serve.
    pub controllers: Controllers,
    /// How long an agent may take to answer before a negative reply is sent for it.
    pub answer_timeout: Duration,
    /// Accept Just Works authorization without asking for devices this runner is pairing
    /// with.
    pub auto_accept_initiated: bool,
    /// Send Set IO Capability on start. Off for a runner that only serves its own
    /// [`AgentRunner::pair`] calls (Pair Device carries the IO capability itself), so the
    /// controllers' setting for incoming pairings stays as it was.
    pub register_io_capability: bool,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            controllers: Controllers::All,
            answer_timeout: Duration::from_secs(25),
            auto_accept_initiated: true,
            register_io_capability: true,
        }
    }
}

/// The kind of request an answer was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Numeric Comparison.
    ConfirmValue,
    /// Just Works authorization.
    Authorize,
    /// Passkey entry.
    Passkey,
    /// Legacy PIN code.
    PinCode,
}

/// What the runner did, for logs, UIs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A reply was sent with the agent's answer.
    Answered {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
        /// True for a positive reply.
        accepted: bool,
    },
    /// Just Works authorization accepted without the agent: we started this pairing.
    AutoAccepted {
        /// The device.
        peer: Peer,
    },
    /// The agent did not answer in time; a negative reply was sent.
    TimedOut {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
    },
    /// The agent panicked; a negative reply was sent.
    AgentPanicked {
        /// The device.
        peer: Peer,
        /// The request.
        request: RequestKind,
    },
    /// The agent's answer could not be sent; a negative reply was sent.
    InvalidAnswer {
        /// The device.
        peer: Peer,
        /// Why.
        error: InvalidAnswer,
    },
    /// An outstanding request was withdrawn (failure, disconnection, or a newer request).
    Withdrawn {
        /// The device.
        peer: Peer,
    },
    /// The reply command failed.
    ReplyFailed {
        /// The device.
        peer: Peer,
        /// The status or link failure.
        error: String,
    },
    /// Pairing failed (Authentication Failed).
    Failed {
        /// The device.
        peer: Peer,
        /// Why.
        status: Status,
    },
    /// A key arrived.
    KeyDelivered {
        /// The device.
        peer: Peer,
        /// Which.
        key: KeyNotice,
    },
}

/// Why [`AgentRunner::pair`] (or cancel / unpair) did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// The kernel completed the command with this status.
    Status(Status),
    /// No completion within the timeout; Cancel Pair Device was sent.
    TimedOut,
    /// The command could not be carried.
    Link(LinkError),
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairError::Status(s) => write!(f, "the kernel answered {}", s.description()),
            PairError::TimedOut => f.write_str("pairing timed out (cancelled)"),
            PairError::Link(e) => write!(f, "link to the kernel failed: {e}"),
        }
    }
}

impl std::error::Error for PairError {}

#[derive(Debug, Clone)]
enum Request {
    Confirm { value: u32 },
    Authorize,
    Passkey,
    Pin { secure: bool },
}

impl Request {
    fn kind(&self) -> RequestKind {
        match self {
            Request::Confirm { .. } => RequestKind::ConfirmValue,
            Request::Authorize => RequestKind::Authorize,
            Request::Passkey => RequestKind::Passkey,
            Request::Pin { .. } => RequestKind::PinCode,
        }
    }

    fn negative(&self, peer: Peer) -> PairingReply {
        match self {
            Request::Confirm { .. } | Request::Authorize => PairingReply::UserConfirm {
                peer,
                accept: false,
            },
            Request::Passkey => PairingReply::UserPasskey {
                peer,
                passkey: None,
            },
            Request::Pin { .. } => PairingReply::PinCode { peer, pin: None },
        }
    }
}

enum Answer {
    Bool(bool),
    Passkey(Option<u32>),
    Pin(Option<PinCode>),
}

/// Aborts a task when dropped (so withdrawing a request also stops the agent's work).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Inner<L, A> {
    link: L,
    agent: Arc<A>,
    config: RunnerConfig,
    initiated: Mutex<Vec<Peer>>,
    pending: Mutex<HashMap<Peer, (u64, AbortHandle)>>,
    next_id: AtomicU64,
    reports: broadcast::Sender<Report>,
}

/// Answers pairing requests with an agent; starts, cancels and removes pairings. Cheap to
/// clone (clones share everything).
pub struct AgentRunner<L, A> {
    inner: Arc<Inner<L, A>>,
}

impl<L, A> Clone for AgentRunner<L, A> {
    fn clone(&self) -> Self {
        AgentRunner {
            inner: self.inner.clone(),
        }
    }
}

impl<L: PairingLink, A: Agent> AgentRunner<L, A> {
    /// A runner; nothing happens until [`AgentRunner::start`].
    pub fn new(link: L, agent: A, config: RunnerConfig) -> Self {
        AgentRunner {
            inner: Arc::new(Inner {
                link,
                agent: Arc::new(agent),
                config,
                initiated: Mutex::new(Vec::new()),
                pending: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                reports: broadcast::channel(256).0,
            }),
        }
    }

    /// The link the runner uses.
    pub fn link(&self) -> &L {
        &self.inner.link
    }

    /// The agent.
    pub fn agent(&self) -> &A {
        &self.inner.agent
    }

    /// Reports of what the runner does from now on.
    pub fn reports(&self) -> broadcast::Receiver<Report> {
        self.inner.reports.subscribe()
    }

    /// Subscribes to pairing events, sets the agent's IO capability on the served
    /// controllers, and spawns the task that answers requests (it ends when the event stream
    /// does). Must be called inside a Tokio runtime.
    pub async fn start(&self) -> Result<JoinHandle<()>, PairError> {
        let mut events = self.inner.link.subscribe();
        let indexes = match &self.inner.config.controllers {
            _ if !self.inner.config.register_io_capability => Vec::new(),
            Controllers::All => self
                .inner
                .link
                .controllers()
                .await
                .map_err(PairError::Link)?,
            Controllers::Only(v) => v.clone(),
        };
        let io = self.inner.agent.io_capability();
        for index in indexes {
            let status = self
                .inner
                .link
                .set_io_capability(index, io)
                .await
                .map_err(PairError::Link)?;
            if !status.is_success() {
                return Err(PairError::Status(status));
            }
        }
        let me = self.clone();
        Ok(tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                me.handle(event);
            }
        }))
    }

    /// Pairs with `peer` (Pair Device with `io`), answering its requests with the agent.
    /// Sends Cancel Pair Device if the kernel has not completed within `timeout`.
    pub async fn pair(
        &self,
        peer: &Peer,
        io: IoCapability,
        timeout: Duration,
    ) -> Result<(), PairError> {
        struct Forget<'a>(&'a Mutex<Vec<Peer>>, Peer);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = v.iter().position(|p| *p == self.1) {
                    v.remove(i);
                }
            }
        }
        lock(&self.inner.initiated).push(peer.clone());
        let _forget = Forget(&self.inner.initiated, peer.clone());
        match tokio::time::timeout(timeout, self.inner.link.pair_device(peer, io)).await {
            Ok(Ok(s)) if s.is_success() => Ok(()),
            Ok(Ok(s)) => Err(PairError::Status(s)),
            Ok(Err(e)) => Err(PairError::Link(e)),
            Err(_) => {
                let _ = self.inner.link.cancel_pair_device(peer).await;
                Err(PairError::TimedOut)
            }
        }
    }

    /// Cancel Pair Device.
    pub async fn cancel_pairing(&self, peer: &Peer) -> Result<(), PairError> {
        status_result(self.inner.link.cancel_pair_device(peer).await)
    }

    /// Unpair Device: removes the keys (and drops the link if `disconnect`).
    pub async fn unpair(&self, peer: &Peer, disconnect: bool) -> Result<(), PairError> {
        status_result(self.inner.link.unpair_device(peer, disconnect).await)
    }

    fn report(&self, r: Report) {
        tracing::debug!(report = ?r, "agent runner");
        let _ = self.inner.reports.send(r);
    }

    /// Calls a synchronous agent notice, surviving its panic.
    fn notice(&self, f: impl FnOnce(&A)) {
        let agent = &*self.inner.agent;
        if std::panic::catch_unwind(AssertUnwindSafe(|| f(agent))).is_err() {
            tracing::warn!("agent panicked in a notification; ignored");
        }
    }

    fn withdraw(&self, peer: &Peer) {
        let gone = lock(&self.inner.pending).remove(peer);
        if let Some((_, handle)) = gone {
            handle.abort();
            self.notice(|a| a.cancelled(peer));
            self.report(Report::Withdrawn { peer: peer.clone() });
        }
    }

    fn handle(&self, event: PairingEvent) {
        let peer_index = match &event {
            PairingEvent::UserConfirmRequest { peer, .. }
            | PairingEvent::UserPasskeyRequest { peer }
            | PairingEvent::PasskeyNotify { peer, .. }
            | PairingEvent::PinCodeRequest { peer, .. }
            | PairingEvent::AuthenticationFailed { peer, .. }
            | PairingEvent::NewKey { peer, .. }
            | PairingEvent::DeviceDisconnected { peer } => peer.index,
        };
        if !self.inner.config.controllers.includes(peer_index) {
            return;
        }
        match event {
            PairingEvent::UserConfirmRequest {
                peer,
                confirm_hint: true,
                ..
            } if self.inner.config.auto_accept_initiated && self.initiated(&peer) => {
                let me = self.clone();
                tokio::spawn(async move {
                    me.send(PairingReply::UserConfirm {
                        peer: peer.clone(),
                        accept: true,
                    })
                    .await;
                    me.report(Report::AutoAccepted { peer });
                });
            }
            PairingEvent::UserConfirmRequest {
                peer,
                confirm_hint,
                value,
            } => {
                let req = if confirm_hint {
                    Request::Authorize
                } else {
                    Request::Confirm { value }
                };
                self.spawn_request(peer, req);
            }
            PairingEvent::UserPasskeyRequest { peer } => self.spawn_request(peer, Request::Passkey),
            PairingEvent::PinCodeRequest { peer, secure } => {
                self.spawn_request(peer, Request::Pin { secure })
            }
            PairingEvent::PasskeyNotify {
                peer,
                passkey,
                entered,
            } => {
                let agent = self.inner.agent.clone();
                tokio::spawn(async move { agent.display_passkey(&peer, passkey, entered).await });
            }
            PairingEvent::AuthenticationFailed { peer, status } => {
                self.withdraw(&peer);
                self.notice(|a| a.failed(&peer, status));
                self.report(Report::Failed { peer, status });
            }
            PairingEvent::NewKey { peer, key } => {
                self.notice(|a| a.completed(&peer, key));
                self.report(Report::KeyDelivered { peer, key });
            }
            PairingEvent::DeviceDisconnected { peer } => self.withdraw(&peer),
        }
    }

    fn initiated(&self, peer: &Peer) -> bool {
        lock(&self.inner.initiated)
            .iter()
            .any(|p| p.same_device(peer))
    }

    fn spawn_request(&self, peer: Peer, req: Request) {
        // A newer request for the same device supersedes an unanswered one.
        self.withdraw(&peer);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let p = peer.clone();
        // Hold the lock across the spawn so the task cannot finish (and unregister itself)
        // before it is registered.
        let mut pending = lock(&self.inner.pending);
        let task = tokio::spawn(async move {
            me.answer(p.clone(), req).await;
            let mut pending = lock(&me.inner.pending);
            if pending.get(&p).is_some_and(|(i, _)| *i == id) {
                pending.remove(&p);
            }
        });
        pending.insert(peer, (id, task.abort_handle()));
    }

    async fn answer(&self, peer: Peer, req: Request) {
        let kind = req.kind();
        let agent = self.inner.agent.clone();
        let (p, r) = (peer.clone(), req.clone());
        let mut job = tokio::spawn(async move {
            match r {
                Request::Confirm { value } => Answer::Bool(agent.confirm_value(&p, value).await),
                Request::Authorize => Answer::Bool(agent.authorize(&p).await),
                Request::Passkey => Answer::Passkey(agent.request_passkey(&p).await),
                Request::Pin { secure } => Answer::Pin(agent.request_pin_code(&p, secure).await),
            }
        });
        let _stop_job = AbortOnDrop(job.abort_handle());
        let answer = match tokio::time::timeout(self.inner.config.answer_timeout, &mut job).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                if !e.is_panic() {
                    // Cancelled with the runtime: nobody left to answer.
                    return;
                }
                tracing::warn!(%peer, "agent panicked; rejecting");
                self.send(req.negative(peer.clone())).await;
                self.report(Report::AgentPanicked {
                    peer,
                    request: kind,
                });
                return;
            }
            Err(_) => {
                tracing::warn!(%peer, ?kind, "agent did not answer in time; rejecting");
                self.send(req.negative(peer.clone())).await;
                self.report(Report::TimedOut {
                    peer,
                    request: kind,
                });
                return;
            }
        };
        let reply = match (answer, &req) {
            (Answer::Bool(accept), _) => Ok(PairingReply::UserConfirm {
                peer: peer.clone(),
                accept,
            }),
            (Answer::Passkey(None), _) => Ok(req.negative(peer.clone())),
            (Answer::Passkey(Some(pk)), _) => {
                check_passkey(pk).map(|pk| PairingReply::UserPasskey {
                    peer: peer.clone(),
                    passkey: Some(pk),
                })
            }
            (Answer::Pin(Some(pin)), Request::Pin { secure: true }) if !pin.is_secure() => {
                Err(InvalidAnswer::PinCodeNotSecure)
            }
            (Answer::Pin(pin), _) => Ok(PairingReply::PinCode {
                peer: peer.clone(),
                pin,
            }),
        };
        match reply {
            Ok(reply) => {
                let accepted = !reply.is_negative();
                self.send(reply).await;
                self.report(Report::Answered {
                    peer,
                    request: kind,
                    accepted,
                });
            }
            Err(error) => {
                tracing::warn!(%peer, %error, "agent answer rejected");
                self.send(req.negative(peer.clone())).await;
                self.report(Report::InvalidAnswer { peer, error });
            }
        }
    }

    async fn send(&self, reply: PairingReply) {
        let peer = reply.peer().clone();
        let error = match self.inner.link.reply(reply).await {
            Ok(s) if s.is_success() => return,
            Ok(s) => s.description(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(%peer, %error, "pairing reply failed");
        self.report(Report::ReplyFailed { peer, error });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn status_result(r: Result<Status, LinkError>) -> Result<(), PairError> {
    match r {
        Ok(s) if s.is_success() => Ok(()),
        Ok(s) => Err(PairError::Status(s)),
        Err(e) => Err(PairError::Link(e)),
    }
}
