//! A bonded LE peer reconnects by itself after our controller was power-cycled: the bond is
//! kept in a store in bluetoothd's layout; after the power cycle a pairing service started
//! with the store sets the controller up as at boot (keys loaded, powered on, then the store's
//! device policies: Add Device, auto-connect, from `keystore::device_policy`), and when the
//! peer advertises
//! again the kernel connects and encrypts the link with the stored key, with no command from
//! the user. Checked on the peer's side (encryption on, no new pairing). The name the peer
//! advertises, heard by `mgmtctl find --store` before the pairing (bluetoothd's cache file),
//! is in the bond's info file once the keys are stored (`[General] Name=`, as bluetoothd's
//! `load_info` takes a cached name).

use bluez_mgmt::agent::ScriptedAgent;
use bluez_mgmt::client::{Client, EventFilter};
use bluez_mgmt::keystore::{device_policy, AdapterId, KeyStore};
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::command::{PairDevice, SecureConnectionsMode, UserConfirmReply};
use bluez_mgmt::protocol::{
    AddressInfo, AddressType, Command, Event, EventCode, IoCapability, Status,
};

use super::support::{fail_on_lost_bond, BumblePeer, Capture, Mgmt, PeerEvent, PeerOptions, WAIT};

#[tokio::test]
async fn bonded_le_peer_reconnects_after_power_cycle() {
    let capture = Capture::start("reconnect_after_power_cycle");
    // A dual-mode kernel controller: the key loader sends Load Link Keys too, which an
    // LE-only controller refuses (Not Supported).
    let mut peer = BumblePeer::start(PeerOptions::default()).await;
    peer.set_mitm(false).await;
    let index = peer.index;
    let client = Client::open().await.expect("open MGMT");
    let ctl = client.controller(index);
    ctl.le(true).await.expect("LE");
    ctl.ssp(true)
        .await
        .expect("SSP (Set Secure Connections needs it on BR/EDR)");
    ctl.bondable(true).await.expect("bondable");
    // LE Secure Connections: one LTK both ways. (With a legacy pairing, Bumble 0.0.236 picks
    // the wrong one of its two keys for EDIV/Rand 0 and the link fails with MIC Failure.)
    ctl.secure_connections(SecureConnectionsMode::ON)
        .await
        .expect("secure connections");
    ctl.power(true).await.expect("power on");
    let adapter = AdapterId::public(ctl.info().await.unwrap().address);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = KeyStore::open(dir.path());
    let peer_le = AddressInfo::new(peer.le_address.parse().unwrap(), AddressType::LE_RANDOM);

    // `find --store` hears the name the peer advertises and writes it where bluetoothd does
    // for a device it has only seen: `<adapter>/cache/<device>`.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(["find", "--le", "--json", "--timeout", "3", "--store"])
        .arg(dir.path())
        .args(["--index", &index.0.to_string()])
        .output()
        .await
        .expect("run mgmtctl find");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["address"] == peer.le_address.as_str())
        .find_map(|v| v["name"].as_str().map(str::to_string))
        .expect("find heard the peer's name");
    println!("find --store heard {name:?}");

    // Bond (Just Works), storing what the kernel hands out as the agent's keeper does; the
    // kernel may ask to authorize Just Works (User Confirm Request): accept.
    let mut mgmt = Mgmt::open();
    mgmt.send(
        index,
        PairDevice {
            address: peer_le.clone(),
            io_capability: IoCapability::NO_INPUT_NO_OUTPUT,
        },
    )
    .await;
    let (mut done, mut ltks) = (None, 0);
    while done.is_none() || ltks == 0 {
        let event = mgmt
            .expect_event("Pair Device's end or a key", |i, e| match e {
                _ if i != index => None,
                Event::CommandComplete(c) if c.opcode == PairDevice::OPCODE => Some(e.clone()),
                Event::UserConfirmRequest(_) | Event::NewLongTermKey(_) => Some(e.clone()),
                Event::NewIdentityResolvingKey(_) => Some(e.clone()),
                _ => None,
            })
            .await;
        match &event {
            Event::CommandComplete(c) => {
                assert_eq!(c.status, Status::SUCCESS, "Pair Device");
                done = Some(c.status);
            }
            Event::UserConfirmRequest(r) => {
                mgmt.call(
                    index,
                    UserConfirmReply {
                        address: r.address.clone(),
                    },
                )
                .await
                .expect("User Confirm Reply");
            }
            _ => {
                ltks += usize::from(matches!(event, Event::NewLongTermKey(_)));
                store.store_event(adapter, &event).expect("store key");
            }
        }
    }
    // Storing the keys made the bond's info file, and it took the cached name, as
    // bluetoothd's `load_info` does: `[General] Name=` beside the keys.
    let info = store.info_path(adapter, peer_le.address);
    let text = std::fs::read_to_string(&info).expect("the bond's info file");
    println!("{}:\n{text}", info.display());
    assert!(text.starts_with("[General]\n"), "{text}");
    assert!(text.contains(&format!("\nName={name}\n")), "{text}");
    let (bonds, errors) = store.bonds(adapter).expect("the store");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bonds[0].name.as_deref(), Some(name.as_str()));

    peer.disconnect().await;
    peer.expect("DISCONNECTED", |e| {
        matches!(e, PeerEvent::Disconnected(_)).then_some(())
    })
    .await;

    // "Restart": power off, then a pairing service with the store sets the controller up as
    // at boot: it loads the keys, powers on and applies the stored device policies (Add
    // Device, auto-connect for the bonded LE peer). Nothing is done by hand.
    ctl.power(false).await.expect("power off");
    let policies = device_policy::policies(&store, adapter).expect("policies");
    println!("policies from the store: {policies:?}");
    assert!(policies
        .iter()
        .any(|p| p.auto_connect && p.device == peer_le));
    let mut watch = client.subscribe(
        EventFilter::all()
            .controller(index)
            .code(EventCode::DEVICE_CONNECTED)
            .code(EventCode::NEW_LONG_TERM_KEY),
    );
    peer.command("secure-on-connect on").await;
    let service = PairingService::new(
        client.clone(),
        ScriptedAgent::new(IoCapability::NO_INPUT_NO_OUTPUT),
        ServiceConfig {
            controllers: Controllers::Only(vec![index]),
            ..ServiceConfig::default()
        },
    )
    .with_store(KeyStore::open(dir.path()));
    let mut reports = service.reports();
    let _task = service
        .start()
        .await
        .expect("the service sets the controller up");
    let mut summary = None;
    while let Ok(r) = reports.try_recv() {
        match r {
            Report::ControllerReady { summary: s, .. } => summary = Some(s),
            other => fail_on_lost_bond(&other),
        }
    }
    let summary = summary.expect("set-up reported");
    println!("set-up: {summary}");
    assert!(
        summary.contains("; powered on; 1 device(s) added for auto-connect, 0 blocked"),
        "{summary}"
    );

    // No command from here on: the kernel connects when the peer advertises, and encrypts
    // with the stored LTK when the peer asks for security.
    let connected = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok((_, Event::DeviceConnected(c)))) = watch.recv().await {
                return c;
            }
        }
    })
    .await
    .expect("the kernel reconnected by itself");
    assert_eq!(connected.address, peer_le);
    super::support::assert_encrypted_with_stored_key(&mut peer, &mut watch).await;

    drop(peer);
    capture.finish();
}
