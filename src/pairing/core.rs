//! The sans-IO pairing core: every pairing decision, with no I/O, no async and no clock.
//!
//! Inputs go in through `handle_*` (kernel events with their controller index and `now`, the
//! agent's answers, the results of store writes and of our own commands) and the calls that
//! start work ([`PairingCore::start_pairing`], [`PairingCore::start_unpair`]); outputs come out
//! of [`PairingCore::poll_action`] as [`Action`]s, and [`PairingCore::poll_timeout`] says when
//! to call [`PairingCore::handle_timeout`]. The [`service`](super::service) is the thin tokio
//! driver that carries the actions out. An event may also go in before its time is read
//! ([`PairingCore::handle_event_unclocked`], then [`PairingCore::stamp`]): the driver answers
//! a request and writes the reply first, reading the clock after.
//!
//! What the core owns:
//! - answering requests: one outstanding question per device (a newer request withdraws the
//!   older one), a time limit per question (a negative reply is sent when it passes), answers
//!   checked before they are sent (passkeys 0..=999999, 16-digit PINs when the request is
//!   secure);
//! - our own pairings: a Just Works authorization for a device we are pairing with is accepted
//!   without asking the agent, when its address *and* address type match;
//! - storing by store hint, in order per device (one write in flight per device, the next
//!   queued behind it), and "paired means stored": a pairing we started completes only after
//!   every key it delivered is written;
//! - forgetting a device's stored bond after Unpair Device (also on Not Paired);
//! - controllers that come and go: a served controller is set up (IO capability, bonds loaded,
//!   powered) at start and on Index Added; Index Removed withdraws what was pending on it;
//! - shutting down ([`PairingCore::handle_shutdown`]): every outstanding question gets the
//!   negative reply its time limit would send, our own pending pairings are cancelled (Cancel
//!   Pair Device), later requests are refused at once, and [`PairingCore::is_flushed`] says
//!   when every queued store write is done and every pairing we had accepted has delivered
//!   its keys (or failed, or disconnected, or outlived a short limit): a stop between our
//!   "yes" and the kernel's New Long Term Key does not lose the key.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bluez_mgmt_protocol::event::{ConfirmHint, Event};
use bluez_mgmt_protocol::{Address, AddressInfo, ControllerIndex, IoCapability, Status};

use super::{Controllers, PairError, PairingReply, Report, RequestKind};
use crate::agent::{check_passkey, InvalidAnswer, KeyKind, KeyNotice, Peer, PinCode, YesNoRequest};
use crate::keystore::{AdapterId, KeyUpdate, LoadError};

/// Identifies one piece of work the core handed out (a question to the agent, a store write,
/// a pairing, an unpairing) so its result can be matched when it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// What the agent is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Numeric Comparison: does the peer show this value?
    ConfirmValue(u32),
    /// Just Works authorization.
    Authorize,
    /// Passkey Entry, typing side.
    Passkey,
    /// Legacy PIN; `true` when only a 16-digit PIN is accepted.
    PinCode(bool),
}

impl Question {
    /// The kind of request, for reports.
    pub fn kind(&self) -> RequestKind {
        match self {
            Question::ConfirmValue(_) => RequestKind::ConfirmValue,
            Question::Authorize => RequestKind::Authorize,
            Question::Passkey => RequestKind::Passkey,
            Question::PinCode(_) => RequestKind::PinCode,
        }
    }

    /// The yes/no request this question is, as [`Agent::answer_at_once`] is asked it.
    ///
    /// [`Agent::answer_at_once`]: crate::agent::Agent::answer_at_once
    pub fn yes_no(&self) -> Option<YesNoRequest> {
        match self {
            Question::ConfirmValue(v) => Some(YesNoRequest::ConfirmValue(*v)),
            Question::Authorize => Some(YesNoRequest::Authorize),
            Question::Passkey | Question::PinCode(_) => None,
        }
    }

    fn negative(&self, peer: Peer) -> PairingReply {
        match self {
            Question::ConfirmValue(_) | Question::Authorize => PairingReply::UserConfirm {
                peer,
                accept: false,
            },
            Question::Passkey => PairingReply::UserPasskey {
                peer,
                passkey: None,
            },
            Question::PinCode(_) => PairingReply::PinCode { peer, pin: None },
        }
    }
}

/// Who would answer a User Confirmation Request that came now, before it is handed in (see
/// [`PairingCore::confirm_answered_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmAnswerer {
    /// The core itself, with this answer, asking no one: Just Works for a pairing this
    /// service started ([`CoreConfig::auto_accept_initiated`]).
    Core(bool),
    /// The agent, asked this; its answer is the reply.
    Agent(YesNoRequest),
}

/// The agent's answer to a [`Question`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes or no (confirmation, authorization).
    Bool(bool),
    /// A passkey, or `None` to refuse.
    Passkey(Option<u32>),
    /// A PIN code, or `None` to refuse.
    PinCode(Option<PinCode>),
    /// The agent failed (panicked) instead of answering.
    Failed,
}

/// A notice for the agent (no answer expected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Show this passkey; `entered` keypresses so far.
    DisplayPasskey {
        /// The device.
        peer: Peer,
        /// The passkey.
        passkey: u32,
        /// Keypresses the peer reported.
        entered: u8,
    },
    /// The question with this ticket was withdrawn before the agent answered.
    Cancelled {
        /// The question.
        ticket: Ticket,
        /// The device.
        peer: Peer,
    },
    /// Pairing failed.
    Failed {
        /// The device.
        peer: Peer,
        /// Why.
        status: Status,
    },
    /// A key arrived.
    Completed {
        /// The device.
        peer: Peer,
        /// Which key.
        key: KeyNotice,
    },
}

/// What to set up on a controller that is (or becomes) present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetUp {
    /// The controller.
    pub index: ControllerIndex,
    /// Set IO Capability to this, if any.
    pub io_capability: Option<IoCapability>,
    /// Load the stored bonds (Load IRKs, Link Keys, Long Term Keys, Connection Parameters)
    /// and, once the controller is powered, the store's device policies
    /// ([`crate::keystore::device_policy`]: Block Device, Add Device with auto-connect).
    pub load_bonds: bool,
    /// Power it on afterwards (if it is off).
    pub power_on: bool,
}

/// What an [`Action::SetUp`] did, for [`PairingCore::handle_set_up`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetUpOutcome {
    /// One line saying what was done.
    pub summary: String,
    /// Bond files that did not parse and were left out of the Load commands.
    pub left_out: Vec<LoadError>,
    /// Stored device policies the kernel refused: the device, the command and the error.
    pub refused: Vec<PolicyRefusal>,
}

/// A stored device policy the kernel refused (the other devices' were applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The device.
    pub device: AddressInfo,
    /// The command refused: `"Block Device"` or `"Add Device"`.
    pub command: &'static str,
    /// What went wrong.
    pub error: String,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask the agent; hand its answer to [`PairingCore::handle_answer`] with this ticket.
    Ask {
        /// The question's ticket.
        ticket: Ticket,
        /// The device.
        peer: Peer,
        /// The question.
        question: Question,
    },
    /// Tell the agent something (and, for [`Notice::Cancelled`], stop waiting for its answer).
    Notify(Notice),
    /// Send this reply command (reply lane: it overtakes a pending Pair Device).
    Reply(PairingReply),
    /// Set up a controller: read its information (and name its store directory with
    /// [`PairingCore::set_adapter`]), then what [`SetUp`] says; report the outcome with
    /// [`PairingCore::handle_set_up`].
    SetUp(SetUp),
    /// Write one key to the store under `adapter`; report with [`PairingCore::handle_stored`].
    Store {
        /// The write's ticket.
        ticket: Ticket,
        /// The controller.
        index: ControllerIndex,
        /// Its store directory.
        adapter: AdapterId,
        /// The kernel's store hint.
        hint: bool,
        /// The key.
        update: KeyUpdate,
    },
    /// Remove the device's stored bond; report with [`PairingCore::handle_stored`].
    Forget {
        /// The removal's ticket.
        ticket: Ticket,
        /// The controller.
        index: ControllerIndex,
        /// Its store directory.
        adapter: AdapterId,
        /// The device.
        device: Address,
    },
    /// Send Pair Device for the pairing with this ticket; report with
    /// [`PairingCore::handle_pair_result`].
    PairDevice {
        /// The pairing's ticket.
        ticket: Ticket,
        /// The device.
        peer: Peer,
        /// The IO capability for this pairing.
        io_capability: IoCapability,
    },
    /// Send Unpair Device; report with [`PairingCore::handle_unpair_result`].
    UnpairDevice {
        /// The unpairing's ticket.
        ticket: Ticket,
        /// The device.
        peer: Peer,
        /// Also drop the link.
        disconnect: bool,
    },
    /// A pairing or unpairing we started is finished (for pairings: its keys are stored; a
    /// pairing whose keys could not be written ends with [`PairError::Store`]).
    Done {
        /// Its ticket.
        ticket: Ticket,
        /// How it ended.
        result: Result<(), PairError>,
    },
    /// Send Cancel Pair Device for a pairing we started (at shutdown); its Pair Device then
    /// completes with an error, reported with [`PairingCore::handle_pair_result`] as usual.
    CancelPairDevice {
        /// The pairing's ticket.
        ticket: Ticket,
        /// The device.
        peer: Peer,
    },
    /// Tell the user (the report stream).
    Report(Report),
}

impl Action {
    /// Whether the driver sends a command for this action (its order against replies on
    /// the wire matters).
    pub fn is_command(&self) -> bool {
        matches!(
            self,
            Action::Reply(_)
                | Action::SetUp(_)
                | Action::PairDevice { .. }
                | Action::UnpairDevice { .. }
                | Action::CancelPairDevice { .. }
        )
    }
}

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Controllers to serve.
    pub controllers: Controllers,
    /// How long the agent may take to answer before a negative reply is sent for it.
    pub answer_timeout: Duration,
    /// Accept Just Works authorization without asking for devices we are pairing with.
    pub auto_accept_initiated: bool,
    /// Set this IO capability on every served controller (at start and when one appears);
    /// `None` leaves the controllers' setting alone (Pair Device carries its own).
    pub io_capability: Option<IoCapability>,
    /// Whether keys are stored (and forgotten on unpair).
    pub store: bool,
    /// Load each served controller's stored bonds when it is set up.
    pub load_bonds: bool,
    /// Power each served controller on after loading its bonds.
    pub power_on: bool,
}

/// A question the agent has not answered yet.
#[derive(Debug)]
struct Outstanding {
    ticket: Ticket,
    peer: Peer,
    question: Question,
    deadline: Due,
}

/// The time of an input: read, or given later by [`PairingCore::stamp`].
#[derive(Debug, Clone, Copy)]
enum Clock {
    Read(Instant),
    Unread,
}

/// When a time limit runs out. An input whose time was not read yet
/// ([`PairingCore::handle_event_unclocked`]) sets a limit relative to the coming stamp, which
/// turns it into a time (the later one, where an earlier input had set one too).
#[derive(Debug, Clone, Copy)]
struct Due {
    /// The time, once known.
    at: Option<Instant>,
    /// This long after the coming stamp.
    after_stamp: Option<Duration>,
}

impl Due {
    /// `limit` after the input's time.
    fn after(clock: Clock, limit: Duration) -> Due {
        match clock {
            Clock::Read(now) => Due {
                at: Some(now + limit),
                after_stamp: None,
            },
            Clock::Unread => Due {
                at: None,
                after_stamp: Some(limit),
            },
        }
    }

    /// At a known time.
    fn at(at: Instant) -> Due {
        Due {
            at: Some(at),
            after_stamp: None,
        }
    }

    /// This limit, `extra` later.
    fn plus(self, extra: Duration) -> Due {
        Due {
            at: self.at.map(|t| t + extra),
            after_stamp: self.after_stamp.map(|d| d + extra),
        }
    }

    /// The later of two limits.
    fn later(self, other: Due) -> Due {
        Due {
            at: self.at.max(other.at),
            after_stamp: self.after_stamp.max(other.after_stamp),
        }
    }

    /// Whether the limit waits for a stamp to become a time.
    fn is_unstamped(&self) -> bool {
        self.after_stamp.is_some()
    }

    /// Gives a limit set before the clock was read its time.
    fn stamp(&mut self, now: Instant) {
        if let Some(d) = self.after_stamp.take() {
            self.at = self.at.max(Some(now + d));
        }
    }

    /// True once the limit has run out at `now` (never before it is stamped).
    fn passed(&self, now: Instant) -> bool {
        self.at.is_some_and(|t| t <= now)
    }
}

#[derive(Debug)]
struct StoreJob {
    index: ControllerIndex,
    hint: bool,
    update: Option<KeyUpdate>,
    /// For a removal: the unpairing it belongs to.
    unpair: Option<Ticket>,
}

/// Per device (controller, address): its store writes in order, one in flight.
#[derive(Debug, Default)]
struct DeviceQueue {
    in_flight: Option<Ticket>,
    waiting: VecDeque<StoreJob>,
}

#[derive(Debug)]
struct OwnPairing {
    ticket: Ticket,
    peer: Peer,
    /// Set once the kernel completed Pair Device: waiting for the stores to finish.
    finished: Option<Result<(), PairError>>,
    /// The first of its keys that could not be written: the pairing then ends with
    /// [`PairError::Store`], not success (the kernel holds a bond that will not survive a
    /// restart).
    store_failed: Option<String>,
}

/// A pairing we accepted (the agent's positive answer, an authorization accepted for our own
/// pairing, a passkey the kernel displays) whose keys have not come yet. A stopping service
/// waits for them until `deadline` (at most [`KEYS_AT_STOP`] from the stop); an entry already
/// past it at the stop is dropped unreported: that pairing ended without our seeing it.
#[derive(Debug)]
struct AwaitingKeys {
    peer: Peer,
    deadline: Due,
}

/// How long after its request an accepted pairing may still deliver its keys. SMP gives up
/// on a pairing after 30 s without progress; the agent's time to answer comes on top.
const KEYS_AFTER_REQUEST: Duration = Duration::from_secs(30);

/// How many accepted pairings are remembered while their keys are due. A pairing ends (keys,
/// failure, disconnection) long before this many others start; past it the oldest entry goes,
/// so a stream of pairings whose ends we never see costs no more than this.
const AWAITING_KEYS_LIMIT: usize = 32;

/// How long a stopping service waits, at most, for the keys of pairings it accepted. Keys
/// follow a "yes" within a few hundred milliseconds on real links; this bounds a peer that
/// went quiet without a disconnection.
pub const KEYS_AT_STOP: Duration = Duration::from_secs(5);

type DeviceKey = (ControllerIndex, Address);

/// The pairing state machine. See the module documentation.
#[derive(Debug)]
pub struct PairingCore {
    config: CoreConfig,
    next_ticket: u64,
    /// At most one per peer, in ticket order. There are a handful at most (one per device
    /// pairing at the time), so looking one up is a short scan, cheaper than hashing a peer.
    questions: Vec<Outstanding>,
    own: Vec<OwnPairing>,
    /// Accepted pairings whose keys have not come, oldest first (a handful at most; at most
    /// [`AWAITING_KEYS_LIMIT`]).
    awaiting_keys: VecDeque<AwaitingKeys>,
    unpairs: HashMap<Ticket, Peer>,
    /// Removals under way, by their store ticket: the unpairing each finishes.
    forgets: HashMap<Ticket, (Ticket, Peer)>,
    /// Unpairings the kernel answered Not Paired (an error for the caller once the store is
    /// clean).
    not_paired: std::collections::HashSet<Ticket>,
    adapters: HashMap<ControllerIndex, AdapterId>,
    /// Keys that arrived before their controller's store directory was known.
    unplaced: Vec<(ControllerIndex, bool, KeyUpdate)>,
    devices: HashMap<DeviceKey, DeviceQueue>,
    in_flight: HashMap<Ticket, DeviceKey>,
    actions: VecDeque<Action>,
    /// Set by [`PairingCore::handle_shutdown`]: new questions are refused at once.
    shutting_down: bool,
    /// Set by [`PairingCore::handle_event_unclocked`]: some time limit waits for its stamp.
    unstamped: bool,
}

fn device_key(index: ControllerIndex, address: &AddressInfo) -> DeviceKey {
    (index, address.address)
}

fn update_name(u: &KeyUpdate) -> &'static str {
    match u {
        KeyUpdate::LinkKey(_) => "link key",
        KeyUpdate::LongTermKey(_) => "long term key",
        KeyUpdate::Irk(_) => "IRK",
        KeyUpdate::Csrk(_) => "CSRK",
        KeyUpdate::ConnectionParameters(_) => "connection parameters",
    }
}

/// Whether an event code announces or retires a configured controller, for the service's
/// event filter.
pub fn is_index_event(event: &Event) -> Option<bool> {
    match event {
        Event::IndexAdded(_) => Some(true),
        Event::IndexRemoved(_) => Some(false),
        Event::ExtendedIndexAdded(e) if e.controller_type.0 == 0 => Some(true),
        Event::ExtendedIndexRemoved(e) if e.controller_type.0 == 0 => Some(false),
        _ => None,
    }
}

impl PairingCore {
    /// A core with these settings; nothing happens until [`PairingCore::start`].
    pub fn new(config: CoreConfig) -> PairingCore {
        PairingCore {
            config,
            next_ticket: 0,
            questions: Vec::new(),
            own: Vec::new(),
            awaiting_keys: VecDeque::new(),
            unpairs: HashMap::new(),
            forgets: HashMap::new(),
            not_paired: Default::default(),
            adapters: HashMap::new(),
            unplaced: Vec::new(),
            devices: HashMap::new(),
            in_flight: HashMap::new(),
            actions: VecDeque::new(),
            shutting_down: false,
            unstamped: false,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        Ticket(self.next_ticket)
    }

    fn report(&mut self, r: Report) {
        self.actions.push_back(Action::Report(r));
    }

    /// True if a controller needs anything done when it appears (with no store, no IO
    /// capability to set and nothing to load or power, the service sends no command of its
    /// own).
    pub fn sets_up_controllers(&self) -> bool {
        let c = &self.config;
        c.io_capability.is_some() || c.store || c.load_bonds || c.power_on
    }

    fn set_up_action(&self, index: ControllerIndex) -> Action {
        Action::SetUp(SetUp {
            index,
            io_capability: self.config.io_capability,
            load_bonds: self.config.load_bonds,
            power_on: self.config.power_on,
        })
    }

    /// The controllers present at start (Read Controller Index List): each served one is set
    /// up.
    pub fn start(&mut self, present: &[ControllerIndex]) {
        for &index in present {
            if self.sets_up_controllers() && self.config.controllers.includes(index) {
                let a = self.set_up_action(index);
                self.actions.push_back(a);
            }
        }
    }

    /// Names controller `index`'s store directory (from Read Controller Information, or the
    /// static address chosen for an LE-only controller). Keys that were waiting for it are
    /// stored now.
    pub fn set_adapter(&mut self, index: ControllerIndex, adapter: AdapterId) {
        self.adapters.insert(index, adapter);
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unplaced)
            .into_iter()
            .partition(|(i, ..)| *i == index);
        self.unplaced = later;
        for (index, hint, update) in now {
            self.queue_store(index, hint, Some(update), None);
        }
    }

    /// The store directory of controller `index`, once known.
    pub fn adapter(&self, index: ControllerIndex) -> Option<AdapterId> {
        self.adapters.get(&index).copied()
    }

    /// The outcome of an [`Action::SetUp`]: what was done, or why the set-up failed.
    pub fn handle_set_up(&mut self, index: ControllerIndex, result: Result<SetUpOutcome, String>) {
        match result {
            Ok(SetUpOutcome {
                summary,
                left_out,
                refused,
            }) => {
                for error in left_out {
                    tracing::warn!(%index, %error, "stored bond left out");
                    self.report(Report::BondLeftOut { index, error });
                }
                for r in refused {
                    tracing::warn!(%index, device = %r.device, command = r.command, error = %r.error,
                        "stored device policy refused");
                    self.report(Report::PolicyRefused {
                        index,
                        device: r.device,
                        command: r.command,
                        error: r.error,
                    });
                }
                self.report(Report::ControllerReady { index, summary })
            }
            Err(error) => {
                tracing::warn!(%index, %error, "controller not set up");
                self.report(Report::ControllerFailed { index, error })
            }
        }
    }

    /// One kernel event of controller `index`, at `now`.
    pub fn handle_event(&mut self, index: ControllerIndex, event: &Event, now: Instant) {
        self.stamp(now);
        self.event(index, event, Clock::Read(now));
    }

    /// [`PairingCore::handle_event`] before the event's time is read: the time limits it
    /// starts (a question's, and the wait for the keys of a pairing accepted at once) count
    /// from the time the next [`PairingCore::stamp`] gives. For a driver that answers a
    /// request and writes the reply before it reads the clock (a system call where the
    /// clocksource has no vDSO reading: a VM without a usable TSC, some boards). Stamp before
    /// asking [`PairingCore::poll_timeout`]; every input that carries a `now` stamps first.
    pub fn handle_event_unclocked(&mut self, index: ControllerIndex, event: &Event) {
        self.unstamped = true;
        self.event(index, event, Clock::Unread);
    }

    /// Whether a time limit started since the last stamp waits for one: false after
    /// unclocked inputs that started none (a request answered at once by its reply, an
    /// event of a controller not served), so that a driver reads no clock for them.
    pub fn needs_stamp(&self) -> bool {
        self.unstamped
            && (self.questions.iter().any(|o| o.deadline.is_unstamped())
                || self.awaiting_keys.iter().any(|a| a.deadline.is_unstamped()))
    }

    /// Gives the inputs handed in by [`PairingCore::handle_event_unclocked`] since the last
    /// stamp their time, `now` (read after what they led to was done).
    pub fn stamp(&mut self, now: Instant) {
        if !std::mem::take(&mut self.unstamped) {
            return;
        }
        for o in &mut self.questions {
            o.deadline.stamp(now);
        }
        for a in &mut self.awaiting_keys {
            a.deadline.stamp(now);
        }
    }

    fn event(&mut self, index: ControllerIndex, event: &Event, now: Clock) {
        match is_index_event(event) {
            Some(true) => {
                if self.sets_up_controllers() && self.config.controllers.includes(index) {
                    let a = self.set_up_action(index);
                    self.actions.push_back(a);
                }
                return;
            }
            Some(false) => {
                self.controller_removed(index);
                return;
            }
            _ => {}
        }
        if !self.config.controllers.includes(index) {
            return;
        }
        let peer = |a: &AddressInfo| Peer::new(index, a.clone());
        match event {
            Event::UserConfirmRequest(e) => {
                let peer = peer(&e.address);
                if e.confirm_hint == ConfirmHint::AUTHORIZATION_ONLY {
                    if self.config.auto_accept_initiated && self.is_own(&peer) {
                        self.withdraw(&peer);
                        self.await_keys(&peer, Due::after(now, KEYS_AFTER_REQUEST));
                        self.actions
                            .push_back(Action::Reply(PairingReply::UserConfirm {
                                peer: peer.clone(),
                                accept: true,
                            }));
                        self.report(Report::AutoAccepted { peer });
                    } else {
                        self.ask(peer, Question::Authorize, now);
                    }
                } else {
                    self.ask(peer, Question::ConfirmValue(e.value), now);
                }
            }
            Event::UserPasskeyRequest(e) => self.ask(peer(&e.address), Question::Passkey, now),
            Event::PinCodeRequest(e) => {
                self.ask(peer(&e.address), Question::PinCode(e.secure), now)
            }
            Event::PasskeyNotify(e) => {
                let peer = peer(&e.address);
                // The kernel goes on with the passkey it shows: its keys are as good as
                // those of a pairing the agent accepted.
                self.await_keys(&peer, Due::after(now, KEYS_AFTER_REQUEST));
                self.actions
                    .push_back(Action::Notify(Notice::DisplayPasskey {
                        peer,
                        passkey: e.passkey,
                        entered: e.entered,
                    }))
            }
            Event::AuthenticationFailed(e) => {
                let peer = peer(&e.address);
                self.withdraw(&peer);
                self.keys_came_or_never_will(&peer);
                self.actions.push_back(Action::Notify(Notice::Failed {
                    peer: peer.clone(),
                    status: e.status,
                }));
                self.report(Report::Failed {
                    peer,
                    status: e.status,
                });
            }
            Event::DeviceDisconnected(e) => {
                let peer = peer(&e.address);
                self.withdraw(&peer);
                self.keys_came_or_never_will(&peer);
            }
            _ => {
                if let Event::NewIdentityResolvingKey(e) = event {
                    // The LTKs that follow name the peer by its identity, not by the
                    // resolvable private address it paired from.
                    let identity = &e.key.address;
                    for a in self.awaiting_keys.iter_mut().filter(|a| {
                        a.peer.index == index && a.peer.address.address == e.random_address
                    }) {
                        a.peer = Peer::new(index, identity.clone());
                    }
                }
                if let Some((hint, update)) = KeyUpdate::from_event(event) {
                    if matches!(update, KeyUpdate::LinkKey(_) | KeyUpdate::LongTermKey(_)) {
                        // The pairing's last key: SMP hands out IRK and CSRK before the
                        // LTKs, BR/EDR has only the link key.
                        self.keys_came_or_never_will(&Peer::new(index, update.device()));
                    }
                    self.key(index, hint, update);
                }
            }
        }
    }

    fn key(&mut self, index: ControllerIndex, hint: bool, update: KeyUpdate) {
        let notice = match &update {
            KeyUpdate::LinkKey(k) => Some(KeyNotice {
                kind: KeyKind::LinkKey,
                authenticated: k.key_type.is_authenticated(),
                persistent: hint,
            }),
            KeyUpdate::LongTermKey(k) => Some(KeyNotice {
                kind: KeyKind::LongTermKey,
                authenticated: k.key_type.is_authenticated(),
                persistent: hint,
            }),
            _ => None,
        };
        if let Some(key) = notice {
            let peer = Peer::new(index, update.device());
            self.actions.push_back(Action::Notify(Notice::Completed {
                peer: peer.clone(),
                key,
            }));
            self.report(Report::KeyDelivered { peer, key });
        }
        if self.config.store {
            self.queue_store(index, hint, Some(update), None);
        }
    }

    fn queue_store(
        &mut self,
        index: ControllerIndex,
        hint: bool,
        update: Option<KeyUpdate>,
        unpair: Option<Ticket>,
    ) {
        let address = match (&update, unpair.and_then(|t| self.unpairs.get(&t))) {
            (Some(u), _) => u.device(),
            (None, Some(p)) => p.address.clone(),
            (None, None) => return,
        };
        if !self.adapters.contains_key(&index) {
            match update {
                Some(u) => self.unplaced.push((index, hint, u)),
                None => {
                    if let Some(t) = unpair {
                        self.unpairs.remove(&t);
                        self.actions.push_back(Action::Done {
                            ticket: t,
                            result: Err(PairError::Store(format!(
                                "controller {index}'s store directory is not known"
                            ))),
                        });
                    }
                }
            }
            return;
        }
        let key = device_key(index, &address);
        self.devices
            .entry(key)
            .or_default()
            .waiting
            .push_back(StoreJob {
                index,
                hint,
                update,
                unpair,
            });
        self.next_store(key);
    }

    fn next_store(&mut self, key: DeviceKey) {
        let Some(queue) = self.devices.get_mut(&key) else {
            return;
        };
        if queue.in_flight.is_some() {
            return;
        }
        let Some(job) = queue.waiting.pop_front() else {
            self.devices.remove(&key);
            return;
        };
        self.next_ticket += 1;
        let ticket = Ticket(self.next_ticket);
        queue.in_flight = Some(ticket);
        self.in_flight.insert(ticket, key);
        let adapter = self.adapters[&job.index];
        let action = match job.update {
            Some(update) => Action::Store {
                ticket,
                index: job.index,
                adapter,
                hint: job.hint,
                update,
            },
            None => {
                // Remember which unpairing this removal finishes.
                self.unpairs_by_forget(ticket, job.unpair);
                Action::Forget {
                    ticket,
                    index: job.index,
                    adapter,
                    device: key.1,
                }
            }
        };
        self.actions.push_back(action);
    }

    fn unpairs_by_forget(&mut self, forget: Ticket, unpair: Option<Ticket>) {
        if let Some(u) = unpair {
            if let Some(peer) = self.unpairs.remove(&u) {
                self.forgets.insert(forget, (u, peer));
            }
        }
    }

    /// The result of an [`Action::Store`] or [`Action::Forget`]: for a store, what was written
    /// (`Ok(Some(path))`) or why not (`Ok(None)` with the reason in `note`); for a removal,
    /// whether there was anything (`Ok(Some(_))` removed, `Ok(None)` nothing stored).
    pub fn handle_stored(&mut self, ticket: Ticket, outcome: StoreResult) {
        let Some(key) = self.in_flight.remove(&ticket) else {
            return;
        };
        if let Some(q) = self.devices.get_mut(&key) {
            q.in_flight = None;
        }
        let (index, address) = key;
        match outcome {
            StoreResult::Written { what, device, path } => self.report(Report::Stored {
                index,
                device,
                what,
                path,
            }),
            StoreResult::NotStored { device, reason } => self.report(Report::NotStored {
                index,
                device,
                reason,
            }),
            StoreResult::Failed { device, error } => {
                tracing::warn!(%index, device = %device.address, %error, "key NOT stored");
                for p in self.own.iter_mut() {
                    if device_key(p.peer.index, &p.peer.address) == key {
                        p.store_failed.get_or_insert_with(|| error.clone());
                    }
                }
                self.report(Report::StoreFailed {
                    index,
                    device,
                    error,
                })
            }
            StoreResult::Removed(removed) => {
                if removed {
                    self.report(Report::Removed {
                        index,
                        device: address,
                    });
                }
                if let Some((u, _)) = self.forgets.remove(&ticket) {
                    let result = if self.not_paired.remove(&u) {
                        Err(PairError::Status(Status::NOT_PAIRED))
                    } else {
                        Ok(())
                    };
                    self.actions.push_back(Action::Done { ticket: u, result });
                }
            }
            StoreResult::RemoveFailed(error) => {
                tracing::warn!(%index, device = %address, %error, "stored bond not removed");
                if let Some((u, _)) = self.forgets.remove(&ticket) {
                    self.not_paired.remove(&u);
                    self.actions.push_back(Action::Done {
                        ticket: u,
                        result: Err(PairError::Store(error)),
                    });
                }
            }
        }
        self.next_store(key);
        self.finish_own();
    }

    fn storing(&self, key: DeviceKey) -> bool {
        self.devices.contains_key(&key)
            || self
                .unplaced
                .iter()
                .any(|(i, _, u)| (*i, u.device().address) == key)
    }

    /// Releases our pairings whose kernel part is done and whose keys are all written.
    fn finish_own(&mut self) {
        let mut i = 0;
        while i < self.own.len() {
            let p = &self.own[i];
            let key = device_key(p.peer.index, &p.peer.address);
            if p.finished.is_some() && !self.storing(key) {
                let p = self.own.remove(i);
                let result = match (p.finished, p.store_failed) {
                    (Some(Ok(())), Some(error)) => Err(PairError::Store(format!(
                        "paired, but its keys were not written: {error}"
                    ))),
                    (finished, _) => finished.unwrap_or(Ok(())),
                };
                self.actions.push_back(Action::Done {
                    ticket: p.ticket,
                    result,
                });
            } else {
                i += 1;
            }
        }
    }

    /// Who would answer a User Confirmation Request from `peer` with `hint` and `value` if it
    /// were handed in now (see [`ConfirmAnswerer`]); `None` when its reply is decided otherwise
    /// (a controller not served gets none; a stop under way refuses it). Lets a caller
    /// write the reply before it decodes the request: handing the request in afterwards,
    /// with the agent's answer to [`Action::Ask`], then yields that same reply, and leaves
    /// the core as it would be had the agent answered so without the early write.
    pub fn confirm_answered_by(
        &self,
        peer: &Peer,
        hint: ConfirmHint,
        value: u32,
    ) -> Option<ConfirmAnswerer> {
        if self.shutting_down || !self.config.controllers.includes(peer.index) {
            return None;
        }
        Some(if hint == ConfirmHint::AUTHORIZATION_ONLY {
            if self.config.auto_accept_initiated && self.is_own(peer) {
                ConfirmAnswerer::Core(true)
            } else {
                ConfirmAnswerer::Agent(YesNoRequest::Authorize)
            }
        } else {
            ConfirmAnswerer::Agent(YesNoRequest::ConfirmValue(value))
        })
    }

    fn is_own(&self, peer: &Peer) -> bool {
        self.own
            .iter()
            .any(|p| p.finished.is_none() && p.peer == *peer)
    }

    /// Remembers that `peer`'s keys are due (one entry per peer: a passkey shown again as
    /// digits are typed only moves its deadline).
    fn await_keys(&mut self, peer: &Peer, deadline: Due) {
        if let Some(a) = self.awaiting_keys.iter_mut().find(|a| a.peer == *peer) {
            a.deadline = a.deadline.later(deadline);
            return;
        }
        if self.awaiting_keys.len() == AWAITING_KEYS_LIMIT {
            self.awaiting_keys.pop_front();
        }
        self.awaiting_keys.push_back(AwaitingKeys {
            peer: peer.clone(),
            deadline,
        });
    }

    fn keys_came_or_never_will(&mut self, peer: &Peer) {
        if !self.awaiting_keys.is_empty() {
            self.awaiting_keys.retain(|a| a.peer != *peer);
        }
    }

    fn ask(&mut self, peer: Peer, question: Question, now: Clock) {
        self.withdraw(&peer);
        if self.shutting_down {
            tracing::info!(%peer, request = ?question.kind(), "shutting down; rejecting");
            self.actions
                .push_back(Action::Reply(question.negative(peer.clone())));
            self.report(Report::ShutDown {
                peer,
                request: question.kind(),
            });
            return;
        }
        let ticket = self.ticket();
        self.questions.push(Outstanding {
            ticket,
            peer: peer.clone(),
            question: question.clone(),
            deadline: Due::after(now, self.config.answer_timeout),
        });
        self.actions.push_back(Action::Ask {
            ticket,
            peer,
            question,
        });
    }

    fn withdraw(&mut self, peer: &Peer) {
        if let Some(pos) = self.questions.iter().position(|o| o.peer == *peer) {
            let o = self.questions.remove(pos);
            self.actions.push_back(Action::Notify(Notice::Cancelled {
                ticket: o.ticket,
                peer: peer.clone(),
            }));
            self.report(Report::Withdrawn { peer: peer.clone() });
        }
    }

    fn controller_removed(&mut self, index: ControllerIndex) {
        let gone: Vec<Peer> = self
            .questions
            .iter()
            .filter(|o| o.peer.index == index)
            .map(|o| o.peer.clone())
            .collect();
        for peer in gone {
            self.withdraw(&peer);
        }
        for p in self.own.iter_mut().filter(|p| p.peer.index == index) {
            p.finished.get_or_insert(Err(PairError::ControllerRemoved));
        }
        self.awaiting_keys.retain(|a| a.peer.index != index);
        // Store writes already queued still run (the directory outlives the controller);
        // the name is forgotten so a new controller at this index is read again. Keys still
        // waiting for the name can no longer be placed: say so.
        self.adapters.remove(&index);
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unplaced)
            .into_iter()
            .partition(|(i, ..)| *i == index);
        self.unplaced = kept;
        for (_, _, update) in gone {
            let error = "the controller went away before its store directory was known".to_string();
            tracing::warn!(%index, device = %update.device().address, %error, "key NOT stored");
            self.report(Report::StoreFailed {
                index,
                device: update.device(),
                error,
            });
        }
        self.report(Report::ControllerRemoved { index });
        self.finish_own();
    }

    /// The agent's answer to the question with `ticket` (ignored when it was withdrawn or
    /// timed out meanwhile).
    pub fn handle_answer(&mut self, ticket: Ticket, answer: Answer) {
        let Some(pos) = self.questions.iter().position(|o| o.ticket == ticket) else {
            return;
        };
        let o = self.questions.remove(pos);
        let peer = o.peer;
        let kind = o.question.kind();
        let reply = match (answer, &o.question) {
            (Answer::Failed, _) => {
                tracing::warn!(%peer, "agent failed; rejecting");
                self.actions
                    .push_back(Action::Reply(o.question.negative(peer.clone())));
                self.report(Report::AgentPanicked {
                    peer,
                    request: kind,
                });
                return;
            }
            (Answer::Bool(accept), _) => Ok(PairingReply::UserConfirm {
                peer: peer.clone(),
                accept,
            }),
            (Answer::Passkey(None), _) => Ok(o.question.negative(peer.clone())),
            (Answer::Passkey(Some(pk)), _) => {
                check_passkey(pk).map(|pk| PairingReply::UserPasskey {
                    peer: peer.clone(),
                    passkey: Some(pk),
                })
            }
            (Answer::PinCode(Some(pin)), Question::PinCode(true)) if !pin.is_secure() => {
                Err(InvalidAnswer::PinCodeNotSecure)
            }
            (Answer::PinCode(pin), _) => Ok(PairingReply::PinCode {
                peer: peer.clone(),
                pin,
            }),
        };
        match reply {
            Ok(reply) => {
                let accepted = !reply.is_negative();
                if accepted {
                    // The question's deadline is its request's time plus the answer limit.
                    self.await_keys(&peer, o.deadline.plus(KEYS_AFTER_REQUEST));
                }
                self.actions.push_back(Action::Reply(reply));
                self.report(Report::Answered {
                    peer,
                    request: kind,
                    accepted,
                });
            }
            Err(error) => {
                tracing::warn!(%peer, %error, "agent answer rejected");
                self.actions
                    .push_back(Action::Reply(o.question.negative(peer.clone())));
                self.report(Report::InvalidAnswer { peer, error });
            }
        }
    }

    /// The kernel's answer to a reply command we sent (`Err` with a description when it was
    /// refused or could not be sent).
    pub fn handle_reply_result(&mut self, peer: Peer, result: Result<(), String>) {
        if let Err(error) = result {
            tracing::warn!(%peer, %error, "pairing reply failed");
            self.report(Report::ReplyFailed { peer, error });
        }
    }

    /// When [`PairingCore::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let questions = self.questions.iter().filter_map(|o| o.deadline.at).min();
        if !self.shutting_down {
            // While running no timer is kept for keys: an entry ends with its pairing, is
            // pushed out by newer ones, or is dropped at the stop once past its deadline.
            return questions;
        }
        let keys = self
            .awaiting_keys
            .iter()
            .filter_map(|a| a.deadline.at)
            .min();
        match (questions, keys) {
            (Some(q), Some(k)) => Some(q.min(k)),
            (q, k) => q.or(k),
        }
    }

    /// Time passed: questions past their deadline get a negative reply; when stopping,
    /// accepted pairings whose keys did not come in time are given up
    /// ([`Report::KeysNotReceived`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.stamp(now);
        if self.shutting_down {
            while let Some(pos) = self
                .awaiting_keys
                .iter()
                .position(|a| a.deadline.passed(now))
            {
                let Some(AwaitingKeys { peer, .. }) = self.awaiting_keys.remove(pos) else {
                    break;
                };
                tracing::warn!(%peer, "stopping without the keys of a pairing we accepted");
                self.report(Report::KeysNotReceived { peer });
            }
        }
        while let Some(pos) = self.questions.iter().position(|o| o.deadline.passed(now)) {
            let o = self.questions.remove(pos);
            let peer = o.peer;
            tracing::warn!(%peer, request = ?o.question.kind(), "agent did not answer in time; rejecting");
            self.actions.push_back(Action::Notify(Notice::Cancelled {
                ticket: o.ticket,
                peer: peer.clone(),
            }));
            self.actions
                .push_back(Action::Reply(o.question.negative(peer.clone())));
            self.report(Report::TimedOut {
                peer,
                request: o.question.kind(),
            });
        }
    }

    /// The service is stopping (at `now`): every outstanding question is withdrawn from the
    /// agent and answered with the negative reply its time limit would send
    /// ([`Report::ShutDown`]), our own pairings still pending on the kernel get Cancel Pair
    /// Device, and requests arriving from now on are refused at once. Keys still waiting for
    /// their controller's store directory can no longer be placed ([`Report::StoreFailed`]);
    /// the writes already queued go on. Pairings we accepted whose keys have not come yet are
    /// given until [`KEYS_AT_STOP`] from `now` ([`Report::AwaitingKeys`] for each; then
    /// [`Report::KeysNotReceived`] from [`PairingCore::handle_timeout`]):
    /// [`PairingCore::is_flushed`] says when all of this is done.
    pub fn handle_shutdown(&mut self, now: Instant) {
        self.stamp(now);
        self.shutting_down = true;
        // Entries past their deadline belong to pairings that ended unseen (no bonding, say).
        self.awaiting_keys.retain(|a| !a.deadline.passed(now));
        for a in &mut self.awaiting_keys {
            let at = a.deadline.at.map_or(now, |t| t.min(now + KEYS_AT_STOP));
            a.deadline = Due::at(at);
        }
        let awaited: Vec<Peer> = self.awaiting_keys.iter().map(|a| a.peer.clone()).collect();
        for peer in awaited {
            tracing::info!(%peer, "stopping once the keys of the pairing under way have come");
            self.report(Report::AwaitingKeys { peer });
        }
        for o in std::mem::take(&mut self.questions) {
            let peer = o.peer;
            tracing::info!(%peer, request = ?o.question.kind(), "shutting down; rejecting");
            self.actions.push_back(Action::Notify(Notice::Cancelled {
                ticket: o.ticket,
                peer: peer.clone(),
            }));
            self.actions
                .push_back(Action::Reply(o.question.negative(peer.clone())));
            self.report(Report::ShutDown {
                peer,
                request: o.question.kind(),
            });
        }
        let cancels: Vec<Action> = self
            .own
            .iter()
            .filter(|p| p.finished.is_none())
            .map(|p| Action::CancelPairDevice {
                ticket: p.ticket,
                peer: p.peer.clone(),
            })
            .collect();
        self.actions.extend(cancels);
        for (index, _, update) in std::mem::take(&mut self.unplaced) {
            let error =
                "the service stopped before the controller's store directory was known".to_string();
            tracing::warn!(%index, device = %update.device().address, %error, "key NOT stored");
            self.report(Report::StoreFailed {
                index,
                device: update.device(),
                error,
            });
        }
        self.finish_own();
    }

    /// True once [`PairingCore::handle_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// True when no store write or removal is queued or in flight and no pairing we
    /// accepted is still waiting for its keys (see [`PairingCore::handle_shutdown`]): the
    /// keys are flushed.
    pub fn is_flushed(&self) -> bool {
        self.devices.is_empty() && self.awaiting_keys.is_empty()
    }

    /// Starts a pairing with `peer`: the core asks for Pair Device, answers Just Works for it
    /// without the agent, and gives [`Action::Done`] once the kernel completed it and its keys
    /// are stored.
    pub fn start_pairing(&mut self, peer: Peer, io_capability: IoCapability) -> Ticket {
        let ticket = self.ticket();
        self.own.push(OwnPairing {
            ticket,
            peer: peer.clone(),
            finished: None,
            store_failed: None,
        });
        self.actions.push_back(Action::PairDevice {
            ticket,
            peer,
            io_capability,
        });
        ticket
    }

    /// The kernel completed Pair Device. Call it only after every event that arrived before
    /// the completion has been handled (the service drains its queue first): the keys the
    /// pairing delivered precede its completion on the socket.
    pub fn handle_pair_result(&mut self, ticket: Ticket, result: Result<(), PairError>) {
        if let Some(p) = self.own.iter_mut().find(|p| p.ticket == ticket) {
            p.finished.get_or_insert(result);
            // Its keys came before the completion, or will not come at all.
            let peer = p.peer.clone();
            self.keys_came_or_never_will(&peer);
        }
        self.finish_own();
    }

    /// Starts an unpairing: Unpair Device, then (with a store) removal of the stored bond.
    pub fn start_unpair(&mut self, peer: Peer, disconnect: bool) -> Ticket {
        let ticket = self.ticket();
        self.unpairs.insert(ticket, peer.clone());
        self.actions.push_back(Action::UnpairDevice {
            ticket,
            peer,
            disconnect,
        });
        ticket
    }

    /// The kernel's answer to Unpair Device. With a store, the stored bond is removed after
    /// Success and after Not Paired (the store can hold a bond the kernel was never given).
    pub fn handle_unpair_result(&mut self, ticket: Ticket, result: Result<Status, PairError>) {
        let Some(peer) = self.unpairs.get(&ticket).cloned() else {
            return;
        };
        let forget = matches!(&result, Ok(s) if s.is_success() || *s == Status::NOT_PAIRED);
        if self.config.store && forget {
            self.queue_store(peer.index, true, None, Some(ticket));
            if matches!(&result, Ok(s) if !s.is_success()) {
                // Not Paired: still an error for the caller once the store is clean.
                self.not_paired.insert(ticket);
            }
            return;
        }
        self.unpairs.remove(&ticket);
        let result = match result {
            Ok(s) if s.is_success() => Ok(()),
            Ok(s) => Err(PairError::Status(s)),
            Err(e) => Err(e),
        };
        self.actions.push_back(Action::Done { ticket, result });
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}

/// What a store write or removal did, for [`PairingCore::handle_stored`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreResult {
    /// A key was written to `path`.
    Written {
        /// Which key ("link key", "long term key", ...).
        what: &'static str,
        /// The device.
        device: AddressInfo,
        /// The info file.
        path: std::path::PathBuf,
    },
    /// Not written, for this reason (store hint 0, not an identity address).
    NotStored {
        /// The device.
        device: AddressInfo,
        /// Why.
        reason: &'static str,
    },
    /// Writing failed.
    Failed {
        /// The device.
        device: AddressInfo,
        /// What went wrong.
        error: String,
    },
    /// A removal finished; `true` if there was a stored bond.
    Removed(bool),
    /// A removal failed.
    RemoveFailed(String),
}

impl StoreResult {
    /// The result of [`KeyStore::store`](crate::keystore::KeyStore::store) for `update`.
    pub fn of_store(
        update: &KeyUpdate,
        result: Result<crate::keystore::StoreOutcome, crate::keystore::Error>,
    ) -> StoreResult {
        let device = update.device();
        match result {
            Ok(crate::keystore::StoreOutcome::Written(path)) => StoreResult::Written {
                what: update_name(update),
                device,
                path,
            },
            Ok(crate::keystore::StoreOutcome::NotStored(reason)) => {
                StoreResult::NotStored { device, reason }
            }
            Err(e) => StoreResult::Failed {
                device,
                error: e.to_string(),
            },
        }
    }
}
