//! Writing a capture: the file header, then records exactly as given.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{
    CaptureError, Record, DATALINK_MONITOR, FILE_HEADER_LEN, MAGIC, RECORD_HEADER_LEN, VERSION,
};

/// Mode of capture files [`CaptureWriter::create`] makes: readable by the owner only.
pub const FILE_MODE: u32 = 0o600;

/// Writes a monitor-format btsnoop capture (datalink 2001) that `btmon -r` reads.
///
/// Records are written exactly: a record read by [`CaptureReader`](super::CaptureReader) and
/// written back gives the same bytes. Call [`finish`](CaptureWriter::finish) (or
/// [`flush`](CaptureWriter::flush)) at the end, so that errors of the last write are seen.
///
/// Limit of the reader, not of the format: `btmon -r` (BlueZ `src/shared/btsnoop.c`,
/// `BTSNOOP_MAX_PACKET_SIZE`) stops reading at a record whose original length exceeds 1490
/// bytes. MGMT records that large are rare (a Load Long Term Keys with dozens of keys).
#[derive(Debug)]
pub struct CaptureWriter<W: Write> {
    inner: W,
    offset: u64,
    records: u64,
}

impl CaptureWriter<BufWriter<File>> {
    /// Creates the file at `path` and writes the header. The file must not exist yet (an
    /// existing file, or a symbolic link in its place, is an error: nothing is overwritten or
    /// written through a link) and is created with mode 0600, because a capture of pairing
    /// holds link keys and LTKs.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(path)
            .map_err(CaptureError::io)?;
        // The mode asked for above is reduced by the umask, never widened; this makes it exact.
        file.set_permissions(Permissions::from_mode(FILE_MODE))
            .map_err(CaptureError::io)?;
        CaptureWriter::new(BufWriter::new(file))
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header (magic, version 1, datalink 2001) to `inner`.
    pub fn new(mut inner: W) -> Result<Self, CaptureError> {
        let mut hdr = [0u8; FILE_HEADER_LEN];
        hdr[..8].copy_from_slice(&MAGIC);
        hdr[8..12].copy_from_slice(&VERSION.to_be_bytes());
        hdr[12..16].copy_from_slice(&DATALINK_MONITOR.to_be_bytes());
        inner
            .write_all(&hdr)
            .map_err(|e| CaptureError::io(e).at(None, Some(0)))?;
        Ok(CaptureWriter {
            inner,
            offset: FILE_HEADER_LEN as u64,
            records: 0,
        })
    }

    /// Appends one record. Fails only on I/O errors and on payloads over 4 GiB.
    pub fn write_record(&mut self, record: &Record) -> Result<(), CaptureError> {
        let number = self.records + 1;
        let at = |e: CaptureError| e.at(Some(number), Some(self.offset));
        let incl_len = u32::try_from(record.data.len())
            .map_err(|_| at(CaptureError::too_long(record.data.len())))?;
        let mut hdr = [0u8; RECORD_HEADER_LEN];
        hdr[0..4].copy_from_slice(&record.orig_len.to_be_bytes());
        hdr[4..8].copy_from_slice(&incl_len.to_be_bytes());
        hdr[8..12].copy_from_slice(&record.flags().to_be_bytes());
        hdr[12..16].copy_from_slice(&record.drops.to_be_bytes());
        hdr[16..24].copy_from_slice(&record.timestamp.0.to_be_bytes());
        self.inner
            .write_all(&hdr)
            .and_then(|()| self.inner.write_all(&record.data))
            .map_err(|e| at(CaptureError::io(e)))?;
        self.offset += RECORD_HEADER_LEN as u64 + u64::from(incl_len);
        self.records = number;
        Ok(())
    }

    /// How many records have been written.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        self.inner.flush().map_err(CaptureError::io)
    }

    /// Flushes and gives back the underlying writer.
    pub fn finish(mut self) -> Result<W, CaptureError> {
        self.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureReader, MonitorOpcode, Timestamp};
    use bluez_mgmt_protocol::ControllerIndex;

    #[test]
    fn header_and_record_bytes() {
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        let mut r = Record::new(
            Timestamp(0x0102_0304_0506_0708),
            ControllerIndex(1),
            MonitorOpcode::CTRL_CLOSE,
            vec![9, 0, 0, 0],
        );
        r.drops = 3;
        w.write_record(&r).unwrap();
        assert_eq!(w.records_written(), 1);
        let bytes = w.finish().unwrap();
        // doc/btsnoop.txt: magic, version 1, datalink 2001, then the 24-byte record header.
        let mut expected = b"btsnoop\0\0\0\0\x01\0\0\x07\xd1".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 4, 0, 1, 0, 15, 0, 0, 0, 3]);
        expected.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0]);
        assert_eq!(bytes, expected);
        let back: Vec<_> = CaptureReader::new(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, vec![r]);
    }

    #[test]
    fn cut_short_record_keeps_orig_len() {
        let mut r = Record::new(
            Timestamp(5),
            ControllerIndex(0),
            MonitorOpcode::ACL_RX_PKT,
            vec![1],
        );
        r.orig_len = 300;
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        w.write_record(&r).unwrap();
        let bytes = w.finish().unwrap();
        let back = CaptureReader::new(&bytes[..])
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(back.is_cut_short());
        assert_eq!(back, r);
    }

    #[test]
    fn create_is_exclusive_private_and_follows_no_link() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("cap.btsnoop");
        CaptureWriter::create(&path).unwrap().finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // An existing file is not truncated.
        let e = CaptureWriter::create(&path).unwrap_err();
        assert!(e.to_string().contains("exists"), "{e}");
        // A link in the file's place (dangling or not) is not followed.
        let target = t.path().join("elsewhere");
        let link = t.path().join("link.btsnoop");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(CaptureWriter::create(&link).is_err());
        assert!(!target.exists(), "nothing written through the link");
    }
}
