//! One capture record: the header fields kept exactly as stored, the payload bytes, and a typed
//! view of the payload ([`RecordBody`]) with the MGMT control-channel records decoded.
//!
//! Control-channel payload layouts (kernel `net/bluetooth/hci_sock.c`, `create_monitor_ctrl_*`;
//! BlueZ `monitor/packet.c`), all little endian:
//! ```text
//! CTRL_OPEN     cookie u32 | format u16 | version u8 | revision u16 | flags u32 | ident_len u8 | ident
//! CTRL_CLOSE    cookie u32
//! CTRL_COMMAND  cookie u32 | opcode u16     | parameters (the MGMT command without its header)
//! CTRL_EVENT    cookie u32 | event code u16 | parameters (the MGMT event without its header)
//! NEW_INDEX     type u8 | bus u8 | address [6] | name [8] (NUL padded)
//! INDEX_INFO    address [6] | manufacturer u16
//! SYSTEM_NOTE   text (NUL terminated)
//! USER_LOGGING  priority u8 | ident_len u8 | ident (NUL terminated) | message (NUL terminated)
//! ```
//! (NEW_INDEX, INDEX_INFO, USER_LOGGING: BlueZ `src/shared/btsnoop.h`.)

use bluez_mgmt_protocol::{
    Address, AnyCommand, CommandFrame, ControllerIndex, Event, EventCode, EventFrame, Opcode,
};

use super::{CaptureError, MonitorOpcode, Timestamp};

/// One record of a monitor-format capture.
///
/// Every header field is kept as stored, so writing a record read from a file gives back the
/// same bytes. `data` holds the `incl_len` bytes present in the file; `orig_len` is the length
/// the packet had (larger when the capturing tool cut it short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it was captured.
    pub timestamp: Timestamp,
    /// The controller it concerns ([`ControllerIndex::NONE`] for none): the high 16 bits of
    /// the record flags.
    pub index: ControllerIndex,
    /// What it carries: the low 16 bits of the record flags.
    pub opcode: MonitorOpcode,
    /// Cumulative count of packets the capturing tool dropped.
    pub drops: u32,
    /// Length of the packet as it was seen (the record's original length).
    pub orig_len: u32,
    /// The payload bytes stored in the file (the record's included length is `data.len()`).
    pub data: Vec<u8>,
}

/// The payload of a [`Record`], typed by its monitor opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordBody {
    /// A control-channel socket was opened.
    ControlOpen(ControlOpen),
    /// A control-channel socket was closed.
    ControlClose(ControlClose),
    /// An MGMT command as a program sent it.
    ControlCommand(ControlCommand),
    /// An MGMT event as a socket received it.
    ControlEvent(ControlEvent),
    /// A controller was registered.
    NewIndex(NewIndex),
    /// A controller's address and manufacturer.
    IndexInfo(IndexInfo),
    /// A text note from the kernel or the capturing tool (NUL terminator removed).
    SystemNote(String),
    /// A log line from a user-space program.
    UserLogging(UserLogging),
    /// Any other record (HCI packets, open/close index, ...), payload as stored.
    Other {
        /// The payload bytes.
        raw: Vec<u8>,
    },
}

/// Payload of a CTRL_OPEN record: who opened a control-channel socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlOpen {
    /// The socket's cookie; the socket's later records carry the same one.
    pub cookie: u32,
    /// Channel format: [`ControlOpen::FORMAT_RAW`], [`FORMAT_USER`](ControlOpen::FORMAT_USER),
    /// [`FORMAT_MGMT`](ControlOpen::FORMAT_MGMT), ...
    pub format: u16,
    /// Version of the channel's protocol (MGMT: 1).
    pub version: u8,
    /// Revision of the channel's protocol (MGMT: 22 on kernel 6.1).
    pub revision: u16,
    /// Socket flags; bit 0 is set for a privileged (trusted) socket.
    pub flags: u32,
    /// Name of the opening process (the kernel's `comm`, NUL padded), as stored.
    pub ident: Vec<u8>,
}

impl ControlOpen {
    /// Format of a raw HCI socket.
    pub const FORMAT_RAW: u16 = 0;
    /// Format of a user-channel HCI socket.
    pub const FORMAT_USER: u16 = 1;
    /// Format of an MGMT control socket.
    pub const FORMAT_MGMT: u16 = 2;
    /// Flag bit of a privileged (trusted) socket.
    pub const FLAG_PRIVILEGED: u32 = 1;

    /// The process name without its NUL padding (invalid UTF-8 replaced).
    pub fn ident_text(&self) -> String {
        let end = self
            .ident
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.ident.len());
        String::from_utf8_lossy(&self.ident[..end]).into_owned()
    }

    /// True when the socket was opened by a privileged process.
    pub fn is_privileged(&self) -> bool {
        self.flags & Self::FLAG_PRIVILEGED != 0
    }
}

/// Payload of a CTRL_CLOSE record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlClose {
    /// Cookie of the socket that was closed.
    pub cookie: u32,
}

/// Payload of a CTRL_COMMAND record: an MGMT command, its header replaced by the cookie (the
/// controller index is the record's, the length is implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlCommand {
    /// Cookie of the sending socket.
    pub cookie: u32,
    /// The command's opcode.
    pub opcode: Opcode,
    /// Its parameters.
    pub params: Vec<u8>,
}

/// Payload of a CTRL_EVENT record: an MGMT event delivered to one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlEvent {
    /// Cookie of the receiving socket.
    pub cookie: u32,
    /// The event's code.
    pub code: EventCode,
    /// Its parameters.
    pub params: Vec<u8>,
}

/// Payload of a NEW_INDEX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIndex {
    /// Controller type (0: primary).
    pub controller_type: u8,
    /// Bus (0 virtual, 1 USB, 3 UART, ... as `BTSNOOP_BUS_*`).
    pub bus: u8,
    /// The controller's public address.
    pub address: Address,
    /// The controller's name (`hci0`), without NUL padding.
    pub name: String,
}

/// Payload of an INDEX_INFO record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexInfo {
    /// The controller's public address.
    pub address: Address,
    /// Its manufacturer (Bluetooth SIG company identifier).
    pub manufacturer: u16,
}

/// Payload of a USER_LOGGING record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLogging {
    /// Syslog priority (0 emergency ... 7 debug).
    pub priority: u8,
    /// The program's name.
    pub ident: String,
    /// The log message.
    pub message: String,
}

/// Text up to the first NUL, invalid UTF-8 replaced.
fn nul_terminated(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// An MGMT frame taken from a control-channel record, decoded by the protocol crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MgmtFrame {
    /// A command a program sent.
    Command {
        /// Cookie of the sending socket.
        cookie: u32,
        /// The command, with the record's controller index.
        frame: CommandFrame,
    },
    /// An event a socket received.
    Event {
        /// Cookie of the receiving socket.
        cookie: u32,
        /// The event, with the record's controller index.
        frame: EventFrame,
    },
}

/// Little-endian field reader over a record payload; failures name the field and offset.
struct Fields<'a> {
    opcode: MonitorOpcode,
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn take(&mut self, field: &str, n: usize) -> Result<&'a [u8], CaptureError> {
        let rest = &self.data[self.pos..];
        if rest.len() < n {
            return Err(CaptureError::malformed(
                self.opcode,
                format!(
                    "field `{field}` at payload offset {} needs {n} bytes, {} present",
                    self.pos,
                    rest.len()
                ),
            ));
        }
        self.pos += n;
        Ok(&rest[..n])
    }
    fn u8(&mut self, field: &str) -> Result<u8, CaptureError> {
        Ok(self.take(field, 1)?[0])
    }
    fn u16(&mut self, field: &str) -> Result<u16, CaptureError> {
        let b = self.take(field, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &str) -> Result<u32, CaptureError> {
        let b = self.take(field, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn address(&mut self, field: &str) -> Result<Address, CaptureError> {
        let mut a = [0u8; 6];
        a.copy_from_slice(self.take(field, 6)?);
        Ok(Address(a))
    }
    fn rest(&mut self) -> &'a [u8] {
        let r = &self.data[self.pos..];
        self.pos = self.data.len();
        r
    }
    fn finish(&self) -> Result<(), CaptureError> {
        if self.pos != self.data.len() {
            return Err(CaptureError::malformed(
                self.opcode,
                format!(
                    "{} trailing bytes after the payload's {} bytes",
                    self.data.len() - self.pos,
                    self.pos
                ),
            ));
        }
        Ok(())
    }
}

impl Record {
    /// A record of `opcode` carrying `data` whole (original length = `data.len()`, no drops).
    pub fn new(
        timestamp: Timestamp,
        index: ControllerIndex,
        opcode: MonitorOpcode,
        data: Vec<u8>,
    ) -> Self {
        Record {
            timestamp,
            index,
            opcode,
            drops: 0,
            orig_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data,
        }
    }

    /// The record flags as stored: `index << 16 | opcode`.
    pub fn flags(&self) -> u32 {
        u32::from(self.index.0) << 16 | u32::from(self.opcode.0)
    }

    /// True when the capturing tool stored fewer bytes than the packet had.
    pub fn is_cut_short(&self) -> bool {
        u64::from(self.orig_len) > self.data.len() as u64
    }

    /// The payload typed by opcode. Control-channel, index and logging records must have their
    /// documented layout; every other record is [`RecordBody::Other`].
    pub fn body(&self) -> Result<RecordBody, CaptureError> {
        let mut f = Fields {
            opcode: self.opcode,
            data: &self.data,
            pos: 0,
        };
        let body = match self.opcode {
            MonitorOpcode::CTRL_OPEN => {
                let cookie = f.u32("cookie")?;
                let format = f.u16("format")?;
                let version = f.u8("version")?;
                let revision = f.u16("revision")?;
                let flags = f.u32("flags")?;
                let ident_len = f.u8("ident_len")?;
                let ident = f.take("ident", usize::from(ident_len))?.to_vec();
                f.finish()?;
                RecordBody::ControlOpen(ControlOpen {
                    cookie,
                    format,
                    version,
                    revision,
                    flags,
                    ident,
                })
            }
            MonitorOpcode::CTRL_CLOSE => {
                let cookie = f.u32("cookie")?;
                f.finish()?;
                RecordBody::ControlClose(ControlClose { cookie })
            }
            MonitorOpcode::CTRL_COMMAND => RecordBody::ControlCommand(ControlCommand {
                cookie: f.u32("cookie")?,
                opcode: Opcode(f.u16("opcode")?),
                params: f.rest().to_vec(),
            }),
            MonitorOpcode::CTRL_EVENT => RecordBody::ControlEvent(ControlEvent {
                cookie: f.u32("cookie")?,
                code: EventCode(f.u16("event code")?),
                params: f.rest().to_vec(),
            }),
            MonitorOpcode::NEW_INDEX => {
                let controller_type = f.u8("type")?;
                let bus = f.u8("bus")?;
                let address = f.address("address")?;
                let name = nul_terminated(f.take("name", 8)?);
                f.finish()?;
                RecordBody::NewIndex(NewIndex {
                    controller_type,
                    bus,
                    address,
                    name,
                })
            }
            MonitorOpcode::INDEX_INFO => {
                let address = f.address("address")?;
                let manufacturer = f.u16("manufacturer")?;
                f.finish()?;
                RecordBody::IndexInfo(IndexInfo {
                    address,
                    manufacturer,
                })
            }
            MonitorOpcode::SYSTEM_NOTE => RecordBody::SystemNote(nul_terminated(f.rest())),
            MonitorOpcode::USER_LOGGING => {
                let priority = f.u8("priority")?;
                let ident_len = f.u8("ident_len")?;
                let ident = nul_terminated(f.take("ident", usize::from(ident_len))?);
                let message = nul_terminated(f.rest());
                RecordBody::UserLogging(UserLogging {
                    priority,
                    ident,
                    message,
                })
            }
            _ => RecordBody::Other {
                raw: self.data.clone(),
            },
        };
        Ok(body)
    }

    /// The MGMT command or event in a CTRL_COMMAND / CTRL_EVENT record, decoded; `None` for
    /// every other record.
    pub fn mgmt_frame(&self) -> Result<Option<MgmtFrame>, CaptureError> {
        match self.body()? {
            RecordBody::ControlCommand(c) => Ok(Some(MgmtFrame::Command {
                cookie: c.cookie,
                frame: CommandFrame {
                    index: self.index,
                    command: AnyCommand::decode(c.opcode, &c.params)
                        .map_err(CaptureError::decode)?,
                },
            })),
            RecordBody::ControlEvent(e) => Ok(Some(MgmtFrame::Event {
                cookie: e.cookie,
                frame: EventFrame {
                    index: self.index,
                    event: Event::decode(e.code, &e.params).map_err(CaptureError::decode)?,
                },
            })),
            _ => Ok(None),
        }
    }

    /// The MGMT command of a CTRL_COMMAND record (controller index from the record); `None`
    /// for every other record.
    pub fn to_command_frame(&self) -> Result<Option<CommandFrame>, CaptureError> {
        if self.opcode != MonitorOpcode::CTRL_COMMAND {
            return Ok(None);
        }
        match self.mgmt_frame()? {
            Some(MgmtFrame::Command { frame, .. }) => Ok(Some(frame)),
            _ => Ok(None),
        }
    }

    /// The MGMT event of a CTRL_EVENT record (controller index from the record); `None` for
    /// every other record.
    pub fn to_event_frame(&self) -> Result<Option<EventFrame>, CaptureError> {
        if self.opcode != MonitorOpcode::CTRL_EVENT {
            return Ok(None);
        }
        match self.mgmt_frame()? {
            Some(MgmtFrame::Event { frame, .. }) => Ok(Some(frame)),
            _ => Ok(None),
        }
    }

    /// A CTRL_OPEN record (controller index none, as the kernel writes it).
    pub fn control_open(timestamp: Timestamp, open: &ControlOpen) -> Self {
        let mut d = Vec::with_capacity(14 + open.ident.len());
        d.extend_from_slice(&open.cookie.to_le_bytes());
        d.extend_from_slice(&open.format.to_le_bytes());
        d.push(open.version);
        d.extend_from_slice(&open.revision.to_le_bytes());
        d.extend_from_slice(&open.flags.to_le_bytes());
        // The length field is one octet: a longer ident is cut to 255 bytes.
        let ident = &open.ident[..open.ident.len().min(255)];
        d.push(ident.len() as u8);
        d.extend_from_slice(ident);
        Record::new(
            timestamp,
            ControllerIndex::NONE,
            MonitorOpcode::CTRL_OPEN,
            d,
        )
    }

    /// A CTRL_CLOSE record for the socket `cookie`.
    pub fn control_close(timestamp: Timestamp, cookie: u32) -> Self {
        Record::new(
            timestamp,
            ControllerIndex::NONE,
            MonitorOpcode::CTRL_CLOSE,
            cookie.to_le_bytes().to_vec(),
        )
    }

    /// A CTRL_COMMAND record: `frame` sent on the socket `cookie` (index from the frame).
    pub fn control_command(timestamp: Timestamp, cookie: u32, frame: &CommandFrame) -> Self {
        let mut d = Vec::new();
        d.extend_from_slice(&cookie.to_le_bytes());
        d.extend_from_slice(&frame.command.opcode().0.to_le_bytes());
        frame.command.encode(&mut d);
        Record::new(timestamp, frame.index, MonitorOpcode::CTRL_COMMAND, d)
    }

    /// A CTRL_EVENT record: `frame` received on the socket `cookie` (index from the frame).
    pub fn control_event(timestamp: Timestamp, cookie: u32, frame: &EventFrame) -> Self {
        let mut d = Vec::new();
        d.extend_from_slice(&cookie.to_le_bytes());
        d.extend_from_slice(&frame.event.code().0.to_le_bytes());
        frame.event.encode(&mut d);
        Record::new(timestamp, frame.index, MonitorOpcode::CTRL_EVENT, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ErrorKind;
    use bluez_mgmt_protocol::command::{ReadVersion, SetPowered};

    fn ts() -> Timestamp {
        Timestamp::from_unix_micros(1_700_000_000_000_000)
    }

    #[test]
    fn control_command_layout() {
        // Documented layout (hci_sock.c create_monitor_ctrl_command): cookie, opcode, params.
        let frame = CommandFrame {
            index: ControllerIndex(0),
            command: SetPowered { powered: true }.into(),
        };
        let r = Record::control_command(ts(), 7, &frame);
        assert_eq!(r.data, [7, 0, 0, 0, 0x05, 0x00, 0x01]);
        assert_eq!(r.flags(), 16);
        assert_eq!(r.orig_len, 7);
        assert_eq!(r.to_command_frame().unwrap(), Some(frame));
        assert_eq!(r.to_event_frame().unwrap(), None);
    }

    #[test]
    fn control_open_round_trip() {
        let open = ControlOpen {
            cookie: 1,
            format: ControlOpen::FORMAT_MGMT,
            version: 1,
            revision: 22,
            flags: ControlOpen::FLAG_PRIVILEGED,
            ident: b"python3\0\0\0\0\0\0\0\0\0".to_vec(),
        };
        let r = Record::control_open(ts(), &open);
        assert_eq!(r.index, ControllerIndex::NONE);
        assert_eq!(r.flags(), 0xFFFF_000E);
        let RecordBody::ControlOpen(back) = r.body().unwrap() else {
            panic!()
        };
        assert_eq!(back, open);
        assert_eq!(back.ident_text(), "python3");
        assert!(back.is_privileged());
    }

    #[test]
    fn malformed_control_records_say_which_field() {
        let r = Record::new(
            ts(),
            ControllerIndex::NONE,
            MonitorOpcode::CTRL_COMMAND,
            vec![1, 0, 0, 0, 5],
        );
        let e = r.body().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedRecord);
        assert!(e.to_string().contains("`opcode`"), "{e}");
        let r = Record::new(
            ts(),
            ControllerIndex::NONE,
            MonitorOpcode::CTRL_CLOSE,
            vec![1, 0, 0, 0, 9],
        );
        assert!(r.body().unwrap_err().to_string().contains("trailing"));
    }

    #[test]
    fn mgmt_decode_failure_is_decode_kind() {
        // Read Version takes no parameters: one extra byte must fail to decode.
        let mut r = Record::control_command(
            ts(),
            1,
            &CommandFrame {
                index: ControllerIndex::NONE,
                command: ReadVersion {}.into(),
            },
        );
        r.data.push(0);
        let e = r.mgmt_frame().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.decode_error().is_some());
    }

    #[test]
    fn index_and_logging_layouts() {
        // Documented layouts, BlueZ src/shared/btsnoop.h (btsnoop_opcode_new_index,
        // btsnoop_opcode_index_info, btsnoop_opcode_user_logging).
        let mut d = vec![0, 1, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11];
        d.extend_from_slice(b"hci1\0\0\0\0");
        let r = Record::new(ts(), ControllerIndex(1), MonitorOpcode::NEW_INDEX, d);
        let RecordBody::NewIndex(n) = r.body().unwrap() else {
            panic!()
        };
        assert_eq!((n.controller_type, n.bus, n.name.as_str()), (0, 1, "hci1"));
        assert_eq!(n.address.to_string(), "11:22:33:44:55:66");
        let r = Record::new(
            ts(),
            ControllerIndex(1),
            MonitorOpcode::INDEX_INFO,
            vec![0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x31, 0x01],
        );
        let RecordBody::IndexInfo(i) = r.body().unwrap() else {
            panic!()
        };
        assert_eq!(i.manufacturer, 0x0131);
        let mut d = vec![6, 4];
        d.extend_from_slice(b"app\0hello\0");
        let r = Record::new(ts(), ControllerIndex::NONE, MonitorOpcode::USER_LOGGING, d);
        let RecordBody::UserLogging(l) = r.body().unwrap() else {
            panic!()
        };
        assert_eq!(
            (l.priority, l.ident.as_str(), l.message.as_str()),
            (6, "app", "hello")
        );
        let r = Record::new(
            ts(),
            ControllerIndex(1),
            MonitorOpcode::NEW_INDEX,
            vec![0, 1, 2],
        );
        assert_eq!(r.body().unwrap_err().kind(), ErrorKind::MalformedRecord);
    }

    #[test]
    fn other_records_are_kept_raw() {
        let r = Record::new(
            ts(),
            ControllerIndex(0),
            MonitorOpcode::EVENT_PKT,
            vec![1, 2],
        );
        assert_eq!(r.body().unwrap(), RecordBody::Other { raw: vec![1, 2] });
        assert_eq!(r.mgmt_frame().unwrap(), None);
    }
}
