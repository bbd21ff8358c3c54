//! A transport that plays a fixed conversation: the exact frames we must write and the frames
//! we then read, in order. Tests script it by hand (h2's mock I/O style); replay builds the
//! script from a btsnoop capture.
//!
//! Rules: reads are delivered in script order, but never past a write the client has not made
//! yet (so events recorded before a command are delivered before the client needs them, and
//! the reply to a command only after it). A write must equal the next scripted write, byte for
//! byte; it may come before earlier reads were delivered (a reply-lane command can overtake).
//! Any other write is a [`Mismatch`]: `send` fails with it (kind `InvalidData`) and it is kept
//! for [`ScriptedTransport::mismatch`]. When the script is exhausted, `recv` reports
//! `UnexpectedEof` (or waits forever, see [`ScriptedTransport::stay_open`]).

use std::fmt;
use std::io;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::{BoxFuture, Transport};
use crate::protocol::command::AnyCommand;
use crate::protocol::hex::Hex;
use crate::protocol::{ControllerIndex, EventCode, Opcode, RawFrame};

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptStep {
    /// The client must write exactly this command frame.
    Write(Vec<u8>),
    /// The client then reads this event frame.
    Read(Vec<u8>),
}

/// Where a scripted step came from when the script was read from a capture: the record and
/// the control socket that sent or received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSource {
    /// The record's position in the capture file, counting every record from 1.
    pub record: usize,
    /// The control socket's cookie.
    pub cookie: u32,
    /// Which of the sockets that had this cookie (see [`ReplaySocket`](super::ReplaySocket)).
    pub instance: u32,
    /// The program that opened the socket, as the kernel logged it (empty when the capture
    /// holds no open record for it).
    pub program: String,
}

impl fmt::Display for StepSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "capture record #{}, socket cookie {}",
            self.record, self.cookie
        )?;
        if self.instance != 0 {
            write!(f, " (instance {})", self.instance)?;
        }
        if !self.program.is_empty() {
            write!(f, " of {:?}", self.program)?;
        }
        Ok(())
    }
}

/// A write that was not the one the script expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Position of the expected write among the script's writes (0-based), if one was left.
    pub write_number: usize,
    /// The frame the script expected, or `None` when the script had no writes left.
    pub expected: Option<Vec<u8>>,
    /// Where the expected frame came from, when the script was read from a capture.
    pub expected_source: Option<StepSource>,
    /// The frame the client wrote.
    pub actual: Vec<u8>,
}

/// Describes a command frame in words, then its bytes:
/// `hci0 User Confirmation Reply (0x001c) UserConfirmReply { address: .. }`.
/// Secret fields stay redacted (the typed values redact themselves in `Debug`).
fn describe_command(frame: &[u8]) -> String {
    match RawFrame::parse("command frame", frame) {
        Ok(raw) => {
            let op = Opcode(raw.code);
            let words = match AnyCommand::decode(op, raw.params) {
                Ok(AnyCommand::Unknown { .. }) => format!("unknown command [{}]", Hex(raw.params)),
                Ok(typed) => format!("{:?}", typed.fields()),
                Err(e) => format!("malformed parameters ({e}) [{}]", Hex(raw.params)),
            };
            format!("{} {} ({:#06x}) {words}", raw.index, op, raw.code)
        }
        Err(e) => format!("unparsable frame [{}]: {e}", Hex(frame)),
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expected {
            Some(expected) => {
                write!(
                    f,
                    "command #{} differs from the script",
                    self.write_number
                )?;
                if let Some(source) = &self.expected_source {
                    write!(f, " ({source})")?;
                }
                write!(
                    f,
                    "\n  expected: {}\n            {}\n  actual:   {}\n            {}",
                    describe_command(expected),
                    Hex(expected),
                    describe_command(&self.actual),
                    Hex(&self.actual),
                )
            }
            None => write!(
                f,
                "unexpected command #{} after the end of the script\n  actual:   {}\n            {}",
                self.write_number,
                describe_command(&self.actual),
                Hex(&self.actual),
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

#[derive(Debug, Default)]
struct State {
    /// Index in `steps` after the last matched write.
    write_pos: usize,
    /// Index in `steps` of the next step `recv` looks at.
    read_pos: usize,
    writes_done: usize,
    mismatch: Option<Mismatch>,
}

/// A [`Transport`] that plays a script (see the module documentation).
#[derive(Debug)]
pub struct ScriptedTransport {
    steps: Vec<ScriptStep>,
    /// Parallel to `steps` when the script came from a capture; empty otherwise.
    sources: Vec<StepSource>,
    state: Mutex<State>,
    progress: Notify,
    stay_open: bool,
}

impl ScriptedTransport {
    /// A transport that plays `steps`.
    pub fn new(steps: Vec<ScriptStep>) -> ScriptedTransport {
        ScriptedTransport {
            steps,
            sources: Vec::new(),
            state: Mutex::new(State::default()),
            progress: Notify::new(),
            stay_open: false,
        }
    }

    /// A transport that plays `steps`, each read from the capture record `sources` names
    /// (same length and order), so that a mismatch can say where the expected frame came from.
    ///
    /// # Panics
    /// If `sources` and `steps` differ in length.
    pub fn with_sources(steps: Vec<ScriptStep>, sources: Vec<StepSource>) -> ScriptedTransport {
        assert_eq!(steps.len(), sources.len(), "one source per step");
        ScriptedTransport {
            sources,
            ..ScriptedTransport::new(steps)
        }
    }

    /// Instead of reporting `UnexpectedEof` once the script is exhausted, `recv` then waits
    /// forever (as a quiet socket does), so that timeouts can be tested.
    pub fn stay_open(mut self) -> ScriptedTransport {
        self.stay_open = true;
        self
    }

    /// A script built step by step: `ScriptedTransport::builder().write(..).read(..).build()`.
    pub fn builder() -> ScriptBuilder {
        ScriptBuilder { steps: Vec::new() }
    }

    /// The script's steps.
    pub fn steps(&self) -> &[ScriptStep] {
        &self.steps
    }

    /// The first write that did not match, if any.
    pub fn mismatch(&self) -> Option<Mismatch> {
        self.lock().mismatch.clone()
    }

    /// How many scripted writes have been matched.
    pub fn writes_done(&self) -> usize {
        self.lock().writes_done
    }

    /// Whether every write has been made and every read delivered, with no mismatch.
    pub fn is_done(&self) -> bool {
        let st = self.lock();
        st.mismatch.is_none() && st.read_pos >= self.steps.len() && self.writes_left(&st) == 0
    }

    /// Fails with a description of what is left or what went wrong, unless
    /// [`ScriptedTransport::is_done`].
    pub fn check_done(&self) -> Result<(), String> {
        let st = self.lock();
        if let Some(m) = &st.mismatch {
            return Err(m.to_string());
        }
        let writes = self.writes_left(&st);
        let reads = self.steps[st.read_pos.min(self.steps.len())..]
            .iter()
            .filter(|s| matches!(s, ScriptStep::Read(_)))
            .count();
        if writes == 0 && reads == 0 {
            Ok(())
        } else {
            let next = self.steps[st.write_pos..]
                .iter()
                .find_map(|s| match s {
                    ScriptStep::Write(w) => Some(describe_command(w)),
                    ScriptStep::Read(_) => None,
                })
                .unwrap_or_default();
            Err(format!(
                "script not finished: {writes} writes and {reads} reads left; next write: {next}"
            ))
        }
    }

    fn writes_left(&self, st: &State) -> usize {
        self.steps[st.write_pos..]
            .iter()
            .filter(|s| matches!(s, ScriptStep::Write(_)))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, frame: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        if let Some(m) = &st.mismatch {
            return Err(io::Error::new(io::ErrorKind::InvalidData, m.clone()));
        }
        let next = self.steps[st.write_pos..]
            .iter()
            .position(|s| matches!(s, ScriptStep::Write(_)))
            .map(|p| p + st.write_pos);
        let mismatch = match next {
            Some(pos) => {
                let ScriptStep::Write(expected) = &self.steps[pos] else {
                    unreachable!("position found a write")
                };
                if expected.as_slice() == frame {
                    st.write_pos = pos + 1;
                    st.writes_done += 1;
                    drop(st);
                    self.progress.notify_waiters();
                    return Ok(());
                }
                Mismatch {
                    write_number: st.writes_done,
                    expected: Some(expected.clone()),
                    expected_source: self.sources.get(pos).cloned(),
                    actual: frame.to_vec(),
                }
            }
            None => Mismatch {
                write_number: st.writes_done,
                expected: None,
                expected_source: None,
                actual: frame.to_vec(),
            },
        };
        tracing::error!("{mismatch}");
        st.mismatch = Some(mismatch.clone());
        drop(st);
        self.progress.notify_waiters();
        Err(io::Error::new(io::ErrorKind::InvalidData, mismatch))
    }

    async fn read(&self) -> io::Result<Vec<u8>> {
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if let Some(m) = &st.mismatch {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, m.clone()));
                }
                while st.read_pos < self.steps.len() {
                    match &self.steps[st.read_pos] {
                        ScriptStep::Read(frame) => {
                            st.read_pos += 1;
                            return Ok(frame.clone());
                        }
                        // A write the client has made: go past it.
                        ScriptStep::Write(_) if st.read_pos < st.write_pos => st.read_pos += 1,
                        // Not written yet: the reads after it must wait.
                        ScriptStep::Write(_) => break,
                    }
                }
                if st.read_pos >= self.steps.len() && !self.stay_open {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the script has no more frames",
                    ));
                }
            }
            notified.await;
        }
    }
}

impl Transport for ScriptedTransport {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.write(frame) })
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        Box::pin(self.read())
    }
}

/// Builds a [`ScriptedTransport`].
#[derive(Debug, Clone, Default)]
pub struct ScriptBuilder {
    steps: Vec<ScriptStep>,
}

impl ScriptBuilder {
    /// The client must next write exactly `frame`.
    pub fn write(mut self, frame: impl Into<Vec<u8>>) -> Self {
        self.steps.push(ScriptStep::Write(frame.into()));
        self
    }

    /// The client then reads `frame`.
    pub fn read(mut self, frame: impl Into<Vec<u8>>) -> Self {
        self.steps.push(ScriptStep::Read(frame.into()));
        self
    }

    /// The client must write the command `opcode` for `index` with `params`.
    pub fn write_command(self, index: ControllerIndex, opcode: Opcode, params: &[u8]) -> Self {
        self.write(frame(opcode.0, index, params))
    }

    /// The client then reads event `code` for `index` with `params`.
    pub fn read_event(self, index: ControllerIndex, code: EventCode, params: &[u8]) -> Self {
        self.read(frame(code.0, index, params))
    }

    /// The finished transport.
    pub fn build(self) -> ScriptedTransport {
        ScriptedTransport::new(self.steps)
    }
}

/// Frames a code, index and parameters (at most 65535 bytes of parameters).
///
/// # Panics
/// If `params` is longer than 65535 bytes.
pub(crate) fn frame(code: u16, index: ControllerIndex, params: &[u8]) -> Vec<u8> {
    let len = u16::try_from(params.len()).expect("parameters of at most 65535 bytes");
    let mut out = Vec::with_capacity(6 + params.len());
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&index.0.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(params);
    out
}
