//! The largest commands against the real kernel: the control socket's send MTU is raised to
//! 65,535 octets, every Load command at the kernel's maximum count is accepted (Command
//! Complete, Success), one entry more is refused by the client before anything is written, and
//! an agent whose store holds 1,800 LE bonds and 2,000 BR/EDR bonds for one controller loads
//! them all, after which a bonded peer among them reconnects encrypted with no pairing.
//!
//! Captures: `load_limits_maximum` (the five Load commands at their maximum) and
//! `load_limits_big_store` (the big store loaded, then the reconnection).

use std::path::Path;
use std::time::Instant;

use bluez_mgmt::client::{Client, ErrorKind};
use bluez_mgmt::keystore::{KeyStore, KeyUpdate};
use bluez_mgmt::protocol::command::limits::{CountedList, COUNTED_LISTS, MAX_COMMAND_FRAME_LEN};
use bluez_mgmt::protocol::keys::{
    IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo, LinkKeyType, LongTermKey, LongTermKeyInfo,
    LongTermKeyType,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, ControllerIndex, Opcode};
use bluez_mgmt::socket::MgmtSocket;

use super::bonds::{bluetoothd_store, reconnect, Link, CENTRAL};
use super::support::{Btvirt, Capture};

/// A distinct address per entry: `00:<tag>:00:00:<hi>:<lo>`.
fn address(tag: u8, i: usize) -> Address {
    Address::from_display_bytes([0x00, tag, 0x00, 0x00, (i >> 8) as u8, i as u8])
}

/// Entry `i` of `opcode`'s list, as the kernel validates it (mgmt.c): BR/EDR addresses for
/// link keys (type at most 0x08), LE public identity addresses for LTKs, IRKs and connection
/// parameters, key values distinct from the blocked one.
fn entry(opcode: Opcode, i: usize) -> Vec<u8> {
    let mut e = Vec::new();
    let addr = |e: &mut Vec<u8>, tag, kind: AddressType| {
        e.extend_from_slice(&address(tag, i).0);
        e.push(kind.0);
    };
    match opcode {
        Opcode::LOAD_LINK_KEYS => {
            addr(&mut e, 0xcc, AddressType::BR_EDR);
            e.push(0x04); // Unauthenticated Combination P-192
            e.extend_from_slice(&[0x11; 16]);
            e.push(0); // PIN length
        }
        Opcode::LOAD_LONG_TERM_KEYS => {
            addr(&mut e, 0xbb, AddressType::LE_PUBLIC);
            e.extend_from_slice(&[0x03, 0x00, 16]); // Authenticated P-256, peripheral, size 16
            e.extend_from_slice(&[0; 2 + 8]); // EDIV, Rand
            e.extend_from_slice(&[0x22; 16]);
        }
        Opcode::LOAD_IRKS => {
            addr(&mut e, 0xbb, AddressType::LE_PUBLIC);
            e.extend_from_slice(&[0x33; 16]);
        }
        Opcode::LOAD_CONN_PARAM => {
            addr(&mut e, 0xbb, AddressType::LE_PUBLIC);
            for v in [24u16, 40, 0, 500] {
                // min and max interval (30, 50 ms), latency, supervision timeout (5 s)
                e.extend_from_slice(&v.to_le_bytes());
            }
        }
        Opcode::SET_BLOCKED_KEYS => {
            e.push(0x00); // a link key
            e.extend_from_slice(&[0xee; 16]);
        }
        other => panic!("no Load command {other:?}"),
    }
    e
}

/// The parameters of `list`'s command with `count` entries.
fn params(list: &CountedList, count: usize) -> Vec<u8> {
    let mut p = vec![0u8; list.fixed_len];
    p[list.count_offset..list.count_offset + 2].copy_from_slice(&(count as u16).to_le_bytes());
    for i in 0..count {
        p.extend(entry(list.opcode, i));
    }
    assert_eq!(p.len(), list.params_len(count));
    p
}

#[tokio::test]
async fn every_load_command_at_its_maximum_count_is_accepted() {
    let capture = Capture::start("load_limits_maximum");
    let virt = Btvirt::start().await;
    let index: ControllerIndex = virt.indexes[0];
    let socket = MgmtSocket::open().expect("MGMT socket");
    assert_eq!(socket.send_mtu(), MAX_COMMAND_FRAME_LEN, "BT_SNDMTU raised");
    drop(socket);
    let client = Client::open().await.expect("MGMT client");
    client
        .controller(index)
        .power(false)
        .await
        .expect("power off");
    for list in COUNTED_LISTS {
        let max = list.max_count();
        let p = params(&list, max);
        let len = p.len();
        let started = Instant::now();
        client
            .submit_raw(index, list.opcode, p, None)
            .await
            .unwrap_or_else(|e| panic!("{:?} with {max} entries: {e}", list.opcode));
        println!(
            "{:?}: {max} entries, {} byte frame: Success in {:?}",
            list.opcode,
            len + 6,
            started.elapsed()
        );
        let err = client
            .submit_raw(index, list.opcode, params(&list, max + 1), None)
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::CommandTooLong {
                opcode: list.opcode,
                index
            },
            "{err}"
        );
    }
    // The client still works after the refusals.
    client.controller(index).info().await.expect("Read Info");
    drop(client);
    drop(virt);
    capture.finish();
}

/// Adds `le` LE bonds (Secure Connections LTK and IRK) and `bredr` BR/EDR bonds (link key) to
/// `adapter`'s directory in the store at `dir`. The first of each kind is written through
/// [`KeyStore::store`]; the others are copies of its info file under their own device
/// directory (the same modes), which is much faster under TCG than thousands of durable
/// writes.
fn add_bonds(dir: &Path, adapter: Address, le: usize, bredr: usize) {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let store = KeyStore::open(dir);
    let le_first = AddressInfo::new(address(0xbb, 0), AddressType::LE_PUBLIC);
    let ltk = LongTermKeyInfo {
        address: le_first.clone(),
        key_type: LongTermKeyType::AUTHENTICATED_P256,
        central: 0,
        encryption_size: 16,
        ediv: 0,
        rand: 0,
        value: LongTermKey::new([0x22; 16]),
    };
    let irk = IrkInfo {
        address: le_first,
        value: IdentityResolvingKey::new([0x33; 16]),
    };
    for update in [KeyUpdate::LongTermKey(ltk), KeyUpdate::Irk(irk)] {
        store
            .store(adapter, true, &update)
            .expect("store an LE key");
    }
    let key = LinkKeyInfo {
        address: AddressInfo::new(address(0xcc, 0), AddressType::BR_EDR),
        key_type: LinkKeyType::UNAUTHENTICATED_P192,
        value: LinkKey::new([0x11; 16]),
        pin_length: 0,
    };
    store
        .store(adapter, true, &KeyUpdate::LinkKey(key))
        .expect("store a link key");
    for (tag, count) in [(0xbb, le), (0xcc, bredr)] {
        let text = std::fs::read(store.info_path(adapter, address(tag, 0))).unwrap();
        for i in 1..count {
            let device_dir = store.adapter_dir(adapter).join(address(tag, i).to_string());
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&device_dir)
                .unwrap();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(device_dir.join("info"))
                .unwrap();
            std::io::Write::write_all(&mut f, &text).unwrap();
        }
    }
}

/// 1,800 LE bonds and 2,000 BR/EDR bonds for one controller (bluetoothd's bond with the other
/// btvirt controller among them): the agent's bond keeper loads every one (each Load command
/// answered Success), powers on, and the bonded peer reconnects encrypted with no pairing.
#[tokio::test]
async fn an_agent_loads_1800_le_and_2000_bredr_bonds_and_a_peer_reconnects() {
    const LE: usize = 1800;
    const BREDR: usize = 2000;
    let dirs = bluetoothd_store(Link::BrEdr);
    let central: Address = CENTRAL.parse().unwrap();
    let (base, _) = KeyStore::open(&dirs[0]).load_lists(central).unwrap();
    let started = Instant::now();
    // The bluetoothd bond is BR/EDR bond number 2,000.
    add_bonds(&dirs[0], central, LE, BREDR - base.link_keys.len());
    println!(
        "store written: {LE} LE + {} BR/EDR bonds in {:?}",
        BREDR - base.link_keys.len(),
        started.elapsed()
    );
    // btmon reads the monitor socket with the default receive buffer (rmem_default, 208 KiB
    // here); the three Load commands of this store alone take about 160 KB, and under TCG
    // the frames that follow (the power-on, the connection) were dropped by the kernel before
    // btmon caught up. A larger default for the sockets opened from now on (btmon's) keeps
    // the capture whole.
    std::fs::write("/proc/sys/net/core/rmem_default", "8388608").expect("raise rmem_default");
    // Without the device policies: 1,801 Add Device exchanges flood btmon, whose capture
    // then loses the Encryption Change this test checks (seen: a 3 s capture, no Load frame).
    let loads = reconnect(Link::BrEdr, &dirs, "load_limits_big_store", false).await;
    let central_summary = &loads[0].1;
    println!("central set up: {central_summary}");
    // bluetoothd's bond brings one LTK of its own (its cross-transport key). The summary is
    // the service's report of what each Load command (answered Success) carried.
    let expected = format!(
        "loaded {BREDR} link key(s), {} long term key(s), {} IRK(s)",
        LE + base.long_term_keys.len(),
        LE + base.irks.len()
    );
    assert!(
        central_summary.contains(&expected),
        "the central's set-up: {central_summary:?}, expected {expected:?}"
    );
    assert!(
        loads[1].1.contains("loaded 1 link key(s)"),
        "the peripheral's bond: {:?}",
        loads[1].1
    );
}
