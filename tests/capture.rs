//! Integration tests of `bluez_mgmt::capture` over the real captures in `fixtures/`: exact
//! round trips, typed bodies, truncation, and writing an MGMT session from typed frames.

use std::path::PathBuf;

use bluez_mgmt::capture::{
    CaptureReader, CaptureWriter, ControlOpen, ErrorKind, MgmtFrame, MonitorOpcode, Record,
    RecordBody, Timestamp,
};
use bluez_mgmt::protocol::command::{ReadVersion, SetPowered};
use bluez_mgmt::protocol::event::{CommandComplete, NewSettings};
use bluez_mgmt::protocol::{
    AnyReply, CommandFrame, ControllerIndex, Event, EventFrame, Opcode, Settings, Status,
};

mod support;
use support::{all_captures, fixture, fixtures_dir};

fn fixtures() -> Vec<PathBuf> {
    let files = all_captures();
    assert!(
        files.len() >= 7,
        "fixtures missing from {}",
        fixtures_dir().display()
    );
    files
}

fn read_all(bytes: &[u8]) -> Vec<Record> {
    CaptureReader::new(bytes)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for path in fixtures() {
        let original = std::fs::read(&path).unwrap();
        let records = read_all(&original);
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        for r in &records {
            w.write_record(r).unwrap();
        }
        assert_eq!(w.records_written(), records.len() as u64);
        let written = w.finish().unwrap();
        assert!(
            written == original,
            "{} differs after read/write",
            path.display()
        );
    }
}

#[test]
fn every_control_record_has_its_documented_layout() {
    for path in fixtures() {
        for r in read_all(&std::fs::read(&path).unwrap()) {
            let body = r
                .body()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            match (r.opcode, body) {
                (MonitorOpcode::CTRL_OPEN, RecordBody::ControlOpen(o)) => {
                    assert!(!o.ident_text().is_empty());
                    assert_eq!(r.index, ControllerIndex::NONE);
                }
                (MonitorOpcode::CTRL_CLOSE, RecordBody::ControlClose(_))
                | (MonitorOpcode::CTRL_COMMAND, RecordBody::ControlCommand(_))
                | (MonitorOpcode::CTRL_EVENT, RecordBody::ControlEvent(_)) => {}
                (MonitorOpcode::NEW_INDEX, RecordBody::NewIndex(n)) => {
                    assert!(n.name.starts_with("hci"), "{n:?}");
                }
                (MonitorOpcode::INDEX_INFO, RecordBody::IndexInfo(_))
                | (MonitorOpcode::SYSTEM_NOTE, RecordBody::SystemNote(_))
                | (MonitorOpcode::USER_LOGGING, RecordBody::UserLogging(_)) => {}
                (op, RecordBody::Other { raw }) => {
                    assert!(
                        ![0, 10, 12, 13, 14, 15, 16, 17].contains(&op.0),
                        "{op:?} untyped"
                    );
                    assert_eq!(raw, r.data);
                }
                (op, body) => panic!("{op:?} typed as {body:?}"),
            }
        }
    }
}

#[test]
fn lab_capture_opens_an_mgmt_socket_first() {
    // fixtures/le-sc-passkey.btsnoop: the lab's python3 MGMT client, kernel 6.1 (MGMT 1.22).
    let path = fixture("le-sc-passkey.btsnoop");
    let records = read_all(&std::fs::read(path).unwrap());
    let open = records
        .iter()
        .find_map(|r| match r.body().unwrap() {
            RecordBody::ControlOpen(o) if o.format == ControlOpen::FORMAT_MGMT => Some(o),
            _ => None,
        })
        .unwrap();
    assert_eq!((open.version, open.revision), (1, 22));
    assert_eq!(open.ident_text(), "python3");
    assert!(open.is_privileged());
    let first = records
        .iter()
        .find_map(|r| r.to_command_frame().unwrap())
        .unwrap();
    assert_eq!(first.command.opcode(), Opcode::READ_VERSION);
    assert_eq!(first.index, ControllerIndex::NONE);
}

#[test]
fn index_records_of_a_raspberry_pi_capture() {
    // fixtures/batteread-capture.btsnoop; btmon -r shows "New Index: 2C:CF:67:30:E5:EF
    // (Primary,UART,hci0)" and "Index Info: ... (Cypress Semiconductor)" for these records.
    let path = fixture("batteread-capture.btsnoop");
    let bodies: Vec<RecordBody> = read_all(&std::fs::read(path).unwrap())
        .iter()
        .map(|r| r.body().unwrap())
        .collect();
    let RecordBody::SystemNote(note) = &bodies[0] else {
        panic!("{:?}", bodies[0])
    };
    assert!(
        note.starts_with("Linux version 6.6.31+rpt-rpi-2712"),
        "{note}"
    );
    let RecordBody::NewIndex(n) = &bodies[2] else {
        panic!("{:?}", bodies[2])
    };
    assert_eq!((n.controller_type, n.bus, n.name.as_str()), (0, 3, "hci0"));
    assert_eq!(n.address.to_string(), "2C:CF:67:30:E5:EF");
    let RecordBody::IndexInfo(i) = &bodies[4] else {
        panic!("{:?}", bodies[4])
    };
    assert_eq!(i.address, n.address);
    // 0x0131: Cypress Semiconductor in the Bluetooth SIG company identifiers.
    assert_eq!(i.manufacturer, 0x0131);
}

#[test]
fn truncated_fixture_yields_whole_records_then_one_error() {
    let path = fixture("le-sc-passkey.btsnoop");
    let original = std::fs::read(path).unwrap();
    let all = read_all(&original);
    // Cut the file 5 bytes into the data of the last record that has more than 5.
    let victim = all.iter().rposition(|r| r.data.len() > 5).unwrap();
    let start: usize = 16
        + all[..victim]
            .iter()
            .map(|r| 24 + r.data.len())
            .sum::<usize>();
    let cut = start + 24 + 5;
    let items: Vec<_> = CaptureReader::new(&original[..cut]).unwrap().collect();
    assert_eq!(items.len(), victim + 1);
    for (got, want) in items.iter().zip(&all[..victim]) {
        assert_eq!(got.as_ref().unwrap(), want);
    }
    let e = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated);
    let number = victim as u64 + 1;
    assert_eq!(e.record(), Some(number));
    assert_eq!(e.offset(), Some(start as u64));
    assert_eq!(
        e.to_string(),
        format!(
            "record {number} at byte offset {start}: truncated record data: expected {} bytes, 5 present",
            all[victim].data.len()
        )
    );
}

#[test]
fn written_mgmt_session_reads_back_typed() {
    let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000);
    let cmd = CommandFrame {
        index: ControllerIndex(0),
        command: SetPowered { powered: true }.into(),
    };
    let settings = Settings::POWERED | Settings::LE;
    let reply = EventFrame {
        index: ControllerIndex(0),
        event: CommandComplete {
            opcode: Opcode::SET_POWERED,
            status: Status::SUCCESS,
            reply: AnyReply::SetPowered(settings),
        }
        .into(),
    };
    let new_settings = EventFrame {
        index: ControllerIndex(0),
        event: NewSettings {
            current_settings: settings,
        }
        .into(),
    };
    let version = CommandFrame {
        index: ControllerIndex::NONE,
        command: ReadVersion {}.into(),
    };
    let open = ControlOpen {
        cookie: 3,
        format: ControlOpen::FORMAT_MGMT,
        version: 1,
        revision: 22,
        flags: ControlOpen::FLAG_PRIVILEGED,
        ident: b"mgmtctl\0\0\0\0\0\0\0\0\0".to_vec(),
    };
    let records = vec![
        Record::control_open(t0, &open),
        Record::control_command(t0, 3, &version),
        Record::control_command(t0, 3, &cmd),
        Record::control_event(t0, 3, &new_settings),
        Record::control_event(t0, 3, &reply),
        Record::control_close(t0, 3),
    ];
    let mut w = CaptureWriter::new(Vec::new()).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    let bytes = w.finish().unwrap();
    let back = read_all(&bytes);
    assert_eq!(back, records);
    assert_eq!(back[2].to_command_frame().unwrap(), Some(cmd));
    assert_eq!(back[4].to_event_frame().unwrap(), Some(reply.clone()));
    match back[4].mgmt_frame().unwrap() {
        Some(MgmtFrame::Event { cookie: 3, frame }) => {
            let Event::CommandComplete(cc) = frame.event else {
                panic!()
            };
            assert_eq!(cc.reply, AnyReply::SetPowered(settings));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        back[5].body().unwrap(),
        RecordBody::ControlClose(bluez_mgmt::capture::ControlClose { cookie: 3 })
    );
}

proptest::proptest! {
    /// The fuzz target `btsnoop`'s property, run on every `cargo test`: over any bytes after a
    /// valid header the reader never panics, and what it reads writes back to a prefix of the
    /// input (all of it when it ends cleanly).
    #[test]
    fn any_bytes_read_back_as_a_prefix(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let mut input = b"btsnoop\0\0\0\0\x01\0\0\x07\xd1".to_vec();
        input.extend_from_slice(&tail);
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        let mut clean = true;
        for item in CaptureReader::new(&input[..]).unwrap() {
            match item {
                Ok(r) => {
                    let _ = r.body();
                    let _ = r.mgmt_frame();
                    w.write_record(&r).unwrap();
                }
                Err(e) => {
                    clean = false;
                    // Random lengths are either cut short or above the record cap.
                    proptest::prop_assert!(
                        matches!(e.kind(), ErrorKind::Truncated | ErrorKind::RecordTooLarge),
                        "{e}"
                    );
                }
            }
        }
        let out = w.finish().unwrap();
        if clean {
            proptest::prop_assert_eq!(out, input);
        } else {
            proptest::prop_assert!(input.starts_with(&out));
        }
    }
}
