//! Kernel-to-kernel pairing through btvirt: both controllers are kernel controllers, so the
//! kernel's own SMP runs on both ends and the association model is the real one.

use bluez_mgmt::protocol::command::ReadInfo;
use bluez_mgmt::protocol::{ControllerIndex, Event};

use super::support::{display_address, wire_address, Btvirt, Capture, Mgmt};

// Opcodes and event codes the protocol crate does not model yet (doc/mgmt-protocol.rst).
const SET_POWERED: u16 = 0x0005;
const SET_CONNECTABLE: u16 = 0x0007;
const SET_BONDABLE: u16 = 0x0009;
const SET_SSP: u16 = 0x000B;
const SET_LE: u16 = 0x000D;
const SET_IO_CAPABILITY: u16 = 0x0018;
const PAIR_DEVICE: u16 = 0x0019;
const USER_CONFIRM_REPLY: u16 = 0x001C;
const SET_ADVERTISING: u16 = 0x0029;
const SET_SECURE_CONNECTIONS: u16 = 0x002D;
const EV_NEW_LONG_TERM_KEY: u16 = 0x000A;
const EV_USER_CONFIRM_REQUEST: u16 = 0x000F;
const DISPLAY_YES_NO: u8 = 0x01;
const LE_PUBLIC: u8 = 0x01;

async fn prepare(mgmt: &mut Mgmt, index: ControllerIndex, advertise: bool) {
    // Secure Connections needs SSP first on a BR/EDR-capable controller (else Rejected).
    for (opcode, value, name) in [
        (SET_SSP, 1, "Set SSP"),
        (SET_LE, 1, "Set LE"),
        (SET_SECURE_CONNECTIONS, 1, "Set Secure Connections"),
        (SET_BONDABLE, 1, "Set Bondable"),
        (SET_CONNECTABLE, 1, "Set Connectable"),
        (SET_IO_CAPABILITY, DISPLAY_YES_NO, "Set IO Capability"),
        (SET_POWERED, 1, "Set Powered"),
    ] {
        mgmt.call_raw(index, opcode, &[value])
            .await
            .unwrap_or_else(|e| panic!("{index} {name}: {e}"));
    }
    if advertise {
        mgmt.call_raw(index, SET_ADVERTISING, &[1])
            .await
            .unwrap_or_else(|e| panic!("{index} Set Advertising: {e}"));
    }
}

/// LE Secure Connections between two DisplayYesNo kernels: Numeric Comparison. Both sides must
/// be asked to confirm the same six-digit value (confirm_hint 0), and both must end up with an
/// authenticated P-256 LTK for the other.
#[tokio::test]
async fn le_sc_numeric_comparison_between_two_kernel_controllers() {
    let capture = Capture::start("btvirt_le_sc_numeric_comparison");
    let virt = Btvirt::start().await;
    let [initiator, responder] = virt.indexes;
    let mut mgmt = Mgmt::open();
    prepare(&mut mgmt, initiator, false).await;
    prepare(&mut mgmt, responder, true).await;
    let responder_address = mgmt
        .call(responder, ReadInfo {})
        .await
        .expect("Read Info")
        .address
        .to_string();
    let initiator_address = mgmt
        .call(initiator, ReadInfo {})
        .await
        .expect("Read Info")
        .address
        .to_string();

    let mut params = wire_address(&responder_address).to_vec();
    params.extend([LE_PUBLIC, DISPLAY_YES_NO]);
    mgmt.send_raw(initiator, PAIR_DEVICE, &params).await;

    let mut values = Vec::new(); // (index, confirm_hint, value)
    let mut status = None;
    let mut ltks = Vec::new(); // (index, peer address, key type)
    while status.is_none() || ltks.len() < 2 {
        let (index, code, params) = mgmt
            .expect_event("pairing events", |i, e| match e {
                Event::CommandComplete(c) if i == initiator && c.opcode.0 == PAIR_DEVICE => {
                    Some((i, 0x0001, vec![c.status.0]))
                }
                Event::Unknown { code, params } if virt.indexes.contains(&i) => {
                    Some((i, code.0, params.0.clone()))
                }
                _ => None,
            })
            .await;
        match code {
            0x0001 => {
                status = Some(params[0]);
                assert_eq!(
                    params[0], 0,
                    "Pair Device failed with status {:#04x}",
                    params[0]
                );
            }
            EV_USER_CONFIRM_REQUEST => {
                // address(6) type(1) confirm_hint(1) value(4)
                let value = u32::from_le_bytes([params[8], params[9], params[10], params[11]]);
                println!("{index}: confirm {value:06} (hint {})", params[7]);
                values.push((index, params[7], value));
                mgmt.call_raw(index, USER_CONFIRM_REPLY, &params[..7])
                    .await
                    .expect("User Confirm Reply");
            }
            EV_NEW_LONG_TERM_KEY => {
                ltks.push((index, display_address(&params[1..7]), params[8]));
            }
            _ => {}
        }
    }
    assert_eq!(values.len(), 2, "both sides must be asked: {values:?}");
    assert_ne!(
        values[0].0, values[1].0,
        "asked twice on one side: {values:?}"
    );
    assert_eq!(
        values[0].2, values[1].2,
        "the two sides show different values"
    );
    assert!(
        values.iter().all(|v| v.1 == 0),
        "confirm_hint set: {values:?}"
    );
    assert!(values[0].2 <= 999_999);
    for (index, address, key_type) in &ltks {
        println!("{index}: New Long Term Key type {key_type:#04x} for {address}");
        let expected_peer = if *index == initiator {
            &responder_address
        } else {
            &initiator_address
        };
        assert_eq!(address, expected_peer);
        assert_eq!(*key_type, 0x03, "authenticated P-256 LTK expected");
    }
    capture.finish();
}
