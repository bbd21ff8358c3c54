//! The Bumble peer against the kernel: its controller shows up as a dual-mode kernel
//! controller, and it pairs with the kernel over BR/EDR (Secure Simple Pairing) and LE.

use bluez_mgmt::capture::{CaptureReader, MonitorOpcode};
use bluez_mgmt::protocol::command::{
    PairDevice, ReadInfo, SecureConnectionsMode, SetBondable, SetConnectable, SetPowered,
    SetSecureConnections, SetSecureSimplePairing, UnpairDevice, UserConfirmReply,
};
use bluez_mgmt::protocol::event::ConfirmHint;
use bluez_mgmt::protocol::keys::{LinkKeyType, LongTermKeyType};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, Command, ControllerIndex, Event, IoCapability, Settings,
    Status,
};

use super::support::{BumblePeer, Capture, Mgmt, PeerEvent, PeerOptions};

/// What the tests watch for on the kernel side while a pairing runs.
enum Seen {
    Done(Status),
    Confirm(AddressInfo),
    LinkKey(Address, LinkKeyType),
    Ltk(Address, LongTermKeyType),
}

fn parse_address(text: &str) -> Address {
    text.parse()
        .unwrap_or_else(|e| panic!("address {text:?}: {e:?}"))
}

#[tokio::test]
async fn bumble_peer_pairs_over_bredr_just_works() {
    let capture = Capture::start("bumble_bredr_just_works");
    let mut peer = BumblePeer::start(PeerOptions {
        bredr: true,
        io_capability: 3, // NoInputNoOutput: Just Works
    })
    .await;
    let index = peer.index;
    let mut mgmt = Mgmt::open();
    let mut observer = Mgmt::open();
    let info = mgmt.call(index, ReadInfo {}).await.expect("Read Info");
    assert_eq!(info.address.to_string(), peer.kernel_side_address);
    assert!(info
        .supported_settings
        .contains(Settings::BREDR | Settings::SSP));

    mgmt.call(
        index,
        SetSecureSimplePairing {
            secure_simple_pairing: true,
        },
    )
    .await
    .expect("Set SSP");
    mgmt.call(index, SetBondable { bondable: true })
        .await
        .expect("Set Bondable");
    mgmt.call(index, SetConnectable { connectable: true })
        .await
        .expect("Set Connectable");
    let settings = mgmt
        .call(index, SetPowered { powered: true })
        .await
        .expect("Set Powered");
    assert!(settings
        .contains(Settings::POWERED | Settings::CONNECTABLE | Settings::BONDABLE | Settings::SSP));

    peer.set_mitm(false).await;
    let kernel_side = peer.kernel_side_address.clone();
    peer.pair(&kernel_side, "bredr").await;

    // The kernel may ask user space to authorize Just Works: approve it. The pairing must end
    // with New Link Key for the peer's address.
    let (address, key_type) = loop {
        let seen = observer
            .expect_event("User Confirm Request or New Link Key", |i, e| match e {
                _ if i != index => None,
                Event::UserConfirmRequest(r) => Some(Seen::Confirm(r.address.clone())),
                Event::NewLinkKey(k) => Some(Seen::LinkKey(k.key.address.address, k.key.key_type)),
                _ => None,
            })
            .await;
        match seen {
            Seen::Confirm(address) => {
                println!("kernel asks to authorize pairing with {}", address.address);
                mgmt.call(index, UserConfirmReply { address })
                    .await
                    .expect("User Confirm Reply");
            }
            Seen::LinkKey(address, key_type) => break (address, key_type),
            _ => {}
        }
    };
    println!("kernel: New Link Key {key_type:?} for {address}");
    assert_eq!(address, parse_address(&peer.address));
    let kinds = peer
        .expect("PAIRED", |e| match e {
            PeerEvent::Paired(k) => Some(k.clone()),
            _ => None,
        })
        .await;
    println!("peer: paired with {kinds:?}");
    // Both ends hold the same kind of key: the one the kernel-facing Bumble controller put in
    // its Link Key Notification, and the one the peer's controller reported to the peer.
    let peer_type = kinds
        .iter()
        .find_map(|k| k.strip_prefix("link_key:0x"))
        .and_then(|k| u8::from_str_radix(&k[..2], 16).ok())
        .unwrap_or_else(|| panic!("no link key in {kinds:?}"));
    assert_eq!(
        key_type,
        LinkKeyType(peer_type),
        "kernel and peer disagree on the key type"
    );
    // A P-256 combination key. Just Works should give the unauthenticated one; Bumble
    // 0.0.236's controller labels it authenticated (a known Bumble fidelity bug that btvirt
    // does not have), so either is accepted here, and nothing older (P-192) is.
    assert!(
        key_type == LinkKeyType::UNAUTHENTICATED_P256
            || key_type == LinkKeyType::AUTHENTICATED_P256,
        "key type {key_type:?}"
    );
    capture.finish();
}

/// Two LE scenarios against one peer process (Python starts slowly under TCG):
///
/// 1. Just Works: the kernel initiates Pair Device with the peer's static random address; both
///    sides have no input and no output, so the result must be an unauthenticated LTK.
/// 2. after Unpair Device, Secure Connections Numeric Comparison: both sides DisplayYesNo with
///    MITM; the kernel and the peer must be shown the same value, and the LTK must be
///    authenticated P-256.
#[tokio::test]
async fn kernel_pairs_with_bumble_over_le() {
    let capture = Capture::start("bumble_le_just_works_then_numeric_comparison");
    let mut peer = BumblePeer::start(PeerOptions {
        bredr: false,
        io_capability: 3, // NoInputNoOutput
    })
    .await;
    let index = peer.index;
    let mut mgmt = Mgmt::open();
    mgmt.call(index, SetBondable { bondable: true })
        .await
        .expect("Set Bondable");
    let settings = mgmt
        .call(index, SetPowered { powered: true })
        .await
        .expect("Set Powered");
    assert!(
        settings.contains(Settings::POWERED | Settings::LE),
        "{settings:?}"
    );
    peer.set_mitm(false).await;

    let peer_le = parse_address(&peer.le_address);
    mgmt.send(
        index,
        PairDevice {
            address: AddressInfo {
                address: peer_le,
                address_type: AddressType::LE_RANDOM,
            },
            io_capability: IoCapability::NO_INPUT_NO_OUTPUT,
        },
    )
    .await;
    let mut status = None;
    let mut ltks = Vec::new();
    while status.is_none() || ltks.is_empty() {
        let seen = mgmt
            .expect_event("Pair Device's end or a key", |i, e| match e {
                _ if i != index => None,
                Event::CommandComplete(c) if c.opcode == PairDevice::OPCODE => {
                    Some(Seen::Done(c.status))
                }
                Event::UserConfirmRequest(r) => Some(Seen::Confirm(r.address.clone())),
                Event::NewLongTermKey(k) => Some(Seen::Ltk(k.key.address.address, k.key.key_type)),
                _ => None,
            })
            .await;
        match seen {
            Seen::Done(s) => {
                assert_eq!(s, Status::SUCCESS, "Pair Device failed");
                status = Some(s);
            }
            Seen::Confirm(address) => {
                println!("kernel asks to authorize pairing with {}", address.address);
                mgmt.call(index, UserConfirmReply { address })
                    .await
                    .expect("User Confirm Reply");
            }
            Seen::Ltk(address, key_type) => ltks.push((address, key_type)),
            Seen::LinkKey(..) => {}
        }
    }
    let (address, key_type) = ltks[0];
    println!("kernel: New Long Term Key {key_type:?} for {address}");
    assert_eq!(address, peer_le);
    // Just Works: unauthenticated, legacy or P-256, never authenticated.
    assert!(
        key_type == LongTermKeyType::UNAUTHENTICATED_LEGACY
            || key_type == LongTermKeyType::UNAUTHENTICATED_P256,
        "key type {key_type:?}"
    );
    let kinds = peer
        .expect("PAIRED", |e| match e {
            PeerEvent::Paired(k) => Some(k.clone()),
            _ => None,
        })
        .await;
    println!("peer: paired with {kinds:?}");
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("ltk") && k.ends_with(":unauthenticated")),
        "peer keys {kinds:?}"
    );

    // Scenario 2: forget the bond, then LE SC Numeric Comparison.
    let peer_le_info = AddressInfo {
        address: peer_le,
        address_type: AddressType::LE_RANDOM,
    };
    mgmt.call(
        index,
        UnpairDevice {
            address: peer_le_info.clone(),
            disconnect: true,
        },
    )
    .await
    .expect("Unpair Device");
    // Everything scenario 1 caused (a second LTK, Device Disconnected...) came before this
    // reply; start scenario 2 with an empty queue.
    mgmt.clear_events();
    mgmt.call(
        index,
        SetSecureConnections {
            secure_connections: SecureConnectionsMode::ON,
        },
    )
    .await
    .expect("Set Secure Connections");
    peer.set_io_capability(1).await; // DisplayYesNo
    peer.set_mitm(true).await;
    peer.set_secure_connections(true).await;
    mgmt.send(
        index,
        PairDevice {
            address: peer_le_info,
            io_capability: IoCapability::DISPLAY_YES_NO,
        },
    )
    .await;
    let mut status = None;
    let mut ltk = None;
    let mut kernel_value = None;
    while status.is_none() || ltk.is_none() {
        let seen = mgmt
            .expect_event(
                "Pair Device's end, a confirmation or a key",
                |i, e| match e {
                    _ if i != index => None,
                    Event::CommandComplete(c) if c.opcode == PairDevice::OPCODE => {
                        Some(Seen::Done(c.status))
                    }
                    Event::UserConfirmRequest(r) => {
                        assert_eq!(r.confirm_hint, ConfirmHint::NUMERIC_COMPARISON);
                        kernel_value = Some(r.value);
                        Some(Seen::Confirm(r.address.clone()))
                    }
                    Event::NewLongTermKey(k) => {
                        Some(Seen::Ltk(k.key.address.address, k.key.key_type))
                    }
                    _ => None,
                },
            )
            .await;
        match seen {
            Seen::Done(s) => {
                assert_eq!(s, Status::SUCCESS, "Pair Device failed");
                status = Some(s);
            }
            Seen::Confirm(address) => {
                mgmt.call(index, UserConfirmReply { address })
                    .await
                    .expect("User Confirm Reply");
            }
            Seen::Ltk(address, key_type) => ltk = Some((address, key_type)),
            Seen::LinkKey(..) => {}
        }
    }
    let kernel_value = kernel_value.expect("the kernel was never asked to compare a value");
    let peer_value = peer
        .expect("CONFIRM", |e| match e {
            PeerEvent::Confirm(n) => Some(*n),
            _ => None,
        })
        .await;
    println!("numeric comparison: kernel {kernel_value:06}, peer {peer_value:06}");
    assert_eq!(
        kernel_value, peer_value,
        "the two sides were shown different values"
    );
    let (address, key_type) = ltk.expect("loop ends with a key");
    println!("kernel: New Long Term Key {key_type:?} for {address}");
    assert_eq!(address, peer_le);
    assert_eq!(key_type, LongTermKeyType::AUTHENTICATED_P256);
    let path = capture.finish();
    assert_le_connections_complete_as_unmasked(&path, index);
}

/// The LE connection set-up in a capture follows the event the kernel unmasked, and no LE
/// Create Connection was left pending until the kernel cancelled it.
///
/// Linux unmasks LE Enhanced Connection Complete for a controller with LL Privacy or LE
/// Extended Advertising (Bumble's has both), and then waits in `hci_le_create_conn_sync()` for
/// that subevent only (Core Vol 4 Part E 7.7.65.10: with it unmasked, the controller sends
/// nothing else). Bumble 0.0.236 sends LE Connection Complete regardless; the peer script
/// rewrites it (its shim 5). Without that, every kernel cancels the "pending" connection after
/// its 20 s connection timeout, and kernels with commit a106e50be74b ("Bluetooth: HCI: Add
/// support for LL Extended Feature Set", v6.19, so 7.2 here) also hold LE Read Remote Features,
/// and with it SMP, until then: this test failed on 7.2 with "no Pair Device's end within 20s".
fn assert_le_connections_complete_as_unmasked(path: &std::path::Path, index: ControllerIndex) {
    const LE_META: u8 = 0x3e;
    const CONNECTION_COMPLETE: u8 = 0x01;
    const ENHANCED_CONNECTION_COMPLETE: u8 = 0x0a;
    const LE_SET_EVENT_MASK: u16 = 0x2001;
    const LE_CREATE_CONNECTION_CANCEL: u16 = 0x200e;
    let mut reader = CaptureReader::open(path).expect("open the capture");
    let mut enhanced_unmasked = false;
    let mut completions = Vec::new();
    while let Some(rec) = reader.read_record().expect("capture record") {
        if rec.index != index || rec.data.len() < 3 {
            continue;
        }
        let d = &rec.data;
        if rec.opcode == MonitorOpcode::COMMAND_PKT {
            match u16::from_le_bytes([d[0], d[1]]) {
                // Bit 9 of the LE event mask: LE Enhanced Connection Complete.
                LE_SET_EVENT_MASK if d.len() >= 5 => enhanced_unmasked = d[4] & 0x02 != 0,
                LE_CREATE_CONNECTION_CANCEL => {
                    panic!("the kernel cancelled an LE connection the controller had completed")
                }
                _ => {}
            }
        } else if rec.opcode == MonitorOpcode::EVENT_PKT && d[0] == LE_META {
            if let s @ (CONNECTION_COMPLETE | ENHANCED_CONNECTION_COMPLETE) = d[2] {
                completions.push((enhanced_unmasked, s));
            }
        }
    }
    assert_eq!(completions.len(), 2, "two LE connections: {completions:?}");
    for (unmasked, subevent) in completions {
        let want = if unmasked {
            ENHANCED_CONNECTION_COMPLETE
        } else {
            CONNECTION_COMPLETE
        };
        assert_eq!(
            subevent, want,
            "LE connection completed with subevent {subevent:#04x}"
        );
    }
}
