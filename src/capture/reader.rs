//! Reading a capture: the file header, then one [`Record`] at a time.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use bluez_mgmt_protocol::ControllerIndex;

use super::{
    CaptureError, MonitorOpcode, Record, Timestamp, DATALINK_MONITOR, FILE_HEADER_LEN, MAGIC,
    MAX_RECORD_LEN, RECORD_HEADER_LEN, VERSION,
};

/// Reads a monitor-format btsnoop capture record by record.
///
/// As an iterator it yields every whole record; if the file ends inside a record (or a record
/// is otherwise unreadable) it yields one error saying which record, at which byte offset, and
/// how many bytes were expected and present, and then ends.
///
/// ```no_run
/// use bluez_mgmt::capture::{CaptureReader, MgmtFrame};
/// for record in CaptureReader::open("fixtures/le-sc-passkey.btsnoop")? {
///     if let Some(MgmtFrame::Event { frame, .. }) = record?.mgmt_frame()? {
///         println!("{} {:?}", frame.index, frame.event.code());
///     }
/// }
/// # Ok::<(), bluez_mgmt::capture::CaptureError>(())
/// ```
#[derive(Debug)]
pub struct CaptureReader<R> {
    inner: R,
    offset: u64,
    records: u64,
    done: bool,
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl CaptureReader<BufReader<File>> {
    /// Opens the capture file at `path` and checks its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let file = File::open(path).map_err(CaptureError::io)?;
        CaptureReader::new(BufReader::new(file))
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads and checks the file header: magic `btsnoop\0`, version 1, datalink 2001.
    pub fn new(mut inner: R) -> Result<Self, CaptureError> {
        let mut hdr = [0u8; FILE_HEADER_LEN];
        let n =
            read_full(&mut inner, &mut hdr).map_err(|e| CaptureError::io(e).at(None, Some(0)))?;
        if n >= 8 && hdr[..8] != MAGIC || n < 8 && hdr[..n] != MAGIC[..n] {
            let mut found = [0u8; 8];
            found.copy_from_slice(&hdr[..8]);
            return Err(CaptureError::bad_magic(found).at(None, Some(0)));
        }
        if n < FILE_HEADER_LEN {
            return Err(
                CaptureError::truncated("file header", FILE_HEADER_LEN as u64, n as u64)
                    .at(None, Some(0)),
            );
        }
        let version = be32(&hdr[8..12]);
        if version != VERSION {
            return Err(CaptureError::version(version).at(None, Some(8)));
        }
        let datalink = be32(&hdr[12..16]);
        if datalink != DATALINK_MONITOR {
            return Err(CaptureError::datalink(datalink).at(None, Some(12)));
        }
        Ok(CaptureReader {
            inner,
            offset: FILE_HEADER_LEN as u64,
            records: 0,
            done: false,
        })
    }

    /// Byte offset of the next record in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many whole records have been read.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next record: `Ok(None)` at a clean end of file.
    pub fn read_record(&mut self) -> Result<Option<Record>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_record_inner();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_record_inner(&mut self) -> Result<Option<Record>, CaptureError> {
        let number = self.records + 1;
        let start = self.offset;
        let at = |e: CaptureError| e.at(Some(number), Some(start));
        let mut hdr = [0u8; RECORD_HEADER_LEN];
        let n = read_full(&mut self.inner, &mut hdr).map_err(|e| at(CaptureError::io(e)))?;
        if n == 0 {
            return Ok(None);
        }
        if n < RECORD_HEADER_LEN {
            return Err(at(CaptureError::truncated(
                "record header",
                RECORD_HEADER_LEN as u64,
                n as u64,
            )));
        }
        let orig_len = be32(&hdr[0..4]);
        let incl_len = be32(&hdr[4..8]);
        let flags = be32(&hdr[8..12]);
        let drops = be32(&hdr[12..16]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&hdr[16..24]);
        let timestamp = Timestamp(i64::from_be_bytes(ts));
        if incl_len > MAX_RECORD_LEN {
            return Err(at(CaptureError::too_large(incl_len)));
        }
        // Grows only as bytes arrive, so a bogus length in a damaged file costs no memory.
        let mut data = Vec::new();
        (&mut self.inner)
            .take(u64::from(incl_len))
            .read_to_end(&mut data)
            .map_err(|e| at(CaptureError::io(e)))?;
        if data.len() as u64 != u64::from(incl_len) {
            return Err(at(CaptureError::truncated(
                "record data",
                u64::from(incl_len),
                data.len() as u64,
            )));
        }
        self.offset += RECORD_HEADER_LEN as u64 + u64::from(incl_len);
        self.records = number;
        Ok(Some(Record {
            timestamp,
            index: ControllerIndex((flags >> 16) as u16),
            opcode: MonitorOpcode(flags as u16),
            drops,
            orig_len,
            data,
        }))
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<Record, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_record().transpose()
    }
}

impl<R: Read> std::iter::FusedIterator for CaptureReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ErrorKind;

    /// A header and one 2-byte SYSTEM_NOTE record, laid out as doc/btsnoop.txt documents.
    fn one_record_file() -> Vec<u8> {
        let mut f = b"btsnoop\0\0\0\0\x01\0\0\x07\xd1".to_vec();
        f.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 2, 0xff, 0xff, 0, 12, 0, 0, 0, 0]);
        f.extend_from_slice(&0x00DC_DDB3_0F2F_8000i64.to_be_bytes());
        f.extend_from_slice(b"hi");
        f
    }

    #[test]
    fn reads_documented_layout() {
        let f = one_record_file();
        let records: Vec<_> = CaptureReader::new(&f[..]).unwrap().collect();
        assert_eq!(records.len(), 1);
        let r = records[0].as_ref().unwrap();
        assert_eq!(r.opcode, MonitorOpcode::SYSTEM_NOTE);
        assert_eq!(r.index, ControllerIndex::NONE);
        assert_eq!(r.timestamp.unix_micros(), 0);
        assert_eq!(r.data, b"hi");
    }

    #[test]
    fn every_truncation_yields_records_then_one_error() {
        let f = one_record_file();
        for cut in FILE_HEADER_LEN + 1..f.len() {
            let items: Vec<_> = CaptureReader::new(&f[..cut]).unwrap().collect();
            assert_eq!(items.len(), 1, "cut at {cut}");
            let e = items[0].as_ref().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Truncated);
            assert_eq!(e.record(), Some(1));
            assert_eq!(e.offset(), Some(16));
            let present = cut - FILE_HEADER_LEN;
            let msg = e.to_string();
            if present < RECORD_HEADER_LEN {
                assert!(
                    msg.contains(&format!(
                        "record header: expected 24 bytes, {present} present"
                    )),
                    "{msg}"
                );
            } else {
                let have = present - RECORD_HEADER_LEN;
                assert!(
                    msg.contains(&format!("record data: expected 2 bytes, {have} present")),
                    "{msg}"
                );
            }
        }
    }

    #[test]
    fn header_problems() {
        let mut f = one_record_file();
        f[13] = 0;
        f[14] = 0x03;
        f[15] = 0xe9; // datalink 1001 (plain HCI)
        let e = CaptureReader::new(&f[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDatalink);
        assert!(e.to_string().contains("1001"));
        let mut f = one_record_file();
        f[11] = 2;
        assert_eq!(
            CaptureReader::new(&f[..]).unwrap_err().kind(),
            ErrorKind::UnsupportedVersion
        );
        let e = CaptureReader::new(&b"\xd4\xc3\xb2\xa1 pcap file"[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadMagic);
        let e = CaptureReader::new(&b"btsnoop\0\0\0"[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let e = CaptureReader::new(&b"bt"[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
        let e = CaptureReader::new(&b""[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Truncated);
    }

    #[test]
    fn huge_declared_length_does_not_allocate() {
        let mut f = one_record_file();
        f[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
        let items: Vec<_> = CaptureReader::new(&f[..]).unwrap().collect();
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RecordTooLarge);
        assert!(e.to_string().contains("4294967295 bytes"), "{e}");
    }

    /// A record declaring 1.5 GiB, with the bytes really there, is refused after its header:
    /// the reader never holds more than the largest MGMT frame.
    #[test]
    fn records_are_capped_at_the_largest_mgmt_frame() {
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0x41);
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
        }
        let mut f = one_record_file();
        f.truncate(FILE_HEADER_LEN + RECORD_HEADER_LEN);
        let declared = 3u32 << 29; // 1.5 GiB
        f[20..24].copy_from_slice(&declared.to_be_bytes());
        let mut reader = CaptureReader::new(io::Read::chain(&f[..], Endless(0))).unwrap();
        let e = reader.read_record().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RecordTooLarge);
        assert_eq!(e.record(), Some(1));
        assert!(reader.read_record().unwrap().is_none(), "reading stops");
        let (_, endless) = reader.into_inner().into_inner();
        assert_eq!(endless.0, 0, "no byte of the record's data was read");

        // The largest real record still reads.
        let mut f = one_record_file();
        f.truncate(FILE_HEADER_LEN + RECORD_HEADER_LEN);
        f[20..24].copy_from_slice(&MAX_RECORD_LEN.to_be_bytes());
        f.extend(std::iter::repeat(0).take(MAX_RECORD_LEN as usize));
        let r = CaptureReader::new(&f[..]).unwrap().next().unwrap().unwrap();
        assert_eq!(r.data.len(), MAX_RECORD_LEN as usize);
    }
}
