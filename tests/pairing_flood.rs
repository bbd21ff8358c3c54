//! Nothing that matters is lost in a flood: the real client and pairing service over a
//! scripted transport, 100,000 Device Found events interleaved with 100 User Confirmation
//! Requests and 100 New Long Term Keys, every store write slowed to 20 ms. Every request is
//! answered (the script checks each reply, byte for byte and in order), every key is stored,
//! and no loss is reported. A second run with the service's queue made deliberately tiny
//! reports the loss: a WARN log line (mgmtctl's default level) naming the dropped events, and
//! [`Report::EventsLost`] on the report stream. A service that serves one controller gives
//! the other's requests and keys no room in its queue: a flood of them beside our own
//! pairings, with that queue tiny, loses nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt::agent::{Agent, Peer};
use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::KeyStore;
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::{ControllerIndex, EventCode, IoCapability, Opcode, Status};
use bluez_mgmt::transport::{ScriptBuilder, ScriptedTransport};

mod support;
use support::{complete_params, HookedStore, HCI0, HCI1, NONE};
const REQUESTS: usize = 100;
const DEVICE_FOUND: usize = 100_000;
/// Our controller's public address (wire order).
const OWN: [u8; 6] = [0x01, 0x00, 0x00, 0x01, 0xAA, 0x00];

/// LE public address of peer `i` (wire order), and with its type octet (1: LE public).
fn peer(i: usize) -> [u8; 7] {
    [i as u8, (i >> 8) as u8, 0x00, 0x00, 0xBB, 0x00, 0x01]
}

fn command_complete(opcode: Opcode, reply: &[u8]) -> Vec<u8> {
    complete_params(opcode, Status::SUCCESS, reply)
}

/// Read Controller Information reply: address, version, manufacturer, supported and
/// current settings (off), class, name (249) and short name (11).
fn read_info_reply() -> Vec<u8> {
    let mut r = OWN.to_vec();
    r.push(0x09);
    r.extend_from_slice(&0x05f1u16.to_le_bytes());
    r.extend_from_slice(&0x0001_ffffu32.to_le_bytes());
    r.extend_from_slice(&0u32.to_le_bytes());
    r.extend_from_slice(&[0; 3 + 249 + 11]);
    r
}

/// Device Found: address, type, RSSI, flags, EIR length 0.
fn device_found(n: usize) -> Vec<u8> {
    [&peer(n % 50_000 + 1_000)[..], &[0xC4], &[0; 4], &[0, 0]].concat()
}

/// User Confirmation Request: address, confirm hint 0, value.
fn confirm_request(i: usize) -> Vec<u8> {
    [&peer(i)[..], &[0x00], &(i as u32).to_le_bytes()].concat()
}

/// New Long Term Key: store hint 1, then the 36-octet LTK record (authenticated P-256).
fn new_ltk(i: usize) -> Vec<u8> {
    [
        &[0x01][..],
        &peer(i),
        &[0x03, 0x00, 16],
        &[0; 2 + 8],
        &[i as u8; 16],
    ]
    .concat()
}

/// What floods the conversation: its `n`th event.
type Flood = fn(usize) -> (ControllerIndex, EventCode, Vec<u8>);

fn device_found_flood(n: usize) -> (ControllerIndex, EventCode, Vec<u8>) {
    (HCI0, EventCode::DEVICE_FOUND, device_found(n))
}

/// The pairing traffic of a controller the service does not serve (hci1): requests and keys
/// of other peers, which the service's filter keeps out of its queue.
fn other_controller_flood(n: usize) -> (ControllerIndex, EventCode, Vec<u8>) {
    let i = n % 50_000 + 1_000;
    match n % 2 {
        0 => (HCI1, EventCode::USER_CONFIRM_REQUEST, confirm_request(i)),
        _ => (HCI1, EventCode::NEW_LONG_TERM_KEY, new_ltk(i)),
    }
}

/// The conversation: start-up (the index list unless the service is told its controllers,
/// Read Controller Information), then per request a confirmation request, `flooded` events
/// of `flood`, its key, more of the flood, and the reply we must write.
fn script(controllers: &Controllers, flood: Flood, flooded: usize) -> ScriptedTransport {
    let mut b: ScriptBuilder = ScriptedTransport::builder();
    if *controllers == Controllers::All {
        b = b
            .write_command(NONE, Opcode::READ_INDEX_LIST, &[])
            .read_event(
                NONE,
                EventCode::COMMAND_COMPLETE,
                &command_complete(Opcode::READ_INDEX_LIST, &[1, 0, 0, 0]),
            );
    }
    b = b.write_command(HCI0, Opcode::READ_INFO, &[]).read_event(
        HCI0,
        EventCode::COMMAND_COMPLETE,
        &command_complete(Opcode::READ_INFO, &read_info_reply()),
    );
    let per_gap = flooded / REQUESTS / 2;
    let mut found = 0;
    let mut flood_gap = |mut b: ScriptBuilder| {
        for _ in 0..per_gap {
            let (index, code, params) = flood(found);
            b = b.read_event(index, code, &params);
            found += 1;
        }
        b
    };
    for i in 0..REQUESTS {
        b = b.read_event(HCI0, EventCode::USER_CONFIRM_REQUEST, &confirm_request(i));
        b = flood_gap(b);
        b = b.read_event(HCI0, EventCode::NEW_LONG_TERM_KEY, &new_ltk(i));
        b = flood_gap(b);
        b = b
            .write_command(HCI0, Opcode::USER_CONFIRM_REPLY, &peer(i))
            .read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &command_complete(Opcode::USER_CONFIRM_REPLY, &peer(i)),
            );
    }
    assert_eq!(found, flooded);
    b.build().stay_open()
}

/// Accepts every comparison.
struct Accept;

impl Agent for Accept {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }
    async fn confirm_value(&self, _peer: &Peer, _value: u32) -> bool {
        true
    }
}

/// WARN and ERROR lines, as a default-level log would show them.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(format!("{}", event.metadata().level()));
        event.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct Run {
    script: Arc<ScriptedTransport>,
    reports: Vec<Report>,
    warnings: Vec<String>,
    store: tempfile::TempDir,
}

/// How a run floods the service: with what, how many events, the service's queue and the
/// controllers it serves.
struct Setup {
    flood: Flood,
    flooded: usize,
    queue: usize,
    controllers: Controllers,
}

/// [`DEVICE_FOUND`] Device Found events to a service of every controller whose queue holds
/// `queue` events.
fn found_flood(queue: usize) -> Setup {
    Setup {
        flood: device_found_flood,
        flooded: DEVICE_FOUND,
        queue,
        controllers: Controllers::All,
    }
}

/// Runs the scripted flood through a client and a service set up as `setup` says, until
/// `done` says the reports so far are enough (or 60 s pass).
fn run(setup: Setup, done: fn(&[Report]) -> bool) -> Run {
    let warnings = Warnings::default();
    let _log = tracing::subscriber::set_default(warnings.clone());
    let store = tempfile::tempdir().unwrap();
    let script = Arc::new(script(&setup.controllers, setup.flood, setup.flooded));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reports = rt.block_on(async {
        let service = PairingService::new(
            Client::with_transport(script.clone()),
            Accept,
            ServiceConfig {
                register_io_capability: false,
                load_bonds: false,
                power_on: false,
                event_queue: setup.queue,
                controllers: setup.controllers,
                ..ServiceConfig::default()
            },
        )
        .with_bond_store(HookedStore::new(store.path(), || {
            std::thread::sleep(Duration::from_millis(20))
        }));
        let mut rx = service.reports();
        let _task = service.start().await.expect("the service starts");
        let mut reports = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(&reports) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(r)) => reports.push(r),
                Ok(Err(e)) => panic!("reports: {e}"),
                Err(_) => break,
            }
        }
        reports
    });
    let warnings = warnings.0.lock().unwrap().clone();
    Run {
        script,
        reports,
        warnings,
        store,
    }
}

fn count(reports: &[Report], what: fn(&Report) -> bool) -> usize {
    reports.iter().filter(|r| what(r)).count()
}

fn answered(r: &Report) -> bool {
    matches!(r, Report::Answered { accepted: true, .. })
}

fn stored(r: &Report) -> bool {
    matches!(r, Report::Stored { .. })
}

fn lost(r: &Report) -> bool {
    matches!(r, Report::EventsLost { .. })
}

#[test]
fn every_request_answered_and_every_key_stored_in_a_device_found_flood() {
    let started = std::time::Instant::now();
    let r = run(found_flood(bluez_mgmt::client::EVENT_BUFFER), all_done);
    println!(
        "{DEVICE_FOUND} Device Found, {REQUESTS} requests and keys: {:?}",
        started.elapsed()
    );
    nothing_lost(&r);
}

fn all_done(reports: &[Report]) -> bool {
    count(reports, answered) == REQUESTS && count(reports, stored) == REQUESTS
}

/// Every request of ours answered, every key stored, no loss reported or logged.
fn nothing_lost(r: &Run) {
    assert_eq!(count(&r.reports, answered), REQUESTS, "{:?}", r.reports);
    assert_eq!(count(&r.reports, stored), REQUESTS);
    assert_eq!(count(&r.reports, lost), 0);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Every reply written, byte for byte and in order; every event read.
    r.script.check_done().unwrap();
    let store = KeyStore::open(r.store.path());
    let (bonds, errors) = store.bonds(bluez_mgmt::protocol::Address(OWN)).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bonds.len(), REQUESTS);
}

#[test]
fn a_tiny_queue_reports_what_it_lost() {
    let r = run(found_flood(1), |reports| count(reports, lost) > 0);
    let lost_reports: Vec<_> = r.reports.iter().filter(|r| lost(r)).collect();
    assert!(
        !lost_reports.is_empty(),
        "no loss reported: {:?}",
        r.reports
    );
    // At WARN: the client names the dropped event and the service says what it means.
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("WARN") && w.contains("event queue full")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("pairing service missed events")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn another_controllers_requests_and_keys_take_no_room_in_a_served_only_queue() {
    // 10,000 requests and keys of hci1 around our 100 on hci0, with a queue of 4 (a
    // service of every controller loses some of them there: `Controllers::All` fails this).
    let r = run(
        Setup {
            flood: other_controller_flood,
            flooded: 10_000,
            queue: 4,
            controllers: Controllers::Only(vec![HCI0]),
        },
        all_done,
    );
    nothing_lost(&r);
}
