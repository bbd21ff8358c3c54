//! A replay mismatch names both frames in words, the capture record the expected one came from
//! and the socket that sent it, so a reader sees at once what differs.

use std::sync::Arc;

use bluez_mgmt::capture::{CaptureReader, MonitorOpcode, Record, RecordBody};
use bluez_mgmt::client::Client;
use bluez_mgmt::protocol::command::PairDevice;
use bluez_mgmt::protocol::{AddressInfo, AddressType, IoCapability, Opcode};
use bluez_mgmt::transport::{replay, ReplaySocket};

mod support;
use support::fixture;

#[tokio::test]
async fn a_different_command_is_reported_in_words_with_its_record_and_socket() {
    let path = fixture("kernel-le-sc-numeric-comparison.btsnoop");
    let script = Arc::new(replay(&path, ReplaySocket::FirstCommand).expect("capture reads"));
    let client = Client::with_transport(script.clone());
    // The capture's program paired with DisplayYesNo; this one asks for NoInputNoOutput.
    let peer = AddressInfo {
        address: "C0:BB:00:00:00:02".parse().expect("address"),
        address_type: AddressType::LE_RANDOM,
    };
    let index = bluez_mgmt::protocol::ControllerIndex(0);
    let sent = client
        .call(
            index,
            &PairDevice {
                address: peer,
                io_capability: IoCapability::NO_INPUT_NO_OUTPUT,
            },
        )
        .await;
    assert!(sent.is_err(), "a command unlike the capture's must fail");

    let mismatch = script.mismatch().expect("the replay kept the mismatch");
    let report = mismatch.to_string();
    println!("{report}");
    let lines: Vec<&str> = report.lines().collect();
    let expected = lines
        .iter()
        .find(|l| l.trim_start().starts_with("expected:"))
        .expect("an expected line");
    let actual = lines
        .iter()
        .find(|l| l.trim_start().starts_with("actual:"))
        .expect("an actual line");
    for (line, io) in [(expected, "DisplayYesNo"), (actual, "NoInputNoOutput")] {
        assert!(
            line.contains("hci0 Pair Device (0x0019) PairDevice {")
                && line.contains(&format!("io_capability: IoCapability({io})")),
            "{line:?} should decode the command in words with {io}"
        );
    }

    // The named record is the capture's Pair Device, sent by the named socket.
    let source = mismatch
        .expected_source
        .clone()
        .expect("a replay names its source");
    assert!(
        report.contains(&format!("capture record #{}", source.record)),
        "{report}"
    );
    assert!(
        report.contains(&format!("socket cookie {}", source.cookie)),
        "{report}"
    );
    let records: Vec<Record> = CaptureReader::open(&path)
        .expect("open")
        .collect::<Result<_, _>>()
        .expect("records");
    let record = &records[source.record - 1];
    assert_eq!(record.opcode, MonitorOpcode::CTRL_COMMAND);
    match record.body().expect("body") {
        RecordBody::ControlCommand(c) => {
            assert_eq!(c.opcode, Opcode::PAIR_DEVICE);
            assert_eq!(c.cookie, source.cookie);
        }
        other => panic!("record #{} is {other:?}", source.record),
    }
}
