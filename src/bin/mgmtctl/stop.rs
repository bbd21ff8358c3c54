//! Stopping: the signals that end a command (SIGINT, SIGTERM, SIGHUP), installed before
//! anything slow so that a signal sent at any moment after start is honoured, and the exit
//! statuses of the long-running commands.
//!
//! The signals are blocked and read from a signalfd(2) rather than caught by a handler: no
//! handler, no self-pipe and no per-signal registry to keep in memory for the life of an
//! agent. A process started in the background by a non-interactive shell inherits SIGINT
//! ignored; the kernel still queues a signal that is blocked (the disposition is consulted
//! only on delivery), so `kill -INT` works there too. mgmtctl starts no other program, so
//! no child inherits the blocked mask.

use std::fmt;
use std::process::ExitCode;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::unix::AsyncFd;

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

/// The signals that stop a command, each with what it is reported as.
const STOP_SIGNALS: [(Signal, StopSignal); 3] = [
    (Signal::SIGINT, StopSignal::Interrupt),
    (Signal::SIGTERM, StopSignal::Terminate),
    (Signal::SIGHUP, StopSignal::Hangup),
];

/// The stop signals, blocked and readable. From [`StopSignals::install`] on, these signals no
/// longer end the process by their default action; [`StopSignals::recv`] reports them.
pub(crate) struct StopSignals {
    queue: AsyncFd<SignalFd>,
}

impl StopSignals {
    /// Blocks the stop signals in the calling thread and opens their signalfd. Call it inside
    /// (or after `enter`ing) the command's runtime, first, before any other thread starts:
    /// threads started later inherit the mask, and a thread that did not block them would
    /// take a signal's default action for the whole process.
    #[allow(unsafe_code)]
    pub(crate) fn install() -> std::io::Result<StopSignals> {
        let mut mask = SigSet::empty();
        for (signal, _) in STOP_SIGNALS {
            mask.add(signal);
        }
        mask.thread_block()?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        // SAFETY: the SignalFd owns its descriptor (an OwnedFd), returns the same number from
        // every as_raw_fd() call and is moved into the AsyncFd, so nothing closes or replaces
        // the descriptor while it is registered.
        let queue = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        Ok(StopSignals { queue })
    }

    /// Waits for the next stop signal.
    pub(crate) async fn recv(&mut self) -> StopSignal {
        loop {
            let mut ready = match self.queue.readable().await {
                Ok(ready) => ready,
                // Only when the runtime is shutting down: nothing is left to stop.
                Err(_) => return std::future::pending().await,
            };
            match ready.get_inner().read_signal() {
                Ok(Some(info)) => {
                    let stop = STOP_SIGNALS
                        .iter()
                        .find(|(signal, _)| *signal as u32 == info.ssi_signo);
                    if let Some((_, stop)) = stop {
                        return *stop;
                    }
                }
                // Nothing queued after all (the readiness was stale): wait for the next.
                Ok(None) => ready.clear_ready(),
                Err(e) => {
                    eprintln!("mgmtctl: cannot read the stop signals: {e}");
                    return std::future::pending().await;
                }
            }
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

/// How long a stop waits for the running service to shut down gracefully (pending requests
/// refused, our pairings cancelled, the keys of pairings already accepted received and
/// flushed) before the process exits anyway: the service's own limit for keys still to come
/// ([`KEYS_AT_STOP`](bluez_mgmt::pairing::KEYS_AT_STOP)) plus time for the last writes. A stop
/// with nothing under way takes none of it.
pub(crate) const SHUTDOWN_GRACE: std::time::Duration =
    bluez_mgmt::pairing::KEYS_AT_STOP.saturating_add(std::time::Duration::from_secs(3));

type ShutdownFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The running service's graceful shutdown: set once the service started, run by a stop
/// (signal, end of input) while the command's own future is dropped. Clones share the slot.
#[derive(Clone, Default)]
pub(crate) struct GracefulStop(std::sync::Arc<std::sync::Mutex<Option<ShutdownFuture>>>);

impl GracefulStop {
    /// Remembers `shutdown` (not run until [`GracefulStop::run`]).
    pub(crate) fn set(&self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::pin(shutdown));
    }

    /// Runs the shutdown, if a service started, bounded by [`SHUTDOWN_GRACE`].
    pub(crate) async fn run(&self) {
        self.run_within(SHUTDOWN_GRACE).await
    }

    /// Runs the shutdown, if a service started, bounded by `limit`.
    async fn run_within(&self, limit: std::time::Duration) {
        let shutdown = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(shutdown) = shutdown {
            if tokio::time::timeout(limit, shutdown).await.is_err() {
                eprintln!(
                    "mgmtctl: the service did not finish stopping within {:.1} s (keys may \
                     still be in flight); exiting anyway",
                    limit.as_secs_f64()
                );
            }
        }
    }
}

/// Tells the service manager (systemd `Type=notify`) that the agent is ready: registered and
/// bonds loaded. Without `NOTIFY_SOCKET` in the environment this does nothing.
pub(crate) fn notify_ready() {
    notify("READY=1\nSTATUS=answering pairing requests");
}

/// Tells the service manager that we are stopping.
pub(crate) fn notify_stopping() {
    notify("STOPPING=1");
}

/// Sends `state` to `$NOTIFY_SOCKET` (sd_notify(3)'s protocol: one datagram to a unix
/// socket, a leading `@` naming an abstract socket). Failures are reported, not fatal.
fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notification(&path, state) {
        eprintln!(
            "mgmtctl: cannot notify the service manager at {}: {e}",
            path.to_string_lossy()
        );
    }
}

fn send_notification(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        None => SocketAddr::from_pathname(std::path::Path::new(path))?,
    };
    socket.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A signal that arrives before the command has done anything is a stop request, not the
    /// end of the process; and a prompt blocked reading input (here: a blocking task that
    /// never returns) does not hold the exit.
    #[test]
    fn early_signals_stop_and_blocked_prompts_do_not_hold_the_exit() {
        let started = Instant::now();
        let result = run_stoppable(|mut stop| async move {
            nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).unwrap();
            let (_keep, never) = std::sync::mpsc::channel::<()>();
            let prompt = tokio::task::spawn_blocking(move || never.recv());
            tokio::select! {
                _ = prompt => Err("the prompt returned".into()),
                signal = stop.recv() => {
                    assert_eq!(signal, StopSignal::Interrupt);
                    Ok(ExitCode::SUCCESS)
                }
            }
        });
        assert!(result.is_ok());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A stop signal the process inherited as ignored (a background job of a non-interactive
    /// shell has SIGINT so) still stops it, being blocked and queued; each is reported as
    /// itself.
    #[test]
    #[allow(unsafe_code)]
    fn a_stop_signal_inherited_as_ignored_still_stops_and_each_is_named() {
        use nix::sys::signal::{raise, signal, SigHandler};
        // SAFETY: SIG_IGN installs no handler code; nothing else in this test binary relies on
        // SIGINT's disposition, and it is put back below.
        let inherited = unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) }.unwrap();
        let rt = crate::agent::runtime().unwrap();
        let mut stop = {
            let _entered = rt.enter();
            StopSignals::install().unwrap()
        };
        let seen = rt.block_on(async {
            let mut seen = Vec::new();
            for (sent, _) in STOP_SIGNALS {
                raise(sent).unwrap();
                seen.push(tokio::time::timeout(Duration::from_secs(5), stop.recv()).await);
            }
            seen
        });
        // SAFETY: as above; `inherited` is the disposition this test found.
        unsafe { signal(Signal::SIGINT, inherited) }.unwrap();
        let expected: Vec<_> = STOP_SIGNALS.iter().map(|(_, stop)| Ok(*stop)).collect();
        assert_eq!(seen, expected);
    }

    /// A stop runs the service's shutdown once, and gives up on one that hangs after its limit
    /// ([`SHUTDOWN_GRACE`] in use; a short one here).
    #[test]
    fn a_graceful_stop_runs_once_and_is_bounded() {
        let rt = crate::agent::runtime().unwrap();
        rt.block_on(async {
            let stop = GracefulStop::default();
            stop.run().await; // nothing started: returns at once
            let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let r = ran.clone();
            stop.set(async move {
                r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
            stop.clone().run().await;
            stop.run().await;
            assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 1);
            stop.set(std::future::pending());
            let limit = Duration::from_millis(100);
            let started = Instant::now();
            stop.run_within(limit).await;
            assert!(started.elapsed() >= limit);
            assert!(started.elapsed() < limit + Duration::from_secs(5));
        });
    }

    #[test]
    fn readiness_reaches_the_notify_socket() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("notify");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        send_notification(path.as_os_str(), "READY=1\nSTATUS=x").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=x");
        // An abstract socket.
        let name = format!("bluez-mgmt-test-{}", std::process::id());
        let addr = {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
        };
        let listener = std::os::unix::net::UnixDatagram::bind_addr(&addr).unwrap();
        send_notification(std::ffi::OsStr::new(&format!("@{name}")), "READY=1").unwrap();
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
