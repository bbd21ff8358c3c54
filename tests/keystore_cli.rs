//! `mgmtctl bonds` against a store written through the key store API: one line per bond, key
//! bytes only with `--show-keys`, corrupt files reported with file and line.

use std::process::Command;

use bluez_mgmt::keystore::{KeyStore, KeyUpdate};
use bluez_mgmt::protocol::keys::{
    IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo, LinkKeyType, LongTermKey, LongTermKeyInfo,
    LongTermKeyType,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType};

const LINK_KEY_HEX: &str = "00112233445566778899AABBCCDDEEFF";

fn setup(dir: &std::path::Path) {
    let store = KeyStore::open(dir);
    let adapter: Address = "00:AA:01:00:00:00".parse().unwrap();
    let classic: Address = "00:1B:66:00:00:01".parse().unwrap();
    let le: Address = "C0:11:22:33:44:55".parse().unwrap();
    let lk: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
    store
        .store(
            adapter,
            true,
            &KeyUpdate::LinkKey(LinkKeyInfo {
                address: AddressInfo::new(classic, AddressType::BR_EDR),
                key_type: LinkKeyType::UNAUTHENTICATED_P192,
                value: LinkKey::new(lk),
                pin_length: 0,
            }),
        )
        .unwrap();
    let le_info = AddressInfo::new(le, AddressType::LE_RANDOM);
    store
        .store_all(
            adapter,
            le,
            &[
                KeyUpdate::LongTermKey(LongTermKeyInfo {
                    address: le_info.clone(),
                    key_type: LongTermKeyType::AUTHENTICATED_P256,
                    central: 0,
                    encryption_size: 16,
                    ediv: 0,
                    rand: 0,
                    value: LongTermKey::new([0x5A; 16]),
                }),
                KeyUpdate::Irk(IrkInfo {
                    address: le_info,
                    value: IdentityResolvingKey::new([0xA5; 16]),
                }),
            ],
        )
        .unwrap();
}

fn mgmtctl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn bonds_lists_without_key_bytes_unless_asked() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let dir = t.path().to_str().unwrap();

    let (ok, out, err) = mgmtctl(&["bonds", "--dir", dir]);
    assert!(ok, "{err}");
    println!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].contains("00:1B:66:00:00:01") && lines[1].contains("BR/EDR"));
    assert!(lines[1].contains("link-key") && lines[1].contains("unauthenticated"));
    assert!(lines[2].contains("C0:11:22:33:44:55") && lines[2].contains("LE static"));
    assert!(lines[2].contains("LTK(peripheral),IRK"));
    assert!(lines[2].contains("authenticated,SC"));
    assert!(!out.contains(LINK_KEY_HEX) && !out.contains("5A5A5A"));

    let (ok, out, _) = mgmtctl(&[
        "bonds",
        "--dir",
        dir,
        "--adapter",
        "00:AA:01:00:00:00",
        "--show-keys",
    ]);
    assert!(ok);
    assert!(out.contains(LINK_KEY_HEX), "{out}");
    assert!(out.contains(&"5A".repeat(16)), "{out}");
    assert!(out.contains(&"A5".repeat(16)), "{out}");
}

#[test]
fn bonds_reports_corrupt_files_and_still_lists_the_rest() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let bad = t.path().join("00:AA:01:00:00:00/00:00:00:00:00:09");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("info"), "[LinkKey]\nKey=XYZ\n").unwrap();
    let (ok, out, err) = mgmtctl(&["bonds", "--dir", t.path().to_str().unwrap()]);
    assert!(!ok, "a corrupt file makes the exit status 1");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(err.contains("00:00:00:00:00:09/info:2: "), "{err}");
}
