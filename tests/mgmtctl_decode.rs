//! `mgmtctl decode` run as a program over the captures in `fixtures/`: JSON output with zero
//! decode errors and the expected frame counts, exact text lines for known frames, and a
//! non-zero exit status with an error line for a damaged file.

use std::process::{Command, Output};

use serde_json::Value;

mod support;
use support::{device_found, fixture};

/// (file, MGMT commands, MGMT events), measured on the fixtures (see fixtures/README.md).
const EXPECTED: &[(&str, usize, usize)] = &[
    ("batteread-capture.btsnoop", 0, 0),
    ("bredr-ssp-numeric-comparison.btsnoop", 17, 21),
    ("btvirt-kernel-kernel-le-sc-passkey.btsnoop", 31, 44),
    ("le-sc-numeric-comparison.btsnoop", 16, 20),
    ("le-sc-passkey.btsnoop", 16, 20),
    ("projet_rp-ble_capture.btsnoop", 5, 114),
    ("projet_rp-capture.btsnoop", 1, 41),
];

fn mgmtctl(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .arg("decode")
        .args(args)
        .output()
        .expect("run mgmtctl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8 output")
}

#[test]
fn json_over_every_fixture_has_no_errors_and_the_expected_counts() {
    for &(name, commands, events) in EXPECTED {
        let path = fixture(name);
        let out = mgmtctl(&["--json".as_ref(), path.as_os_str()]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}\n{stdout}",
            text(&out.stderr)
        );
        let (mut c, mut e) = (0, 0);
        let mut last_record = 0;
        for line in stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(v.get("error").is_none(), "{name}: {line}");
            assert_eq!(v["file"], path.display().to_string());
            let record = v["record"].as_u64().unwrap();
            assert!(record > last_record, "records in file order");
            last_record = record;
            assert!(v["name"].is_string());
            assert!(v["params"].is_object() || v["params"].is_array(), "{line}");
            assert!(v["cookie"].is_u64() && v["code"].is_u64());
            match v["direction"].as_str().unwrap() {
                "cmd" => c += 1,
                "evt" => e += 1,
                other => panic!("{name}: direction {other}"),
            }
        }
        assert_eq!((c, e), (commands, events), "{name}");
    }
}

#[test]
fn json_fields_of_a_known_frame() {
    // Record 9 of fixtures/le-sc-passkey.btsnoop: the kernel's Command Complete for
    // Read Management Version Information (MGMT 1.22, kernel 6.1).
    let out = mgmtctl(&[
        "--json".as_ref(),
        fixture("le-sc-passkey.btsnoop").as_os_str(),
    ]);
    let stdout = text(&out.stdout);
    let v: Value = serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(v["direction"], "evt");
    assert_eq!(v["name"], "Command Complete");
    assert_eq!(v["code"], 1);
    assert_eq!(v["cookie"], 1);
    assert_eq!(v["index"], Value::Null);
    assert_eq!(v["timestamp"], "2026-11-24 01:52:50.146985");
    assert_eq!(v["params"]["opcode"], "Read Management Version Information");
    assert_eq!(v["params"]["status"], "Success");
    assert_eq!(v["params"]["reply"]["version"], 1);
    assert_eq!(v["params"]["reply"]["revision"], 22);
}

#[test]
fn text_lines_of_known_frames() {
    let out = mgmtctl(&[fixture("le-sc-passkey.btsnoop").as_os_str()]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The first frames of fixtures/le-sc-passkey.btsnoop, as `btmon -r` also shows them.
    assert_eq!(
        lines[0],
        "2026-11-24 01:52:50.146929 - cmd @1 Read Management Version Information"
    );
    assert_eq!(
        lines[1],
        "2026-11-24 01:52:50.146985 - evt @1 Command Complete \
         opcode=\"Read Management Version Information\" status=Success version=1 revision=22"
    );
    assert_eq!(
        lines[4],
        "2026-11-24 01:52:50.152603 hci0 cmd @1 Set Powered powered=false"
    );
    assert_eq!(lines.len(), 36);
}

#[test]
fn all_lists_the_other_records_too() {
    let out = mgmtctl(&[
        "--all".as_ref(),
        fixture("batteread-capture.btsnoop").as_os_str(),
    ]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[5],
        "2024-06-28 19:32:34.369593 - --- CTRL_OPEN @1 format=2 version=1.22 ident=bluetoothd privileged"
    );
}

#[test]
fn damaged_file_reports_the_error_and_fails() {
    let original = std::fs::read(fixture("le-sc-passkey.btsnoop")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.btsnoop");
    std::fs::write(&cut, &original[..original.len() - 2]).unwrap();
    let out = mgmtctl(&["--json".as_ref(), cut.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let msg = last["error"].as_str().unwrap();
    assert!(msg.contains("truncated record data"), "{msg}");
    assert!(text(&out.stderr).contains("1 frame(s) or file(s) failed"));
    // Every whole frame before the damage was still printed, then the one error line.
    assert_eq!(stdout.lines().count(), 36 + 1);

    let not_btsnoop = dir.path().join("x.btsnoop");
    std::fs::write(&not_btsnoop, b"hello, world, not a capture").unwrap();
    let out = mgmtctl(&[not_btsnoop.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("not a btsnoop file"));
}

/// A capture with a malformed command (Set Powered with two octets, as mgmt-tester sends on
/// purpose) and a Device Found whose EIR data is cut short: the bad command keeps its header
/// line with the reason and its raw bytes; the Device Found reads in words, with the fault.
#[test]
fn malformed_frames_keep_their_header_and_ad_data_reads_in_words() {
    use bluez_mgmt::capture::{CaptureWriter, MonitorOpcode, Record, Timestamp};
    use bluez_mgmt::protocol::ControllerIndex;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.btsnoop");
    let mut w = CaptureWriter::create(&path).unwrap();
    let at = Timestamp::from_unix_micros(1_700_000_000_000_000);
    let hci0 = ControllerIndex(0);
    // cookie 7, Set Powered (0x0005), parameters 01 01 (one octet too many).
    let cmd = [7, 0, 0, 0, 0x05, 0x00, 0x01, 0x01];
    // cookie 7, Device Found (0x0012): address, LE Random, -40 dBm, flags 0, EIR: Flags,
    // Complete Local Name "ab", then a Manufacturer Data structure cut short.
    let eir = [0x02, 0x01, 0x06, 0x03, 0x09, b'a', b'b', 0x05, 0xff, 0x4c];
    let evt = [
        &[7, 0, 0, 0, 0x12, 0x00][..],
        &device_found([0x66, 0x55, 0x44, 0x33, 0x22, 0xc1, 0x02], -40, 0, &eir),
    ]
    .concat();
    for (opcode, data) in [
        (MonitorOpcode::CTRL_COMMAND, cmd.to_vec()),
        (MonitorOpcode::CTRL_EVENT, evt),
    ] {
        w.write_record(&Record::new(at, hci0, opcode, data))
            .unwrap();
    }
    w.finish().unwrap();

    let out = mgmtctl(&[path.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the malformed command counts as a failure"
    );
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("2023-11-14 22:13:20.000000 hci0 cmd @7 Set Powered malformed: "),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with(" raw=0101"), "{}", lines[0]);
    assert_eq!(
        lines[1],
        "2023-11-14 22:13:20.000000 hci0 evt @7 Device Found address=C1:22:33:44:55:66 \
         address_type=\"LE Random\" rssi=-40 flags=none eir.error=\"length octet says 5, only 2 \
         octet(s) follow\" eir.offset=7 eir.parsed.flags=le-general-discoverable,br-edr-not-supported \
         eir.parsed.complete_name=ab eir.raw=0201060309616205ff4c"
    );
    let out = mgmtctl(&["--json".as_ref(), path.as_os_str()]);
    let stdout = text(&out.stdout);
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["name"], "Set Powered");
    assert_eq!(first["cookie"], 7);
    assert_eq!(first["raw"], "0101");
    assert!(first["error"].is_string());
}
