//! Any bytes given to `AdData::parse` either fail with an error or give structures that encode
//! back to the bytes up to the end or the zero padding. Never a panic.
#![no_main]

use bluez_mgmt_protocol::AdData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match AdData::parse(data) {
        Ok(ad) => {
            let encoded = ad.to_bytes().expect("parsed structures fit their length octet");
            assert_eq!(&encoded[..], &data[..encoded.len()], "re-encoding {ad:?}");
            assert!(data[encoded.len()..].first().is_none_or(|b| *b == 0));
        }
        Err(e) => {
            // What was read before the fault re-encodes to the bytes before it.
            let encoded = e.parsed.to_bytes().expect("parsed structures fit");
            assert_eq!(&encoded[..], &data[..e.offset]);
        }
    }
});
