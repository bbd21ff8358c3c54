//! Kernel-to-kernel pairing through btvirt: both controllers are kernel controllers, so the
//! kernel's own SMP runs on both ends and the association model is the real one.

use bluez_mgmt::protocol::command::{
    AdvertisingMode, PairDevice, ReadInfo, SecureConnectionsMode, SetAdvertising, SetBondable,
    SetConnectable, SetIoCapability, SetLowEnergy, SetPowered, SetSecureConnections,
    SetSecureSimplePairing, UserConfirmReply,
};
use bluez_mgmt::protocol::event::ConfirmHint;
use bluez_mgmt::protocol::keys::LongTermKeyType;
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, Command, ControllerIndex, Event, IoCapability, Status,
};

use super::support::{Btvirt, Capture, Mgmt};

/// Powers `index` on as a bondable, connectable LE + SC controller with IO capability
/// DisplayYesNo; the responder also advertises so the initiator can find it.
async fn prepare(mgmt: &mut Mgmt, index: ControllerIndex, advertise: bool) {
    // Secure Connections needs SSP first on a BR/EDR-capable controller (else Rejected).
    mgmt.call(
        index,
        SetSecureSimplePairing {
            secure_simple_pairing: true,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{index} Set SSP: {e}"));
    mgmt.call(index, SetLowEnergy { low_energy: true })
        .await
        .unwrap_or_else(|e| panic!("{index} Set LE: {e}"));
    mgmt.call(
        index,
        SetSecureConnections {
            secure_connections: SecureConnectionsMode::ON,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{index} Set Secure Connections: {e}"));
    mgmt.call(index, SetBondable { bondable: true })
        .await
        .unwrap_or_else(|e| panic!("{index} Set Bondable: {e}"));
    mgmt.call(index, SetConnectable { connectable: true })
        .await
        .unwrap_or_else(|e| panic!("{index} Set Connectable: {e}"));
    mgmt.call(
        index,
        SetIoCapability {
            io_capability: IoCapability::DISPLAY_YES_NO,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{index} Set IO Capability: {e}"));
    mgmt.call(index, SetPowered { powered: true })
        .await
        .unwrap_or_else(|e| panic!("{index} Set Powered: {e}"));
    if advertise {
        mgmt.call(
            index,
            SetAdvertising {
                advertising: AdvertisingMode::ON,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{index} Set Advertising: {e}"));
    }
}

/// What the test watches for while Pair Device runs.
enum Seen {
    Done(Status),
    Confirm(ControllerIndex, AddressInfo, ConfirmHint, u32),
    Ltk(ControllerIndex, Address, LongTermKeyType),
}

/// LE Secure Connections between two DisplayYesNo kernels: Numeric Comparison. Both sides must
/// be asked to confirm the same six-digit value (hint Numeric Comparison), and both must end up
/// with an authenticated P-256 LTK for the other.
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
        .address;
    let initiator_address = mgmt
        .call(initiator, ReadInfo {})
        .await
        .expect("Read Info")
        .address;

    mgmt.send(
        initiator,
        PairDevice {
            address: AddressInfo {
                address: responder_address,
                address_type: AddressType::LE_PUBLIC,
            },
            io_capability: IoCapability::DISPLAY_YES_NO,
        },
    )
    .await;
    let mut values = Vec::new(); // (index, hint, value)
    let mut status = None;
    let mut ltks = Vec::new(); // (index, peer, key type)
    while status.is_none() || ltks.len() < 2 {
        let seen = mgmt
            .expect_event("pairing events", |i, e| match e {
                Event::CommandComplete(c) if i == initiator && c.opcode == PairDevice::OPCODE => {
                    Some(Seen::Done(c.status))
                }
                Event::UserConfirmRequest(r) => {
                    Some(Seen::Confirm(i, r.address.clone(), r.confirm_hint, r.value))
                }
                Event::NewLongTermKey(k) => {
                    Some(Seen::Ltk(i, k.key.address.address, k.key.key_type))
                }
                _ => None,
            })
            .await;
        match seen {
            Seen::Done(s) => {
                assert_eq!(s, Status::SUCCESS, "Pair Device failed");
                status = Some(s);
            }
            Seen::Confirm(index, address, hint, value) => {
                println!("{index}: confirm {value:06} ({hint:?})");
                values.push((index, hint, value));
                mgmt.call(index, UserConfirmReply { address })
                    .await
                    .expect("User Confirm Reply");
            }
            Seen::Ltk(index, address, key_type) => ltks.push((index, address, key_type)),
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
    assert!(values[0].2 <= 999_999, "not a six-digit value");
    for (_, hint, _) in &values {
        assert_eq!(*hint, ConfirmHint::NUMERIC_COMPARISON);
    }
    for (index, address, key_type) in &ltks {
        println!("{index}: New Long Term Key {key_type:?} for {address}");
        let expected_peer = if *index == initiator {
            responder_address
        } else {
            initiator_address
        };
        assert_eq!(*address, expected_peer);
        assert_eq!(*key_type, LongTermKeyType::AUTHENTICATED_P256);
    }
    capture.finish();
}
