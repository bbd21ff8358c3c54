//! Central and peripheral roles without bluetoothd, against the Bumble peer (one peer process
//! for every check): our LE and BR/EDR discovery decode what the peer sends; the peer's
//! scanner receives our advertising data byte for byte (a legacy and an extended instance);
//! data over the kernel's limit is refused before sending; a connectable instance accepts the
//! peer's connection; `mgmtctl connections`, `disconnect`, `block`, `cancel-pair` (from a
//! second process) and `find --json` do what they say, seen from the kernel and the peer.

use bluez_mgmt::client::{
    Advertisement, AdvertisingError, Client, Controller, DiscoveryOptions, EventFilter, FoundDevice,
};
use bluez_mgmt::protocol::ad::{AdData, AdFlags, AdStructure};
use bluez_mgmt::protocol::command::{ConfirmName, PairDevice};
use bluez_mgmt::protocol::hex::{parse_hex, Hex};
use bluez_mgmt::protocol::{
    AddressInfo, AddressType, AdvertisingFlags, ClassOfDevice, Command, DiscoveryType, Event,
    EventCode, IoCapability, Status, Uuid128,
};
use serde_json::Value;

use super::l2cap;
use super::support::{BumblePeer, Capture, Mgmt, PeerEvent, PeerOptions, WAIT};

/// The 128-bit service UUID both sides advertise.
const SERVICE: &str = "12345678-1234-5678-1234-56789abcdef0";

fn service() -> Uuid128 {
    SERVICE.parse().unwrap()
}

/// Runs mgmtctl with `args`; returns its standard output, asserting success.
async fn mgmtctl(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .await
        .expect("run mgmtctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("mgmtctl {}: {stdout}", args.join(" "));
    assert!(
        out.status.success(),
        "mgmtctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Discovers with `types` until `done` accepts a device (at most [`WAIT`]).
async fn discover_until(
    ctl: &Controller,
    types: DiscoveryType,
    mut done: impl FnMut(&FoundDevice) -> bool,
) -> FoundDevice {
    let mut discovery = ctl
        .discover(DiscoveryOptions {
            types,
            ..DiscoveryOptions::default()
        })
        .await
        .expect("start discovery");
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let d = discovery
                .next()
                .await
                .expect("discovery ended")
                .expect("discovery item");
            println!("found: {} {:?} {}", d.address, d.name(), d.ad);
            if done(&d) {
                return d;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("discovery ({types:?}) did not find the peer"));
    // The kernel may have ended the round itself.
    let _ = discovery.stop().await;
    found
}

/// The next `ADV` line of the peer whose data `pick` accepts: (address, type, connectable,
/// data).
async fn peer_adv(
    peer: &mut BumblePeer,
    what: &str,
    mut pick: impl FnMut(&[u8]) -> bool,
) -> (String, String, bool, Vec<u8>) {
    peer.expect(what, |e| match e {
        PeerEvent::Other(line) if line.starts_with("ADV ") => {
            let w: Vec<&str> = line.split_whitespace().collect();
            let data = parse_hex(w.get(4)?).unwrap_or_default();
            pick(&data).then(|| (w[1].to_string(), w[2].to_string(), w[3] == "1", data))
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn central_and_peripheral_against_bumble() {
    let capture = Capture::start("roles_against_bumble");
    // Inquiry Complete 2 s after the results, so our Confirm Name arrives while it runs.
    let mut peer =
        BumblePeer::start_with_args(PeerOptions::default(), &["--inquiry-without-name", "2"]).await;
    let index = peer.index;
    let client = Client::open().await.expect("open MGMT");
    let ctl = client.controller(index);
    ctl.ssp(true).await.expect("SSP");
    ctl.le(true).await.expect("LE");
    ctl.connectable(true).await.expect("connectable");
    ctl.bondable(true).await.expect("bondable");
    ctl.power(true).await.expect("power on");
    let idx = index.0.to_string();
    let peer_le = AddressInfo::new(peer.le_address.parse().unwrap(), AddressType::LE_RANDOM);
    let peer_bredr = AddressInfo::new(peer.address.parse().unwrap(), AddressType::BR_EDR);

    // 1. LE discovery decodes the peer's advertisement: name, 128-bit UUID, manufacturer data.
    let peer_ad = AdData(vec![
        AdStructure::Flags(AdFlags::LE_GENERAL_DISCOVERABLE),
        AdStructure::CompleteName(b"roles-peer".to_vec()),
        AdStructure::Uuid128 {
            complete: true,
            uuids: vec![service()],
        },
        AdStructure::ManufacturerData {
            company: 0x05f1,
            data: vec![0xca, 0xfe],
        },
    ]);
    peer.command(&format!("adv {}", Hex(&peer_ad.to_bytes().unwrap())))
        .await;
    let found = discover_until(&ctl, DiscoveryType::LE, |d| {
        d.address == peer_le && d.name().as_deref() == Some("roles-peer")
    })
    .await;
    assert!(
        found.ad.service_uuids().contains(&service()),
        "{}",
        found.ad
    );
    assert!(
        found.ad.0.contains(&AdStructure::ManufacturerData {
            company: 0x05f1,
            data: vec![0xca, 0xfe]
        }),
        "{}",
        found.ad
    );

    // 2. `find --json`: one object per update with the documented fields.
    let out = mgmtctl(&["find", "--le", "--json", "--timeout", "4", "--index", &idx]).await;
    let line = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("find --json prints JSON lines"))
        .find(|v| v["address"] == peer.le_address.as_str())
        .expect("find --json reports the peer");
    for field in [
        "address",
        "address_type",
        "rssi",
        "flags",
        "name",
        "ad",
        "reports",
    ] {
        assert!(line.get(field).is_some(), "no {field} in {line}");
    }
    assert_eq!(line["name"], "roles-peer");
    assert_eq!(line["address_type"], "LE Random");
    assert!(line["ad"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["type"] == "complete_uuid128" && s["value"][0] == SERVICE));

    // 3. BR/EDR discovery (`find --bredr --store`) finds the peer's name and class. The
    //    peer's inquiry result carries its class but no name (the peer runs with
    //    --inquiry-without-name): the kernel flags it Confirm Name, our Confirm Name says
    //    name_known 0, the kernel asks the peer (Remote Name Request, seen in the capture at
    //    the end) and reports the name in a later Device Found. The name is written where
    //    bluetoothd keeps it: `<adapter>/cache/<device>`, `[General] Name=`.
    let store = tempfile::tempdir().expect("temp dir");
    let store_dir = store.path().to_str().unwrap().to_string();
    let out = mgmtctl(&[
        "find",
        "--bredr",
        "--json",
        "--timeout",
        "5",
        "--store",
        &store_dir,
        "--index",
        &idx,
    ])
    .await;
    let reports: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("find --json prints JSON lines"))
        .filter(|v| v["address"] == peer.address.as_str())
        .collect();
    let first = reports.first().expect("find reports the peer over BR/EDR");
    assert!(
        first["name"].is_null(),
        "the inquiry result had no name: {first}"
    );
    assert_eq!(first["name_confirmed"], false, "{first}");
    assert!(
        first["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "confirm-name"),
        "{first}"
    );
    let named = reports
        .iter()
        .find(|v| v["name"] == "bumble-peer")
        .unwrap_or_else(|| panic!("the resolved name never arrived: {reports:?}"));
    assert!(
        named["ad"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "class_of_device"
                && s["value"] == ClassOfDevice([0x0c, 0x02, 0x5a]).to_string()),
        "{named}"
    );
    let adapter = ctl.info().await.unwrap().address.to_string();
    let cached = store
        .path()
        .join(&adapter)
        .join("cache")
        .join(&peer.address);
    assert_eq!(
        std::fs::read_to_string(&cached).expect("the cache file"),
        "[General]\nName=bumble-peer\n"
    );

    // 4. The peer's scanner receives our advertising data byte for byte: a legacy instance,
    //    then an extended one (Add Extended Advertising Parameters + Data).
    peer.command("scan on").await;
    let legacy = AdData(vec![
        AdStructure::CompleteName(b"roles-kernel".to_vec()),
        AdStructure::Uuid128 {
            complete: true,
            uuids: vec![service()],
        },
        AdStructure::ManufacturerData {
            company: 0x05f1,
            data: vec![1, 2, 3],
        },
    ]);
    let sent = legacy.to_bytes().unwrap();
    let added = ctl
        .advertise(&Advertisement::new(1, legacy.clone()))
        .await
        .expect("legacy instance");
    assert_eq!(added.instance, 1);
    let (_, _, _, heard) = peer_adv(&mut peer, "our legacy advertisement", |d| {
        AdData::parse(d).is_ok_and(|a| a.name().as_deref() == Some("roles-kernel"))
    })
    .await;
    assert_eq!(Hex(&heard).to_string(), Hex(&sent).to_string());

    let extended = AdData(vec![
        AdStructure::CompleteName(b"roles-ext".to_vec()),
        AdStructure::Uuid16 {
            complete: true,
            uuids: vec![0x180f],
        },
        AdStructure::ServiceData16 {
            uuid: 0x180f,
            data: vec![0x64],
        },
    ]);
    let mut ext = Advertisement::new(2, extended.clone());
    ext.extended = true;
    ext.interval = Some((160, 240));
    let added = ctl.advertise(&ext).await.expect("extended instance");
    assert_eq!(added.instance, 2);
    assert!(added.tx_power.is_some());
    let (_, _, _, heard) = peer_adv(&mut peer, "our extended advertisement", |d| {
        AdData::parse(d).is_ok_and(|a| a.name().as_deref() == Some("roles-ext"))
    })
    .await;
    assert_eq!(
        Hex(&heard).to_string(),
        Hex(&extended.to_bytes().unwrap()).to_string()
    );

    // 5. Over the kernel's limit: refused before anything is sent.
    let features = ctl.advertising_features().await.unwrap();
    println!("advertising features: {features:?}");
    let too_long = AdData(vec![AdStructure::CompleteName(vec![
        b'x';
        usize::from(
            features.max_adv_data_len
        )
    ])]);
    match ctl.advertise(&Advertisement::new(3, too_long)).await {
        Err(e @ AdvertisingError::TooLong { .. }) => println!("refused: {e}"),
        other => panic!("over-long data: {other:?}"),
    }
    let mut after = ctl.advertising_features().await.unwrap().instances.0;
    after.sort();
    assert_eq!(after, vec![1, 2], "no instance 3 was made");

    // 6. A connectable instance accepts the peer's connection.
    ctl.remove_advertising(0).await.expect("clear instances");
    let mut conn = Advertisement::new(
        1,
        AdData(vec![AdStructure::CompleteName(b"roles-conn".to_vec())]),
    );
    conn.flags = AdvertisingFlags::CONNECTABLE;
    let mut events = client.subscribe(
        EventFilter::all()
            .controller(index)
            .code(EventCode::DEVICE_CONNECTED)
            .code(EventCode::DEVICE_DISCONNECTED),
    );
    ctl.advertise(&conn).await.expect("connectable instance");
    let (addr, kind, connectable, _) = peer_adv(&mut peer, "our connectable advertisement", |d| {
        AdData::parse(d).is_ok_and(|a| a.name().as_deref() == Some("roles-conn"))
    })
    .await;
    assert!(connectable, "the instance is connectable");
    peer.command(&format!("connect {addr} {kind}")).await;
    peer.expect("CONNECTED", |e| {
        matches!(e, PeerEvent::Connected(c) if c.ends_with("le")).then_some(())
    })
    .await;
    let connected = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok((_, Event::DeviceConnected(c)))) = events.recv().await {
                return c.address;
            }
        }
    })
    .await
    .expect("Device Connected");
    assert_eq!(connected, peer_le);
    // The kernel drops an LE link nobody uses after a few seconds: hold it with a socket on
    // the ATT fixed channel while mgmtctl looks at it.
    let local = ctl.info().await.unwrap().address.0;
    let remote = peer_le.address.0;
    let hold = tokio::task::spawn_blocking(move || {
        l2cap::connect_fixed(
            local,
            l2cap::BDADDR_LE_PUBLIC,
            remote,
            l2cap::BDADDR_LE_RANDOM,
            l2cap::CID_ATT,
            WAIT,
        )
    })
    .await
    .unwrap()
    .expect("ATT socket holding the link");
    assert!(ctl.connections().await.unwrap().contains(&peer_le));

    // 7. `connections --json` lists the link; `disconnect` drops it.
    let out = mgmtctl(&["connections", "--json", "--index", &idx]).await;
    let v: Value = serde_json::from_str(out.trim()).expect("connections --json is JSON");
    assert_eq!(v["index"], index.0);
    assert!(
        v["connections"].as_array().unwrap().iter().any(|c| {
            c["address"] == peer.le_address.as_str() && c["address_type"] == "LE Random"
        }),
        "{v}"
    );
    mgmtctl(&[
        "disconnect",
        &peer.le_address,
        "--type",
        "le-random",
        "--index",
        &idx,
    ])
    .await;
    peer.expect("DISCONNECTED", |e| {
        matches!(e, PeerEvent::Disconnected(_)).then_some(())
    })
    .await;
    assert!(ctl.connections().await.unwrap().is_empty());
    drop(hold);
    ctl.remove_advertising(0).await.expect("clear instances");

    // 8. `block`: the kernel refuses the peer's BR/EDR connection; `unblock` lifts it.
    mgmtctl(&["block", &peer.address, "--index", &idx]).await;
    let kernel_side = peer.kernel_side_address.clone();
    peer.pair(&kernel_side, "bredr").await;
    let failed = peer
        .expect("the refused connection", |e| match e {
            PeerEvent::Failed(r) => Some(r.clone()),
            PeerEvent::Connected(c) => panic!("the blocked peer connected: {c}"),
            _ => None,
        })
        .await;
    println!("peer: refused with {failed}");
    assert!(ctl.connections().await.unwrap().is_empty());
    while let Some(item) = events.try_recv() {
        assert!(
            !matches!(item, Ok((_, Event::DeviceConnected(_)))),
            "the blocked peer reached Device Connected: {item:?}"
        );
    }
    mgmtctl(&["unblock", &peer.address, "--index", &idx]).await;

    // 9. `cancel-pair` from a second process ends a pending Pair Device with the kernel's
    //    status: the peer displays a passkey, the kernel waits for ours, we cancel.
    peer.set_io_capability(0).await;
    peer.set_mitm(true).await;
    let mut mgmt = Mgmt::open();
    mgmt.send(
        index,
        PairDevice {
            address: peer_le.clone(),
            io_capability: IoCapability::KEYBOARD_ONLY,
        },
    )
    .await;
    mgmt.expect_event("User Passkey Request", |i, e| {
        (i == index && matches!(e, Event::UserPasskeyRequest(_))).then_some(())
    })
    .await;
    mgmtctl(&[
        "cancel-pair",
        &peer.le_address,
        "--type",
        "le-random",
        "--index",
        &idx,
    ])
    .await;
    let status = mgmt
        .expect_event("Pair Device's end", |i, e| match e {
            Event::CommandComplete(c) if i == index && c.opcode == PairDevice::OPCODE => {
                Some(c.status)
            }
            Event::CommandStatus(c) if i == index && c.opcode == PairDevice::OPCODE => {
                Some(c.status)
            }
            _ => None,
        })
        .await;
    println!("Pair Device ended with {status}");
    assert_eq!(status, Status::CANCELLED);

    drop(peer);
    let file = capture.finish();
    remote_name_request_after_confirm_name(&file, index, &peer_bredr);
}

/// The capture shows our Confirm Name (name_known 0) for the peer, then the kernel's HCI
/// Remote Name Request (0x0419) for it.
fn remote_name_request_after_confirm_name(
    file: &std::path::Path,
    index: bluez_mgmt::protocol::ControllerIndex,
    peer: &AddressInfo,
) {
    use bluez_mgmt::capture::{CaptureReader, MonitorOpcode, RecordBody};
    let mut reader = CaptureReader::open(file).expect("the capture");
    let address = peer.address.0.to_vec();
    let (mut confirmed, mut requested) = (false, false);
    while let Some(record) = reader.read_record().expect("a capture record") {
        if record.index != index {
            continue;
        }
        if let Ok(RecordBody::ControlCommand(c)) = record.body() {
            let mut want = address.clone();
            want.extend_from_slice(&[0x00, 0x00]); // BR/EDR, name_known 0
            confirmed |= c.opcode == ConfirmName::OPCODE && c.params == want;
        }
        if record.opcode == MonitorOpcode::COMMAND_PKT
            && record.data.starts_with(&[0x19, 0x04])
            && record.data.get(3..9) == Some(&address[..])
        {
            assert!(confirmed, "Remote Name Request before our Confirm Name");
            requested = true;
        }
    }
    assert!(
        confirmed,
        "no Confirm Name with name_known 0 in {}",
        file.display()
    );
    assert!(requested, "no Remote Name Request in {}", file.display());
}
