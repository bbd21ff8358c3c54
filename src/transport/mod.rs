//! Frame pipes the client runs over: the kernel's control socket, a scripted or replayed
//! conversation, and a recorder that writes a btsnoop capture of another transport.
//!
//! A [`Transport`] moves whole MGMT frames: one `send` writes one command frame, one `recv`
//! returns one event frame. Both take `&self`, so the client's driver can write a command
//! while a receive is pending (it keeps one task reading at all times, because the kernel
//! drops events silently when a socket's receive queue is full).

use std::future::Future;
use std::io;
use std::pin::Pin;

mod kernel;
mod record;
mod replay;
mod script;

pub use kernel::KernelTransport;
pub use record::{ControlRecord, ControlSink, RecordingTransport};
pub use replay::{replay, Conversation, ReplaySocket};
pub use script::{Mismatch, ScriptBuilder, ScriptStep, ScriptedTransport, StepSource};

/// A boxed future that can move between threads, as [`Transport`]'s methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bidirectional pipe of MGMT frames.
///
/// `send` and `recv` may be called concurrently from different tasks. `recv` returns frames in
/// the order they arrived; an error of kind [`io::ErrorKind::UnexpectedEof`] means the other
/// end is gone and nothing more will come.
pub trait Transport: Send + Sync + 'static {
    /// Writes one whole command frame (six-octet header and parameters).
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>>;

    /// Waits for and returns one whole event frame.
    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        (**self).send(frame)
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        (**self).recv()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        (**self).send(frame)
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        (**self).recv()
    }
}
