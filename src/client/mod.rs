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
//! One driver owns the [`Session`]: it reads frames, takes requests from [`Client`] handles,
//! feeds frames and timeouts to the session, writes what the session wants written and
//! completes the callers' futures. Nothing it does between reads waits on anything but the
//! socket (the kernel drops events silently when a socket's receive queue is full).
//! [`Client::open`] and [`Client::with_control_socket`] run it on a thread of its own,
//! blocked in `read(2)` on the socket and nowhere else (see the `driver_thread` module): the
//! handles take the driver's lock to submit and write their commands themselves, and a
//! request's time limit is watched by its caller's future. [`Client::with_transport`] runs it
//! as a task of the current tokio runtime, over any [`Transport`] (a replay, a recording),
//! and the task does all of it. On a driver thread, a time limit needs tokio's timers
//! (`enable_time`, which `#[tokio::main]` turns on).
//!
//! Events go to subscribers *filtered before queueing*: each [`Subscription`] has its own
//! bounded queue (capacity [`EVENT_BUFFER`] unless [`Client::subscribe_with_capacity`] says
//! otherwise) and only events its [`EventFilter`] passes are put in it, so a subscriber that
//! wants pairing requests never shares its queue with a Device Found flood. A subscriber that
//! falls behind anyway gets [`SubscriptionError::Lagged`] with the number of items it missed,
//! never a silent gap, and the driver logs at WARN which events were dropped. An event that
//! no subscriber's filter passes, and that the session does not track itself (command results,
//! controllers added and removed), is dropped as soon as its header is read, before it is
//! decoded: every control socket reads every controller's events, and a process serving one
//! controller should spend on another's no more than the `read` (a malformed header is still
//! reported; a malformed body nobody asked for is not looked at).
//!
//! A subscriber inside the crate (the pairing service) may also take an event in the
//! driver itself, when nothing is queued for it ahead of that event, and submit commands
//! there; the driver writes them before it reads the next frame. The driver thread offers it a
//! pairing request as soon as the frame is read, before the session and other subscribers
//! see it, and writes the reply command the moment it is submitted, recording it with the
//! session afterwards ([`Session::submit_written`]): between `read` returning and the reply's
//! `write` there is the decoding of the request, the pairing core's decision and the agent's
//! answer, and nothing else. A subscriber that knows its reply from the frame's bytes writes
//! it before even the decoding (`Outbox::write_early`) and submits it afterwards as any other;
//! the driver records it as written.
//!
//! The driver ends when every [`Client`] handle (and every pending reply) is dropped, or when
//! the transport closes; subscriptions then end too.

use std::collections::BTreeMap;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::protocol::frame::{RawFrame, HEADER_LEN};
use crate::protocol::wire::encode_to_vec;
use crate::protocol::{AnyCommand, AnyReply, Command, ControllerIndex, EventCode, Opcode};
use crate::session::{CommandReply, RequestId, Session, SessionEvent};
use crate::socket::ControlFd;
use crate::transport::Transport;

mod advertising;
mod controller;
mod devices;
mod discovery;
mod driver_thread;
mod error;
mod listing;
mod subscription;

pub use advertising::{AddedAdvertisement, Advertisement, AdvertisingError};
pub use controller::{Controller, Setting};
pub use discovery::{Discovery, DiscoveryOptions, FoundDevice};
pub use error::{Error, ErrorKind};
pub use listing::{core_version, ChooseControllerError};
pub use subscription::{EventFilter, EventItem, MalformedEvent, Subscription, SubscriptionError};

pub(crate) use subscription::{InlineSink, ReadFrame};
use subscription::{Published, Subscriber};

/// Subscribers added by the handles and not yet taken in by the driver (which keeps its
/// list to itself, so that handing out an event takes no lock).
type Subscribers = Arc<NewSubscribers>;

/// See [`Subscribers`].
struct NewSubscribers {
    /// The subscribers added; `None` once the connection is closed.
    list: Mutex<Option<Vec<Subscriber>>>,
    /// Set when `list` has some: the driver looks at this alone before each event.
    waiting: AtomicBool,
}

impl NewSubscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Subscriber>>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Room for any reply-lane command frame the early path writes: the longest, PIN Code Reply,
/// is 30 octets (header, address and type, PIN length, 16-octet PIN). Counted by callgrind
/// (`benches/answer_path.rs`), allocating it at the first real request (a `malloc` and a
/// `realloc` as it grew) made that request's path to the write 1,540 instructions instead of
/// about 590.
const REPLY_FRAME_ROOM: usize = 64;

/// How many events a subscriber may fall behind (by default) before it gets
/// [`SubscriptionError::Lagged`].
pub const EVENT_BUFFER: usize = 1024;

/// A handle to one MGMT connection. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    /// The driver task's queue; for a driver thread, where what handles do on the thread
    /// itself is queued (see [`driver_thread`]).
    requests: mpsc::UnboundedSender<Message>,
    /// The driver thread's side (see [`driver_thread`]): handles elsewhere take its lock and
    /// do their part themselves. `None` when the driver is a task.
    thread: Option<Arc<driver_thread::ThreadLink>>,
    subscribers: Subscribers,
    next_token: AtomicU64,
    close_reason: Arc<Mutex<Option<String>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // A driver task learns that no handle is left from its queue; a thread is woken.
        if let Some(thread) = &self.thread {
            thread.handles_gone();
        }
    }
}

impl Shared {
    /// Hands `message` to the driver: done here under the driver thread's lock, or queued
    /// (for a task, and on the driver thread itself); false once the driver has gone.
    fn send(&self, message: Message) -> bool {
        match &self.thread {
            Some(thread) if !driver_thread::on_driver_thread() => thread.handle(message),
            _ => self.requests.send(message).is_ok(),
        }
    }

    /// Ends the requests whose time limit has passed, for a driver thread (a task watches
    /// its requests' time limits itself).
    fn expire(&self) {
        if let Some(thread) = &self.thread {
            if driver_thread::on_driver_thread() {
                let _ = self.requests.send(Message::Expire);
            } else {
                thread.expire();
            }
        }
    }

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
        deadline: Option<Instant>,
        reply: oneshot::Sender<Result<CommandReply, Error>>,
    },
    Cancel {
        token: u64,
    },
    /// End the requests whose time limit has passed (a driver thread's handles say so).
    Expire,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the kernel's MGMT control channel. Fails with [`ErrorKind::NoBluetooth`] on a
    /// kernel without Bluetooth and [`ErrorKind::PermissionDenied`] without CAP_NET_ADMIN.
    /// Must be called inside a tokio runtime.
    ///
    /// The driver runs on a thread of its own that blocks on the socket (see "How it runs"),
    /// inside this runtime's context: agent code it runs may spawn tasks and use timers.
    pub async fn open() -> Result<Client, Error> {
        Client::on_thread(ControlFd::open()?)
    }

    /// Runs a client over an MGMT control socket opened and bound elsewhere, its driver on a
    /// thread of its own as [`Client::open`]'s. The kernel decides what a control socket may
    /// do when it is bound (a socket bound without `CAP_NET_ADMIN` gets only the read-only
    /// commands and events), so a privileged helper can open it and hand it to a process
    /// without the capability. Any socket that carries one frame per read and per write works
    /// (tests use a `SOCK_SEQPACKET` pair). Must be called inside a tokio runtime.
    pub fn with_control_socket(socket: std::os::fd::OwnedFd) -> Result<Client, Error> {
        Client::on_thread(ControlFd::from_fd(socket)?)
    }

    /// A client whose driver runs on a thread of its own over `socket`.
    fn on_thread(socket: ControlFd) -> Result<Client, Error> {
        let cannot = |e| Error::transport("cannot start the MGMT driver thread", e);
        socket.wait_in_reads().map_err(cannot)?;
        let (shared, link) = connect(|driver, queued| {
            let link = Arc::new(driver_thread::ThreadLink::new(socket, driver, queued));
            (Some(link.clone()), link)
        });
        driver_thread::spawn(link, tokio::runtime::Handle::current()).map_err(cannot)?;
        Ok(Client { shared })
    }

    /// Runs a client over any transport, its driver a task of the current tokio runtime.
    /// Must be called inside a tokio runtime.
    pub fn with_transport<T: Transport>(transport: T) -> Client {
        let (driver, shared, req_rx) = Driver::new();
        tokio::spawn(driver.run(Arc::new(transport), req_rx));
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
    /// long one: the kernel keeps it pending for the whole pairing. On a client whose driver
    /// is a thread ([`Client::open`]) the returned future watches the time limit itself, with
    /// a tokio timer: the runtime needs its time driver (`enable_time`).
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
        let deadline = timeout.map(|t| now() + t);
        let sent = self.shared.send(Message::Submit {
            token,
            index,
            opcode,
            params,
            deadline,
            reply: tx,
        });
        PendingReply {
            time_limit: match (&self.shared.thread, deadline) {
                (Some(_), Some(deadline)) => TimeLimit::At(deadline),
                _ => TimeLimit::None,
            },
            shared: self.shared.clone(),
            token,
            rx: sent.then_some(rx),
            done: false,
        }
    }

    /// Subscribes to events that pass `filter`, from this call on (subscribe before sending
    /// the command whose events you wait for). Replies to our own commands are not events;
    /// malformed event frames are delivered as [`SubscriptionError::Malformed`] items (those
    /// the filter passes: an event nobody wants is not decoded).
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
        let mut subscribers = self.shared.subscribers.lock();
        match subscribers.as_mut() {
            Some(list) => {
                let (subscription, subscriber) = Subscription::pair(filter, capacity, name, inline);
                list.push(subscriber);
                self.shared
                    .subscribers
                    .waiting
                    .store(true, Ordering::Release);
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
    /// The request's time limit, when this future watches it (a driver thread does not look
    /// at the clock: it waits in `read`).
    time_limit: TimeLimit,
}

/// A time limit watched by a [`PendingReply`].
enum TimeLimit {
    /// None to watch (none given, or the driver is a task, which watches it).
    None,
    /// Not polled yet: the timer is made at the first poll, inside the runtime.
    At(Instant),
    /// The timer, armed.
    Armed(Pin<Box<tokio::time::Sleep>>),
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
        loop {
            if let Poll::Ready(result) = Pin::new(&mut *rx).poll(cx) {
                this.done = true;
                return Poll::Ready(result.unwrap_or_else(|_| Err(this.shared.closed_error())));
            }
            if let TimeLimit::At(deadline) = this.time_limit {
                let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
                this.time_limit = TimeLimit::Armed(Box::pin(sleep));
            }
            let TimeLimit::Armed(sleep) = &mut this.time_limit else {
                return Poll::Pending;
            };
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The session ends the request (its caller, this future, gets the timeout), and
            // every other request whose time has come; the reply is looked at once more.
            this.time_limit = TimeLimit::None;
            this.shared.expire();
        }
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if !self.done && self.rx.is_some() {
            self.shared.send(Message::Cancel { token: self.token });
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

/// One receive on the transport, owning its handle so the driver task can keep it across
/// loop turns (it is never dropped half-way, whatever the transport's cancel safety).
fn receive(
    transport: Arc<dyn Transport>,
) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<u8>>> + Send>> {
    Box::pin(async move { transport.recv().await })
}

/// What the driver owns, whether it runs as a task over a [`Transport`] or on a thread of its
/// own over the kernel socket ([`driver_thread`]): the session, the subscribers and the
/// callers waiting for replies.
struct Driver {
    session: Session,
    /// Where handles add subscribers.
    subscribers: Subscribers,
    /// The subscribers, in the order they were added.
    list: Vec<Subscriber>,
    requests: Requests,
    close_reason: Arc<Mutex<Option<String>>>,
    /// Tasks an inline subscriber asked to wake once its commands are written (see
    /// [`Outbox::wake_after_write`]).
    to_wake: Vec<std::task::Waker>,
    /// Where the early path builds a reply frame (see [`Driver::take_early`]); made with
    /// room for any reply ([`REPLY_FRAME_ROOM`]), so that the first request's reply does not
    /// allocate it on the way to its write.
    reply_frame: Vec<u8>,
}

/// How an inline sink learns what became of a command it submitted ([`Outbox::submit`]):
/// called once, on the driver, with the command's reply or why there is none. It may be
/// called before the submission returns (a command that cannot be sent), so it must not wait
/// for anything the sink holds while submitting.
pub(crate) type Settle = Box<dyn FnOnce(Result<CommandReply, Error>) + Send>;

/// Who waits for a request's reply.
enum Caller {
    /// A task, through a [`PendingReply`] (its token, for a cancel).
    Task(u64, oneshot::Sender<Result<CommandReply, Error>>),
    /// An inline sink, told on the driver ([`Outbox::submit`]): no task is woken for it.
    Sink(Settle),
}

impl Caller {
    fn answer(self, result: Result<CommandReply, Error>) {
        match self {
            Caller::Task(_, reply) => {
                let _ = reply.send(result);
            }
            Caller::Sink(settle) => settle(result),
        }
    }
}

/// The callers waiting for replies.
struct Requests {
    // Ordered maps: keys are small growing integers, not worth a SipHash per lookup.
    pending: BTreeMap<RequestId, Caller>,
    /// The requests of [`Caller::Task`]s, by token.
    by_token: BTreeMap<u64, RequestId>,
    /// The handles' shared part (weak: the driver must not keep itself alive).
    shared: Weak<Shared>,
}

impl Requests {
    /// Submits a command to `session` for `caller`.
    fn submit(
        &mut self,
        session: &mut Session,
        caller: Caller,
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
        deadline: Option<std::time::Instant>,
    ) {
        match session.submit_raw(index, opcode, params, deadline) {
            Ok(id) => self.adopt(id, caller),
            Err(e) => caller.answer(Err(Error::too_long(index, e))),
        }
    }

    /// Makes `caller` the one waiting on the session's request `id`.
    fn adopt(&mut self, id: RequestId, caller: Caller) {
        if let Caller::Task(token, _) = &caller {
            self.by_token.insert(*token, id);
        }
        self.pending.insert(id, caller);
    }

    /// The caller waiting on request `id`, no longer waiting.
    fn take(&mut self, id: RequestId) -> Option<Caller> {
        let caller = self.pending.remove(&id)?;
        if let Caller::Task(token, _) = &caller {
            self.by_token.remove(token);
        }
        Some(caller)
    }
}

impl Drop for Requests {
    /// A driver that ends without closing the session (its last handle gone) still tells
    /// each inline sink that its commands are answered by no one; a task's [`PendingReply`]
    /// learns it from its dropped channel.
    fn drop(&mut self) {
        for (_, caller) in std::mem::take(&mut self.pending) {
            if let Caller::Sink(settle) = caller {
                settle(Err(Error::closed(None)));
            }
        }
    }
}

/// What an [`InlineSink`] may do from the driver's task: submit commands, which the driver
/// writes as soon as the sink returns, before it reads the next frame.
pub(crate) struct Outbox<'a> {
    session: &'a mut Session,
    requests: &'a mut Requests,
    to_wake: &'a mut Vec<std::task::Waker>,
    /// On the driver thread's early path ([`Driver::take_early`]): writes a reply-lane
    /// command the moment it is submitted, before anything else is done (see
    /// [`Outbox::submit`]), with `frame` to build it in.
    write_now: Option<(&'a mut WriteNow<'a>, &'a mut Vec<u8>)>,
    /// A reply written by [`Outbox::write_early`] before it was submitted: its controller
    /// and opcode (the frame is still in `write_now`'s buffer). The submission of the same
    /// command records it as written instead of writing it again.
    written_early: Option<(ControllerIndex, Opcode)>,
}

/// Writes one command frame at once (the driver thread's socket write).
pub(crate) type WriteNow<'a> = dyn FnMut(&[u8]) -> std::io::Result<()> + 'a;

impl Outbox<'_> {
    /// Submits a command (as [`Client::submit_raw`] does, with no time limit); `settle` is
    /// told what became of it, on the driver, and no task is woken for its reply. False (and
    /// `settle` dropped uncalled) when no [`Client`] handle is left.
    pub(crate) fn submit(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
        settle: Settle,
    ) -> bool {
        if self.requests.shared.strong_count() == 0 {
            return false;
        }
        let written = match self.written_early.take() {
            Some(early) => self.is_written_early(early, index, opcode, params),
            None => match &mut self.write_now {
                Some((write, frame))
                    if crate::session::Lane::of(opcode) == crate::session::Lane::Reply =>
                {
                    // Written first; recorded, and its caller's channel made, afterwards. A
                    // frame that cannot be built or written goes the ordinary way, which
                    // reports why.
                    Session::encode_command(index, opcode, params, frame).is_ok()
                        && write(frame).is_ok()
                }
                _ => false,
            },
        };
        let caller = Caller::Sink(settle);
        if written {
            let id = self.session.submit_written(index, opcode, None);
            self.requests.adopt(id, caller);
        } else {
            self.requests
                .submit(self.session, caller, index, opcode, params, None);
        }
        true
    }

    /// On the driver thread's early path: writes a reply-lane command now, before the sink
    /// has done anything else (it has not even decoded the event yet); true if it was
    /// written. The sink must then submit the same command ([`Outbox::submit`]), which
    /// records it as written instead of writing it again. False (nothing written) off the
    /// early path, for another lane, with a reply already written early, or with no
    /// [`Client`] handle left to own the reply.
    pub(crate) fn write_early(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
    ) -> bool {
        let Some((write, frame)) = &mut self.write_now else {
            return false;
        };
        if self.written_early.is_some()
            || crate::session::Lane::of(opcode) != crate::session::Lane::Reply
            || self.requests.shared.strong_count() == 0
            || Session::encode_command(index, opcode, params, frame).is_err()
            || write(frame).is_err()
        {
            return false;
        }
        self.written_early = Some((index, opcode));
        true
    }

    /// Whether the command submitted now is the reply `early` written by
    /// [`Outbox::write_early`]. When it is not (a bug in the sink), the kernel has both: the
    /// one written is recorded too, so its completion is expected, and it is logged.
    fn is_written_early(
        &mut self,
        early: (ControllerIndex, Opcode),
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
    ) -> bool {
        let same = early == (index, opcode)
            && self
                .write_now
                .as_ref()
                .is_some_and(|(_, frame)| frame.get(HEADER_LEN..) == Some(params));
        if !same {
            self.unclaimed_early(early);
        }
        same
    }

    /// A reply written early that was not submitted as written: recorded, so its completion
    /// is expected, and logged (the sink has a bug).
    fn unclaimed_early(&mut self, (index, opcode): (ControllerIndex, Opcode)) {
        tracing::error!(%index, %opcode, "a reply written early was not submitted as written");
        self.session.submit_written(index, opcode, None);
    }

    /// Wakes `waker` once the commands submitted here are written, not before: waking a task
    /// on another thread first could hand it the CPU ahead of the write.
    pub(crate) fn wake_after_write(&mut self, waker: &std::task::Waker) {
        if !self.to_wake.iter().any(|w| w.will_wake(waker)) {
            self.to_wake.push(waker.clone());
        }
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// Makes a driver, the receiver of what its handles queue and the handles' shared part;
/// `place` puts the driver where it runs: behind a driver thread's link (returned, for the
/// handles), or out of the way for a task (its `T`).
fn connect<T>(
    place: impl FnOnce(
        Driver,
        mpsc::UnboundedReceiver<Message>,
    ) -> (Option<Arc<driver_thread::ThreadLink>>, T),
) -> (Arc<Shared>, T) {
    let mut placed = None;
    let shared = Arc::new_cyclic(|shared| {
        let (requests, queued) = mpsc::unbounded_channel();
        let close_reason = Arc::new(Mutex::new(None));
        let subscribers: Subscribers = Arc::new(NewSubscribers {
            list: Mutex::new(Some(Vec::new())),
            waiting: AtomicBool::new(false),
        });
        let driver = Driver {
            session: Session::new(),
            subscribers: subscribers.clone(),
            list: Vec::new(),
            requests: Requests {
                pending: BTreeMap::new(),
                by_token: BTreeMap::new(),
                shared: shared.clone(),
            },
            close_reason: close_reason.clone(),
            to_wake: Vec::new(),
            reply_frame: Vec::with_capacity(REPLY_FRAME_ROOM),
        };
        let (thread, rest) = place(driver, queued);
        placed = Some(rest);
        Shared {
            requests,
            thread,
            subscribers,
            next_token: AtomicU64::new(0),
            close_reason,
        }
    });
    match placed {
        Some(rest) => (shared, rest),
        // `new_cyclic` runs its closure exactly once, before it returns.
        None => unreachable!("the driver was placed"),
    }
}

impl Driver {
    /// A driver to run as a task, the handles' shared part and the receiver of their
    /// requests.
    fn new() -> (Driver, Arc<Shared>, mpsc::UnboundedReceiver<Message>) {
        let (shared, (driver, queued)) = connect(|driver, queued| (None, (driver, queued)));
        (driver, shared, queued)
    }

    /// The driver as a task: reads `transport`, takes the handles' `requests`, until no
    /// handle is left or the transport fails.
    async fn run(
        mut self,
        transport: Arc<dyn Transport>,
        mut requests: mpsc::UnboundedReceiver<Message>,
    ) {
        let mut frame = receive(transport.clone());
        loop {
            let deadline = self.session.poll_timeout();
            tokio::select! {
                biased;
                received = &mut frame => match received {
                    Ok(received) => {
                        frame = receive(transport.clone());
                        if self.wants_frame(&received) {
                            self.session.handle_frame(&received);
                        }
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
            while let Some(tx) = self.next_transmit() {
                let sent = transport.send(&tx.frame).await;
                self.sent(tx.id, sent);
            }
            self.wake_waiting();
        }
    }

    fn handle_message(&mut self, message: Message) {
        match message {
            Message::Submit {
                token,
                index,
                opcode,
                params,
                deadline,
                reply,
            } => {
                self.requests.submit(
                    &mut self.session,
                    Caller::Task(token, reply),
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
            Message::Expire => self.session.handle_timeout(now()),
        }
    }

    /// The next command frame to write; `None` once every command is written and every
    /// event the session has is handed out. Handing out an event may submit commands (an
    /// inline subscriber's), which come out here before the next event is handed out.
    fn next_transmit(&mut self) -> Option<crate::session::Transmit> {
        loop {
            if let Some(tx) = self.session.poll_transmit() {
                return Some(tx);
            }
            let event = self.session.poll_event()?;
            self.dispatch(event);
        }
    }

    /// What became of writing request `id`'s frame: a failure fails that request (its
    /// caller gets the error) and is logged; nothing else is affected.
    fn sent(&mut self, id: RequestId, result: std::io::Result<()>) {
        if let Err(e) = result {
            let error = Error::transport("sending failed", e);
            tracing::warn!(%error, "MGMT command not sent");
            self.session.cancel(id);
            if let Some(caller) = self.requests.take(id) {
                caller.answer(Err(error));
            }
        }
    }

    /// Wakes the tasks inline subscribers asked to wake, now that their commands are written.
    fn wake_waiting(&mut self) {
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }

    fn dispatch(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Completed { id, result } => {
                if let Some(caller) = self.requests.take(id) {
                    caller.answer(result.map_err(Error::from));
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
    /// submit commands, which [`Driver::next_transmit`] hands out to be written once it has
    /// returned); forgets those whose subscription was dropped.
    fn publish(&mut self, item: Arc<Published>) {
        self.take_in_new_subscribers();
        let mut outbox = Outbox {
            session: &mut self.session,
            requests: &mut self.requests,
            to_wake: &mut self.to_wake,
            write_now: None,
            written_early: None,
        };
        self.list.retain_mut(|s| s.offer(&item, &mut outbox));
    }

    /// Offers a frame just read to the inline subscribers that want its events early (see
    /// [`InlineSink::takes_early`]), before the session sees it: a reply one of them submits
    /// is written through `write` at once, and the rest of its bookkeeping done after the
    /// write. The frame then goes through the session as any other; its offer to a
    /// subscriber that took it early is skipped. (The session has nothing left to write or
    /// hand out when a frame is read, so a reply written here overtakes nothing.)
    // Kept a function of its own, so that callgrind can count what the early path costs
    // (benches/answer_path.rs, `thread`).
    #[inline(never)]
    fn take_early(&mut self, frame: &[u8], write: &mut WriteNow<'_>) {
        let [code_lo, code_hi, index_lo, index_hi, ..] = *frame else {
            return;
        };
        let code = EventCode(u16::from_le_bytes([code_lo, code_hi]));
        let index = ControllerIndex(u16::from_le_bytes([index_lo, index_hi]));
        self.take_in_new_subscribers();
        let mut outbox = Outbox {
            session: &mut self.session,
            requests: &mut self.requests,
            to_wake: &mut self.to_wake,
            write_now: Some((write, &mut self.reply_frame)),
            written_early: None,
        };
        // Decoded once, for the first subscriber that wants it.
        let mut read = ReadFrame::new(frame);
        for s in self.list.iter_mut() {
            if s.wants_early(index, code) {
                s.take_early(&mut read, &mut outbox);
                if let Some(early) = outbox.written_early.take() {
                    outbox.unclaimed_early(early);
                }
            }
        }
    }

    /// Whether a frame just read is for anyone: false for an event whose header is sound, that
    /// the session does not track ([`Session::tracks`]) and that no subscriber's filter
    /// passes. Such a frame is dropped undecoded (every control socket reads every
    /// controller's events: `pair --index 0` reads the request of the controller it pairs
    /// with just before its own, and in the benchmark's VM decoding and publishing it kept
    /// the driver thread on the CPU for 0.1 ms, twice the floor's time for the same frame).
    fn wants_frame(&mut self, frame: &[u8]) -> bool {
        let Ok(raw) = RawFrame::parse("event frame", frame) else {
            return true;
        };
        let code = EventCode(raw.code);
        if Session::tracks(code) {
            return true;
        }
        self.take_in_new_subscribers();
        self.list.iter().any(|s| s.wants(raw.index, code))
    }

    /// Moves the subscribers handles have added since the last look into the driver's list,
    /// behind those it has (an inline sink runs agent code, which may subscribe: it adds to
    /// the handles' list, never to the one being gone through).
    fn take_in_new_subscribers(&mut self) {
        if self.subscribers.waiting.swap(false, Ordering::Acquire) {
            if let Some(added) = self.subscribers.lock().as_mut() {
                self.list.append(added);
            }
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
        *self.subscribers.lock() = None;
        self.list.clear();
    }
}

/// Runs event frames, in order, through one throwaway copy of the driver's event path: the
/// session, dispatch, publishing, and `sink` as the only subscriber (inline, behind
/// `filter`); each frame twice, first offered early ([`Driver::take_early`], as the driver
/// thread offers it, and a reply it writes is written with the thread's own writer into a
/// socket pair made for this, then read back; no pair, no rehearsal) and then not. Each
/// command the sink submits is framed (by the session, or by the early path) and answered at
/// once by a Command Complete (Success, its parameters echoed as the reply) fed back the same
/// way, so the sink's replies are settled, and the tasks it asked to wake are woken as the
/// driver wakes them; what the sink does not take inline is queued for it (room for every
/// frame twice) and read out at the end. Nothing reaches the kernel. Says how many commands
/// the sink submitted the ordinary way, how many it had written early and how many events
/// were queued for it. For the pairing service's start-up rehearsal ([`crate::pairing`]):
/// the first real request must not be the first run of this code.
pub(crate) fn rehearse_event_path(
    frames: &[Vec<u8>],
    filter: EventFilter,
    sink: Arc<dyn InlineSink>,
) -> Rehearsed {
    // `_shared` keeps the handles' part alive: the sink's submissions need it.
    let (mut driver, _shared, _requests) = Driver::new();
    let (mut subscription, subscriber) =
        subscription::Subscription::pair(filter, 2 * frames.len(), "rehearsal", Some(sink));
    driver.list.push(subscriber);
    let (mut submitted, mut written_early) = (0, 0);
    // Early replies are written with the driver thread's own writer into a socket pair and
    // read back from its other end. (Without one, nothing is rehearsed.)
    let Ok((ours, theirs)) = crate::socket::ControlFd::rehearsal_pair() else {
        return Rehearsed::default();
    };
    for frame in frames {
        // Both ways a driver hands a request over: taken early, as the driver thread does
        // (its reply written into the pair), then after the session, as a driver task does.
        for early in [true, false] {
            let mut written = Vec::new();
            if early {
                driver.take_early(frame, &mut driver_thread::early_writer(&ours));
                let mut buf = [0u8; REPLY_FRAME_ROOM];
                while let Ok(n @ 1..) = nix::unistd::read(theirs.as_raw_fd(), &mut buf) {
                    written.push(buf[..n].to_vec());
                }
            }
            driver.session.handle_frame(frame);
            loop {
                while let Some(tx) = driver.next_transmit() {
                    submitted += 1;
                    driver.session.handle_frame(&echoed_complete(&tx.frame));
                }
                let Some(reply) = written.pop() else {
                    break;
                };
                written_early += 1;
                driver.session.handle_frame(&echoed_complete(&reply));
            }
            driver.wake_waiting();
        }
    }
    // What the sink did not take inline was queued for it: read out, as its task reads it.
    let mut queued = 0;
    while subscription.try_recv().is_some() {
        queued += 1;
    }
    Rehearsed {
        submitted,
        written_early,
        queued,
    }
}

/// What [`rehearse_event_path`] saw the sink do (all zero when it could not run).
#[derive(Default)]
pub(crate) struct Rehearsed {
    /// Commands the sink submitted the ordinary way.
    pub(crate) submitted: usize,
    /// Replies it had written early.
    pub(crate) written_early: usize,
    /// Events queued for it (not taken inline), read out at the end.
    pub(crate) queued: usize,
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
