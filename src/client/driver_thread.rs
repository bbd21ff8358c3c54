//! The client's driver on a thread of its own, blocked in `poll(2)` on the kernel's control
//! socket: what [`Client::open`](super::Client::open) runs.
//!
//! A driver task wakes through tokio's scheduler (`epoll_wait`, the scheduler's clock reads,
//! the task's poll, then the `read`); measured in the benchmark's VM, that alone put a reply
//! written on tokio with none of our layers at 1.8x the C floor's time warm. On this thread
//! a frame is read as soon as `poll` returns. A pairing request is first offered to the
//! pairing service's inline path ([`Driver::take_early`](super::Driver::take_early)), and a
//! reply the agent knows at once is written there, before the session, the other
//! subscribers and the reply's own bookkeeping: `poll`, `read`, `write`, as the floor does. A
//! confirmation whose answer is known before it comes is answered from the frame's bytes,
//! before the frame is decoded.
//! Then the frame goes through the session and to subscribers as on a task.
//!
//! The handles reach the thread through the same queue as a task, and ring a [`Doorbell`]
//! (an eventfd the thread polls beside the socket) after each message and when the last one
//! goes. The thread enters the runtime's context of the caller of `Client::open`, so agent
//! code that runs on it (an agent's first poll) may spawn tasks and use tokio's timers; the
//! futures it completes and the tasks it wakes run on that runtime.

use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use tokio::sync::mpsc::{self, error::TryRecvError};

use super::{now, Driver, Message, Shared};
use crate::socket::ControlFd;

/// How many frames the thread reads in a row before it looks at its time limits again, when
/// the socket never runs dry (an event flood): a request's timeout is never starved.
const FRAMES_BETWEEN_CLOCK_READS: u32 = 64;

/// What the handles ring when they have queued a message for the driver thread, or are gone:
/// an eventfd the thread polls beside the socket.
#[derive(Debug)]
pub(super) struct Doorbell(EventFd);

impl Doorbell {
    fn new() -> io::Result<Doorbell> {
        EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map(Doorbell)
            .map_err(io::Error::from)
    }

    /// Wakes the thread (or makes its next `poll` return at once).
    pub(super) fn ring(&self) {
        // Only a counter at its maximum fails, and then the thread is woken already.
        let _ = self.0.write(1);
    }

    /// Resets the bell after `poll` saw it rung.
    fn answer(&self) {
        let _ = self.0.read();
    }
}

/// Starts the driver thread over `socket`, inside `runtime`'s context; returns the handles'
/// shared part.
pub(super) fn spawn(socket: ControlFd, runtime: tokio::runtime::Handle) -> io::Result<Arc<Shared>> {
    let doorbell = Arc::new(Doorbell::new()?);
    let (driver, shared, requests) = Driver::new(Some(doorbell.clone()));
    std::thread::Builder::new()
        .name("mgmt-driver".into())
        .spawn(move || {
            let _context = runtime.enter();
            run(driver, &socket, &doorbell, requests);
        })?;
    Ok(shared)
}

/// The thread's loop: the handles' messages, then frames from the socket until it runs dry,
/// each answered before the next is read; then time limits, then `poll` until the socket,
/// the doorbell or the next deadline. Ends when no handle is left or the socket fails.
fn run(
    mut driver: Driver,
    socket: &ControlFd,
    doorbell: &Doorbell,
    mut requests: mpsc::UnboundedReceiver<Message>,
) {
    let mut frame = Vec::new();
    let mut frames_in_a_row = 0;
    loop {
        loop {
            match requests.try_recv() {
                Ok(message) => driver.handle_message(message),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        write_pending(&mut driver, socket);
        let dry = match socket.try_recv(&mut frame) {
            Ok(true) if frame.is_empty() => {
                driver.close("receiving failed: the MGMT socket was shut down".into());
                return;
            }
            Ok(true) => {
                driver.take_early(&frame, &mut |reply| write_frame(socket, reply));
                driver.session.handle_frame(&frame);
                write_pending(&mut driver, socket);
                frames_in_a_row += 1;
                false
            }
            Ok(false) => true,
            Err(e) => {
                driver.close(format!("receiving failed: {e}"));
                return;
            }
        };
        if !dry && frames_in_a_row < FRAMES_BETWEEN_CLOCK_READS {
            continue;
        }
        frames_in_a_row = 0;
        // Clock reads only with a deadline pending (a syscall on some clocksources).
        let wait = match driver.session.poll_timeout() {
            Some(deadline) => {
                let now = now();
                if deadline <= now {
                    driver.session.handle_timeout(now);
                    continue;
                }
                Some(deadline - now)
            }
            None => None,
        };
        if dry {
            wait_for_work(socket, doorbell, wait);
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

/// Blocks until the socket has a frame, the doorbell rang or `wait` has passed.
fn wait_for_work(socket: &ControlFd, doorbell: &Doorbell, wait: Option<Duration>) {
    let timeout = match wait {
        // Rounded up to the next millisecond: waking before the deadline would spin.
        Some(wait) => {
            let ms = wait.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
        None => PollTimeout::NONE,
    };
    let mut fds = [
        PollFd::new(socket.as_fd(), PollFlags::POLLIN),
        PollFd::new(doorbell.0.as_fd(), PollFlags::POLLIN),
    ];
    // EINTR and other failures: the loop reads the socket and the queue again either way
    // (a socket error shows there).
    if nix::poll::poll(&mut fds, timeout).is_ok()
        && fds[1]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
    {
        doorbell.answer();
    }
}
