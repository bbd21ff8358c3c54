//! The pairing matrix against an independent host stack: the Bumble peer (its own link
//! manager for BR/EDR Secure Simple Pairing, its own SMP for LE), with the kernel's side driven
//! by our agent runner over the MGMT client. One Bumble process serves every cell of a test;
//! between cells both sides forget the pairing (Unpair Device under every address type on the
//! kernel, `forget` on the peer).
//!
//! Three tests: all 25 BR/EDR SSP cells with the kernel initiating
//! ([`bredr_ssp_matrix_against_bumble`]); the kernel as responder in all 25 cells of each of
//! LE Secure Connections, LE legacy pairing and BR/EDR SSP, Bumble initiating
//! ([`responder_matrix_against_bumble`]); the kernel initiating over LE in each model (recorded
//! as fixtures) and refusals in both roles ([`roles_and_rejections_against_bumble`]).
//!
//! Each cell asserts, on the kernel side: the first pairing request the kernel raised (User
//! Confirmation Request with hint 1 = authorize or 0 = compare, User Passkey Request, Passkey
//! Notify, or none) equals [`kernel_pairing`]'s prediction for the kernel's role; that keys
//! were delivered (New Link Key / New Long Term Key), each of the type the transport and the
//! predicted authentication give; and on the peer's side: the same value for Numeric
//! Comparison, the kernel's passkey typed by the peer when the kernel displays, the peer's own
//! passkey shown when the kernel types, and the peer's PAIRED with keys of the same
//! authentication (over BR/EDR, the same link key type). A cell predicted to be refused ends
//! with Authentication Failed on the kernel, FAILED on the peer and no keys; so do the
//! refusal cells. Every cell ends as soon as both sides have reported their end (no timeout
//! waited out; 3 s of grace after the first side's end bound a cell that does not match).
//!
//! The peer asks for MITM protection exactly when a kernel in its place would (so the
//! prediction, made for two kernels, applies). For LE legacy cells the peer turns Secure
//! Connections off (the kernel keeps it on; SMP then falls back to legacy pairing).
//!
//! Where Bumble is not faithful: Bumble 0.0.236's link manager labels every SSP link key
//! authenticated P-256 (0x08), even after Just Works. The peer script's shim 4 rewrites the
//! Link Key Notification's type on both Bumble controllers (the kernel-facing one and the
//! peer's) from the IO capabilities and MITM bits exchanged, as a controller must (Core Vol 3
//! Part C 5.2.2.6) and as BlueZ's btdev does. So the BR/EDR key type asserted here is the rule
//! the specification gives for the exchanged capabilities, applied by the shim, not a value
//! Bumble's link manager computed; what the kernel adds (which type it stores and reports in
//! New Link Key, the requests it raises) is the kernel's own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bluez_mgmt::agent::Peer;
use bluez_mgmt::association::{kernel_pairing, KernelOutcome, KernelRequest, Transport};
use bluez_mgmt::client::{Client, EventFilter};
use bluez_mgmt::pairing::{Controllers, PairError, PairingService, ServiceConfig};
use bluez_mgmt::protocol::command::{
    SecureConnectionsMode, SetDefaultSystemConfig, SetSecureConnections, SystemConfigParameter,
};
use bluez_mgmt::protocol::event::{ConfirmHint, Event};
use bluez_mgmt::protocol::wire::Rest;
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, ControllerIndex, IoCapability, Tlv};
use tokio::sync::Notify;

use super::pairing_matrix::{code, short, MatrixAgent, PasskeySlot, TYPED_BY_BOTH};
use super::support::{BumblePeer, Capture, PeerEvent, PeerOptions};

const DISPLAY_ONLY: IoCapability = IoCapability::DISPLAY_ONLY;
const DISPLAY_YES_NO: IoCapability = IoCapability::DISPLAY_YES_NO;
const KEYBOARD_ONLY: IoCapability = IoCapability::KEYBOARD_ONLY;
const NO_IO: IoCapability = IoCapability::NO_INPUT_NO_OUTPUT;

/// Who sends the pairing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Our runner's Pair Device; the peer responds.
    KernelInitiates,
    /// The peer's `pair`; our agent answers what the kernel asks.
    PeerInitiates,
}

/// Who refuses in a refusal cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refuser {
    /// Our agent answers the kernel's request negatively (authorization, comparison or
    /// passkey entry).
    Kernel,
    /// The peer answers its `PASSKEY?` with `type none` (it refuses to type the passkey the
    /// kernel displays); it accepts everything else.
    PeerTyping,
}

/// One cell.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    transport: Transport,
    role: Role,
    kernel_io: IoCapability,
    peer_io: IoCapability,
    /// Who refuses (`None`: both sides accept).
    refuser: Option<Refuser>,
    /// Record a btmon capture of this cell under this name.
    capture: Option<&'static str>,
}

impl Scenario {
    fn new(
        transport: Transport,
        role: Role,
        kernel_io: IoCapability,
        peer_io: IoCapability,
    ) -> Self {
        Scenario {
            transport,
            role,
            kernel_io,
            peer_io,
            refuser: None,
            capture: None,
        }
    }

    fn refused_by(mut self, who: Refuser) -> Self {
        self.refuser = Some(who);
        self
    }

    fn kernel_accepts(&self) -> bool {
        self.refuser != Some(Refuser::Kernel)
    }

    fn captured(mut self, name: &'static str) -> Self {
        self.capture = Some(name);
        self
    }

    fn initiator_responder(&self) -> (IoCapability, IoCapability) {
        match self.role {
            Role::KernelInitiates => (self.kernel_io, self.peer_io),
            Role::PeerInitiates => (self.peer_io, self.kernel_io),
        }
    }

    /// The kernel's predicted first request and the predicted outcome.
    fn predicted(&self) -> (KernelRequest, KernelOutcome) {
        let (i, r) = self.initiator_responder();
        let p = kernel_pairing(self.transport, i, r);
        let request = match self.role {
            Role::KernelInitiates => p.initiator,
            Role::PeerInitiates => p.responder,
        };
        (request, p.outcome)
    }

    fn both_type(&self) -> bool {
        let (i, r) = self.initiator_responder();
        let p = kernel_pairing(self.transport, i, r);
        p.initiator == KernelRequest::PasskeyRequest && p.responder == KernelRequest::PasskeyRequest
    }

    /// The MITM bit a kernel in the peer's place would send: an initiator whenever it has IO
    /// (Pair Device, SMP), an acceptor/responder when both sides have IO (`hci_get_auth_req`;
    /// SMP's responder echoes the initiator).
    fn peer_mitm(&self) -> bool {
        self.peer_io != NO_IO && (self.role == Role::PeerInitiates || self.kernel_io != NO_IO)
    }

    fn label(&self) -> String {
        let (i, r) = self.initiator_responder();
        let (ni, nr) = match self.role {
            Role::KernelInitiates => ("kernel", "Bumble"),
            Role::PeerInitiates => ("Bumble", "kernel"),
        };
        format!(
            "{:?} {ni} {} -> {nr} {}{}",
            self.transport,
            short(i),
            short(r),
            match self.refuser {
                None => "",
                Some(Refuser::Kernel) => " (kernel refuses)",
                Some(Refuser::PeerTyping) => " (peer refuses to type)",
            }
        )
    }
}

/// What one cell showed.
#[derive(Debug, Default)]
struct Observed {
    /// Kernel requests in order, with the value shown (compare value or passkey).
    requests: Vec<(KernelRequest, Option<u32>)>,
    /// Keys the kernel delivered: (what, key type octet, authenticated).
    keys: Vec<(&'static str, u8, bool)>,
    auth_failed: bool,
    pair_result: Option<Result<(), PairError>>,
    peer_prompt: Option<PeerEvent>,
    /// What the test typed for the peer at its `PASSKEY?` (`Some(None)`: it refused).
    peer_typed: Option<Option<u32>>,
    peer_end: Option<PeerEvent>,
    /// The cell's wall time, from the peer's settings to the peer's disconnection.
    took: Duration,
}

impl Observed {
    fn first_request(&self) -> KernelRequest {
        self.requests
            .first()
            .map_or(KernelRequest::None, |(r, _)| *r)
    }
}

/// The peer's settings as last sent (each cell sends only what changes: every command is a
/// round trip to a Python process under TCG).
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct PeerSettings {
    io: u8,
    mitm: bool,
    secure_connections: bool,
}

/// The peer process and the kernel controller that faces it.
struct Rig {
    peer: BumblePeer,
    index: ControllerIndex,
    peer_address: Address,
    peer_le: Address,
    sent: Option<PeerSettings>,
}

/// How a cell's observations are judged: its table row, and what went wrong, if anything.
type Judge = fn(&Scenario, &Observed) -> (String, Option<String>);

impl Rig {
    /// Runs `s` and judges it: its row goes to `rows`, a miss (with what was observed) to
    /// `failures`.
    async fn run_judged(
        &mut self,
        s: Scenario,
        judge: Judge,
        rows: &mut Vec<String>,
        failures: &mut Vec<String>,
    ) {
        let o = self.run(s).await;
        let (row, why) = judge(&s, &o);
        if let Some(why) = why {
            failures.push(format!("{}: {why} ({o:?})", s.label()));
        }
        rows.push(row);
    }

    async fn start() -> Rig {
        let started = Instant::now();
        let peer = BumblePeer::start(PeerOptions {
            bredr: true,
            io_capability: 3,
        })
        .await;
        println!("the Bumble peer is ready after {:?}", started.elapsed());
        let index = peer.index;
        let client = Client::open().await.expect("MGMT client");
        let c = client.controller(index);
        c.ssp(true).await.expect("SSP");
        c.le(true).await.expect("LE");
        // Secure Connections is off by default: without it the kernel's SMP never sets the SC
        // bit and every LE pairing is legacy.
        client
            .call(
                index,
                &SetSecureConnections {
                    secure_connections: SecureConnectionsMode::ON,
                },
            )
            .await
            .expect("Secure Connections");
        c.bondable(true).await.expect("bondable");
        c.connectable(true).await.expect("connectable");
        // The peer's LE Create Connection completes at the kernel's next advertisement, and
        // the kernel's default interval is 1.28 s: 100 ms (0x00A0 × 0.625 ms) saves about half
        // a second per LE cell where the peer connects.
        client
            .call(
                index,
                &SetDefaultSystemConfig {
                    parameters: Rest(vec![
                        Tlv::from_u16(SystemConfigParameter::LE_ADV_MIN_INTERVAL.0, 0x00A0),
                        Tlv::from_u16(SystemConfigParameter::LE_ADV_MAX_INTERVAL.0, 0x00A0),
                    ]),
                },
            )
            .await
            .expect("Set Default System Configuration (advertising interval)");
        c.power(true).await.expect("power on");
        // Connectable LE advertising, for the cells where the peer connects over LE.
        super::support::advertise(&client, index).await;
        Rig {
            peer_address: peer.address.parse().expect("peer address"),
            peer_le: peer.le_address.parse().expect("peer LE address"),
            peer,
            index,
            sent: None,
        }
    }

    /// Gives the peer this cell's settings and drops what it printed since the last cell (a
    /// failed `pair` reports FAILED twice, the second time possibly after the cell ended).
    async fn prepare_peer(&mut self, s: &Scenario) {
        let want = PeerSettings {
            io: s.peer_io.0,
            mitm: s.peer_mitm(),
            secure_connections: s.transport != Transport::LeLegacy,
        };
        let sent = self.sent.replace(want);
        if sent.is_none() {
            self.peer.set_accept(true).await;
        }
        if sent.map(|p| p.io) != Some(want.io) {
            self.peer.set_io_capability(want.io).await;
        }
        if sent.map(|p| p.mitm) != Some(want.mitm) {
            self.peer.set_mitm(want.mitm).await;
        }
        if sent.map(|p| p.secure_connections) != Some(want.secure_connections) {
            self.peer
                .set_secure_connections(want.secure_connections)
                .await;
        }
        self.peer.forget().await;
        while self.peer.next_event(Duration::ZERO).await.is_some() {}
    }

    /// The address the kernel pairs with (and keeps keys under) for this transport.
    fn target(&self, transport: Transport) -> Peer {
        match transport {
            Transport::BrEdrSsp => Peer::new(
                self.index,
                AddressInfo::new(self.peer_address, AddressType::BR_EDR),
            ),
            _ => Peer::new(
                self.index,
                AddressInfo::new(self.peer_le, AddressType::LE_RANDOM),
            ),
        }
    }

    async fn run(&mut self, s: Scenario) -> Observed {
        let index = self.index;
        let cell_started = Instant::now();
        self.prepare_peer(&s).await;

        // Authentication Failed goes to every MGMT socket except the one whose Pair Device
        // failed (`mgmt_auth_failed` completes that command with the status instead): watch
        // the events from a second socket, except in recorded cells, which keep to one socket.
        let observer = match s.capture {
            None => Some(Client::open().await.expect("observer client")),
            Some(_) => None,
        };
        // A capture holds this cell only: btmon starts now, and the client below is the
        // capture's first socket to send a command.
        let capture = s.capture.map(Capture::start);
        let client = Client::open().await.expect("MGMT client");
        let mut events = observer
            .as_ref()
            .unwrap_or(&client)
            .subscribe(EventFilter::all().controller(index));
        let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
        let ended = Arc::new(Notify::new());
        let collector = {
            let (seen, ended) = (seen.clone(), ended.clone());
            tokio::spawn(async move {
                while let Some(item) = events.recv().await {
                    let Ok((_, event)) = item else { continue };
                    let end = matches!(
                        event,
                        Event::AuthenticationFailed(_)
                            | Event::NewLinkKey(_)
                            | Event::NewLongTermKey(_)
                    );
                    seen.lock().unwrap().push(event);
                    if end {
                        ended.notify_one();
                    }
                }
            })
        };

        let slot = Arc::new(PasskeySlot::default());
        if s.both_type() {
            slot.put(TYPED_BY_BOTH);
        }
        let runner = PairingService::new(
            client.clone(),
            MatrixAgent {
                io: s.kernel_io,
                accept: s.kernel_accepts(),
                slot: slot.clone(),
            },
            ServiceConfig {
                controllers: Controllers::Only(vec![index]),
                register_io_capability: s.role == Role::PeerInitiates,
                // The service accepts Just Works authorization by itself for a pairing it
                // started (as bluetoothd does); a refusal cell asks our agent instead, so the
                // kernel initiator's authorization can be refused. (With it on, the accepted
                // cells show the kernel asking and the service accepting.)
                auto_accept_initiated: s.kernel_accepts(),
                ..ServiceConfig::default()
            },
        );
        let task = runner.start().await.expect("runner");
        let target = self.target(s.transport);
        let pairing = match s.role {
            Role::KernelInitiates => {
                let (runner, target, ended) = (runner.clone(), target.clone(), ended.clone());
                let io = s.kernel_io;
                Some(tokio::spawn(async move {
                    let r = runner.pair(&target, io, Duration::from_secs(30)).await;
                    ended.notify_one();
                    r
                }))
            }
            Role::PeerInitiates => {
                let transport = if s.transport == Transport::BrEdrSsp {
                    "bredr"
                } else {
                    "le"
                };
                let kernel_side = self.peer.kernel_side_address.clone();
                self.peer.pair(&kernel_side, transport).await;
                None
            }
        };

        // Follow the peer until both sides are done (or 3 s after the first of them).
        let mut obs = Observed::default();
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut kernel_done = false;
        let mut grace: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let until = grace.map_or(deadline, |g| g.min(deadline));
            if now >= until || (kernel_done && obs.peer_end.is_some()) {
                break;
            }
            tokio::select! {
                e = self.peer.next_event(until - now) => match e {
                    Some(PeerEvent::Display(n)) => {
                        slot.put(n);
                        obs.peer_prompt.get_or_insert(PeerEvent::Display(n));
                    }
                    Some(PeerEvent::PasskeyRequested) => {
                        obs.peer_prompt.get_or_insert(PeerEvent::PasskeyRequested);
                        let typed = match s.refuser {
                            Some(Refuser::PeerTyping) => None,
                            _ => slot.take().await,
                        };
                        obs.peer_typed.get_or_insert(typed);
                        self.peer.type_passkey(typed).await;
                    }
                    Some(e @ (PeerEvent::Confirm(_) | PeerEvent::JustWorks)) => {
                        obs.peer_prompt.get_or_insert(e);
                    }
                    Some(e @ (PeerEvent::Paired(_) | PeerEvent::Failed(_))) => {
                        obs.peer_end.get_or_insert(e);
                        grace.get_or_insert(Instant::now() + Duration::from_secs(3));
                    }
                    _ => {}
                },
                _ = ended.notified(), if !kernel_done => {
                    kernel_done = true;
                    grace.get_or_insert(Instant::now() + Duration::from_secs(3));
                }
            }
        }
        if let Some(p) = pairing {
            obs.pair_result = Some(
                tokio::time::timeout(Duration::from_secs(40), p)
                    .await
                    .expect("Pair Device ends")
                    .expect("pair task"),
            );
        }
        // The kernel queues a pairing's key events together (one Link Key Notification;
        // `smp_notify_keys` sends every LE key at once) and the first of them ended the wait
        // above; the Unpair Device replies below come after them on the socket. A short
        // settle lets the collector take what the reader has dispatched.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for (address, t) in [
            (self.peer_address, AddressType::BR_EDR),
            (self.peer_address, AddressType::LE_PUBLIC),
            (self.peer_le, AddressType::LE_RANDOM),
        ] {
            let _ = runner
                .unpair(&Peer::new(index, AddressInfo::new(address, t)), true)
                .await;
        }
        // The service goes after its last call (unpairing goes through it).
        task.abort();
        tokio::time::sleep(Duration::from_millis(200)).await;
        collector.abort();
        drop(runner);
        drop(client);
        drop(observer);
        if let Some(c) = capture {
            c.finish();
        }
        self.peer.disconnect().await;
        obs.took = cell_started.elapsed();

        for event in seen.lock().unwrap().iter() {
            match event {
                Event::UserConfirmRequest(e) => {
                    obs.requests
                        .push(if e.confirm_hint == ConfirmHint::AUTHORIZATION_ONLY {
                            (KernelRequest::Authorize, None)
                        } else {
                            (KernelRequest::ConfirmValue, Some(e.value))
                        })
                }
                Event::UserPasskeyRequest(_) => {
                    obs.requests.push((KernelRequest::PasskeyRequest, None))
                }
                // Passkey Notify repeats as the peer types; count it once.
                Event::PasskeyNotify(e)
                    if !obs
                        .requests
                        .iter()
                        .any(|(r, _)| *r == KernelRequest::PasskeyNotify) =>
                {
                    obs.requests
                        .push((KernelRequest::PasskeyNotify, Some(e.passkey)));
                }
                Event::NewLinkKey(e) => obs.keys.push((
                    "link key",
                    e.key.key_type.0,
                    e.key.key_type.is_authenticated(),
                )),
                Event::NewLongTermKey(e) => {
                    obs.keys
                        .push(("LTK", e.key.key_type.0, e.key.key_type.is_authenticated()))
                }
                Event::AuthenticationFailed(_) => obs.auth_failed = true,
                _ => {}
            }
        }
        obs
    }
}

/// The key type the kernel must report for a key of this cell: LE Secure Connections LTKs are
/// P-256 (0x02 unauthenticated, 0x03 authenticated), legacy LTKs 0x00/0x01; every link key
/// (BR/EDR SSP with Secure Connections on both controllers, or derived from an LE SC LTK) is
/// P-256 (0x07/0x08).
fn expected_key_type(what: &str, transport: Transport, authenticated: bool) -> u8 {
    let a = u8::from(authenticated);
    match (what, transport) {
        ("link key", _) => 0x07 + a,
        (_, Transport::LeLegacy) => a,
        _ => 0x02 + a,
    }
}

/// What the peer reported in its `PAIRED` line against the kernel's view: every LTK and link
/// key it names carries the predicted authenticated flag, and a BR/EDR link key has the type
/// the kernel's New Link Key had (the peer's controller writes it through the same shim 4 as
/// the kernel-facing one, each from its own side of the IO capability exchange).
fn peer_keys_mismatch(o: &Observed, authenticated: bool) -> Option<String> {
    let Some(PeerEvent::Paired(kinds)) = &o.peer_end else {
        return Some("the peer did not report PAIRED".into());
    };
    if kinds.iter().all(|k| k == "none") {
        return Some("the peer reported no keys".into());
    }
    let kernel_link_key = o.keys.iter().find(|k| k.0 == "link key").map(|k| k.1);
    for kind in kinds {
        let parts: Vec<&str> = kind.split(':').collect();
        match parts.as_slice() {
            ["link_key", t, _] => {
                let t = u8::from_str_radix(t.trim_start_matches("0x"), 16).ok();
                if t.is_none() || t != kernel_link_key {
                    return Some(format!(
                        "peer link key {kind}, kernel's type {kernel_link_key:02x?}"
                    ));
                }
            }
            [name, auth]
                if (name.starts_with("ltk") || *name == "link_key")
                    && (*auth == "authenticated") != authenticated =>
            {
                return Some(format!("peer key {kind} (predicted {authenticated})"));
            }
            _ => {}
        }
    }
    None
}

/// The peer's side of the user interaction against the kernel's: the same value for Numeric
/// Comparison; the kernel's passkey typed by the peer when the kernel displays; the peer's
/// own passkey shown when the kernel types (the kernel's agent types what the peer shows, so
/// a completed pairing proves them equal); the agreed passkey when both type.
fn prompt_mismatch(
    s: &Scenario,
    o: &Observed,
    request: KernelRequest,
    authenticated: bool,
) -> Option<String> {
    let shown = o.requests.first().and_then(|r| r.1);
    match (request, &o.peer_prompt) {
        // A DisplayOnly peer shows the value it cannot confirm (BR/EDR; confirmed
        // automatically, the key unauthenticated): the same value.
        (KernelRequest::ConfirmValue, Some(PeerEvent::Confirm(n) | PeerEvent::Display(n)))
            if shown != Some(*n) =>
        {
            Some(format!("compare values differ: kernel {shown:?}, peer {n}"))
        }
        (KernelRequest::ConfirmValue, p)
            if authenticated && !matches!(p, Some(PeerEvent::Confirm(_))) =>
        {
            Some(format!(
                "Numeric Comparison but the peer's prompt was {p:?}"
            ))
        }
        (KernelRequest::PasskeyNotify, _) if shown.is_none() || o.peer_typed != Some(shown) => {
            Some(format!(
                "the kernel displayed {shown:?}, the peer typed {:?}",
                o.peer_typed
            ))
        }
        (KernelRequest::PasskeyRequest, _) if s.both_type() => (o.peer_typed
            != Some(Some(TYPED_BY_BOTH)))
        .then(|| format!("both type: the peer typed {:?}", o.peer_typed)),
        (KernelRequest::PasskeyRequest, p) if !matches!(p, Some(PeerEvent::Display(_))) => {
            Some(format!("the kernel typed but the peer showed {p:?}"))
        }
        _ => None,
    }
}

/// Checks one cell where both sides accept against the prediction: the kernel's request, its
/// keys (type and authenticated flag), Pair Device's result, the peer's prompt (the same value
/// for Numeric Comparison; the kernel's passkey typed by the peer; the peer's own passkey shown
/// when the kernel types) and the peer's result and keys. A predicted refusal must end with
/// Authentication Failed on the kernel, no keys, and the peer's FAILED. Returns the table row
/// and, if it does not match, why.
fn judge(s: &Scenario, o: &Observed) -> (String, Option<String>) {
    let (request, outcome) = s.predicted();
    let mut why = Vec::new();
    if o.first_request() != request {
        why.push(format!(
            "kernel request {} (predicted {})",
            code(o.first_request()),
            code(request)
        ));
    }
    match outcome {
        KernelOutcome::Paired { authenticated } => {
            if o.keys.is_empty() {
                why.push("no keys".into());
            }
            for (what, t, auth) in &o.keys {
                let want = expected_key_type(what, s.transport, authenticated);
                if *auth != authenticated || *t != want {
                    why.push(format!("{what} type 0x{t:02x} (predicted 0x{want:02x})"));
                }
            }
            if o.auth_failed {
                why.push("Authentication Failed".into());
            }
            if matches!(o.pair_result, Some(Err(_))) {
                why.push("Pair Device failed".into());
            }
            if let Some(w) = peer_keys_mismatch(o, authenticated) {
                why.push(w);
            }
            if let Some(w) = prompt_mismatch(s, o, request, authenticated) {
                why.push(w);
            }
        }
        KernelOutcome::Refused => {
            if !o.keys.is_empty() {
                why.push("keys despite a predicted refusal".into());
            }
            if !o.auth_failed {
                why.push("no Authentication Failed event".into());
            }
            if !matches!(o.peer_end, Some(PeerEvent::Failed(_))) {
                why.push(format!("the peer ended {:?}", o.peer_end));
            }
        }
    }
    let predicted_outcome = match outcome {
        KernelOutcome::Paired {
            authenticated: true,
        } => "paired, authenticated",
        KernelOutcome::Paired {
            authenticated: false,
        } => "paired, unauthenticated",
        KernelOutcome::Refused => "refused",
    };
    let keys: Vec<String> = o
        .keys
        .iter()
        .map(|(what, t, _)| format!("{what} 0x{t:02x}"))
        .collect();
    let row = format!(
        "{:<58} {} {:<24} | {} {:<24} peer {:<14} {:<40} {:>5.1}s {}",
        s.label(),
        code(request),
        predicted_outcome,
        code(o.first_request()),
        keys.join(","),
        o.peer_prompt
            .as_ref()
            .map_or("-".to_owned(), |p| format!("{p:?}")),
        peer_end(o),
        o.took.as_secs_f32(),
        if why.is_empty() { "PASS" } else { "MISMATCH" },
    );
    (row, (!why.is_empty()).then(|| why.join("; ")))
}

/// The peer's result in a row: its key kinds or its failure reason.
fn peer_end(o: &Observed) -> String {
    match &o.peer_end {
        Some(PeerEvent::Paired(kinds)) => kinds.join(","),
        Some(PeerEvent::Failed(why)) => format!("FAILED {why}"),
        other => format!("{other:?}"),
    }
}

/// Checks a refusal cell: the predicted request was raised, the pairing ended with
/// Authentication Failed on the kernel (and Pair Device with that status), the peer reported
/// FAILED, and no key was delivered on either side.
fn judge_rejection(s: &Scenario, o: &Observed) -> (String, Option<String>) {
    let (request, _) = s.predicted();
    let mut why = Vec::new();
    if o.first_request() != request {
        why.push(format!(
            "kernel request {} (predicted {})",
            code(o.first_request()),
            code(request)
        ));
    }
    if s.refuser == Some(Refuser::PeerTyping) && o.peer_typed != Some(None) {
        why.push(format!("the peer was to refuse typing: {:?}", o.peer_typed));
    }
    if !o.auth_failed {
        why.push("no Authentication Failed event".into());
    }
    if let Some(r) = &o.pair_result {
        if !matches!(r, Err(PairError::Status(st)) if *st == bluez_mgmt::protocol::Status::AUTHENTICATION_FAILED)
        {
            why.push(format!("Pair Device ended {r:?}"));
        }
    }
    if !o.keys.is_empty() {
        why.push(format!("keys delivered: {:?}", o.keys));
    }
    if !matches!(o.peer_end, Some(PeerEvent::Failed(_))) {
        why.push(format!("the peer ended {:?}", o.peer_end));
    }
    let row = format!(
        "{:<58} {} refused -> {} auth_failed={} keys={} pair={:?} peer: {} {:.1}s {}",
        s.label(),
        code(request),
        code(o.first_request()),
        o.auth_failed,
        o.keys.len(),
        o.pair_result,
        peer_end(o),
        o.took.as_secs_f32(),
        if why.is_empty() { "PASS" } else { "MISMATCH" },
    );
    (row, (!why.is_empty()).then(|| why.join("; ")))
}

fn report(title: &str, rows: &[String], notes: &[&str], failures: &[String]) {
    println!("\n{title} (kernel {}):", super::support::kernel_release());
    for r in rows {
        println!("{r}");
    }
    for n in notes {
        println!("note: {n}");
    }
    println!(
        "requests: - none, A authorize (hint 1), V compare value (hint 0), Q passkey request, N passkey notify; predicted | observed"
    );
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

/// All 25 BR/EDR Secure Simple Pairing cells with the kernel initiating (Pair Device through
/// our runner) and Bumble responding with every IO capability. Three of them are recorded as
/// fixtures (Just Works, Numeric Comparison, Passkey Entry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bredr_ssp_matrix_against_bumble() {
    let started = Instant::now();
    let mut rig = Rig::start().await;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for kernel_io in IoCapability::ALL {
        for peer_io in IoCapability::ALL {
            let mut s = Scenario::new(
                Transport::BrEdrSsp,
                Role::KernelInitiates,
                kernel_io,
                peer_io,
            );
            s.capture = match (kernel_io, peer_io) {
                (DISPLAY_YES_NO, NO_IO) => Some("pairing_bredr_ssp_just_works"),
                (DISPLAY_YES_NO, DISPLAY_YES_NO) => Some("pairing_bredr_ssp_numeric_comparison"),
                (KEYBOARD_ONLY, DISPLAY_ONLY) => Some("pairing_bredr_ssp_passkey"),
                _ => None,
            };
            rig.run_judged(s, judge, &mut rows, &mut failures).await;
        }
    }
    println!("BR/EDR SSP matrix against Bumble: {:?}", started.elapsed());
    report(
        "BR/EDR SSP, kernel initiates, Bumble responds: all 25 cells",
        &rows,
        &["the kernel as BR/EDR responder: responder_matrix_against_bumble"],
        &failures,
    );
}

/// The kernel as responder in every cell: Bumble sends the pairing request (SMP Pairing
/// Request over LE, Authentication Requested then the IO capability exchange over BR/EDR) with
/// each of the five IO capabilities, and our pairing service answers with each of the five on
/// the kernel's side: 25 cells each for LE Secure Connections, LE legacy pairing and BR/EDR
/// SSP, one peer process for all 75. Each cell is judged like the initiator matrix (see
/// [`judge`]), the prediction being [`kernel_pairing`]'s responder side: the kernel's request,
/// its key types, the peer's prompt and result. Cells predicted to be refused (the kernel
/// answers an initiator that asks for MITM protection with Pairing Failed, Authentication
/// Requirements, when its own capabilities only allow Just Works) end at the kernel's
/// Authentication Failed and the peer's FAILED, no timeout waited out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responder_matrix_against_bumble() {
    let started = Instant::now();
    let mut rig = Rig::start().await;
    let mut failures = Vec::new();
    let mut tables = Vec::new();
    for transport in Transport::ALL {
        let t0 = Instant::now();
        let mut rows = Vec::new();
        for peer_io in IoCapability::ALL {
            for kernel_io in IoCapability::ALL {
                let s = Scenario::new(transport, Role::PeerInitiates, kernel_io, peer_io);
                rig.run_judged(s, judge, &mut rows, &mut failures).await;
            }
        }
        tables.push((transport, rows, t0.elapsed()));
    }
    for (transport, rows, took) in &tables {
        println!("\n{transport:?}, Bumble initiates, the kernel responds: 25 cells in {took:?}");
        for r in rows {
            println!("{r}");
        }
    }
    println!("responder matrix against Bumble: {:?}", started.elapsed());
    report(
        "Kernel as responder against Bumble: 75 cells",
        &[],
        &[
            "predicted | observed: the kernel's first request, outcome | key types; the peer's prompt and result",
            "the kernel as initiator: bredr_ssp_matrix_against_bumble (BR/EDR), pairing_matrix (LE, both sides kernels)",
        ],
        &failures,
    );
}

/// The kernel as initiator over LE against Bumble in each association model, recorded as fixtures;
/// and refusals in each method and role (the kernel's responder side in every cell is
/// [`responder_matrix_against_bumble`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_rejections_against_bumble() {
    use Role::{KernelInitiates as K, PeerInitiates as P};
    use Transport::{BrEdrSsp as BR, LeLegacy as LL, LeSecureConnections as SC};
    let started = Instant::now();
    let mut rig = Rig::start().await;
    let mut rows = Vec::new();
    let mut failures = Vec::new();

    let cells = [
        Scenario::new(SC, K, DISPLAY_YES_NO, NO_IO).captured("pairing_le_sc_just_works"),
        Scenario::new(SC, K, DISPLAY_YES_NO, DISPLAY_YES_NO)
            .captured("pairing_le_sc_numeric_comparison"),
        Scenario::new(SC, K, KEYBOARD_ONLY, DISPLAY_ONLY).captured("pairing_le_sc_passkey"),
        Scenario::new(LL, K, DISPLAY_YES_NO, NO_IO).captured("pairing_le_legacy_just_works"),
        Scenario::new(LL, K, KEYBOARD_ONLY, DISPLAY_ONLY).captured("pairing_le_legacy_passkey"),
    ];
    for s in cells {
        rig.run_judged(s, judge, &mut rows, &mut failures).await;
    }

    // Refusals: Numeric Comparison rejected, Passkey negative reply, Just Works
    // authorization rejected (an acceptor is asked to authorize), on LE SC and BR/EDR. LE
    // legacy has no Numeric Comparison; every refusal it has is here, in both roles: the
    // passkey refused by the side that types it (our agent's negative reply when the kernel
    // types; the peer's when the kernel displays), and the Just Works authorization the kernel
    // asks for as initiator and as responder refused by our agent.
    let (kernel, peer) = (Refuser::Kernel, Refuser::PeerTyping);
    let rejections = [
        Scenario::new(SC, K, DISPLAY_YES_NO, DISPLAY_YES_NO).refused_by(kernel),
        Scenario::new(SC, K, KEYBOARD_ONLY, DISPLAY_ONLY).refused_by(kernel),
        Scenario::new(SC, P, DISPLAY_YES_NO, NO_IO).refused_by(kernel),
        Scenario::new(LL, K, KEYBOARD_ONLY, DISPLAY_ONLY).refused_by(kernel),
        Scenario::new(LL, K, DISPLAY_ONLY, KEYBOARD_ONLY).refused_by(peer),
        Scenario::new(LL, P, KEYBOARD_ONLY, DISPLAY_ONLY).refused_by(kernel),
        Scenario::new(LL, P, DISPLAY_ONLY, KEYBOARD_ONLY).refused_by(peer),
        Scenario::new(LL, K, DISPLAY_YES_NO, NO_IO).refused_by(kernel),
        Scenario::new(LL, P, DISPLAY_YES_NO, NO_IO).refused_by(kernel),
        Scenario::new(BR, K, DISPLAY_YES_NO, DISPLAY_YES_NO).refused_by(kernel),
        Scenario::new(BR, K, KEYBOARD_ONLY, DISPLAY_ONLY).refused_by(kernel),
        Scenario::new(BR, P, DISPLAY_YES_NO, NO_IO).refused_by(kernel),
    ];
    for s in rejections {
        rig.run_judged(s, judge_rejection, &mut rows, &mut failures)
            .await;
    }
    println!(
        "roles and rejections against Bumble: {:?}",
        started.elapsed()
    );
    report(
        "Kernel as LE initiator (fixtures) and refusals in both roles (against Bumble)",
        &rows,
        &[
            "LE, both roles, all 25 cells of SC and of legacy: pairing_matrix (btvirt), where initiator and responder are both kernels answered by our agent runner",
            "refusals: LE SC Numeric Comparison refused by a kernel responder also in pairing_matrix_le_sc; BR/EDR legacy wrong PIN in legacy_pin",
        ],
        &failures,
    );
}
