//! What every kernel test uses: the environment the runner (`tests/kernel/run`) sets up, a
//! small MGMT caller on top of [`MgmtSocket`], and the fixtures around a test — virtual
//! controllers ([`Btvirt`]), a btmon capture ([`Capture`]) and a scriptable Bumble peer
//! ([`BumblePeer`]).
//!
//! A typical test:
//!
//! ```ignore
//! #[tokio::test]
//! async fn powers_on() {
//!     let capture = Capture::start("powers_on");       // btmon -> artifacts/kernel/powers_on.btsnoop
//!     let virt = Btvirt::start().await;                 // two fresh controllers
//!     let mut mgmt = Mgmt::open();
//!     let settings = mgmt.call(virt.indexes[0], SetPowered { powered: true }).await.unwrap();
//!     capture.finish();
//! }
//! ```
//!
//! Environment (set by the runner; each has a default matching the runner's layout):
//! `KERNEL_ARTIFACTS` (captures land here), `KERNEL_TOOLS` (directory with btvirt, btmon,
//! mgmt-tester), `KERNEL_PYTHON` (the venv's python with bumble), `KERNEL_PEER` (the peer
//! script).

#![allow(dead_code)] // not every test module uses every helper

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bluez_mgmt::client::{Client, Subscription};
use bluez_mgmt::protocol::command::{
    AdvertisingMode, Disconnect, GetConnections, ReadIndexList, ReadIndexListReply,
    SecureConnectionsMode, SetAdvertising, SetSecureConnections,
};
use bluez_mgmt::protocol::wire::decode_exact;
use bluez_mgmt::protocol::{
    AddressInfo, Command, CommandFrame, ControllerIndex, DecodeError, Event, EventCode, EventFrame,
    Opcode, RawFrame, Settings, Status,
};
use bluez_mgmt::socket::MgmtSocket;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How long any single wait in these helpers may take before the test fails. TCG is slow.
pub const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Environment

/// The repository root (the test binary runs with it as working directory).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where captures and other test outputs go (`KERNEL_ARTIFACTS`, default
/// `<repo>/artifacts/kernel`). Created on first use.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("KERNEL_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("artifacts/kernel"));
    std::fs::create_dir_all(&dir).expect("create the artifacts dir");
    dir
}

/// Path of a BlueZ tool from the runner's cache (`KERNEL_TOOLS`, default
/// `<repo>/.cache/kernel/root/usr/bin`).
pub fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("KERNEL_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".cache/kernel/root/usr/bin"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/kernel/run",
        path.display()
    );
    path
}

/// The guest kernel's release string (`uname -r`).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .expect("read /proc/sys/kernel/osrelease")
        .trim()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// MGMT caller

/// Why [`Mgmt::call`] did not give a reply.
#[derive(Debug)]
pub enum CallError {
    /// The command ended with this status (Command Status, or Command Complete with an error).
    Status(Status),
    /// The reply did not decode.
    Decode(DecodeError),
    /// The socket failed.
    Io(std::io::Error),
    /// No answer within [`WAIT`].
    Timeout,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Status(s) => write!(f, "command failed: {s:?}"),
            CallError::Decode(e) => write!(f, "reply does not decode: {e}"),
            CallError::Io(e) => write!(f, "socket: {e}"),
            CallError::Timeout => write!(f, "no reply within {WAIT:?}"),
        }
    }
}

/// A minimal MGMT client for tests: one command at a time, events that arrive meanwhile are
/// queued for [`Mgmt::expect_event`]. (The crate's full client will replace this.)
pub struct Mgmt {
    socket: MgmtSocket,
    pending: VecDeque<EventFrame>,
}

impl Mgmt {
    /// Opens the control channel; panics if that fails (the VM must have Bluetooth).
    pub fn open() -> Mgmt {
        Mgmt {
            socket: MgmtSocket::open().expect("open the MGMT socket in the VM"),
            pending: VecDeque::new(),
        }
    }

    /// Sends `cmd` to `index` and waits for its Command Complete (or failing Command Status);
    /// returns the typed reply. Other events are queued.
    pub async fn call<C>(&mut self, index: ControllerIndex, cmd: C) -> Result<C::Reply, CallError>
    where
        C: Command + Into<bluez_mgmt::protocol::AnyCommand>,
    {
        self.socket
            .send(&encode(index, cmd))
            .await
            .map_err(CallError::Io)?;
        let reply = self.reply(index, C::OPCODE).await?;
        decode_exact::<C::Reply>(C::NAME, &reply).map_err(CallError::Decode)
    }

    /// Waits for the reply to `opcode` on `index`: the return parameters of a successful
    /// Command Complete, or the status of a failed Command Complete or Command Status. Other
    /// events are queued.
    async fn reply(
        &mut self,
        index: ControllerIndex,
        opcode: Opcode,
    ) -> Result<Vec<u8>, CallError> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let bytes = match tokio::time::timeout(left, self.socket.recv()).await {
                Err(_) => return Err(CallError::Timeout),
                Ok(r) => r.map_err(CallError::Io)?,
            };
            let raw = RawFrame::parse("event frame", &bytes).map_err(CallError::Decode)?;
            if raw.index == index
                && raw.params.len() >= 3
                && Opcode(u16::from_le_bytes([raw.params[0], raw.params[1]])) == opcode
            {
                let status = Status(raw.params[2]);
                match EventCode(raw.code) {
                    // Command Complete: opcode, status, return parameters.
                    EventCode::COMMAND_COMPLETE if status == Status::SUCCESS => {
                        return Ok(raw.params[3..].to_vec())
                    }
                    EventCode::COMMAND_COMPLETE => return Err(CallError::Status(status)),
                    // Command Status: only a failure ends the command.
                    EventCode::COMMAND_STATUS if status != Status::SUCCESS => {
                        return Err(CallError::Status(status))
                    }
                    _ => {}
                }
            }
            self.pending
                .push_back(EventFrame::decode(&bytes).map_err(CallError::Decode)?);
        }
    }

    /// Sends a command without waiting for its reply (for long commands such as Pair Device
    /// that need answers in between); its Command Complete later shows up as an
    /// [`Event::CommandComplete`] in [`Mgmt::expect_event`].
    pub async fn send<C>(&mut self, index: ControllerIndex, cmd: C)
    where
        C: Command + Into<bluez_mgmt::protocol::AnyCommand>,
    {
        self.socket
            .send(&encode(index, cmd))
            .await
            .expect("send a command");
    }

    /// Sends a raw command without waiting for its reply (for long commands such as Pair
    /// Device that need answers in between); its Command Complete later shows up as an
    /// [`Event::CommandComplete`] in [`Mgmt::expect_event`].
    pub async fn send_raw(&mut self, index: ControllerIndex, opcode: u16, params: &[u8]) {
        u16::try_from(params.len()).expect("parameters fit in a frame");
        self.socket
            .send(&host::frame(opcode, index, params))
            .await
            .expect("send a command");
    }

    /// Sends a command given as raw opcode and parameters and returns its raw return
    /// parameters. For commands the protocol crate does not model yet.
    pub async fn call_raw(
        &mut self,
        index: ControllerIndex,
        opcode: u16,
        params: &[u8],
    ) -> Result<Vec<u8>, CallError> {
        self.send_raw(index, opcode, params).await;
        self.reply(index, Opcode(opcode)).await
    }

    /// Forgets the queued events (for example the trailing events of a finished scenario).
    pub fn clear_events(&mut self) {
        self.pending.clear();
    }

    /// Returns the first event (queued or new) for which `pick` gives `Some`, dropping the
    /// events before it. Panics after [`WAIT`].
    pub async fn expect_event<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(ControllerIndex, &Event) -> Option<T>,
    ) -> T {
        while let Some(ev) = self.pending.pop_front() {
            if let Some(t) = pick(ev.index, &ev.event) {
                return t;
            }
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let bytes = tokio::time::timeout(left, self.socket.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
                .expect("read the MGMT socket");
            let ev = EventFrame::decode(&bytes)
                .unwrap_or_else(|e| panic!("undecodable event {bytes:02x?}: {e}"));
            if let Some(t) = pick(ev.index, &ev.event) {
                return t;
            }
        }
    }

    /// The controllers Read Controller Index List reports now.
    pub async fn index_list(&mut self) -> Vec<ControllerIndex> {
        let ReadIndexListReply { indexes } = self
            .call(ControllerIndex::NONE, ReadIndexList {})
            .await
            .unwrap_or_else(|e| panic!("Read Index List: {e}"));
        indexes.0
    }
}

/// `cmd` on `index` as a whole frame.
fn encode<C>(index: ControllerIndex, cmd: C) -> Vec<u8>
where
    C: Command + Into<bluez_mgmt::protocol::AnyCommand>,
{
    CommandFrame {
        index,
        command: cmd.into(),
    }
    .encode()
    .expect("command fits in a frame")
}

// ---------------------------------------------------------------------------------------------
// Child processes

fn spawn(cmd: &mut tokio::process::Command, what: &str) -> Child {
    cmd.kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"))
}

/// Sends Ctrl-C (SIGINT) to `child` if it is still running.
pub fn interrupt(child: &Child) {
    if let Some(pid) = child.id() {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    }
}

/// Sends Ctrl-C to `child` and waits up to `limit` for it to exit; panics naming `what` if it
/// does not.
pub async fn interrupt_and_wait(
    child: &mut Child,
    what: &str,
    limit: Duration,
) -> std::process::ExitStatus {
    interrupt(child);
    tokio::time::timeout(limit, child.wait())
        .await
        .unwrap_or_else(|_| panic!("{what} did not stop on Ctrl-C within {limit:?}"))
        .unwrap_or_else(|e| panic!("wait for {what}: {e}"))
}

/// Waits (blocking, for use in `Drop`) until `child` has exited, up to `limit`; kills it
/// after that.
fn reap_blocking(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.start_kill();
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// mgmtctl as a process

/// `mgmtctl` (the binary under test) with `args`: stdin from /dev/null, killed when dropped.
pub fn mgmtctl<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"));
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// `mgmtctl pair` from controller `index` to `peer` (`--type address_type`), DisplayYesNo,
/// accepting what it is asked, within 40 s; the caller adds the store option.
pub fn mgmtctl_pair(
    peer: &str,
    address_type: &str,
    index: ControllerIndex,
) -> tokio::process::Command {
    let index = index.0.to_string();
    let mut cmd = mgmtctl([
        "pair",
        peer,
        "--type",
        address_type,
        "--index",
        index.as_str(),
    ]);
    cmd.args([
        "--io-capability",
        "DisplayYesNo",
        "--auto-accept",
        "--timeout",
        "40",
    ]);
    cmd
}

/// Starts `cmd` (named `what` in panics) with its stdout piped; returns the child and its
/// stdout as lines.
pub fn spawn_with_lines(
    cmd: &mut tokio::process::Command,
    what: &str,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = spawn(cmd.stdout(Stdio::piped()), what);
    let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    (child, lines)
}

/// The next `n` lines of `lines`, each within `limit` (an ended stream gives empty lines);
/// panics naming `what` when one is late.
pub async fn next_lines<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Lines<R>,
    n: usize,
    limit: Duration,
    what: &str,
) -> Vec<String> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(
            tokio::time::timeout(limit, lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{what}: no line within {limit:?}"))
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .unwrap_or_default(),
        );
    }
    v
}

/// Collects the rest of `lines` (until the process closes its stdout) in a task.
pub fn rest_of_lines<R: tokio::io::AsyncBufRead + Unpin + Send + 'static>(
    mut lines: Lines<R>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut v = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            v.push(l);
        }
        v
    })
}

/// Stops the `mgmtctl agent` process `agent` with Ctrl-C (it must exit with status 0 within
/// 10 s) and returns the lines it printed after those already read (`rest`, from
/// [`rest_of_lines`]), printed too.
pub async fn stop_agent(
    agent: &mut Child,
    rest: tokio::task::JoinHandle<Vec<String>>,
) -> Vec<String> {
    let status = interrupt_and_wait(agent, "mgmtctl agent", Duration::from_secs(10)).await;
    let lines = rest.await.expect("the agent's output");
    println!("mgmtctl agent:\n{}", lines.join("\n"));
    assert!(status.success(), "agent exit {status:?}");
    lines
}

/// Runs `cmd` to its end and prints its stdout and stderr under `what`; returns the exit
/// status, stdout and stderr.
pub async fn run_to_end(
    cmd: &mut tokio::process::Command,
    what: &str,
) -> (std::process::ExitStatus, String, String) {
    let out = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    println!("{what}:\n{stdout}{stderr}");
    (out.status, stdout, stderr)
}

// ---------------------------------------------------------------------------------------------
// Controllers for pairing, and what the host tier shares

/// The host tier's support module (agents' services, controller addresses, file modes).
#[path = "../support/mod.rs"]
mod host;
pub use host::{controller_address, mode, service_on};

/// Sets controller `index` up for pairing: Secure Simple Pairing `ssp`, then with
/// `secure_connections` LE on and Secure Connections in that mode (the kernel refuses Secure
/// Connections on a powered dual-mode controller without SSP), bondable, connectable. Returns
/// the settings after it.
pub async fn prepare_pairing(
    client: &Client,
    index: ControllerIndex,
    ssp: bool,
    secure_connections: Option<SecureConnectionsMode>,
) -> Settings {
    let c = client.controller(index);
    c.ssp(ssp).await.expect("SSP");
    if let Some(mode) = secure_connections {
        c.le(true).await.expect("LE");
        client
            .call(
                index,
                &SetSecureConnections {
                    secure_connections: mode,
                },
            )
            .await
            .expect("Secure Connections");
    }
    c.bondable(true).await.expect("bondable");
    c.connectable(true).await.expect("connectable")
}

/// Advertising on, on controller `index`.
pub async fn advertise(client: &Client, index: ControllerIndex) {
    client
        .call(
            index,
            &SetAdvertising {
                advertising: AdvertisingMode::ON,
            },
        )
        .await
        .expect("advertising");
}

/// Takes down the link from controller `index` to `peer`, if there is one, and returns once
/// Get Connections no longer lists it. A failed pairing leaves no bond, so Unpair Device has
/// nothing to unpair and does not disconnect: the link stays up until the kernel drops it as
/// idle, about 2 s later, and a next Pair Device that finds it still up pairs over it and ends
/// with Failed when it drops (seen once in CI on 6.12, in `oob`).
pub async fn take_link_down(client: &Client, index: ControllerIndex, peer: &AddressInfo) {
    let disconnect = Disconnect {
        address: peer.clone(),
    };
    match client.call(index, &disconnect).await {
        // Not Connected: no link; Disconnected: the kernel's idle drop was under way.
        Ok(_) => {}
        Err(e)
            if matches!(
                e.status(),
                Some(Status::NOT_CONNECTED | Status::DISCONNECTED)
            ) => {}
        Err(e) => panic!("Disconnect {peer:?} on {index}: {e}"),
    }
    let limit = Instant::now() + WAIT;
    loop {
        let listed = client
            .call(index, &GetConnections {})
            .await
            .expect("Get Connections");
        if !listed.connections.0.contains(peer) {
            return;
        }
        assert!(
            Instant::now() < limit,
            "{peer:?} still connected on {index} {WAIT:?} after Disconnect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// btvirt

/// BlueZ's `btvirt -l2`: two emulated controllers behind `/dev/vhci` that can reach each other.
/// `indexes[0]` has address 00:AA:01:00:00:00, `indexes[1]` 00:AA:01:01:00:01. Dropping it
/// stops btvirt and waits until the kernel has removed both controllers.
pub struct Btvirt {
    /// The two controllers btvirt created, lowest index first.
    pub indexes: [ControllerIndex; 2],
    child: Child,
}

impl Btvirt {
    /// Starts btvirt and waits until Read Index List shows two new controllers (that is, the
    /// kernel has finished setting them up).
    pub async fn start() -> Btvirt {
        let mut mgmt = Mgmt::open();
        let before = mgmt.index_list().await;
        let child = spawn(
            tokio::process::Command::new(tool("btvirt"))
                .arg("-l2")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "btvirt",
        );
        let deadline = Instant::now() + WAIT;
        loop {
            let mut new: Vec<_> = mgmt
                .index_list()
                .await
                .into_iter()
                .filter(|i| !before.contains(i))
                .collect();
            if new.len() >= 2 {
                new.sort();
                return Btvirt {
                    indexes: [new[0], new[1]],
                    child,
                };
            }
            assert!(
                Instant::now() < deadline,
                "btvirt's controllers did not appear within {WAIT:?} (have {new:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Btvirt {
    fn drop(&mut self) {
        interrupt(&self.child);
        reap_blocking(&mut self.child, Duration::from_secs(5));
        // Closing /dev/vhci unregisters the controllers: wait until they are gone so the next
        // test starts from a clean index list. (Index Removed is sent at the same moment.)
        let deadline = Instant::now() + WAIT;
        for index in self.indexes {
            let dir = PathBuf::from(format!("/sys/class/bluetooth/hci{}", index.0));
            while dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// btmon capture

/// A btmon capture (`btmon -w`) of everything the kernel's monitor channel shows: HCI traffic
/// of every controller, MGMT commands and events. It is written to the VM's tmpfs (btmon
/// writing over 9p under TCG drops frames) and copied to [`artifacts_dir`] when the capture
/// is finished or dropped.
pub struct Capture {
    name: String,
    tmp: PathBuf,
    child: Option<Child>,
}

impl Capture {
    /// Starts btmon writing `/tmp/<name>.btsnoop`; returns once the file exists.
    pub fn start(name: &str) -> Capture {
        let tmp = PathBuf::from(format!("/tmp/{name}.btsnoop"));
        let _ = std::fs::remove_file(&tmp);
        let child = spawn(
            tokio::process::Command::new(tool("btmon"))
                .arg("-w")
                .arg(&tmp)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "btmon",
        );
        let deadline = Instant::now() + WAIT;
        while !tmp.exists() {
            assert!(
                Instant::now() < deadline,
                "btmon did not create {}",
                tmp.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // btmon opens the monitor socket right after the file; give it a moment to start.
        std::thread::sleep(Duration::from_millis(200));
        Capture {
            name: name.to_owned(),
            tmp,
            child: Some(child),
        }
    }

    /// Stops btmon (SIGINT) and copies the capture to the artifacts dir; returns its path.
    pub fn finish(mut self) -> PathBuf {
        self.stop()
    }

    fn stop(&mut self) -> PathBuf {
        let dest = artifacts_dir().join(format!("{}.btsnoop", self.name));
        if let Some(mut child) = self.child.take() {
            // Give the monitor socket a moment to deliver the last frames before stopping.
            std::thread::sleep(Duration::from_millis(200));
            interrupt(&child);
            reap_blocking(&mut child, Duration::from_secs(5));
            if let Err(e) = std::fs::copy(&self.tmp, &dest) {
                eprintln!(
                    "capture {}: cannot copy to {}: {e}",
                    self.name,
                    dest.display()
                );
            } else {
                println!("capture: {}", dest.display());
            }
        }
        dest
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// Bumble peer

/// Settings the Bumble peer starts with; all can be changed later over its protocol.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Give the kernel-facing controller BR/EDR (SSP/SC) features, not only LE.
    pub bredr: bool,
    /// The peer's IO capability (0 DisplayOnly .. 4 KeyboardDisplay).
    pub io_capability: u8,
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions {
            bredr: true,
            io_capability: 3,
        }
    }
}

/// A line the peer printed, parsed (see `tests/kernel/peer/bumble_peer.py` for the protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// `READY <kernel-side addr> <peer addr> <peer LE random addr>`.
    Ready(Vec<String>),
    /// `OK <command>`: a command was applied.
    Ok(String),
    /// `JUST_WORKS`: the peer was asked to accept a pairing without a value to compare.
    JustWorks,
    /// `CONFIRM <n>`: the peer was asked to confirm numeric value n.
    Confirm(u32),
    /// `DISPLAY <n>`: the peer displays passkey n.
    Display(u32),
    /// `PASSKEY?`: the peer must type a passkey; it waits for [`BumblePeer::type_passkey`].
    PasskeyRequested,
    /// `CONNECTED <addr> <transport>`.
    Connected(String),
    /// `DISCONNECTED <reason>`.
    Disconnected(String),
    /// `PAIRED <key types...>`.
    Paired(Vec<String>),
    /// `FAILED <reason>`.
    Failed(String),
    /// `ERROR <text>`: a command was not understood or failed.
    Error(String),
    /// Anything else (logged).
    Other(String),
}

impl PeerEvent {
    fn parse(line: &str) -> PeerEvent {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words = || rest.split_whitespace().map(str::to_owned).collect();
        let num = || rest.trim().parse().unwrap_or(u32::MAX);
        match head {
            "READY" => PeerEvent::Ready(words()),
            "OK" => PeerEvent::Ok(rest.to_owned()),
            "CONFIRM" => PeerEvent::Confirm(num()),
            "JUST_WORKS" => PeerEvent::JustWorks,
            "DISPLAY" => PeerEvent::Display(num()),
            "PASSKEY?" => PeerEvent::PasskeyRequested,
            "CONNECTED" => PeerEvent::Connected(rest.to_owned()),
            "DISCONNECTED" => PeerEvent::Disconnected(rest.to_owned()),
            "PAIRED" => PeerEvent::Paired(words()),
            "FAILED" => PeerEvent::Failed(rest.to_owned()),
            "ERROR" => PeerEvent::Error(rest.to_owned()),
            _ => PeerEvent::Other(line.to_owned()),
        }
    }
}

/// One long-lived Bumble process: it serves a Bumble controller to the kernel through
/// `/dev/vhci` (one new kernel controller, [`BumblePeer::index`]) and runs a second Bumble
/// controller with a Bumble host on the same virtual link — the peer device the kernel pairs
/// with. Tests change its behaviour with the setters and read what it reports with
/// [`BumblePeer::expect`]. Starting Python under TCG takes seconds: share one peer among the
/// scenarios of a test.
pub struct BumblePeer {
    /// The kernel controller backed by the peer's kernel-facing Bumble controller.
    pub index: ControllerIndex,
    /// The kernel-facing controller's public address.
    pub kernel_side_address: String,
    /// The peer device's public (BR/EDR) address.
    pub address: String,
    /// The peer device's LE static random address.
    pub le_address: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    log: Vec<String>,
    /// Lines that arrived while [`BumblePeer::command`] waited for its `OK`, for the next
    /// [`BumblePeer::expect`].
    backlog: VecDeque<String>,
}

impl BumblePeer {
    /// Starts the peer and waits for `READY` and for its kernel controller to appear.
    pub async fn start(opts: PeerOptions) -> BumblePeer {
        Self::start_with_args(opts, &[]).await
    }

    /// [`BumblePeer::start`] with more command-line options for the peer script (e.g.
    /// `--inquiry-without-name 2`; see `tests/kernel/peer/bumble_peer.py --help`).
    pub async fn start_with_args(opts: PeerOptions, extra: &[&str]) -> BumblePeer {
        let python = std::env::var_os("KERNEL_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_dir().join(".cache/kernel/venv/bin/python"));
        let script = std::env::var_os("KERNEL_PEER")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_dir().join("tests/kernel/peer/bumble_peer.py"));
        let mut mgmt = Mgmt::open();
        let before = mgmt.index_list().await;
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(script)
            .arg("--io")
            .arg(opts.io_capability.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if opts.bredr {
            cmd.arg("--bredr");
        }
        cmd.args(extra);
        let mut child = spawn(&mut cmd, "the Bumble peer");
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut peer = BumblePeer {
            index: ControllerIndex::NONE,
            kernel_side_address: String::new(),
            address: String::new(),
            le_address: String::new(),
            child,
            stdin: Some(stdin),
            lines,
            log: Vec::new(),
            backlog: VecDeque::new(),
        };
        // Python + bumble imports under TCG: allow much longer than WAIT.
        let ready = peer
            .expect_within(Duration::from_secs(120), "READY", |e| match e {
                PeerEvent::Ready(w) => Some(w.clone()),
                _ => None,
            })
            .await;
        assert!(ready.len() >= 3, "READY line too short: {ready:?}");
        peer.kernel_side_address = ready[0].clone();
        peer.address = ready[1].clone();
        peer.le_address = ready[2].clone();
        let deadline = Instant::now() + WAIT;
        peer.index = loop {
            let new: Vec<_> = mgmt
                .index_list()
                .await
                .into_iter()
                .filter(|i| !before.contains(i))
                .collect();
            if let Some(i) = new.first() {
                break *i;
            }
            assert!(
                Instant::now() < deadline,
                "the peer's controller did not appear"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        peer
    }

    /// Sends one protocol line and waits for its `OK` (panics on `ERROR`). Other lines that
    /// arrive meanwhile are kept for the next [`BumblePeer::expect`].
    pub async fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the peer's stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the peer");
        stdin.flush().await.expect("flush the peer's stdin");
        let deadline = Instant::now() + WAIT;
        loop {
            let got = self.next_line(deadline, line).await;
            match PeerEvent::parse(&got) {
                PeerEvent::Ok(c) if c == line => return,
                PeerEvent::Error(msg) => panic!("peer refused {line:?}: {msg}"),
                _ => self.backlog.push_back(got),
            }
        }
    }

    /// Answers the peer's pending (or next) `PASSKEY?`: `Some(n)` types n, `None` refuses.
    pub async fn type_passkey(&mut self, passkey: Option<u32>) {
        match passkey {
            Some(n) => self.command(&format!("type {n}")).await,
            None => self.command("type none").await,
        }
    }

    /// Sets the peer's IO capability (0..=4) for the next pairings.
    pub async fn set_io_capability(&mut self, io: u8) {
        self.command(&format!("io {io}")).await
    }
    /// Turns Secure Connections on or off.
    pub async fn set_secure_connections(&mut self, on: bool) {
        self.command(&format!("sc {}", on_off(on))).await
    }
    /// Whether the peer asks for bonding.
    pub async fn set_bonding(&mut self, on: bool) {
        self.command(&format!("bonding {}", on_off(on))).await
    }
    /// Turns MITM protection on or off.
    pub async fn set_mitm(&mut self, on: bool) {
        self.command(&format!("mitm {}", on_off(on))).await
    }
    /// Whether the peer accepts pairing requests and numeric comparisons.
    pub async fn set_accept(&mut self, yes: bool) {
        self.command(&format!("accept {}", if yes { "yes" } else { "no" }))
            .await
    }
    /// The passkey the peer displays when it chooses one (LE); typing is [`Self::type_passkey`].
    pub async fn set_passkey(&mut self, passkey: u32) {
        self.command(&format!("passkey {passkey}")).await
    }
    /// Makes the peer initiate pairing with `address` over LE (`le`) or BR/EDR (`bredr`).
    pub async fn pair(&mut self, address: &str, transport: &str) {
        self.command(&format!("pair {address} {transport}")).await
    }
    /// Deletes every key the peer stored (its side of an unpair).
    pub async fn forget(&mut self) {
        self.command("forget").await
    }
    /// Disconnects every connection of the peer.
    pub async fn disconnect(&mut self) {
        self.command("disconnect").await
    }

    /// Waits up to [`WAIT`] for a line `pick` accepts; panics otherwise.
    pub async fn expect<T>(&mut self, what: &str, pick: impl FnMut(&PeerEvent) -> Option<T>) -> T {
        self.expect_within(WAIT, what, pick).await
    }

    /// The next line the peer prints, parsed; `None` if none comes within `limit`.
    pub async fn next_event(&mut self, limit: Duration) -> Option<PeerEvent> {
        if let Some(line) = self.backlog.pop_front() {
            return Some(PeerEvent::parse(&line));
        }
        let line = match tokio::time::timeout(limit, self.lines.next_line()).await {
            Err(_) => return None,
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("peer exited; saw {:?}", self.log),
            Ok(Err(e)) => panic!("peer stdout: {e}"),
        };
        println!("peer: {line}");
        self.log.push(line.clone());
        Some(PeerEvent::parse(&line))
    }

    async fn expect_within<T>(
        &mut self,
        limit: Duration,
        what: &str,
        mut pick: impl FnMut(&PeerEvent) -> Option<T>,
    ) -> T {
        while let Some(line) = self.backlog.pop_front() {
            if let Some(t) = pick(&PeerEvent::parse(&line)) {
                return t;
            }
        }
        let deadline = Instant::now() + limit;
        loop {
            let line = self.next_line(deadline, what).await;
            if let Some(t) = pick(&PeerEvent::parse(&line)) {
                return t;
            }
        }
    }

    /// The next line the peer prints (logged); panics at `deadline` or when the peer exits.
    async fn next_line(&mut self, deadline: Instant, what: &str) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match tokio::time::timeout(left, self.lines.next_line()).await {
            Err(_) => panic!("peer: no {what} in time; saw {:?}", self.log),
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("peer exited while waiting for {what}; saw {:?}", self.log),
            Ok(Err(e)) => panic!("peer stdout: {e}"),
        };
        println!("peer: {line}");
        self.log.push(line.clone());
        line
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

impl Drop for BumblePeer {
    fn drop(&mut self) {
        // Closing its stdin tells the peer to exit (SIGKILL after 5 s if it does not).
        drop(self.stdin.take());
        reap_blocking(&mut self.child, Duration::from_secs(5));
        let dir = PathBuf::from(format!("/sys/class/bluetooth/hci{}", self.index.0));
        let deadline = Instant::now() + WAIT;
        while self.index != ControllerIndex::NONE && dir.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// True if `path` exists and is not empty.
pub fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
}

/// After a bonded peer reconnected: the peer reports the link encrypted (`ENCRYPTED` not 0)
/// without a new pairing, and `watch` (a subscription covering New Long Term Key) saw no new
/// key: the stored one was used.
pub async fn assert_encrypted_with_stored_key(peer: &mut BumblePeer, watch: &mut Subscription) {
    let level = peer
        .expect("ENCRYPTED", |e| match e {
            PeerEvent::Other(l) if l.starts_with("ENCRYPTED ") => Some(l[10..].to_string()),
            PeerEvent::Paired(k) => panic!("a new pairing ran instead of the stored key: {k:?}"),
            _ => None,
        })
        .await;
    assert_ne!(level, "0", "the link is encrypted");
    while let Some(item) = watch.try_recv() {
        assert!(
            !matches!(item, Ok((_, Event::NewLongTermKey(_)))),
            "a new key was made: {item:?}"
        );
    }
}

/// Panics on a pairing-service report saying a stored bond did not reach the kernel (left
/// out of a load, or its device policy refused); other reports pass.
pub fn fail_on_lost_bond(report: &bluez_mgmt::pairing::Report) {
    use bluez_mgmt::pairing::Report;
    match report {
        Report::BondLeftOut { error, .. } => panic!("bond left out: {error}"),
        Report::PolicyRefused {
            device,
            command,
            error,
            ..
        } => panic!("{command} {device} refused: {error}"),
        _ => {}
    }
}
