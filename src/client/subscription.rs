//! Event subscriptions: each subscriber's filter applies before anything is queued for it, so
//! what it wants never waits behind what it does not; lag and malformed frames are reported as
//! items rather than lost.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc;

use crate::protocol::{ControllerIndex, DecodeError, Event, EventCode, EventFrame, RawFrame};

/// What the driver publishes.
#[derive(Debug)]
pub(crate) enum Published {
    Event(ControllerIndex, Event),
    Malformed(MalformedEvent),
}

/// An event frame that did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedEvent {
    /// The frame, as received.
    pub frame: Vec<u8>,
    /// What was wrong with it.
    pub error: DecodeError,
}

impl MalformedEvent {
    /// The controller index from the frame header, if the header is there.
    pub fn index(&self) -> Option<ControllerIndex> {
        (self.frame.len() >= 4)
            .then(|| ControllerIndex(u16::from_le_bytes([self.frame[2], self.frame[3]])))
    }

    /// The event code from the frame header, if the header is there.
    pub fn code(&self) -> Option<EventCode> {
        (self.frame.len() >= 2)
            .then(|| EventCode(u16::from_le_bytes([self.frame[0], self.frame[1]])))
    }
}

/// An item that is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionError {
    /// The subscriber fell behind and this many items that passed its filter were dropped
    /// for it (the driver logs which, at WARN).
    Lagged(u64),
    /// An event frame arrived that does not decode; the connection goes on.
    Malformed(MalformedEvent),
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionError::Lagged(n) => {
                write!(f, "the subscriber fell behind and missed {n} events")
            }
            SubscriptionError::Malformed(m) => {
                let raw = RawFrame::parse("event frame", &m.frame);
                match raw {
                    Ok(raw) => write!(
                        f,
                        "malformed {} event on {}: {}",
                        EventCode(raw.code),
                        raw.index,
                        m.error
                    ),
                    Err(_) => write!(f, "malformed event frame: {}", m.error),
                }
            }
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// One item of a subscription.
pub type EventItem = Result<(ControllerIndex, Event), SubscriptionError>;

/// Which events a subscription wants: by controller and by event code. Empty sets mean all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    controllers: BTreeSet<ControllerIndex>,
    codes: BTreeSet<EventCode>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> EventFilter {
        EventFilter::default()
    }

    /// Also accept events about `index` (once any controller is named, only the named ones
    /// pass). [`ControllerIndex::NONE`] selects events about no controller.
    pub fn controller(mut self, index: ControllerIndex) -> EventFilter {
        self.controllers.insert(index);
        self
    }

    /// Also accept events with `code` (once any code is named, only the named ones pass).
    pub fn code(mut self, code: EventCode) -> EventFilter {
        self.codes.insert(code);
        self
    }

    /// Whether an event with this index and code passes.
    pub fn matches(&self, index: ControllerIndex, code: EventCode) -> bool {
        (self.controllers.is_empty() || self.controllers.contains(&index))
            && (self.codes.is_empty() || self.codes.contains(&code))
    }

    fn passes_malformed(&self, m: &MalformedEvent) -> bool {
        let index_ok = match m.index() {
            Some(i) => self.controllers.is_empty() || self.controllers.contains(&i),
            None => true,
        };
        let code_ok = match m.code() {
            Some(c) => self.codes.is_empty() || self.codes.contains(&c),
            None => true,
        };
        index_ok && code_ok
    }
}

/// What a subscriber missed because its queue was full: a count per event code, kept until
/// the subscriber reads it as [`SubscriptionError::Lagged`].
#[derive(Debug, Default)]
pub(crate) struct Losses {
    by_code: std::sync::Mutex<BTreeMap<EventCode, u64>>,
    /// The sum of `by_code`'s counts, changed only under its lock: every item offered or
    /// read checks for losses, and almost always there are none, which this tells without
    /// taking the lock.
    total: AtomicU64,
}

impl Losses {
    /// Counts one lost item; true if it is the first since the subscriber last heard of its
    /// losses (so the driver logs once per gap, not once per item of a flood).
    fn record(&self, code: EventCode) -> bool {
        let mut m = self.by_code.lock().unwrap_or_else(|p| p.into_inner());
        let first = m.is_empty();
        *m.entry(code).or_insert(0) += 1;
        self.total.fetch_add(1, Ordering::SeqCst);
        first
    }

    fn is_empty(&self) -> bool {
        self.total.load(Ordering::SeqCst) == 0
    }

    fn take(&self) -> BTreeMap<EventCode, u64> {
        if self.is_empty() {
            return BTreeMap::new();
        }
        let mut m = self.by_code.lock().unwrap_or_else(|p| p.into_inner());
        self.total.store(0, Ordering::SeqCst);
        std::mem::take(&mut *m)
    }
}

/// A consumer that may take an event in the driver's own task instead of having it queued:
/// the pairing service answers a request there, so a reply the agent knows at once is written
/// before the driver reads the next frame (no hand-off between tasks).
pub(crate) trait InlineSink: Send + Sync {
    /// Takes the event now if it can (commands it submits through `outbox` are written as
    /// soon as this returns); false leaves the event to the queue.
    fn take(&self, index: ControllerIndex, event: &Event, outbox: &mut super::Outbox<'_>) -> bool;

    /// Whether events with this code should be offered to [`InlineSink::take_early`] as
    /// soon as their frame is read, before the session and any other subscriber see them
    /// (the driver thread does; see [`Driver::take_early`](super::Driver::take_early)): then
    /// a reply the sink submits is written before anything else is done with the frame.
    fn takes_early(&self, code: EventCode) -> bool {
        let _ = code;
        false
    }

    /// Takes a frame just read (see [`InlineSink::takes_early`]) if it can, as
    /// [`InlineSink::take`] takes its event. By default, decodes it and calls `take`; a sink
    /// that can answer from the frame's bytes writes its reply first
    /// ([`Outbox::write_early`](super::Outbox::write_early)), then decodes. False leaves
    /// the event to its ordinary offer.
    fn take_early(&self, frame: &mut ReadFrame<'_>, outbox: &mut super::Outbox<'_>) -> bool {
        match frame.decoded() {
            Some(decoded) => self.take(decoded.index, &decoded.event, outbox),
            None => false,
        }
    }
}

/// A frame just read on the driver thread's early path, decoded at most once whichever
/// subscribers look at it.
pub(crate) struct ReadFrame<'a> {
    bytes: &'a [u8],
    /// `None` until decoded; then the event, or `None` if it did not decode (the session
    /// reports it as malformed when it reads it).
    decoded: Option<Option<EventFrame>>,
}

impl<'a> ReadFrame<'a> {
    /// The frame as read, not decoded yet.
    pub(crate) fn new(bytes: &'a [u8]) -> ReadFrame<'a> {
        ReadFrame {
            bytes,
            decoded: None,
        }
    }

    /// The frame as read.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The frame decoded (once); `None` if it does not decode.
    pub(crate) fn decoded(&mut self) -> Option<&EventFrame> {
        let bytes = self.bytes;
        self.decoded
            .get_or_insert_with(|| EventFrame::decode(bytes).ok())
            .as_ref()
    }
}

/// The driver's side of one subscription: the filter applies *before* anything is queued,
/// so a subscriber that wants pairing requests never has its queue filled by Device Found.
pub(crate) struct Subscriber {
    filter: EventFilter,
    tx: mpsc::Sender<Arc<Published>>,
    losses: Arc<Losses>,
    name: &'static str,
    /// With an inline consumer: items queued and not yet [`Subscription::finish_one`]ed. An
    /// event is taken inline only when this is zero (and nothing was lost), so nothing is
    /// ever handled before an event that came earlier.
    inline: Option<(Arc<dyn InlineSink>, Arc<AtomicUsize>)>,
    /// The inline consumer took the event being read early ([`Subscriber::take_early`]): its
    /// offer, when the event comes through the session, is skipped.
    taken_early: bool,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("name", &self.name)
            .field("filter", &self.filter)
            .field("inline", &self.inline.is_some())
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    /// Queues `item` if the filter passes it (or hands it to the inline consumer, see
    /// [`InlineSink`]). False once the subscription is gone.
    pub(crate) fn offer(&mut self, item: &Arc<Published>, outbox: &mut super::Outbox<'_>) -> bool {
        if std::mem::take(&mut self.taken_early) {
            return !self.tx.is_closed();
        }
        let (index, code) = match &**item {
            Published::Event(index, event) => {
                if !self.filter.matches(*index, event.code()) {
                    return true;
                }
                if let Some((sink, _)) = &self.inline {
                    if self.tx.is_closed() {
                        return false;
                    }
                    if self.nothing_ahead() && sink.take(*index, event, outbox) {
                        return true;
                    }
                }
                (Some(*index), event.code())
            }
            Published::Malformed(m) => {
                if !self.filter.passes_malformed(m) {
                    return true;
                }
                (m.index(), m.code().unwrap_or(EventCode(0)))
            }
        };
        let unfinished = self.inline.as_ref().map(|(_, u)| u);
        if let Some(u) = unfinished {
            // Counted before it can be read, so the reader's `finish_one` never comes first.
            u.fetch_add(1, Ordering::SeqCst);
        }
        let sent = self.tx.try_send(item.clone());
        if let (Err(_), Some(u)) = (&sent, unfinished) {
            u.fetch_sub(1, Ordering::SeqCst);
        }
        match sent {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.losses.record(code) {
                    tracing::warn!(
                        subscriber = self.name,
                        event = %code,
                        index = ?index,
                        capacity = self.tx.max_capacity(),
                        "event queue full: dropping events for this subscriber \
                         (it is told how many when it catches up)"
                    );
                }
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// With an inline consumer: whether nothing is queued for it and nothing was lost, so
    /// that an event it takes now is not handled before one that came earlier.
    fn nothing_ahead(&self) -> bool {
        self.inline
            .as_ref()
            .is_some_and(|(_, unfinished)| unfinished.load(Ordering::SeqCst) == 0)
            && self.losses.is_empty()
    }

    /// Whether this subscriber's filter passes events with this index and code.
    pub(crate) fn wants(&self, index: ControllerIndex, code: EventCode) -> bool {
        self.filter.matches(index, code)
    }

    /// Whether the inline consumer wants events with `code` as soon as they are read (see
    /// [`InlineSink::takes_early`]) and this subscriber's filter passes them.
    pub(crate) fn wants_early(&self, index: ControllerIndex, code: EventCode) -> bool {
        self.inline
            .as_ref()
            .is_some_and(|(sink, _)| sink.takes_early(code))
            && self.filter.matches(index, code)
    }

    /// Offers a just-read event to the inline consumer before the session sees it (see
    /// [`InlineSink::takes_early`]), on the same terms as [`Subscriber::offer`]; if it takes
    /// it, the event's own offer later is skipped.
    pub(crate) fn take_early(&mut self, frame: &mut ReadFrame<'_>, outbox: &mut super::Outbox<'_>) {
        if let Some((sink, _)) = &self.inline {
            if !self.tx.is_closed() && self.nothing_ahead() {
                self.taken_early = sink.take_early(frame, outbox);
            }
        }
    }
}

/// A stream of events from a [`Client`](super::Client), filtered before queueing. Ends
/// (`None`) when the connection closes.
#[derive(Debug)]
pub struct Subscription {
    rx: Option<mpsc::Receiver<Arc<Published>>>,
    losses: Arc<Losses>,
    /// With an inline consumer: see [`Subscriber`]'s field of that name.
    unfinished: Option<Arc<AtomicUsize>>,
}

impl Subscription {
    /// A subscription and the driver's half of it; `capacity` items may wait in its queue.
    pub(crate) fn pair(
        filter: EventFilter,
        capacity: usize,
        name: &'static str,
        inline: Option<Arc<dyn InlineSink>>,
    ) -> (Subscription, Subscriber) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let losses = Arc::new(Losses::default());
        let unfinished = inline.as_ref().map(|_| Arc::new(AtomicUsize::new(0)));
        (
            Subscription {
                rx: Some(rx),
                losses: losses.clone(),
                unfinished: unfinished.clone(),
            },
            Subscriber {
                filter,
                tx,
                losses,
                name,
                inline: inline.zip(unfinished),
                taken_early: false,
            },
        )
    }

    /// With an inline consumer: says one queued item (event or malformed frame) has been
    /// dealt with, so that later events may again be taken inline once none is left.
    pub(crate) fn finish_one(&self) {
        if let Some(u) = &self.unfinished {
            let _ = u.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
    }

    /// A subscription on a closed connection: it ends at once.
    pub(crate) fn ended() -> Subscription {
        Subscription {
            rx: None,
            losses: Arc::default(),
            unfinished: None,
        }
    }

    fn lagged(&self) -> Option<EventItem> {
        let lost = self.losses.take();
        if lost.is_empty() {
            return None;
        }
        let total: u64 = lost.values().sum();
        let what = lost
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(missed = total, lost = %what, "a subscriber missed events");
        Some(Err(SubscriptionError::Lagged(total)))
    }

    fn item(p: &Published) -> EventItem {
        match p {
            Published::Event(index, event) => Ok((*index, event.clone())),
            Published::Malformed(m) => Err(SubscriptionError::Malformed(m.clone())),
        }
    }

    /// The next item that passes the filter; `None` once the connection is closed and every
    /// item has been read. Missed items are reported (as [`SubscriptionError::Lagged`]) before
    /// the items still queued.
    pub async fn recv(&mut self) -> Option<EventItem> {
        if let Some(lag) = self.lagged() {
            return Some(lag);
        }
        let rx = self.rx.as_mut()?;
        match rx.recv().await {
            Some(item) => Some(Self::item(&item)),
            None => {
                self.rx = None;
                self.lagged()
            }
        }
    }

    /// The next item already received, without waiting: `None` when there is none now.
    pub fn try_recv(&mut self) -> Option<EventItem> {
        if let Some(lag) = self.lagged() {
            return Some(lag);
        }
        let rx = self.rx.as_mut()?;
        rx.try_recv().ok().map(|item| Self::item(&item))
    }
}
