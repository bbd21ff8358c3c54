//! Bonds that survive a restart, against the real kernel: btvirt's two controllers pair with
//! our pairing services (one store directory per side), then everything the kernel knew is
//! thrown away (services stopped, client dropped, btvirt stopped: the controllers and their
//! keys are gone), a new btvirt brings up controllers with the same addresses, new services
//! load the stored bonds before power-on, and an L2CAP connection that
//! requires encryption (security level medium) comes up encrypted with no pairing on either
//! side: no User Confirmation / Passkey / PIN request and no new key in MGMT, and (BR/EDR) no
//! IO Capability Request, User Confirmation Request or Link Key Notification in HCI.
//!
//! BR/EDR: Secure Simple Pairing through btvirt's emulated link manager (always 000000, a
//! constant key; fine for reconnecting), then an L2CAP connection to PSM 0x1001: the kernel
//! authenticates with the loaded link key (HCI Link Key Request Reply) and encrypts.
//! LE: Secure Connections Numeric Comparison, then an LE credit-based connection to PSM 0x0081
//! while the peripheral advertises: the central starts encryption with the loaded LTK, the
//! peripheral answers the LTK request from its loaded key.
//!
//! Captures: `bonds_pair_<transport>` (the first pairing) and `bonds_reconnect_<transport>`
//! (the restart, load and reconnect).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bluez_mgmt::agent::{Agent, Peer};
use bluez_mgmt::capture::{CaptureReader, MonitorOpcode};
use bluez_mgmt::client::{Client, EventFilter, Subscription};
use bluez_mgmt::keystore::KeyStore;
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::command::SecureConnectionsMode;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, EventCode, IoCapability,
};

use super::l2cap;
use super::support::{
    advertise, mgmtctl, mgmtctl_pair, mode, next_lines, prepare_pairing, rest_of_lines, run_to_end,
    spawn_with_lines, stop_agent, Btvirt, Capture, WAIT,
};

pub(super) const CENTRAL: &str = "00:AA:01:00:00:00";
const PERIPHERAL: &str = "00:AA:01:01:00:01";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Link {
    BrEdr,
    Le,
}

impl Link {
    fn name(self) -> &'static str {
        match self {
            Link::BrEdr => "bredr",
            Link::Le => "le",
        }
    }
    fn address_type(self) -> AddressType {
        match self {
            Link::BrEdr => AddressType::BR_EDR,
            Link::Le => AddressType::LE_PUBLIC,
        }
    }
}

/// Accepts every request and writes it down.
#[derive(Clone, Default)]
struct RecordingAgent {
    requests: Arc<Mutex<Vec<String>>>,
}

impl RecordingAgent {
    fn note(&self, s: String) {
        self.requests.lock().unwrap().push(s);
    }
}

impl Agent for RecordingAgent {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }
    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.note(format!("{peer}: confirm {value:06}"));
        true
    }
    async fn authorize(&self, peer: &Peer) -> bool {
        self.note(format!("{peer}: authorize"));
        true
    }
    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        self.note(format!("{peer}: passkey request"));
        None
    }
    async fn request_pin_code(
        &self,
        peer: &Peer,
        _secure: bool,
    ) -> Option<bluez_mgmt::agent::PinCode> {
        self.note(format!("{peer}: PIN request"));
        None
    }
}

/// One side: its controller and pairing service (with the side's store).
struct Side {
    index: ControllerIndex,
    service: PairingService<RecordingAgent>,
    task: tokio::task::JoinHandle<()>,
    agent: RecordingAgent,
}

/// Configures both controllers (powered off), then starts a pairing service per side with its
/// store: it sets the IO capability, loads the stored bonds and powers the controller on.
/// Returns the sides and each set-up's summary line.
async fn bring_up(
    client: &Client,
    virt: &Btvirt,
    dirs: &[PathBuf; 2],
    link: Link,
    device_policies: bool,
) -> (Vec<Side>, Vec<(ControllerIndex, String)>) {
    let mut sides = Vec::new();
    let mut summaries = Vec::new();
    for (n, &index) in virt.indexes.iter().enumerate() {
        client
            .controller(index)
            .power(false)
            .await
            .expect("power off");
        prepare_pairing(client, index, true, Some(SecureConnectionsMode::ON)).await;
        let agent = RecordingAgent::default();
        let service = PairingService::new(
            client.clone(),
            agent.clone(),
            ServiceConfig {
                controllers: Controllers::Only(vec![index]),
                device_policies,
                ..ServiceConfig::default()
            },
        )
        .with_store(KeyStore::open(&dirs[n]));
        let mut reports = service.reports();
        let task = service
            .start()
            .await
            .expect("IO capability, stored bonds loaded, then powered on");
        let mut summary = None;
        while let Ok(r) = reports.try_recv() {
            match r {
                Report::ControllerReady { summary: s, .. } => summary = Some(s),
                Report::BondLeftOut { error, .. } => panic!("{index}: left out: {error}"),
                _ => {}
            }
        }
        let summary = summary.expect("set-up reported");
        assert!(summary.contains("; powered on"), "{summary}");
        summaries.push((index, summary));
        if link == Link::Le && n == 1 {
            advertise(client, index).await;
        }
        sides.push(Side {
            index,
            service,
            task,
            agent,
        });
    }
    (sides, summaries)
}

/// Waits until each side's service reported storing the key `what` for the other side.
async fn wait_stored(
    sides: &[Side],
    mut reports: Vec<tokio::sync::broadcast::Receiver<Report>>,
    what: &str,
) {
    for (side, rx) in sides.iter().zip(reports.iter_mut()) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(Report::Stored { what: w, path, .. })) if w == what => {
                    println!("{}: stored {w} in {}", side.index, path.display());
                    break;
                }
                Ok(Ok(r)) => println!("{}: {r:?}", side.index),
                Ok(Err(e)) => panic!("service reports: {e}"),
                Err(_) => panic!("{}: no {what} stored within 15 s", side.index),
            }
        }
    }
}

/// On fresh btvirt controllers with stores `dirs` (central, peripheral), the central pairs
/// with the peripheral over `link`; returns once both sides stored `what` and the trailing
/// keys (IRKs, the second LTK, CTKD) had time to land, with the services, the client and
/// the controllers gone.
async fn pair_and_store(dirs: &[PathBuf; 2], link: Link, what: &str) {
    let virt = Btvirt::start().await;
    let client = Client::open().await.expect("MGMT client");
    let (sides, _) = bring_up(&client, &virt, dirs, link, true).await;
    let reports: Vec<_> = sides.iter().map(|s| s.service.reports()).collect();
    let peer = Peer::new(
        sides[0].index,
        AddressInfo::new(PERIPHERAL.parse().unwrap(), link.address_type()),
    );
    sides[0]
        .service
        .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(40))
        .await
        .expect("first pairing");
    wait_stored(&sides, reports, what).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    println!(
        "pairing requests: {:?} / {:?}",
        sides[0].agent.requests, sides[1].agent.requests
    );
    for s in &sides {
        s.task.abort();
    }
    drop(sides);
    drop(client);
    drop(virt);
}

fn wire(text: &str) -> [u8; 6] {
    text.parse::<Address>().unwrap().0
}

/// HCI events (code, first parameter octets) per controller index in a capture.
fn hci_events(path: &Path) -> Vec<(ControllerIndex, u8, Vec<u8>)> {
    let mut r = CaptureReader::open(path).expect("capture");
    let mut out = Vec::new();
    while let Some(rec) = r.read_record().expect("capture record") {
        if rec.opcode == MonitorOpcode::EVENT_PKT && rec.data.len() >= 2 {
            out.push((rec.index, rec.data[0], rec.data[2..].to_vec()));
        }
    }
    out
}

async fn restart_and_reconnect(link: Link) {
    let started = Instant::now();
    let root = PathBuf::from(format!("/tmp/bonds-{}", link.name()));
    let _ = std::fs::remove_dir_all(&root);
    let dirs = [root.join("central"), root.join("peripheral")];
    let key_kind = match link {
        Link::BrEdr => "link key",
        Link::Le => "long term key",
    };

    // 1. Pair, with keys going to disk.
    {
        let capture = Capture::start(&format!("bonds_pair_{}", link.name()));
        pair_and_store(&dirs, link, key_kind).await;
        capture.finish();
    }

    // Keys are on disk, 0600, and read back.
    for (dir, own, other) in [
        (&dirs[0], CENTRAL, PERIPHERAL),
        (&dirs[1], PERIPHERAL, CENTRAL),
    ] {
        let store = KeyStore::open(dir);
        let own: Address = own.parse().unwrap();
        // Each side's store holds its own adapter only.
        assert_eq!(
            store.adapters().unwrap(),
            vec![own.into()],
            "{}",
            dir.display()
        );
        let info = store.info_path(own, other.parse().unwrap());
        assert_eq!(mode(&info), 0o600, "{}", info.display());
        assert_eq!(mode(&store.adapter_dir(own)), 0o700);
        let (bonds, errors) = store.bonds(own).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(bonds.len(), 1, "{bonds:?}");
        let b = &bonds[0];
        match link {
            Link::BrEdr => assert!(b.link_key.is_some(), "{b:?}"),
            Link::Le => assert!(
                b.long_term_key.is_some() || b.peripheral_long_term_key.is_some(),
                "{b:?}"
            ),
        }
        println!(
            "{}: {}",
            dir.display(),
            std::fs::read_to_string(&info)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with('['))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!("{link:?}: paired and stored after {:?}", started.elapsed());

    // 2. A new kernel state: new controllers, same addresses, keys loaded before power-on.
    reconnect(
        link,
        &dirs,
        &format!("bonds_reconnect_{}", link.name()),
        true,
    )
    .await;
    println!(
        "{link:?}: restart and encrypted reconnect without pairing in {:?}",
        started.elapsed()
    );
}

/// An L2CAP connection from the central to the peripheral that requires encryption
/// (security medium) comes up encrypted on both ends.
async fn encrypted_l2cap(link: Link) {
    let (bdaddr_type, psm) = match link {
        Link::BrEdr => (l2cap::BDADDR_BREDR, 0x1001),
        Link::Le => (l2cap::BDADDR_LE_PUBLIC, 0x0081),
    };
    let timeout = Duration::from_secs(20);
    let listener = l2cap::listen(
        wire(PERIPHERAL),
        bdaddr_type,
        psm,
        l2cap::SECURITY_MEDIUM,
        timeout,
    )
    .expect("L2CAP listen on the peripheral");
    let server = tokio::task::spawn_blocking(move || {
        let s = l2cap::accept(&listener)?;
        let sec = l2cap::security(&s)?;
        Ok::<_, std::io::Error>((s, sec))
    });
    let client_sock = tokio::task::spawn_blocking(move || {
        let s = l2cap::connect(
            wire(CENTRAL),
            wire(PERIPHERAL),
            bdaddr_type,
            psm,
            l2cap::SECURITY_MEDIUM,
            timeout,
        )?;
        let sec = l2cap::security(&s)?;
        Ok::<_, std::io::Error>((s, sec))
    });
    let (_c, central_sec) = client_sock
        .await
        .unwrap()
        .expect("L2CAP connect with security medium");
    let (_s, peripheral_sec) = server.await.unwrap().expect("L2CAP accept");
    println!("security (level, key size): central {central_sec:?}, peripheral {peripheral_sec:?}");
    assert!(
        central_sec.0 >= l2cap::SECURITY_MEDIUM && central_sec.1 > 0,
        "central link not encrypted: {central_sec:?}"
    );
    assert!(
        peripheral_sec.0 >= l2cap::SECURITY_MEDIUM && peripheral_sec.1 > 0,
        "peripheral link not encrypted: {peripheral_sec:?}"
    );
}

/// Whether `event` belongs to a pairing (a request, a passkey shown, a new key, a failure):
/// none may come when a bonded peer reconnects.
fn is_pairing_event(event: &Event) -> bool {
    matches!(
        event,
        Event::UserConfirmRequest(_)
            | Event::UserPasskeyRequest(_)
            | Event::PasskeyNotify(_)
            | Event::PinCodeRequest(_)
            | Event::NewLinkKey(_)
            | Event::NewLongTermKey(_)
            | Event::AuthenticationFailed(_)
    )
}

/// What `events` brought: the links that came up, and the pairing events (named).
#[derive(Default)]
struct Seen {
    connected: Vec<(ControllerIndex, AddressInfo)>,
    pairing: Vec<String>,
}

impl Seen {
    fn note(&mut self, index: ControllerIndex, event: &Event) {
        match event {
            Event::DeviceConnected(e) => self.connected.push((index, e.address.clone())),
            e if is_pairing_event(e) => self.pairing.push(format!("{index}: {:?}", e.code())),
            _ => {}
        }
    }

    /// Notes what `events` holds now.
    fn drain(&mut self, events: &mut Subscription) {
        while let Some(item) = events.try_recv() {
            if let Ok((index, event)) = item {
                self.note(index, &event);
            }
        }
    }

    /// Notes what `events` brings until both `indexes` reported Device Connected: the
    /// kernel's auto-connect of a bonded LE peer (the bond's Add Device) once it advertises.
    /// Waited for before an L2CAP channel, so the channel rides that link instead of racing
    /// it with a connection of its own (once, in CI on 7.2, such an L2CAP connect waited out
    /// its 20 s; never seen in 56 runs here, so the race is the likeliest cause, not a proven
    /// one): should the link never come, this says so.
    async fn wait_auto_connect(
        &mut self,
        events: &mut Subscription,
        indexes: [ControllerIndex; 2],
    ) {
        let both = |seen: &Self| {
            indexes
                .iter()
                .all(|i| seen.connected.iter().any(|(c, _)| c == i))
        };
        let waited = tokio::time::timeout(WAIT, async {
            while !both(self) {
                match events.recv().await {
                    Some(Ok((index, event))) => self.note(index, &event),
                    Some(Err(_)) => {}
                    None => panic!("the client closed"),
                }
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "the bonded peer did not reconnect by itself: {:?}",
            self.connected
        );
    }
}

/// Fresh btvirt controllers load the bonds in `dirs` (central, peripheral) before power-on
/// (and the store's device policies after it, with `device_policies`),
/// then an L2CAP connection requiring encryption comes up encrypted without any pairing.
/// Returns each side's set-up summary (central, peripheral).
pub(super) async fn reconnect(
    link: Link,
    dirs: &[PathBuf; 2],
    capture_name: &str,
    device_policies: bool,
) -> Vec<(ControllerIndex, String)> {
    let capture = Capture::start(capture_name);
    let virt = Btvirt::start().await;
    let client = Client::open().await.expect("MGMT client");
    // Only the events checked below: set-up's replies (Add Device per bonded LE device, 1,801
    // of them in load_limits) would fill a queue of everything.
    let mut events = client.subscribe(
        [
            EventCode::DEVICE_CONNECTED,
            EventCode::USER_CONFIRM_REQUEST,
            EventCode::USER_PASSKEY_REQUEST,
            EventCode::PASSKEY_NOTIFY,
            EventCode::PIN_CODE_REQUEST,
            EventCode::NEW_LINK_KEY,
            EventCode::NEW_LONG_TERM_KEY,
            EventCode::AUTHENTICATION_FAILED,
        ]
        .into_iter()
        .fold(EventFilter::all(), EventFilter::code),
    );
    let (sides, loads) = bring_up(&client, &virt, dirs, link, device_policies).await;
    for (n, s) in sides.iter().enumerate() {
        let info = client.controller(s.index).info().await.unwrap();
        assert_eq!(info.address.to_string(), [CENTRAL, PERIPHERAL][n]);
    }
    for (index, summary) in &loads {
        println!("{index}: {summary}");
        match link {
            // At least the pairing's key (load_limits adds thousands and checks its count).
            Link::BrEdr => assert!(
                !summary.contains("loaded 0 link key(s)") && summary.contains(" link key(s)"),
                "{summary}"
            ),
            Link::Le => assert!(!summary.contains(" 0 long term key(s)"), "{summary}"),
        }
    }

    let mut seen = Seen::default();
    if link == Link::Le && device_policies {
        seen.wait_auto_connect(&mut events, virt.indexes).await;
    }
    encrypted_l2cap(link).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // No pairing on either side: no agent request, no pairing event, no new key.
    seen.drain(&mut events);
    let Seen { connected, pairing } = seen;
    println!("Device Connected: {connected:?}");
    assert!(
        pairing.is_empty(),
        "a pairing happened on reconnect: {pairing:?}"
    );
    for s in &sides {
        assert!(
            s.agent.requests.lock().unwrap().is_empty(),
            "{}: agent asked: {:?}",
            s.index,
            s.agent.requests
        );
        assert!(
            connected.iter().any(|(i, _)| *i == s.index),
            "{}: no Device Connected",
            s.index
        );
    }
    for s in &sides {
        s.task.abort();
    }
    let indexes = virt.indexes;
    drop(sides);
    drop(client);
    drop(virt);
    let path = capture.finish();

    // The capture agrees: encryption came up on both controllers, and (BR/EDR) the link
    // manager never ran SSP.
    let hci = hci_events(&path);
    for index in indexes {
        let enc = hci
            .iter()
            .filter(|(i, code, p)| {
                *i == index
                    && *code == 0x08
                    && p.first() == Some(&0)
                    && p.get(3).is_some_and(|e| *e != 0)
            })
            .count();
        assert!(
            enc >= 1,
            "{index}: no successful Encryption Change in {}",
            path.display()
        );
        let ssp: Vec<u8> = hci
            .iter()
            .filter(|(i, code, _)| *i == index && matches!(code, 0x31 | 0x33 | 0x18 | 0x16))
            .map(|(_, c, _)| *c)
            .collect();
        assert!(
            ssp.is_empty(),
            "{index}: pairing HCI events {ssp:02x?} in {}",
            path.display()
        );
    }
    loads
}

#[tokio::test]
async fn bredr_bond_survives_a_restart() {
    restart_and_reconnect(Link::BrEdr).await;
}

#[tokio::test]
async fn le_bond_survives_a_restart() {
    restart_and_reconnect(Link::Le).await;
}

/// Copies `fixtures/bluetoothd/<transport>` (bond files bluetoothd 5.66 wrote for these same
/// two btvirt addresses) to /tmp and returns it as both sides' store.
pub(super) fn bluetoothd_store(link: Link) -> [PathBuf; 2] {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let from = super::support::repo_dir()
        .join("fixtures/bluetoothd")
        .join(link.name());
    let to = PathBuf::from(format!("/tmp/bonds-bluetoothd-{}", link.name()));
    let _ = std::fs::remove_dir_all(&to);
    copy(&from, &to);
    [to.clone(), to]
}

/// Moving from bluetoothd: its bond files, loaded by our keeper into fresh controllers with
/// the addresses it paired, give an encrypted BR/EDR link with no pairing.
#[tokio::test]
async fn bluetoothd_bredr_bond_reconnects() {
    let loads = reconnect(
        Link::BrEdr,
        &bluetoothd_store(Link::BrEdr),
        "bonds_bluetoothd_bredr",
        true,
    )
    .await;
    for (index, summary) in loads {
        assert!(
            summary.contains("loaded 1 link key(s)"),
            "{index}: {summary}"
        );
    }
}

/// The same for LE Secure Connections: bluetoothd's `[PeripheralLongTermKey]` (an SC key
/// serves both roles) encrypts the link from both sides.
#[tokio::test]
async fn bluetoothd_le_bond_reconnects() {
    reconnect(
        Link::Le,
        &bluetoothd_store(Link::Le),
        "bonds_bluetoothd_le",
        true,
    )
    .await;
}

/// `mgmtctl agent --store` on the peripheral and `mgmtctl pair --store` on the central, as
/// separate processes, over BR/EDR: the agent loads its store (a corrupt file in it is
/// reported with its line and the agent keeps running) and powers its controller on; both
/// store the link key; `mgmtctl unpair --store` removes the central's stored bond.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgmtctl_agent_and_pair_keep_bonds() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let root = PathBuf::from("/tmp/bonds-mgmtctl");
    let _ = std::fs::remove_dir_all(&root);
    let (central_dir, peripheral_dir) = (root.join("central"), root.join("peripheral"));
    // A damaged file for another device in the agent's store.
    let junk = peripheral_dir.join(PERIPHERAL).join("00:1B:66:00:00:09");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(
        junk.join("info"),
        "[LinkKey]\nKey=00\nnot a key file line\n",
    )
    .unwrap();

    let capture = Capture::start("bonds_mgmtctl");
    let virt = Btvirt::start().await;
    let client = Client::open().await.expect("MGMT client");
    let [a, b] = virt.indexes;
    for idx in [a, b] {
        client
            .controller(idx)
            .power(false)
            .await
            .expect("power off");
        prepare_pairing(&client, idx, true, None).await;
    }
    client.controller(a).power(true).await.expect("power on");
    let (a_arg, b_arg) = (a.0.to_string(), b.0.to_string());

    let (mut agent, mut out) = spawn_with_lines(
        mgmtctl(["agent", "--index", b_arg.as_str()])
            .args(["--io-capability", "display-yes-no", "--auto-accept"])
            .arg("--store")
            .arg(&peripheral_dir)
            .stderr(Stdio::piped()),
        "mgmtctl agent",
    );
    let mut err = BufReader::new(agent.stderr.take().unwrap()).lines();
    let head = next_lines(
        &mut out,
        2,
        Duration::from_secs(20),
        "agent started in time",
    )
    .await;
    println!("mgmtctl agent: {head:?}");
    assert!(head[0].contains("DisplayYesNo registered"), "{head:?}");
    assert!(
        head[1].contains("loaded 0 link key(s)") && head[1].contains("; powered on"),
        "{head:?}"
    );
    // The corrupt file is reported on stderr (at WARN, shown by default), with its line.
    let expected = format!("{}:3: ", junk.join("info").display());
    let mut complaints = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(line)) = err.next_line().await {
            let hit = line.contains(&expected);
            complaints.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    println!("mgmtctl agent (stderr): {complaints:?}");
    assert!(matches!(found, Ok(true)), "{expected} not reported");
    let info = client.controller(b).info().await.unwrap();
    assert!(
        info.current_settings
            .contains(bluez_mgmt::protocol::Settings::POWERED),
        "the agent powered its controller on"
    );
    let agent_lines = rest_of_lines(out);

    let (pair, pair_out, _) = run_to_end(
        mgmtctl_pair(PERIPHERAL, "bredr", a)
            .arg("--store")
            .arg(&central_dir),
        "mgmtctl pair",
    )
    .await;
    assert!(pair.success(), "mgmtctl pair failed");
    let central_info = KeyStore::open(&central_dir).info_path(
        CENTRAL.parse::<Address>().unwrap(),
        PERIPHERAL.parse().unwrap(),
    );
    // Paired means stored: the key file is there the moment the command has exited.
    assert!(
        central_info.exists(),
        "{} missing when mgmtctl pair exited",
        central_info.display()
    );
    assert!(
        pair_out.contains(&format!("stored link key in {}", central_info.display())),
        "pair reports the stored key"
    );
    let (bonds, _) = KeyStore::open(&central_dir)
        .bonds(CENTRAL.parse::<Address>().unwrap())
        .unwrap();
    assert!(bonds.iter().any(|b| b.link_key.is_some()), "{bonds:?}");
    // The agent's side, by the agent process.
    let deadline = Instant::now() + Duration::from_secs(10);
    let peripheral_store = KeyStore::open(&peripheral_dir);
    let peripheral_info = peripheral_store.info_path(
        PERIPHERAL.parse::<Address>().unwrap(),
        CENTRAL.parse().unwrap(),
    );
    while !peripheral_info.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        mode(&peripheral_info),
        0o600,
        "{}",
        peripheral_info.display()
    );

    let (unpair, unpair_out, _) = run_to_end(
        mgmtctl([
            "unpair",
            PERIPHERAL,
            "--type",
            "bredr",
            "--index",
            a_arg.as_str(),
        ])
        .arg("--store")
        .arg(&central_dir),
        "mgmtctl unpair",
    )
    .await;
    assert!(unpair.success());
    assert!(
        unpair_out.contains("removed the stored bond"),
        "{unpair_out}"
    );
    assert!(!central_info.exists());

    // A pairing the kernel refuses: the status's kind reaches the message and exit status.
    let (refused, _, refused_err) = run_to_end(
        mgmtctl([
            "pair",
            "00:AA:09:09:09:09",
            "--type",
            "bredr",
            "--index",
            a_arg.as_str(),
        ])
        .args(["--auto-accept", "--no-store", "--timeout", "30"]),
        "mgmtctl pair (absent device)",
    )
    .await;
    println!("mgmtctl pair (absent device): {refused:?}");
    assert_eq!(refused.code(), Some(5), "{refused_err}");
    assert!(refused_err.contains("(refused)"), "{refused_err}");

    let lines = stop_agent(&mut agent, agent_lines).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("stored link key in {}", peripheral_info.display()))),
        "the agent reports the stored key"
    );
    drop(client);
    drop(virt);
    capture.finish();
}

/// Controllers that come and go: a pairing service (the library's, one for every controller)
/// is started while no controller exists; btvirt then adds two. Each gets the agent's IO
/// capability, its bonds from the store (stored by an earlier pairing of the same addresses)
/// and power, with nothing else asked of the service. The bonded peer then reconnects
/// encrypted with no pairing request, and a new pairing after unpairing uses the method the
/// predictor gives for the registered IO capabilities (LE SC, DisplayYesNo both sides:
/// Numeric Comparison, so the responder's agent is asked to confirm a value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_added_after_start_get_io_capability_bonds_and_power() {
    use bluez_mgmt::association::{association_model, Declared, Method, Transport};
    let link = Link::Le;
    let root = PathBuf::from("/tmp/bonds-hotplug");
    let _ = std::fs::remove_dir_all(&root);

    // 1. A first pairing stores both sides' keys under one store root.
    {
        pair_and_store(&[root.clone(), root.clone()], link, "long term key").await;
    }

    // 2. The service first, then the controllers.
    let capture = Capture::start("bonds_hotplug_le");
    let client = Client::open().await.expect("MGMT client");
    let mut events = client.subscribe(EventFilter::all());
    let agent = RecordingAgent::default();
    let service = PairingService::new(client.clone(), agent.clone(), ServiceConfig::default())
        .with_store(KeyStore::open(&root));
    let mut reports = service.reports();
    let task = service
        .start()
        .await
        .expect("starts with no controller present");
    let virt = Btvirt::start().await;
    let mut ready = Vec::new();
    while ready.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(20), reports.recv()).await {
            Ok(Ok(Report::ControllerReady { index, summary })) => ready.push((index, summary)),
            Ok(Ok(Report::ControllerFailed { index, error })) => panic!("{index}: {error}"),
            Ok(Ok(_)) => {}
            other => panic!("no set-up report for both controllers: {other:?} {ready:?}"),
        }
    }
    ready.sort();
    println!("set up: {ready:#?}");
    for ((index, summary), expected) in ready.iter().zip(virt.indexes) {
        assert_eq!(*index, expected);
        assert!(
            summary.starts_with("IO capability DisplayYesNo; "),
            "{summary}"
        );
        assert!(
            summary.contains("loaded ")
                && !summary.contains(" 0 long term key(s)")
                && summary.contains("; powered on"),
            "{summary}"
        );
        let info = client.controller(*index).info().await.unwrap();
        assert!(info
            .current_settings
            .contains(bluez_mgmt::protocol::Settings::POWERED));
    }
    // What the test (not the service) configures: LE with Secure Connections (SSP first,
    // the kernel refuses Secure Connections on a powered controller without it), bondable,
    // connectable, the peripheral advertising.
    for index in virt.indexes {
        prepare_pairing(&client, index, true, Some(SecureConnectionsMode::ON)).await;
    }
    advertise(&client, virt.indexes[1]).await;

    let mut seen = Seen::default();
    seen.wait_auto_connect(&mut events, virt.indexes).await;

    // The loaded bond: encrypted at once, no pairing.
    encrypted_l2cap(link).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    seen.drain(&mut events);
    let pairing = seen.pairing;
    assert!(
        pairing.is_empty(),
        "a pairing happened on reconnect: {pairing:?}"
    );
    assert!(agent.requests.lock().unwrap().is_empty());

    // The registered IO capability decides the next pairing's method.
    let [a, b] = virt.indexes;
    for (index, other) in [(a, PERIPHERAL), (b, CENTRAL)] {
        let peer = Peer::new(
            index,
            AddressInfo::new(other.parse().unwrap(), link.address_type()),
        );
        service.unpair(&peer, true).await.expect("unpaired");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    advertise(&client, virt.indexes[1]).await;
    let method = association_model(
        Transport::LeSecureConnections,
        Declared::mitm(IoCapability::DISPLAY_YES_NO),
        Declared::mitm(IoCapability::DISPLAY_YES_NO),
    );
    assert_eq!(method, Method::NumericComparison);
    let peer = Peer::new(
        a,
        AddressInfo::new(PERIPHERAL.parse().unwrap(), link.address_type()),
    );
    service
        .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(40))
        .await
        .expect("second pairing");
    let asked = agent.requests.lock().unwrap().clone();
    println!("second pairing, agent asked: {asked:?}");
    let responder = format!("{b} {CENTRAL}");
    assert!(
        asked
            .iter()
            .any(|r| r.starts_with(&responder) && r.contains(": confirm ")),
        "the responder (registered DisplayYesNo) compares a value: {asked:?}"
    );
    // Paired means stored: the new key is in the store when pair returns.
    let (bonds, _) = KeyStore::open(&root)
        .bonds(CENTRAL.parse::<Address>().unwrap())
        .unwrap();
    assert!(bonds
        .iter()
        .any(|b| b.long_term_key.is_some() || b.peripheral_long_term_key.is_some()));

    task.abort();
    drop(service);
    drop(client);
    drop(virt);
    capture.finish();
}
