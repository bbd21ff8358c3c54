//! Discovery and advertising through the client over a scripted transport: the exact bytes
//! written and read. Frames follow the documented layouts (doc/mgmt-protocol.rst).

use std::sync::Arc;

use bluez_mgmt::client::{Advertisement, AdvertisingError, Client, DiscoveryOptions};
use bluez_mgmt::protocol::ad::{AdData, AdStructure};
use bluez_mgmt::protocol::hex::parse_hex;
use bluez_mgmt::protocol::{DiscoveryType, EventCode, Opcode};
use bluez_mgmt::transport::ScriptedTransport;

mod support;
use support::{device_found, Exchange, HCI0};

fn hex(s: &str) -> Vec<u8> {
    parse_hex(&s.replace(' ', "")).unwrap()
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
        .build()
        .stay_open();
    let script = Arc::new(script);
    let client = Client::with_transport(script.clone());
    let mut discovery = client
        .controller(HCI0)
        .discover(DiscoveryOptions {
            types: DiscoveryType::LE,
            ..DiscoveryOptions::default()
        })
        .await
        .unwrap();
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

#[tokio::test]
async fn filters_use_start_service_discovery() {
    // address types 0x07, RSSI -70 (0xba), one UUID (Battery Service, wire order).
    let params = hex("07 ba 0100 fb349b5f80000080001000000f180000");
    let script = ScriptedTransport::builder()
        .exchange(HCI0, Opcode::START_SERVICE_DISCOVERY, &params, &[0x07])
        .build()
        .stay_open();
    let script = Arc::new(script);
    let client = Client::with_transport(script.clone());
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
        .build()
        .stay_open();
    let script = Arc::new(script);
    let client = Client::with_transport(script.clone());
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
