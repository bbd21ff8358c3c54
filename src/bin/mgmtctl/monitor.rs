//! `mgmtctl monitor`: prints the live MGMT events of the kernel's control channel, each line
//! exactly as `mgmtctl decode` prints a capture's frame (the two share decode's formatter),
//! and optionally records the session as a btsnoop capture.
//!
//! Each event is shown as the CTRL_EVENT record the kernel's monitor channel would log for
//! this socket. The kernel does not tell a socket its own cookie, so lines carry the cookie
//! this program records under (`--write`): its process id.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bluez_mgmt::capture::{CaptureWriter, MgmtFrame, MonitorOpcode, Record, Timestamp};
use bluez_mgmt::client::{Client, EventFilter, MalformedEvent, SubscriptionError};
use bluez_mgmt::protocol::{ControllerIndex, EventFrame};
use bluez_mgmt::transport::{KernelTransport, RecordingTransport};

use crate::CliError;

// Arguments of `mgmtctl monitor`.
#[derive(clap::Args)]
pub struct Args {
    /// One JSON object per event (as `mgmtctl decode --json`).
    #[arg(long)]
    pub json: bool,
    /// Also write the session (our socket's events) to this btsnoop file: a new file (an
    /// existing one is not overwritten), mode 0600, since it holds any keys handed out.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Only events about this controller (`0` or `hci0`).
    #[arg(long, value_parser = crate::agent::parse_index)]
    pub index: Option<ControllerIndex>,
}

/// The "file" field of monitor lines: live input has none.
const SOURCE: &str = "-";

/// Prints one live event as `mgmtctl decode` prints the CTRL_EVENT record that carries it.
fn write_event(
    out: &mut impl Write,
    json: bool,
    number: u64,
    timestamp: Timestamp,
    cookie: u32,
    frame: EventFrame,
) -> io::Result<()> {
    let record = Record::control_event(timestamp, cookie, &frame);
    let frame = MgmtFrame::Event { cookie, frame };
    crate::decode::write_frame(out, json, SOURCE, number, &record, &frame)
}

/// Runs the subcommand until interrupted (Ctrl-C) or the socket closes.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    crate::stop::run_stoppable(|stop| monitor(args, stop))
}

async fn monitor(args: Args, mut stop: crate::stop::StopSignals) -> Result<ExitCode, CliError> {
    let cookie = std::process::id();
    let kernel = KernelTransport::open().map_err(bluez_mgmt::client::Error::from)?;
    let client = match &args.write {
        Some(path) => {
            let writer = CaptureWriter::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            eprintln!(
                "mgmtctl: writing {} (mode 0600): it will hold the link keys and LTKs of any \
                 pairing seen; keep it private",
                path.display()
            );
            Client::with_transport(RecordingTransport::new(kernel, writer, cookie, "mgmtctl"))
        }
        None => Client::with_transport(kernel),
    };
    let filter = match args.index {
        Some(n) => EventFilter::all().controller(n),
        None => EventFilter::all(),
    };
    let mut events = client.subscribe(filter);
    let stdout = io::stdout();
    let mut number = 0u64;
    let result = loop {
        let item = tokio::select! {
            item = events.recv() => item,
            _ = stop.recv() => break Ok(()),
        };
        let Some(item) = item else {
            eprintln!("mgmtctl: the MGMT socket closed");
            break Ok(());
        };
        number += 1;
        let mut out = stdout.lock();
        let written = match item {
            Ok((index, event)) => write_event(
                &mut out,
                args.json,
                number,
                Timestamp::now(),
                cookie,
                EventFrame { index, event },
            ),
            Err(SubscriptionError::Malformed(m)) => {
                write_malformed(&mut out, args.json, number, cookie, m)
            }
            Err(e @ SubscriptionError::Lagged(_)) => {
                eprintln!("mgmtctl: {e}");
                Ok(())
            }
        };
        if let Err(e) = written.and_then(|()| out.flush()) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                break Ok(());
            }
            break Err(e);
        }
    };
    // Dropping the client ends its tasks; the recorder then writes CTRL_CLOSE.
    drop(events);
    drop(client);
    tokio::task::yield_now().await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// A malformed event keeps its header line (time, controller, cookie, event name), with the
/// reason and its parameters as received, as `decode` prints it.
fn write_malformed(
    out: &mut impl Write,
    json: bool,
    number: u64,
    cookie: u32,
    m: MalformedEvent,
) -> io::Result<()> {
    let reason = m.error.to_string();
    let (Some(index), Some(code)) = (m.index(), m.code()) else {
        return crate::decode::report_error(
            out,
            json,
            SOURCE,
            Some(number),
            &SubscriptionError::Malformed(m).to_string(),
        );
    };
    let mut data = cookie.to_le_bytes().to_vec();
    data.extend_from_slice(&code.0.to_le_bytes());
    data.extend_from_slice(m.frame.get(6..).unwrap_or_default());
    let record = Record::new(Timestamp::now(), index, MonitorOpcode::CTRL_EVENT, data);
    crate::decode::write_malformed(out, json, SOURCE, number, &record, &reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt::capture::CaptureReader;

    /// Every event of a fixture, printed the monitor's way from its typed value, gives the
    /// line `mgmtctl decode` prints for the captured record.
    #[test]
    fn monitor_lines_equal_decode_lines() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/le-sc-numeric-comparison.btsnoop"
        );
        let mut events = 0;
        for (n, record) in CaptureReader::open(path).unwrap().enumerate() {
            let record = record.unwrap();
            let Some(MgmtFrame::Event { cookie, frame }) = record.mgmt_frame().unwrap() else {
                continue;
            };
            events += 1;
            for json in [false, true] {
                let mut ours = Vec::new();
                write_event(
                    &mut ours,
                    json,
                    n as u64 + 1,
                    record.timestamp,
                    cookie,
                    frame.clone(),
                )
                .unwrap();
                let mut theirs = Vec::new();
                let mgmt = MgmtFrame::Event {
                    cookie,
                    frame: frame.clone(),
                };
                crate::decode::write_frame(&mut theirs, json, SOURCE, n as u64 + 1, &record, &mgmt)
                    .unwrap();
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    String::from_utf8(theirs).unwrap()
                );
            }
        }
        // The capture holds 20 CTRL_EVENT records.
        assert_eq!(events, 20);
    }
}
