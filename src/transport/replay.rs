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
use super::script::{frame, ScriptStep, ScriptedTransport, StepSource};
use crate::capture::{
    CaptureError, CaptureReader, CaptureWriter, ControlOpen, MonitorOpcode, Record, RecordBody,
    Timestamp,
};

/// Which socket of a capture to replay.
///
/// The kernel reuses a closed socket's cookie for the next socket it opens, so a cookie can
/// name several sockets over a capture; each CTRL_CLOSE ends one. `instance` counts them: 0 is
/// the first socket with that cookie, 1 the one opened after it was closed, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplaySocket {
    /// The socket that sent the capture's first MGMT command.
    #[default]
    FirstCommand,
    /// The first socket with this cookie.
    Cookie(u32),
    /// The `instance`th socket with this cookie.
    Instance {
        /// The cookie.
        cookie: u32,
        /// Which of the sockets that had it, from 0.
        instance: u32,
    },
}

/// One socket's conversation read from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The socket's cookie.
    pub cookie: u32,
    /// Which socket with that cookie it was (see [`ReplaySocket`]).
    pub instance: u32,
    /// Its commands and events as whole MGMT frames, in capture order.
    pub steps: Vec<ScriptStep>,
    /// Where each step was read from (same length and order as `steps`).
    pub sources: Vec<StepSource>,
}

/// A control-channel record tagged with the socket instance it belongs to.
struct Tagged {
    source: StepSource,
    step: ScriptStep,
}

fn tag(records: &[Record]) -> Result<Vec<Tagged>, CaptureError> {
    use std::collections::HashMap;
    let mut closed: HashMap<u32, u32> = HashMap::new();
    let mut programs: HashMap<(u32, u32), String> = HashMap::new();
    let mut out = Vec::new();
    for (position, r) in records.iter().enumerate() {
        let is_control = [
            MonitorOpcode::CTRL_OPEN,
            MonitorOpcode::CTRL_COMMAND,
            MonitorOpcode::CTRL_EVENT,
            MonitorOpcode::CTRL_CLOSE,
        ]
        .contains(&r.opcode);
        if !is_control {
            continue;
        }
        let (cookie, step) = match r.body()? {
            RecordBody::ControlCommand(c) => (c.cookie, frame_step(true, c.opcode.0, r, &c.params)),
            RecordBody::ControlEvent(e) => (e.cookie, frame_step(false, e.code.0, r, &e.params)),
            RecordBody::ControlOpen(o) => {
                let instance = closed.get(&o.cookie).copied().unwrap_or(0);
                programs.insert((o.cookie, instance), o.ident_text());
                continue;
            }
            RecordBody::ControlClose(c) => {
                *closed.entry(c.cookie).or_default() += 1;
                continue;
            }
            _ => continue,
        };
        let instance = closed.get(&cookie).copied().unwrap_or(0);
        out.push(Tagged {
            source: StepSource {
                record: position + 1,
                cookie,
                instance,
                program: programs
                    .get(&(cookie, instance))
                    .cloned()
                    .unwrap_or_default(),
            },
            step,
        });
    }
    Ok(out)
}

fn frame_step(command: bool, code: u16, r: &Record, params: &[u8]) -> ScriptStep {
    let f = frame(code, r.index, params);
    if command {
        ScriptStep::Write(f)
    } else {
        ScriptStep::Read(f)
    }
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

    /// Every socket of `records` that sent at least one command, as (cookie, instance), in
    /// the order of their first command.
    pub fn sockets(records: &[Record]) -> Result<Vec<(u32, u32)>, CaptureError> {
        let mut out = Vec::new();
        for t in tag(records)? {
            let socket = (t.source.cookie, t.source.instance);
            if matches!(t.step, ScriptStep::Write(_)) && !out.contains(&socket) {
                out.push(socket);
            }
        }
        Ok(out)
    }

    /// Picks socket `which` out of `records`.
    pub fn from_records(
        records: &[Record],
        which: ReplaySocket,
    ) -> Result<Conversation, CaptureError> {
        let tagged = tag(records)?;
        let (cookie, instance) = match which {
            ReplaySocket::Instance { cookie, instance } => (cookie, instance),
            ReplaySocket::Cookie(c) => (
                c,
                tagged
                    .iter()
                    .find(|t| t.source.cookie == c)
                    .map_or(0, |t| t.source.instance),
            ),
            ReplaySocket::FirstCommand => tagged
                .iter()
                .find(|t| matches!(t.step, ScriptStep::Write(_)))
                .map_or((0, 0), |t| (t.source.cookie, t.source.instance)),
        };
        let (steps, sources) = tagged
            .into_iter()
            .filter(|t| t.source.cookie == cookie && t.source.instance == instance)
            .map(|t| (t.step, t.source))
            .unzip();
        Ok(Conversation {
            cookie,
            instance,
            steps,
            sources,
        })
    }

    /// The transport that replays it; a mismatch names the capture record it expected.
    pub fn into_transport(self) -> ScriptedTransport {
        ScriptedTransport::with_sources(self.steps, self.sources)
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
