//! Any bytes given to `CommandFrame::decode` either fail with an error or decode to a value
//! that encodes back to exactly those bytes. Never a panic.
#![no_main]

use bluez_mgmt_protocol::CommandFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = CommandFrame::decode(data) {
        let encoded = frame.encode().expect("a decoded frame fits its length field");
        assert_eq!(encoded, data, "re-encoding {frame:?}");
    }
});
