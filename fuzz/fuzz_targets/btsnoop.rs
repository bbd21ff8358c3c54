//! `CaptureReader` over arbitrary bytes never panics; every record it yields writes back to
//! the bytes it was read from, and its typed views (body, MGMT frame) never panic either.
#![no_main]

use bluez_mgmt::capture::{CaptureReader, CaptureWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::new(data) else {
        return;
    };
    let mut writer = CaptureWriter::new(Vec::new()).expect("writing to a Vec");
    let mut clean_end = true;
    for item in reader {
        match item {
            Ok(record) => {
                let _ = record.body();
                let _ = record.mgmt_frame();
                writer.write_record(&record).expect("writing to a Vec");
            }
            Err(_) => clean_end = false,
        }
    }
    let written = writer.finish().expect("writing to a Vec");
    if clean_end {
        assert_eq!(written, data);
    } else {
        assert!(data.starts_with(&written));
    }
});
