//! Never two agents: the kernel sends each pairing request to every MGMT socket, so a second
//! agent (bluetoothd, or another `mgmtctl agent`) answers the same requests and the first
//! answer wins, unnoticed. At start `mgmtctl agent` looks for a running bluetoothd (a process
//! whose `comm` is `bluetoothd`) and takes an exclusive lock file (`flock`, held until exit);
//! either finding refuses the start with an explanation unless `--coexist` is given.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Default lock file (systemd's `RuntimeDirectory=mgmtctl` gives `/run/mgmtctl`).
pub(crate) const DEFAULT_LOCK: &str = "/run/mgmtctl/agent.lock";

/// The process ids of running processes named `name`, found in `proc` (`/proc` live).
pub(crate) fn processes_named(proc: &Path, name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(proc.join(pid.to_string()).join("comm"))
                .is_ok_and(|c| c.trim_end() == name)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The held lock: another `mgmtctl agent` cannot take it until this one exits.
#[derive(Debug)]
pub(crate) struct AgentLock {
    _lock: nix::fcntl::Flock<File>,
}

/// Why the agent must not start.
#[derive(Debug)]
pub(crate) enum Conflict {
    /// bluetoothd runs with these process ids.
    Bluetoothd(Vec<u32>),
    /// Another mgmtctl agent holds the lock (its pid, as it wrote it).
    OtherAgent { lock: PathBuf, pid: String },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::Bluetoothd(pids) => write!(
                f,
                "bluetoothd is running (pid {}): it answers the same pairing requests (the \
                 kernel sends them to every MGMT socket) and keeps its own bonds, so two \
                 agents would race. Stop it (`systemctl stop bluetooth`) or pass --coexist if \
                 you really want both",
                pids.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Conflict::OtherAgent { lock, pid } => write!(
                f,
                "another mgmtctl agent is running (pid {pid}, holding {}): two agents would \
                 answer the same pairing requests. Stop it, or pass --coexist if you really \
                 want both",
                lock.display()
            ),
        }
    }
}

/// Checks for bluetoothd and takes the lock at `lock`. A lock that cannot be created (no
/// permission for `/run`) is reported on stderr and skipped: the bluetoothd check still ran.
pub(crate) fn claim(proc: &Path, lock: &Path) -> Result<Option<AgentLock>, Conflict> {
    let pids = processes_named(proc, "bluetoothd");
    if !pids.is_empty() {
        return Err(Conflict::Bluetoothd(pids));
    }
    if let Some(dir) = lock.parent() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir);
    }
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(lock)
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "mgmtctl: cannot open the agent lock {}: {e}; a second mgmtctl agent would \
                 not be noticed",
                lock.display()
            );
            return Ok(None);
        }
    };
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(mut held) => {
            let _ = held.set_len(0);
            let _ = held.rewind();
            let _ = writeln!(held, "{}", std::process::id());
            Ok(Some(AgentLock { _lock: held }))
        }
        Err((mut file, _)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(Conflict::OtherAgent {
                lock: lock.to_path_buf(),
                pid: pid.trim().to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bluetoothd_by_comm() {
        let proc = tempfile::tempdir().unwrap();
        for (pid, comm) in [
            ("1", "init\n"),
            ("417", "bluetoothd\n"),
            ("9", "bluetoothd-x\n"),
        ] {
            std::fs::create_dir_all(proc.path().join(pid)).unwrap();
            std::fs::write(proc.path().join(pid).join("comm"), comm).unwrap();
        }
        std::fs::create_dir_all(proc.path().join("self")).unwrap();
        assert_eq!(processes_named(proc.path(), "bluetoothd"), vec![417]);
        let lock = proc.path().join("run/agent.lock");
        let e = claim(proc.path(), &lock).unwrap_err();
        assert!(
            e.to_string().contains("bluetoothd is running (pid 417)"),
            "{e}"
        );
    }

    #[test]
    fn a_second_agent_is_refused_while_the_first_holds_the_lock() {
        let proc = tempfile::tempdir().unwrap();
        let lock = proc.path().join("run/mgmtctl/agent.lock");
        let first = claim(proc.path(), &lock).unwrap();
        assert!(first.is_some());
        let e = claim(proc.path(), &lock).unwrap_err();
        let said = e.to_string();
        assert!(said.contains("another mgmtctl agent is running"), "{said}");
        assert!(
            said.contains(&format!("pid {}", std::process::id())),
            "{said}"
        );
        drop(first);
        assert!(claim(proc.path(), &lock).unwrap().is_some(), "free again");
    }
}
