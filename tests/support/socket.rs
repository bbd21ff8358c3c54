//! A scripted kernel behind a real socket: the far end of a `SOCK_SEQPACKET` pair (one frame
//! per read and per write, as the control socket) played by a [`ScriptedTransport`], so the
//! client's kernel transport ([`MgmtSocket`] under [`KernelTransport`]) runs the same scripts
//! as the in-memory one, on the host.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use bluez_mgmt::client::Client;
use bluez_mgmt::socket::MgmtSocket;
use bluez_mgmt::transport::{KernelTransport, ScriptedTransport, Transport};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use tokio::task::JoinHandle;

/// What a test's client reads and writes: the script itself, or the socket code over a socket
/// whose far end plays the script (the driver a task or a thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// The [`ScriptedTransport`] itself.
    Script,
    /// [`KernelTransport`] over [`MgmtSocket::from_fd`] of [`kernel_behind_socket`]: the
    /// driver a task, as [`Client::with_transport`] runs it.
    Socket,
    /// [`Client::with_control_socket`] over [`kernel_behind_socket`]: the driver on a thread
    /// of its own blocked on the socket, as [`Client::open`] runs it.
    Thread,
}

impl Wire {
    /// A client over `script`, through this wire.
    pub fn client(self, script: &Arc<ScriptedTransport>) -> Client {
        match self {
            Wire::Script => Client::with_transport(script.clone()),
            Wire::Socket => {
                let (socket, _kernel) = kernel_behind_socket(script.clone());
                let socket = MgmtSocket::from_fd(socket).expect("the socket pair's end taken");
                Client::with_transport(KernelTransport::new(socket))
            }
            Wire::Thread => {
                let (socket, _kernel) = kernel_behind_socket(script.clone());
                Client::with_control_socket(socket).expect("the socket pair's end taken")
            }
        }
    }
}

/// The client's end of a socket pair whose other end `script` plays (a task of the current
/// runtime): each frame the client writes goes to the script, each frame the script has is
/// written to the client. The task closes its end (the client reads end of file) when the
/// script has no more frames, refuses a write or the client's end is closed; its handle ends
/// then.
pub fn kernel_behind_socket(script: Arc<ScriptedTransport>) -> (OwnedFd, JoinHandle<()>) {
    // Blocking, as a helper may hand it over: `MgmtSocket::from_fd` must make it non-blocking.
    let (client, kernel) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("a SOCK_SEQPACKET pair");
    // The far end moves frames as the client's end does (one per read, one per write).
    let kernel = Arc::new(KernelTransport::new(
        MgmtSocket::from_fd(kernel).expect("the far end taken"),
    ));
    let task = tokio::spawn(async move {
        // One receive on each side kept across turns (the script's is not cancel safe).
        let mut from_script = receive(script.clone());
        let mut from_client = receive(kernel.clone());
        loop {
            tokio::select! {
                frame = &mut from_client => {
                    let Ok(frame) = frame else { return };
                    if script.send(&frame).await.is_err() {
                        return;
                    }
                    from_client = receive(kernel.clone());
                }
                frame = &mut from_script => {
                    let Ok(frame) = frame else { return };
                    if kernel.send(&frame).await.is_err() {
                        return;
                    }
                    from_script = receive(script.clone());
                }
            }
        }
    });
    (client, task)
}

type Received =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<u8>>> + Send>>;

/// One receive on `transport`, owning its handle.
fn receive(transport: Arc<impl Transport>) -> Received {
    Box::pin(async move { transport.recv().await })
}

/// Defines, for each async test function `name(wire: Wire)` listed, `script::name`,
/// `socket::name` and `thread::name`: the test run once through each [`Wire`].
macro_rules! on_every_wire {
    ($($name:ident),* $(,)?) => {
        on_every_wire!(@wire script Script $($name)*);
        on_every_wire!(@wire socket Socket $($name)*);
        on_every_wire!(@wire thread Thread $($name)*);
    };
    (@wire $module:ident $wire:ident $($name:ident)*) => {
        mod $module {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::support::Wire::$wire).await
            })*
        }
    };
}
pub(crate) use on_every_wire;
