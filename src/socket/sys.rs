//! The raw system calls behind [`MgmtSocket`](super::MgmtSocket): creating an `AF_BLUETOOTH`
//! HCI socket, binding it to the control channel and raising its send MTU. This is the only
//! module of the crate with `unsafe` code; `nix` has `socket()` but no `sockaddr_hci` and no
//! `BT_SNDMTU`, so these calls go straight to libc. It also turns the descriptor `openat()`
//! returns into an owned `File`, for the key store's directory handles, and reads a frame into
//! a buffer's unused capacity (no read API of `std` or `nix` takes uninitialised memory).
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// `AF_BLUETOOTH` (`include/linux/socket.h`).
pub const AF_BLUETOOTH: libc::c_int = 31;
/// `BTPROTO_HCI` (`include/net/bluetooth/bluetooth.h`).
pub const BTPROTO_HCI: libc::c_int = 1;
/// `HCI_DEV_NONE`: the control channel is bound to no controller.
pub const HCI_DEV_NONE: u16 = 0xFFFF;
/// `HCI_CHANNEL_CONTROL`: the MGMT channel.
pub const HCI_CHANNEL_CONTROL: u16 = 3;

/// `SOL_BLUETOOTH` (`include/linux/socket.h`), the level of the `BT_*` socket options.
pub const SOL_BLUETOOTH: libc::c_int = 274;
/// `BT_SNDMTU` (`include/net/bluetooth/bluetooth.h`): the longest frame a write may carry, a
/// 16-bit value. The HCI socket has it since Linux 5.16.
pub const BT_SNDMTU: libc::c_int = 12;
/// `HCI_MAX_FRAME_SIZE`: the send MTU a control socket starts with (set at bind), and the
/// fixed limit of kernels without `BT_SNDMTU`.
pub const HCI_MAX_FRAME_SIZE: u16 = 1024 + 4;

/// `struct sockaddr_hci` (`include/net/bluetooth/hci_sock.h`): three native-endian u16.
#[repr(C)]
struct SockaddrHci {
    hci_family: libc::sa_family_t,
    hci_dev: u16,
    hci_channel: u16,
}

/// Opens a non-blocking, close-on-exec HCI socket bound to the MGMT control channel.
pub fn open_control_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket() takes only integers and returns a new descriptor or -1; no memory is
    // shared with the kernel.
    let raw: RawFd = unsafe {
        libc::socket(
            AF_BLUETOOTH,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            BTPROTO_HCI,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor socket() just returned to us and nothing else owns it, so
    // the OwnedFd becomes its only owner and closes it exactly once.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let addr = SockaddrHci {
        hci_family: AF_BLUETOOTH as libc::sa_family_t,
        hci_dev: HCI_DEV_NONE,
        hci_channel: HCI_CHANNEL_CONTROL,
    };
    // SAFETY: `addr` is a live, initialised #[repr(C)] sockaddr_hci and the length passed is
    // exactly its size; the kernel only reads it during the call. `raw` is open (owned by `fd`).
    let rc = unsafe {
        libc::bind(
            raw,
            std::ptr::addr_of!(addr).cast::<libc::sockaddr>(),
            size_of::<SockaddrHci>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Asks the kernel to take writes of up to `mtu` octets on the bound control socket `fd` (the
/// kernel resets the MTU at bind, so this comes after it), then reads back what it holds.
/// Fails with `ENOPROTOOPT` on kernels before 5.16, which have no such option.
pub fn set_send_mtu(fd: &OwnedFd, mtu: u16) -> io::Result<u16> {
    let raw = fd.as_raw_fd();
    // SAFETY: `mtu` is a live u16 and the length passed is its size; the kernel copies
    // exactly two octets from it during the call. `raw` is open (borrowed from `fd`).
    let rc = unsafe {
        libc::setsockopt(
            raw,
            SOL_BLUETOOTH,
            BT_SNDMTU,
            std::ptr::addr_of!(mtu).cast::<libc::c_void>(),
            size_of::<u16>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut now: u16 = 0;
    let mut len = size_of::<u16>() as libc::socklen_t;
    // SAFETY: `now` and `len` are live, writable locals; `len` says `now` holds two octets,
    // which is what the kernel writes (hci_sock_getsockopt puts a u16). `raw` is open.
    let rc = unsafe {
        libc::getsockopt(
            raw,
            SOL_BLUETOOTH,
            BT_SNDMTU,
            std::ptr::addr_of_mut!(now).cast::<libc::c_void>(),
            std::ptr::addr_of_mut!(len),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(now)
}

/// Registers the socket with the current tokio reactor for read and write readiness.
/// Panics outside a tokio runtime (tokio's rule).
pub fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd holds an open descriptor and returns the same number from every
    // as_raw_fd() call; it is moved into the AsyncFd, so nothing can close or replace it while
    // the AsyncFd lives.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
        .map_err(io::Error::from)
}

/// One `read()` of `fd` into `buf`'s spare capacity: `buf` becomes the bytes read (its
/// previous contents are dropped). The receive buffer is sized for the largest frame
/// (64 KiB); filling it with zeros first, as a safe `read()` into a slice needs, would make
/// every page of it resident although nearly every frame is a few dozen bytes. Here only the
/// pages the kernel writes ever become resident.
pub fn read_into_spare(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    let spare = buf.spare_capacity_mut();
    // SAFETY: read() writes at most `spare.len()` bytes into the memory it is given, which is
    // `buf`'s allocation past its (zero) length: writable, owned by `buf`, not aliased.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised the first `n` bytes (n <= capacity) of the allocation.
    unsafe { buf.set_len(n) };
    Ok(n)
}

/// `openat(dir, name, flags, mode)` as a [`File`](std::fs::File) that owns the new
/// descriptor: the key store opens every file relative to a directory handle (see
/// `keystore::handle`). `O_CLOEXEC` is always added.
pub fn open_file_at(
    dir: RawFd,
    name: &str,
    flags: nix::fcntl::OFlag,
    mode: u32,
) -> io::Result<std::fs::File> {
    let raw = nix::fcntl::openat(
        Some(dir),
        name,
        flags | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::from_bits_truncate(mode as libc::mode_t),
    )?;
    // SAFETY: `raw` is the descriptor openat() just returned to us and nothing else owns it,
    // so the File becomes its only owner and closes it exactly once.
    Ok(unsafe { std::fs::File::from_raw_fd(raw) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_hci_is_six_bytes() {
        // The kernel's struct sockaddr_hci: family, dev, channel, each an unsigned short.
        assert_eq!(size_of::<SockaddrHci>(), 6);
    }
}
