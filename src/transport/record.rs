//! The recording transport: wraps another transport and reports every frame it carries as a
//! control-channel monitor record (open, command, event, close), as the kernel's monitor
//! channel logs a control socket; a [`ControlSink`] writes those records, typically into a
//! btsnoop capture.

use std::io;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{BoxFuture, Transport};
use crate::protocol::{ControllerIndex, RawFrame};

/// One control-channel record, in the form the monitor channel logs it (doc/btsnoop.txt,
/// BlueZ `monitor/control.c`). Parameters are raw bytes, without the MGMT frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlRecord {
    /// CTRL_OPEN: a control socket was opened.
    Open {
        /// The socket's cookie.
        cookie: u32,
        /// MGMT version the socket speaks (0 when unknown).
        version: u8,
        /// MGMT revision (0 when unknown).
        revision: u16,
        /// The program's name (at most 15 bytes are kept).
        ident: String,
    },
    /// CTRL_COMMAND: the socket sent a command.
    Command {
        /// The socket's cookie.
        cookie: u32,
        /// The controller index from the frame header.
        index: ControllerIndex,
        /// Opcode.
        opcode: u16,
        /// Command parameters.
        params: Vec<u8>,
    },
    /// CTRL_EVENT: an event was delivered to the socket.
    Event {
        /// The socket's cookie.
        cookie: u32,
        /// The controller index from the frame header.
        index: ControllerIndex,
        /// Event code.
        code: u16,
        /// Event parameters.
        params: Vec<u8>,
    },
    /// CTRL_CLOSE: the socket was closed.
    Close {
        /// The socket's cookie.
        cookie: u32,
    },
}

/// Where a [`RecordingTransport`] puts its records.
pub trait ControlSink: Send + 'static {
    /// Writes one record, stamped with the time it happened.
    fn record(&mut self, time: SystemTime, record: &ControlRecord) -> io::Result<()>;
}

impl ControlSink for Vec<(SystemTime, ControlRecord)> {
    fn record(&mut self, time: SystemTime, record: &ControlRecord) -> io::Result<()> {
        self.push((time, record.clone()));
        Ok(())
    }
}

/// A transport that passes frames through to `inner` and records each one (see the module
/// documentation). Frames that do not parse as MGMT frames are passed through and not
/// recorded. Recording failures are logged once and do not disturb the session.
pub struct RecordingTransport<T, S: ControlSink> {
    inner: T,
    cookie: u32,
    sink: Mutex<Option<S>>,
}

impl<T: Transport, S: ControlSink> RecordingTransport<T, S> {
    /// Wraps `inner`, recording as socket `cookie` with program name `ident`; writes the
    /// CTRL_OPEN record at once.
    pub fn new(inner: T, mut sink: S, cookie: u32, ident: &str) -> RecordingTransport<T, S> {
        let open = ControlRecord::Open {
            cookie,
            version: 0,
            revision: 0,
            ident: ident.chars().take(15).collect(),
        };
        let sink = match sink.record(SystemTime::now(), &open) {
            Ok(()) => Some(sink),
            Err(e) => {
                tracing::warn!(error = %e, "cannot record the capture; recording stops");
                None
            }
        };
        RecordingTransport {
            inner,
            cookie,
            sink: Mutex::new(sink),
        }
    }

    /// Writes the CTRL_CLOSE record and returns the sink (for example to flush it). Frames
    /// after this are no longer recorded.
    pub fn finish(&self) -> Option<S> {
        let mut guard = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let mut sink = guard.take()?;
        if let Err(e) = sink.record(
            SystemTime::now(),
            &ControlRecord::Close {
                cookie: self.cookie,
            },
        ) {
            tracing::warn!(error = %e, "cannot record the capture's close");
        }
        Some(sink)
    }

    fn log(&self, frame: &[u8], command: bool) {
        let Ok(raw) = RawFrame::parse("frame", frame) else {
            return;
        };
        let record = if command {
            ControlRecord::Command {
                cookie: self.cookie,
                index: raw.index,
                opcode: raw.code,
                params: raw.params.to_vec(),
            }
        } else {
            ControlRecord::Event {
                cookie: self.cookie,
                index: raw.index,
                code: raw.code,
                params: raw.params.to_vec(),
            }
        };
        let mut guard = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sink) = guard.as_mut() {
            if let Err(e) = sink.record(SystemTime::now(), &record) {
                tracing::warn!(error = %e, "cannot record the capture; recording stops");
                *guard = None;
            }
        }
    }
}

impl<T: Transport, S: ControlSink> Transport for RecordingTransport<T, S> {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            // Logged before the write so that the command precedes its reply in the capture.
            self.log(frame, true);
            self.inner.send(frame).await
        })
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        Box::pin(async move {
            let frame = self.inner.recv().await?;
            self.log(&frame, false);
            Ok(frame)
        })
    }
}

impl<T, S: ControlSink> Drop for RecordingTransport<T, S> {
    fn drop(&mut self) {
        let guard = self.sink.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(sink) = guard.as_mut() {
            let _ = sink.record(
                SystemTime::now(),
                &ControlRecord::Close {
                    cookie: self.cookie,
                },
            );
        }
    }
}
