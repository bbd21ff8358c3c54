//! Crash-safe file replacement and private directories.
//!
//! A file is replaced by writing a temporary file in the same directory (created 0600 and
//! `fchmod`ed to 0600 whatever the umask), `fsync`ing it, renaming it over the old name and
//! `fsync`ing the directory. A reader therefore sees either the old file or the new one, never
//! a mix, and after the directory sync the new one survives a power cut. Directories are
//! created 0700 and their parent is synced so the new entry is durable too.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of key files.
pub const FILE_MODE: u32 = 0o600;
/// Mode of the directories we create.
pub const DIR_MODE: u32 = 0o700;

/// Prefix of our temporary files; `bonds()` never reads them.
pub const TEMP_PREFIX: &str = ".bluez-mgmt-tmp.";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name for `name` in its directory: [`TEMP_PREFIX`], the name, this process's
/// id and a counter ([`remove_stale_temps`] reads the process id back).
pub fn temp_name(name: &str) -> String {
    format!(
        "{TEMP_PREFIX}{name}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `fsync`s a directory so renames and new entries in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and missing parents with mode 0700 (set explicitly, regardless of umask),
/// syncing each parent that gained an entry.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            create_private_dir(parent)?;
        }
    }
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Replaces `path` with `contents` atomically and durably, the file ending with mode 0600.
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    remove_stale_temps(dir);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{name}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&temp)?;
        f.set_permissions(Permissions::from_mode(FILE_MODE))?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// An exclusive advisory lock (`flock`) on a directory, held until dropped. Writers of one
/// adapter take it so that two processes using this crate never lose each other's updates
/// (read, change, rename). bluetoothd does not take it: never run both on one directory.
pub fn lock_dir(dir: &Path) -> io::Result<nix::fcntl::Flock<File>> {
    nix::fcntl::Flock::lock(File::open(dir)?, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io::Error::from(errno))
}

/// Removes temporary files left in `dir` by processes that no longer run (a crash between
/// create and rename). A live process's temporary file is left alone.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        // rest = "<file>.<pid>.<n>"
        let mut parts = rest.rsplitn(3, '.');
        let _n = parts.next();
        let Some(pid) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != me && !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// Removes a directory tree so that a crash part way leaves no half-removed device behind:
/// the directory is first renamed to a hidden name (which `bonds()` ignores), the parent is
/// synced, then the tree is deleted.
pub fn remove_dir_durably(dir: &Path) -> io::Result<()> {
    let parent = dir
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("dir");
    let doomed = parent.join(format!(
        "{TEMP_PREFIX}removed.{name}.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::rename(dir, &doomed)?;
    sync_dir(parent)?;
    fs::remove_dir_all(&doomed)?;
    sync_dir(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_sets_modes_whatever_the_umask() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b");
        create_private_dir(&dir).unwrap();
        let f = dir.join("info");
        fs::write(&f, b"old").unwrap();
        fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        replace_file(&f, b"new").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&t.path().join("a")), 0o700);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn stale_temps_of_dead_processes_go() {
        let t = tempfile::tempdir().unwrap();
        // A pid that cannot exist (above the kernel's pid_max limit of 2^22).
        let stale = t.path().join(format!("{TEMP_PREFIX}info.4294967.0"));
        let mine = t
            .path()
            .join(format!("{TEMP_PREFIX}info.{}.0", std::process::id()));
        fs::write(&stale, b"x").unwrap();
        fs::write(&mine, b"x").unwrap();
        remove_stale_temps(t.path());
        assert!(!stale.exists());
        assert!(mine.exists());
    }
}
