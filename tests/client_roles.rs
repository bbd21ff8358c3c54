//! Discovery, advertising and the names the store keeps, through the client over a scripted
//! transport: the exact bytes written and read. Frames follow the documented layouts
//! (doc/mgmt-protocol.rst).

use std::sync::Arc;

use bluez_mgmt::client::{Advertisement, AdvertisingError, Client, Discovery, DiscoveryOptions};
use bluez_mgmt::protocol::ad::{AdData, AdStructure};
use bluez_mgmt::protocol::hex::parse_hex;
use bluez_mgmt::protocol::{DiscoveryType, EventCode, Opcode};
use bluez_mgmt::transport::ScriptedTransport;

mod support;
use support::{device_found, Exchange, HCI0, NONE};

fn hex(s: &str) -> Vec<u8> {
    parse_hex(&s.replace(' ', "")).unwrap()
}

/// A client over `script`, kept open after its last step; the script stays readable for its
/// checks.
fn client_over(script: ScriptedTransport) -> (Arc<ScriptedTransport>, Client) {
    let script = Arc::new(script.stay_open());
    let client = Client::with_transport(script.clone());
    (script, client)
}

/// Discovery of `types` on hci0 with no other option.
async fn discover(client: &Client, types: DiscoveryType) -> Discovery {
    client
        .controller(HCI0)
        .discover(DiscoveryOptions {
            types,
            ..DiscoveryOptions::default()
        })
        .await
        .unwrap()
}

/// Device Found for C0:BB:00:00:00:02 (LE Random) at -50 dBm with `flags` and `eir`.
fn peer_found(flags: u32, eir: &[u8]) -> Vec<u8> {
    device_found([0x02, 0x00, 0x00, 0x00, 0xbb, 0xc0, 0x02], -50, flags, eir)
}

#[tokio::test]
async fn discovery_merges_advertising_data_and_scan_response() {
    let adv = hex("020106 0509 70656572");
    let rsp = hex("05fff1050102");
    let script = ScriptedTransport::builder()
        .exchange(HCI0, Opcode::START_DISCOVERY, &[0x06], &[0x06])
        .read_event(HCI0, EventCode::DEVICE_FOUND, &peer_found(0, &adv))
        // Scan Response flag (bit 5).
        .read_event(HCI0, EventCode::DEVICE_FOUND, &peer_found(0x20, &rsp))
        .build();
    let (script, client) = client_over(script);
    let mut discovery = discover(&client, DiscoveryType::LE).await;
    let first = discovery.next().await.unwrap().unwrap();
    assert_eq!(first.name().as_deref(), Some("peer"));
    assert_eq!(first.reports, 1);
    let second = discovery.next().await.unwrap().unwrap();
    assert_eq!(second.reports, 2);
    assert_eq!(
        second.name().as_deref(),
        Some("peer"),
        "kept from the first report"
    );
    assert!(second.ad.0.contains(&AdStructure::ManufacturerData {
        company: 0x05f1,
        data: vec![1, 2]
    }));
    assert_eq!(discovery.devices().count(), 1);
    script.check_done().unwrap();
}

/// Device Found for 00:BB:00:00:00:02 (BR/EDR) at -50 dBm with `flags` and `eir`.
fn inquiry_found(flags: u32, eir: &[u8]) -> Vec<u8> {
    let mut p = hex("020000 00bb00 00 ce");
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&(eir.len() as u16).to_le_bytes());
    p.extend_from_slice(eir);
    p
}

#[tokio::test]
async fn an_unknown_name_is_confirmed_unknown_then_the_resolved_one_merged() {
    let class = hex("040d 0c025a");
    let named = hex("0b09 626c75652d70686f6e65");
    let script = ScriptedTransport::builder()
        .exchange(HCI0, Opcode::START_DISCOVERY, &[0x01], &[0x01])
        // An inquiry result without a name: Confirm Name flag (bit 0).
        .read_event(HCI0, EventCode::DEVICE_FOUND, &inquiry_found(0x01, &class))
        // address, name_known 0: resolve it.
        .exchange(
            HCI0,
            Opcode::CONFIRM_NAME,
            &hex("020000 00bb00 00 00"),
            &hex("020000 00bb00 00"),
        )
        // The name the kernel resolved (Remote Name Request), then a result that has it.
        .read_event(HCI0, EventCode::DEVICE_FOUND, &inquiry_found(0, &named))
        .read_event(HCI0, EventCode::DEVICE_FOUND, &inquiry_found(0x01, &class))
        // name_known 1: the complete name was heard.
        .exchange(
            HCI0,
            Opcode::CONFIRM_NAME,
            &hex("020000 00bb00 00 01"),
            &hex("020000 00bb00 00"),
        )
        .build();
    let (script, client) = client_over(script);
    let mut discovery = discover(&client, DiscoveryType::BREDR).await;
    let first = discovery.next().await.unwrap().unwrap();
    assert_eq!(first.name(), None);
    assert_eq!(first.name_confirmed, Some(false));
    let second = discovery.next().await.unwrap().unwrap();
    assert_eq!(second.name().as_deref(), Some("blue-phone"));
    let third = discovery.next().await.unwrap().unwrap();
    assert_eq!(third.name_confirmed, Some(true));
    assert_eq!(third.name().as_deref(), Some("blue-phone"));
    script.check_done().unwrap();
}

#[tokio::test]
async fn filters_use_start_service_discovery() {
    // address types 0x07, RSSI -70 (0xba), one UUID (Battery Service, wire order).
    let params = hex("07 ba 0100 fb349b5f80000080001000000f180000");
    let script = ScriptedTransport::builder()
        .exchange(HCI0, Opcode::START_SERVICE_DISCOVERY, &params, &[0x07])
        .build();
    let (script, client) = client_over(script);
    client
        .controller(HCI0)
        .discover(DiscoveryOptions {
            types: DiscoveryType::INTERLEAVED,
            rssi_threshold: Some(-70),
            uuids: vec!["180f".parse().unwrap()],
        })
        .await
        .unwrap();
    script.check_done().unwrap();
}

#[tokio::test]
async fn over_long_advertising_data_is_refused_before_sending() {
    // Get Advertising Size Information for instance 1, no flags: room for 31 and 31.
    let script = ScriptedTransport::builder()
        .exchange(
            HCI0,
            Opcode::GET_ADV_SIZE_INFO,
            &hex("01 00000000"),
            &hex("01 00000000 1f 1f"),
        )
        .build();
    let (script, client) = client_over(script);
    let data = AdData(vec![AdStructure::CompleteName(vec![b'x'; 30])]);
    let err = client
        .controller(HCI0)
        .advertise(&Advertisement::new(1, data))
        .await
        .unwrap_err();
    match err {
        AdvertisingError::TooLong { block, len, max } => {
            assert_eq!((block, len, max), ("advertising data", 32, 31))
        }
        other => panic!("{other:?}"),
    }
    // Nothing but the size query was written: Add Advertising was never sent.
    script.check_done().unwrap();
}

/// The store keeps what Device Connected carries (the name a BR/EDR connection's Remote Name
/// Request found): the keeper reads the controller's address once, then writes the name
/// where bluetoothd does (`<adapter>/cache/<device>`).
#[tokio::test]
async fn names_from_device_connected_are_kept_in_the_store() {
    use bluez_mgmt::keystore::device_info::NameKeeper;
    use bluez_mgmt::keystore::KeyStore;
    use bluez_mgmt::protocol::command::ReadVersion;
    let mut connected = hex("020000 00bb00 00 00000000");
    let eir = hex("0b09 626c75652d70686f6e65 040d 0c025a");
    connected.extend_from_slice(&(eir.len() as u16).to_le_bytes());
    connected.extend_from_slice(&eir);
    // Read Controller Information: address 00:AA:01:00:00:00, version, manufacturer,
    // supported and current settings, class, name (249), short name (11).
    let mut info = hex("000000 01aa00 09 ffff 00000000 00000000 000000");
    info.resize(6 + 1 + 2 + 4 + 4 + 3 + 249 + 11, 0);
    let script = ScriptedTransport::builder()
        .exchange(NONE, Opcode::READ_VERSION, &[], &[0x01, 0x16, 0x00])
        .read_event(HCI0, EventCode::DEVICE_CONNECTED, &connected)
        .exchange(HCI0, Opcode::READ_INFO, &[], &info)
        .build();
    let (script, client) = client_over(script);
    let dir = tempfile::tempdir().unwrap();
    let _keeper = NameKeeper::spawn(client.clone(), &KeyStore::open(dir.path()), |_| true);
    // Only after the keeper subscribed does the script deliver Device Connected.
    client.call(NONE, &ReadVersion {}).await.unwrap();
    let cache = dir.path().join("00:AA:01:00:00:00/cache/00:BB:00:00:00:02");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cache.exists() {
        assert!(std::time::Instant::now() < deadline, "no cache file");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        std::fs::read_to_string(&cache).unwrap(),
        "[General]\nName=blue-phone\n"
    );
    // A device with no info file (not stored) gets none.
    assert!(!dir
        .path()
        .join("00:AA:01:00:00:00/00:BB:00:00:00:02/info")
        .exists());
    script.check_done().unwrap();
}
