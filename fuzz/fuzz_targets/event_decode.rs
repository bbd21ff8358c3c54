//! Any bytes given to `EventFrame::decode` either fail with an error or decode to a value that
//! encodes back to exactly those bytes. Never a panic. `UserConfirmRequest::in_frame` finds a
//! User Confirmation Request in exactly the bytes that decode to one, and finds the same one.
#![no_main]

use bluez_mgmt_protocol::event::UserConfirmRequest;
use bluez_mgmt_protocol::{Event, EventFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = EventFrame::decode(data);
    if let Ok(frame) = &decoded {
        let encoded = frame.encode().expect("a decoded frame fits its length field");
        assert_eq!(encoded, data, "re-encoding {frame:?}");
    }
    let confirm = match decoded {
        Ok(EventFrame {
            index,
            event: Event::UserConfirmRequest(e),
        }) => Some((index, e)),
        _ => None,
    };
    assert_eq!(UserConfirmRequest::in_frame(data), confirm);
});
