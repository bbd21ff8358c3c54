//! btsnoop capture files in the Linux monitor format (`btmon -w`, datalink 2001): reading,
//! writing, and the MGMT control-channel records inside them.
//!
//! ```text
//! file:   "btsnoop\0" | version u32 = 1 | datalink u32 = 2001        (big endian)
//! record: orig_len u32 | incl_len u32 | flags u32 | drops u32 | timestamp i64 | data[incl_len]
//!         flags = controller index << 16 | monitor opcode           (big endian)
//! ```
//! (BlueZ `doc/btsnoop.txt`, `src/shared/btsnoop.c`.) Timestamps count microseconds from
//! midnight, 1 January of year 0; see [`Timestamp`].
//!
//! [`CaptureReader`] yields [`Record`]s with every header field kept, so nothing is lost and
//! [`CaptureWriter`] writes them back byte for byte. [`Record::body`] types the payload;
//! [`Record::mgmt_frame`] turns CTRL_COMMAND / CTRL_EVENT records into the protocol crate's
//! [`CommandFrame`](bluez_mgmt_protocol::CommandFrame) /
//! [`EventFrame`](bluez_mgmt_protocol::EventFrame).

mod error;
mod opcode;
mod reader;
mod record;
mod timestamp;
mod writer;

pub use error::{CaptureError, ErrorKind};
pub use opcode::MonitorOpcode;
pub use reader::CaptureReader;
pub use record::{
    ControlClose, ControlCommand, ControlEvent, ControlOpen, IndexInfo, MgmtFrame, NewIndex,
    Record, RecordBody, UserLogging,
};
pub use timestamp::{Timestamp, UNIX_EPOCH_OFFSET_MICROS, Y2000_OFFSET_MICROS};
pub use writer::{CaptureWriter, FILE_MODE};

/// The eight bytes every btsnoop file starts with.
pub const MAGIC: [u8; 8] = *b"btsnoop\0";
/// The btsnoop version this module reads and writes.
pub const VERSION: u32 = 1;
/// The datalink of the Linux monitor format (`BTSNOOP_FORMAT_MONITOR`).
pub const DATALINK_MONITOR: u32 = 2001;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 24;
/// The most data one record carries: a CTRL_COMMAND or CTRL_EVENT record holds the socket
/// cookie (4), the opcode or event code (2) and at most 65535 parameter bytes, the largest
/// MGMT frame; HCI packets in the monitor format are smaller (ACL: 4 + 65535). The reader
/// refuses a record declaring more instead of buffering it.
pub const MAX_RECORD_LEN: u32 = 4 + 2 + 65535;
