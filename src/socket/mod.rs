//! The kernel MGMT socket: an `AF_BLUETOOTH` / `BTPROTO_HCI` raw socket bound to the HCI
//! control channel, driven by tokio. One read returns exactly one MGMT frame (a 6-octet header
//! and its parameters); one write sends one command frame.
//!
//! The kernel refuses writes longer than the socket's send MTU (`EINVAL`), which starts at
//! 1,028 octets: too short for Load Long Term Keys with 29 keys. [`MgmtSocket::open`] raises
//! it to [`MAX_COMMAND_FRAME_LEN`] (65,535, the most the 16-bit `BT_SNDMTU` option holds) as
//! BlueZ's `src/shared/mgmt.c` does, so every command the protocol can express fits.
//!
//! All `unsafe` code of this crate lives in the private `sys` module.

mod no_bluetooth;
mod sys;

pub use no_bluetooth::NoBluetoothReason;
pub(crate) use sys::open_file_at;

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use tokio::io::unix::AsyncFd;

pub use bluez_mgmt_protocol::command::limits::MAX_COMMAND_FRAME_LEN;

/// Largest frame the kernel can deliver: the 6-octet header plus 65535 octets of parameters.
pub const MAX_FRAME_LEN: usize = 6 + 65535;

/// An open MGMT control socket, registered with the tokio reactor.
///
/// Every event for every controller arrives on it; commands for any controller go out on it.
#[derive(Debug)]
pub struct MgmtSocket {
    fd: AsyncFd<OwnedFd>,
    send_mtu: usize,
    recv_buf: std::sync::Mutex<Vec<u8>>,
}

impl MgmtSocket {
    /// Opens the control channel. Must be called inside a tokio runtime with I/O enabled.
    ///
    /// Fails with [`SocketErrorKind::NoBluetooth`] when the running kernel has no Bluetooth
    /// support, and [`SocketErrorKind::PermissionDenied`] without `CAP_NET_ADMIN`.
    ///
    /// The send MTU is raised to [`MAX_COMMAND_FRAME_LEN`]; on a kernel without `BT_SNDMTU`
    /// (before 5.16) it stays at the kernel's 1,028 octets, [`MgmtSocket::send_mtu`] says so,
    /// and longer frames are refused by [`MgmtSocket::send`] before they are written.
    pub fn open() -> Result<MgmtSocket, SocketError> {
        let ControlFd { fd, send_mtu } = ControlFd::open()?;
        MgmtSocket::registered(fd, send_mtu)
    }

    /// Takes over a control socket opened and bound elsewhere. The kernel decides what a
    /// control socket may do when it is bound (one bound without `CAP_NET_ADMIN` gets a
    /// restricted set of commands and events), so a privileged helper can open and bind it and
    /// hand it to a process without the capability. The socket is made non-blocking and its
    /// send MTU raised as [`MgmtSocket::open`] raises it; where that fails (a kernel without
    /// `BT_SNDMTU`, or a socket of another kind) writes are limited to the kernel's starting
    /// 1,028 octets. Any socket that carries one frame per read and per write will do: the
    /// tests drive the client through a `SOCK_SEQPACKET` pair whose far end plays the kernel.
    /// Must be called inside a tokio runtime with I/O enabled.
    ///
    /// A descriptor that is not a socket, or a stream socket (which would run frames together),
    /// is refused with an error of kind [`SocketErrorKind::Io`] saying so.
    pub fn from_fd(fd: OwnedFd) -> Result<MgmtSocket, SocketError> {
        let ControlFd { fd, send_mtu } = ControlFd::from_fd(fd)?;
        MgmtSocket::registered(fd, send_mtu)
    }

    /// `fd` registered with the tokio reactor.
    fn registered(fd: OwnedFd, send_mtu: usize) -> Result<MgmtSocket, SocketError> {
        let fd = sys::register(fd).map_err(SocketError::from_os)?;
        Ok(MgmtSocket {
            fd,
            send_mtu,
            recv_buf: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The longest frame [`MgmtSocket::send`] can write: [`MAX_COMMAND_FRAME_LEN`], or less on
    /// a kernel that cannot raise the socket's send MTU.
    pub fn send_mtu(&self) -> usize {
        self.send_mtu
    }

    /// Sends one frame. A write that takes fewer bytes than the frame (the kernel has been
    /// seen to return 0) is an error of kind [`io::ErrorKind::WriteZero`], never silent loss.
    /// A frame longer than [`MgmtSocket::send_mtu`] is an error of kind
    /// [`io::ErrorKind::InvalidInput`], and nothing is written.
    pub async fn send(&self, frame: &[u8]) -> io::Result<()> {
        check_frame_len(frame, self.send_mtu)?;
        loop {
            let mut guard = self.fd.writable().await?;
            match guard
                .try_io(|fd| nix::unistd::write(fd.get_ref(), frame).map_err(io::Error::from))
            {
                Ok(written) => return whole_frame(written, frame),
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives one frame (header and parameters), waiting until one arrives.
    pub async fn recv(&self) -> io::Result<Vec<u8>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| {
                // One buffer of the largest frame, kept for every read: allocated once
                // (not 64 KiB per frame) and never filled by us, so only the pages the
                // kernel writes become resident: a few dozen bytes for nearly every frame.
                // Reads are not concurrent in practice; one that is gets a buffer of its own.
                let mut kept = self.recv_buf.try_lock();
                let mut own = Vec::new();
                let buf = match kept.as_deref_mut() {
                    Ok(b) => b,
                    Err(_) => &mut own,
                };
                read_frame(fd.get_ref().as_raw_fd(), buf).map(|()| buf.to_vec())
            }) {
                Ok(Ok(frame)) => {
                    return Ok(frame);
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// One frame read from `fd` into `buf`, given room for the largest frame first (allocated
/// once per kept buffer, never zero-filled: see [`MgmtSocket::recv`]).
fn read_frame(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.capacity() < MAX_FRAME_LEN {
        *buf = Vec::with_capacity(MAX_FRAME_LEN);
    }
    sys::read_into_spare(fd, buf).map(drop)
}

/// Refuses a frame longer than the socket's send MTU before anything is written (the kernel
/// would refuse it with `EINVAL`, a less helpful message).
fn check_frame_len(frame: &[u8], send_mtu: usize) -> io::Result<()> {
    if frame.len() > send_mtu {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a frame of {} bytes is longer than the MGMT socket's send MTU ({send_mtu} \
                 bytes); not sent",
                frame.len(),
            ),
        ));
    }
    Ok(())
}

/// A write's result for a whole frame: a write that took fewer bytes than the frame (the
/// kernel has been seen to return 0) is an error of kind [`io::ErrorKind::WriteZero`].
fn whole_frame(written: io::Result<usize>, frame: &[u8]) -> io::Result<()> {
    match written? {
        n if n == frame.len() => Ok(()),
        n => Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("MGMT socket took {n} of {} bytes", frame.len()),
        )),
    }
}

/// The control socket opened (or taken over), bound and its send MTU raised, not registered
/// with tokio: what [`MgmtSocket`] registers, and what the client's driver thread blocks on
/// in `read(2)` (see [`Client::open`](crate::client::Client::open)).
#[derive(Debug)]
pub(crate) struct ControlFd {
    fd: OwnedFd,
    send_mtu: usize,
}

impl ControlFd {
    /// Opens the control channel (see [`MgmtSocket::open`]); needs no runtime.
    pub(crate) fn open() -> Result<ControlFd, SocketError> {
        let fd = sys::open_control_socket().map_err(SocketError::from_os)?;
        let send_mtu = match sys::set_send_mtu(&fd, MAX_COMMAND_FRAME_LEN as u16) {
            Ok(mtu) => usize::from(mtu),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOPROTOOPT) => {
                tracing::info!(
                    "this kernel cannot raise the MGMT socket's send MTU (no BT_SNDMTU); \
                     commands are limited to {} bytes",
                    sys::HCI_MAX_FRAME_SIZE
                );
                usize::from(sys::HCI_MAX_FRAME_SIZE)
            }
            Err(e) => return Err(SocketError::from_os(e)),
        };
        tracing::debug!(send_mtu, "MGMT control socket open");
        Ok(ControlFd { fd, send_mtu })
    }

    /// Takes over a control socket opened and bound elsewhere (see [`MgmtSocket::from_fd`]);
    /// needs no runtime.
    pub(crate) fn from_fd(fd: OwnedFd) -> Result<ControlFd, SocketError> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        use nix::sys::socket::{getsockopt, sockopt, SockType};
        match getsockopt(&fd, sockopt::SockType) {
            Ok(SockType::Stream) => {
                return Err(SocketError::given(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a stream socket, which does not keep frames apart \
                     (an MGMT control socket is SOCK_RAW)",
                )))
            }
            Ok(_) => {}
            Err(nix::errno::Errno::ENOTSOCK) => {
                return Err(SocketError::given(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is not a socket",
                )))
            }
            Err(e) => return Err(SocketError::given(e.into())),
        }
        let flags =
            fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(|e| SocketError::given(e.into()))?;
        fcntl(
            fd.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(|e| SocketError::given(e.into()))?;
        let send_mtu = match sys::set_send_mtu(&fd, MAX_COMMAND_FRAME_LEN as u16) {
            Ok(mtu) => usize::from(mtu),
            Err(e) => {
                tracing::debug!(
                    error = %e,
                    "the MGMT socket's send MTU was not raised; commands are limited to {} bytes",
                    sys::HCI_MAX_FRAME_SIZE
                );
                usize::from(sys::HCI_MAX_FRAME_SIZE)
            }
        };
        Ok(ControlFd { fd, send_mtu })
    }

    /// A connected pair of sequenced-packet Unix sockets, the first end as a control socket
    /// (frames kept apart, writes never waiting): what the start-up rehearsal writes its
    /// made-up replies into, with the driver thread's own code, and reads back from the
    /// other end.
    pub(crate) fn rehearsal_pair() -> io::Result<(ControlFd, OwnedFd)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        )?;
        let ours = ControlFd {
            fd: ours,
            send_mtu: MAX_COMMAND_FRAME_LEN,
        };
        Ok((ours, theirs))
    }

    /// The descriptor, for `poll(2)` (when a write finds the socket full).
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Makes [`ControlFd::recv`] wait for a frame (clears `O_NONBLOCK`; writes stay
    /// non-blocking, see [`ControlFd::try_send`]): for the client's driver thread, which
    /// blocks in `read` and nowhere else.
    pub(crate) fn wait_in_reads(&self) -> io::Result<()> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let flags = fcntl(self.fd.as_raw_fd(), FcntlArg::F_GETFL)?;
        fcntl(
            self.fd.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) - OFlag::O_NONBLOCK),
        )?;
        Ok(())
    }

    /// Writes one frame as [`MgmtSocket::send`] does, without waiting (`MSG_DONTWAIT`,
    /// whether or not reads wait): `Ok(false)` when the socket cannot take it now (nothing
    /// written).
    pub(crate) fn try_send(&self, frame: &[u8]) -> io::Result<bool> {
        use nix::sys::socket::{send, MsgFlags};
        check_frame_len(frame, self.send_mtu)?;
        match send(self.fd.as_raw_fd(), frame, MsgFlags::MSG_DONTWAIT) {
            Err(nix::errno::Errno::EAGAIN) => Ok(false),
            written => whole_frame(written.map_err(io::Error::from), frame).map(|()| true),
        }
    }

    /// Reads one frame into `buf` (see [`MgmtSocket::recv`] for why its capacity is kept and
    /// never zero-filled), waiting for one after [`ControlFd::wait_in_reads`]. An empty frame
    /// means the socket was shut down.
    pub(crate) fn recv(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        read_frame(self.fd.as_raw_fd(), buf)
    }

    /// Shuts the socket down for reading, which ends a `read` waiting on it with an empty
    /// frame. An HCI socket cannot be shut down (`EOPNOTSUPP`); a socket pair can.
    pub(crate) fn shut_down_reading(&self) -> io::Result<()> {
        nix::sys::socket::shutdown(self.fd.as_raw_fd(), nix::sys::socket::Shutdown::Read)
            .map_err(io::Error::from)
    }
}

/// Why [`MgmtSocket::open`] failed.
#[derive(Debug)]
pub struct SocketError {
    kind: SocketErrorKind,
    source: io::Error,
    reason: Option<NoBluetoothReason>,
    /// The socket was handed to [`MgmtSocket::from_fd`], not opened here.
    given: bool,
}

/// The broad reason behind a [`SocketError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketErrorKind {
    /// The kernel has no `AF_BLUETOOTH` (`EAFNOSUPPORT`).
    NoBluetooth,
    /// Not allowed: the control channel needs `CAP_NET_ADMIN` (`EPERM`/`EACCES`).
    PermissionDenied,
    /// Any other I/O failure.
    Io,
}

impl SocketError {
    /// A socket handed to [`MgmtSocket::from_fd`] that cannot be used.
    fn given(source: io::Error) -> SocketError {
        SocketError {
            kind: SocketErrorKind::Io,
            source,
            reason: None,
            given: true,
        }
    }

    fn from_os(source: io::Error) -> SocketError {
        let kind = match source.raw_os_error() {
            Some(nix::libc::EAFNOSUPPORT) => SocketErrorKind::NoBluetooth,
            Some(nix::libc::EPERM | nix::libc::EACCES) => SocketErrorKind::PermissionDenied,
            _ => SocketErrorKind::Io,
        };
        let reason = (kind == SocketErrorKind::NoBluetooth)
            .then(|| NoBluetoothReason::find(std::path::Path::new("/")));
        SocketError {
            kind,
            source,
            reason,
            given: false,
        }
    }

    /// For [`SocketErrorKind::NoBluetooth`]: whether the kernel lacks Bluetooth or this
    /// process is in a network namespace where it is not offered.
    pub fn no_bluetooth_reason(&self) -> Option<NoBluetoothReason> {
        self.reason
    }

    /// The broad reason.
    pub fn kind(&self) -> SocketErrorKind {
        self.kind
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SocketErrorKind::NoBluetooth => f.write_str(
                self.reason
                    .unwrap_or(NoBluetoothReason::NoKernelSupport)
                    .explanation(),
            ),
            SocketErrorKind::PermissionDenied => write!(
                f,
                "not allowed to open the MGMT control channel (needs CAP_NET_ADMIN): {}",
                self.source
            ),
            SocketErrorKind::Io if self.given => {
                write!(f, "the MGMT socket given cannot be used: {}", self.source)
            }
            SocketErrorKind::Io => {
                write!(f, "cannot open the MGMT control channel: {}", self.source)
            }
        }
    }
}

impl std::error::Error for SocketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn errno_maps_to_kind() {
        use nix::libc::{EACCES, EAFNOSUPPORT, EPERM, EPROTONOSUPPORT};
        assert_eq!(
            SocketError::from_os(os(EAFNOSUPPORT)).kind(),
            SocketErrorKind::NoBluetooth
        );
        assert_eq!(
            SocketError::from_os(os(EPERM)).kind(),
            SocketErrorKind::PermissionDenied
        );
        assert_eq!(
            SocketError::from_os(os(EACCES)).kind(),
            SocketErrorKind::PermissionDenied
        );
        assert_eq!(
            SocketError::from_os(os(EPROTONOSUPPORT)).kind(),
            SocketErrorKind::Io
        );
    }

    #[test]
    fn no_bluetooth_message() {
        let e = SocketError::from_os(os(nix::libc::EAFNOSUPPORT));
        // The build machines' kernel has no Bluetooth at all.
        assert_eq!(
            e.no_bluetooth_reason(),
            Some(NoBluetoothReason::find(std::path::Path::new("/")))
        );
        assert!(e.to_string().contains("Bluetooth"), "{e}");
    }

    /// The rehearsal's pair keeps frames apart and never waits: what is written on our end
    /// comes out of the other one frame by frame, and a read of an empty pair says so at once.
    #[test]
    fn rehearsal_pair_keeps_frames_apart() {
        let (ours, theirs) = ControlFd::rehearsal_pair().unwrap();
        let frames: [&[u8]; 2] = [&[1, 2, 3], &[4, 5, 6, 7, 8]];
        for f in frames {
            assert!(ours.try_send(f).unwrap());
        }
        let mut buf = [0u8; 64];
        for f in frames {
            let n = nix::unistd::read(theirs.as_raw_fd(), &mut buf).unwrap();
            assert_eq!(&buf[..n], f);
        }
        assert_eq!(
            nix::unistd::read(theirs.as_raw_fd(), &mut buf),
            Err(nix::errno::Errno::EAGAIN)
        );
    }

    /// A descriptor that cannot carry MGMT frames is refused, saying why; a socket that keeps
    /// frames apart is taken and made non-blocking.
    #[tokio::test]
    async fn from_fd_refuses_what_cannot_carry_frames() {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let pair = |t| socketpair(AddressFamily::Unix, t, None, SockFlag::SOCK_CLOEXEC).unwrap();
        let (pipe, _writer) = nix::unistd::pipe().unwrap();
        let (stream, _other) = pair(SockType::Stream);
        for (fd, why) in [
            (pipe, "it is not a socket"),
            (stream, "it is a stream socket"),
        ] {
            let e = MgmtSocket::from_fd(fd).expect_err(why);
            assert_eq!(e.kind(), SocketErrorKind::Io);
            let text = e.to_string();
            assert!(
                text.starts_with("the MGMT socket given cannot be used: ") && text.contains(why),
                "{text}"
            );
        }
        let (frames, _other) = pair(SockType::SeqPacket);
        let socket = MgmtSocket::from_fd(frames).expect("a SOCK_SEQPACKET end is taken");
        let flags = nix::fcntl::fcntl(socket.fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL);
        let flags = nix::fcntl::OFlag::from_bits_retain(flags.unwrap());
        assert!(flags.contains(nix::fcntl::OFlag::O_NONBLOCK));
        // Not an HCI socket: its send MTU stays the kernel's starting one.
        assert_eq!(socket.send_mtu(), 1028);
    }

    /// The host kernel of the build machines has no AF_BLUETOOTH, so opening must fail with
    /// NoBluetooth there. (The kernel tier runs the same call in a VM, where it succeeds.)
    /// Set `BLUEZ_MGMT_HOST_HAS_BLUETOOTH=1` on a machine whose kernel does have Bluetooth.
    #[tokio::test]
    async fn open_on_host_without_bluetooth() {
        if std::env::var_os("BLUEZ_MGMT_HOST_HAS_BLUETOOTH").is_some() {
            MgmtSocket::open().expect("host kernel has Bluetooth");
            return;
        }
        let err = MgmtSocket::open().expect_err("the host kernel has no AF_BLUETOOTH");
        assert_eq!(err.kind(), SocketErrorKind::NoBluetooth, "{err}");
    }
}
