//! `mgmtctl` run as a program against what an adversarial review tried (issue 11): each test
//! is one finding, and each failed before its fix. Kernel-free: the store, captures and
//! argument checks need no Bluetooth.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bluez_mgmt::capture::{CaptureWriter, Record, Timestamp};
use bluez_mgmt::protocol::event::LocalNameChanged;
use bluez_mgmt::protocol::name::{LocalName, ShortName};
use bluez_mgmt::protocol::{ControllerIndex, Event, EventFrame};

fn mgmtctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .expect("run mgmtctl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A bluetoothd-layout info file for `device` under `dir`'s adapter 00:AA:01:00:00:00.
fn write_bond(dir: &Path, device: &str, name: &str) {
    let d = dir.join("00:AA:01:00:00:00").join(device);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("info"),
        format!(
            "[General]\nName={name}\n\n[LinkKey]\nKey=00112233445566778899AABBCCDDEEFF\nType=4\nPINLength=0\n"
        ),
    )
    .unwrap();
}

#[test]
fn bonds_of_a_missing_store_is_an_error() {
    let out = mgmtctl(&["bonds", "--dir", "/nonexistent/bluez-mgmt-store"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("no bond store at /nonexistent/bluez-mgmt-store"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no empty table: {}",
        text(&out.stdout)
    );
}

/// `mgmtctl bonds | head`: the reader goes away; mgmtctl ends without a panic message.
#[test]
fn bonds_into_a_closed_pipe_ends_quietly() {
    let t = tempfile::tempdir().unwrap();
    // More than a pipe buffer (64 KiB) of lines, so writing must meet the closed pipe.
    for i in 0..1200u32 {
        let device = format!("00:1B:66:00:{:02X}:{:02X}", i >> 8, i & 0xff);
        write_bond(
            t.path(),
            &device,
            "a keyboard with a rather long name, to fill the pipe",
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(["bonds", "--dir", t.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line's worth, then close our end, as `head -c` would.
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    assert!(status.success(), "{status:?}");
}

#[test]
fn bonds_escape_control_characters_in_names() {
    let t = tempfile::tempdir().unwrap();
    write_bond(
        t.path(),
        "00:1B:66:00:00:01",
        "\x1b]0;owned\x07\x1b[2Jkbd\u{9b}31m",
    );
    let out = mgmtctl(&["bonds", "--dir", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(!shown.contains('\x1b') && !shown.contains('\x07') && !shown.contains('\u{9b}'));
    assert!(
        shown.contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2Jkbd\\u{9b}31m"),
        "{shown}"
    );
}

#[test]
fn decode_escapes_control_characters_in_names() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("names.btsnoop");
    let mut w = CaptureWriter::create(&path).unwrap();
    let frame = EventFrame {
        index: ControllerIndex(0),
        event: Event::LocalNameChanged(LocalNameChanged {
            name: LocalName::new("\x1b[31mred\u{7f}\u{85}"),
            short_name: ShortName::new("\u{202e}kbd"),
        }),
    };
    w.write_record(&Record::control_event(Timestamp::now(), 7, &frame))
        .unwrap();
    w.finish().unwrap();
    for json in [false, true] {
        let mut args = vec!["decode", path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = mgmtctl(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        for c in ['\x1b', '\u{7f}', '\u{85}', '\u{202e}'] {
            assert!(!shown.contains(c), "{c:?} raw in {shown}");
        }
        assert!(shown.contains("\\u001b[31mred\\u007f\\u0085"), "{shown}");
        if json {
            // Still JSON, and it reads back as the name the device gave.
            let v: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
            assert_eq!(v["params"]["name"], "\x1b[31mred\u{7f}\u{85}");
        }
    }
}

#[test]
fn answer_timeout_is_one_to_thirty_seconds() {
    for bad in ["0", "31", "600"] {
        let out = mgmtctl(&[
            "agent",
            "--io-capability",
            "DisplayYesNo",
            "--reject",
            "--no-store",
            "--answer-timeout",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}: usage error");
        let err = text(&out.stderr);
        assert!(
            err.contains("--answer-timeout") && err.contains("1..=30"),
            "{err}"
        );
    }
}

#[test]
fn index_accepts_n_and_hcin_everywhere() {
    for cmd in [
        &["info"][..],
        &["power", "on"],
        &["set", "bondable", "on"],
        &["monitor"],
        &["bonds", "--dir", "/"],
    ] {
        for index in ["0", "hci0"] {
            let mut args = cmd.to_vec();
            args.extend(["--index", index]);
            let out = mgmtctl(&args);
            let err = text(&out.stderr);
            assert!(!err.contains("invalid value"), "{args:?}: {err}");
        }
        let mut args = cmd.to_vec();
        args.extend(["--index", "hcix"]);
        let err = text(&mgmtctl(&args).stderr);
        assert!(err.contains("is not a controller index"), "{args:?}: {err}");
    }
}

#[test]
fn bonds_json_lines() {
    let t = tempfile::tempdir().unwrap();
    write_bond(t.path(), "00:1B:66:00:00:01", "kbd\u{1b}");
    let out = mgmtctl(&["bonds", "--json", "--dir", t.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(!shown.contains('\x1b'));
    let v: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(v["device"], "00:1B:66:00:00:01");
    assert_eq!(v["keys"], serde_json::json!(["link-key"]));
    assert_eq!(v["name"], "kbd\u{1b}");
    assert!(v.get("key_bytes").is_none(), "no key bytes unless asked");
}
