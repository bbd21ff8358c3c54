//! Every MGMT frame of every capture in `fixtures/` decodes through the protocol crate, and
//! re-encodes to the bytes it came from. Per-file counts (measured with
//! `bluez_mgmt::capture::CaptureReader`, cross-checked against `btmon -r`'s "@ MGMT Command" /
//! "@ MGMT Event" lines) pin down that nothing is skipped.

use bluez_mgmt::capture::{CaptureReader, MgmtFrame, RecordBody};

mod support;
use support::{all_captures, fixture};

/// (file, records, MGMT commands, MGMT events), measured on the fixtures as committed.
const EXPECTED: &[(&str, usize, usize, usize)] = &[
    ("batteread-capture.btsnoop", 6, 0, 0),
    ("bredr-ssp-numeric-comparison.btsnoop", 160, 17, 21),
    ("btvirt-kernel-kernel-le-sc-passkey.btsnoop", 455, 31, 44),
    ("client-controller-removed.btsnoop", 252, 15, 20),
    ("client-discoverable-rejected.btsnoop", 217, 9, 11),
    ("client-pair-confirm.btsnoop", 356, 27, 41),
    ("client-two-controllers.btsnoop", 235, 12, 14),
    ("kernel-bredr-legacy-pin.btsnoop", 102, 7, 15),
    ("kernel-bredr-ssp-just-works.btsnoop", 56, 4, 7),
    ("kernel-bredr-ssp-numeric-comparison.btsnoop", 59, 5, 9),
    ("kernel-bredr-ssp-passkey.btsnoop", 59, 5, 9),
    ("kernel-le-legacy-just-works.btsnoop", 65, 5, 10),
    ("kernel-le-legacy-passkey.btsnoop", 65, 5, 10),
    ("kernel-le-sc-just-works.btsnoop", 68, 5, 9),
    ("kernel-le-sc-numeric-comparison.btsnoop", 66, 5, 9),
    ("kernel-le-sc-passkey.btsnoop", 184, 5, 9),
    ("kernel-oob-btvirt-both-hold.btsnoop", 110, 5, 33),
    ("kernel-oob-btvirt-initiator-holds.btsnoop", 108, 4, 32),
    ("kernel-oob-btvirt-responder-holds.btsnoop", 108, 4, 32),
    ("kernel-oob-bumble-le-sc.btsnoop", 58, 3, 7),
    ("le-sc-numeric-comparison.btsnoop", 137, 16, 20),
    ("le-sc-passkey.btsnoop", 253, 16, 20),
    ("projet_rp-ble_capture.btsnoop", 442, 5, 114),
    ("projet_rp-capture.btsnoop", 1207, 1, 41),
];

#[test]
fn the_table_lists_every_fixture() {
    let on_disk: Vec<String> = all_captures()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_mgmt_frame_decodes_and_re_encodes_exactly() {
    let mut failures = Vec::new();
    for &(name, records, commands, events) in EXPECTED {
        let (mut n, mut c, mut e) = (0, 0, 0);
        for item in CaptureReader::open(fixture(name)).unwrap() {
            let record = item.unwrap_or_else(|err| panic!("{name}: {err}"));
            n += 1;
            let params = match record.body().unwrap() {
                RecordBody::ControlCommand(cmd) => cmd.params,
                RecordBody::ControlEvent(ev) => ev.params,
                _ => continue,
            };
            let encoded = match record.mgmt_frame() {
                Ok(Some(MgmtFrame::Command { frame, .. })) => {
                    c += 1;
                    frame.encode().unwrap()
                }
                Ok(Some(MgmtFrame::Event { frame, .. })) => {
                    e += 1;
                    frame.encode().unwrap()
                }
                Ok(None) => unreachable!("control record without a frame"),
                Err(err) => {
                    failures.push(format!("{name} record {n}: {err}"));
                    continue;
                }
            };
            // The frame header (code, index, length) comes first; the parameters must be
            // the captured bytes exactly.
            if encoded[6..] != params[..] {
                failures.push(format!(
                    "{name} record {n}: re-encoded parameters differ from the capture"
                ));
            }
            assert_eq!(
                u16::from_le_bytes([encoded[2], encoded[3]]),
                record.index.0,
                "{name} record {n}: index"
            );
        }
        assert_eq!(
            (n, c, e),
            (records, commands, events),
            "{name}: records, commands, events"
        );
    }
    assert!(
        failures.is_empty(),
        "{} frames failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
