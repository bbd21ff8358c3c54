//! Out-of-band pairing against the real kernel: LE Secure Connections OOB between btvirt's two
//! kernel controllers (both sides ours) and against the Bumble peer, with the data read from
//! the kernel by `bluez_mgmt::oob::kernel`, carried through our exchange formats (the QR text
//! form between the two kernels, the NFC `application/vnd.bluetooth.le.oob` NDEF record with
//! Bumble, whose side writes and reads the record with its own code) and added with Add Remote
//! OOB Data.
//!
//! Both sides are NoInputNoOutput: without OOB data that is Just Works (unauthenticated keys,
//! an authorization request on the responder, `association::kernel_pairing`); with it the
//! kernel selects OOB whichever side holds the other's data (`smp.c` `sc_select_method`), asks
//! nobody anything, and its keys are authenticated. `association::association_model`'s OOB
//! rule for LE Secure Connections (OOB when either side holds the peer's data) is asserted for
//! each cell.
//!
//! BR/EDR SSP OOB is not run here, and says why in [`bredr_ssp_oob_has_no_faithful_peer`].

use std::time::Duration;

use bluez_mgmt::association::{association_model, Declared, Method, Transport};
use bluez_mgmt::client::{Client, EventFilter, Subscription};
use bluez_mgmt::oob::{kernel, ndef, text, OobData, OobTransport};
use bluez_mgmt::protocol::command::{
    AdvertisingMode, PairDevice, ReadInfo, SecureConnectionsMode, SetAdvertising, SetBondable,
    SetConnectable, SetIoCapability, SetLowEnergy, SetPowered, SetSecureConnections,
    SetSecureSimplePairing, UnpairDevice,
};
use bluez_mgmt::protocol::keys::LongTermKeyType;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, IoCapability, Status,
};

use super::support::{take_link_down, Btvirt, BumblePeer, Capture, Mgmt, PeerEvent, PeerOptions};

const NO_IO: IoCapability = IoCapability::NO_INPUT_NO_OUTPUT;

/// Powers `index` on as a bondable, connectable LE controller with Secure Connections and IO
/// capability NoInputNoOutput; `advertise` makes it connectable over LE.
async fn prepare(mgmt: &mut Mgmt, index: ControllerIndex, advertise: bool) {
    macro_rules! set {
        ($what:literal, $cmd:expr) => {
            mgmt.call(index, $cmd)
                .await
                .unwrap_or_else(|e| panic!("{index} {}: {e}", $what))
        };
    }
    // Secure Connections needs SSP first on a BR/EDR-capable controller.
    set!(
        "Set SSP",
        SetSecureSimplePairing {
            secure_simple_pairing: true
        }
    );
    set!("Set LE", SetLowEnergy { low_energy: true });
    set!(
        "Set Secure Connections",
        SetSecureConnections {
            secure_connections: SecureConnectionsMode::ON
        }
    );
    set!("Set Bondable", SetBondable { bondable: true });
    set!("Set Connectable", SetConnectable { connectable: true });
    set!(
        "Set IO Capability",
        SetIoCapability {
            io_capability: NO_IO
        }
    );
    set!("Set Powered", SetPowered { powered: true });
    if advertise {
        set!(
            "Set Advertising",
            SetAdvertising {
                advertising: AdvertisingMode::ON
            }
        );
    }
}

/// What the kernel side of one pairing showed.
#[derive(Debug, Default)]
struct Outcome {
    /// Pair Device's status.
    status: Option<Status>,
    /// User Confirmation / Passkey requests and Passkey Notify, on any controller.
    requests: Vec<String>,
    /// New Long Term Key events: (controller, peer, key type).
    ltks: Vec<(ControllerIndex, Address, LongTermKeyType)>,
}

/// Sends Pair Device from `index` to `peer` (NoInputNoOutput) through `client` and follows
/// `events` until it completes and `ltks` keys arrived (after a failure: 2 s more, to see
/// that no key comes).
async fn pair(
    client: &Client,
    events: &mut Subscription,
    index: ControllerIndex,
    peer: AddressInfo,
    ltks: usize,
) -> Outcome {
    let reply = client.start(
        index,
        &PairDevice {
            address: peer,
            io_capability: NO_IO,
        },
        Some(Duration::from_secs(40)),
    );
    tokio::pin!(reply);
    let mut out = Outcome::default();
    let mut settle: Option<tokio::time::Instant> = None;
    loop {
        if out.status == Some(Status::SUCCESS) && out.ltks.len() >= ltks {
            return out;
        }
        let until = settle.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(45));
        tokio::select! {
            r = &mut reply, if out.status.is_none() => {
                let status = match r {
                    Ok(_) => Status::SUCCESS,
                    Err(e) => e.status().unwrap_or_else(|| panic!("Pair Device: {e}")),
                };
                out.status = Some(status);
                if status != Status::SUCCESS {
                    settle = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                }
            }
            item = events.recv() => {
                let (i, event) = match item {
                    Some(Ok(x)) => x,
                    Some(Err(e)) => panic!("event stream: {e}"),
                    None => panic!("event stream closed"),
                };
                match event {
                    Event::NewLongTermKey(k) => out.ltks.push((i, k.key.address.address, k.key.key_type)),
                    Event::UserConfirmRequest(r) => out.requests.push(format!("{i}: confirm {:?}", r.confirm_hint)),
                    Event::UserPasskeyRequest(_) => out.requests.push(format!("{i}: passkey request")),
                    Event::PasskeyNotify(_) => out.requests.push(format!("{i}: passkey notify")),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(until) => {
                assert!(settle.is_some(), "the pairing did not end within 45 s: {out:?}");
                return out;
            }
        }
    }
}

/// The prediction for LE SC with NoInputNoOutput on both sides and these OOB flags.
fn predicted(initiator_holds: bool, responder_holds: bool) -> Method {
    let side = |oob| Declared {
        io: NO_IO,
        mitm: false,
        oob,
    };
    association_model(
        Transport::LeSecureConnections,
        side(initiator_holds),
        side(responder_holds),
    )
}

/// One btvirt cell: which side holds the other's data.
struct Cell {
    name: &'static str,
    initiator_holds: bool,
    responder_holds: bool,
}

const CELLS: [Cell; 3] = [
    Cell {
        name: "oob_btvirt_initiator_holds",
        initiator_holds: true,
        responder_holds: false,
    },
    Cell {
        name: "oob_btvirt_responder_holds",
        initiator_holds: false,
        responder_holds: true,
    },
    Cell {
        name: "oob_btvirt_both_hold",
        initiator_holds: true,
        responder_holds: true,
    },
];

/// LE SC OOB between two kernels, our library on both: with only the responder's data (the
/// initiator "tapped" the responder), only the initiator's, and both. Each time: no user
/// request on either side, Pair Device succeeds, both sides get an authenticated P-256 LTK.
/// The data travels as the QR text form.
#[tokio::test]
async fn le_sc_oob_between_two_kernel_controllers() {
    for cell in &CELLS {
        println!("--- {}", cell.name);
        assert_eq!(
            predicted(cell.initiator_holds, cell.responder_holds),
            Method::Oob
        );
        let virt = Btvirt::start().await;
        let [initiator, responder] = virt.indexes;
        let mut mgmt = Mgmt::open();
        prepare(&mut mgmt, initiator, false).await;
        prepare(&mut mgmt, responder, true).await;
        let address = |i| async move {
            Mgmt::open()
                .call(i, ReadInfo {})
                .await
                .expect("Read Info")
                .address
        };
        let (init_addr, resp_addr) = (address(initiator).await, address(responder).await);

        // The capture starts here, so that the client below is its first socket to send a
        // command (the fixture replays that socket).
        let capture = Capture::start(cell.name);
        let client = Client::open().await.expect("MGMT client");
        let mut events = client.subscribe(EventFilter::all());
        // Each side's own data, as a QR code would carry it.
        let mut local = Vec::new();
        for (index, addr) in [(initiator, init_addr), (responder, resp_addr)] {
            let data = kernel::read_local(&client, index, OobTransport::Le)
                .await
                .unwrap_or_else(|e| panic!("{index} read local OOB data: {e}"));
            let qr = text::encode(&data);
            println!("{index}: {} chars of QR text", qr.len());
            let data = text::decode(&qr).expect("our text form reads back");
            assert_eq!(
                data.address(),
                AddressInfo::new(addr, AddressType::LE_PUBLIC)
            );
            local.push(data);
        }
        if cell.initiator_holds {
            kernel::add_remote(&client, initiator, &local[1])
                .await
                .expect("Add Remote OOB Data on the initiator");
        }
        if cell.responder_holds {
            kernel::add_remote(&client, responder, &local[0])
                .await
                .expect("Add Remote OOB Data on the responder");
        }
        let out = pair(
            &client,
            &mut events,
            initiator,
            AddressInfo::new(resp_addr, AddressType::LE_PUBLIC),
            2,
        )
        .await;
        println!("{out:?}");
        assert_eq!(out.status, Some(Status::SUCCESS), "{out:?}");
        assert!(out.requests.is_empty(), "OOB asks nobody: {out:?}");
        let mut got: Vec<_> = out.ltks.iter().map(|(i, a, _)| (*i, *a)).collect();
        got.sort();
        assert_eq!(got, vec![(initiator, resp_addr), (responder, init_addr)]);
        for (i, _, t) in &out.ltks {
            assert_eq!(*t, LongTermKeyType::AUTHENTICATED_P256, "{i}: {out:?}");
        }
        drop(virt);
        capture.finish();
    }
}

/// The wrong-data cells against Bumble: which side holds a spoiled copy of the other's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spoiled {
    /// The kernel holds the peer's data with one octet of the confirmation value changed.
    KernelHoldsWrongConfirm,
    /// The peer holds the kernel's data with one octet of the random value changed.
    PeerHoldsWrongRandom,
}

fn spoil(data: &OobData, spoiled: Spoiled) -> OobData {
    let mut d = data.clone();
    if let OobData::Le(le) = &mut d {
        let v = match spoiled {
            Spoiled::KernelHoldsWrongConfirm => le.confirm.as_mut(),
            Spoiled::PeerHoldsWrongRandom => le.random.as_mut(),
        };
        v.expect("LE SC value").0[0] ^= 0x01;
    }
    d
}

/// The peer's `OOB <hex>` line: its data, as an NDEF message it wrote itself.
async fn peer_oob(peer: &mut BumblePeer) -> Vec<u8> {
    peer.command("oob local").await;
    let hex = peer
        .expect("OOB line", |e| match e {
            PeerEvent::Other(l) => l.strip_prefix("OOB ").map(str::to_owned),
            _ => None,
        })
        .await;
    bluez_mgmt::protocol::hex::parse_hex(hex.trim()).expect("OOB hex")
}

/// The peer's end of a pairing: `PAIRED ...` key kinds or `FAILED ...`.
async fn peer_end(peer: &mut BumblePeer) -> Result<Vec<String>, String> {
    peer.expect("PAIRED or FAILED", |e| match e {
        PeerEvent::Paired(k) => Some(Ok(k.clone())),
        PeerEvent::Failed(r) => Some(Err(r.clone())),
        PeerEvent::JustWorks | PeerEvent::Confirm(_) | PeerEvent::PasskeyRequested => {
            panic!("the peer was asked something during OOB pairing: {e:?}")
        }
        _ => None,
    })
    .await
}

/// LE SC OOB against Bumble, the data carried in NFC records: the peer writes its record
/// (its own NDEF code), we read it with `ndef::decode` and add it; we write ours with
/// `ndef::encode` and the peer reads it. The kernel pairs: no request on either side,
/// authenticated P-256 LTK on the kernel, authenticated keys on the peer. Then wrong data,
/// detected by the kernel and by the peer: Authentication Failed and no keys.
#[tokio::test]
async fn le_sc_oob_against_bumble_through_ndef() {
    let mut peer = BumblePeer::start(PeerOptions {
        bredr: true,
        io_capability: 3,
    })
    .await;
    let index = peer.index;
    let mut mgmt = Mgmt::open();
    prepare(&mut mgmt, index, true).await;
    let kernel_addr: Address = peer
        .kernel_side_address
        .parse()
        .expect("kernel-side address");
    let peer_le: Address = peer.le_address.parse().expect("peer LE address");
    let target = AddressInfo::new(peer_le, AddressType::LE_RANDOM);
    peer.set_io_capability(3).await;
    peer.set_mitm(false).await;
    peer.set_secure_connections(true).await;

    // Both sides hold the other's data (recorded: one library client does all of the
    // kernel side, so the capture replays in `cargo test`).
    {
        let record = peer_oob(&mut peer).await;
        let capture = Capture::start("oob_bumble_le_sc");
        let client = Client::open().await.expect("MGMT client");
        let mut events = client.subscribe(EventFilter::all().controller(index));
        let theirs = ndef::decode(&record).expect("the peer's NDEF record");
        assert_eq!(theirs.address(), target, "{theirs:?}");
        let ours = kernel::read_local(&client, index, OobTransport::Le)
            .await
            .expect("read local OOB data");
        assert_eq!(
            ours.address(),
            AddressInfo::new(kernel_addr, AddressType::LE_PUBLIC)
        );
        kernel::add_remote(&client, index, &theirs)
            .await
            .expect("Add Remote OOB Data");
        let ours_ndef = bluez_mgmt::protocol::hex::Hex(&ndef::encode(&ours)).to_string();
        peer.command(&format!("oob peer {ours_ndef}")).await;
        let out = pair(&client, &mut events, index, target.clone(), 1).await;
        println!("kernel: {out:?}");
        assert_eq!(out.status, Some(Status::SUCCESS), "{out:?}");
        assert!(out.requests.is_empty(), "{out:?}");
        assert_eq!(
            out.ltks,
            vec![(index, peer_le, LongTermKeyType::AUTHENTICATED_P256)]
        );
        let keys = peer_end(&mut peer).await.expect("the peer paired");
        println!("peer: {keys:?}");
        assert!(keys.iter().any(|k| k == "ltk:authenticated"), "{keys:?}");
        assert!(
            !keys.iter().any(|k| k.ends_with(":unauthenticated")),
            "{keys:?}"
        );
        capture.finish();
        mgmt.call(
            index,
            UnpairDevice {
                address: target.clone(),
                disconnect: true,
            },
        )
        .await
        .expect("Unpair Device");
        peer.forget().await;
    }

    for spoiled in [
        Spoiled::KernelHoldsWrongConfirm,
        Spoiled::PeerHoldsWrongRandom,
    ] {
        println!("--- {spoiled:?}");
        peer.command("oob off").await;
        let client = Client::open().await.expect("MGMT client");
        kernel::remove_remote(
            &client,
            index,
            AddressInfo::new(Address::ANY, AddressType::BR_EDR),
        )
        .await
        .expect("Remove Remote OOB Data (all)");
        let mut events = client.subscribe(EventFilter::all().controller(index));
        match spoiled {
            Spoiled::KernelHoldsWrongConfirm => {
                let theirs = ndef::decode(&peer_oob(&mut peer).await).expect("NDEF");
                kernel::add_remote(&client, index, &spoil(&theirs, spoiled))
                    .await
                    .expect("Add Remote OOB Data");
            }
            Spoiled::PeerHoldsWrongRandom => {
                let ours = kernel::read_local(&client, index, OobTransport::Le)
                    .await
                    .expect("read local OOB data");
                let bad = ndef::encode(&spoil(&ours, spoiled));
                let hex = bluez_mgmt::protocol::hex::Hex(&bad).to_string();
                peer.command(&format!("oob peer {hex}")).await;
            }
        }
        let out = pair(&client, &mut events, index, target.clone(), 1).await;
        println!("kernel: {out:?}");
        assert_eq!(out.status, Some(Status::AUTHENTICATION_FAILED), "{out:?}");
        assert!(out.ltks.is_empty(), "no keys after wrong OOB data: {out:?}");
        let end = peer_end(&mut peer).await;
        println!("peer: {end:?}");
        // The side holding the spoiled data finds that the other's public key does not match
        // the confirmation value and sends Pairing Failed, reason Confirm Value Failed; the
        // peer reports the SMP reason it sent or received.
        match end {
            Err(reason) => assert!(reason.contains("CONFIRM_VALUE_FAILED"), "{reason}"),
            Ok(keys) => panic!("the peer paired with wrong OOB data: {keys:?}"),
        }
        let _ = mgmt
            .call(
                index,
                UnpairDevice {
                    address: target.clone(),
                    disconnect: true,
                },
            )
            .await;
        take_link_down(&client, index, &target).await;
        peer.forget().await;
    }
}

/// BR/EDR SSP OOB: which peers were considered and why neither runs it faithfully, so the
/// prediction's cell comes from the kernel source instead.
///
/// - btvirt (BlueZ `emulator/btdev.c`): its SSP is a stub (tests/kernel/README.md), and its
///   Read Local OOB (Extended) Data answers all-zero hashes and randomizers (printed by
///   [`oob_data_commands_on_the_kernel`]), which the kernel treats as "no data"
///   (`bredr_oob_data_present` returns 0x00 for zero values): there is nothing to exchange.
/// - Bumble 0.0.236's controller (`bumble/controller.py`): its link manager runs SSP over
///   LMP and carries OOB_Data_Present in the IO capability PDUs, and it stores what a host
///   answers with Remote OOB Data Request Reply, but it never raises Remote OOB Data Request,
///   never uses the stored C and R in the commitment checks, and has no Read Local OOB Data:
///   the kernel's data would never be asked for nor checked, so an "OOB" pairing through it
///   would show the IO-capability model, not OOB. (The peer script's shim 4 already corrects
///   its link key labels for the same reason.)
///
/// The kernel side (`hci_event.c`, 6.1): IO Capability Request is answered with
/// `OOB_Data_Present` from `bredr_oob_data_present` (with Secure Connections the stored
/// `present` value: 0x01 P-192, 0x02 P-256, 0x03 both, from Add Remote OOB Data for that
/// address; P-256 only in Secure Connections Only mode; 0x00 without data), and Remote OOB
/// Data Request with the stored pair (the Extended Reply with Secure Connections). No user
/// request is raised for it: the controller picks the model. The model and the key
/// type are the controller's: OOB when either side has data (Core Vol 3 Part C 5.2.2.6, the
/// rule `association_model` applies), asserted here on the predictor.
#[test]
fn bredr_ssp_oob_has_no_faithful_peer() {
    let side = |oob| Declared {
        io: NO_IO,
        mitm: false,
        oob,
    };
    for (i, r) in [(true, false), (false, true), (true, true)] {
        assert_eq!(
            association_model(Transport::BrEdrSsp, side(i), side(r)),
            Method::Oob
        );
    }
    assert_eq!(
        association_model(Transport::BrEdrSsp, side(false), side(false)),
        Method::JustWorks
    );
}

/// Runs mgmtctl with `args`; returns its standard output, panicking with both outputs if it
/// fails.
async fn mgmtctl(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run mgmtctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!(
        "mgmtctl {}:\n{stdout}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mgmtctl {args:?} failed");
    stdout
}

/// The same through mgmtctl processes, both sides holding the other's data: `oob local`
/// writes the responder's data as an NDEF file (mode 0600, `--json` describes it) and the
/// initiator's as text; `oob add` gives the initiator's to the responder; `pair --oob` gives
/// the responder's to the initiator and pairs. Both sides: authenticated P-256 LTKs, and
/// nobody was asked anything (no agent runs on the responder).
#[tokio::test]
async fn mgmtctl_oob_local_add_and_pair() {
    use std::os::unix::fs::PermissionsExt;

    let virt = Btvirt::start().await;
    let [initiator, responder] = virt.indexes;
    let mut mgmt = Mgmt::open();
    prepare(&mut mgmt, initiator, false).await;
    prepare(&mut mgmt, responder, true).await;
    let init_addr = mgmt
        .call(initiator, ReadInfo {})
        .await
        .expect("Read Info")
        .address;
    let resp_addr = mgmt
        .call(responder, ReadInfo {})
        .await
        .expect("Read Info")
        .address;
    let client = Client::open().await.expect("MGMT client");
    let mut events = client.subscribe(EventFilter::all());
    let (i, r) = (initiator.0.to_string(), responder.0.to_string());
    let dir = std::env::temp_dir();
    let resp_file = dir.join("oob-responder.ndef");
    let init_file = dir.join("oob-initiator.txt");
    let (resp_path, init_path) = (
        resp_file.to_str().unwrap().to_owned(),
        init_file.to_str().unwrap().to_owned(),
    );

    let json = mgmtctl(&[
        "oob", "local", "--index", &r, "--format", "ndef", "--out", &resp_path, "--json",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json output");
    assert_eq!(v["address"], resp_addr.to_string());
    assert_eq!(v["address_type"], "LE Public");
    assert_eq!(v["confirm"].as_str().map(str::len), Some(32));
    assert_eq!(v["random"].as_str().map(str::len), Some(32));
    let mode = std::fs::metadata(&resp_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "OOB file mode {mode:o}");
    let ndef_bytes = std::fs::read(&resp_file).unwrap();
    assert_eq!(
        v["ndef"],
        bluez_mgmt::protocol::hex::Hex(&ndef_bytes).to_string()
    );

    mgmtctl(&[
        "oob", "local", "--index", &i, "--format", "text", "--out", &init_path,
    ])
    .await;
    let added = mgmtctl(&[
        "oob",
        "add",
        &init_addr.to_string(),
        &init_path,
        "--index",
        &r,
        "--json",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_str(&added).expect("--json output");
    assert_eq!(v["added"], init_addr.to_string());

    let paired = mgmtctl(&[
        "pair",
        &resp_addr.to_string(),
        "--type",
        "le-public",
        "--index",
        &i,
        "--io-capability",
        "NoInputNoOutput",
        "--oob",
        &resp_path,
        "--no-store",
        "--reject",
        "--timeout",
        "40",
    ])
    .await;
    assert!(paired.contains("added the LE OOB data"), "{paired}");
    assert!(paired.contains("paired with"), "{paired}");
    let mut ltks = Vec::new();
    while ltks.len() < 2 {
        let item = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("New Long Term Keys in time")
            .expect("event stream");
        match item {
            Ok((i, Event::NewLongTermKey(k))) => ltks.push((i, k.key.key_type)),
            Ok((i, Event::UserConfirmRequest(_) | Event::UserPasskeyRequest(_))) => {
                panic!("{i} was asked something during OOB pairing")
            }
            _ => {}
        }
    }
    for (i, t) in &ltks {
        assert_eq!(*t, LongTermKeyType::AUTHENTICATED_P256, "{i}");
    }
    let _ = std::fs::remove_file(&resp_file);
    let _ = std::fs::remove_file(&init_file);
}

/// The OOB commands on one kernel controller (btvirt, SSP and Secure Connections on): BR/EDR
/// local data through both commands (P-192 and P-256 pairs; the extended form adds the class
/// and needs Read Info for the address); a BR/EDR peer's data added and removed; and LE legacy
/// OOB: our library refuses TK-only data with the typed error, and the kernel itself answers
/// Invalid Parameters to LE data with a P-192 pair (what mgmt-protocol.rst says).
#[tokio::test]
async fn oob_data_commands_on_the_kernel() {
    use bluez_mgmt::oob::{LeOobData, OobValue};
    use bluez_mgmt::protocol::command::{AddRemoteOobData, OobHashRandomizer};

    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let mut mgmt = Mgmt::open();
    prepare(&mut mgmt, index, false).await;
    let info = mgmt.call(index, ReadInfo {}).await.expect("Read Info");
    let client = Client::open().await.expect("MGMT client");

    let pairs = kernel::read_local_pairs(&client, index)
        .await
        .expect("Read Local OOB Data");
    assert!(pairs.p256.is_some(), "Secure Connections on: a P-256 pair");
    let d = kernel::read_local(&client, index, OobTransport::BrEdr)
        .await
        .expect("Read Local OOB Extended Data (BR/EDR)");
    println!("{d:?}");
    let OobData::BrEdr(b) = &d else {
        panic!("BR/EDR data expected: {d:?}")
    };
    assert_eq!(b.address, info.address);
    assert_eq!(b.class, Some(info.class_of_device));
    // Present, as the kernel builds the EIR; the values are btdev's (a stub that may answer
    // zeros), so only whether each is zero is printed.
    for (what, v) in [
        ("C-192", b.hash192),
        ("R-192", b.rand192),
        ("C-256", b.hash256),
        ("R-256", b.rand256),
    ] {
        let v = v.unwrap_or_else(|| panic!("{what} missing: {d:?}"));
        println!("{what}: {}", if v.is_zero() { "zero" } else { "non-zero" });
    }
    // Through the NFC record and back, then given to the kernel as a peer's data.
    let peer: Address = "00:AA:01:09:09:09".parse().unwrap();
    let mut theirs = match ndef::decode(&ndef::encode(&d)).expect("ep.oob record") {
        OobData::BrEdr(b) => b,
        other => panic!("{other:?}"),
    };
    theirs.address = peer;
    let added = kernel::add_remote(&client, index, &OobData::BrEdr(theirs))
        .await
        .expect("Add Remote OOB Data (BR/EDR)");
    assert_eq!(added, AddressInfo::new(peer, AddressType::BR_EDR));
    kernel::remove_remote(&client, index, added.clone())
        .await
        .expect("Remove Remote OOB Data");
    // Removing it twice: the kernel no longer has it.
    let again = kernel::remove_remote(&client, index, added).await;
    println!("second removal: {again:?}");
    assert!(again.is_err(), "removed twice without an error");

    // LE legacy OOB: refused before anything is sent...
    let tk_only = OobData::Le(LeOobData {
        address: peer,
        address_type: AddressType::LE_PUBLIC,
        tk: Some(OobValue([0x5a; 16])),
        ..LeOobData::default()
    });
    let e = kernel::add_remote(&client, index, &tk_only)
        .await
        .expect_err("TK-only data");
    assert!(matches!(e, kernel::OobError::LeLegacyOobUnsupported), "{e}");
    // ...and the kernel's own answer to LE data with a P-192 pair.
    let r = mgmt
        .call(
            index,
            AddRemoteOobData {
                address: AddressInfo::new(peer, AddressType::LE_PUBLIC),
                p192: OobHashRandomizer {
                    hash: [0x5a; 16],
                    randomizer: [0x5b; 16],
                },
                p256: Some(OobHashRandomizer {
                    hash: [0; 16],
                    randomizer: [0; 16],
                }),
            },
        )
        .await;
    println!("LE data with a P-192 pair: {r:?}");
    assert!(
        matches!(r, Err(super::support::CallError::Status(s)) if s == Status::INVALID_PARAMETERS),
        "{r:?}"
    );
}
