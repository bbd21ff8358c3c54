//! Event subscriptions: a filtered view of the client's event broadcast, with lag and malformed
//! frames reported as items rather than lost.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::protocol::{ControllerIndex, DecodeError, Event, EventCode, RawFrame};

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
    /// The subscriber fell behind and this many items (counted before filtering) were dropped
    /// for it.
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

/// A stream of events from a [`Client`](super::Client), filtered. Ends (`None`) when the
/// connection closes.
#[derive(Debug)]
pub struct Subscription {
    rx: Option<broadcast::Receiver<Arc<Published>>>,
    filter: EventFilter,
}

impl Subscription {
    pub(crate) fn new(
        rx: Option<broadcast::Receiver<Arc<Published>>>,
        filter: EventFilter,
    ) -> Subscription {
        Subscription { rx, filter }
    }

    /// The next item that passes the filter; `None` once the connection is closed and every
    /// item has been read.
    pub async fn recv(&mut self) -> Option<EventItem> {
        let rx = self.rx.as_mut()?;
        loop {
            match rx.recv().await {
                Ok(item) => match &*item {
                    Published::Event(index, event) => {
                        if self.filter.matches(*index, event.code()) {
                            return Some(Ok((*index, event.clone())));
                        }
                    }
                    Published::Malformed(m) => {
                        if self.filter.passes_malformed(m) {
                            return Some(Err(SubscriptionError::Malformed(m.clone())));
                        }
                    }
                },
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    return Some(Err(SubscriptionError::Lagged(n)))
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.rx = None;
                    return None;
                }
            }
        }
    }

    /// The next item already received, without waiting: `None` when there is none now.
    pub fn try_recv(&mut self) -> Option<EventItem> {
        let rx = self.rx.as_mut()?;
        loop {
            match rx.try_recv() {
                Ok(item) => match &*item {
                    Published::Event(index, event) => {
                        if self.filter.matches(*index, event.code()) {
                            return Some(Ok((*index, event.clone())));
                        }
                    }
                    Published::Malformed(m) => {
                        if self.filter.passes_malformed(m) {
                            return Some(Err(SubscriptionError::Malformed(m.clone())));
                        }
                    }
                },
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Some(Err(SubscriptionError::Lagged(n)))
                }
                Err(_) => return None,
            }
        }
    }
}
