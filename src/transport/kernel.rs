//! The kernel transport: the HCI control channel socket itself.

use std::io;

use super::{BoxFuture, Transport};
use crate::socket::{MgmtSocket, SocketError};

/// The kernel's MGMT control socket as a [`Transport`].
#[derive(Debug)]
pub struct KernelTransport {
    socket: MgmtSocket,
}

impl KernelTransport {
    /// Opens the control channel. Must be called inside a tokio runtime.
    pub fn open() -> Result<KernelTransport, SocketError> {
        MgmtSocket::open().map(|socket| KernelTransport { socket })
    }

    /// Wraps a socket that is already open.
    pub fn new(socket: MgmtSocket) -> KernelTransport {
        KernelTransport { socket }
    }
}

impl Transport for KernelTransport {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(self.socket.send(frame))
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        Box::pin(async move {
            let frame = self.socket.recv().await?;
            if frame.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the MGMT socket was shut down",
                ));
            }
            Ok(frame)
        })
    }
}
