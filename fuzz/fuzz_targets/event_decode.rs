//! Any bytes given to `EventFrame::decode` either fail with an error or decode to a value that
//! encodes back to exactly those bytes. Never a panic.
#![no_main]

use bluez_mgmt_protocol::EventFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = EventFrame::decode(data) {
        let encoded = frame.encode().expect("a decoded frame fits its length field");
        assert_eq!(encoded, data, "re-encoding {frame:?}");
    }
});
