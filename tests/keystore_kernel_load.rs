//! The key store against a scripted kernel: key events are stored as their store hint says,
//! and `load_into_kernel` reads the controller address, then sends Load IRKs, Load Link Keys,
//! Load Long Term Keys and Load Connection Parameters with exactly the stored records.
//!
//! Expected frames are built from the documented layouts (doc/mgmt-protocol.rst: frame header
//! opcode/index/length, little-endian fields), not captured.

use std::sync::Arc;

use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{load_into_kernel, KeyStore, StoreOutcome};
use bluez_mgmt::protocol::event::{
    NewConnectionParameter, NewIdentityResolvingKey, NewLinkKey, NewLongTermKey,
};
use bluez_mgmt::protocol::keys::{
    IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo, LinkKeyType, LongTermKey, LongTermKeyInfo,
    LongTermKeyType,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, Event, Opcode, Status};
use bluez_mgmt::transport::{ScriptBuilder, ScriptedTransport};

mod support;
use support::{command_status, Exchange, HCI0};

fn read_info_reply(address_wire: [u8; 6]) -> Vec<u8> {
    let mut r = address_wire.to_vec();
    r.push(0x0C); // Bluetooth 5.3
    r.extend_from_slice(&0x05F1u16.to_le_bytes()); // manufacturer
    r.extend_from_slice(&0x0001_FFFFu32.to_le_bytes()); // supported settings
    r.extend_from_slice(&0x0000_0000u32.to_le_bytes()); // current: powered off
    r.extend_from_slice(&[0, 0, 0]); // class
    r.extend_from_slice(&[0; 249]); // name
    r.extend_from_slice(&[0; 11]); // short name
    assert_eq!(r.len(), 280);
    r
}

/// Read Controller Information on hci0, answered for the controller at `address_wire`.
fn read_info(address_wire: [u8; 6]) -> ScriptBuilder {
    ScriptedTransport::builder().exchange(
        HCI0,
        Opcode::READ_INFO,
        &[],
        &read_info_reply(address_wire),
    )
}

/// Load IRKs, Link Keys, Long Term Keys and Connection Parameters on hci0 with these
/// parameters, in that order, each answered Success.
fn loads(b: ScriptBuilder, params: [&[u8]; 4]) -> ScriptBuilder {
    let opcodes = [
        Opcode::LOAD_IRKS,
        Opcode::LOAD_LINK_KEYS,
        Opcode::LOAD_LONG_TERM_KEYS,
        Opcode::LOAD_CONN_PARAM,
    ];
    opcodes
        .into_iter()
        .zip(params)
        .fold(b, |b, (opcode, p)| b.exchange(HCI0, opcode, p, &[]))
}

#[tokio::test]
async fn key_events_are_stored_and_loaded_back_before_power_on() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let adapter: Address = "00:AA:01:00:00:00".parse().unwrap();
    let phone: Address = "00:1B:66:00:00:01".parse().unwrap();
    let tag: Address = "C0:11:22:33:44:55".parse().unwrap();
    let le = AddressInfo::new(tag, AddressType::LE_RANDOM);
    let lk: [u8; 16] = core::array::from_fn(|i| i as u8);
    let ltk: [u8; 16] = [0x5A; 16];
    let irk: [u8; 16] = [0xA5; 16];

    let link_key = LinkKeyInfo {
        address: AddressInfo::new(phone, AddressType::BR_EDR),
        key_type: LinkKeyType::AUTHENTICATED_P256,
        value: LinkKey::new(lk),
        pin_length: 0,
    };
    // "No bonding" pairing: store hint 0, nothing written.
    let not_bonding = Event::from(NewLinkKey {
        store_hint: false,
        key: link_key.clone(),
    });
    assert!(matches!(
        store.store_event(adapter, &not_bonding).unwrap(),
        Some(StoreOutcome::NotStored(_))
    ));
    assert!(!t.path().join("00:AA:01:00:00:00").exists());

    let events = [
        Event::from(NewLinkKey {
            store_hint: true,
            key: link_key,
        }),
        Event::from(NewLongTermKey {
            store_hint: true,
            key: LongTermKeyInfo {
                address: le.clone(),
                key_type: LongTermKeyType::AUTHENTICATED_P256,
                central: 0,
                encryption_size: 16,
                ediv: 0,
                rand: 0,
                value: LongTermKey::new(ltk),
            },
        }),
        Event::from(NewIdentityResolvingKey {
            store_hint: true,
            random_address: "4A:00:00:00:00:01".parse().unwrap(),
            key: IrkInfo {
                address: le.clone(),
                value: IdentityResolvingKey::new(irk),
            },
        }),
        Event::from(NewConnectionParameter {
            address: le.clone(),
            store_hint: true,
            min_interval: 24,
            max_interval: 40,
            latency: 0,
            timeout: 42,
        }),
    ];
    for e in &events {
        assert!(matches!(
            store.store_event(adapter, e).unwrap(),
            Some(StoreOutcome::Written(_))
        ));
    }

    // Documented layouts of the four Load commands with the stored records.
    let le_addr = [0x55, 0x44, 0x33, 0x22, 0x11, 0xC0, 0x02];
    let mut load_irks = 1u16.to_le_bytes().to_vec();
    load_irks.extend_from_slice(&le_addr);
    load_irks.extend_from_slice(&irk);
    let mut load_link_keys = vec![0x00]; // debug keys: no
    load_link_keys.extend_from_slice(&1u16.to_le_bytes());
    load_link_keys.extend_from_slice(&[0x01, 0x00, 0x00, 0x66, 0x1B, 0x00, 0x00, 0x08]);
    load_link_keys.extend_from_slice(&lk);
    load_link_keys.push(0); // PIN length
    let mut load_ltks = 1u16.to_le_bytes().to_vec();
    load_ltks.extend_from_slice(&le_addr);
    load_ltks.extend_from_slice(&[0x03, 0x00, 16, 0, 0]); // type, central, size, ediv
    load_ltks.extend_from_slice(&[0; 8]); // rand
    load_ltks.extend_from_slice(&ltk);
    let mut load_params = 1u16.to_le_bytes().to_vec();
    load_params.extend_from_slice(&le_addr);
    load_params.extend_from_slice(&[24, 0, 40, 0, 0, 0, 42, 0]);

    let script = loads(
        read_info([0, 0, 0, 1, 0xAA, 0]),
        [&load_irks, &load_link_keys, &load_ltks, &load_params],
    )
    .build()
    .stay_open();
    let script = Arc::new(script);
    let client = Client::with_transport(script.clone());
    let report = load_into_kernel(&store, &client, HCI0).await.unwrap();
    script.check_done().unwrap();
    assert_eq!(report.adapter, adapter.into());
    assert_eq!(
        (
            report.irks,
            report.link_keys,
            report.long_term_keys,
            report.connection_parameters
        ),
        (1, 1, 1, 1)
    );
    assert!(report.errors.is_empty());
}

#[tokio::test]
async fn a_refused_load_is_an_error_naming_the_command() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let script = read_info([0, 0, 0, 1, 0xAA, 0])
        .write_command(HCI0, Opcode::LOAD_IRKS, &[0, 0])
        .read(command_status(
            HCI0,
            Opcode::LOAD_IRKS,
            Status::INVALID_PARAMETERS,
        ))
        .build()
        .stay_open();
    let client = Client::with_transport(Arc::new(script));
    let err = load_into_kernel(&store, &client, HCI0).await.unwrap_err();
    assert_eq!(err.kind(), bluez_mgmt::keystore::ErrorKind::Kernel);
    assert!(
        err.to_string().contains("Load Identity Resolving Keys"),
        "{err}"
    );
}

#[tokio::test]
async fn a_controller_without_public_address_needs_its_directory_named() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let script = read_info([0; 6]).build().stay_open();
    let client = Client::with_transport(Arc::new(script));
    let err = load_into_kernel(&store, &client, HCI0).await.unwrap_err();
    assert!(err.to_string().contains("no public address"), "{err}");

    // Named explicitly, the static-<address> directory loads (here: four empty lists).
    let script = loads(
        ScriptedTransport::builder(),
        [&[0, 0], &[0, 0, 0], &[0, 0], &[0, 0]],
    )
    .build()
    .stay_open();
    let script = Arc::new(script);
    let client = Client::with_transport(script.clone());
    let le_only =
        bluez_mgmt::keystore::AdapterId::static_random("C3:00:00:00:00:AA".parse().unwrap());
    let report = bluez_mgmt::keystore::load_adapter_into_kernel(&store, &client, HCI0, le_only)
        .await
        .unwrap();
    script.check_done().unwrap();
    assert_eq!(report.adapter, le_only);
}
