//! The store's directories reached through open directory handles, never by re-resolving
//! paths: each adapter and device directory is opened relative to its parent with
//! `O_NOFOLLOW | O_DIRECTORY`, and each file relative to its directory with `O_NOFOLLOW`. A
//! symbolic link planted anywhere below the root (a device directory pointing at `/etc`, an
//! `info` pointing at `/dev/zero`) is therefore refused, not followed, and a root process can
//! neither read nor write outside the store through one.
//!
//! Also checked: the root and adapter directories belong to this user or to root and are not
//! writable by group or others (otherwise anyone with that access could plant keys or links;
//! the error says how to fix it), `info` is a regular file (a FIFO would hang start-up, a
//! device would be read forever; it is opened non-blocking and checked with `fstat` before a
//! byte is read) and at most [`MAX_INFO_LEN`] bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, mkdirat, Mode, SFlag};

use super::durable::{DIR_MODE, FILE_MODE};

/// The largest `info` file read. bluetoothd's own files are a few hundred bytes (a device
/// with every key, its name, class and service list stays under 4 KiB); one this large was
/// not written by bluetoothd or by us.
pub const MAX_INFO_LEN: u64 = 64 * 1024;

/// An open directory of the store and the path it was reached by (for messages).
#[derive(Debug)]
pub struct DirHandle {
    dir: Dir,
    path: PathBuf,
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from(e)
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Why a directory may not hold keys: owned by someone else, or writable by others. `None`
/// when it is fine.
fn unsafe_dir_reason(uid: u32, mode: u32, path: &Path) -> Option<String> {
    let me = nix::unistd::geteuid().as_raw();
    if uid != me && uid != 0 {
        return Some(format!(
            "{} is owned by uid {uid}, not by this user (uid {me}) or root, so that user could \
             plant keys or links in it; fix: `chown {me} {}` (or `chown root`)",
            path.display(),
            path.display()
        ));
    }
    if mode & 0o022 != 0 {
        return Some(format!(
            "{} is writable by group or others (mode {:04o}), so they could plant keys or \
             links in it; fix: `chmod go-w {}` (bluetoothd and this crate use 0700)",
            path.display(),
            mode & 0o7777,
            path.display()
        ));
    }
    None
}

impl DirHandle {
    /// Opens the store's root directory (a link here is the administrator's choice and is
    /// followed) and checks its owner and mode.
    pub fn open_root(path: &Path) -> io::Result<DirHandle> {
        let dir = Dir::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno_io)?;
        let h = DirHandle {
            dir,
            path: path.to_path_buf(),
        };
        h.check()?;
        Ok(h)
    }

    /// The path this directory was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    /// Refuses a directory another user owns or others can write to.
    pub fn check(&self) -> io::Result<()> {
        let st = fstat(self.fd()).map_err(errno_io)?;
        match unsafe_dir_reason(st.st_uid, st.st_mode, &self.path) {
            Some(reason) => Err(io::Error::new(io::ErrorKind::PermissionDenied, reason)),
            None => Ok(()),
        }
    }

    /// Opens the subdirectory `name` without following a link; `Ok(None)` when it does not
    /// exist. A link or a non-directory in its place is an error saying so.
    pub fn subdir(&self, name: &str) -> io::Result<Option<DirHandle>> {
        let path = self.path.join(name);
        match Dir::openat(Some(self.fd()), name, dir_flags(), Mode::empty()) {
            Ok(dir) => Ok(Some(DirHandle { dir, path })),
            Err(Errno::ENOENT) => Ok(None),
            // Linux answers ENOTDIR (not ELOOP) for a link under O_DIRECTORY | O_NOFOLLOW.
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                let link = nix::sys::stat::fstatat(
                    Some(self.fd()),
                    name,
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .is_ok_and(|st| {
                    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
                });
                let what = if link {
                    "is a symbolic link; refused (not followed)"
                } else {
                    "is not a directory; refused"
                };
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} {what}", path.display()),
                ))
            }
            Err(e) => Err(io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot open {}: {e}", path.display()),
            )),
        }
    }

    /// Opens the subdirectory `name`, creating it (mode 0700, the directory synced) when
    /// missing.
    pub fn create_subdir(&self, name: &str) -> io::Result<DirHandle> {
        if let Some(d) = self.subdir(name)? {
            return Ok(d);
        }
        match mkdirat(Some(self.fd()), name, Mode::from_bits_truncate(DIR_MODE)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("cannot create {}: {e}", self.path.join(name).display()),
                ))
            }
        }
        let d = self.subdir(name)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "directory vanished after mkdir")
        })?;
        // mkdirat's mode is reduced by the umask; make it exact.
        fchmod(d.fd(), Mode::from_bits_truncate(DIR_MODE)).map_err(errno_io)?;
        self.sync()?;
        Ok(d)
    }

    /// The names in this directory (not `.` and `..`), in no particular order.
    pub fn names(&mut self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in self.dir.iter() {
            let entry = entry.map_err(errno_io)?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name != "." && name != ".." {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Reads the regular file `name` (at most [`MAX_INFO_LEN`] bytes); `Ok(None)` when it
    /// does not exist. A link, FIFO, device or oversized file is an error saying which.
    pub fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let path = self.path.join(name);
        let refuse = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
        let file = match crate::socket::open_file_at(
            self.fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
            0,
        ) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                return Err(refuse(format!(
                    "{} is a symbolic link; refused (not followed)",
                    path.display()
                )))
            }
            Err(e) => return Err(e),
        };
        let st = fstat(file.as_raw_fd()).map_err(errno_io)?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            return Err(refuse(format!(
                "{} is not a regular file; refused",
                path.display()
            )));
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        if size > MAX_INFO_LEN {
            return Err(refuse(format!(
                "{} is {size} bytes, more than any real info file ({MAX_INFO_LEN} at most); refused",
                path.display()
            )));
        }
        let mut bytes = Vec::new();
        // The file may grow after fstat; never read past the cap.
        file.take(MAX_INFO_LEN + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_INFO_LEN {
            return Err(refuse(format!(
                "{} grew past {MAX_INFO_LEN} bytes while read; refused",
                path.display()
            )));
        }
        Ok(Some(bytes))
    }

    /// Replaces the file `name` with `contents` atomically and durably: a new temporary file
    /// (`O_EXCL | O_NOFOLLOW`, mode 0600 exactly), written, synced, renamed over `name`, then
    /// the directory synced.
    pub fn replace_file(&self, name: &str, temp: &str, contents: &[u8]) -> io::Result<()> {
        let result = (|| {
            let mut f = crate::socket::open_file_at(
                self.fd(),
                temp,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
                FILE_MODE,
            )?;
            fchmod(f.as_raw_fd(), Mode::from_bits_truncate(FILE_MODE)).map_err(errno_io)?;
            f.write_all(contents)?;
            f.sync_all()?;
            drop(f);
            self.rename(temp, name)?;
            self.sync()
        })();
        if result.is_err() {
            let _ = nix::unistd::unlinkat(
                Some(self.fd()),
                temp,
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
        }
        result
    }

    /// Renames `from` to `to`, both in this directory.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        renameat(Some(self.fd()), from, Some(self.fd()), to).map_err(errno_io)
    }

    /// `fsync`s this directory.
    pub fn sync(&self) -> io::Result<()> {
        nix::unistd::fsync(self.fd()).map_err(errno_io)
    }

    /// An exclusive advisory lock on this directory, held until dropped (see
    /// [`durable::lock_dir`](super::durable::lock_dir)).
    pub fn lock(&self) -> io::Result<nix::fcntl::Flock<File>> {
        let f = crate::socket::open_file_at(self.fd(), ".", OFlag::O_RDONLY, 0)?;
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| io::Error::from(errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_mode_rules() {
        let me = nix::unistd::geteuid().as_raw();
        let p = Path::new("/store");
        assert_eq!(unsafe_dir_reason(me, 0o40700, p), None);
        assert_eq!(unsafe_dir_reason(0, 0o40755, p), None);
        let r = unsafe_dir_reason(me, 0o40777, p).unwrap();
        assert!(
            r.contains("mode 0777") && r.contains("chmod go-w /store"),
            "{r}"
        );
        let r = unsafe_dir_reason(me, 0o40770, p).unwrap();
        assert!(r.contains("writable by group"), "{r}");
        if me != 0 {
            // Not meaningful as root: root may use any user's directory.
        }
        let other = if me == 4242 { 4243 } else { 4242 };
        if other != me && other != 0 {
            let r = unsafe_dir_reason(other, 0o40700, p).unwrap();
            assert!(
                r.contains(&format!("owned by uid {other}")) && r.contains("chown"),
                "{r}"
            );
        }
    }
}
