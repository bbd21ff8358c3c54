//! The bond keeper over a scripted transport (h2 style: the exact frames written, the exact
//! frames read): real key events from captures are stored, files are private and read back
//! to the same keys; at start the Load commands go out in order before Set Powered; a corrupt
//! file leaves the other bonds loading; too many keys sends nothing; unpair forgets the bond.
//!
//! Key events and Read Controller Information replies are frames from
//! fixtures/bredr-ssp-numeric-comparison.btsnoop and fixtures/le-sc-passkey.btsnoop (kernel
//! 6.1 paired with a Bumble device, see fixtures/README.md). Expected Load command parameters
//! are built from the documented layouts (doc/mgmt-protocol.rst): New Link Key and Load Link
//! Keys carry the same 25-octet key record, New Long Term Key and Load Long Term Keys the same
//! 36-octet record.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::runner::Controllers;
use bluez_mgmt::agent::{
    AgentRunner, BondKeeper, BondReport, ClientLink, Peer, RunnerConfig, ScriptedAgent,
};
use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{AdapterId, ErrorKind, KeyStore, MAX_LINK_KEYS};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, EventCode, IoCapability, Opcode,
};
use bluez_mgmt::transport::{Conversation, ReplaySocket, ScriptStep, ScriptedTransport};

const HCI0: ControllerIndex = ControllerIndex(0);
const READ_INFO: Opcode = Opcode(0x0004);
const SET_POWERED: Opcode = Opcode(0x0005);
const LOAD_LINK_KEYS: Opcode = Opcode(0x0012);
const LOAD_LONG_TERM_KEYS: Opcode = Opcode(0x0013);
const UNPAIR_DEVICE: Opcode = Opcode(0x001B);
const LOAD_IRKS: Opcode = Opcode(0x0030);
const LOAD_CONNECTION_PARAMETERS: Opcode = Opcode(0x0035);

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// Every event frame the first client of `fixtures/<name>.btsnoop` received.
fn fixture_events(name: &str) -> Vec<Vec<u8>> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures",
        &format!("{name}.btsnoop"),
    ]
    .iter()
    .collect();
    Conversation::from_capture(&path, ReplaySocket::FirstCommand)
        .expect("fixture")
        .steps
        .into_iter()
        .filter_map(|s| match s {
            ScriptStep::Read(f) => Some(f),
            ScriptStep::Write(_) => None,
        })
        .collect()
}

/// The event frames with this code.
fn events_with(frames: &[Vec<u8>], code: EventCode) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|f| u16_at(f, 0) == code.0)
        .cloned()
        .collect()
}

/// The captured Command Complete of the first Read Controller Information.
fn read_info_complete(frames: &[Vec<u8>]) -> Vec<u8> {
    frames
        .iter()
        .find(|f| u16_at(f, 0) == EventCode::COMMAND_COMPLETE.0 && u16_at(f, 6) == READ_INFO.0)
        .expect("a Read Controller Information reply in the capture")
        .clone()
}

/// The same reply with the current settings replaced (powered or not).
fn with_current_settings(mut complete: Vec<u8>, settings: u32) -> Vec<u8> {
    // Header 6, opcode 2, status 1, address 6, version 1, manufacturer 2, supported 4.
    complete[6 + 3 + 13..6 + 3 + 17].copy_from_slice(&settings.to_le_bytes());
    complete
}

fn command_complete(opcode: Opcode, reply: &[u8]) -> Vec<u8> {
    let mut p = opcode.0.to_le_bytes().to_vec();
    p.push(0);
    p.extend_from_slice(reply);
    frame(EventCode::COMMAND_COMPLETE.0, &p)
}

fn frame(code: u16, params: &[u8]) -> Vec<u8> {
    let mut f = code.to_le_bytes().to_vec();
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&(params.len() as u16).to_le_bytes());
    f.extend_from_slice(params);
    f
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Feeds `key_event` (and a Read Info reply) to a listening keeper; returns the report.
async fn store_one(store_dir: &std::path::Path, key_event: &[u8], info: &[u8]) -> BondReport {
    let index = ControllerIndex(u16_at(key_event, 2));
    let script = Arc::new(
        ScriptedTransport::builder()
            .read(key_event.to_vec())
            .write_command(index, READ_INFO, &[])
            .read(info.to_vec())
            .build()
            .stay_open(),
    );
    let keeper = Arc::new(BondKeeper::new(
        KeyStore::open(store_dir),
        Client::with_transport(script.clone()),
    ));
    let mut reports = keeper.reports();
    let _task = keeper.listen();
    let report = tokio::time::timeout(Duration::from_secs(5), reports.recv())
        .await
        .expect("a report")
        .unwrap();
    script.check_done().unwrap();
    report
}

#[tokio::test]
async fn a_captured_new_link_key_is_stored_privately_and_reads_back() {
    let frames = fixture_events("bredr-ssp-numeric-comparison");
    let keys = events_with(&frames, EventCode::NEW_LINK_KEY);
    assert_eq!(keys.len(), 1, "the capture has one New Link Key");
    let info = read_info_complete(&frames);
    let adapter = Address(info[9..15].try_into().unwrap());
    let t = tempfile::tempdir().unwrap();
    let report = store_one(t.path(), &keys[0], &info).await;
    let BondReport::Stored {
        what, path, device, ..
    } = report
    else {
        panic!("{report:?}")
    };
    assert_eq!(what, "link key");
    assert_eq!(device.address_type, AddressType::BR_EDR);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&t.path().join(adapter.to_string())), 0o700);
    assert_eq!(
        path,
        KeyStore::open(t.path()).info_path(adapter, device.address)
    );

    // Read back: Load Link Keys would carry exactly the captured 25-octet record.
    let (commands, errors) = KeyStore::open(t.path()).load_commands(adapter).unwrap();
    assert!(errors.is_empty());
    let mut loaded = Vec::new();
    bluez_mgmt::protocol::wire::Wire::encode(&commands.link_keys, &mut loaded);
    let params = &keys[0][6..];
    assert_eq!(params[0], 1, "store hint");
    assert_eq!(loaded, [&[0x00, 0x01, 0x00][..], &params[1..26]].concat());
}

#[tokio::test]
async fn a_captured_new_long_term_key_is_stored_and_reads_back() {
    let frames = fixture_events("le-sc-passkey");
    let keys = events_with(&frames, EventCode::NEW_LONG_TERM_KEY);
    assert!(!keys.is_empty(), "the capture has a New Long Term Key");
    let info = read_info_complete(&frames);
    let adapter = Address(info[9..15].try_into().unwrap());
    let t = tempfile::tempdir().unwrap();
    let report = store_one(t.path(), &keys[0], &info).await;
    let BondReport::Stored { what, path, .. } = report else {
        panic!("{report:?}")
    };
    assert_eq!(what, "long term key");
    assert_eq!(mode(&path), 0o600);
    let (commands, errors) = KeyStore::open(t.path()).load_commands(adapter).unwrap();
    assert!(errors.is_empty());
    let mut loaded = Vec::new();
    bluez_mgmt::protocol::wire::Wire::encode(&commands.long_term_keys, &mut loaded);
    let params = &keys[0][6..];
    assert_eq!(loaded, [&[0x01, 0x00][..], &params[1..37]].concat());
}

#[tokio::test]
async fn store_hint_zero_is_not_stored() {
    let frames = fixture_events("bredr-ssp-numeric-comparison");
    let mut key = events_with(&frames, EventCode::NEW_LINK_KEY).remove(0);
    key[6] = 0; // store hint 0 (the kernel's "not bonding")
    let t = tempfile::tempdir().unwrap();
    let report = store_one(t.path(), &key, &read_info_complete(&frames)).await;
    assert!(matches!(report, BondReport::NotStored { .. }), "{report:?}");
    assert_eq!(std::fs::read_dir(t.path()).map_or(0, |d| d.count()), 0);
}

/// Stores the captured link key and LTK under the captured adapter addresses' directory.
async fn seeded_store(dir: &std::path::Path) -> (Address, Vec<u8>, Vec<u8>, Vec<u8>) {
    let bredr = fixture_events("bredr-ssp-numeric-comparison");
    let le = fixture_events("le-sc-passkey");
    let info = read_info_complete(&bredr);
    let link_key = events_with(&bredr, EventCode::NEW_LINK_KEY).remove(0);
    let mut ltk = events_with(&le, EventCode::NEW_LONG_TERM_KEY).remove(0);
    // Same adapter for both: give the LTK event the BR/EDR capture's index (both hci0).
    ltk[2..4].copy_from_slice(&link_key[2..4]);
    let adapter = Address(info[9..15].try_into().unwrap());
    for e in [&link_key, &ltk] {
        let r = store_one(dir, e, &info).await;
        assert!(matches!(r, BondReport::Stored { .. }), "{r:?}");
    }
    (adapter, info, link_key, ltk)
}

#[tokio::test]
async fn start_loads_irks_link_keys_ltks_and_parameters_then_powers_on() {
    let t = tempfile::tempdir().unwrap();
    let (_adapter, info, link_key, ltk) = seeded_store(t.path()).await;
    let off = with_current_settings(info, 0);
    let script = Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, READ_INFO, &[])
            .read(off)
            .write_command(HCI0, LOAD_IRKS, &[0x00, 0x00])
            .read(command_complete(LOAD_IRKS, &[]))
            .write_command(
                HCI0,
                LOAD_LINK_KEYS,
                &[&[0x00, 0x01, 0x00][..], &link_key[7..32]].concat(),
            )
            .read(command_complete(LOAD_LINK_KEYS, &[]))
            .write_command(
                HCI0,
                LOAD_LONG_TERM_KEYS,
                &[&[0x01, 0x00][..], &ltk[7..43]].concat(),
            )
            .read(command_complete(LOAD_LONG_TERM_KEYS, &[]))
            .write_command(HCI0, LOAD_CONNECTION_PARAMETERS, &[0x00, 0x00])
            .read(command_complete(LOAD_CONNECTION_PARAMETERS, &[]))
            .write_command(HCI0, SET_POWERED, &[0x01])
            .read(command_complete(SET_POWERED, &[0x01, 0, 0, 0]))
            .build()
            .stay_open(),
    );
    let keeper = BondKeeper::new(
        KeyStore::open(t.path()),
        Client::with_transport(script.clone()),
    );
    let report = keeper.start_controller(HCI0, true).await.unwrap();
    script.check_done().unwrap();
    assert!(!report.was_powered && report.powered_on);
    assert_eq!(
        (
            report.loaded.irks,
            report.loaded.link_keys,
            report.loaded.long_term_keys,
            report.loaded.connection_parameters
        ),
        (0, 1, 1, 0)
    );
}

#[tokio::test]
async fn a_powered_controller_is_loaded_and_left_powered() {
    let t = tempfile::tempdir().unwrap();
    let (_adapter, info, link_key, ltk) = seeded_store(t.path()).await;
    let on = with_current_settings(info, 0x01);
    let script = Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, READ_INFO, &[])
            .read(on)
            .write_command(HCI0, LOAD_IRKS, &[0x00, 0x00])
            .read(command_complete(LOAD_IRKS, &[]))
            .write_command(
                HCI0,
                LOAD_LINK_KEYS,
                &[&[0x00, 0x01, 0x00][..], &link_key[7..32]].concat(),
            )
            .read(command_complete(LOAD_LINK_KEYS, &[]))
            .write_command(
                HCI0,
                LOAD_LONG_TERM_KEYS,
                &[&[0x01, 0x00][..], &ltk[7..43]].concat(),
            )
            .read(command_complete(LOAD_LONG_TERM_KEYS, &[]))
            .write_command(HCI0, LOAD_CONNECTION_PARAMETERS, &[0x00, 0x00])
            .read(command_complete(LOAD_CONNECTION_PARAMETERS, &[]))
            .build()
            .stay_open(),
    );
    let keeper = BondKeeper::new(
        KeyStore::open(t.path()),
        Client::with_transport(script.clone()),
    );
    let report = keeper.start_controller(HCI0, true).await.unwrap();
    script.check_done().unwrap();
    assert!(report.was_powered && !report.powered_on);
}

#[tokio::test]
async fn a_corrupt_file_is_reported_with_its_line_and_the_rest_loads() {
    let t = tempfile::tempdir().unwrap();
    let (adapter, info, link_key, _ltk) = seeded_store(t.path()).await;
    // Replace the LE device's file with one that does not parse on line 3.
    let (bonds, _) = KeyStore::open(t.path()).bonds(adapter).unwrap();
    let le_device = bonds
        .iter()
        .find(|b| b.link_key.is_none())
        .expect("the LE bond")
        .device;
    let bad = KeyStore::open(t.path()).info_path(adapter, le_device);
    std::fs::write(
        &bad,
        "[General]\nName=tag\nthis line is not a key file line\n",
    )
    .unwrap();
    let script = Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, READ_INFO, &[])
            .read(with_current_settings(info, 0))
            .write_command(HCI0, LOAD_IRKS, &[0x00, 0x00])
            .read(command_complete(LOAD_IRKS, &[]))
            .write_command(
                HCI0,
                LOAD_LINK_KEYS,
                &[&[0x00, 0x01, 0x00][..], &link_key[7..32]].concat(),
            )
            .read(command_complete(LOAD_LINK_KEYS, &[]))
            .write_command(HCI0, LOAD_LONG_TERM_KEYS, &[0x00, 0x00])
            .read(command_complete(LOAD_LONG_TERM_KEYS, &[]))
            .write_command(HCI0, LOAD_CONNECTION_PARAMETERS, &[0x00, 0x00])
            .read(command_complete(LOAD_CONNECTION_PARAMETERS, &[]))
            .build()
            .stay_open(),
    );
    let keeper = BondKeeper::new(
        KeyStore::open(t.path()),
        Client::with_transport(script.clone()),
    );
    let report = keeper.start_controller(HCI0, false).await.unwrap();
    script.check_done().unwrap();
    assert_eq!(report.loaded.link_keys, 1);
    assert_eq!(report.loaded.errors.len(), 1, "{:?}", report.loaded.errors);
    let e = &report.loaded.errors[0];
    assert_eq!(e.path, bad);
    assert_eq!(e.line, Some(3));
    assert!(
        e.to_string().starts_with(&format!("{}:3: ", bad.display())),
        "{e}"
    );
}

#[tokio::test]
async fn too_many_keys_sends_no_load_command() {
    let frames = fixture_events("bredr-ssp-numeric-comparison");
    let info = read_info_complete(&frames);
    let adapter = Address(info[9..15].try_into().unwrap());
    let t = tempfile::tempdir().unwrap();
    let adir = t.path().join(adapter.to_string());
    for i in 0..=MAX_LINK_KEYS {
        let d = Address::from_display_bytes([0, 0x1B, 0, 0, (i >> 8) as u8, i as u8]);
        let dir = adir.join(d.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("info"),
            "[LinkKey]\nKey=00112233445566778899AABBCCDDEEFF\nType=4\nPINLength=0\n",
        )
        .unwrap();
    }
    let script = Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, READ_INFO, &[])
            .read(with_current_settings(info, 0))
            .build()
            .stay_open(),
    );
    let keeper = BondKeeper::new(
        KeyStore::open(t.path()),
        Client::with_transport(script.clone()),
    );
    let err = keeper.start_controller(HCI0, true).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyKeys);
    assert!(err.to_string().contains("2622 link keys"), "{err}");
    script.check_done().unwrap();
}

#[tokio::test]
async fn runner_unpair_removes_the_stored_bond() {
    let t = tempfile::tempdir().unwrap();
    let (adapter, _info, link_key, _ltk) = seeded_store(t.path()).await;
    let device = Address(link_key[7..13].try_into().unwrap());
    let store_path = KeyStore::open(t.path()).info_path(adapter, device);
    assert!(store_path.exists());
    // Unpair Device: address, type BR/EDR, disconnect 1; the reply echoes the address.
    let addr = &link_key[7..14];
    let script = Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, UNPAIR_DEVICE, &[addr, &[0x01]].concat())
            .read(command_complete(UNPAIR_DEVICE, addr))
            .build()
            .stay_open(),
    );
    let client = Client::with_transport(script.clone());
    let keeper = Arc::new(BondKeeper::new(KeyStore::open(t.path()), client.clone()));
    keeper.set_adapter(HCI0, AdapterId::public(adapter));
    let runner = AgentRunner::with_bonds(
        ClientLink::new(client),
        ScriptedAgent::new(IoCapability::DISPLAY_YES_NO),
        RunnerConfig {
            controllers: Controllers::Only(vec![HCI0]),
            register_io_capability: false,
            ..RunnerConfig::default()
        },
        keeper.clone(),
    );
    let mut reports = keeper.reports();
    let peer = Peer::new(HCI0, AddressInfo::new(device, AddressType::BR_EDR));
    runner.unpair(&peer, true).await.unwrap();
    script.check_done().unwrap();
    assert!(!store_path.exists());
    assert!(!store_path.parent().unwrap().exists());
    assert_eq!(
        reports.try_recv().unwrap(),
        BondReport::Removed {
            index: HCI0,
            device
        }
    );
}
