//! The size limits of commands, through the real client over a scripted transport: every Load
//! command at the kernel's maximum count is written whole; one entry more is refused with
//! [`ErrorKind::CommandTooLong`] before anything is written, and the client carries on.
//! (The kernel tier shows the same maxima accepted by the kernel itself.)

use std::sync::Arc;

use bluez_mgmt::client::{Client, ErrorKind};
use bluez_mgmt::protocol::command::limits::{CountedList, COUNTED_LISTS, MAX_COMMAND_PARAMS_LEN};
use bluez_mgmt::protocol::Opcode;
use bluez_mgmt::transport::ScriptedTransport;

mod support;
use support::{Exchange, HCI0};

/// Parameters of `list`'s command with `count` entries: the fixed part (count in place), then
/// `count` entries of a valid-looking record (what matters here is the length).
fn params(list: &CountedList, count: usize) -> Vec<u8> {
    let mut p = vec![0u8; list.fixed_len];
    p[list.count_offset..list.count_offset + 2].copy_from_slice(&(count as u16).to_le_bytes());
    p.resize(list.params_len(count), 0x5a);
    p
}

#[tokio::test]
async fn every_load_command_at_its_maximum_is_sent_and_one_more_is_refused_unsent() {
    for list in COUNTED_LISTS {
        let max = list.max_count();
        let at_max = params(&list, max);
        assert!(at_max.len() <= MAX_COMMAND_PARAMS_LEN);
        // The script holds only the command at its maximum: a write of anything else
        // (the over-long command) would fail the script.
        let script = Arc::new(
            ScriptedTransport::builder()
                .exchange(HCI0, list.opcode, &at_max, &[])
                .build()
                .stay_open(),
        );
        let client = Client::with_transport(script.clone());
        let reply = client
            .submit_raw(HCI0, list.opcode, at_max, None)
            .await
            .unwrap_or_else(|e| panic!("{:?} with {max} entries: {e}", list.opcode));
        assert!(reply.params.is_empty(), "{reply:?}");

        let err = client
            .submit_raw(HCI0, list.opcode, params(&list, max + 1), None)
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::CommandTooLong {
                opcode: list.opcode,
                index: HCI0
            }
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("with {} entries", max + 1))
                && text.contains(&format!("at most {max}")),
            "{text}"
        );
        script.check_done().unwrap();
    }
}

#[tokio::test]
async fn typed_load_long_term_keys_over_the_maximum_is_refused_unsent() {
    use bluez_mgmt::protocol::command::LoadLongTermKeys;
    use bluez_mgmt::protocol::keys::{LongTermKey, LongTermKeyInfo, LongTermKeyType};
    use bluez_mgmt::protocol::wire::List16;
    use bluez_mgmt::protocol::{Address, AddressInfo, AddressType};

    let keys = (0..=LoadLongTermKeys::MAX_KEYS)
        .map(|i| LongTermKeyInfo {
            address: AddressInfo::new(
                Address([i as u8, (i >> 8) as u8, 0, 0, 0xbb, 0]),
                AddressType::LE_PUBLIC,
            ),
            key_type: LongTermKeyType::AUTHENTICATED_P256,
            central: 0,
            encryption_size: 16,
            ediv: 0,
            rand: 0,
            value: LongTermKey::new([7; 16]),
        })
        .collect();
    let script = Arc::new(ScriptedTransport::builder().build().stay_open());
    let client = Client::with_transport(script.clone());
    let err = client
        .call(HCI0, &LoadLongTermKeys { keys: List16(keys) })
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::CommandTooLong {
            opcode: Opcode::LOAD_LONG_TERM_KEYS,
            index: HCI0
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "not sent to hci0: {:?} with 1821 entries does not fit in one command: at most 1820 \
             (65558 parameter bytes asked for; one MGMT command frame carries at most 65529)",
            Opcode::LOAD_LONG_TERM_KEYS
        )
    );
    script.check_done().unwrap();
}
