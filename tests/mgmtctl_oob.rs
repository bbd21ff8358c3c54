//! `mgmtctl oob show`: the file forms `oob local` writes (text, NDEF bytes, NDEF hex) read
//! back, and errors that name the field. The kernel side (`oob local`, `oob add`, `pair
//! --oob`) runs in the kernel tier (tests/kernel/oob.rs).

use std::process::{Command, Output};

use bluez_mgmt::oob::{ndef, text, LeOobData, LeRole, OobData, OobValue};
use bluez_mgmt::protocol::AddressType;

fn mgmtctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .expect("run mgmtctl")
}

fn sample() -> OobData {
    OobData::Le(LeOobData {
        address: "00:AA:01:00:00:00".parse().unwrap(),
        address_type: AddressType::LE_PUBLIC,
        role: Some(LeRole::CENTRAL_ONLY),
        confirm: Some(OobValue([0x5c; 16])),
        random: Some(OobValue([0x3d; 16])),
        name: Some("board".into()),
        ..LeOobData::default()
    })
}

#[test]
fn every_written_form_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = sample();
    let ndef_hex: String = ndef::encode(&d)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let forms: [(&str, Vec<u8>); 3] = [
        ("text", format!("{}\n", text::encode(&d)).into_bytes()),
        ("ndef", ndef::encode(&d)),
        ("hex", format!("{ndef_hex}\n").into_bytes()),
    ];
    for (name, bytes) in forms {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = mgmtctl(&["oob", "show", "--json", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["address"], "00:AA:01:00:00:00", "{name}");
        assert_eq!(v["address_type"], "LE Public", "{name}");
        assert_eq!(v["role"], "central-only", "{name}");
        assert_eq!(v["confirm"], "5c".repeat(16), "{name}");
        assert_eq!(v["random"], "3d".repeat(16), "{name}");
        assert_eq!(v["name"], "board", "{name}");
        assert_eq!(v["ndef"], ndef_hex, "{name}");
    }
}

#[test]
fn a_bad_file_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad");
    std::fs::write(&path, "BTOOB LE A:00:AA:01:00:00:00 T:PUBLIC C:1234").unwrap();
    let out = mgmtctl(&["oob", "show", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("C (LE SC confirmation value)"), "{err}");
}
