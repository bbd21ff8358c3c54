//! Replay of a btsnoop capture, and btsnoop output for the recording transport.
//!
//! A capture holds the traffic of every control socket, each tagged with its cookie. The kernel
//! logs a command once, with the sender's cookie, and logs an event once per socket that
//! received it, with that socket's cookie (`hci_send_monitor_ctrl_event` walks the control
//! sockets; Command Complete and Command Status go to the requester only). So the events a
//! socket saw are exactly the CTRL_EVENT records with its cookie, broadcast events included;
//! fixtures/le-sc-numeric-comparison.btsnoop shows it: Device Connected and User Confirmation
//! Request carry the requesting socket's cookie 1 while btmon's own socket is cookie 2.
//!
//! [`replay`] turns one socket's records into a [`ScriptedTransport`]: every command we write
//! must equal the socket's next recorded command, and the recorded events are delivered in
//! order, never past a command we have not written yet.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use super::record::{ControlRecord, ControlSink};
use super::script::{frame, ScriptStep, ScriptedTransport};
use crate::capture::{
    CaptureError, CaptureReader, CaptureWriter, ControlOpen, MonitorOpcode, Record, RecordBody,
    Timestamp,
};

/// Which socket of a capture to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplaySocket {
    /// The socket that sent the capture's first MGMT command.
    #[default]
    FirstCommand,
    /// The socket with this cookie.
    Cookie(u32),
}

/// One socket's conversation read from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The socket's cookie.
    pub cookie: u32,
    /// Its commands and events as whole MGMT frames, in capture order.
    pub steps: Vec<ScriptStep>,
}

impl Conversation {
    /// Reads socket `which` of the capture at `path`. A capture with no command for that
    /// socket gives an empty conversation.
    pub fn from_capture(
        path: impl AsRef<Path>,
        which: ReplaySocket,
    ) -> Result<Conversation, CaptureError> {
        let records: Vec<Record> = CaptureReader::open(path)?.collect::<Result<_, _>>()?;
        Conversation::from_records(&records, which)
    }

    /// Picks socket `which` out of `records`.
    pub fn from_records(
        records: &[Record],
        which: ReplaySocket,
    ) -> Result<Conversation, CaptureError> {
        let mut bodies = Vec::with_capacity(records.len());
        for r in records {
            if r.opcode == MonitorOpcode::CTRL_COMMAND || r.opcode == MonitorOpcode::CTRL_EVENT {
                bodies.push((r.index, r.body()?));
            }
        }
        let cookie = match which {
            ReplaySocket::Cookie(c) => c,
            ReplaySocket::FirstCommand => bodies
                .iter()
                .find_map(|(_, b)| match b {
                    RecordBody::ControlCommand(c) => Some(c.cookie),
                    _ => None,
                })
                .unwrap_or(0),
        };
        let steps = bodies
            .into_iter()
            .filter_map(|(index, body)| match body {
                RecordBody::ControlCommand(c) if c.cookie == cookie => {
                    Some(ScriptStep::Write(frame(c.opcode.0, index, &c.params)))
                }
                RecordBody::ControlEvent(e) if e.cookie == cookie => {
                    Some(ScriptStep::Read(frame(e.code.0, index, &e.params)))
                }
                _ => None,
            })
            .collect();
        Ok(Conversation { cookie, steps })
    }

    /// The transport that replays it.
    pub fn into_transport(self) -> ScriptedTransport {
        ScriptedTransport::new(self.steps)
    }
}

/// Replays socket `which` of the capture at `path` (see the module documentation).
pub fn replay(
    path: impl AsRef<Path>,
    which: ReplaySocket,
) -> Result<ScriptedTransport, CaptureError> {
    Conversation::from_capture(path, which).map(Conversation::into_transport)
}

/// The kernel's ident field is the task name: 16 bytes, NUL padded.
const IDENT_LEN: usize = 16;

impl<W: Write + Send + 'static> ControlSink for CaptureWriter<W> {
    fn record(&mut self, time: SystemTime, record: &ControlRecord) -> std::io::Result<()> {
        let ts = Timestamp::from_system_time(time);
        let rec = match record {
            ControlRecord::Open {
                cookie,
                version,
                revision,
                ident,
            } => {
                let mut name = ident.as_bytes().to_vec();
                name.resize(IDENT_LEN, 0);
                Record::control_open(
                    ts,
                    &ControlOpen {
                        cookie: *cookie,
                        format: ControlOpen::FORMAT_MGMT,
                        version: *version,
                        revision: *revision,
                        flags: 0,
                        ident: name,
                    },
                )
            }
            ControlRecord::Command {
                cookie,
                index,
                opcode,
                params,
            } => Record::new(
                ts,
                *index,
                MonitorOpcode::CTRL_COMMAND,
                [&cookie.to_le_bytes()[..], &opcode.to_le_bytes(), params].concat(),
            ),
            ControlRecord::Event {
                cookie,
                index,
                code,
                params,
            } => Record::new(
                ts,
                *index,
                MonitorOpcode::CTRL_EVENT,
                [&cookie.to_le_bytes()[..], &code.to_le_bytes(), params].concat(),
            ),
            ControlRecord::Close { cookie } => Record::control_close(ts, *cookie),
        };
        self.write_record(&rec).map_err(std::io::Error::other)?;
        // Flushed per record so that a capture is complete up to the last frame even if the
        // program is killed.
        self.flush().map_err(std::io::Error::other)
    }
}
