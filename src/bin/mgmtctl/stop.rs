//! Stopping: the signals that end a command (SIGINT, SIGTERM, SIGHUP), installed before
//! anything slow so that a signal sent at any moment after start is honoured, and the exit
//! statuses of the long-running commands.
//!
//! A process started in the background by a non-interactive shell inherits SIGINT ignored;
//! installing our handler replaces that disposition, so `kill -INT` works there too.

use std::fmt;
use std::process::ExitCode;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Exit status when the kernel connection is lost (the MGMT socket closed under the agent).
pub(crate) const EXIT_KERNEL_LOST: u8 = 3;
/// Exit status when another agent (bluetoothd or a second `mgmtctl agent`) answers pairing
/// requests already and `--coexist` was not given.
pub(crate) const EXIT_OTHER_AGENT: u8 = 4;
/// Exit status of `mgmtctl pair` interrupted by a signal (the pairing was cancelled):
/// 128 + SIGINT, as shells report an interrupted command.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Which signal asked us to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (systemd's stop, `kill`).
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        })
    }
}

/// The installed handlers. From [`StopSignals::install`] on, these signals no longer end the
/// process by their default action; [`StopSignals::recv`] reports them.
pub(crate) struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    /// Installs the handlers; call inside (or after `enter`ing) the command's runtime, first.
    pub(crate) fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next stop signal.
    pub(crate) async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.hangup.recv() => StopSignal::Hangup,
        }
    }
}

/// Runs `command` on a fresh runtime with the stop signals installed before it starts, and
/// returns without waiting for blocking work still in flight (a prompt waiting for a line
/// of input must not hold the exit).
pub(crate) fn run_stoppable<F, Fut>(command: F) -> Result<ExitCode, crate::CliError>
where
    F: FnOnce(StopSignals) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, crate::CliError>>,
{
    let rt = crate::agent::runtime()?;
    let signals = {
        let _entered = rt.enter();
        StopSignals::install()?
    };
    let result = rt.block_on(command(signals));
    rt.shutdown_background();
    result
}
