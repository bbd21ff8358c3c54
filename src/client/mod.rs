//! The async MGMT client: a thin tokio task around the sans-IO [`Session`], typed calls for
//! every command, event subscriptions and per-controller convenience handles.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bluez_mgmt::client::Error> {
//! use bluez_mgmt::client::{Client, EventFilter};
//! use bluez_mgmt::protocol::command::ReadIndexList;
//! use bluez_mgmt::protocol::ControllerIndex;
//!
//! let client = Client::open().await?;
//! let mut events = client.subscribe(EventFilter::all());
//! let list = client.call(ControllerIndex::NONE, &ReadIndexList {}).await?;
//! for index in list.indexes.0 {
//!     let settings = client.controller(index).power(true).await?;
//!     println!("{index}: {settings:?}");
//! }
//! while let Some(item) = events.recv().await {
//!     println!("{item:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # How it runs
//! [`Client::with_transport`] spawns one task, the driver. It owns the [`Session`] and keeps a
//! receive on the transport outstanding at all times (the kernel drops events silently when a
//! socket's receive queue is full; nothing the driver does between receives waits on anything
//! but the socket), takes requests from [`Client`] handles, feeds frames and timeouts to the
//! session, writes what the session wants written and completes the callers' futures.
//!
//! Events go to subscribers *filtered before queueing*: each [`Subscription`] has its own
//! bounded queue (capacity [`EVENT_BUFFER`] unless [`Client::subscribe_with_capacity`] says
//! otherwise) and only events its [`EventFilter`] passes are put in it, so a subscriber that
//! wants pairing requests never shares its queue with a Device Found flood. A subscriber that
//! falls behind anyway gets [`SubscriptionError::Lagged`] with the number of items it missed,
//! never a silent gap, and the driver logs at WARN which events were dropped.
//!
//! A subscriber inside the crate (the pairing service) may also take an event in the
//! driver's own task, when nothing is queued for it ahead of that event, and submit commands
//! there; the driver writes them before it reads the next frame.
//!
//! The task ends when every [`Client`] handle (and every pending reply) is dropped, or when
//! the transport closes; subscriptions then end too.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::protocol::wire::encode_to_vec;
use crate::protocol::{AnyCommand, AnyReply, Command, ControllerIndex, Opcode};
use crate::session::{CommandReply, RequestId, Session, SessionEvent};
use crate::transport::{KernelTransport, Transport};

mod advertising;
mod controller;
mod devices;
mod discovery;
mod error;
mod listing;
mod subscription;

pub use advertising::{AddedAdvertisement, Advertisement, AdvertisingError};
pub use controller::{Controller, Setting};
pub use discovery::{Discovery, DiscoveryOptions, FoundDevice};
pub use error::{Error, ErrorKind};
pub use listing::{core_version, ChooseControllerError};
pub use subscription::{EventFilter, EventItem, MalformedEvent, Subscription, SubscriptionError};

pub(crate) use subscription::InlineSink;
use subscription::{Published, Subscriber};

/// The subscribers' queues; `None` once the connection is closed.
type Subscribers = Arc<Mutex<Option<Vec<Subscriber>>>>;

/// How many events a subscriber may fall behind (by default) before it gets
/// [`SubscriptionError::Lagged`].
pub const EVENT_BUFFER: usize = 1024;

/// A handle to one MGMT connection. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    requests: mpsc::UnboundedSender<Message>,
    subscribers: Subscribers,
    next_token: AtomicU64,
    close_reason: Arc<Mutex<Option<String>>>,
}

impl Shared {
    fn closed_error(&self) -> Error {
        let reason = self
            .close_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Error::closed(reason.as_deref())
    }
}

enum Message {
    Submit {
        token: u64,
        index: ControllerIndex,
        opcode: Opcode,
        params: Vec<u8>,
        timeout: Option<Duration>,
        reply: oneshot::Sender<Result<CommandReply, Error>>,
    },
    Cancel {
        token: u64,
    },
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the kernel's MGMT control channel. Fails with [`ErrorKind::NoBluetooth`] on a
    /// kernel without Bluetooth and [`ErrorKind::PermissionDenied`] without CAP_NET_ADMIN.
    pub async fn open() -> Result<Client, Error> {
        let transport = KernelTransport::open()?;
        Ok(Client::with_transport(transport))
    }

    /// Runs a client over any transport. Must be called inside a tokio runtime.
    pub fn with_transport<T: Transport>(transport: T) -> Client {
        let (driver, shared, req_rx) = Driver::new(Arc::new(transport));
        tokio::spawn(driver.run(req_rx));
        Client { shared }
    }

    /// Sends `command` to controller `index` and waits for its typed reply.
    pub async fn call<C: Command>(
        &self,
        index: ControllerIndex,
        command: &C,
    ) -> Result<C::Reply, Error> {
        self.start(index, command, None).await
    }

    /// Like [`Client::call`], failing with [`ErrorKind::Timeout`] if no reply has come after
    /// `timeout`, counted from submission (time spent queued behind another ordinary command
    /// counts). The late reply, if it comes, is recognised and dropped. Pair Device needs a
    /// long one: the kernel keeps it pending for the whole pairing.
    pub async fn call_with_timeout<C: Command>(
        &self,
        index: ControllerIndex,
        command: &C,
        timeout: Duration,
    ) -> Result<C::Reply, Error> {
        self.start(index, command, Some(timeout)).await
    }

    /// Submits `command` now (so that submission order is send order) and returns the future
    /// of its typed reply. Dropping the future abandons the request.
    pub fn start<C: Command>(
        &self,
        index: ControllerIndex,
        command: &C,
        timeout: Option<Duration>,
    ) -> ReplyFuture<C::Reply> {
        let pending = self.submit_raw(index, C::OPCODE, encode_to_vec(command), timeout);
        ReplyFuture {
            pending,
            decode: decode_typed::<C>,
        }
    }

    /// Submits any command now and returns the future of its reply, decoded by opcode.
    pub fn start_any(
        &self,
        index: ControllerIndex,
        command: &AnyCommand,
        timeout: Option<Duration>,
    ) -> ReplyFuture<AnyReply> {
        let mut params = Vec::new();
        command.encode(&mut params);
        let pending = self.submit_raw(index, command.opcode(), params, timeout);
        ReplyFuture {
            pending,
            decode: decode_any,
        }
    }

    /// Sends any command and waits for its reply, decoded by opcode.
    pub async fn call_any(
        &self,
        index: ControllerIndex,
        command: &AnyCommand,
        timeout: Option<Duration>,
    ) -> Result<AnyReply, Error> {
        self.start_any(index, command, timeout).await
    }

    /// Submits a command given as opcode and parameter bytes; the future yields the raw reply.
    pub fn submit_raw(
        &self,
        index: ControllerIndex,
        opcode: Opcode,
        params: Vec<u8>,
        timeout: Option<Duration>,
    ) -> PendingReply {
        let token = self.shared.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let sent = self.shared.requests.send(Message::Submit {
            token,
            index,
            opcode,
            params,
            timeout,
            reply: tx,
        });
        PendingReply {
            shared: self.shared.clone(),
            token,
            rx: sent.is_ok().then_some(rx),
            done: false,
        }
    }

    /// Subscribes to events that pass `filter`, from this call on (subscribe before sending
    /// the command whose events you wait for). Replies to our own commands are not events;
    /// malformed event frames are delivered as [`SubscriptionError::Malformed`] items.
    pub fn subscribe(&self, filter: EventFilter) -> Subscription {
        self.subscribe_with_capacity(filter, EVENT_BUFFER, "subscription")
    }

    /// Like [`Client::subscribe`], with room for `capacity` events in the subscriber's queue
    /// (only events that pass `filter` take room). `name` identifies the subscriber in the
    /// WARN log line written when its queue overflows.
    pub fn subscribe_with_capacity(
        &self,
        filter: EventFilter,
        capacity: usize,
        name: &'static str,
    ) -> Subscription {
        self.subscribe_inner(filter, capacity, name, None)
    }

    /// Like [`Client::subscribe_with_capacity`], with `sink` offered every event that passes
    /// `filter` in the driver's task first, whenever nothing is queued ahead of it (see
    /// [`InlineSink`]); what it does not take is queued. The reader must call
    /// [`Subscription::finish_one`] for every item it has dealt with.
    pub(crate) fn subscribe_inline(
        &self,
        filter: EventFilter,
        capacity: usize,
        name: &'static str,
        sink: Arc<dyn InlineSink>,
    ) -> Subscription {
        self.subscribe_inner(filter, capacity, name, Some(sink))
    }

    fn subscribe_inner(
        &self,
        filter: EventFilter,
        capacity: usize,
        name: &'static str,
        inline: Option<Arc<dyn InlineSink>>,
    ) -> Subscription {
        let mut subscribers = self
            .shared
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match subscribers.as_mut() {
            Some(list) => {
                let (subscription, subscriber) = Subscription::pair(filter, capacity, name, inline);
                list.push(subscriber);
                subscription
            }
            None => Subscription::ended(),
        }
    }

    /// A handle for controller `index` with convenience methods.
    pub fn controller(&self, index: ControllerIndex) -> Controller {
        Controller::new(self.clone(), index)
    }
}

fn decode_typed<C: Command>(reply: CommandReply) -> Result<C::Reply, Error> {
    reply
        .decode::<C>()
        .map_err(|e| Error::decode(reply.opcode, reply.index, e))
}

fn decode_any(reply: CommandReply) -> Result<AnyReply, Error> {
    reply
        .any()
        .map_err(|e| Error::decode(reply.opcode, reply.index, e))
}

/// The raw reply to a submitted request. Dropping it before it resolves abandons the request
/// (a queued command is not sent; a sent one's reply is recognised and dropped).
pub struct PendingReply {
    shared: Arc<Shared>,
    token: u64,
    rx: Option<oneshot::Receiver<Result<CommandReply, Error>>>,
    done: bool,
}

impl std::fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingReply")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Future for PendingReply {
    type Output = Result<CommandReply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(rx) = this.rx.as_mut() else {
            this.done = true;
            return Poll::Ready(Err(this.shared.closed_error()));
        };
        match Pin::new(rx).poll(cx) {
            Poll::Ready(result) => {
                this.done = true;
                Poll::Ready(result.unwrap_or_else(|_| Err(this.shared.closed_error())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if !self.done && self.rx.is_some() {
            let _ = self
                .shared
                .requests
                .send(Message::Cancel { token: self.token });
        }
    }
}

/// The typed reply to a submitted request (see [`Client::start`]).
pub struct ReplyFuture<R> {
    pending: PendingReply,
    decode: fn(CommandReply) -> Result<R, Error>,
}

impl<R> std::fmt::Debug for ReplyFuture<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pending.fmt(f)
    }
}

impl<R> Future for ReplyFuture<R> {
    type Output = Result<R, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let decode = self.decode;
        Pin::new(&mut self.pending)
            .poll(cx)
            .map(|r| r.and_then(decode))
    }
}

/// One receive on the transport, owning its handle so the driver can keep it across loop
/// turns (it is never dropped half-way, whatever the transport's cancel safety).
fn receive(
    transport: Arc<dyn Transport>,
) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<u8>>> + Send>> {
    Box::pin(async move { transport.recv().await })
}

struct Driver {
    session: Session,
    transport: Arc<dyn Transport>,
    subscribers: Subscribers,
    requests: Requests,
    close_reason: Arc<Mutex<Option<String>>>,
}

/// The callers waiting for replies.
struct Requests {
    // Ordered maps: keys are small growing integers, not worth a SipHash per lookup.
    pending: BTreeMap<RequestId, (u64, oneshot::Sender<Result<CommandReply, Error>>)>,
    by_token: BTreeMap<u64, RequestId>,
    /// The handles' shared part (weak: the driver must not keep itself alive).
    shared: Weak<Shared>,
}

impl Requests {
    /// Submits a command to `session` for the caller (`token`, `reply`) waiting on it.
    fn submit(
        &mut self,
        session: &mut Session,
        (token, reply): (u64, oneshot::Sender<Result<CommandReply, Error>>),
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
        deadline: Option<std::time::Instant>,
    ) {
        match session.submit_raw(index, opcode, params, deadline) {
            Ok(id) => {
                self.pending.insert(id, (token, reply));
                self.by_token.insert(token, id);
            }
            Err(e) => {
                let _ = reply.send(Err(Error::too_long(index, e)));
            }
        }
    }
}

/// What an [`InlineSink`] may do from the driver's task: submit commands, which the driver
/// writes as soon as the sink returns, before it reads the next frame.
pub(crate) struct Outbox<'a> {
    session: &'a mut Session,
    requests: &'a mut Requests,
}

impl Outbox<'_> {
    /// Submits a command (as [`Client::submit_raw`] does, with no time limit); `None` when
    /// no [`Client`] handle is left to own the reply.
    pub(crate) fn submit(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
    ) -> Option<PendingReply> {
        let shared = self.requests.shared.upgrade()?;
        let token = shared.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.requests
            .submit(self.session, (token, tx), index, opcode, params, None);
        Some(PendingReply {
            shared,
            token,
            rx: Some(rx),
            done: false,
        })
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    /// A driver over `transport`, the handles' shared part and the receiver of their
    /// requests.
    fn new(
        transport: Arc<dyn Transport>,
    ) -> (Driver, Arc<Shared>, mpsc::UnboundedReceiver<Message>) {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let close_reason = Arc::new(Mutex::new(None));
        let subscribers: Subscribers = Arc::new(Mutex::new(Some(Vec::new())));
        let shared = Arc::new(Shared {
            requests: req_tx,
            subscribers: subscribers.clone(),
            next_token: AtomicU64::new(0),
            close_reason: close_reason.clone(),
        });
        let driver = Driver {
            session: Session::new(),
            transport,
            subscribers,
            requests: Requests {
                pending: BTreeMap::new(),
                by_token: BTreeMap::new(),
                shared: Arc::downgrade(&shared),
            },
            close_reason,
        };
        (driver, shared, req_rx)
    }

    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Message>) {
        let mut frame = receive(self.transport.clone());
        loop {
            let deadline = self.session.poll_timeout();
            tokio::select! {
                biased;
                received = &mut frame => match received {
                    Ok(received) => {
                        frame = receive(self.transport.clone());
                        self.session.handle_frame(&received);
                    }
                    Err(e) => {
                        self.close(format!("receiving failed: {e}"));
                        return;
                    }
                },
                message = requests.recv() => match message {
                    Some(message) => self.handle_message(message),
                    None => return,
                },
                _ = sleep_until(deadline), if deadline.is_some() => {
                    self.session.handle_timeout(now());
                }
            }
            self.flush().await;
        }
    }

    fn handle_message(&mut self, message: Message) {
        match message {
            Message::Submit {
                token,
                index,
                opcode,
                params,
                timeout,
                reply,
            } => {
                let deadline = timeout.map(|t| now() + t);
                self.requests.submit(
                    &mut self.session,
                    (token, reply),
                    index,
                    opcode,
                    &params,
                    deadline,
                );
            }
            Message::Cancel { token } => {
                if let Some(id) = self.requests.by_token.remove(&token) {
                    self.requests.pending.remove(&id);
                    self.session.cancel(id);
                }
            }
        }
    }

    async fn flush(&mut self) {
        loop {
            while let Some(tx) = self.session.poll_transmit() {
                if let Err(e) = self.transport.send(&tx.frame).await {
                    let error = Error::transport("sending failed", e);
                    tracing::warn!(%error, "MGMT command not sent");
                    self.session.cancel(tx.id);
                    if let Some((token, reply)) = self.requests.pending.remove(&tx.id) {
                        self.requests.by_token.remove(&token);
                        let _ = reply.send(Err(error));
                    }
                }
            }
            let Some(event) = self.session.poll_event() else {
                return;
            };
            self.dispatch(event);
        }
    }

    fn dispatch(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Completed { id, result } => {
                if let Some((token, reply)) = self.requests.pending.remove(&id) {
                    self.requests.by_token.remove(&token);
                    let _ = reply.send(result.map_err(Error::from));
                }
            }
            SessionEvent::Accepted { .. } => {}
            SessionEvent::Event { index, event } => {
                self.publish(Arc::new(Published::Event(index, event)));
            }
            SessionEvent::Malformed { frame, error } => {
                self.publish(Arc::new(Published::Malformed(MalformedEvent {
                    frame,
                    error,
                })));
            }
        }
    }

    /// Offers an item to every subscriber (each filters before queueing; an inline one may
    /// submit commands, written when [`Driver::flush`] goes on); forgets those whose
    /// subscription was dropped.
    fn publish(&mut self, item: Arc<Published>) {
        let mut outbox = Outbox {
            session: &mut self.session,
            requests: &mut self.requests,
        };
        // The list is taken out while it is offered (an inline sink runs agent code, which
        // may subscribe), and put back in front of any subscriber added meanwhile.
        let Some(mut list) = self
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .map(std::mem::take)
        else {
            return;
        };
        list.retain(|s| s.offer(&item, &mut outbox));
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(added) = subscribers.as_mut() {
            list.append(added);
            *added = list;
        }
    }

    fn close(&mut self, reason: String) {
        tracing::debug!(%reason, "MGMT connection closed");
        *self.close_reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        self.session.close();
        while let Some(event) = self.session.poll_event() {
            self.dispatch(event);
        }
        // Dropping the queues' senders ends every subscription once it is read out.
        *self.subscribers.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Runs event frames, in order, through one throwaway copy of the driver's event path: the
/// session, dispatch, publishing, and `sink` as the only subscriber (inline, behind
/// `filter`). Each command the sink submits is framed by the session and answered at once by
/// a Command Complete (Success, its parameters echoed as the reply) fed back the same way, so
/// the sink's pending replies complete; `after_each` runs once each frame's commands are
/// answered. Nothing is written anywhere. Returns how many commands the sink submitted. For
/// the pairing service's start-up rehearsal ([`crate::pairing`]): the first real request
/// must not be the first run of this code.
pub(crate) fn rehearse_event_path(
    frames: &[Vec<u8>],
    filter: EventFilter,
    sink: Arc<dyn InlineSink>,
    mut after_each: impl FnMut(),
) -> usize {
    /// A transport with nothing at the other end: the rehearsal never sends or receives.
    struct Unconnected;
    impl Transport for Unconnected {
        fn send<'a>(&'a self, _: &'a [u8]) -> crate::transport::BoxFuture<'a, std::io::Result<()>> {
            Box::pin(std::future::ready(Err(
                std::io::ErrorKind::NotConnected.into()
            )))
        }
        fn recv(&self) -> crate::transport::BoxFuture<'_, std::io::Result<Vec<u8>>> {
            Box::pin(std::future::ready(Err(
                std::io::ErrorKind::NotConnected.into()
            )))
        }
    }
    // `_shared` keeps the handles' part alive: the sink's submissions need it.
    let (mut driver, _shared, _requests) = Driver::new(Arc::new(Unconnected));
    let (subscription, subscriber) =
        subscription::Subscription::pair(filter, 1, "rehearsal", Some(sink));
    if let Some(list) = driver
        .subscribers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
    {
        list.push(subscriber);
    }
    let mut submitted = 0;
    for frame in frames {
        driver.session.handle_frame(frame);
        loop {
            while let Some(event) = driver.session.poll_event() {
                driver.dispatch(event);
            }
            let Some(tx) = driver.session.poll_transmit() else {
                break;
            };
            submitted += 1;
            driver.session.handle_frame(&echoed_complete(&tx.frame));
        }
        after_each();
    }
    drop(subscription);
    submitted
}

/// The Command Complete (Success) answering command frame `command`, its parameters echoed
/// as the reply's (what the kernel returns for the pairing replies: the address).
fn echoed_complete(command: &[u8]) -> Vec<u8> {
    let (header, params) = command.split_at(6.min(command.len()));
    let mut frame = Vec::with_capacity(9 + params.len());
    frame.extend_from_slice(&0x0001u16.to_le_bytes());
    frame.extend_from_slice(header.get(2..4).unwrap_or(&[0xff, 0xff]));
    frame.extend_from_slice(&(3 + params.len() as u16).to_le_bytes());
    frame.extend_from_slice(header.get(..2).unwrap_or(&[0, 0]));
    frame.push(0);
    frame.extend_from_slice(params);
    frame
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
