//! The client's driver on a thread of its own, blocked in `read(2)` on the kernel's control
//! socket: what [`Client::open`](super::Client::open) runs.
//!
//! A driver task wakes through tokio's scheduler (`epoll_wait`, the scheduler's clock reads,
//! the task's poll, then the `read`); measured in the benchmark's VM, that alone put a reply
//! written on tokio with none of our layers at 1.8x the C floor's time warm. A thread that
//! `poll`s before each `read` still pays for the `poll` (about 40 us traced in that VM). This
//! thread does nothing but `read`: the frame is handled as soon as the kernel hands it over.
//! A pairing request is first offered to the pairing service's inline path
//! ([`Driver::take_early`](super::Driver::take_early)), and a reply the agent knows at once
//! is written there, before the session, the other subscribers and the reply's own
//! bookkeeping: `read`, `write`, as the floor does. A confirmation whose answer is known
//! before it comes is answered from the frame's bytes, before the frame is decoded. Then the
//! frame goes through the session and to subscribers as on a task, unless it is an event
//! no subscriber wants (another controller's, for a process serving one), which is dropped
//! undecoded ([`Driver::wants_frame`](super::Driver::wants_frame)): the thread is back in
//! `read` about as soon as the floor would be, rather than busy with it when a request of
//! its own comes just after it. (That check comes after the early path, not before: ahead
//! of it, it made the thread's own requests' way to their reply longer.)
//!
//! Since the thread never waits for anything but the socket, the handles do their own part:
//! the [`Driver`] sits behind a mutex in the [`ThreadLink`], which the thread holds only while
//! it handles a frame, and a handle submitting or cancelling a command takes it, gives the
//! command to the session and writes what the session lets go, itself. A request's time
//! limit is watched by its caller's future, which takes the lock to end it (see
//! [`ThreadLink::expire`]). Code the thread runs while it holds the lock (an inline
//! subscriber's, an agent's first poll) cannot take it again: what a handle does on the
//! thread is queued, and the thread handles the queue before it lets the lock go. When the
//! last handle goes, it wakes the thread with a command every control socket may send (Read
//! Management Version Information) whose reply the thread reads and drops, or by shutting
//! a socket down that can be (a socket pair in tests).
//!
//! The thread enters the runtime's context of the caller of `Client::open`, so agent code
//! that runs on it (an agent's first poll) may spawn tasks and use tokio's timers; the
//! futures it completes and the tasks it wakes run on that runtime.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use tokio::sync::mpsc::{self, error::TryRecvError};

use super::{now, Driver, Message};
use crate::protocol::command::ReadVersion;
use crate::protocol::{Command, ControllerIndex};
use crate::session::Session;
use crate::socket::ControlFd;

thread_local! {
    /// Whether this thread is a driver thread (which holds its driver's lock whenever it
    /// runs anything but `read`).
    static ON_DRIVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is a client's driver thread: what a handle does there is
/// queued for the thread, never done under a lock the thread already holds.
pub(super) fn on_driver_thread() -> bool {
    ON_DRIVER_THREAD.get()
}

/// What the driver thread and the handles share: the socket, the driver behind its lock, and
/// whether the handles are gone.
pub(super) struct ThreadLink {
    socket: ControlFd,
    state: Mutex<OnThread>,
    /// Set when the last handle has gone: the thread ends at its next look.
    handles_gone: AtomicBool,
}

/// The driver, as the lock's holder sees it.
struct OnThread {
    driver: Driver,
    /// What handles did on the driver thread itself, queued for the thread.
    queued: mpsc::UnboundedReceiver<Message>,
    /// Set when the driver closed (the socket failed): handles then get "closed".
    closed: bool,
}

impl ThreadLink {
    /// The link for a driver over `socket`; `queued` receives what handles do on the thread.
    pub(super) fn new(
        socket: ControlFd,
        driver: Driver,
        queued: mpsc::UnboundedReceiver<Message>,
    ) -> ThreadLink {
        ThreadLink {
            socket,
            state: Mutex::new(OnThread {
                driver,
                queued,
                closed: false,
            }),
            handles_gone: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OnThread> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handles a handle's `message` now (off the driver thread): gives it to the session
    /// and writes what is then writable. False once the driver has closed.
    pub(super) fn handle(&self, message: Message) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.driver.handle_message(message);
        write_pending(&mut state.driver, &self.socket);
        true
    }

    /// Ends every request whose time limit has passed (off the driver thread): their
    /// callers get [`ErrorKind::Timeout`](super::ErrorKind::Timeout).
    pub(super) fn expire(&self) {
        let mut state = self.lock();
        if !state.closed {
            state.driver.session.handle_timeout(now());
            write_pending(&mut state.driver, &self.socket);
        }
    }

    /// The last handle has gone: wakes the thread from its `read` so that it ends. Takes no
    /// lock (the handle may go on the driver thread, which holds it).
    pub(super) fn handles_gone(&self) {
        self.handles_gone.store(true, Ordering::Release);
        if on_driver_thread() || self.socket.shut_down_reading().is_ok() {
            return;
        }
        // An HCI socket cannot be shut down: ask the kernel for something, its reply wakes
        // the thread. (Nothing is lost if this fails: the thread then ends at the next frame.)
        let mut frame = Vec::new();
        if Session::encode_command(ControllerIndex::NONE, ReadVersion::OPCODE, &[], &mut frame)
            .is_ok()
        {
            let _ = write_frame(&self.socket, &frame);
        }
    }
}

/// Starts the driver thread of `link`, inside `runtime`'s context.
pub(super) fn spawn(link: Arc<ThreadLink>, runtime: tokio::runtime::Handle) -> io::Result<()> {
    std::thread::Builder::new()
        .name("mgmt-driver".into())
        .spawn(move || {
            let _context = runtime.enter();
            ON_DRIVER_THREAD.set(true);
            run(&link);
        })
        .map(drop)
}

/// The thread's loop: `read` a frame, then (with the lock) offer it early, give it to the
/// session if anyone wants it, handle what was queued meanwhile on the thread and write what
/// the session lets go. Ends when no handle is left or the socket fails.
fn run(link: &ThreadLink) {
    let mut frame = Vec::new();
    let mut write_early = early_writer(&link.socket);
    loop {
        let received = link.socket.recv(&mut frame);
        if link.handles_gone.load(Ordering::Acquire) {
            return;
        }
        let mut state = link.lock();
        let failure = match received {
            Ok(()) if frame.is_empty() => "receiving failed: the MGMT socket was shut down".into(),
            Ok(()) => {
                let driver = &mut state.driver;
                driver.take_early(&frame, &mut write_early);
                if driver.wants_frame(&frame) {
                    driver.session.handle_frame(&frame);
                }
                // The last handle may have gone on this thread, which then woke no one.
                if state.settle(&link.socket) && !link.handles_gone.load(Ordering::Acquire) {
                    continue;
                }
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => format!("receiving failed: {e}"),
        };
        state.closed = true;
        state.driver.close(failure);
        return;
    }
}

impl OnThread {
    /// Writes what the session lets go and handles what handles queued on the thread, until
    /// neither has anything left; false when the queue says no handle is left.
    fn settle(&mut self, socket: &ControlFd) -> bool {
        loop {
            write_pending(&mut self.driver, socket);
            match self.queued.try_recv() {
                Ok(message) => self.driver.handle_message(message),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }
}

/// Writes every command the session has (an inline reply among them), then wakes the tasks
/// waiting for those writes.
fn write_pending(driver: &mut Driver, socket: &ControlFd) {
    while let Some(tx) = driver.next_transmit() {
        let sent = write_frame(socket, &tx.frame);
        driver.sent(tx.id, sent);
    }
    driver.wake_waiting();
}

/// What the thread writes an early reply with (see [`Driver::take_early`]): one function
/// for the thread and the start-up rehearsal ([`super::rehearse_event_path`]), which then
/// runs this very code before the first real request does.
pub(super) fn early_writer(socket: &ControlFd) -> impl FnMut(&[u8]) -> io::Result<()> + '_ {
    move |reply| write_frame(socket, reply)
}

/// Writes one frame, waiting for room if the socket has none (the kernel handles a control
/// command as it is written, so in practice it always has).
fn write_frame(socket: &ControlFd, frame: &[u8]) -> io::Result<()> {
    while !socket.try_send(frame)? {
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLOUT)];
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
