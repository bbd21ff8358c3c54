//! Files written by `bluez_mgmt::capture::CaptureWriter` are read by BlueZ's own `btmon -r`.
//!
//! Needs btmon: set `BTMON=/path/to/btmon`, or run `tools/fetch-btmon.sh` once, which unpacks
//! Debian's `bluez` package into `.cache/btmon/` without installing it. Without btmon these
//! tests fail (they do not skip).

use std::path::{Path, PathBuf};
use std::process::Command;

use bluez_mgmt::capture::{CaptureReader, CaptureWriter, ControlOpen, Record, Timestamp};
use bluez_mgmt::protocol::command::{ReadVersion, SetPowered};
use bluez_mgmt::protocol::event::{CommandComplete, NewSettings};
use bluez_mgmt::protocol::{
    AnyReply, CommandFrame, ControllerIndex, EventFrame, Opcode, Settings, Status,
};

mod support;
use support::all_captures;

fn btmon() -> PathBuf {
    let path = match std::env::var_os("BTMON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/btmon/usr/bin/btmon"),
    };
    assert!(
        path.is_file(),
        "btmon not found at {}: run tools/fetch-btmon.sh (or set BTMON=/path/to/btmon)",
        path.display()
    );
    path
}

/// Runs `btmon -T --columns=250 -r FILE` in UTC (dates shown, columns wide enough that btmon
/// does not shorten names); gives its exit status and stdout.
fn btmon_run(file: &Path) -> (std::process::ExitStatus, String) {
    let out = Command::new(btmon())
        .args(["-T", "--columns=250", "-r"])
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .expect("run btmon");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// [`btmon_run`] that must succeed.
fn btmon_read(file: &Path) -> String {
    let (status, stdout) = btmon_run(file);
    assert!(
        status.success(),
        "btmon -r {} failed: {status}",
        file.display()
    );
    stdout
}

/// The `@ MGMT Command:` / `@ MGMT Event:` lines btmon printed, as
/// (kind, name as btmon shows it, code, plen).
fn mgmt_lines(output: &str) -> Vec<(String, String, u16, usize)> {
    output
        .lines()
        .filter_map(|l| {
            let (kind, rest) = if let Some(r) = l.strip_prefix("@ MGMT Command: ") {
                ("cmd", r)
            } else if let Some(r) = l.strip_prefix("@ MGMT Event: ") {
                ("evt", r)
            } else {
                return None;
            };
            let (name, rest) = rest.split_once(" (0x").unwrap();
            let (code, rest) = rest.split_once(") plen ").unwrap();
            let plen = rest.split_whitespace().next().unwrap();
            Some((
                kind.to_string(),
                name.to_string(),
                u16::from_str_radix(code, 16).unwrap(),
                plen.parse().unwrap(),
            ))
        })
        .collect()
}

#[test]
fn btmon_reads_a_synthesized_mgmt_session() {
    let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000); // 2023-11-14 22:13:20 UTC
    let later = |us: i64| Timestamp::from_unix_micros(1_700_000_000_000_000 + us);
    let hci0 = ControllerIndex(0);
    let settings = Settings::POWERED | Settings::LE;
    let commands = [
        CommandFrame {
            index: ControllerIndex::NONE,
            command: ReadVersion {}.into(),
        },
        CommandFrame {
            index: hci0,
            command: SetPowered { powered: true }.into(),
        },
    ];
    let events = [
        EventFrame {
            index: ControllerIndex::NONE,
            event: CommandComplete {
                opcode: Opcode::READ_VERSION,
                status: Status::SUCCESS,
                reply: AnyReply::ReadVersion(bluez_mgmt::protocol::command::ReadVersionReply {
                    version: 1,
                    revision: 22,
                }),
            }
            .into(),
        },
        EventFrame {
            index: hci0,
            event: NewSettings {
                current_settings: settings,
            }
            .into(),
        },
        EventFrame {
            index: hci0,
            event: CommandComplete {
                opcode: Opcode::SET_POWERED,
                status: Status::SUCCESS,
                reply: AnyReply::SetPowered(settings),
            }
            .into(),
        },
    ];
    let open = ControlOpen {
        cookie: 7,
        format: ControlOpen::FORMAT_MGMT,
        version: 1,
        revision: 22,
        flags: ControlOpen::FLAG_PRIVILEGED,
        ident: b"mgmtctl\0\0\0\0\0\0\0\0\0".to_vec(),
    };
    let records = [
        Record::control_open(t0, &open),
        Record::control_command(later(1), 7, &commands[0]),
        Record::control_event(later(2), 7, &events[0]),
        Record::control_command(later(3), 7, &commands[1]),
        Record::control_event(later(4), 7, &events[1]),
        Record::control_event(later(5), 7, &events[2]),
        Record::control_close(later(6), 7),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.btsnoop");
    let mut w = CaptureWriter::create(&file).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.finish().unwrap();

    let output = btmon_read(&file);
    let shown = mgmt_lines(&output);
    let written: Vec<(&str, u16, String, usize)> = vec![
        (
            "cmd",
            0x0001,
            "Read Management Version Information".into(),
            0,
        ),
        ("evt", 0x0001, "Command Complete".into(), 6),
        ("cmd", 0x0005, "Set Powered".into(), 1),
        ("evt", 0x0006, "New Settings".into(), 4),
        ("evt", 0x0001, "Command Complete".into(), 7),
    ];
    assert_eq!(shown.len(), written.len(), "btmon output:\n{output}");
    for ((kind, name, code, plen), (wkind, wcode, wname, wplen)) in shown.iter().zip(&written) {
        assert_eq!(
            (kind.as_str(), *code, *plen),
            (*wkind, *wcode, *wplen),
            "{output}"
        );
        // Wide columns: btmon prints the whole name.
        assert_eq!(name, wname, "{output}");
    }
    // The socket, the timestamps (UTC), the controller and the decoded fields.
    assert!(
        output.contains("@ MGMT Open: mgmtctl (privileged) version 1.22"),
        "{output}"
    );
    assert!(output.contains("@ MGMT Close: mgmtctl"), "{output}");
    assert!(output.contains("2023-11-14 22:13:20.000001"), "{output}");
    assert!(
        output.contains("[hci0] 2023-11-14 22:13:20.000003"),
        "{output}"
    );
    assert!(output.contains("Powered: Enabled (0x01)"), "{output}");
    assert!(output.contains("Version: 1.22"), "{output}");
    assert!(output.contains("Current settings: 0x00000201"), "{output}");
}

#[test]
fn btmon_reads_rewritten_fixtures_exactly_as_the_originals() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut checked, mut succeeded) = (0, 0);
    for original in all_captures() {
        let copy = tmp.path().join(original.file_name().unwrap());
        let mut w = CaptureWriter::create(&copy).unwrap();
        for r in CaptureReader::open(&original).unwrap() {
            w.write_record(&r.unwrap()).unwrap();
        }
        w.finish().unwrap();
        // btmon 5.66 crashes (SIGSEGV) in its own packet decoder partway through
        // projet_rp-ble_capture.btsnoop, original and copy alike; for every file, btmon must
        // do exactly the same with our copy as with the original.
        let (a, b) = (btmon_run(&original), btmon_run(&copy));
        assert!(
            a == b,
            "{}: btmon reads our copy differently",
            original.display()
        );
        if a.0.success() {
            assert!(
                a.1.lines().count() > 5,
                "{}: btmon printed little",
                original.display()
            );
            succeeded += 1;
        }
        checked += 1;
    }
    // Every fixture was checked: the seven copied captures plus those the kernel tier records.
    assert!(checked >= 11, "only {checked} fixtures checked");
    assert!(
        succeeded >= 6,
        "btmon read only {succeeded} of the fixtures"
    );
}
