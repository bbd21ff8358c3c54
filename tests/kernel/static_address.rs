//! An LE-only controller with no public address (the Bumble peer's kernel-side controller
//! with `--no-public-address`: Read Controller Information says 00:00:00:00:00:00). The
//! kernel refuses to power such a controller on until a static random address is set
//! (`hci_dev_open_sync` in net/bluetooth/hci_sync.c: "Check for valid public address or a
//! configured static random address"). A pairing service with a store gives it one the way
//! bluetoothd does (`keystore::static_address`): picked once, kept in `DIR/addresses`, set
//! before power-on, and the bonds live under `DIR/static-<address>/`.
//!
//! One peer process, three services in turn:
//! 1. a service with a store, started before the controller exists, sets the new controller
//!    up on Index Added: a static address made and written to `DIR/addresses`, Set Static
//!    Address, powered; the kernel pairs with the peer (LE SC Just Works) from that address
//!    (the peer sees it) and the keys land in `DIR/static-<address>/<peer>/info`;
//! 2. after a power cycle that also clears what the kernel kept (its static address and its
//!    LTKs), a service *without* a store leaves the controller off (it powers nothing without
//!    a store), and Set Powered by hand is refused by the kernel (Failed: no address);
//! 3. a new service with the same store takes the same address from `DIR/addresses`, loads the
//!    bond from `static-<address>`, powers on and adds the peer for auto-connect: the kernel
//!    reconnects from the same address and encrypts with the loaded key (the peer reports
//!    encryption on, no pairing; no New LTK).
//!
//! A controller that goes away and comes back under the *same* service gets its address
//! back too (the service releases it on Index Removed): shown over a scripted transport in
//! `tests/pairing_store.rs`, as a second peer process here would cost about a minute in the VM.

use std::time::Duration;

use bluez_mgmt::agent::{Peer, ScriptedAgent};
use bluez_mgmt::client::{Client, EventFilter};
use bluez_mgmt::keystore::{AdapterId, KeyStore};
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::command::{LoadLongTermKeys, SecureConnectionsMode, SetStaticAddress};
use bluez_mgmt::protocol::wire::List16;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, EventCode, IoCapability, Settings,
    Status,
};
use tokio::sync::broadcast::Receiver;

use super::support::{fail_on_lost_bond, BumblePeer, Capture, PeerEvent, PeerOptions, WAIT};

/// The set-up report of controller `index`: its summary, or the error it failed with.
async fn set_up_of(
    reports: &mut Receiver<Report>,
    index: ControllerIndex,
) -> Result<String, String> {
    tokio::time::timeout(WAIT, async {
        loop {
            match reports.recv().await.expect("the service's reports") {
                Report::ControllerReady { index: i, summary } if i == index => return Ok(summary),
                Report::ControllerFailed { index: i, error } if i == index => return Err(error),
                other => fail_on_lost_bond(&other),
            }
        }
    })
    .await
    .expect("the controller's set-up reported")
}

fn service(client: &Client, controllers: Controllers) -> PairingService<ScriptedAgent> {
    PairingService::new(
        client.clone(),
        ScriptedAgent::new(IoCapability::NO_INPUT_NO_OUTPUT),
        ServiceConfig {
            controllers,
            ..ServiceConfig::default()
        },
    )
}

/// The address the peer printed in `CONNECTED <addr> le`.
async fn peer_connected_from(peer: &mut BumblePeer) -> String {
    peer.expect("CONNECTED", |e| match e {
        PeerEvent::Connected(line) => Some(line.split_whitespace().next().unwrap_or("").to_owned()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn le_only_controller_without_public_address_keeps_its_static_address_and_bonds() {
    let capture = Capture::start("static_address");
    let client = Client::open().await.expect("open MGMT");
    let dir = tempfile::tempdir().expect("temp dir");
    let store_dir = dir.path().join("bt");

    // 1. A service with a store, running before the controller exists.
    let first = service(&client, Controllers::All).with_store(KeyStore::open(&store_dir));
    let mut reports = first.reports();
    let _task = first
        .start()
        .await
        .expect("the service starts with no controller");
    let mut peer = BumblePeer::start_with_args(
        PeerOptions {
            bredr: false,
            io_capability: 3,
        },
        &["--no-public-address"],
    )
    .await;
    let index = peer.index;
    let ctl = client.controller(index);
    let summary = set_up_of(&mut reports, index)
        .await
        .expect("the controller is set up");
    println!("set-up on Index Added: {summary}");
    let info = ctl.info().await.expect("Read Controller Information");
    assert_eq!(info.address, Address::ANY, "no public address");
    assert!(
        !info.supported_settings.contains(Settings::BREDR),
        "LE only: {:?}",
        info.supported_settings
    );
    let addresses = std::fs::read_to_string(store_dir.join("addresses")).expect("DIR/addresses");
    let key = format!("0x{:04x}=", info.manufacturer);
    let listed = addresses
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {key} in {addresses:?}"));
    let address: Address = listed
        .trim_end_matches(';')
        .parse()
        .unwrap_or_else(|_| panic!("one address for this maker: {addresses:?}"));
    assert_eq!(addresses, format!("[Static]\n{key}{address};\n"));
    assert_eq!(
        address.0[5] & 0xc0,
        0xc0,
        "a static random address: {address}"
    );
    assert!(
        summary.starts_with(&format!("static address {address}; "))
            && summary.ends_with("; powered on; 0 device(s) added for auto-connect, 0 blocked"),
        "{summary}"
    );
    assert!(
        info.current_settings
            .contains(Settings::POWERED | Settings::STATIC_ADDRESS),
        "powered, static address in use: {:?}",
        info.current_settings
    );

    // The kernel pairs with the peer (LE SC Just Works) from the static address.
    ctl.secure_connections(SecureConnectionsMode::ON)
        .await
        .expect("secure connections");
    ctl.bondable(true).await.expect("bondable");
    peer.set_mitm(false).await;
    let peer_le = AddressInfo::new(peer.le_address.parse().unwrap(), AddressType::LE_RANDOM);
    first
        .pair(
            &Peer::new(index, peer_le.clone()),
            IoCapability::NO_INPUT_NO_OUTPUT,
            Duration::from_secs(40),
        )
        .await
        .expect("pairing with the peer");
    let from = peer_connected_from(&mut peer).await;
    assert!(
        from.eq_ignore_ascii_case(&address.to_string()),
        "the peer saw a connection from {from}, not from {address}"
    );
    let kinds = peer
        .expect("PAIRED", |e| match e {
            PeerEvent::Paired(k) => Some(k.clone()),
            PeerEvent::Failed(why) => panic!("the peer's pairing failed: {why}"),
            _ => None,
        })
        .await;
    assert!(kinds.iter().any(|k| k.starts_with("ltk")), "{kinds:?}");
    // pair() returned once the keys were stored: they are there now, bluetoothd's layout.
    let adapter = AdapterId::static_random(address);
    let info_file = store_dir
        .join(adapter.to_string())
        .join(peer.le_address.to_uppercase())
        .join("info");
    let text = std::fs::read_to_string(&info_file)
        .unwrap_or_else(|e| panic!("{}: {e}", info_file.display()));
    assert!(
        // An LE SC key: the kernel reports it with `initiator` 0, which bluetoothd writes as
        // [PeripheralLongTermKey] (and its old name [SlaveLongTermKey]).
        text.contains("[PeripheralLongTermKey]\nKey=") && text.contains("AddressType=static"),
        "{}:\n{text}",
        info_file.display()
    );
    assert!(adapter.to_string().starts_with("static-"));
    peer.disconnect().await;
    peer.expect("DISCONNECTED", |e| {
        matches!(e, PeerEvent::Disconnected(_)).then_some(())
    })
    .await;
    first.shutdown().await;

    // 2. Power cycle, and make the kernel forget what it kept: its static address and its
    // LTKs. Without a store the service powers nothing; by hand the kernel refuses.
    ctl.power(false).await.expect("power off");
    client
        .call(
            index,
            &SetStaticAddress {
                address: Address::ANY,
            },
        )
        .await
        .expect("clear the static address (controller off)");
    client
        .call(
            index,
            &LoadLongTermKeys {
                keys: List16(Vec::new()),
            },
        )
        .await
        .expect("clear the kernel's LTKs");
    let info = ctl.info().await.expect("Read Controller Information");
    assert!(
        !info
            .current_settings
            .intersects(Settings::POWERED | Settings::STATIC_ADDRESS),
        "{:?}",
        info.current_settings
    );
    let storeless = service(&client, Controllers::Only(vec![index]));
    let mut reports = storeless.reports();
    let _task = storeless
        .start()
        .await
        .expect("a service without a store starts");
    let summary = set_up_of(&mut reports, index)
        .await
        .expect("set up without a store");
    println!("set-up without a store: {summary}");
    assert_eq!(summary, "IO capability NoInputNoOutput");
    storeless.shutdown().await;
    let info = ctl.info().await.expect("Read Controller Information");
    assert!(!info.current_settings.contains(Settings::POWERED));
    let refused = ctl
        .power(true)
        .await
        .expect_err("no address: the kernel refuses power");
    println!("Set Powered by hand: {refused}");
    assert_eq!(refused.status(), Some(Status::FAILED), "{refused}");

    // 3. A new service with the same store: the same address, the bond loaded, and the
    // kernel reconnects and encrypts with it when the peer asks for security.
    peer.command("secure-on-connect on").await;
    let mut watch = client.subscribe(
        EventFilter::all()
            .controller(index)
            .code(EventCode::DEVICE_CONNECTED)
            .code(EventCode::NEW_LONG_TERM_KEY),
    );
    let again =
        service(&client, Controllers::Only(vec![index])).with_store(KeyStore::open(&store_dir));
    let mut reports = again.reports();
    let _task = again
        .start()
        .await
        .expect("the service sets the controller up");
    let summary = set_up_of(&mut reports, index)
        .await
        .expect("the controller is set up again");
    println!("set-up after the restart: {summary}");
    assert!(
        summary.starts_with(&format!(
            "static address {address}; IO capability NoInputNoOutput; loaded no link keys (no \
             BR/EDR: Load Link Keys skipped), 1 long term key(s)"
        )) && summary.contains(&format!(
            "from {}",
            store_dir.join(adapter.to_string()).display()
        )) && summary.ends_with("; powered on; 1 device(s) added for auto-connect, 0 blocked"),
        "{summary}"
    );
    assert_eq!(
        std::fs::read_to_string(store_dir.join("addresses")).unwrap(),
        addresses,
        "no new address made"
    );
    let info = ctl.info().await.expect("Read Controller Information");
    assert!(
        info.current_settings
            .contains(Settings::POWERED | Settings::STATIC_ADDRESS),
        "{:?}",
        info.current_settings
    );
    let connected = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok((_, Event::DeviceConnected(c)))) = watch.recv().await {
                return c.address;
            }
        }
    })
    .await
    .expect("the kernel reconnected by itself");
    assert_eq!(connected, peer_le);
    let from = peer_connected_from(&mut peer).await;
    assert!(
        from.eq_ignore_ascii_case(&address.to_string()),
        "{from} != {address}"
    );
    super::support::assert_encrypted_with_stored_key(&mut peer, &mut watch).await;
    again.shutdown().await;
    drop(peer);
    capture.finish();
}
