//! Minimal L2CAP sockets for the kernel tier: listen, accept and connect with a required
//! security level, and read back the encryption key size the link got. The one place in the
//! test tree with `unsafe` (nix has no Bluetooth socket addresses); every call is a plain
//! system call on a socket we own.
//!
//! Facts (include/net/bluetooth/bluetooth.h, l2cap.h): `struct sockaddr_l2` is family (u16),
//! PSM (le16), bdaddr (6 octets, wire order), CID (le16), bdaddr type (u8); `SOL_BLUETOOTH` 274,
//! `BT_SECURITY` 4 with `struct bt_security { u8 level; u8 key_size; }`; `getsockopt` reports
//! `key_size` as the connection's encryption key size once connected (0: not encrypted).

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

const AF_BLUETOOTH: libc::c_int = 31;
const BTPROTO_L2CAP: libc::c_int = 0;
const SOL_BLUETOOTH: libc::c_int = 274;
const BT_SECURITY: libc::c_int = 4;

/// `BDADDR_BREDR`, `BDADDR_LE_PUBLIC`.
pub const BDADDR_BREDR: u8 = 0;
/// LE public address type.
pub const BDADDR_LE_PUBLIC: u8 = 1;
/// `BT_SECURITY_MEDIUM`: encryption required (an unauthenticated key is enough).
pub const SECURITY_MEDIUM: u8 = 2;

#[repr(C, packed)]
#[derive(Clone, Copy)]
struct SockaddrL2 {
    family: u16,
    psm: u16,
    bdaddr: [u8; 6],
    cid: u16,
    bdaddr_type: u8,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct BtSecurity {
    level: u8,
    key_size: u8,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn addr(wire: [u8; 6], bdaddr_type: u8, psm: u16, cid: u16) -> SockaddrL2 {
    SockaddrL2 {
        family: AF_BLUETOOTH as u16,
        psm: psm.to_le(),
        bdaddr: wire,
        cid: cid.to_le(),
        bdaddr_type,
    }
}

/// A new SEQPACKET L2CAP socket.
fn new_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the returned descriptor is checked and then
    // owned by the OwnedFd alone.
    Ok(unsafe {
        OwnedFd::from_raw_fd(check(libc::socket(
            AF_BLUETOOTH,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            BTPROTO_L2CAP,
        ))?)
    })
}

/// The signature `bind(2)` and `connect(2)` share.
type AddressCall =
    unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int;

/// `call` (`libc::bind` or `libc::connect`) on `fd` with address `a`.
fn with_address(call: AddressCall, fd: &OwnedFd, a: SockaddrL2) -> io::Result<()> {
    // SAFETY: `a` is a live, correctly sized sockaddr_l2 for the whole call, on a descriptor
    // we own.
    check(unsafe {
        call(
            fd.as_raw_fd(),
            (&a as *const SockaddrL2).cast(),
            size_of::<SockaddrL2>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Send (and, with `receive`, receive) timeouts of `timeout` on `fd`.
fn timeouts(fd: &OwnedFd, timeout: Duration, receive: bool) -> io::Result<()> {
    let tv = TimeVal::new(timeout.as_secs() as _, 0);
    setsockopt(fd, sockopt::SendTimeout, &tv)?;
    if receive {
        setsockopt(fd, sockopt::ReceiveTimeout, &tv)?;
    }
    Ok(())
}

/// A SEQPACKET L2CAP socket bound to the local controller `local` (wire-order address), with
/// security level `level` and send/receive timeouts `timeout` (connect and accept honour them).
fn socket(
    local: [u8; 6],
    bdaddr_type: u8,
    psm: u16,
    level: u8,
    timeout: Duration,
) -> io::Result<OwnedFd> {
    let fd = new_socket()?;
    with_address(libc::bind, &fd, addr(local, bdaddr_type, psm, 0))?;
    let sec = BtSecurity { level, key_size: 0 };
    // SAFETY: `sec` is a live bt_security of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_BLUETOOTH,
            BT_SECURITY,
            (&sec as *const BtSecurity).cast(),
            size_of::<BtSecurity>() as libc::socklen_t,
        )
    })?;
    timeouts(&fd, timeout, true)?;
    Ok(fd)
}

/// Listens on PSM `psm` of the local controller `local`, requiring security `level`.
pub fn listen(
    local: [u8; 6],
    bdaddr_type: u8,
    psm: u16,
    level: u8,
    timeout: Duration,
) -> io::Result<OwnedFd> {
    let fd = socket(local, bdaddr_type, psm, level, timeout)?;
    // SAFETY: listen(2) on a descriptor we own.
    check(unsafe { libc::listen(fd.as_raw_fd(), 1) })?;
    Ok(fd)
}

/// Accepts one connection (blocking, up to the listener's timeout).
pub fn accept(listener: &OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: accept(2) with no address output; the new descriptor is checked, then owned.
    unsafe {
        let fd = check(libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        ))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Connects from local controller `local` to `remote`'s PSM `psm`, requiring security `level`
/// (blocking, up to `timeout`).
pub fn connect(
    local: [u8; 6],
    remote: [u8; 6],
    bdaddr_type: u8,
    psm: u16,
    level: u8,
    timeout: Duration,
) -> io::Result<OwnedFd> {
    let fd = socket(local, bdaddr_type, 0, level, timeout)?;
    with_address(libc::connect, &fd, addr(remote, bdaddr_type, psm, 0))?;
    Ok(fd)
}

/// The socket's security level and the link's encryption key size (0 when not encrypted).
pub fn security(fd: &OwnedFd) -> io::Result<(u8, u8)> {
    let mut sec = BtSecurity::default();
    let mut len = size_of::<BtSecurity>() as libc::socklen_t;
    // SAFETY: `sec` and `len` are live and `len` holds the size of `sec`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            SOL_BLUETOOTH,
            BT_SECURITY,
            (&mut sec as *mut BtSecurity).cast(),
            &mut len,
        )
    })?;
    Ok((sec.level, sec.key_size))
}

/// `BDADDR_LE_RANDOM`.
pub const BDADDR_LE_RANDOM: u8 = 2;
/// The ATT fixed channel (`L2CAP_CID_ATT`).
pub const CID_ATT: u16 = 0x0004;

/// Opens fixed channel `cid` to `remote` over an existing (or new) LE link: bound to `local`
/// with the same `cid`, which makes it a fixed-channel socket. The socket holds the link: the
/// kernel does not drop it as idle while the socket is open.
pub fn connect_fixed(
    local: [u8; 6],
    local_type: u8,
    remote: [u8; 6],
    remote_type: u8,
    cid: u16,
    timeout: Duration,
) -> io::Result<OwnedFd> {
    let fd = new_socket()?;
    with_address(libc::bind, &fd, addr(local, local_type, 0, cid))?;
    timeouts(&fd, timeout, false)?;
    with_address(libc::connect, &fd, addr(remote, remote_type, 0, cid))?;
    Ok(fd)
}
