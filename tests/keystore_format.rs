//! Key store tests: every key type through BlueZ's info file format, files laid out as
//! bluetoothd writes them, corrupt files, permissions, and the one-frame limit of the Load
//! commands.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bluez_mgmt::keystore::{
    Bond, ErrorKind, KeyStore, KeyUpdate, StoreOutcome, StoredCsrk, MAX_LINK_KEYS,
};
use bluez_mgmt::protocol::keys::{
    ConnectionParameters, CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo,
    LinkKeyType, LongTermKey, LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType};

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn key(seed: u8) -> [u8; 16] {
    core::array::from_fn(|i| seed.wrapping_mul(17).wrapping_add(i as u8))
}

const ADAPTER: &str = "00:AA:01:00:00:00";

/// A bond holding every record type, for an LE static random identity that is also BR/EDR.
fn full_bond(device: Address) -> Bond {
    let le = AddressInfo::new(device, AddressType::LE_RANDOM);
    Bond {
        device,
        le_address_type: AddressType::LE_RANDOM,
        name: Some(" Kbd\\with\ttabs".to_string()),
        link_key: Some(LinkKeyInfo {
            address: AddressInfo::new(device, AddressType::BR_EDR),
            key_type: LinkKeyType::AUTHENTICATED_P256,
            value: LinkKey::new(key(1)),
            pin_length: 0,
        }),
        long_term_key: Some(LongTermKeyInfo {
            address: le.clone(),
            key_type: LongTermKeyType::AUTHENTICATED_LEGACY,
            central: 1,
            encryption_size: 16,
            ediv: 0xBEEF,
            rand: u64::MAX - 5,
            value: LongTermKey::new(key(2)),
        }),
        peripheral_long_term_key: Some(LongTermKeyInfo {
            address: le.clone(),
            key_type: LongTermKeyType::UNAUTHENTICATED_P256,
            central: 0,
            encryption_size: 7,
            ediv: 0,
            rand: 0,
            value: LongTermKey::new(key(3)),
        }),
        irk: Some(IrkInfo {
            address: le.clone(),
            value: IdentityResolvingKey::new(key(4)),
        }),
        local_csrk: Some(StoredCsrk {
            info: CsrkInfo {
                address: le.clone(),
                csrk_type: CsrkType::LOCAL_AUTHENTICATED,
                value: SignatureResolvingKey::new(key(5)),
            },
            counter: 3_000_000_000,
        }),
        remote_csrk: Some(StoredCsrk {
            info: CsrkInfo {
                address: le.clone(),
                csrk_type: CsrkType::REMOTE_UNAUTHENTICATED,
                value: SignatureResolvingKey::new(key(6)),
            },
            counter: 7,
        }),
        connection_parameters: Some(ConnectionParameters {
            address: le,
            min_interval: 6,
            max_interval: 9,
            latency: 44,
            timeout: 216,
        }),
    }
}

#[test]
fn every_key_type_round_trips_through_the_file() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let device = addr("C1:22:33:44:55:66");
    let bond = full_bond(device);
    store.write_bond(adapter, &bond).unwrap();
    let (bonds, errors) = store.bonds(adapter).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bonds, vec![bond.clone()]);

    // Written once more over itself, the file does not change by a byte.
    let path = store.info_path(adapter, device);
    let first = fs::read(&path).unwrap();
    store.write_bond(adapter, &bond).unwrap();
    assert_eq!(fs::read(&path).unwrap(), first);
}

#[test]
fn each_update_is_stored_as_the_kernel_reports_it() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let device = addr("C1:22:33:44:55:66");
    let bond = full_bond(device);
    let updates = [
        KeyUpdate::LinkKey(bond.link_key.clone().unwrap()),
        KeyUpdate::LongTermKey(bond.long_term_key.clone().unwrap()),
        KeyUpdate::LongTermKey(bond.peripheral_long_term_key.clone().unwrap()),
        KeyUpdate::Irk(bond.irk.clone().unwrap()),
        KeyUpdate::Csrk(bond.local_csrk.clone().unwrap().info),
        KeyUpdate::Csrk(bond.remote_csrk.clone().unwrap().info),
        KeyUpdate::ConnectionParameters(bond.connection_parameters.clone().unwrap()),
    ];
    for u in &updates {
        let out = store.store(adapter, true, u).unwrap();
        assert_eq!(out, StoreOutcome::Written(store.info_path(adapter, device)));
    }
    let (bonds, errors) = store.bonds(adapter).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let mut expected = bond;
    expected.name = None;
    // A new CSRK starts its counter at 0, as bluetoothd stores it.
    expected.local_csrk.as_mut().unwrap().counter = 0;
    expected.remote_csrk.as_mut().unwrap().counter = 0;
    assert_eq!(bonds, vec![expected]);

    let text = fs::read_to_string(store.info_path(adapter, device)).unwrap();
    // Key hex is upper case and in wire order (key[0] first).
    assert!(text.contains(&format!(
        "[LinkKey]\nKey={}\nType=8\nPINLength=0\n",
        key(1)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    )));
    assert!(text.contains("AddressType=static\n"));
    assert!(text.contains("SupportedTechnologies=BR/EDR;LE;\n"));
    assert!(text.contains("[PeripheralLongTermKey]") && text.contains("[SlaveLongTermKey]"));
    assert!(text.contains("Authenticated=2\nEncSize=7\nEDiv=0\nRand=0\n"));
    assert!(text.contains(&format!("EDiv=48879\nRand={}\n", u64::MAX - 5)));
}

#[test]
fn store_hint_zero_and_non_identity_addresses_are_not_stored() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let bond = full_bond(addr("C1:22:33:44:55:66"));
    let u = KeyUpdate::LinkKey(bond.link_key.unwrap());
    assert!(matches!(
        store.store(adapter, false, &u).unwrap(),
        StoreOutcome::NotStored(_)
    ));
    let mut ltk = bond.long_term_key.unwrap();
    // A resolvable private address (top bits 01) is not an identity.
    ltk.address = AddressInfo::new(addr("41:22:33:44:55:66"), AddressType::LE_RANDOM);
    assert!(matches!(
        store
            .store(adapter, true, &KeyUpdate::LongTermKey(ltk))
            .unwrap(),
        StoreOutcome::NotStored(_)
    ));
    assert!(!t.path().join(ADAPTER).exists());
}

// The files below are built from doc/settings-storage.txt and src/adapter.c store_* functions
// (store_link_key, store_ltk_group/store_longtermkey, store_irk, store_csrk, store_conn_param)
// and src/device.c store_device_info_cb, not written by bluetoothd.

/// An LE Secure Connections device as bluetoothd >= 5.63 stores it: the peripheral LTK under
/// both group names, Authenticated = MGMT LTK type 2 (unauthenticated P-256).
const LE_SC_DEVICE: &str = "\
[General]
Name=Keyboard K380
Appearance=0x03c1
AddressType=static
SupportedTechnologies=LE;
Trusted=true
Blocked=false
WakeAllowed=true
Services=00001800-0000-1000-8000-00805f9b34fb;00001801-0000-1000-8000-00805f9b34fb;

[IdentityResolvingKey]
Key=8E1F0A4B7C2D3E5F60718293A4B5C6D7

[RemoteSignatureKey]
Key=0F1E2D3C4B5A69788796A5B4C3D2E1F0
Counter=0
Authenticated=false

[LocalSignatureKey]
Key=00112233445566778899AABBCCDDEEFF
Counter=12
Authenticated=true

[PeripheralLongTermKey]
Key=A1B2C3D4E5F60718293A4B5C6D7E8F90
Authenticated=2
EncSize=16
EDiv=0
Rand=0

[SlaveLongTermKey]
Key=A1B2C3D4E5F60718293A4B5C6D7E8F90
Authenticated=2
EncSize=16
EDiv=0
Rand=0

[DeviceID]
Source=2
Vendor=1133
Product=45890
Version=4865

[ConnectionParameters]
MinInterval=6
MaxInterval=9
Latency=44
Timeout=216
";

/// A BR/EDR headset: link key type 4 (unauthenticated P-192).
const BREDR_DEVICE: &str = "\
[General]
Name=Headset
Class=0x240404
SupportedTechnologies=BR/EDR;
Trusted=true
Blocked=false
Services=0000110b-0000-1000-8000-00805f9b34fb;0000110e-0000-1000-8000-00805f9b34fb;

[DeviceID]
Source=1
Vendor=29
Product=4660
Version=256

[LinkKey]
Key=0102030405060708090A0B0C0D0E0F10
Type=4
PINLength=0
";

/// A legacy-paired LE device with a public address and a central key.
const LE_LEGACY_DEVICE: &str = "\
[General]
Name=Thermometer
AddressType=public
SupportedTechnologies=LE;
Trusted=false
Blocked=false

[LongTermKey]
Key=FFEEDDCCBBAA99887766554433221100
Authenticated=1
EncSize=16
EDiv=30001
Rand=12345678901234567890
";

/// An older file: only `[SlaveLongTermKey]`, `0x` key, `0x` little-endian Rand.
const OLD_DEVICE: &str = "\
[General]
Name=Old Tag
SupportedTechnologies=LE;
Trusted=false
Blocked=false

[SlaveLongTermKey]
Key=0x00112233445566778899aabbccddeeff
Authenticated=0
EncSize=16
EDiv=4660
Rand=0x0100000000000000
";

fn put(root: &Path, device: &str, text: &[u8]) {
    let d = root.join(ADAPTER).join(device);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("info"), text).unwrap();
}

#[test]
fn files_in_bluetoothd_layout_read_and_rewrite_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    put(t.path(), "C0:11:22:33:44:55", LE_SC_DEVICE.as_bytes());
    put(t.path(), "00:1B:66:00:00:01", BREDR_DEVICE.as_bytes());
    put(t.path(), "00:1B:66:00:00:02", LE_LEGACY_DEVICE.as_bytes());
    // Not devices: bluetoothd's own files beside the device directories.
    fs::write(t.path().join(ADAPTER).join("settings"), "[General]\n").unwrap();
    fs::create_dir_all(t.path().join(ADAPTER).join("cache")).unwrap();
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let (bonds, errors) = store.bonds(adapter).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bonds.len(), 3);

    let bredr = &bonds[0];
    assert_eq!(bredr.device, addr("00:1B:66:00:00:01"));
    let lk = bredr.link_key.as_ref().unwrap();
    assert_eq!(lk.value.expose(), &core::array::from_fn(|i| i as u8 + 1));
    assert_eq!(lk.key_type, LinkKeyType::UNAUTHENTICATED_P192);
    assert_eq!(lk.address.address_type, AddressType::BR_EDR);
    assert!(!bredr.is_authenticated());

    let legacy = &bonds[1];
    let ltk = legacy.long_term_key.as_ref().unwrap();
    assert_eq!(ltk.central, 1);
    assert_eq!(ltk.key_type, LongTermKeyType::AUTHENTICATED_LEGACY);
    assert_eq!(ltk.ediv, 30001);
    assert_eq!(ltk.rand, 12345678901234567890);
    assert_eq!(ltk.address.address_type, AddressType::LE_PUBLIC);
    assert!(legacy.is_authenticated());

    let sc = &bonds[2];
    assert_eq!(sc.name.as_deref(), Some("Keyboard K380"));
    assert_eq!(sc.le_address_type, AddressType::LE_RANDOM);
    let p = sc.peripheral_long_term_key.as_ref().unwrap();
    assert_eq!(p.central, 0);
    assert_eq!(p.key_type, LongTermKeyType::UNAUTHENTICATED_P256);
    assert_eq!(p.value.expose()[0], 0xA1);
    assert!(sc.long_term_key.is_none());
    assert_eq!(sc.irk.as_ref().unwrap().value.expose()[15], 0xD7);
    let local = sc.local_csrk.as_ref().unwrap();
    assert_eq!(local.info.csrk_type, CsrkType::LOCAL_AUTHENTICATED);
    assert_eq!(local.counter, 12);
    assert_eq!(
        sc.remote_csrk.as_ref().unwrap().info.csrk_type,
        CsrkType::REMOTE_UNAUTHENTICATED
    );
    assert_eq!(sc.connection_parameters.as_ref().unwrap().timeout, 216);

    // Writing each bond back over its own file changes nothing: [DeviceID], Services and the
    // other groups we do not own stay, and our groups come out exactly as bluetoothd writes.
    for (bond, text) in bonds
        .iter()
        .zip([BREDR_DEVICE, LE_LEGACY_DEVICE, LE_SC_DEVICE])
    {
        store.write_bond(adapter, bond).unwrap();
        let written = fs::read_to_string(store.info_path(adapter, bond.device)).unwrap();
        assert_eq!(written, text, "rewrite of {}", bond.device);
    }
}

#[test]
fn older_files_read_and_new_keys_keep_foreign_groups() {
    let t = tempfile::tempdir().unwrap();
    let device = "C0:00:00:00:00:07";
    put(t.path(), device, OLD_DEVICE.as_bytes());
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let (bonds, errors) = store.bonds(adapter).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let k = bonds[0].peripheral_long_term_key.as_ref().unwrap();
    assert_eq!(k.value.expose()[1], 0x11);
    assert_eq!(k.rand, 1, "0x Rand is the 8 bytes little-endian");
    assert_eq!(k.ediv, 4660);
    // No AddressType: LE public, as get_le_addr_type() decides.
    assert_eq!(k.address.address_type, AddressType::LE_PUBLIC);

    // A new IRK goes in; everything else stays as it was, line for line.
    let irk = IrkInfo {
        address: AddressInfo::new(addr(device), AddressType::LE_PUBLIC),
        value: IdentityResolvingKey::new(key(9)),
    };
    store.store(adapter, true, &KeyUpdate::Irk(irk)).unwrap();
    let text = fs::read_to_string(store.info_path(adapter, addr(device))).unwrap();
    // The new [General] key goes after the group's last key, as GLib adds keys.
    let expected = OLD_DEVICE.replacen("Blocked=false\n", "Blocked=false\nAddressType=public\n", 1)
        + &format!(
            "\n[IdentityResolvingKey]\nKey={}\n",
            key(9)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
    assert_eq!(text, expected);
}

#[test]
fn corrupt_files_name_file_and_line_and_other_bonds_still_load() {
    let t = tempfile::tempdir().unwrap();
    put(t.path(), "00:1B:66:00:00:01", BREDR_DEVICE.as_bytes());
    let cases: [(&str, Vec<u8>, usize); 6] = [
        (
            "00:00:00:00:00:01",
            BREDR_DEVICE.replace("Key=0102", "Key=01G2").into_bytes(),
            16,
        ),
        (
            "00:00:00:00:00:02",
            BREDR_DEVICE.replace("Type=4", "Type 4").into_bytes(),
            17,
        ),
        (
            "00:00:00:00:00:03",
            BREDR_DEVICE.replace("0F10\n", "0F\n").into_bytes(),
            16,
        ),
        (
            "00:00:00:00:00:04",
            BREDR_DEVICE
                .replace("Name=Headset", "Name=Head\u{1}")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xFF } else { b })
                .collect(),
            2,
        ),
        (
            "00:00:00:00:00:05",
            BREDR_DEVICE.as_bytes()[..BREDR_DEVICE.find("0708").unwrap()].to_vec(),
            16,
        ),
        (
            "00:00:00:00:00:06",
            LE_LEGACY_DEVICE.replace("EncSize=16\n", "").into_bytes(),
            8,
        ),
    ];
    for (device, bytes, _) in &cases {
        put(t.path(), device, bytes);
    }
    let store = KeyStore::open(t.path());
    let (bonds, errors) = store.bonds(addr(ADAPTER)).unwrap();
    assert_eq!(bonds.len(), 1, "the good bond loads");
    assert_eq!(bonds[0].device, addr("00:1B:66:00:00:01"));
    assert_eq!(errors.len(), cases.len());
    for ((device, _, line), e) in cases.iter().zip(&errors) {
        println!("{e}");
        assert_eq!(e.path, t.path().join(ADAPTER).join(device).join("info"));
        assert_eq!(e.line, Some(*line), "{e}");
        assert!(e.to_string().contains(&format!("info:{line}: ")), "{e}");
    }
}

#[test]
fn unparsable_file_is_kept_aside_when_a_new_key_arrives() {
    let t = tempfile::tempdir().unwrap();
    let device = "00:1B:66:00:00:09";
    put(t.path(), device, b"[General]\nthis is not a key file\n");
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let lk = full_bond(addr(device)).link_key.unwrap();
    store.store(adapter, true, &KeyUpdate::LinkKey(lk)).unwrap();
    let dir = t.path().join(ADAPTER).join(device);
    let aside: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("info.unparsable.")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        fs::read(aside[0].path()).unwrap(),
        b"[General]\nthis is not a key file\n"
    );
    let (bonds, errors) = store.bonds(adapter).unwrap();
    assert!(errors.is_empty());
    assert!(bonds[0].link_key.is_some());
}

#[test]
fn files_are_0600_and_directories_0700_whatever_the_umask() {
    // The umask is per process: setting it to 0 here would give the temporary directories
    // other tests create meanwhile mode 0777, which the store rightly refuses. So the body
    // runs alone, in a child process of this test binary.
    const CHILD: &str = "KEYSTORE_FORMAT_UMASK_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "files_are_0600_and_directories_0700_whatever_the_umask",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .status()
            .unwrap();
        assert!(
            status.success(),
            "the umask check failed in its child: {status}"
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("bluetooth");
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let store = KeyStore::open(&root);
    let adapter = addr(ADAPTER);
    let device = addr("C1:22:33:44:55:66");
    let result = store.write_bond(adapter, &full_bond(device));
    nix::sys::stat::umask(old);
    result.unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join(ADAPTER)), 0o700);
    assert_eq!(mode(&root.join(ADAPTER).join(device.to_string())), 0o700);
    assert_eq!(mode(&store.info_path(adapter, device)), 0o600);
    // The only entry in the device directory is the info file (no temp file left).
    let names: Vec<_> = fs::read_dir(root.join(ADAPTER).join(device.to_string()))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["info"]);
}

#[test]
fn remove_deletes_the_device_directory() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let adapter = addr(ADAPTER);
    let a = addr("C1:22:33:44:55:66");
    let b = addr("C1:22:33:44:55:77");
    store.write_bond(adapter, &full_bond(a)).unwrap();
    store.write_bond(adapter, &full_bond(b)).unwrap();
    fs::write(
        t.path()
            .join(ADAPTER)
            .join(a.to_string())
            .join("attributes"),
        "",
    )
    .unwrap();
    assert!(store.remove(adapter, a).unwrap());
    assert!(!store.remove(adapter, a).unwrap());
    let (bonds, _) = store.bonds(adapter).unwrap();
    assert_eq!(bonds.iter().map(|b| b.device).collect::<Vec<_>>(), vec![b]);
    assert_eq!(fs::read_dir(t.path().join(ADAPTER)).unwrap().count(), 1);
}

#[test]
fn load_lists_refuse_more_keys_than_one_frame_carries() {
    let t = tempfile::tempdir().unwrap();
    let adapter = addr(ADAPTER);
    let one = |i: usize| {
        let d = Address::from_display_bytes([0, 0x1B, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        put(t.path(), &d.to_string(), BREDR_DEVICE.as_bytes());
    };
    for i in 0..MAX_LINK_KEYS {
        one(i);
    }
    let store = KeyStore::open(t.path());
    let (lists, errors) = store.load_lists(adapter).unwrap();
    assert!(errors.is_empty());
    assert_eq!(lists.link_keys.len(), MAX_LINK_KEYS);
    // Load Link Keys: debug flag (1) + count (2) + 25 per key fits in 65535.
    assert!(3 + 25 * lists.link_keys.len() <= 65535);

    one(MAX_LINK_KEYS);
    let err = store.load_lists(adapter).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyKeys);
    assert!(err.to_string().contains("2622 link keys"), "{err}");
}

#[test]
fn load_lists_skip_records_the_kernel_would_reject() {
    let t = tempfile::tempdir().unwrap();
    let adapter = addr(ADAPTER);
    put(t.path(), "C0:11:22:33:44:55", LE_SC_DEVICE.as_bytes());
    // Random address that is not static: bluetoothd skips its LTK too.
    put(t.path(), "40:11:22:33:44:55", LE_SC_DEVICE.as_bytes());
    put(
        t.path(),
        "00:1B:66:00:00:01",
        BREDR_DEVICE.replace("Type=4", "Type=9").as_bytes(),
    );
    let store = KeyStore::open(t.path());
    let (lists, errors) = store.load_lists(adapter).unwrap();
    assert!(errors.is_empty());
    assert!(lists.link_keys.is_empty());
    assert_eq!(lists.long_term_keys.len(), 1);
    assert_eq!(
        lists.long_term_keys[0].address.address,
        addr("C0:11:22:33:44:55")
    );
    assert_eq!(lists.irks.len(), 1);
    assert_eq!(lists.connection_parameters.len(), 1);
}

#[test]
fn a_damaged_group_is_reported_and_the_rest_of_the_bond_still_loads() {
    let t = tempfile::tempdir().unwrap();
    // Bad hex in [PeripheralLongTermKey] (line 25): its duplicate [SlaveLongTermKey] is used.
    // Bad IRK (line 12): left out. Everything else of the device loads.
    let damaged = LE_SC_DEVICE
        .replacen("Key=A1B2", "Key=Z1B2", 1)
        .replace("Key=8E1F0A4B7C2D3E5F60718293A4B5C6D7", "Key=8E1F");
    put(t.path(), "C0:11:22:33:44:55", damaged.as_bytes());
    let store = KeyStore::open(t.path());
    let (bonds, errors) = store.bonds(addr(ADAPTER)).unwrap();
    let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![Some(25), Some(12)], "{errors:?}");
    assert_eq!(bonds.len(), 1);
    let b = &bonds[0];
    assert!(b.irk.is_none());
    assert_eq!(
        b.peripheral_long_term_key.as_ref().unwrap().value.expose()[0],
        0xA1
    );
    assert!(b.local_csrk.is_some() && b.remote_csrk.is_some());
    assert!(b.connection_parameters.is_some());
}

#[test]
fn le_only_adapter_with_a_static_address_uses_bluetoothds_static_directory() {
    use bluez_mgmt::keystore::AdapterId;
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    let public = addr(ADAPTER);
    let le_only = AdapterId::static_random(addr("C3:00:00:00:00:AA"));
    let device = addr("C1:22:33:44:55:66");
    store.write_bond(le_only, &full_bond(device)).unwrap();
    store.write_bond(public, &full_bond(device)).unwrap();
    assert!(t
        .path()
        .join("static-C3:00:00:00:00:AA/C1:22:33:44:55:66/info")
        .is_file());
    assert_eq!(store.adapters().unwrap(), vec![public.into(), le_only]);
    assert_eq!(store.bonds(le_only).unwrap().0.len(), 1);
}
