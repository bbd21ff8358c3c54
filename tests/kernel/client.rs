//! The crate's [`Client`] against a real kernel: pairing replies overtaking a pending Pair
//! Device, a controller removed mid-command, two controllers driven concurrently, and a
//! rejected command as a typed error. Needs the VM harness (btvirt's two controllers).
//!
//! Commands are sent as opcode and parameter bytes (documented layouts, doc/mgmt-protocol.rst)
//! where that keeps the test independent of which typed commands exist.

use std::time::Duration;

use bluez_mgmt::client::{Client, ErrorKind, EventFilter};
use bluez_mgmt::protocol::{ControllerIndex, Event, EventCode, Opcode, Settings, Status};

use super::support::{Btvirt, Capture};

const SET_POWERED: Opcode = Opcode(0x0005);
const SET_DISCOVERABLE: Opcode = Opcode(0x0006);
const SET_CONNECTABLE: Opcode = Opcode(0x0007);
const SET_BONDABLE: Opcode = Opcode(0x0009);
const SET_SSP: Opcode = Opcode(0x000B);
const SET_LE: Opcode = Opcode(0x000D);
const SET_IO_CAPABILITY: Opcode = Opcode(0x0018);
const PAIR_DEVICE: Opcode = Opcode(0x0019);
const USER_CONFIRM_REPLY: Opcode = Opcode(0x001C);
const SET_ADVERTISING: Opcode = Opcode(0x0029);
const SET_SECURE_CONN: Opcode = Opcode(0x002D);
const USER_CONFIRM_REQUEST: EventCode = EventCode(0x000F);

/// DisplayYesNo: both sides show the number and confirm it (Numeric Comparison).
const DISPLAY_YES_NO: u8 = 0x01;
/// Address type LE Public.
const LE_PUBLIC: u8 = 0x01;

async fn setting(client: &Client, index: ControllerIndex, opcode: Opcode, value: u8) -> Settings {
    let reply = client
        .submit_raw(index, opcode, vec![value], Some(Duration::from_secs(10)))
        .await
        .unwrap_or_else(|e| panic!("{opcode} {value} on {index}: {e}"));
    bluez_mgmt::protocol::wire::decode_exact("Current_Settings", &reply.params).unwrap()
}

/// Prepares a controller for LE Secure Connections pairing with DisplayYesNo (the steps of
/// the lab's pairing scenario).
async fn prepare(client: &Client, index: ControllerIndex, advertise: bool) {
    setting(client, index, SET_POWERED, 0).await;
    let info = client.controller(index).info().await.unwrap();
    if info.supported_settings.contains(Settings::SSP) {
        setting(client, index, SET_SSP, 1).await;
    }
    setting(client, index, SET_LE, 1).await;
    setting(client, index, SET_SECURE_CONN, 1).await;
    setting(client, index, SET_BONDABLE, 1).await;
    setting(client, index, SET_CONNECTABLE, 1).await;
    client
        .submit_raw(index, SET_IO_CAPABILITY, vec![DISPLAY_YES_NO], None)
        .await
        .unwrap();
    let on = setting(client, index, SET_POWERED, 1).await;
    assert!(on.contains(Settings::POWERED), "{index}: {on:?}");
    if advertise {
        setting(client, index, SET_ADVERTISING, 1).await;
    }
}

/// The parameters of any event, re-encoded (the first 7 bytes of a pairing event are the
/// peer's address and type).
fn params(event: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    event.encode(&mut out);
    out
}

#[tokio::test]
async fn pair_device_pending_while_confirm_replies_are_answered() {
    let capture = Capture::start("client_pair_confirm");
    let virt = Btvirt::start().await;
    let [init, resp] = virt.indexes;
    let client = Client::open().await.expect("open the MGMT socket");
    prepare(&client, init, false).await;
    prepare(&client, resp, true).await;
    let resp_addr = client.controller(resp).info().await.unwrap().address;

    let mut confirms = client.subscribe(EventFilter::all().code(USER_CONFIRM_REQUEST));
    let mut pair_params = Vec::new();
    bluez_mgmt::protocol::Wire::encode(&resp_addr, &mut pair_params);
    pair_params.extend_from_slice(&[LE_PUBLIC, DISPLAY_YES_NO]);
    let mut pairing = Box::pin(client.submit_raw(
        init,
        PAIR_DEVICE,
        pair_params,
        Some(Duration::from_secs(60)),
    ));

    // Both sides ask for confirmation; each answer goes out while Pair Device is pending and
    // is answered by its own Command Complete.
    let mut answered = Vec::new();
    let result = loop {
        tokio::select! {
            result = &mut pairing => break result,
            item = confirms.recv() => {
                let (index, event) = item.expect("subscription open").expect("no lag");
                let peer = params(&event)[..7].to_vec();
                let reply = client
                    .submit_raw(index, USER_CONFIRM_REPLY, peer.clone(), Some(Duration::from_secs(10)))
                    .await
                    .unwrap_or_else(|e| panic!("User Confirmation Reply on {index}: {e}"));
                assert_eq!(reply.params, peer, "the reply names the peer");
                answered.push(index);
            }
        }
    };
    let reply = result.unwrap_or_else(|e| panic!("Pair Device: {e}"));
    assert_eq!(
        &reply.params[..6],
        &bluez_mgmt::protocol::wire::encode_to_vec(&resp_addr)[..]
    );
    assert!(
        answered.contains(&init),
        "the initiator's confirmation was answered while Pair Device was pending: {answered:?}"
    );
    capture.finish();
}

#[tokio::test]
async fn controller_removed_while_pair_device_is_pending() {
    let capture = Capture::start("client_controller_removed");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let client = Client::open().await.expect("open the MGMT socket");
    prepare(&client, index, false).await;
    // Pair with an LE address nobody has: the kernel keeps trying to connect.
    let nobody = [
        0x01,
        0x00,
        0x00,
        0x00,
        0xee,
        0xc0,
        LE_PUBLIC,
        DISPLAY_YES_NO,
    ]
    .to_vec();
    let pairing = client.submit_raw(index, PAIR_DEVICE, nobody, Some(Duration::from_secs(60)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(virt); // stops btvirt: the kernel unregisters both controllers
    let err = tokio::time::timeout(Duration::from_secs(30), pairing)
        .await
        .expect("Pair Device ended")
        .expect_err("the controller went away");
    assert_eq!(
        err.kind(),
        ErrorKind::ControllerRemoved {
            opcode: PAIR_DEVICE,
            index
        },
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("controller {index} was removed while")),
        "{err}"
    );
    capture.finish();
}

#[tokio::test]
async fn two_controllers_driven_concurrently() {
    let capture = Capture::start("client_two_controllers");
    let virt = Btvirt::start().await;
    let [a, b] = virt.indexes;
    let client = Client::open().await.expect("open the MGMT socket");
    let (ca, cb) = (client.controller(a), client.controller(b));
    let (pa, pb) = tokio::join!(ca.power(true), cb.power(true));
    assert!(pa.unwrap().contains(Settings::POWERED));
    assert!(pb.unwrap().contains(Settings::POWERED));
    let (ia, ib) = tokio::join!(ca.info(), cb.info());
    let (ia, ib) = (ia.unwrap(), ib.unwrap());
    // btvirt -l2 gives its controllers 00:AA:01:00:00:00 and 00:AA:01:01:00:01 (support.rs).
    assert_eq!(ia.address.to_string(), "00:AA:01:00:00:00");
    assert_eq!(ib.address.to_string(), "00:AA:01:01:00:01");
    let (oa, ob) = tokio::join!(ca.power(false), cb.power(false));
    assert!(!oa.unwrap().contains(Settings::POWERED));
    assert!(!ob.unwrap().contains(Settings::POWERED));
    capture.finish();
}

#[tokio::test]
async fn discoverable_while_not_connectable_is_rejected() {
    let capture = Capture::start("client_discoverable_rejected");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let client = Client::open().await.expect("open the MGMT socket");
    let c = client.controller(index);
    c.power(true).await.unwrap();
    let s = c.connectable(false).await.unwrap();
    assert!(!s.contains(Settings::CONNECTABLE));
    let err = c
        .discoverable(0x01, 0)
        .await
        .expect_err("kernel rejects it");
    assert_eq!(
        err.kind(),
        ErrorKind::Status {
            opcode: SET_DISCOVERABLE,
            index,
            status: Status::REJECTED
        },
        "{err}"
    );
    capture.finish();
}
