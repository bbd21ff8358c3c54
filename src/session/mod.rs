//! The sans-IO MGMT session: request matching, queueing and timeouts for one control-channel
//! socket, with no I/O, no async and no clock of its own.
//!
//! Inputs go in through `handle_*` ([`Session::handle_frame`], [`Session::handle_timeout`])
//! and [`Session::submit`]; outputs come out through `poll_*` ([`Session::poll_transmit`],
//! [`Session::poll_event`], [`Session::poll_timeout`]). Time is passed in as an [`Instant`].
//! The async [`client`](crate::client) is a thin shell around it.
//!
//! # Matching
//! MGMT has no sequence numbers: a Command Complete or Command Status names only the
//! controller index and the opcode it answers. The session matches a reply to the oldest
//! outstanding request with the same (index, opcode). A Command Status with Success is an
//! early status and does not end the request; a Command Status with any other status ends it,
//! as does every Command Complete.
//!
//! # Lanes
//! Like BlueZ's own client, the session keeps at most one *ordinary* command in flight and
//! queues the rest in submission order. The pairing replies (PIN Code Reply and Negative
//! Reply, User Confirmation Reply and Negative Reply, User Passkey Reply and Negative Reply)
//! and Cancel Pair Device go in the *reply lane*: they are sent at once, even while an
//! ordinary command (typically Pair Device, which stays pending for the whole pairing) waits
//! for its reply. Without that, the kernel would wait for our confirmation while we wait for
//! its Pair Device reply.
//!
//! # Tombstones
//! A request whose caller gave up ([`Session::cancel`]) or whose deadline passed after it was
//! sent leaves a tombstone in its place: the late reply still matches it and is dropped,
//! instead of being taken for the reply to a later request with the same opcode. Tombstones do
//! not hold the ordinary lane.
//!
//! # Controllers
//! Index Added and Index Removed (and their unconfigured and extended forms) keep a set of
//! known controllers. When a controller goes away, every request queued or pending on it
//! fails with [`RequestError::ControllerRemoved`]; so does a request answered with Invalid
//! Index for a controller the session knew to exist (the kernel fails pending commands that
//! way just before it sends Index Removed).
//!
//! # Size
//! A command longer than one command frame, or a Load command with more entries than the
//! kernel accepts, is refused at submission with a
//! [`CommandTooLong`]; nothing is sent.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use crate::protocol::code::{EventCode, Opcode};
use crate::protocol::command::limits::{check_command, CommandTooLong};
use crate::protocol::wire::encode_to_vec;
use crate::protocol::{
    AnyCommand, AnyReply, Command, ControllerIndex, DecodeError, Event, EventFrame, RawFrame,
    Status,
};

mod outcome;

pub use outcome::{CommandReply, RequestError};

/// Identifies one submitted request for the lifetime of its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Which lane a command travels in (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// One in flight at a time, the rest queued.
    Ordinary,
    /// Sent at once, whatever is pending: pairing replies and Cancel Pair Device.
    Reply,
}

/// The opcodes of the reply lane (doc/mgmt-protocol.rst): PIN Code Reply 0x0016, PIN Code
/// Negative Reply 0x0017, Cancel Pair Device 0x001A, User Confirmation Reply 0x001C, User
/// Confirmation Negative Reply 0x001D, User Passkey Reply 0x001E, User Passkey Negative Reply
/// 0x001F.
pub const REPLY_LANE_OPCODES: [Opcode; 7] = [
    Opcode(0x0016),
    Opcode(0x0017),
    Opcode(0x001A),
    Opcode(0x001C),
    Opcode(0x001D),
    Opcode(0x001E),
    Opcode(0x001F),
];

impl Lane {
    /// The lane a command with this opcode travels in.
    pub fn of(opcode: Opcode) -> Lane {
        if REPLY_LANE_OPCODES.contains(&opcode) {
            Lane::Reply
        } else {
            Lane::Ordinary
        }
    }
}

/// Event codes that announce a controller: Index Added, Unconfigured Index Added, Extended
/// Index Added.
const ADDED_CODES: [EventCode; 3] = [EventCode(0x0004), EventCode(0x001D), EventCode(0x0020)];
/// Event codes that retire one: Index Removed, Unconfigured Index Removed, Extended Index
/// Removed.
const REMOVED_CODES: [EventCode; 3] = [EventCode(0x0005), EventCode(0x001E), EventCode(0x0021)];
/// Read Controller Index List, whose reply names the configured controllers.
const READ_INDEX_LIST: Opcode = Opcode(0x0003);

/// What the session has to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A request ended.
    Completed {
        /// Which request.
        id: RequestId,
        /// Its reply, or why there is none.
        result: Result<CommandReply, RequestError>,
    },
    /// A Command Status with Success arrived for a request: the command is under way and its
    /// Command Complete will follow.
    Accepted {
        /// Which request.
        id: RequestId,
    },
    /// An event that is not the reply to one of our requests (replies to nobody's request,
    /// for example after a restart, are passed on too).
    Event {
        /// The controller it concerns.
        index: ControllerIndex,
        /// The event.
        event: Event,
    },
    /// An event frame that does not decode. The session goes on with the next frame.
    Malformed {
        /// The frame's bytes, as received.
        frame: Vec<u8>,
        /// What was wrong.
        error: DecodeError,
    },
}

/// A frame to write, and the request it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The request.
    pub id: RequestId,
    /// The whole command frame.
    pub frame: Vec<u8>,
}

/// One request the caller has submitted and not yet been told the end of.
#[derive(Debug)]
struct Request {
    index: ControllerIndex,
    opcode: Opcode,
    /// The command frame until it is handed out to be written; `None` once it has been.
    unsent: Option<Vec<u8>>,
    deadline: Option<Instant>,
}

/// A command that has been written and not yet answered. `id == None` is a tombstone.
#[derive(Debug)]
struct Outstanding {
    id: Option<RequestId>,
    index: ControllerIndex,
    opcode: Opcode,
    lane: Lane,
}

/// The state of one MGMT control-channel socket's conversation. See the module documentation.
#[derive(Debug, Default)]
pub struct Session {
    next_id: u64,
    /// Live requests by id, so in submission order (ids only grow). A handful at a time: a
    /// B-tree of them costs less to look up than hashing the id would.
    requests: BTreeMap<RequestId, Request>,
    /// Ordinary requests not yet sent, in submission order.
    queue: VecDeque<RequestId>,
    /// Sent commands awaiting their reply, in send order.
    outstanding: Vec<Outstanding>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    controllers: BTreeSet<ControllerIndex>,
}

/// Builds a command frame from its parts, refusing one the kernel could not take (longer than
/// a command frame, or a Load command with more entries than the kernel accepts).
fn command_frame(
    index: ControllerIndex,
    opcode: Opcode,
    params: &[u8],
) -> Result<Vec<u8>, CommandTooLong> {
    let mut frame = Vec::with_capacity(6 + params.len());
    Session::encode_command(index, opcode, params, &mut frame)?;
    Ok(frame)
}

impl Session {
    /// A session with nothing pending.
    pub fn new() -> Self {
        Session::default()
    }

    /// Builds a command frame into `frame` (cleared first) without submitting it, refusing
    /// one the kernel could not take as [`Session::submit_raw`] does: for a caller that
    /// writes a command itself and then records it with [`Session::submit_written`].
    pub fn encode_command(
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
        frame: &mut Vec<u8>,
    ) -> Result<(), CommandTooLong> {
        check_command(opcode, params)?;
        // check_command bounds the parameters to MAX_COMMAND_PARAMS_LEN, below 65536.
        let len = params.len() as u16;
        let [o0, o1] = opcode.0.to_le_bytes();
        let [i0, i1] = index.0.to_le_bytes();
        let [l0, l1] = len.to_le_bytes();
        frame.clear();
        frame.extend_from_slice(&[o0, o1, i0, i1, l0, l1]);
        frame.extend_from_slice(params);
        Ok(())
    }

    /// Records a command the caller has already written (built by
    /// [`Session::encode_command`]): from now on it is a request like a submitted one (its
    /// reply matched, its end reported), sent, in its lane. The client's driver thread writes a
    /// pairing reply this way as soon as the agent's answer is known, before the session has
    /// seen the request it answers. An ordinary command recorded so holds the ordinary lane
    /// until it is answered.
    pub fn submit_written(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        deadline: Option<Instant>,
    ) -> RequestId {
        let id = self.new_request(index, opcode, None, deadline);
        self.outstanding.push(Outstanding {
            id: Some(id),
            index,
            opcode,
            lane: Lane::of(opcode),
        });
        id
    }

    /// Records a new live request; `unsent` is its frame until it is sent.
    fn new_request(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        unsent: Option<Vec<u8>>,
        deadline: Option<Instant>,
    ) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests.insert(
            id,
            Request {
                index,
                opcode,
                unsent,
                deadline,
            },
        );
        id
    }

    /// Submits a typed command for controller `index`. `deadline`, if given, is when the
    /// request fails with [`RequestError::Timeout`] if no reply has come.
    pub fn submit_command<C: Command>(
        &mut self,
        index: ControllerIndex,
        command: &C,
        deadline: Option<Instant>,
    ) -> Result<RequestId, CommandTooLong> {
        self.submit_raw(index, C::OPCODE, &encode_to_vec(command), deadline)
    }

    /// Submits any command (see [`Session::submit_command`]).
    pub fn submit(
        &mut self,
        index: ControllerIndex,
        command: &AnyCommand,
        deadline: Option<Instant>,
    ) -> Result<RequestId, CommandTooLong> {
        let mut params = Vec::new();
        command.encode(&mut params);
        self.submit_raw(index, command.opcode(), &params, deadline)
    }

    /// Submits a command given as opcode and parameter bytes. A command the kernel could not
    /// take (see [`check_command`]) is refused here, before anything is queued or sent.
    pub fn submit_raw(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
        params: &[u8],
        deadline: Option<Instant>,
    ) -> Result<RequestId, CommandTooLong> {
        let frame = command_frame(index, opcode, params)?;
        let id = self.new_request(index, opcode, Some(frame), deadline);
        match Lane::of(opcode) {
            Lane::Reply => self.send(id, Lane::Reply),
            Lane::Ordinary => {
                self.queue.push_back(id);
                self.advance_queue();
            }
        }
        Ok(id)
    }

    /// The caller no longer wants request `id`: a queued one is dropped unsent, a sent one
    /// leaves a tombstone. Nothing is reported for it. Returns whether it was still live.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        let Some(req) = self.requests.remove(&id) else {
            return false;
        };
        if req.unsent.is_none() {
            self.bury(id);
        } else {
            self.queue.retain(|q| *q != id);
        }
        self.advance_queue();
        true
    }

    /// Whether request `id` has been submitted and not yet ended.
    pub fn is_pending(&self, id: RequestId) -> bool {
        self.requests.contains_key(&id)
    }

    /// Controllers the session knows to exist (from Read Controller Index List replies, Index
    /// Added events and successful replies, minus Index Removed).
    pub fn controllers(&self) -> impl Iterator<Item = ControllerIndex> + '_ {
        self.controllers.iter().copied()
    }

    /// Whether the session itself needs events with `code`, whoever else wants them: the
    /// results of commands, and the events that announce or retire a controller.
    pub fn tracks(code: EventCode) -> bool {
        code == EventCode::COMMAND_COMPLETE
            || code == EventCode::COMMAND_STATUS
            || ADDED_CODES.contains(&code)
            || REMOVED_CODES.contains(&code)
    }

    /// Feeds one frame read from the socket. It takes no `now`: matching a reply to its
    /// request does not depend on time (deadlines are checked by
    /// [`Session::handle_timeout`]), and reading the clock for every frame would cost a
    /// system call per frame where the clock has no vDSO.
    pub fn handle_frame(&mut self, frame: &[u8]) {
        let raw = match RawFrame::parse("event frame", frame) {
            Ok(raw) => raw,
            Err(error) => {
                self.malformed(frame, error);
                return;
            }
        };
        let code = EventCode(raw.code);
        if code == EventCode(0x0001) || code == EventCode(0x0002) {
            self.handle_command_result(frame, raw);
            return;
        }
        match EventFrame::decode(frame) {
            Ok(ev) => {
                let code = ev.event.code();
                if ADDED_CODES.contains(&code) {
                    self.controllers.insert(ev.index);
                } else if REMOVED_CODES.contains(&code) {
                    self.controller_removed(ev.index);
                }
                self.events.push_back(SessionEvent::Event {
                    index: ev.index,
                    event: ev.event,
                });
            }
            Err(error) => self.malformed(frame, error),
        }
    }

    /// Ends every request whose deadline is at or before `now` with
    /// [`RequestError::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let req = self.requests.remove(&id).expect("listed above");
            if req.unsent.is_none() {
                self.bury(id);
            } else {
                self.queue.retain(|q| *q != id);
            }
            self.events.push_back(SessionEvent::Completed {
                id,
                result: Err(RequestError::Timeout {
                    opcode: req.opcode,
                    index: req.index,
                }),
            });
        }
        self.advance_queue();
    }

    /// Ends every request with [`RequestError::Closed`]: the socket is gone.
    pub fn close(&mut self) {
        for (id, req) in std::mem::take(&mut self.requests) {
            self.events.push_back(SessionEvent::Completed {
                id,
                result: Err(RequestError::Closed {
                    opcode: req.opcode,
                    index: req.index,
                }),
            });
        }
        self.queue.clear();
        self.outstanding.clear();
        self.transmit.clear();
    }

    /// The next frame to write to the socket. If writing it fails, [`Session::cancel`] its
    /// request and tell the caller.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline of a live request: call [`Session::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.requests.values().filter_map(|r| r.deadline).min()
    }

    fn malformed(&mut self, frame: &[u8], error: DecodeError) {
        tracing::warn!(%error, "malformed MGMT event frame");
        self.events.push_back(SessionEvent::Malformed {
            frame: frame.to_vec(),
            error,
        });
    }

    /// Command Complete or Command Status: match and end (or advance) a request.
    fn handle_command_result(&mut self, frame: &[u8], raw: RawFrame<'_>) {
        if raw.params.len() < 3 {
            self.malformed(
                frame,
                EventFrame::decode(frame).expect_err("shorter than opcode and status"),
            );
            return;
        }
        let opcode = Opcode(u16::from_le_bytes([raw.params[0], raw.params[1]]));
        let status = Status(raw.params[2]);
        let rest = &raw.params[3..];
        let complete = raw.code == 0x0001;
        if !complete && !rest.is_empty() {
            let error = EventFrame::decode(frame).expect_err("Command Status with extra bytes");
            self.malformed(frame, error);
            return;
        }
        let Some(pos) = self
            .outstanding
            .iter()
            .position(|o| o.index == raw.index && o.opcode == opcode)
        else {
            // Nobody asked: pass it on as an event.
            tracing::debug!(%opcode, index = %raw.index, "reply to no request of ours");
            match EventFrame::decode(frame) {
                Ok(ev) => self.events.push_back(SessionEvent::Event {
                    index: ev.index,
                    event: ev.event,
                }),
                Err(error) => self.malformed(frame, error),
            }
            return;
        };
        if !complete && status.is_success() {
            if let Some(id) = self.outstanding[pos].id {
                self.events.push_back(SessionEvent::Accepted { id });
            }
            return;
        }
        let done = self.outstanding.remove(pos);
        let Some(id) = done.id else {
            tracing::debug!(%opcode, index = %raw.index, %status, "late reply to an abandoned request dropped");
            self.advance_queue();
            return;
        };
        let req = self.requests.remove(&id).expect("outstanding ids are live");
        let result = if status.is_success() {
            if !raw.index.is_none() {
                self.controllers.insert(raw.index);
            }
            let reply = CommandReply {
                index: raw.index,
                opcode,
                params: rest.to_vec(),
            };
            if opcode == READ_INDEX_LIST {
                if let Ok(AnyReply::ReadIndexList(list)) = reply.any() {
                    self.controllers.extend(list.indexes.0.iter().copied());
                }
            }
            Ok(reply)
        } else if status == Status::INVALID_INDEX
            && !raw.index.is_none()
            && self.controllers.contains(&raw.index)
        {
            // The kernel fails a removed controller's pending commands with Invalid Index
            // just before it sends Index Removed.
            Err(RequestError::ControllerRemoved {
                opcode,
                index: req.index,
            })
        } else {
            Err(RequestError::Status {
                opcode,
                index: req.index,
                status,
                params: rest.to_vec(),
            })
        };
        self.events
            .push_back(SessionEvent::Completed { id, result });
        self.advance_queue();
    }

    fn controller_removed(&mut self, index: ControllerIndex) {
        self.controllers.remove(&index);
        let ids: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.index == index)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let req = self.requests.remove(&id).expect("listed above");
            self.queue.retain(|q| *q != id);
            self.events.push_back(SessionEvent::Completed {
                id,
                result: Err(RequestError::ControllerRemoved {
                    opcode: req.opcode,
                    index,
                }),
            });
        }
        // Nothing more will come for a removed controller's commands.
        self.outstanding.retain(|o| o.index != index);
        self.advance_queue();
    }

    /// Replaces a sent request's outstanding entry with a tombstone.
    fn bury(&mut self, id: RequestId) {
        if let Some(o) = self.outstanding.iter_mut().find(|o| o.id == Some(id)) {
            o.id = None;
        }
    }

    fn send(&mut self, id: RequestId, lane: Lane) {
        let req = self.requests.get_mut(&id).expect("sending a live request");
        let frame = req.unsent.take().expect("each request is sent once");
        self.transmit.push_back(Transmit { id, frame });
        self.outstanding.push(Outstanding {
            id: Some(id),
            index: req.index,
            opcode: req.opcode,
            lane,
        });
    }

    /// Sends the next queued ordinary request if none is in flight.
    fn advance_queue(&mut self) {
        let busy = self
            .outstanding
            .iter()
            .any(|o| o.lane == Lane::Ordinary && o.id.is_some());
        if busy {
            return;
        }
        if let Some(id) = self.queue.pop_front() {
            self.send(id, Lane::Ordinary);
        }
    }
}
