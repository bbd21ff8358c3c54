//! The pairing service's store over a scripted transport (h2 style: the exact frames written,
//! the exact frames read): real key events from captures are stored, files are private and
//! read back to the same keys; at start the Load commands go out in order before Set Powered
//! (no Load Link Keys on an LE-only controller), then the device policies (Add Device with
//! auto-connect for a bonded LE device, Block Device for `Blocked=true`; a refused one is
//! reported and the set-up goes on); a corrupt file leaves the other bonds loading; too many
//! keys sends nothing; unpair forgets the bond; a shutdown (SIGTERM) refuses the pending
//! request and waits for the key's write, and for the keys of a pairing the agent accepted.
//!
//! Key events and Read Controller Information replies are frames from
//! fixtures/bredr-ssp-numeric-comparison.btsnoop and fixtures/le-sc-passkey.btsnoop (kernel
//! 6.1 paired with a Bumble device, see fixtures/README.md). Expected Load command parameters
//! are built from the documented layouts (doc/mgmt-protocol.rst): New Link Key and Load Link
//! Keys carry the same 25-octet key record, New Long Term Key and Load Long Term Keys the same
//! 36-octet record.

use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::{Peer, ScriptedAgent};
use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{device_policy, KeyStore, MAX_LINK_KEYS};
use bluez_mgmt::pairing::{Controllers, PairError, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::command::ReadVersion;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, EventCode, IoCapability, Opcode, Status,
};
use bluez_mgmt::transport::{ScriptBuilder, ScriptedTransport};

mod support;
use support::{
    complete, events_with, fixture_events, frame, info_address, mode, read_info_complete,
    supported_settings, u16_at, with_current_settings, with_supported_settings, Exchange,
    HookedStore, HCI0,
};

/// Load Link Keys parameters: debug keys off, the count, each captured New Link Key's 25-octet
/// record (after its store hint).
fn load_link_keys(keys: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![0x00];
    p.extend_from_slice(&(keys.len() as u16).to_le_bytes());
    for k in keys {
        p.extend_from_slice(&k[7..32]);
    }
    p
}

/// Load Long Term Keys parameters: the count, each captured New Long Term Key's 36-octet
/// record (after its store hint).
fn load_ltks(keys: &[&[u8]]) -> Vec<u8> {
    let mut p = (keys.len() as u16).to_le_bytes().to_vec();
    for k in keys {
        p.extend_from_slice(&k[7..43]);
    }
    p
}

/// How a service with a store starts: Read Controller Index List naming `index` alone, Read
/// Controller Information on it answered with the Command Complete frame `info`.
fn start(index: ControllerIndex, info: Vec<u8>) -> ScriptBuilder {
    ScriptedTransport::builder()
        .index_list(&[index])
        .write_command(index, Opcode::READ_INFO, &[])
        .read(info)
}

/// What a service with a store writes for hci0 before any power-on: Read Controller Index List,
/// Read Controller Information (answered with `info`), Load IRKs (none), Load Link Keys with
/// `link_keys` (`None`: not sent, as on an LE-only controller), Load Long Term Keys with
/// `ltks`, Load Connection Parameters (none).
fn set_up(info: Vec<u8>, link_keys: Option<Vec<u8>>, ltks: Vec<u8>) -> ScriptBuilder {
    let b = start(HCI0, info).exchange(HCI0, Opcode::LOAD_IRKS, &[0x00, 0x00], &[]);
    let b = match link_keys {
        Some(p) => b.exchange(HCI0, Opcode::LOAD_LINK_KEYS, &p, &[]),
        None => b,
    };
    b.exchange(HCI0, Opcode::LOAD_LONG_TERM_KEYS, &ltks, &[])
        .exchange(HCI0, Opcode::LOAD_CONN_PARAM, &[0x00, 0x00], &[])
}

/// Set Powered on, answered with the powered setting.
fn power_on(b: ScriptBuilder) -> ScriptBuilder {
    b.exchange(HCI0, Opcode::SET_POWERED, &[0x01], &[0x01, 0, 0, 0])
}

/// A service keeping bonds in `dir`, over `script`; only storing (no IO capability, no
/// loading, no power) unless `config` says otherwise.
async fn service(
    dir: &std::path::Path,
    script: &Arc<ScriptedTransport>,
    config: ServiceConfig,
) -> (
    PairingService<ScriptedAgent>,
    tokio::sync::broadcast::Receiver<Report>,
    Result<tokio::task::JoinHandle<()>, PairError>,
) {
    let service = PairingService::new(
        Client::with_transport(script.clone()),
        ScriptedAgent::new(IoCapability::DISPLAY_YES_NO),
        config,
    )
    .with_store(KeyStore::open(dir));
    let reports = service.reports();
    let task = service.start().await;
    (service, reports, task)
}

fn storing_only() -> ServiceConfig {
    ServiceConfig {
        register_io_capability: false,
        load_bonds: false,
        power_on: false,
        ..ServiceConfig::default()
    }
}

/// The next report that is about the store (not key deliveries or set-up lines).
async fn next_store_report(reports: &mut tokio::sync::broadcast::Receiver<Report>) -> Report {
    loop {
        let r = tokio::time::timeout(Duration::from_secs(5), reports.recv())
            .await
            .expect("a report")
            .unwrap();
        if matches!(
            r,
            Report::Stored { .. }
                | Report::NotStored { .. }
                | Report::StoreFailed { .. }
                | Report::Removed { .. }
        ) {
            return r;
        }
    }
}

/// Feeds `key_event` to a service storing keys (after its Read Controller Information);
/// returns what it reported.
async fn store_one(store_dir: &std::path::Path, key_event: &[u8], info: &[u8]) -> Report {
    let index = ControllerIndex(u16_at(key_event, 2));
    let script = Arc::new(
        start(index, info.to_vec())
            .read(key_event.to_vec())
            .build()
            .stay_open(),
    );
    let (_service, mut reports, task) = service(store_dir, &script, storing_only()).await;
    task.expect("the service starts");
    let report = next_store_report(&mut reports).await;
    script.check_done().unwrap();
    report
}

/// What set-up reported for `index`: the summary line and the files left out.
async fn set_up_report(
    reports: &mut tokio::sync::broadcast::Receiver<Report>,
) -> (String, Vec<bluez_mgmt::keystore::LoadError>) {
    let mut left_out = Vec::new();
    loop {
        match reports
            .try_recv()
            .expect("set-up reported before start returned")
        {
            Report::BondLeftOut { error, .. } => left_out.push(error),
            Report::ControllerReady { summary, .. } => return (summary, left_out),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_captured_new_link_key_is_stored_privately_and_reads_back() {
    let frames = fixture_events("bredr-ssp-numeric-comparison");
    let keys = events_with(&frames, EventCode::NEW_LINK_KEY);
    assert_eq!(keys.len(), 1, "the capture has one New Link Key");
    let info = read_info_complete(&frames);
    let adapter = info_address(&info);
    let t = tempfile::tempdir().unwrap();
    let report = store_one(t.path(), &keys[0], &info).await;
    let Report::Stored {
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
    let adapter = info_address(&info);
    let t = tempfile::tempdir().unwrap();
    let report = store_one(t.path(), &keys[0], &info).await;
    let Report::Stored { what, path, .. } = report else {
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
    assert!(matches!(report, Report::NotStored { .. }), "{report:?}");
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
    let adapter = info_address(&info);
    for e in [&link_key, &ltk] {
        let r = store_one(dir, e, &info).await;
        assert!(matches!(r, Report::Stored { .. }), "{r:?}");
    }
    (adapter, info, link_key, ltk)
}

/// One device policy exchange: Block Device (address) or Add Device (address, action 0x02
/// auto-connect), answered with `status` and the address, as the kernel does.
fn policy(b: ScriptBuilder, opcode: Opcode, address: &[u8], status: Status) -> ScriptBuilder {
    assert_eq!(address.len(), 7, "address and type");
    let params = if opcode == Opcode::ADD_DEVICE {
        [address, &[0x02]].concat()
    } else {
        address.to_vec()
    };
    b.write_command(HCI0, opcode, &params)
        .read(complete(HCI0, opcode, status, address))
}

/// A service with a store and the default set-up (all but the IO capability), over `script`;
/// checks the whole script was written and returns the set-up's reports.
async fn set_up_with(
    dir: &std::path::Path,
    script: ScriptBuilder,
    config: ServiceConfig,
) -> tokio::sync::broadcast::Receiver<Report> {
    let script = Arc::new(script.build().stay_open());
    let (_service, reports, task) = service(dir, &script, config).await;
    task.expect("the service starts");
    script.check_done().unwrap();
    reports
}

fn loading() -> ServiceConfig {
    ServiceConfig {
        register_io_capability: false,
        ..ServiceConfig::default()
    }
}

/// Start-up with the seeded store, the controller's current settings `settings` at start:
/// the Load commands, Set Powered when it was off, then the bonded LE device goes on the
/// auto-connect list; set-up ends its summary with `ends`.
async fn start_with_seeded_store(settings: u32, ends: &str) {
    let t = tempfile::tempdir().unwrap();
    let (_adapter, info, link_key, ltk) = seeded_store(t.path()).await;
    let mut script = set_up(
        with_current_settings(info, settings),
        Some(load_link_keys(&[&link_key])),
        load_ltks(&[&ltk]),
    );
    if settings & 0x01 == 0 {
        script = power_on(script);
    }
    let script = policy(script, Opcode::ADD_DEVICE, &ltk[7..14], Status::SUCCESS);
    let mut reports = set_up_with(t.path(), script, loading()).await;
    let (summary, left_out) = set_up_report(&mut reports).await;
    assert!(left_out.is_empty());
    assert!(
        summary.starts_with(
            "loaded 1 link key(s), 1 long term key(s), 0 IRK(s), 0 connection parameter set(s)"
        ) && summary.ends_with(ends),
        "{summary}"
    );
}

macro_rules! start_cases {
    ($($name:ident: $settings:expr, $ends:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            start_with_seeded_store($settings, $ends).await;
        }
    )*};
}

start_cases! {
    start_loads_irks_link_keys_ltks_and_parameters_then_powers_on:
        0, "; powered on; 1 device(s) added for auto-connect, 0 blocked";
    // Already powered: the policies go out at once.
    a_powered_controller_is_loaded_and_left_powered:
        0x01, "; was already powered; 1 device(s) added for auto-connect, 0 blocked";
}

/// Set-up (no power-on) from the seeded store, its LE device's file replaced with one that
/// does not parse on line 3, with room for `report_queue` reports; returns the store's
/// directory, the set-up's reports and the bad file.
async fn set_up_with_a_corrupt_file(
    report_queue: usize,
) -> (
    tempfile::TempDir,
    tokio::sync::broadcast::Receiver<Report>,
    std::path::PathBuf,
) {
    let t = tempfile::tempdir().unwrap();
    let (adapter, info, link_key, _ltk) = seeded_store(t.path()).await;
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
    let script = set_up(
        with_current_settings(info, 0),
        Some(load_link_keys(&[&link_key])),
        load_ltks(&[]),
    );
    let config = ServiceConfig {
        power_on: false,
        report_queue,
        ..loading()
    };
    let reports = set_up_with(t.path(), script, config).await;
    (t, reports, bad)
}

#[tokio::test]
async fn a_corrupt_file_is_reported_with_its_line_and_the_rest_loads() {
    let (_t, mut reports, bad) =
        set_up_with_a_corrupt_file(ServiceConfig::default().report_queue).await;
    let (summary, errors) = set_up_report(&mut reports).await;
    assert!(
        summary.starts_with("loaded 1 link key(s), 0 long term key(s)"),
        "{summary}"
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.path, bad);
    assert_eq!(e.line, Some(3));
    assert!(
        e.to_string().starts_with(&format!("{}:3: ", bad.display())),
        "{e}"
    );
}

#[tokio::test]
async fn a_receiver_behind_a_full_report_queue_learns_how_many_it_missed() {
    use tokio::sync::broadcast::error::TryRecvError;
    // Set-up reports the left-out bond, then its summary, before anyone reads them: with room
    // for one report, the receiver is told it missed one, then gets the summary.
    let (_t, mut reports, _bad) = set_up_with_a_corrupt_file(1).await;
    assert!(
        matches!(reports.try_recv(), Err(TryRecvError::Lagged(1))),
        "one report missed"
    );
    assert!(matches!(
        reports.try_recv(),
        Ok(Report::ControllerReady { .. })
    ));
    assert!(matches!(reports.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn blocked_devices_are_blocked_and_a_refused_policy_does_not_fail_set_up() {
    let t = tempfile::tempdir().unwrap();
    let (adapter, info, link_key, ltk) = seeded_store(t.path()).await;
    // bluetoothd's `Blocked=true` on the BR/EDR device; the LE device auto-connects.
    let phone = AddressInfo::new(
        Address(link_key[7..13].try_into().unwrap()),
        AddressType::BR_EDR,
    );
    device_policy::set_blocked(&KeyStore::open(t.path()), adapter, &phone, true).unwrap();
    let mut script = set_up(
        with_current_settings(info, 0x01),
        Some(load_link_keys(&[&link_key])),
        load_ltks(&[&ltk]),
    );
    // The store lists devices in address order; the kernel refuses the Add Device.
    let mut steps = [
        (Opcode::BLOCK_DEVICE, &link_key[7..14], Status::SUCCESS),
        (Opcode::ADD_DEVICE, &ltk[7..14], Status::FAILED),
    ];
    let order = device_policy::policies(&KeyStore::open(t.path()), adapter).unwrap();
    assert_eq!(order.len(), 2, "{order:?}");
    if order[0].auto_connect {
        steps.reverse();
    }
    for (opcode, address, status) in steps {
        script = policy(script, opcode, address, status);
    }
    // One refused device does not fail the set-up.
    let mut reports = set_up_with(t.path(), script, loading()).await;
    let mut refused = Vec::new();
    let summary = loop {
        match reports.try_recv().expect("set-up reported") {
            Report::PolicyRefused {
                device,
                command,
                error,
                ..
            } => refused.push((device, command, error)),
            Report::ControllerReady { summary, .. } => break summary,
            _ => {}
        }
    };
    assert!(
        summary.ends_with(
            "; was already powered; 0 device(s) added for auto-connect, 1 blocked, 1 refused"
        ),
        "{summary}"
    );
    assert_eq!(refused.len(), 1, "{refused:?}");
    let (device, command, error) = &refused[0];
    assert_eq!(device.address.0[..], ltk[7..13]);
    assert_eq!(*command, "Add Device");
    assert!(error.contains("Failed"), "{error}");
}

#[tokio::test]
async fn an_le_only_controller_gets_no_load_link_keys() {
    let t = tempfile::tempdir().unwrap();
    let (_adapter, info, _link_key, ltk) = seeded_store(t.path()).await;
    let supported = supported_settings(&info);
    assert_ne!(
        supported & 0x80,
        0,
        "the captured controller supports BR/EDR"
    );
    let le_only = with_current_settings(with_supported_settings(info, supported & !0x80), 0);
    // No Load Link Keys: the kernel answers it Not Supported without BR/EDR.
    let script = power_on(set_up(le_only, None, load_ltks(&[&ltk])));
    let script = policy(script, Opcode::ADD_DEVICE, &ltk[7..14], Status::SUCCESS);
    let mut reports = set_up_with(t.path(), script, loading()).await;
    let (summary, _) = set_up_report(&mut reports).await;
    assert!(
        summary.starts_with(
            "loaded no link keys (no BR/EDR: Load Link Keys skipped), 1 long term key(s)"
        ) && summary.ends_with("; powered on; 1 device(s) added for auto-connect, 0 blocked"),
        "{summary}"
    );
}

#[tokio::test]
async fn too_many_keys_sends_no_load_command() {
    let frames = fixture_events("bredr-ssp-numeric-comparison");
    let info = read_info_complete(&frames);
    let adapter = info_address(&info);
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
        start(HCI0, with_current_settings(info, 0))
            .build()
            .stay_open(),
    );
    let config = ServiceConfig {
        register_io_capability: false,
        ..ServiceConfig::default()
    };
    let (_service, _reports, task) = service(t.path(), &script, config).await;
    let err = task.expect_err("start fails: the bonds cannot be loaded");
    assert!(err.to_string().contains("2622 link keys"), "{err}");
    script.check_done().unwrap();
}

#[tokio::test]
async fn unpair_removes_the_stored_bond() {
    let t = tempfile::tempdir().unwrap();
    let (adapter, info, link_key, _ltk) = seeded_store(t.path()).await;
    let device = Address(link_key[7..13].try_into().unwrap());
    let store_path = KeyStore::open(t.path()).info_path(adapter, device);
    assert!(store_path.exists());
    // Unpair Device: address, type BR/EDR, disconnect 1; the reply echoes the address.
    let addr = &link_key[7..14];
    let script = Arc::new(
        // Controllers named: no Read Controller Index List.
        ScriptedTransport::builder()
            .write_command(HCI0, Opcode::READ_INFO, &[])
            .read(info)
            .exchange(HCI0, Opcode::UNPAIR_DEVICE, &[addr, &[0x01]].concat(), addr)
            .build()
            .stay_open(),
    );
    let config = ServiceConfig {
        controllers: Controllers::Only(vec![HCI0]),
        ..storing_only()
    };
    let (service, mut reports, task) = service(t.path(), &script, config).await;
    task.expect("the service starts");
    let peer = Peer::new(HCI0, AddressInfo::new(device, AddressType::BR_EDR));
    service.unpair(&peer, true).await.unwrap();
    script.check_done().unwrap();
    assert!(!store_path.exists());
    assert!(!store_path.parent().unwrap().exists());
    assert_eq!(
        next_store_report(&mut reports).await,
        Report::Removed {
            index: HCI0,
            device
        }
    );
}

/// A key whose store write panicked was not written: it is reported as a failed store, for
/// its device (a pairing of ours would end with a store error), not taken for a removal.
#[tokio::test]
async fn a_store_write_that_panics_is_reported_as_a_failed_store() {
    let frames = fixture_events("le-sc-passkey");
    let ltk = events_with(&frames, EventCode::NEW_LONG_TERM_KEY).remove(0);
    let index = ControllerIndex(u16_at(&ltk, 2));
    let script = Arc::new(
        start(index, read_info_complete(&frames))
            .read(ltk.clone())
            .build()
            .stay_open(),
    );
    let t = tempfile::tempdir().unwrap();
    let service = PairingService::new(
        Client::with_transport(script.clone()),
        ScriptedAgent::new(IoCapability::DISPLAY_YES_NO),
        storing_only(),
    )
    .with_bond_store(HookedStore::new(t.path(), || {
        panic!("the test's store hook panics")
    }));
    let mut reports = service.reports();
    service.start().await.expect("the service starts");
    match next_store_report(&mut reports).await {
        Report::StoreFailed { device, error, .. } => {
            assert_eq!(device.address.0[..], ltk[7..13]);
            assert!(error.contains("did not finish"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    script.check_done().unwrap();
}

#[tokio::test]
async fn shutdown_refuses_a_pending_confirmation_and_flushes_a_queued_key() {
    let frames = fixture_events("le-sc-passkey");
    let ltk = events_with(&frames, EventCode::NEW_LONG_TERM_KEY).remove(0);
    let info = read_info_complete(&frames);
    let adapter = info_address(&info);
    let index = ControllerIndex(u16_at(&ltk, 2));
    // The peer of the captured key (address and type, the LTK record's first 7 octets).
    let device = ltk[7..14].to_vec();
    let script = Arc::new(
        start(index, info.clone())
            .read(ltk.clone())
            .read_event(
                index,
                EventCode::USER_CONFIRM_REQUEST,
                &[&device[..], &[0], &123456u32.to_le_bytes()].concat(),
            )
            // What the shutdown must write: the negative reply the time limit would send.
            .exchange(index, Opcode::USER_CONFIRM_NEG_REPLY, &device, &device)
            .build()
            .stay_open(),
    );
    let t = tempfile::tempdir().unwrap();
    // The agent would answer only after a minute: the request is pending at shutdown.
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
        .then_confirm(true)
        .delayed(Duration::from_secs(60));
    let service = PairingService::new(
        Client::with_transport(script.clone()),
        agent.clone(),
        storing_only(),
    )
    // Its writes take 300 ms: the shutdown must wait for the queued key.
    .with_bond_store(HookedStore::new(t.path(), || {
        std::thread::sleep(Duration::from_millis(300))
    }));
    let mut reports = service.reports();
    let task = service.start().await.expect("the service starts");
    // The key's notice, then the comparison the agent is still thinking about.
    let calls = agent.wait_for_calls(2, Duration::from_secs(5)).await;
    assert_eq!(calls.len(), 2, "{calls:?}");

    tokio::time::timeout(Duration::from_secs(10), service.shutdown())
        .await
        .expect("the shutdown ends");
    // The key queued before the shutdown is on disk, the refusal was written, the task ended.
    let (commands, errors) = KeyStore::open(t.path()).load_commands(adapter).unwrap();
    assert!(errors.is_empty());
    assert_eq!(commands.long_term_keys.keys.0.len(), 1);
    script.check_done().unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task ends")
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(r) = reports.try_recv() {
        seen.push(r);
    }
    assert!(
        seen.iter().any(|r| matches!(
            r,
            Report::ShutDown {
                request: bluez_mgmt::pairing::RequestKind::ConfirmValue,
                ..
            }
        )),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|r| matches!(r, Report::Stored { .. })),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|r| matches!(r, Report::Answered { .. })));
}

/// A stop that comes between our "yes" and the kernel's keys waits for them: the LTK that
/// arrives after the stop is stored before the service ends; a disconnection instead ends
/// the wait with nothing stored. The script holds the ending event back until the test's own
/// command, sent once the stop's refusal of the other pending request was written, so it
/// comes while the service is stopping.
#[tokio::test]
async fn a_stop_waits_for_the_keys_of_a_pairing_the_agent_accepted() {
    let frames = fixture_events("le-sc-passkey");
    let ltk = events_with(&frames, EventCode::NEW_LONG_TERM_KEY).remove(0);
    let info = read_info_complete(&frames);
    let adapter = info_address(&info);
    let index = ControllerIndex(u16_at(&ltk, 2));
    // The peer of the captured key (address and type, the LTK record's first 7 octets), and
    // a second one whose request is still with the agent at the stop.
    let accepted = ltk[7..14].to_vec();
    let pending = [&[0x42][..], &accepted[1..]].concat();
    let disconnected = frame(
        EventCode::DEVICE_DISCONNECTED.0,
        index,
        &[&accepted[..], &[0x03]].concat(),
    );
    // (the event that ends the wait, long term keys stored)
    for (end, stored) in [(ltk.clone(), 1), (disconnected, 0)] {
        let request = |device: &[u8]| [device, &[0], &123456u32.to_le_bytes()].concat();
        let script = Arc::new(
            start(index, info.clone())
                .read_event(index, EventCode::USER_CONFIRM_REQUEST, &request(&accepted))
                .exchange(index, Opcode::USER_CONFIRM_REPLY, &accepted, &accepted)
                .read_event(index, EventCode::USER_CONFIRM_REQUEST, &request(&pending))
                .exchange(index, Opcode::USER_CONFIRM_NEG_REPLY, &pending, &pending)
                .exchange(
                    ControllerIndex::NONE,
                    Opcode::READ_VERSION,
                    &[],
                    &[1, 22, 0],
                )
                .read(end)
                .build()
                .stay_open(),
        );
        let t = tempfile::tempdir().unwrap();
        // Yes at once to the first request; the second is still being thought about.
        let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
            .then_confirm(true)
            .then_confirm(true)
            .delayed(Duration::from_secs(60));
        let client = Client::with_transport(script.clone());
        let service = PairingService::new(client.clone(), agent.clone(), storing_only())
            .with_store(KeyStore::open(t.path()));
        let mut reports = service.reports();
        let task = service.start().await.expect("the service starts");
        agent.wait_for_calls(2, Duration::from_secs(5)).await;

        let stopping = tokio::spawn(async move { service.shutdown().await });
        // The stop refused the pending request (its reply written) and is still running.
        while script.writes_done() < 4 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        client
            .call(ControllerIndex::NONE, &ReadVersion {})
            .await
            .expect("the service's stop does not close the connection");
        tokio::time::timeout(Duration::from_secs(10), stopping)
            .await
            .expect("the shutdown ends")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task ends")
            .unwrap();
        script.check_done().unwrap();
        let (commands, errors) = KeyStore::open(t.path()).load_commands(adapter).unwrap();
        assert!(errors.is_empty());
        assert_eq!(commands.long_term_keys.keys.0.len(), stored);
        let mut seen = Vec::new();
        while let Ok(r) = reports.try_recv() {
            seen.push(r);
        }
        assert_eq!(
            seen.iter()
                .filter(|r| matches!(r, Report::Stored { .. }))
                .count(),
            stored,
            "{seen:?}"
        );
        assert!(
            !seen
                .iter()
                .any(|r| matches!(r, Report::KeysNotReceived { .. })),
            "{seen:?}"
        );
    }
}

/// An LE-only controller without a public address gets the static address kept in the
/// store's `addresses` file (Set Static Address before anything else), and the same one again
/// when it goes away and comes back under the same service: bluetoothd only skips the
/// addresses of controllers still present.
#[tokio::test]
async fn a_controller_without_address_gets_its_static_address_back_after_removal() {
    let t = tempfile::tempdir().unwrap();
    let info = read_info_complete(&fixture_events("le-sc-passkey"));
    let supported = u32::from_le_bytes(info[18..22].try_into().unwrap());
    let mut no_address = with_current_settings(with_supported_settings(info, supported & !0x80), 0);
    // No public address: Read Controller Information answers 00:00:00:00:00:00.
    no_address[9..15].fill(0);
    let manufacturer = u16_at(&no_address, 16);
    let kept: Address = "C1:22:33:44:55:66".parse().unwrap();
    let addresses = format!("[Static]\n0x{manufacturer:04x}={kept};\n");
    std::fs::write(t.path().join("addresses"), &addresses).unwrap();
    let set_up = |b: ScriptBuilder| {
        b.write_command(HCI0, Opcode::READ_INFO, &[])
            .read(no_address.clone())
            .exchange(HCI0, Opcode::SET_STATIC_ADDRESS, &kept.0, &[0, 0x80, 0, 0])
    };
    let script = set_up(ScriptedTransport::builder().index_list(&[HCI0]))
        .read_event(HCI0, EventCode::INDEX_REMOVED, &[])
        .read_event(HCI0, EventCode::INDEX_ADDED, &[]);
    let script = Arc::new(set_up(script).build().stay_open());
    let config = ServiceConfig {
        register_io_capability: false,
        load_bonds: false,
        ..ServiceConfig::default()
    };
    let (_service, mut reports, task) = service(t.path(), &script, config).await;
    task.expect("the service starts");
    for round in ["at start", "after Index Removed and Index Added"] {
        let summary = loop {
            match tokio::time::timeout(Duration::from_secs(5), reports.recv())
                .await
                .unwrap_or_else(|_| panic!("no set-up report {round}: {:?}", script.check_done()))
                .unwrap()
            {
                Report::ControllerReady { summary, .. } => break summary,
                Report::ControllerFailed { error, .. } => panic!("{round}: {error}"),
                _ => {}
            }
        };
        assert_eq!(summary, format!("static address {kept}"), "{round}");
    }
    script.check_done().unwrap();
    assert_eq!(
        std::fs::read_to_string(t.path().join("addresses")).unwrap(),
        addresses,
        "no second address made"
    );
}
