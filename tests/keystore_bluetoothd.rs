//! The key store reads bond files that BlueZ's own bluetoothd wrote: fixtures/bluetoothd/,
//! made by `tests/kernel/bluetoothd-bonds` (bluetoothd 5.66 pairing btvirt's two controllers
//! through bluetoothctl; recipe in fixtures/README.md). Each transport has both sides' storage
//! directories, so the keys of one side must mirror the other's: the same link key, the same
//! LTK, our signature key is the peer's remote one. Rewriting a file keeps every group we do
//! not own (General, DeviceID, ServiceChanged) as bluetoothd wrote it.

use std::path::{Path, PathBuf};

use bluez_mgmt::keystore::{Bond, KeyStore, KeyUpdate};
use bluez_mgmt::protocol::keys::{LinkKeyType, LongTermKeyType};
use bluez_mgmt::protocol::{Address, AddressType};

mod support;
use support::fixture;

const A: &str = "00:AA:01:00:00:00";
const B: &str = "00:AA:01:01:00:01";

fn dir(transport: &str) -> PathBuf {
    fixture("bluetoothd").join(transport)
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

/// The one bond `own` holds for `other`, read without errors.
fn bond(root: &Path, own: &str, other: &str) -> Bond {
    let store = KeyStore::open(root);
    let (bonds, errors) = store.bonds(addr(own)).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bonds.len(), 1, "{own}: {bonds:?}");
    assert_eq!(bonds[0].device, addr(other));
    assert_eq!(bonds[0].name.as_deref(), Some("BlueZ 5.66"));
    bonds[0].clone()
}

#[test]
fn both_adapters_of_each_run_are_found() {
    for t in ["bredr", "le"] {
        let adapters = KeyStore::open(dir(t)).adapters().unwrap();
        assert_eq!(
            adapters,
            vec![addr(A).into(), addr(B).into()],
            "{t}: settings files and cache/ directories are not adapters or devices"
        );
    }
}

#[test]
fn bredr_bond_mirrors_across_the_two_sides() {
    let root = dir("bredr");
    let (a, b) = (bond(&root, A, B), bond(&root, B, A));
    let (ka, kb) = (a.link_key.unwrap(), b.link_key.unwrap());
    assert_eq!(ka.value, kb.value, "one link key, stored by both");
    // btvirt's link manager: authenticated P-256 key (Type=8), no PIN.
    assert_eq!(ka.key_type, LinkKeyType::AUTHENTICATED_P256);
    assert_eq!(ka.address.address_type, AddressType::BR_EDR);
    assert_eq!(ka.pin_length, 0);
    // Cross-transport key derivation also gave an LE LTK and signature keys.
    assert_eq!(
        a.peripheral_long_term_key.as_ref().unwrap().value,
        b.peripheral_long_term_key.as_ref().unwrap().value
    );
    assert_eq!(
        a.local_csrk.unwrap().info.value,
        b.remote_csrk.unwrap().info.value
    );
}

#[test]
fn le_secure_connections_bond_mirrors_across_the_two_sides() {
    let root = dir("le");
    let (a, b) = (bond(&root, A, B), bond(&root, B, A));
    assert!(a.link_key.is_none(), "LE only: no link key");
    // bluetoothd 5.66 keeps an SC LTK as [PeripheralLongTermKey] (plus the old
    // [SlaveLongTermKey] name) on both sides; Authenticated=3 is an authenticated P-256 key.
    let (la, lb) = (
        a.peripheral_long_term_key.clone().unwrap(),
        b.peripheral_long_term_key.clone().unwrap(),
    );
    assert_eq!(la.value, lb.value);
    assert_eq!(la.key_type, LongTermKeyType::AUTHENTICATED_P256);
    assert_eq!((la.encryption_size, la.ediv, la.rand), (16, 0, 0));
    assert_eq!(la.address.address_type, AddressType::LE_PUBLIC);
    assert_eq!(a.le_address_type, AddressType::LE_PUBLIC);
    assert_eq!(
        a.remote_csrk.unwrap().info.value,
        b.local_csrk.unwrap().info.value
    );
}

#[test]
fn load_commands_carry_the_bluetoothd_keys() {
    for (t, link_keys) in [("bredr", 1), ("le", 0)] {
        for own in [A, B] {
            let (cmds, errors) = KeyStore::open(dir(t)).load_commands(addr(own)).unwrap();
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(cmds.link_keys.keys.0.len(), link_keys, "{t} {own}");
            assert_eq!(cmds.long_term_keys.keys.0.len(), 1, "{t} {own}");
            assert_eq!(cmds.irks.keys.0.len(), 0, "no privacy: no IRK distributed");
        }
    }
}

#[test]
fn storing_a_new_key_keeps_bluetoothds_other_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let src = dir("le").join(A).join(B).join("info");
    let store = KeyStore::open(tmp.path());
    let info = store.info_path(addr(A), addr(B));
    std::fs::create_dir_all(info.parent().unwrap()).unwrap();
    std::fs::copy(&src, &info).unwrap();
    let original = std::fs::read_to_string(&src).unwrap();

    // Re-store the LTK bluetoothd wrote, through our writer.
    let ltk = bond(&dir("le"), A, B).peripheral_long_term_key.unwrap();
    store
        .store(addr(A), true, &KeyUpdate::LongTermKey(ltk.clone()))
        .unwrap();
    let rewritten = std::fs::read_to_string(&info).unwrap();
    for group in ["[General]", "[DeviceID]", "[ServiceChanged]"] {
        let section = |s: &str| {
            let start = s.find(group).unwrap();
            let rest = &s[start..];
            let end = rest[1..].find("\n[").map_or(rest.len(), |e| e + 1);
            rest[..end].trim_end().to_string()
        };
        assert_eq!(section(&rewritten), section(&original), "{group} changed");
    }
    let (bonds, errors) = store.bonds(addr(A)).unwrap();
    assert!(errors.is_empty());
    assert_eq!(bonds[0].peripheral_long_term_key.as_ref(), Some(&ltk));
}

/// `(group, key, value)` of every entry, in file order.
fn entries(text: &str) -> Vec<(String, String, String)> {
    let mut group = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = g.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((group.clone(), k.to_string(), v.to_string()));
        }
    }
    out
}

/// A copy of adapter A's whole directory of one run (info, cache, attributes, settings).
fn copy_adapter(transport: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&dir(transport).join(A), &to.join(A));
    use std::os::unix::fs::PermissionsExt;
    for d in [to.to_path_buf(), to.join(A)] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// Names, class and appearance learned later, Blocked and WakeAllowed: written into
/// bluetoothd's own files changing only those keys; every other key, group and line stays,
/// in order. Block then unblock, and WakeAllowed set then cleared, give the file back byte
/// for byte.
#[test]
fn device_information_round_trips_keep_every_other_key() {
    use bluez_mgmt::keystore::device_info::{self, Learned};
    use bluez_mgmt::keystore::device_policy;
    use bluez_mgmt::protocol::{AddressInfo, ClassOfDevice};
    for (t, device_type) in [
        ("bredr", AddressType::BR_EDR),
        ("le", AddressType::LE_PUBLIC),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        copy_adapter(t, tmp.path());
        let store = KeyStore::open(tmp.path());
        let device = AddressInfo::new(addr(B), device_type);
        let info = store.info_path(addr(A), addr(B));
        let cache = tmp.path().join(A).join("cache").join(B);
        let (info0, cache0) = (
            std::fs::read_to_string(&info).unwrap(),
            std::fs::read_to_string(&cache).unwrap(),
        );

        let learned = Learned {
            name: Some("kitchen speaker".into()),
            name_complete: true,
            class: Some(ClassOfDevice([0x14, 0x04, 0x24])),
            appearance: Some(0x0841),
        };
        let written = store.remember(addr(A), &device, &learned).unwrap();
        assert_eq!(written.info.as_ref(), Some(&info), "{t}");
        assert_eq!(written.cache.as_ref(), Some(&cache), "{t}");
        let (info1, cache1) = (
            std::fs::read_to_string(&info).unwrap(),
            std::fs::read_to_string(&cache).unwrap(),
        );
        // In each file only those keys changed (the cache holds only the name).
        let changed = ["Name", "Class", "Appearance"];
        let keep = |e: &Vec<(String, String, String)>| -> Vec<_> {
            e.iter()
                .filter(|(g, k, _)| !(g == "General" && changed.contains(&k.as_str())))
                .cloned()
                .collect()
        };
        let cached = entries(&cache1);
        assert_eq!(keep(&cached), keep(&entries(&cache0)), "{t}");
        assert!(cached.contains(&("General".into(), "Name".into(), "kitchen speaker".into())));
        assert_eq!(cached.iter().filter(|(g, _, _)| g == "General").count(), 1);
        let (before, after) = (entries(&info0), entries(&info1));
        assert_eq!(keep(&after), keep(&before), "{t}");
        let general = |k: &str| {
            after
                .iter()
                .find(|(g, key, _)| g == "General" && key == k)
                .map(|(_, _, v)| v.as_str())
        };
        assert_eq!(general("Name"), Some("kitchen speaker"));
        assert_eq!(general("Class"), Some("0x240414"));
        assert_eq!(general("Appearance"), Some("0x0841"));
        assert_eq!(
            store.bonds(addr(A)).unwrap().0[0].name.as_deref(),
            Some("kitchen speaker")
        );

        // Block, unblock: bluetoothd's `Blocked=false` comes back; the file is as before.
        device_policy::set_blocked(&store, addr(A), &device, true).unwrap();
        let blocked = std::fs::read_to_string(&info).unwrap();
        assert!(blocked.contains("\nBlocked=true\n"), "{blocked}");
        let p = device_policy::policies(&store, addr(A)).unwrap();
        assert!(p.len() == 1 && p[0].blocked && !p[0].auto_connect, "{p:?}");
        device_policy::set_blocked(&store, addr(A), &device, false).unwrap();
        assert_eq!(std::fs::read_to_string(&info).unwrap(), info1, "{t}");

        // WakeAllowed: recorded, read back, removed: the file is as before.
        device_info::set_wake_allowed(&store, addr(A), addr(B), Some(false)).unwrap();
        let text = std::fs::read_to_string(&info).unwrap();
        assert_eq!(
            keep(&entries(&text)).len(),
            keep(&before).len() + 1,
            "{text}"
        );
        assert!(text.contains("\nWakeAllowed=false\n"), "{text}");
        device_info::set_wake_allowed(&store, addr(A), addr(B), None).unwrap();
        assert_eq!(std::fs::read_to_string(&info).unwrap(), info1, "{t}");

        // The bluetoothd bond's policy: both runs left an LTK (the BR/EDR one derived it
        // across transports) and list LE with a public address: auto-connect, on the LE
        // address.
        let p = device_policy::policies(&store, addr(A)).unwrap();
        assert!(p.len() == 1 && p[0].auto_connect, "{p:?}");
        assert_eq!(
            p[0].device,
            AddressInfo::new(addr(B), AddressType::LE_PUBLIC)
        );
    }
}
