//! [`PairingService`]: the tokio driver of the [`PairingCore`]. It moves events in and carries
//! actions out; it decides nothing.
//!
//! One task runs it. The task owns one [`Subscription`](crate::client::Subscription) of the
//! client, filtered *before queueing* to the pairing, key and controller events, so a Device
//! Found flood never takes room in its queue. The agent's futures, the replies' completions
//! and the controllers' set-up run on that same task (polled together, not spawned).
//!
//! A pairing request takes a shorter way when nothing is queued ahead of it: the client's
//! driver hands it to the service's inline path itself (see `Inline`), which feeds the core
//! (one lock shared with the task), polls the agent's answer once and, if it is ready,
//! submits the reply command there: no hand-off from the socket to the reply. The driver
//! thread of [`Client::open`](crate::client::Client::open) does so as soon as it has read
//! the frame and writes the reply the moment it is submitted, before the session, other
//! subscribers or the reply's own bookkeeping; a driver task, once the session has decoded
//! the frame, writing the reply before it reads the next one. On the driver thread a User
//! Confirmation Request whose answer is known before it is decoded (the agent's
//! [`Agent::answer_at_once`], Just Works for a pairing the service started) has its reply
//! written from the frame's bytes first (see `Inline`). An answer that is not ready
//! is adopted by the task (it was polled with the task's waker); what else the core wants
//! done goes to the task in order. An answer given at once leaves the task nothing: its
//! report is sent from the inline path (when nothing is left for the task ahead of it), and
//! its reply's Command Complete is settled on the driver (`InlineReplies`), which wakes the
//! task only for a reply that failed. Traced in the benchmark's VM, the library agent's
//! runtime thread had been on a CPU for 0.2 to 0.9 ms (emulated) in the 2 ms after each such
//! reply, on one of the two CPUs, as the peer's request came in; now it is on none. Store
//! writes run on tokio's blocking pool, one at a time per device and in order (the core
//! queues them), so a slow disk never holds up an answer.
//!
//! When the service starts it rehearses the answer path: made-up requests go through a
//! throwaway copy of the client's event path (both ways a driver hands them over) into this
//! same inline code and out as framed replies that are never sent (see `rehearsal`), so the
//! first real request does not pay for running that code for the first time.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bluez_mgmt_protocol::command::{
    CancelPairDevice, PairDevice, PinCodeNegativeReply, PinCodeReply, ReadIndexList, ReadInfo,
    SetIoCapability, SetPowered, SetStaticAddress, UnpairDevice, UserConfirmNegativeReply,
    UserConfirmReply, UserPasskeyNegativeReply, UserPasskeyReply,
};
use bluez_mgmt_protocol::event::UserConfirmRequest;
use bluez_mgmt_protocol::frame::HEADER_LEN;
use bluez_mgmt_protocol::{
    Address, Command, ControllerIndex, Event, EventCode, IoCapability, Opcode, Settings, Status,
};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::core::{
    is_index_event, Action, Answer, ConfirmAnswerer, CoreConfig, Notice, PairingCore,
    PolicyRefusal, Question, SetUpOutcome, StoreResult, Ticket,
};
use super::rehearsal::AgentRehearsal;
use super::{Controllers, PairError, PairingReply, Report};
use crate::agent::{Agent, Peer, YesNoRequest};
use crate::client::{
    Client, ErrorKind, EventFilter, InlineSink, Outbox, ReadFrame, Settle, SubscriptionError,
};
use crate::keystore::{
    device_policy, load_adapter_into_controller, AdapterId, KeyStore, KeyUpdate, StoreOutcome,
};

/// [`ServiceConfig::report_queue`]'s default.
const REPORT_QUEUE: usize = 1024;

/// The events the service's subscription lets through (everything else is never queued for
/// it): the pairing requests and notices, the key events, and controllers coming and going.
pub const SERVICE_EVENTS: [EventCode; 17] = [
    EventCode::INDEX_ADDED,
    EventCode::INDEX_REMOVED,
    EventCode::EXTENDED_INDEX_ADDED,
    EventCode::EXTENDED_INDEX_REMOVED,
    EventCode::NEW_LINK_KEY,
    EventCode::NEW_LONG_TERM_KEY,
    EventCode::NEW_IDENTITY_RESOLVING_KEY,
    EventCode::NEW_SIGNATURE_RESOLVING_KEY,
    EventCode::NEW_CONNECTION_PARAMETER,
    EventCode::DEVICE_DISCONNECTED,
    EventCode::PIN_CODE_REQUEST,
    EventCode::USER_CONFIRM_REQUEST,
    EventCode::USER_PASSKEY_REQUEST,
    EventCode::AUTHENTICATION_FAILED,
    EventCode::PASSKEY_NOTIFY,
    EventCode::DEVICE_UNPAIRED,
    EventCode::UNCONFIGURED_INDEX_REMOVED,
];

/// Where the service keeps bonds: a [`KeyStore`], through hooks a caller may wrap (to slow
/// writes down in a test, to mirror them elsewhere). The defaults go straight to the store.
pub trait BondStore: Send + Sync + 'static {
    /// The store bonds are loaded from (and, by default, written to).
    fn key_store(&self) -> &KeyStore;

    /// Writes one key the kernel reported (see [`KeyStore::store`]). Runs on the blocking
    /// pool, one write at a time per device.
    fn store(
        &self,
        adapter: AdapterId,
        hint: bool,
        update: &KeyUpdate,
    ) -> Result<StoreOutcome, crate::keystore::Error> {
        self.key_store().store(adapter, hint, update)
    }

    /// Removes a device's stored bond (see [`KeyStore::remove`]).
    fn remove(&self, adapter: AdapterId, device: Address) -> Result<bool, crate::keystore::Error> {
        self.key_store().remove(adapter, device)
    }
}

impl BondStore for KeyStore {
    fn key_store(&self) -> &KeyStore {
        self
    }
}

/// Service settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Controllers to serve (present at start or added later). With
    /// [`Controllers::Only`], the other controllers' events are not even queued for the
    /// service.
    pub controllers: Controllers,
    /// How long the agent may take to answer before a negative reply is sent for it.
    pub answer_timeout: Duration,
    /// Accept Just Works authorization without asking for devices this service is pairing
    /// with (address and address type must match).
    pub auto_accept_initiated: bool,
    /// Send Set IO Capability (the agent's) to every served controller, at start and when
    /// one appears. Off for a service that only serves its own [`PairingService::pair`] calls
    /// (Pair Device carries its IO capability), so the controllers' setting stays as it was.
    pub register_io_capability: bool,
    /// With a store: load each served controller's bonds when it appears (before power-on;
    /// Load Link Keys only where BR/EDR is supported) and, once it is powered, its device
    /// policies ([`crate::keystore::device_policy`]: Block Device for `Blocked=true`, Add
    /// Device with auto-connect for bonded LE devices, so they reconnect by themselves).
    pub load_bonds: bool,
    /// With `load_bonds`: also give the kernel the store's device policies (on by default).
    /// Off for a store whose LE bonds should not go on the auto-connect list one Add Device
    /// each (thousands of them flood every monitor socket).
    pub device_policies: bool,
    /// With a store: power each served controller on after loading its bonds.
    pub power_on: bool,
    /// With a store: write the name (class, appearance) each Device Connected carries where
    /// bluetoothd keeps it ([`crate::keystore::device_info::keep_names`]), so the devices
    /// paired and stored get their `[General] Name` (on by default).
    pub keep_names: bool,
    /// Room in the service's event queue (only pairing, key and controller events take
    /// room). If it overflows anyway, [`Report::EventsLost`] and a WARN log line say so.
    pub event_queue: usize,
    /// How many reports a [`PairingService::reports`] receiver may fall behind before it
    /// lags and learns how many it missed (1,024 by default; 0 counts as 1). The queue is
    /// made, every slot filled (about 100 bytes each), at the first `reports()`.
    pub report_queue: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            controllers: Controllers::All,
            answer_timeout: Duration::from_secs(25),
            auto_accept_initiated: true,
            register_io_capability: true,
            load_bonds: true,
            device_policies: true,
            power_on: true,
            keep_names: true,
            event_queue: crate::client::EVENT_BUFFER,
            report_queue: REPORT_QUEUE,
        }
    }
}

enum ApiCall {
    Pair {
        peer: Peer,
        io: IoCapability,
        timeout: Duration,
        done: oneshot::Sender<Result<(), PairError>>,
    },
    Unpair {
        peer: Peer,
        disconnect: bool,
        done: oneshot::Sender<Result<(), PairError>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

struct Inner<A> {
    client: Client,
    agent: Arc<A>,
    /// Asked once by the start-up rehearsal (see [`PairingService::with_rehearsal_agent`]).
    rehearsal_agent: Option<Arc<A>>,
    config: ServiceConfig,
    store: Option<Arc<dyn BondStore>>,
    /// Created by the first [`PairingService::reports`]: tokio's broadcast channel fills
    /// every slot of its queue when it is made (by default 1,024 reports, about 100 KB), which a
    /// service nobody reads reports from would keep for nothing. Until then a report has no
    /// receiver, and a report sent without one is dropped all the same.
    /// Shared with the inline path, which sends the reports of what it does itself.
    reports: Arc<OnceLock<broadcast::Sender<Report>>>,
    calls: Mutex<Option<mpsc::UnboundedSender<ApiCall>>>,
}

/// Answers pairing requests with an agent, keeps bonds, and sets up controllers as they come
/// and go. Cheap to clone (clones share everything).
pub struct PairingService<A> {
    inner: Arc<Inner<A>>,
}

impl<A> Clone for PairingService<A> {
    fn clone(&self) -> Self {
        PairingService {
            inner: self.inner.clone(),
        }
    }
}

impl<A> std::fmt::Debug for PairingService<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<A: Agent> PairingService<A> {
    /// A service on `client` answering with `agent`; nothing happens until
    /// [`PairingService::start`].
    pub fn new(client: Client, agent: A, config: ServiceConfig) -> Self {
        PairingService {
            inner: Arc::new(Inner {
                client,
                agent: Arc::new(agent),
                rehearsal_agent: None,
                config,
                store: None,
                reports: Arc::default(),
                calls: Mutex::new(None),
            }),
        }
    }

    /// Keeps bonds in `store`: keys are stored as they arrive (a pairing started with
    /// [`PairingService::pair`] completes only once its keys are written), each served
    /// controller's bonds are loaded when it appears, and [`PairingService::unpair`] removes
    /// the stored bond. Call before [`PairingService::start`].
    pub fn with_store(self, store: KeyStore) -> Self {
        self.with_bond_store(store)
    }

    /// Like [`PairingService::with_store`], writing through `store`'s hooks.
    pub fn with_bond_store(mut self, store: impl BondStore) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_store is called before the service is shared")
            .store = Some(Arc::new(store));
        self
    }

    /// Gives the start-up rehearsal an agent of the service's own type to ask: once, a
    /// confirmation from a made-up peer on [`ControllerIndex::NONE`], its answer polled and
    /// dropped. The agent's answer path then runs before the first real request instead of
    /// during it, while the peer waits (in the benchmark's VM, under emulation, that first run
    /// cost the first reply 0.05 to 0.15 ms; on a board reading its program from flash it is
    /// page faults). `agent` must answer that without side effects: no prompt, no line shown,
    /// no state kept (a stateless agent can be a copy of the real one). Without it the
    /// rehearsal makes the real agent's answer and drops it unpolled, so none of the agent's
    /// own code runs. Call before [`PairingService::start`].
    pub fn with_rehearsal_agent(mut self, agent: A) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_rehearsal_agent is called before the service is shared")
            .rehearsal_agent = Some(Arc::new(agent));
        self
    }

    /// The store, if the service keeps bonds.
    pub fn store(&self) -> Option<&KeyStore> {
        self.inner.store.as_deref().map(|s| s.key_store())
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The agent.
    pub fn agent(&self) -> &A {
        &self.inner.agent
    }

    /// Reports of what the service does from now on.
    pub fn reports(&self) -> broadcast::Receiver<Report> {
        self.inner
            .reports
            .get_or_init(|| broadcast::channel(self.inner.config.report_queue.max(1)).0)
            .subscribe()
    }

    /// Subscribes to the events, sets up every served controller present now (IO
    /// capability, bonds, power, as configured; [`Report::ControllerReady`] says what was
    /// done) and spawns the task that serves from then on; it ends when the client's
    /// connection closes. Fails if a present controller could not be set up. Must be called
    /// inside a tokio runtime.
    pub async fn start(&self) -> Result<JoinHandle<()>, PairError> {
        let filter = service_filter(&self.inner.config.controllers);
        let store = self.inner.store.is_some();
        let config = &self.inner.config;
        let core = PairingCore::new(CoreConfig {
            controllers: config.controllers.clone(),
            answer_timeout: config.answer_timeout,
            auto_accept_initiated: config.auto_accept_initiated,
            io_capability: config
                .register_io_capability
                .then(|| self.inner.agent.io_capability()),
            store,
            load_bonds: store && config.load_bonds,
            power_on: store && config.load_bonds && config.power_on,
        });
        let sets_up = core.sets_up_controllers();
        // Subscribed before the controller list is read: nothing that happens after it is
        // missed. Until the task runs, every event is queued for it.
        let hot = Arc::new(Mutex::new(Hot::new(core, None)));
        let replies = Arc::new(InlineReplies::default());
        let ask_agent: AskAgent = Arc::new(AgentOf(self.inner.agent.clone()));
        let events = self.inner.client.subscribe_inline(
            filter,
            self.inner.config.event_queue,
            "pairing service",
            Arc::new(Inline {
                hot: hot.clone(),
                agent: ask_agent.clone(),
                replies: replies.clone(),
                reports: self.inner.reports.clone(),
            }),
        );
        let present = if let Controllers::Only(v) = &config.controllers {
            v.clone()
        } else if sets_up {
            self.inner
                .client
                .call(ControllerIndex::NONE, &ReadIndexList {})
                .await
                .map_err(|e| PairError::Link(e.into()))?
                .indexes
                .0
        } else {
            Vec::new()
        };
        let (calls_tx, calls_rx) = mpsc::unbounded_channel();
        *self.inner.calls.lock().unwrap_or_else(|p| p.into_inner()) = Some(calls_tx);
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = Task {
            inner: self.inner.clone(),
            hot,
            replies,
            events,
            calls: calls_rx,
            asks: FutureSet::new(),
            work: FutureSet::new(),
            waiters: Default::default(),
            initial: Vec::new(),
            ready: Some(ready_tx),
            first_error: None,
            pair_timeouts: Default::default(),
            static_in_use: Arc::default(),
            shutdown: None,
        };
        task.hot().core.start(&present);
        let names = match &self.inner.store {
            Some(s) if self.inner.config.keep_names => {
                let served = self.inner.config.controllers.clone();
                Some(crate::keystore::device_info::NameKeeper::spawn(
                    self.inner.client.clone(),
                    s.key_store(),
                    move |index| served.includes(index),
                ))
            }
            _ => None,
        };
        let handle = tokio::spawn(async move {
            let _names = names;
            task.run().await
        });
        // While the set-up's commands are out: the first request must not pay for running
        // the answer path's code for the first time (see `rehearsal`).
        match &self.inner.rehearsal_agent {
            Some(agent) => super::rehearsal::rehearse_answer_path(
                config,
                &AgentOf(agent.clone()),
                AgentRehearsal::Poll,
            ),
            None => super::rehearsal::rehearse_answer_path(
                config,
                &*ask_agent,
                AgentRehearsal::MakeOnly,
            ),
        };
        match ready_rx.await {
            Ok(None) | Err(_) => Ok(handle),
            Ok(Some(e)) => {
                handle.abort();
                Err(e)
            }
        }
    }

    fn call(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), PairError>>) -> ApiCall,
    ) -> oneshot::Receiver<Result<(), PairError>> {
        let (tx, rx) = oneshot::channel();
        let calls = self.inner.calls.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = calls.as_ref() {
            let _ = c.send(make(tx));
        }
        rx
    }

    fn not_running() -> PairError {
        PairError::Link(
            crate::client::Error::closed(Some("the pairing service is not running")).into(),
        )
    }

    /// Pairs with `peer` (Pair Device with `io`), answering its requests with the agent.
    /// Sends Cancel Pair Device if the kernel has not completed within `timeout`. With a
    /// store, returns only once every key the pairing delivered is written; if one could not
    /// be written, the result is [`PairError::Store`] (the kernel paired, but the bond would
    /// not survive a restart), after a [`Report::StoreFailed`].
    pub async fn pair(
        &self,
        peer: &Peer,
        io: IoCapability,
        timeout: Duration,
    ) -> Result<(), PairError> {
        let peer = peer.clone();
        self.call(|done| ApiCall::Pair {
            peer,
            io,
            timeout,
            done,
        })
        .await
        .unwrap_or_else(|_| Err(Self::not_running()))
    }

    /// Cancel Pair Device.
    pub async fn cancel_pairing(&self, peer: &Peer) -> Result<(), PairError> {
        let r = self
            .inner
            .client
            .call(
                peer.index,
                &CancelPairDevice {
                    address: peer.address.clone(),
                },
            )
            .await;
        status_result(PairError::from_call(r))
    }

    /// Stops the service gracefully (for SIGTERM): every request still waiting for the agent
    /// is answered with the negative reply its time limit would send ([`Report::ShutDown`]),
    /// pairings started with [`PairingService::pair`] get Cancel Pair Device, requests
    /// arriving meanwhile are refused at once, and the service's task ends once those replies
    /// are answered, every pairing already accepted has delivered its keys (or failed, or
    /// disconnected; [`Report::KeysNotReceived`] after
    /// [`KEYS_AT_STOP`](super::KEYS_AT_STOP)) and every queued store write is done
    /// (keys flushed). Returns then (at
    /// once if the service is not running). Callers that must stop promptly bound it with a
    /// timeout.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        let calls = self
            .inner
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = calls {
            if c.send(ApiCall::Shutdown { done: tx }).is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// Unpair Device: removes the keys (and drops the link if `disconnect`). With a store,
    /// the stored bond is removed too, also when the kernel answers Not Paired.
    pub async fn unpair(&self, peer: &Peer, disconnect: bool) -> Result<(), PairError> {
        let peer = peer.clone();
        self.call(|done| ApiCall::Unpair {
            peer,
            disconnect,
            done,
        })
        .await
        .unwrap_or_else(|_| Err(Self::not_running()))
    }
}

fn status_result(r: Result<Status, PairError>) -> Result<(), PairError> {
    match r {
        Ok(s) if s.is_success() => Ok(()),
        Ok(s) => Err(PairError::Status(s)),
        Err(e) => Err(e),
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Futures polled together on the service's own task (no spawning, so no hand-off).
struct FutureSet<K, F> {
    items: Vec<(K, F)>,
}

impl<K: Copy + PartialEq, F: Future + Unpin> FutureSet<K, F> {
    fn new() -> Self {
        FutureSet { items: Vec::new() }
    }

    fn push(&mut self, key: K, f: F) {
        self.items.push((key, f));
    }

    /// Takes over every future in `from` (left empty, its room kept for next time).
    fn adopt(&mut self, from: &mut Vec<(K, F)>) {
        self.items.append(from);
    }

    fn remove(&mut self, key: K) {
        self.items.retain(|(k, _)| *k != key);
    }

    fn contains(&self, key: K) -> bool {
        self.items.iter().any(|(k, _)| *k == key)
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<(K, F::Output)> {
        for i in 0..self.items.len() {
            if let Poll::Ready(v) = Pin::new(&mut self.items[i].1).poll(cx) {
                // First in, first out: answers ready together go out in arrival order.
                let (k, _) = self.items.remove(i);
                return Poll::Ready((k, v));
            }
        }
        Poll::Pending
    }

    async fn next(&mut self) -> (K, F::Output) {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }
}

/// Polls an agent future, turning a panic into `None`.
struct CatchPanic<T>(BoxFuture<T>);

impl<T> Future for CatchPanic<T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let f = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| f.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Some(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

/// The agent's answer to a question, a panic turned into [`Answer::Failed`]. It boxes only
/// the agent's future, and is not generic over the agent (see [`guarded`]).
pub(super) struct Asked(CatchPanic<Answer>);

impl Future for Asked {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Answer::Failed))
    }
}

/// The core's state once the task has performed every action (see `Task::perform_all`).
struct Idle {
    /// When the core's [`PairingCore::handle_timeout`] is next due.
    deadline: Option<Instant>,
    /// Shut down, with every store write done.
    stopped: bool,
}

/// What finished on the service's task.
enum Finished {
    Reply(Peer, Result<(), String>),
    Pair(Result<(), PairError>),
    Unpair(Result<Status, PairError>),
    SetUp(ControllerIndex, Result<SetUpDone, PairError>),
    Stored(StoreResult),
    Notice,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkKey {
    Ticket(Ticket),
    Controller(ControllerIndex),
    /// A reply command (or Cancel Pair Device) whose answer a shutdown waits for.
    Reply,
    Other,
}

/// What the driver's inline path and the service's task share: the core, and what the inline
/// path started or left for the task. Locked briefly by each; never held across an await.
pub(super) struct Hot {
    core: PairingCore,
    /// Actions the inline path took from the core and left for the task, in order.
    deferred: VecDeque<Action>,
    /// Agent answers the inline path started that were not ready at once: the task adopts
    /// them (they were polled with its waker).
    new_asks: Vec<(Ticket, Asked)>,
    /// Work the inline path started that the task is to wait for.
    new_work: Vec<(WorkKey, BoxFuture<Finished>)>,
    /// When the task next looks at the core's timers (`None`: it keeps none), as it left
    /// the core: the inline path wakes it if the core wants to be looked at sooner.
    task_deadline: Option<Instant>,
    /// The task's waker, once it runs: the inline path works only then (until then every
    /// event is queued).
    waker: Option<Waker>,
    /// Where the inline path encodes a reply's parameters; kept, so it allocates once.
    reply_params: Vec<u8>,
}

impl Hot {
    /// `core` with nothing started or left for the task yet, working inline once `waker`
    /// is set.
    pub(super) fn new(core: PairingCore, waker: Option<Waker>) -> Hot {
        Hot {
            core,
            deferred: VecDeque::new(),
            new_asks: Vec::new(),
            new_work: Vec::new(),
            task_deadline: None,
            waker,
            reply_params: Vec::new(),
        }
    }

    fn has_news(&self) -> bool {
        !(self.deferred.is_empty() && self.new_asks.is_empty() && self.new_work.is_empty())
    }

    /// Whether the task must look at the core now: it has news, or a timer due before the
    /// task's.
    fn wants_task(&self) -> bool {
        self.has_news()
            || self
                .core
                .poll_timeout()
                .is_some_and(|due| self.task_deadline.map_or(true, |t| due < t))
    }
}

/// The replies the inline path submitted whose outcome is not known yet, and those that
/// failed, for the task. Each reply's [`Settle`] tells it, on the driver: a reply the kernel
/// accepts wakes no one (the core does nothing with a success), so a request answered at
/// once never wakes the task; one that fails, or could not be sent, wakes it. Apart from
/// [`Hot`]: a settle may run while the inline path holds that lock.
#[derive(Default)]
pub(super) struct InlineReplies {
    state: Mutex<RepliesState>,
}

#[derive(Default)]
struct RepliesState {
    /// Submitted, not settled.
    out: usize,
    /// Settled with a failure, for the core's [`PairingCore::handle_reply_result`].
    failed: Vec<(Peer, String)>,
    /// The task's waker, once it runs.
    waker: Option<Waker>,
    /// The task waits for the last reply to settle (it is stopping).
    wake_when_settled: bool,
    /// The last reply settled while the task waited for it; not looked at yet.
    settled_news: bool,
}

impl RepliesState {
    /// Whether the task has anything to look at here.
    fn has_news(&self) -> bool {
        self.settled_news || !self.failed.is_empty()
    }
}

impl InlineReplies {
    fn state(&self) -> MutexGuard<'_, RepliesState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `peer`'s reply, about to be submitted, is settled with (counted out from now).
    fn settle(self: &Arc<Self>, peer: Peer) -> Settle {
        self.state().out += 1;
        let replies = self.clone();
        Box::new(move |result| {
            let verdict = reply_verdict(result);
            let mut state = replies.state();
            state.out -= 1;
            let wake = match verdict {
                Ok(()) => {
                    state.settled_news = state.out == 0 && state.wake_when_settled;
                    state.settled_news
                }
                Err(error) => {
                    state.failed.push((peer, error));
                    true
                }
            };
            let waker = wake.then(|| state.waker.clone()).flatten();
            drop(state);
            if let Some(waker) = waker {
                waker.wake();
            }
        })
    }

    /// A settle made by [`InlineReplies::settle`] was dropped uncalled (nothing submitted).
    fn not_submitted(&self) {
        self.state().out -= 1;
    }

    /// Whether every reply submitted so far is settled, none of them failed.
    pub(super) fn all_settled_well(&self) -> bool {
        let state = self.state();
        state.out == 0 && state.failed.is_empty()
    }
}

/// The requests a service may answer inline: the agent's questions.
const REQUESTS: [EventCode; 3] = [
    EventCode::PIN_CODE_REQUEST,
    EventCode::USER_CONFIRM_REQUEST,
    EventCode::USER_PASSKEY_REQUEST,
];

/// The service's inline path (see [`InlineSink`]): a pairing request that nothing is queued
/// ahead of is handed to the core in the driver's task, the agent's answer is polled once
/// there and, when it is ready, the reply command is submitted before the driver reads the
/// next frame: no hand-off between tasks for an answer the agent knows at once. Its report
/// is sent from here when nothing is left for the task ahead of it (on the driver thread
/// the reply is written by then), and the reply's outcome is settled on the driver
/// ([`InlineReplies`]). What else the core wants done (notices, a reply the agent takes time
/// for) goes to the service's task, which is woken only when it has something to do: that, a
/// failed reply, or a timer due before its own. Key and controller events always take the
/// queue: they lead to store and set-up work that the task starts anyway. The request goes to
/// the core before the clock is read, and is stamped after the loop: on the driver thread's
/// early path the reply is written by then, and the clock read (a system call on some
/// clocksources) comes after it.
///
/// On the driver thread's early path a User Confirmation Request whose answer is known
/// before anything is decoded (the core's own for a pairing it started, or the agent's
/// [`Agent::answer_at_once`]) has its reply written first, from the frame's bytes read in
/// place ([`UserConfirmRequest::in_frame`]); then the request is decoded and goes through
/// the core as any other, the agent's answer given for it, and the reply the core asks for
/// is recorded as the one written ([`PairingCore::confirm_answered_by`] says who answers
/// before the request is handed in, and the tests check the two agree).
///
/// It is not generic over the agent (the agent is behind `agent`), so the start-up
/// rehearsal runs this very code (see `rehearsal`).
pub(super) struct Inline {
    pub(super) hot: Arc<Mutex<Hot>>,
    /// The service's agent.
    pub(super) agent: AskAgent,
    /// The replies it submitted, settled on the driver.
    pub(super) replies: Arc<InlineReplies>,
    /// The report stream: a report is sent from here when nothing is left for the task
    /// ahead of it.
    pub(super) reports: Arc<OnceLock<broadcast::Sender<Report>>>,
}

/// The service's agent as the inline path and the rehearsal call it.
pub(super) type AskAgent = Arc<dyn AgentCalls>;

/// An agent, not generic over its type (see [`Inline`]).
pub(super) trait AgentCalls: Send + Sync {
    /// Starts the agent's answer to a question (not yet polled: no agent code has run).
    fn ask(&self, peer: Peer, question: Question) -> Asked;

    /// The agent's answer to a yes/no request if it gives one at once
    /// ([`Agent::answer_at_once`]), a panic turned into [`Answer::Failed`].
    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<Answer>;
}

/// An [`Agent`] as [`AgentCalls`].
pub(super) struct AgentOf<A>(pub(super) Arc<A>);

impl<A: Agent> AgentCalls for AgentOf<A> {
    fn ask(&self, peer: Peer, question: Question) -> Asked {
        ask(self.0.clone(), peer, question)
    }

    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<Answer> {
        answered_at_once(&*self.0, peer, request)
    }
}

/// The agent's answer to `question` if it gives one at once, a panic turned into
/// [`Answer::Failed`] (it runs on the client's driver thread, which must not unwind).
fn answered_at_once<A: Agent>(agent: &A, peer: &Peer, request: YesNoRequest) -> Option<Answer> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| agent.answer_at_once(peer, request))) {
        Ok(answer) => answer.map(Answer::Bool),
        Err(_) => Some(Answer::Failed),
    }
}

/// Whether the agent was asked for an answer at once before the request reached the core
/// (by the early write, [`Inline::write_known_reply`]), and what it said.
enum AskedAtOnce {
    /// Not asked: the core's [`Action::Ask`] asks it.
    No,
    /// Asked; `None` if it had no answer at once.
    Yes(Option<Answer>),
}

impl InlineSink for Inline {
    fn takes_early(&self, code: EventCode) -> bool {
        REQUESTS.contains(&code)
    }

    fn take(&self, index: ControllerIndex, event: &Event, outbox: &mut Outbox<'_>) -> bool {
        if !REQUESTS.contains(&event.code()) {
            return false;
        }
        let Some(mut hot) = self.lock() else {
            return false;
        };
        self.answer(&mut hot, index, event, outbox, AskedAtOnce::No)
    }

    fn take_early(&self, frame: &mut ReadFrame<'_>, outbox: &mut Outbox<'_>) -> bool {
        let Some(mut hot) = self.lock() else {
            return false;
        };
        let asked = self.write_known_reply(&mut hot, frame.bytes(), outbox);
        match frame.decoded() {
            Some(d) if REQUESTS.contains(&d.event.code()) => {
                self.answer(&mut hot, d.index, &d.event, outbox, asked)
            }
            // Not a request after all: nothing was written (see `write_known_reply`).
            _ => false,
        }
    }
}

impl Inline {
    /// The shared state, if the task runs (until then every event is queued) and the lock
    /// is free: the task holds it only briefly, but it is never waited for here (the event
    /// is queued instead).
    fn lock(&self) -> Option<MutexGuard<'_, Hot>> {
        let hot = match self.hot.try_lock() {
            Ok(h) => h,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        hot.waker.is_some().then_some(hot)
    }

    /// On the early path, before the frame is decoded: if it is a User Confirmation Request
    /// whose answer is known now (see [`Inline`]), writes the reply. Says whether the agent
    /// was asked, and its answer, for [`Inline::answer`] to give the core.
    fn write_known_reply(
        &self,
        hot: &mut Hot,
        frame: &[u8],
        outbox: &mut Outbox<'_>,
    ) -> AskedAtOnce {
        let Some((index, request)) = UserConfirmRequest::in_frame(frame) else {
            return AskedAtOnce::No;
        };
        // As in `answer`: a command the task has still to send stays ahead of the reply.
        if hot.deferred.iter().any(Action::is_command) {
            return AskedAtOnce::No;
        }
        let peer = Peer::new(index, request.address);
        let (accept, asked) =
            match hot
                .core
                .confirm_answered_by(&peer, request.confirm_hint, request.value)
            {
                None => return AskedAtOnce::No,
                Some(ConfirmAnswerer::Core(accept)) => (accept, AskedAtOnce::No),
                Some(ConfirmAnswerer::Agent(request)) => {
                    match self.agent.answer_at_once(&peer, request) {
                        Some(Answer::Bool(accept)) => {
                            (accept, AskedAtOnce::Yes(Some(Answer::Bool(accept))))
                        }
                        // No answer at once, or the agent failed: the core decides the reply.
                        other => return AskedAtOnce::Yes(other),
                    }
                }
            };
        let opcode = if accept {
            UserConfirmReply::OPCODE
        } else {
            UserConfirmNegativeReply::OPCODE
        };
        // Either reply's parameters are the peer's address and type: the request's octets
        // after its header, as read (`in_frame` checked the layout).
        let address = &frame[HEADER_LEN..HEADER_LEN + 7];
        outbox.write_early(index, opcode, address);
        asked
    }

    /// Hands a request to the core and carries out what it wants done (see [`Inline`]);
    /// `asked` is the agent's answer if it was asked already.
    fn answer(
        &self,
        hot: &mut Hot,
        index: ControllerIndex,
        event: &Event,
        outbox: &mut Outbox<'_>,
        mut asked: AskedAtOnce,
    ) -> bool {
        let Some(waker) = hot.waker.clone() else {
            return false;
        };
        // The clock is read once the reply is written (see `handle_event_unclocked`).
        hot.core.handle_event_unclocked(index, event);
        // A command the task has still to send stays ahead of any reply written here.
        let mut wire_pending = hot.deferred.iter().any(Action::is_command);
        while let Some(action) = hot.core.poll_action() {
            match action {
                Action::Ask {
                    ticket,
                    peer,
                    question,
                } => {
                    let at_once = match std::mem::replace(&mut asked, AskedAtOnce::No) {
                        AskedAtOnce::Yes(answer) => answer,
                        AskedAtOnce::No => question
                            .yes_no()
                            .and_then(|r| self.agent.answer_at_once(&peer, r)),
                    };
                    if let Some(a) = at_once {
                        hot.core.handle_answer(ticket, a);
                        continue;
                    }
                    let mut answer = self.agent.ask(peer, question);
                    match Pin::new(&mut answer).poll(&mut Context::from_waker(&waker)) {
                        Poll::Ready(a) => hot.core.handle_answer(ticket, a),
                        Poll::Pending => hot.new_asks.push((ticket, answer)),
                    }
                }
                Action::Reply(reply) if !wire_pending => {
                    hot.reply_params.clear();
                    let (index, opcode) = reply_command(&reply, &mut hot.reply_params);
                    let settle = self.replies.settle(reply.peer().clone());
                    if !outbox.submit(index, opcode, &hot.reply_params, settle) {
                        self.replies.not_submitted();
                        wire_pending = true;
                        hot.deferred.push_back(Action::Reply(reply));
                    }
                }
                // Nothing is left for the task ahead of it (see `Task::perform_all`).
                Action::Report(r) if hot.deferred.is_empty() => send_report(&self.reports, r),
                other => {
                    wire_pending |= other.is_command();
                    hot.deferred.push_back(other);
                }
            }
        }
        if hot.core.needs_stamp() {
            hot.core.stamp(now());
        }
        if hot.wants_task() {
            outbox.wake_after_write(&waker);
        }
        true
    }
}

/// The agent's answer to `question`, a panic turned into [`Answer::Failed`].
fn ask<A: Agent>(agent: Arc<A>, peer: Peer, question: Question) -> Asked {
    guarded(Box::pin(async move {
        match question {
            Question::ConfirmValue(v) => Answer::Bool(agent.confirm_value(&peer, v).await),
            Question::Authorize => Answer::Bool(agent.authorize(&peer).await),
            Question::Passkey => Answer::Passkey(agent.request_passkey(&peer).await),
            Question::PinCode(secure) => {
                Answer::PinCode(agent.request_pin_code(&peer, secure).await)
            }
        }
    }))
}

/// `answer` with a panic turned into [`Answer::Failed`] (apart from [`ask`], so that this
/// part is compiled once, not once per agent type).
pub(super) fn guarded(answer: BoxFuture<Answer>) -> Asked {
    Asked(CatchPanic(answer))
}

/// The result of a reply command, for [`PairingCore::handle_reply_result`].
fn reply_finished<T>(
    peer: Peer,
    pending: impl Future<Output = Result<T, crate::client::Error>> + Send + 'static,
) -> BoxFuture<Finished> {
    Box::pin(async move { Finished::Reply(peer, reply_verdict(pending.await)) })
}

/// What [`PairingCore::handle_reply_result`] is told of a reply command's result.
fn reply_verdict<T>(result: Result<T, crate::client::Error>) -> Result<(), String> {
    match PairError::from_call(result) {
        Ok(s) if s.is_success() => Ok(()),
        Ok(s) => Err(s.description()),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends `r` to the report stream, if anyone asked for it ([`PairingService::reports`]).
fn send_report(reports: &OnceLock<broadcast::Sender<Report>>, r: Report) {
    tracing::debug!(report = ?r, "pairing service");
    if let Some(reports) = reports.get() {
        let _ = reports.send(r);
    }
}

struct Task<A> {
    inner: Arc<Inner<A>>,
    hot: Arc<Mutex<Hot>>,
    /// The inline path's replies: the failed ones are handed to the core here.
    replies: Arc<InlineReplies>,
    events: crate::client::Subscription,
    calls: mpsc::UnboundedReceiver<ApiCall>,
    asks: FutureSet<Ticket, Asked>,
    work: FutureSet<WorkKey, BoxFuture<Finished>>,
    waiters: std::collections::HashMap<Ticket, oneshot::Sender<Result<(), PairError>>>,
    /// Controllers of the start-up set-up not finished yet.
    initial: Vec<ControllerIndex>,
    ready: Option<oneshot::Sender<Option<PairError>>>,
    first_error: Option<PairError>,
    pair_timeouts: std::collections::HashMap<Ticket, Duration>,
    /// Static addresses handed to LE-only controllers present now, so two never share one
    /// (a controller's is released when it goes away, as bluetoothd only skips the addresses
    /// of adapters it still has: one removed and added again gets its address back).
    static_in_use: Arc<Mutex<Vec<(ControllerIndex, Address)>>>,
    /// Set by a shutdown: told once the replies are answered and the keys flushed.
    shutdown: Option<oneshot::Sender<()>>,
}

/// A waker that does nothing (the rehearsal's stand-in for the task's; `Waker::noop` is
/// newer than our minimum Rust).
pub(super) fn unwoken() -> Waker {
    struct Unwoken;
    impl std::task::Wake for Unwoken {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Unwoken))
}

/// The service subscription's filter: [`SERVICE_EVENTS`] about the controllers it serves.
/// Events about any other controller are neither queued for the service nor offered to its
/// inline path (every control socket gets every controller's events: a process that pairs
/// from one controller reads the requests of the one it pairs with when both are local).
pub(super) fn service_filter(controllers: &Controllers) -> EventFilter {
    let filter = SERVICE_EVENTS
        .into_iter()
        .fold(EventFilter::all(), EventFilter::code);
    match controllers {
        Controllers::All => filter,
        Controllers::Only(served) => served.iter().copied().fold(filter, EventFilter::controller),
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl<A: Agent> Task<A> {
    fn hot(&self) -> MutexGuard<'_, Hot> {
        self.hot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands one queued item to the core (under the lock, and says it is dealt with there,
    /// so the inline path never takes a later event before it).
    fn handle_item(&mut self, item: crate::client::EventItem) {
        match item {
            Ok((index, event)) => {
                if is_index_event(&event) == Some(false) {
                    self.static_in_use
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .retain(|(i, _)| *i != index);
                }
                let mut hot = self.hot();
                hot.core.handle_event(index, &event, now());
                self.events.finish_one();
            }
            Err(SubscriptionError::Lagged(count)) => {
                tracing::warn!(
                    count,
                    "pairing service missed events: requests may go unanswered, keys unstored"
                );
                self.report(Report::EventsLost { count });
            }
            Err(e) => {
                tracing::warn!(error = %e, "pairing event not usable");
                self.events.finish_one();
            }
        }
    }

    async fn run(mut self) {
        // From here on the inline path may answer requests (it wakes this task with what it
        // leaves for it).
        let hot = self.hot.clone();
        let replies = self.replies.clone();
        std::future::poll_fn(|cx| {
            replies.state().waker = Some(cx.waker().clone());
            hot.lock().unwrap_or_else(|p| p.into_inner()).waker = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        let mut idle = self.perform_all();
        self.check_ready();
        let mut closed = false;
        while !(closed && self.work.is_empty() && !self.has_news()) {
            let deadline = idle.deadline;
            let hot = self.hot.clone();
            let replies = self.replies.clone();
            tokio::select! {
                biased;
                item = self.events.recv(), if !closed => match item {
                    Some(item) => self.handle_item(item),
                    // The connection closed. Commands already answered finish first (their
                    // replies came before the end); those still out fail with it.
                    None => closed = true,
                },
                () = std::future::poll_fn(|_| {
                    if replies.state().has_news()
                        || hot.lock().unwrap_or_else(|p| p.into_inner()).has_news()
                    {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }) => {}
                (ticket, answer) = self.asks.next(), if !self.asks.is_empty() => {
                    self.hot().core.handle_answer(ticket, answer);
                }
                (key, finished) = self.work.next(), if !self.work.is_empty() => {
                    self.finished(key, finished);
                }
                Some(call) = self.calls.recv() => self.api(call),
                _ = sleep_until(deadline), if deadline.is_some() => {
                    self.hot().core.handle_timeout(now());
                }
            }
            idle = self.perform_all();
            self.check_ready();
            if idle.stopped && !self.work.contains(WorkKey::Reply) && self.replies.state().out == 0
            {
                break;
            }
        }
        for (_, w) in self.waiters.drain() {
            let _ = w.send(Err(PairingService::<A>::not_running()));
        }
        if let Some(done) = self.shutdown.take() {
            let _ = done.send(());
        }
    }

    fn report(&self, r: Report) {
        send_report(&self.inner.reports, r);
    }

    /// Whether the inline path left anything for the task.
    fn has_news(&self) -> bool {
        self.replies.state().has_news() || self.hot().has_news()
    }

    fn check_ready(&mut self) {
        if self.initial.is_empty() {
            if let Some(ready) = self.ready.take() {
                let _ = ready.send(self.first_error.take());
            }
        }
    }

    fn api(&mut self, call: ApiCall) {
        match call {
            ApiCall::Pair {
                peer,
                io,
                timeout,
                done,
            } => {
                let ticket = self.hot().core.start_pairing(peer, io);
                self.pair_timeouts.insert(ticket, timeout);
                self.waiters.insert(ticket, done);
            }
            ApiCall::Unpair {
                peer,
                disconnect,
                done,
            } => {
                let ticket = self.hot().core.start_unpair(peer, disconnect);
                self.waiters.insert(ticket, done);
            }
            ApiCall::Shutdown { done } => {
                self.replies.state().wake_when_settled = true;
                self.hot().core.handle_shutdown(now());
                self.shutdown = Some(done);
            }
        }
    }

    fn finished(&mut self, key: WorkKey, finished: Finished) {
        match (key, finished) {
            (_, Finished::Reply(peer, result)) => self.hot().core.handle_reply_result(peer, result),
            (WorkKey::Ticket(t), Finished::Pair(result)) => {
                // The keys of this pairing came before its completion: hand every event
                // already queued to the core first.
                while let Some(item) = self.events.try_recv() {
                    self.handle_item(item);
                }
                self.hot().core.handle_pair_result(t, result);
            }
            (WorkKey::Ticket(t), Finished::Unpair(result)) => {
                self.hot().core.handle_unpair_result(t, result)
            }
            (WorkKey::Ticket(t), Finished::Stored(result)) => {
                self.hot().core.handle_stored(t, result)
            }
            (_, Finished::SetUp(index, result)) => {
                self.initial.retain(|i| *i != index);
                match result {
                    Ok(done) => {
                        if let Some(adapter) = done.adapter {
                            self.hot().core.set_adapter(index, adapter);
                        }
                        self.hot().core.handle_set_up(
                            index,
                            Ok(SetUpOutcome {
                                summary: done.summary,
                                left_out: done.left_out,
                                refused: done.refused,
                            }),
                        );
                    }
                    Err(e) => {
                        if self.ready.is_some() && self.first_error.is_none() {
                            self.first_error = Some(e.clone());
                        }
                        self.hot().core.handle_set_up(index, Err(e.to_string()));
                    }
                }
            }
            _ => {}
        }
    }

    /// Adopts what the inline path started, then performs every action: those the inline
    /// path left first (they came first), then the core's. Returns what the task needs next
    /// from the core, read under the lock that found nothing more to do.
    fn perform_all(&mut self) -> Idle {
        let failed = {
            let mut replies = self.replies.state();
            replies.settled_news = false;
            std::mem::take(&mut replies.failed)
        };
        if !failed.is_empty() {
            let mut hot = self.hot();
            for (peer, error) in failed {
                hot.core.handle_reply_result(peer, Err(error));
            }
        }
        loop {
            let action = {
                let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
                self.asks.adopt(&mut hot.new_asks);
                self.work.adopt(&mut hot.new_work);
                match hot.deferred.pop_front().or_else(|| hot.core.poll_action()) {
                    // Sent under the lock: the inline path sends its own reports only when
                    // nothing is left here, so none overtakes one of these.
                    Some(Action::Report(r)) => {
                        send_report(&self.inner.reports, r);
                        continue;
                    }
                    Some(action) => action,
                    None => {
                        let deadline = hot.core.poll_timeout();
                        hot.task_deadline = deadline;
                        return Idle {
                            deadline,
                            stopped: hot.core.is_shutting_down() && hot.core.is_flushed(),
                        };
                    }
                }
            };
            self.perform(action);
        }
    }

    fn perform(&mut self, action: Action) {
        let client = self.inner.client.clone();
        match action {
            Action::Ask {
                ticket,
                peer,
                question,
            } => match question
                .yes_no()
                .and_then(|r| answered_at_once(&*self.inner.agent, &peer, r))
            {
                Some(answer) => self.hot().core.handle_answer(ticket, answer),
                None => self
                    .asks
                    .push(ticket, ask(self.inner.agent.clone(), peer, question)),
            },
            Action::Notify(notice) => self.notify(notice),
            Action::Reply(reply) => {
                let peer = reply.peer().clone();
                let mut params = Vec::new();
                let (index, opcode) = reply_command(&reply, &mut params);
                let pending = client.submit_raw(index, opcode, params, None);
                self.work
                    .push(WorkKey::Reply, reply_finished(peer, pending));
            }
            Action::SetUp(set_up) => {
                if self.ready.is_some() {
                    self.initial.push(set_up.index);
                }
                let store = self.inner.store.clone();
                let index = set_up.index;
                let in_use = self.static_in_use.clone();
                let policies = self.inner.config.device_policies;
                self.work.push(
                    WorkKey::Controller(index),
                    Box::pin(async move {
                        Finished::SetUp(
                            index,
                            set_up_controller(&client, store, in_use, set_up, policies).await,
                        )
                    }),
                );
            }
            Action::Store {
                ticket,
                adapter,
                hint,
                update,
                ..
            } => {
                let Some(store) = self.inner.store.clone() else {
                    return;
                };
                let device = update.device();
                let job = tokio::task::spawn_blocking(move || {
                    let r = store.store(adapter, hint, &update);
                    StoreResult::of_store(&update, r)
                });
                self.work.push(
                    WorkKey::Ticket(ticket),
                    Box::pin(async move {
                        // A store hook that panicked wrote nothing: a failed store.
                        Finished::Stored(job.await.unwrap_or_else(|e| StoreResult::Failed {
                            device,
                            error: format!("the store write did not finish: {e}"),
                        }))
                    }),
                );
            }
            Action::Forget {
                ticket,
                adapter,
                device,
                ..
            } => {
                let Some(store) = self.inner.store.clone() else {
                    return;
                };
                let job = tokio::task::spawn_blocking(move || store.remove(adapter, device));
                self.work.push(
                    WorkKey::Ticket(ticket),
                    Box::pin(async move {
                        Finished::Stored(match job.await {
                            Ok(Ok(removed)) => StoreResult::Removed(removed),
                            Ok(Err(e)) => StoreResult::RemoveFailed(e.to_string()),
                            Err(e) => StoreResult::RemoveFailed(e.to_string()),
                        })
                    }),
                );
            }
            Action::PairDevice {
                ticket,
                peer,
                io_capability,
            } => {
                let timeout = self
                    .pair_timeouts
                    .remove(&ticket)
                    .unwrap_or(Duration::from_secs(60));
                let pending = client.start(
                    peer.index,
                    &PairDevice {
                        address: peer.address.clone(),
                        io_capability,
                    },
                    Some(timeout),
                );
                self.work.push(
                    WorkKey::Ticket(ticket),
                    Box::pin(async move {
                        let r = pending.await;
                        if matches!(&r, Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. })) {
                            let _ = client
                                .call(
                                    peer.index,
                                    &CancelPairDevice {
                                        address: peer.address.clone(),
                                    },
                                )
                                .await;
                            return Finished::Pair(Err(PairError::TimedOut));
                        }
                        Finished::Pair(status_result(PairError::from_call(r)))
                    }),
                );
            }
            Action::UnpairDevice {
                ticket,
                peer,
                disconnect,
            } => {
                let pending = client.start(
                    peer.index,
                    &UnpairDevice {
                        address: peer.address.clone(),
                        disconnect,
                    },
                    None,
                );
                self.work.push(
                    WorkKey::Ticket(ticket),
                    Box::pin(async move { Finished::Unpair(PairError::from_call(pending.await)) }),
                );
            }
            Action::CancelPairDevice { peer, .. } => {
                let pending = client.start(
                    peer.index,
                    &CancelPairDevice {
                        address: peer.address.clone(),
                    },
                    None,
                );
                self.work
                    .push(WorkKey::Reply, reply_finished(peer, pending));
            }
            Action::Done { ticket, result } => {
                if let Some(w) = self.waiters.remove(&ticket) {
                    let _ = w.send(result);
                }
            }
            Action::Report(r) => self.report(r),
        }
    }

    fn notify(&mut self, notice: Notice) {
        let agent = self.inner.agent.clone();
        let sync = |f: &dyn Fn(&A)| {
            if std::panic::catch_unwind(AssertUnwindSafe(|| f(&agent))).is_err() {
                tracing::warn!("agent panicked in a notification; ignored");
            }
        };
        match notice {
            Notice::DisplayPasskey {
                peer,
                passkey,
                entered,
            } => {
                let agent = self.inner.agent.clone();
                let shown = CatchPanic(Box::pin(async move {
                    agent.display_passkey(&peer, passkey, entered).await
                }));
                self.work.push(
                    WorkKey::Other,
                    Box::pin(async move {
                        let _ = shown.await;
                        Finished::Notice
                    }),
                );
            }
            Notice::Cancelled { ticket, peer } => {
                self.asks.remove(ticket);
                sync(&|a| a.cancelled(&peer));
            }
            Notice::Failed { peer, status } => sync(&|a| a.failed(&peer, status)),
            Notice::Completed { peer, key } => sync(&|a| a.completed(&peer, key)),
        }
    }
}

/// The command that carries `reply`: its controller and opcode, returned, and its parameters,
/// appended to `params`.
pub(super) fn reply_command(
    reply: &PairingReply,
    params: &mut Vec<u8>,
) -> (ControllerIndex, Opcode) {
    fn of<C: Command>(
        params: &mut Vec<u8>,
        index: ControllerIndex,
        command: C,
    ) -> (ControllerIndex, Opcode) {
        command.encode(params);
        (index, C::OPCODE)
    }
    match reply {
        PairingReply::UserConfirm { peer, accept: true } => of(
            params,
            peer.index,
            UserConfirmReply {
                address: peer.address.clone(),
            },
        ),
        PairingReply::UserConfirm {
            peer,
            accept: false,
        } => of(
            params,
            peer.index,
            UserConfirmNegativeReply {
                address: peer.address.clone(),
            },
        ),
        PairingReply::UserPasskey {
            peer,
            passkey: Some(passkey),
        } => of(
            params,
            peer.index,
            UserPasskeyReply {
                address: peer.address.clone(),
                passkey: *passkey,
            },
        ),
        PairingReply::UserPasskey {
            peer,
            passkey: None,
        } => of(
            params,
            peer.index,
            UserPasskeyNegativeReply {
                address: peer.address.clone(),
            },
        ),
        PairingReply::PinCode {
            peer,
            pin: Some(pin),
        } => of(
            params,
            peer.index,
            PinCodeReply::new(peer.address.clone(), pin.as_bytes()),
        ),
        PairingReply::PinCode { peer, pin: None } => of(
            params,
            peer.index,
            PinCodeNegativeReply {
                address: peer.address.clone(),
            },
        ),
    }
}

fn link(what: &str, e: crate::client::Error) -> PairError {
    match e.status() {
        Some(s) => {
            tracing::warn!(what, status = %s.description(), "controller set-up command refused");
            PairError::Status(s)
        }
        None => PairError::Link(e.into()),
    }
}

/// Sets up one controller: Read Controller Information (naming its store directory: its
/// public address, or for an LE-only controller the static address kept in the store), then
/// Set IO Capability, the four Load commands (without Load Link Keys on a controller that does
/// not support BR/EDR), Set Powered, then the store's device policies, as `set_up` says.
async fn set_up_controller(
    client: &Client,
    store: Option<Arc<dyn BondStore>>,
    in_use: Arc<Mutex<Vec<(ControllerIndex, Address)>>>,
    set_up: super::core::SetUp,
    policies: bool,
) -> Result<SetUpDone, PairError> {
    let index = set_up.index;
    let mut done = Vec::new();
    let mut left_out = Vec::new();
    // Read Controller Information only when its answer is needed: to name the store
    // directory, or to know whether the controller is already powered.
    let info = if store.is_some() || set_up.power_on {
        Some(
            client
                .call(index, &ReadInfo {})
                .await
                .map_err(|e| link("Read Controller Information", e))?,
        )
    } else {
        None
    };
    let adapter = match (&info, &store) {
        (Some(info), Some(store)) => Some(if info.address != Address::ANY {
            AdapterId::public(info.address)
        } else {
            let s = store.clone();
            let manufacturer = info.manufacturer;
            let taken: Vec<Address> = (in_use.lock().unwrap_or_else(|p| p.into_inner()))
                .iter()
                .filter(|(i, _)| *i != index)
                .map(|(_, a)| *a)
                .collect();
            let address = tokio::task::spawn_blocking(move || {
                s.key_store().static_address(manufacturer, &taken)
            })
            .await
            .map_err(|e| PairError::Store(e.to_string()))?
            .map_err(|e| PairError::Store(e.to_string()))?;
            {
                let mut in_use = in_use.lock().unwrap_or_else(|p| p.into_inner());
                in_use.retain(|(i, _)| *i != index);
                in_use.push((index, address));
            }
            if !info.current_settings.contains(Settings::POWERED) {
                client
                    .call(index, &SetStaticAddress { address })
                    .await
                    .map_err(|e| link("Set Static Address", e))?;
                done.push(format!("static address {address}"));
            }
            AdapterId::static_random(address)
        }),
        _ => None,
    };
    if let Some(io) = set_up.io_capability {
        client
            .call(index, &SetIoCapability { io_capability: io })
            .await
            .map_err(|e| link("Set IO Capability", e))?;
        done.push(format!("IO capability {io}"));
    }
    let was_powered = info
        .as_ref()
        .is_some_and(|i| i.current_settings.contains(Settings::POWERED));
    if let (true, Some(store), Some(adapter)) = (set_up.load_bonds, &store, adapter) {
        let supported = info
            .as_ref()
            .map_or(Settings::BREDR, |i| i.supported_settings);
        let loaded =
            load_adapter_into_controller(store.key_store(), client, index, adapter, supported)
                .await
                .map_err(|e| match e.kind() {
                    crate::keystore::ErrorKind::TooManyKeys => {
                        PairError::TooManyKeys(e.to_string())
                    }
                    _ => PairError::Store(e.to_string()),
                })?;
        left_out = loaded.errors.clone();
        let link_keys = if loaded.link_keys_skipped {
            "no link keys (no BR/EDR: Load Link Keys skipped)".to_string()
        } else {
            format!("{} link key(s)", loaded.link_keys)
        };
        done.push(format!(
            "loaded {link_keys}, {} long term key(s), {} IRK(s), {} connection parameter \
             set(s) from {}",
            loaded.long_term_keys,
            loaded.irks,
            loaded.connection_parameters,
            store.key_store().adapter_dir(adapter).display()
        ));
    }
    if set_up.power_on {
        if was_powered {
            done.push("was already powered".into());
        } else {
            client
                .call(index, &SetPowered { powered: true })
                .await
                .map_err(|e| link("Set Powered", e))?;
            done.push("powered on".into());
        }
    }
    let mut refused = Vec::new();
    if let (true, Some(store), Some(adapter)) = (set_up.load_bonds && policies, &store, adapter) {
        // Kernel 6.1 leaves Add Device unanswered while the controller is off: only a
        // powered controller gets the policies (the kernel keeps them across power cycles).
        if set_up.power_on || was_powered {
            let (summary, refusals) = apply_device_policies(client, store, index, adapter).await?;
            done.push(summary);
            refused = refusals;
        } else {
            done.push("device policies not applied (controller not powered)".into());
        }
    }
    if let (true, Some(adapter)) = (done.is_empty(), adapter) {
        done.push(format!("store directory {adapter}"));
    }
    Ok(SetUpDone {
        adapter,
        summary: done.join("; "),
        left_out,
        refused,
    })
}

/// Gives a powered controller the store's device policies: Block Device for a device whose
/// info file says `Blocked=true`, Add Device with auto-connect for a bonded LE device. A
/// refusal is kept for a report and the next device is tried; only an unreadable store fails.
async fn apply_device_policies(
    client: &Client,
    store: &Arc<dyn BondStore>,
    index: ControllerIndex,
    adapter: AdapterId,
) -> Result<(String, Vec<PolicyRefusal>), PairError> {
    let s = store.clone();
    let policies =
        tokio::task::spawn_blocking(move || device_policy::policies(s.key_store(), adapter))
            .await
            .map_err(|e| PairError::Store(e.to_string()))?
            .map_err(|e| PairError::Store(e.to_string()))?;
    let controller = client.controller(index);
    let (mut added, mut blocked, mut refused) = (0, 0, Vec::new());
    for p in &policies {
        let command = if p.blocked {
            "Block Device"
        } else {
            "Add Device"
        };
        match device_policy::apply(&controller, std::slice::from_ref(p))
            .await
            .pop()
        {
            Some((device, error)) => refused.push(PolicyRefusal {
                device,
                command,
                error: error.to_string(),
            }),
            None if p.blocked => blocked += 1,
            None => added += 1,
        }
    }
    let mut summary = format!("{added} device(s) added for auto-connect, {blocked} blocked");
    if !refused.is_empty() {
        summary.push_str(&format!(", {} refused", refused.len()));
    }
    Ok((summary, refused))
}

/// What setting up a controller did.
struct SetUpDone {
    adapter: Option<AdapterId>,
    summary: String,
    left_out: Vec<crate::keystore::LoadError>,
    refused: Vec<PolicyRefusal>,
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bluez_mgmt_protocol::{AddressInfo, AddressType, EventFrame};

    use super::*;

    /// Counts its wakes.
    #[derive(Default)]
    struct CountedWakes(AtomicUsize);

    impl std::task::Wake for CountedWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Says yes to a confirmation at once, or never (its answer's future stays pending).
    struct YesAtOnce(bool);

    impl AgentCalls for YesAtOnce {
        fn ask(&self, _: Peer, _: Question) -> Asked {
            guarded(Box::pin(std::future::pending()))
        }

        fn answer_at_once(&self, _: &Peer, _: YesNoRequest) -> Option<Answer> {
            self.0.then_some(Answer::Bool(true))
        }
    }

    /// What the service's inline path did with one User Confirmation Request on hci0, offered
    /// both ways a driver hands one over (early, then after the session; each reply answered
    /// with Success): how often it woke the task, the reports it sent itself, whether every
    /// reply it submitted was settled well, and the replies (ordinary, written early).
    fn one_request(at_once: bool) -> (usize, Vec<Report>, bool, (usize, usize)) {
        let index = ControllerIndex(0);
        let controllers = Controllers::Only(vec![index]);
        let core = PairingCore::new(CoreConfig {
            controllers: controllers.clone(),
            answer_timeout: Duration::from_secs(30),
            auto_accept_initiated: true,
            io_capability: None,
            store: false,
            load_bonds: false,
            power_on: false,
        });
        let wakes = Arc::new(CountedWakes::default());
        let replies = Arc::new(InlineReplies::default());
        let reports = Arc::new(OnceLock::new());
        let (tx, mut rx) = broadcast::channel(16);
        let _ = reports.set(tx);
        let inline = Arc::new(Inline {
            hot: Arc::new(Mutex::new(Hot::new(core, Some(Waker::from(wakes.clone()))))),
            agent: Arc::new(YesAtOnce(at_once)),
            replies: replies.clone(),
            reports,
        });
        let request = EventFrame {
            index,
            event: Event::UserConfirmRequest(UserConfirmRequest {
                address: AddressInfo {
                    address: Address([0x01, 0x00, 0x00, 0x00, 0xbb, 0x00]),
                    address_type: AddressType::LE_PUBLIC,
                },
                confirm_hint: Default::default(),
                value: 654_321,
            }),
        }
        .encode()
        .expect("a request encodes");
        let rehearsed =
            crate::client::rehearse_event_path(&[request], service_filter(&controllers), inline);
        let mut sent = Vec::new();
        while let Ok(r) = rx.try_recv() {
            sent.push(r);
        }
        (
            wakes.0.load(Ordering::SeqCst),
            sent,
            replies.all_settled_well(),
            (rehearsed.submitted, rehearsed.written_early),
        )
    }

    #[test]
    fn an_answer_given_at_once_leaves_nothing_for_the_task() {
        let (wakes, reports, settled, replies) = one_request(true);
        assert_eq!(
            replies,
            (1, 1),
            "one reply each way, one of them written early"
        );
        assert!(settled, "both replies settled on the driver");
        assert_eq!(wakes, 0, "the task was never woken");
        assert!(
            reports.len() == 2
                && reports
                    .iter()
                    .all(|r| matches!(r, Report::Answered { accepted: true, .. })),
            "the inline path reported both answers itself: {reports:?}"
        );
    }

    #[test]
    fn an_answer_the_agent_takes_time_for_wakes_the_task() {
        let (wakes, reports, settled, replies) = one_request(false);
        assert_eq!(replies, (0, 0), "no reply yet");
        assert!(settled, "nothing left out");
        assert!(wakes >= 1, "the task was woken to wait for the answer");
        assert!(reports.is_empty(), "{reports:?}");
    }
}
