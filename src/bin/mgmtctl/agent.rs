//! `mgmtctl agent`: answers pairing requests from the terminal (or by a fixed policy), with no
//! bluetoothd.
//!
//! On a terminal it shows the number to compare or the passkey to type on the device, asks
//! yes/no, and reads six-digit passkeys, asking again on bad input. When stdin is not a
//! terminal, `--auto-accept` accepts confirmations and authorizations and `--reject` refuses
//! everything (a passkey or PIN cannot be made up, so those are refused under both). The line
//! saying what such a fixed answer was is printed when that pairing ends (with its keys or a
//! failure), at most a second after the answer, so that printing it never slows the pairing.
//!
//! Bonds are kept in `--store DIR` (default `/var/lib/bluetooth`, bluetoothd's layout;
//! `--no-store` keeps none). Every served controller, present at start or added later, gets
//! the IO capability, its stored keys (Load IRKs, Link Keys, Long Term Keys, Connection
//! Parameters; Load Link Keys only where BR/EDR is supported) and then power unless
//! `--no-power-on`; once it is powered, the store's device policies: Block Device for a
//! device whose info file says `Blocked=true`, Add Device with auto-connect for every other
//! bonded LE device, so it reconnects by itself when it advertises (a refusal is printed and
//! the rest go on). An LE-only controller without a public address gets the static address
//! kept in `DIR/addresses` and its bonds live under `static-<address>`. Keys the kernel
//! reports while the agent runs are stored. A file that does not parse is logged (WARN) with
//! its line and left out.
//!
//! Also home of the terminal agent and argument parsers `mgmtctl pair` shares.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt::agent::policy::Policy as HeadlessPolicy;
use bluez_mgmt::agent::{Agent, KeyNotice, Peer, PinCode, PolicyAgent, YesNoRequest};
use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{KeyStore, DEFAULT_DIR};
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::{AddressType, ControllerIndex, IoCapability, Status};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::CliError;

// Arguments of `mgmtctl agent`.
#[derive(clap::Args)]
pub struct Args {
    /// Controller to serve (`0` or `hci0`); every controller when absent.
    #[arg(long, value_parser = parse_index)]
    pub index: Option<ControllerIndex>,
    /// IO capability to register: DisplayOnly, DisplayYesNo, KeyboardOnly, NoInputNoOutput,
    /// KeyboardDisplay (case and dashes do not matter).
    #[arg(long, value_parser = parse_io_capability)]
    pub io_capability: IoCapability,
    /// Without a terminal: accept every confirmation and authorization.
    #[arg(long, conflicts_with_all = ["reject", "json"])]
    pub auto_accept: bool,
    /// Refuse every request.
    #[arg(long, conflicts_with = "json")]
    pub reject: bool,
    /// Speak the JSON-lines agent protocol on stdin/stdout (docs/agent-protocol.md) instead
    /// of prompting: for user interfaces in any language. Ends when stdin ends.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for an answer before refusing: 1 to 30 (SMP gives up after 30 s, so a
    /// later answer could not be used).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=30))]
    pub answer_timeout: u64,
    #[command(flatten)]
    pub headless: HeadlessArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Leave a powered-off controller off after loading its bonds (default: power it on).
    #[arg(long)]
    pub no_power_on: bool,
    /// Start even when bluetoothd or another mgmtctl agent is running (both would answer the
    /// same requests; the first answer wins).
    #[arg(long)]
    pub coexist: bool,
    /// Lock file that keeps a second `mgmtctl agent` from starting.
    #[arg(long, value_name = "FILE", default_value = crate::coexist::DEFAULT_LOCK)]
    pub lock_file: PathBuf,
}

// Headless policy: fixed secrets and who may pair (see `bluez_mgmt::agent::policy`).
#[derive(clap::Args)]
pub struct HeadlessArgs {
    /// Answer every passkey request with the six digits on the first line of FILE (mode 0600;
    /// the "PIN on a sticker" device).
    #[arg(long, value_name = "FILE", conflicts_with = "passkey_env")]
    pub passkey_file: Option<PathBuf>,
    /// Answer every passkey request with the six digits in environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub passkey_env: Option<String>,
    /// Answer every PIN Code Request (BR/EDR legacy) with the first line of FILE (mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with = "pin_env")]
    pub pin_file: Option<PathBuf>,
    /// Answer every PIN Code Request with environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub pin_env: Option<String>,
    /// Only these peers may pair (repeat the option; every request from another is refused).
    #[arg(long, value_name = "ADDRESS")]
    pub allow: Vec<bluez_mgmt::protocol::Address>,
    /// These peers may never pair (repeat the option; wins over --allow and --auto-accept).
    #[arg(long, value_name = "ADDRESS")]
    pub deny: Vec<bluez_mgmt::protocol::Address>,
}

impl HeadlessArgs {
    /// The policy these arguments describe; secrets are read now, so a bad file stops the
    /// start with a message.
    pub(crate) fn policy(&self) -> Result<HeadlessPolicy, CliError> {
        use bluez_mgmt::agent::policy::Secret;
        let mut p = HeadlessPolicy::new();
        for a in &self.allow {
            p = p.allow(*a);
        }
        for a in &self.deny {
            p = p.deny(*a);
        }
        let passkey = match (&self.passkey_file, &self.passkey_env) {
            (Some(f), _) => Some(Secret::File(f.clone())),
            (_, Some(v)) => Some(Secret::Env(v.clone())),
            _ => None,
        };
        if let Some(s) = passkey {
            p = p.with_passkey(s.passkey()?)?;
        }
        let pin = match (&self.pin_file, &self.pin_env) {
            (Some(f), _) => Some(Secret::File(f.clone())),
            (_, Some(v)) => Some(Secret::Env(v.clone())),
            _ => None,
        };
        if let Some(s) = pin {
            p = p.with_pin(s.pin()?);
        }
        Ok(p)
    }

    /// Whether a fixed secret stands in for the terminal.
    fn has_secret(&self) -> bool {
        self.passkey_file.is_some()
            || self.passkey_env.is_some()
            || self.pin_file.is_some()
            || self.pin_env.is_some()
    }
}

// Where bonds are kept (`mgmtctl agent`, `pair`, `unpair`).
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Bond store, in bluetoothd's layout (DIR/ADAPTER/DEVICE/info): keys are stored as the
    /// kernel reports them and loaded into the controllers at start.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub store: PathBuf,
    /// Keep no bonds on disk (keys live only until the controller goes away).
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
}

impl StoreArgs {
    /// The service for these arguments (with its store unless `--no-store`), with
    /// `rehearsal` (if any) as its rehearsal agent
    /// ([`PairingService::with_rehearsal_agent`]).
    pub(crate) fn service<A: Agent>(
        &self,
        client: Client,
        agent: A,
        rehearsal: Option<A>,
        config: ServiceConfig,
    ) -> PairingService<A> {
        let mut service = PairingService::new(client, agent, config);
        if let Some(r) = rehearsal {
            service = service.with_rehearsal_agent(r);
        }
        if self.no_store {
            service
        } else {
            service.with_store(KeyStore::open(&self.store))
        }
    }
}

/// Runs the subcommand until Ctrl-C.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let headless = args.headless.policy()?;
    // With a fixed secret and no terminal, the other requests are refused unless
    // --auto-accept says otherwise.
    let policy = if args.json
        || args.headless.has_secret() && !args.auto_accept && !io::stdin().is_terminal()
    {
        Policy::Reject
    } else {
        Policy::choose(args.auto_accept, args.reject)?
    };
    let config = ServiceConfig {
        controllers: args
            .index
            .map_or(Controllers::All, |i| Controllers::Only(vec![i])),
        answer_timeout: Duration::from_secs(args.answer_timeout),
        power_on: !args.no_power_on,
        // The agent prints (or sends) each report as it comes, on the thread the service
        // runs on: 128 reports is room for start-up's of several controllers and for many
        // pairings at once. The default's 1,024 slots would stay resident (100 KB) for
        // nothing. Should start-up report more (a store with hundreds of bad files), the
        // agent says how many it skipped, and each left-out bond is also a WARN line.
        report_queue: 128,
        ..ServiceConfig::default()
    };
    if args.json {
        return run_json(args, headless, config);
    }
    let terminal = TerminalAgent::new(args.io_capability, policy);
    let decisions = terminal.decision_lines();
    // The rehearsal's copy is of the type the service polls (inlining makes the wrapper's
    // copy of the terminal agent's code its own), behind a policy that refuses no one (so
    // nothing is logged).
    let rehearsal = terminal
        .rehearsal_copy()
        .map(|t| PolicyAgent::new(HeadlessPolicy::default(), t));
    let agent = PolicyAgent::new(headless, terminal);
    crate::stop::run_stoppable(|mut stop| async move {
        decisions.start();
        let graceful = crate::stop::GracefulStop::default();
        // The stop signals are blocked and queued already: a signal during the slow start
        // (opening the socket, loading bonds, registering) stops us as promptly as one later.
        let result = tokio::select! {
            result = serve(args, agent, rehearsal, config, Frontend::Terminal(decisions.clone()), graceful.clone()) => result,
            signal = stop.recv() => {
                crate::stop::notify_stopping();
                println!("agent: {signal} received; stopping");
                // Pending requests refused, our pairings cancelled, keys flushed (bounded).
                graceful.run().await;
                Ok(ExitCode::SUCCESS)
            }
        };
        decisions.write_all();
        result
    })
}

/// `mgmtctl agent --json`: the same service with the JSON-lines protocol as its agent. Ends
/// with a `stopped` event on a signal or when stdin ends.
fn run_json(
    args: Args,
    headless: HeadlessPolicy,
    config: ServiceConfig,
) -> Result<ExitCode, CliError> {
    use crate::json_agent::{read_answers, JsonAgent};
    let (agent, channel) = JsonAgent::new(args.io_capability);
    let agent = PolicyAgent::new(headless, agent);
    crate::stop::run_stoppable(|mut stop| async move {
        let graceful = crate::stop::GracefulStop::default();
        let stopped = |reason: String| {
            let mut m = serde_json::Map::new();
            m.insert("reason".into(), serde_json::json!(reason));
            channel.event("stopped", m);
        };
        tokio::select! {
            result = serve(args, agent, None, config, Frontend::Json(channel.clone()), graceful.clone()) => result,
            () = read_answers(channel.clone()) => {
                // Requests still pending are cancelled (their `cancelled` events come first).
                graceful.run().await;
                stopped("stdin closed".into());
                Ok(ExitCode::SUCCESS)
            }
            signal = stop.recv() => {
                crate::stop::notify_stopping();
                graceful.run().await;
                stopped(signal.to_string());
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// Starts the agent and serves until the kernel connection ends (exit status
/// [`EXIT_KERNEL_LOST`](crate::stop::EXIT_KERNEL_LOST)). With `json`, what it reports goes
/// out as protocol events. Once the service runs, its shutdown is left in `graceful` for a
/// stop to run.
async fn serve<A: Agent + Send + Sync + 'static>(
    args: Args,
    agent: A,
    rehearsal: Option<A>,
    config: ServiceConfig,
    frontend: Frontend,
    graceful: crate::stop::GracefulStop,
) -> Result<ExitCode, CliError> {
    {
        let _lock = if args.coexist {
            None
        } else {
            match crate::coexist::claim(std::path::Path::new("/proc"), &args.lock_file) {
                Ok(lock) => lock,
                Err(conflict) => {
                    eprintln!("mgmtctl: not starting: {conflict}");
                    return Ok(ExitCode::from(crate::stop::EXIT_OTHER_AGENT));
                }
            }
        };
        let client = Client::open().await?;
        let service = args.store.service(client, agent, rehearsal, config);
        let listening = frontend.listen(service.reports());
        let mut task = service.start().await?;
        let running = service.clone();
        graceful.set(async move { running.shutdown().await });
        match listening {
            Listening::Json { ch, mut reports } => {
                // What start-up did is already in the report queue; stdout is the protocol's,
                // so it goes to stderr.
                while let Ok(r) = reports.try_recv() {
                    eprintln!("mgmtctl: {r:?}");
                }
                let mut m = serde_json::Map::new();
                m.insert("protocol".into(), "mgmtctl-agent".into());
                m.insert("version".into(), crate::json_agent::VERSION.into());
                m.insert(
                    "io_capability".into(),
                    args.io_capability.to_string().into(),
                );
                m.insert(
                    "controllers".into(),
                    match args.index {
                        Some(i) => serde_json::json!([i.0]),
                        None => serde_json::json!("all"),
                    },
                );
                ch.event("ready", m);
                tokio::spawn(crate::json_agent::report_events(ch.clone(), reports));
            }
            Listening::Terminal { registered } => {
                let where_ = args.index.map_or(
                    "every controller, present or added later".to_string(),
                    |i| i.to_string(),
                );
                println!(
                    "agent: {} registered on {where_}; Ctrl-C to stop",
                    args.io_capability
                );
                // The printer has start-up's reports: they come after that line.
                let _ = registered.send(());
            }
        }
        crate::heap::release_free_pages();
        crate::stop::notify_ready();
        let _ = (&mut task).await;
        eprintln!("mgmtctl: the connection to the kernel (MGMT socket) was lost; exiting");
        Ok(ExitCode::from(crate::stop::EXIT_KERNEL_LOST))
    }
}

/// A tokio runtime for one command: one thread. The pairing service and the command's own
/// tasks take turns on it; the client's driver has a thread of its own blocked on the socket
/// ([`Client::open`]), which answers a request the agent answers at once and writes the reply
/// before it wakes this one; prompts (terminal reads) run on the blocking pool, whose threads
/// exist only while a prompt waits.
pub(crate) fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Who `mgmtctl agent` answers for: a terminal (and its policy's decision lines) or the
/// JSON-lines protocol.
enum Frontend {
    Terminal(DecisionLines),
    Json(Arc<crate::json_agent::Channel>),
}

/// A [`Frontend`] taking the service's reports, from before the service starts.
enum Listening {
    /// The report printer runs ([`print_reports`]); it prints once `registered` is sent.
    Terminal { registered: oneshot::Sender<()> },
    /// The reports wait in `reports` until the protocol's `ready` event is out.
    Json {
        ch: Arc<crate::json_agent::Channel>,
        reports: broadcast::Receiver<Report>,
    },
}

impl Frontend {
    /// Takes `reports` (made before the service starts, so that it holds start-up's).
    fn listen(self, reports: broadcast::Receiver<Report>) -> Listening {
        match self {
            Frontend::Terminal(decisions) => {
                let (registered, wait) = oneshot::channel();
                tokio::spawn(print_reports(reports, decisions, wait));
                Listening::Terminal { registered }
            }
            Frontend::Json(ch) => Listening::Json { ch, reports },
        }
    }
}

/// Where the report printer's timer is set while no decision line is held: a day off.
const NO_HOLD: Duration = Duration::from_secs(24 * 60 * 60);

/// The report printer of `mgmtctl agent`: prints the service's reports that the agent itself
/// does not show (never key bytes), starts the hold of the decision lines posted before each
/// and ends it with one timer (see [`DecisionLines`]).
///
/// It runs from before the service starts and takes start-up's reports as it takes later
/// ones, holding them until `registered` fires (that line comes first). Its timer is made
/// when it starts and set again when `registered` fires; a hold only moves it. So what a
/// report wakes (the broadcast's wake-up, this task, the timer's move) has run before the
/// first pairing. Run for the first time right after the first reply instead (the printer
/// spawned once start-up's reports were printed, a task and a timer made for each hold), it
/// competed for the CPUs with the kernel's work on the rest of that pairing: in the
/// benchmark's VM `mgmtctl agent`'s thread ran 1.2 ms after the reply against the library
/// agent's 0.5, and the other side's request waited for a CPU behind it.
async fn print_reports(
    mut reports: broadcast::Receiver<Report>,
    decisions: DecisionLines,
    mut registered: oneshot::Receiver<()>,
) {
    let timer = tokio::time::sleep(NO_HOLD);
    tokio::pin!(timer);
    // Start-up's reports, until `registered`.
    let mut early = Some(Vec::new());
    let mut closed = false;
    loop {
        let due = tokio::select! {
            biased;
            () = &mut timer => decisions.write_due(Instant::now()),
            _ = &mut registered, if early.is_some() => {
                for r in early.take().into_iter().flatten() {
                    print_report(&r);
                }
                if closed {
                    return;
                }
                // A hold a start-up report started still runs.
                decisions.next_due()
            }
            report = reports.recv(), if !closed => {
                let due = decisions.schedule();
                match report {
                    Ok(r) => match early.as_mut() {
                        Some(held) => held.push(r),
                        None => print_report(&r),
                    },
                    Err(RecvError::Lagged(n)) => eprintln!("mgmtctl: ({n} reports skipped)"),
                    Err(RecvError::Closed) if early.is_some() => closed = true,
                    Err(RecvError::Closed) => return,
                }
                let Some(due) = due else { continue };
                Some(due)
            }
        };
        timer
            .as_mut()
            .reset(due.unwrap_or_else(|| Instant::now() + NO_HOLD));
    }
}

/// One line for one report, if the agent does not already show it.
pub(crate) fn print_report(r: &Report) {
    match r {
        Report::TimedOut { peer, request } => {
            println!("{peer}: no answer to the {request:?} request in time; refused")
        }
        Report::AgentPanicked { peer, request } => {
            println!("{peer}: the {request:?} request failed; refused")
        }
        Report::InvalidAnswer { peer, error } => println!("{peer}: {error}; refused"),
        Report::ShutDown { peer, request } => {
            println!("{peer}: the {request:?} request refused: the agent is stopping")
        }
        Report::AwaitingKeys { peer } => println!(
            "{peer}: a pairing is under way; stopping once its keys come (at most {} s)",
            bluez_mgmt::pairing::KEYS_AT_STOP.as_secs()
        ),
        Report::KeysNotReceived { peer } => {
            println!("{peer}: stopped before its keys came; they were not stored")
        }
        Report::AutoAccepted { peer } => {
            println!("{peer}: Just Works accepted (we asked for this pairing)")
        }
        Report::ReplyFailed { peer, error } => {
            println!("{peer}: the reply was not accepted: {error}")
        }
        Report::Stored {
            index,
            device,
            what,
            path,
        } => println!(
            "{index} {}: stored {what} in {}",
            device.address,
            path.display()
        ),
        Report::NotStored {
            index,
            device,
            reason,
        } => println!("{index} {}: key not stored: {reason}", device.address),
        Report::StoreFailed {
            index,
            device,
            error,
        } => eprintln!(
            "mgmtctl: {index} {}: key NOT stored: {error}",
            device.address
        ),
        Report::Removed { index, device } => {
            println!("{index} {device}: stored bond removed")
        }
        Report::ControllerReady { index, summary } => println!("{index}: {summary}"),
        Report::ControllerFailed { index, error } => {
            eprintln!("mgmtctl: {index}: not set up: {error}")
        }
        Report::ControllerRemoved { index } => println!("{index}: controller removed"),
        Report::BondLeftOut { index, error } => eprintln!("mgmtctl: {index}: left out: {error}"),
        Report::PolicyRefused {
            index,
            device,
            command,
            error,
        } => eprintln!("mgmtctl: {index}: {command} {device} refused: {error}"),
        Report::EventsLost { count } => eprintln!(
            "mgmtctl: {count} pairing events were lost: a request may be unanswered, a key \
             unstored"
        ),
        _ => {}
    }
}

/// Parses `0`, `hci0`.
pub(crate) fn parse_index(s: &str) -> Result<ControllerIndex, String> {
    s.strip_prefix("hci")
        .unwrap_or(s)
        .parse::<u16>()
        .ok()
        .filter(|i| *i != ControllerIndex::NONE.0)
        .map(ControllerIndex)
        .ok_or_else(|| format!("`{s}` is not a controller index (0, 1, … or hci0, hci1, …)"))
}

/// Parses an IO capability by name.
pub(crate) fn parse_io_capability(s: &str) -> Result<IoCapability, String> {
    IoCapability::from_name(s).ok_or_else(|| {
        format!(
            "`{s}` is not an IO capability (DisplayOnly, DisplayYesNo, KeyboardOnly, \
             NoInputNoOutput, KeyboardDisplay)"
        )
    })
}

/// The address types on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AddressTypeArg {
    /// BR/EDR (classic).
    Bredr,
    /// LE public address.
    LePublic,
    /// LE random address.
    LeRandom,
}

impl From<AddressTypeArg> for AddressType {
    fn from(a: AddressTypeArg) -> AddressType {
        match a {
            AddressTypeArg::Bredr => AddressType::BR_EDR,
            AddressTypeArg::LePublic => AddressType::LE_PUBLIC,
            AddressTypeArg::LeRandom => AddressType::LE_RANDOM,
        }
    }
}

/// How requests are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Ask on the terminal.
    Ask,
    /// Accept confirmations and authorizations; refuse passkeys and PINs.
    Accept,
    /// Refuse everything.
    Reject,
}

impl Policy {
    /// The policy the flags ask for; asking needs a terminal on stdin.
    pub(crate) fn choose(auto_accept: bool, reject: bool) -> Result<Policy, CliError> {
        Ok(match (auto_accept, reject) {
            (true, _) => Policy::Accept,
            (_, true) => Policy::Reject,
            _ if io::stdin().is_terminal() => Policy::Ask,
            _ => {
                return Err("stdin is not a terminal: pass --auto-accept or --reject".into());
            }
        })
    }
}

/// Asks `question` until the answer is yes or no. End of input counts as no.
pub(crate) fn ask_yes_no(
    input: &mut impl BufRead,
    out: &mut impl Write,
    question: &str,
) -> io::Result<bool> {
    loop {
        write!(out, "{question} [y/n] ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(false);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => writeln!(out, "please answer y or n")?,
        }
    }
}

/// Asks for a six-digit passkey until one is given; an empty line or end of input refuses.
pub(crate) fn ask_passkey(
    input: &mut impl BufRead,
    out: &mut impl Write,
    question: &str,
) -> io::Result<Option<u32>> {
    loop {
        write!(out, "{question} (6 digits, empty to refuse): ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(None);
        }
        let t = line.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(t.parse().ok());
        }
        writeln!(out, "`{t}` is not six digits")?;
    }
}

/// Asks for a PIN code (1 to 16 characters; 16 digits when `secure`) until one is given;
/// an empty line or end of input refuses.
pub(crate) fn ask_pin_code(
    input: &mut impl BufRead,
    out: &mut impl Write,
    question: &str,
    secure: bool,
) -> io::Result<Option<PinCode>> {
    loop {
        let rule = if secure {
            "16 digits"
        } else {
            "1 to 16 characters"
        };
        write!(out, "{question} ({rule}, empty to refuse): ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(None);
        }
        let t = line.trim_end_matches(['\r', '\n']);
        if t.is_empty() {
            return Ok(None);
        }
        match PinCode::new(t.as_bytes()) {
            Ok(pin) if !secure || pin.is_secure() => return Ok(Some(pin)),
            Ok(_) => writeln!(out, "a secure PIN must be 16 digits")?,
            Err(e) => writeln!(out, "{e}")?,
        }
    }
}

/// A decision line: what a policy answered a device's yes/no request. Kept as its parts
/// (no allocation on the answer path) and formatted when it is written.
#[derive(Debug, Clone)]
struct Line {
    peer: Peer,
    request: YesNoRequest,
    /// The answer and the option that gave it.
    word: &'static str,
}

impl Line {
    fn text(&self) -> String {
        format!(
            "{} -> {}",
            question_line(&self.peer, self.request),
            self.word
        )
    }
}

/// How many lines [`DecisionLines`] holds before it allocates (posting one runs on the
/// answer path, before the reply is written).
const LINES_HELD_WITHOUT_ALLOCATING: usize = 16;

/// How long a decision line waits for its pairing to end before it is written anyway (a
/// pairing that ends by a disconnection gives no notice).
const LINE_HOLD: Duration = Duration::from_secs(1);

/// The lines saying what a policy answered. The answer path only queues a line: it neither
/// formats, locks the terminal, writes, reads the clock nor wakes a task (it runs on the
/// client's driver thread, before the reply is written: waking the runtime's thread from
/// there is a system call). The line is written when its pairing ends (a key, a failure or a
/// withdrawal on that controller: just before the line saying so), at most [`LINE_HOLD`]
/// after the service's next report (`mgmtctl agent`'s report printer hands every report to
/// [`DecisionLines::schedule`], which starts the hold, and keeps the timer that ends it: see
/// [`print_reports`]), and at the end of the command ([`DecisionLines::write_all`]). Written
/// at once, the line and its reader's wake-up competed for the CPUs with the kernel's work
/// on the rest of that pairing: in the benchmark's VM a first request -> complete of 5.1 ms
/// against 3.5 ms without the line.
#[derive(Clone, Default)]
pub(crate) struct DecisionLines(Arc<HeldLines>);

#[derive(Default)]
struct HeldLines {
    /// The lines whose pairing has not ended, in the order they were posted.
    lines: Mutex<Vec<HeldLine>>,
    /// Lines are held; until [`DecisionLines::start`] they are written at once.
    holding: AtomicBool,
    /// Lines were posted that [`DecisionLines::schedule`] has not yet timed.
    unscheduled: AtomicBool,
}

struct HeldLine {
    index: ControllerIndex,
    output: Output,
    line: Line,
    /// When its hold started ([`DecisionLines::schedule`]); `None` until then.
    since: Option<Instant>,
}

/// Where a decision line goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Stdout,
    Stderr,
    /// Formatted and dropped: the line of a rehearsed answer
    /// ([`TerminalAgent::rehearsal_copy`]).
    Nowhere,
}

impl DecisionLines {
    /// Holds the lines posted from now on (before requests can come), with room made here
    /// for [`LINES_HELD_WITHOUT_ALLOCATING`] of them.
    pub(crate) fn start(&self) {
        self.0
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(LINES_HELD_WITHOUT_ALLOCATING);
        self.0.holding.store(true, Ordering::Release);
    }

    /// Holds `line` (from an answer on controller `index`) until its pairing ends; writes it
    /// here and now if [`DecisionLines::start`] was not called.
    fn post(&self, index: ControllerIndex, output: Output, line: Line) {
        if !self.0.holding.load(Ordering::Acquire) {
            write_line(output, &line.text());
            return;
        }
        self.0
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(HeldLine {
                index,
                output,
                line,
                since: None,
            });
        self.0.unscheduled.store(true, Ordering::Release);
    }

    /// Starts the hold of the lines posted since the last call; says when the first hold
    /// that runs ends (for the caller's timer, which then calls
    /// [`DecisionLines::write_due`]), or `None` when nothing was posted. Called off the answer
    /// path (for every report of the service, which comes after the reply is written); cheap
    /// when nothing was posted.
    fn schedule(&self) -> Option<Instant> {
        if !self.0.unscheduled.swap(false, Ordering::AcqRel) {
            return None;
        }
        let now = Instant::now();
        let mut lines = self.0.lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut oldest = now;
        for l in lines.iter_mut() {
            oldest = oldest.min(*l.since.get_or_insert(now));
        }
        Some(oldest + LINE_HOLD)
    }

    /// Writes the lines held [`LINE_HOLD`] by `now`; says when the next hold ends, if one
    /// runs.
    fn write_due(&self, now: Instant) -> Option<Instant> {
        self.write(|l| l.since.is_some_and(|t| now.duration_since(t) >= LINE_HOLD));
        self.next_due()
    }

    /// When the first hold that runs ends, if one runs.
    fn next_due(&self) -> Option<Instant> {
        self.oldest().map(|t| t + LINE_HOLD)
    }

    /// A pairing on controller `index` ended: writes the lines held for that controller.
    fn ended(&self, index: ControllerIndex) {
        self.write(|l| l.index == index);
    }

    /// Writes every line still held (the command is ending).
    pub(crate) fn write_all(&self) {
        self.write(|_| true);
    }

    fn oldest(&self) -> Option<Instant> {
        let lines = self.0.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().filter_map(|l| l.since).min()
    }

    /// Takes the held lines `which` picks, in the order they were posted, and formats them.
    /// The list keeps its room for the next lines.
    fn take(&self, which: impl Fn(&HeldLine) -> bool) -> Vec<(Output, String)> {
        let mut lines = self.0.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.is_empty() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        lines.retain(|l| {
            let take = which(l);
            if take {
                taken.push((l.output, l.line.clone()));
            }
            !take
        });
        drop(lines);
        taken
            .into_iter()
            .map(|(output, line)| (output, line.text()))
            .collect()
    }

    fn write(&self, which: impl Fn(&HeldLine) -> bool) {
        for (output, line) in self.take(which) {
            write_line(output, &line);
        }
    }
}

fn write_line(output: Output, line: &str) {
    if line.is_empty() {
        return;
    }
    match output {
        Output::Stdout => println!("{line}"),
        Output::Stderr => eprintln!("{line}"),
        Output::Nowhere => {}
    }
}

/// The question a yes/no request asks the user, as a line.
fn question_line(peer: &Peer, request: YesNoRequest) -> String {
    match request {
        YesNoRequest::ConfirmValue(value) => format!("{peer}: does the device show {value:06}?"),
        YesNoRequest::Authorize => format!("{peer}: pair without verification (Just Works)?"),
    }
}

/// The agent behind `mgmtctl agent` and `mgmtctl pair`.
#[derive(Clone)]
pub(crate) struct TerminalAgent {
    io: IoCapability,
    policy: Policy,
    /// One prompt at a time: two devices asking at once get their questions in turn.
    prompt: Arc<Mutex<()>>,
    /// Questions and notices go to stderr (stdout carries `pair --json`'s lines).
    on_stderr: bool,
    /// Where the lines saying what `--auto-accept`/`--reject` answered are written from.
    decisions: DecisionLines,
    /// A rehearsal's copy: its decision lines go nowhere.
    quiet: bool,
}

impl TerminalAgent {
    pub(crate) fn new(io: IoCapability, policy: Policy) -> TerminalAgent {
        TerminalAgent {
            io,
            policy,
            prompt: Arc::default(),
            on_stderr: false,
            decisions: DecisionLines::default(),
            quiet: false,
        }
    }

    /// The writer of the lines saying what a policy answered: start it inside the runtime
    /// before the agent serves.
    pub(crate) fn decision_lines(&self) -> DecisionLines {
        self.decisions.clone()
    }

    /// The same agent writing its questions and notices to stderr.
    pub(crate) fn on_stderr(mut self) -> TerminalAgent {
        self.on_stderr = true;
        self
    }

    /// A copy whose decision lines go nowhere, for the pairing service's rehearsal
    /// ([`PairingService::with_rehearsal_agent`]; in the benchmark's VM the first answer of
    /// a fresh `mgmtctl agent` spent 0.3 to 0.65 ms in this agent's code when nothing ran
    /// it before, later ones about 0.04 ms); `None` when the answers come from a terminal
    /// prompt, which is never rehearsed.
    pub(crate) fn rehearsal_copy(&self) -> Option<TerminalAgent> {
        (!matches!(self.policy, Policy::Ask)).then(|| TerminalAgent {
            quiet: true,
            ..self.clone()
        })
    }

    fn output(&self) -> Output {
        if self.quiet {
            Output::Nowhere
        } else if self.on_stderr {
            Output::Stderr
        } else {
            Output::Stdout
        }
    }

    /// One line for the user, on stdout or (see [`TerminalAgent::on_stderr`]) stderr.
    fn say(&self, line: std::fmt::Arguments<'_>) {
        if self.on_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// Runs a prompt on the blocking pool with the terminal to itself.
    async fn prompt<R: Clone + Send + 'static>(
        &self,
        f: impl FnOnce(&mut io::StdinLock<'static>, &mut Box<dyn Write>) -> io::Result<R>
            + Send
            + 'static,
        refused: R,
    ) -> R {
        let lock = self.prompt.clone();
        let fallback = refused.clone();
        let on_stderr = self.on_stderr;
        tokio::task::spawn_blocking(move || {
            let _turn = lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut input = io::stdin().lock();
            let mut out: Box<dyn Write> = if on_stderr {
                Box::new(io::stderr())
            } else {
                Box::new(io::stdout())
            };
            f(&mut input, &mut out).unwrap_or(fallback)
        })
        .await
        .unwrap_or(refused)
    }

    /// Answers `request` from `peer` by the policy, or asks on the terminal. A fixed answer
    /// is given at once; its line ([`DecisionLines`]) is formatted and written once the
    /// pairing has ended, so showing it never delays the pairing.
    async fn decide(&self, peer: &Peer, request: YesNoRequest) -> bool {
        match self.policy {
            Policy::Ask => {
                let question = question_line(peer, request);
                self.prompt(move |i, o| ask_yes_no(i, o, &question), false)
                    .await
            }
            _ => self.fixed_answer(peer, request).unwrap_or(false),
        }
    }

    /// The answer `--auto-accept` / `--reject` gives, its line posted ([`DecisionLines`]);
    /// `None` when the terminal is asked.
    fn fixed_answer(&self, peer: &Peer, request: YesNoRequest) -> Option<bool> {
        let (answer, word) = match self.policy {
            Policy::Accept => (true, "yes (--auto-accept)"),
            Policy::Reject => (false, "no (--reject)"),
            Policy::Ask => return None,
        };
        let line = Line {
            peer: peer.clone(),
            request,
            word,
        };
        self.decisions.post(peer.index, self.output(), line);
        Some(answer)
    }
}

impl Agent for TerminalAgent {
    fn io_capability(&self) -> IoCapability {
        self.io
    }

    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<bool> {
        // A policy's answer is written as soon as the request is read; the terminal's is not.
        self.fixed_answer(peer, request)
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.decide(peer, YesNoRequest::ConfirmValue(value)).await
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        self.decide(peer, YesNoRequest::Authorize).await
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        let question = format!("{peer}: passkey shown on the device");
        match self.policy {
            Policy::Ask => {
                self.prompt(move |i, o| ask_passkey(i, o, &question), None)
                    .await
            }
            _ => {
                self.say(format_args!(
                    "{question}: cannot be typed without a terminal; refused"
                ));
                None
            }
        }
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        if entered == 0 {
            self.say(format_args!("{peer}: type {passkey:06} on the device"));
        } else {
            self.say(format_args!(
                "{peer}: passkey {passkey:06}, {entered} digit(s) typed"
            ));
        }
    }

    async fn request_pin_code(&self, peer: &Peer, secure: bool) -> Option<PinCode> {
        let question = format!("{peer}: PIN code");
        match self.policy {
            Policy::Ask => {
                self.prompt(move |i, o| ask_pin_code(i, o, &question, secure), None)
                    .await
            }
            _ => {
                self.say(format_args!(
                    "{question}: cannot be typed without a terminal; refused"
                ));
                None
            }
        }
    }

    fn cancelled(&self, peer: &Peer) {
        self.decisions.ended(peer.index);
        self.say(format_args!("{peer}: request withdrawn"));
    }

    fn failed(&self, peer: &Peer, status: Status) {
        self.decisions.ended(peer.index);
        self.say(format_args!(
            "{peer}: pairing failed: {}",
            status.description()
        ));
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        self.decisions.ended(peer.index);
        self.say(format_args!(
            "{peer}: new {:?}, {}{}",
            key.kind,
            if key.authenticated {
                "authenticated"
            } else {
                "unauthenticated"
            },
            if key.persistent {
                ""
            } else {
                " (not to be stored)"
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt::protocol::{Address, AddressInfo};
    use std::io::Cursor;

    fn run<R>(input: &str, f: impl FnOnce(&mut Cursor<&[u8]>, &mut Vec<u8>) -> R) -> (R, String) {
        let mut i = Cursor::new(input.as_bytes());
        let mut o = Vec::new();
        let r = f(&mut i, &mut o);
        (r, String::from_utf8(o).unwrap())
    }

    /// What a rehearsal copy's answer posts (whether it goes nowhere, the line), read from
    /// the held lines.
    fn rehearsed(policy: Policy) -> Vec<(bool, String)> {
        let agent = TerminalAgent::new(IoCapability::DISPLAY_YES_NO, policy);
        agent.decisions.start();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                if let Some(copy) = agent.rehearsal_copy() {
                    PolicyAgent::new(HeadlessPolicy::default(), copy)
                        .confirm_value(&peer(ControllerIndex::NONE), 0)
                        .await;
                }
            });
        agent
            .decisions
            .take(|_| true)
            .into_iter()
            .map(|(output, line)| (output == Output::Nowhere, line))
            .collect()
    }

    fn peer(index: ControllerIndex) -> Peer {
        Peer::new(
            index,
            AddressInfo {
                address: Address([0; 6]),
                address_type: AddressType::LE_PUBLIC,
            },
        )
    }

    /// A decision line told apart from others by its value.
    fn line(value: u32) -> Line {
        Line {
            peer: peer(ControllerIndex(0)),
            request: YesNoRequest::ConfirmValue(value),
            word: "yes",
        }
    }

    #[test]
    fn a_decision_line_waits_for_its_pairing_to_end_and_keeps_its_order() {
        let lines = DecisionLines::default();
        lines.start();
        let (hci0, hci1) = (ControllerIndex(0), ControllerIndex(1));
        lines.post(hci0, Output::Stdout, line(1));
        lines.post(hci1, Output::Stdout, line(2));
        lines.post(hci0, Output::Stderr, line(3));
        assert_eq!(
            lines.oldest(),
            None,
            "posting (on the answer path) reads no clock"
        );
        let due = lines.schedule();
        assert!(due.is_some(), "the next report starts the hold");
        assert_eq!(lines.oldest().map(|t| t + LINE_HOLD), due);
        assert_eq!(
            lines.schedule(),
            None,
            "a report with nothing new posted does not"
        );
        let ended_on_hci1 = lines.take(|l| l.index == hci1);
        assert_eq!(ended_on_hci1, vec![(Output::Stdout, line(2).text())]);
        assert_eq!(
            lines.take(|l| l.index == hci0),
            vec![
                (Output::Stdout, line(1).text()),
                (Output::Stderr, line(3).text())
            ]
        );
        assert_eq!(lines.oldest(), None);
        lines.post(hci1, Output::Stdout, line(4));
        assert!(
            lines.schedule().is_some(),
            "a line posted later starts a hold again"
        );
    }

    #[test]
    fn a_fixed_answer_is_given_at_once_and_its_line_held() {
        let agent = TerminalAgent::new(IoCapability::DISPLAY_YES_NO, Policy::Accept);
        agent.decisions.start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(rt.block_on(agent.confirm_value(&peer(ControllerIndex(0)), 123456)));
        assert!(!rt.block_on(
            TerminalAgent {
                policy: Policy::Reject,
                ..agent.clone()
            }
            .authorize(&peer(ControllerIndex(1)))
        ));
        let held = agent.decisions.take(|_| true);
        assert_eq!(held.len(), 2, "{held:?}");
        assert!(held[0]
            .1
            .ends_with("does the device show 123456? -> yes (--auto-accept)"));
        assert!(held[1].1.ends_with("(Just Works)? -> no (--reject)"));
        // A key on hci0 ends that pairing: its line goes (written, so no longer held).
        agent
            .decisions
            .post(ControllerIndex(0), Output::Nowhere, line(5));
        agent.completed(
            &peer(ControllerIndex(0)),
            KeyNotice {
                kind: bluez_mgmt::agent::KeyKind::LongTermKey,
                authenticated: true,
                persistent: true,
            },
        );
        assert_eq!(agent.decisions.oldest(), None);
    }

    #[tokio::test]
    async fn posting_a_line_allocates_nothing_once_started() {
        let lines = DecisionLines::default();
        lines.start();
        let room = || lines.0.lines.lock().unwrap().capacity();
        let at_start = room();
        assert!(at_start >= LINES_HELD_WITHOUT_ALLOCATING);
        for round in 0..3 {
            for i in 0..LINES_HELD_WITHOUT_ALLOCATING {
                lines.post(
                    ControllerIndex(i as u16 % 2),
                    Output::Nowhere,
                    line(i as u32),
                );
            }
            assert_eq!(
                room(),
                at_start,
                "round {round}: posted into the room made at start"
            );
            // Taking some or all keeps the room.
            assert_eq!(lines.take(|l| l.index == ControllerIndex(1)).len(), 8);
            lines.write_all();
            assert_eq!(room(), at_start, "round {round}: taken");
        }
    }

    /// A report the printer prints nothing for (the one that follows each answer).
    fn answered() -> Report {
        Report::Answered {
            peer: peer(ControllerIndex(0)),
            request: bluez_mgmt::pairing::RequestKind::ConfirmValue,
            accepted: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_whose_pairing_never_ends_is_written_after_the_hold() {
        let lines = DecisionLines::default();
        lines.start();
        let (reports, rx) = broadcast::channel(8);
        let (registered, wait) = oneshot::channel();
        let printer = tokio::spawn(print_reports(rx, lines.clone(), wait));
        // A report before the agent said it is registered starts a hold too.
        lines.post(ControllerIndex(0), Output::Nowhere, line(1));
        reports.send(answered()).unwrap();
        tokio::task::yield_now().await;
        let started = Instant::now();
        assert_eq!(lines.oldest(), Some(started), "held from the report on");
        registered.send(()).unwrap();
        tokio::time::sleep_until(started + LINE_HOLD + Duration::from_millis(1)).await;
        assert_eq!(
            lines.oldest(),
            None,
            "that hold still ends once registered, with no report after it"
        );
        lines.post(ControllerIndex(0), Output::Nowhere, line(4));
        reports.send(answered()).unwrap();
        tokio::task::yield_now().await;
        let posted = Instant::now();
        tokio::time::sleep(LINE_HOLD / 2).await;
        lines.post(ControllerIndex(0), Output::Nowhere, line(2));
        reports.send(answered()).unwrap();
        tokio::time::sleep_until(posted + LINE_HOLD - Duration::from_millis(1)).await;
        assert_eq!(lines.oldest(), Some(posted), "both held before the hold");
        tokio::time::sleep_until(posted + LINE_HOLD + Duration::from_millis(1)).await;
        assert_eq!(
            lines.oldest(),
            Some(posted + LINE_HOLD / 2),
            "the first written once due (the second's later hold did not put it off), the \
             second still held"
        );
        tokio::time::sleep(LINE_HOLD).await;
        assert_eq!(lines.oldest(), None);
        // Idle, the printer's timer is a day off; it still holds a new line the same way.
        tokio::time::sleep(NO_HOLD * 2).await;
        lines.post(ControllerIndex(0), Output::Nowhere, line(3));
        reports.send(answered()).unwrap();
        tokio::time::sleep(LINE_HOLD / 2).await;
        assert!(lines.oldest().is_some());
        tokio::time::sleep(LINE_HOLD).await;
        assert_eq!(lines.oldest(), None);
        // The service gone, the printer ends.
        drop(reports);
        tokio::time::timeout(LINE_HOLD, printer)
            .await
            .expect("the printer ends with the service")
            .unwrap();
    }

    #[test]
    fn a_rehearsal_runs_a_fixed_answer_and_its_line_goes_nowhere() {
        let accept = rehearsed(Policy::Accept);
        assert_eq!(accept.len(), 1, "{accept:?}");
        assert!(accept[0].0, "the rehearsal's line is not written");
        assert!(
            accept[0]
                .1
                .ends_with("does the device show 000000? -> yes (--auto-accept)"),
            "{accept:?}"
        );
        let reject = rehearsed(Policy::Reject);
        assert!(reject.len() == 1 && reject[0].0 && reject[0].1.ends_with("-> no (--reject)"));
        assert!(
            rehearsed(Policy::Ask).is_empty(),
            "a prompt is never rehearsed"
        );
    }

    #[test]
    fn yes_no_reasks_until_an_answer() {
        let (r, out) = run("maybe\nYES\n", |i, o| ask_yes_no(i, o, "ok?").unwrap());
        assert!(r);
        assert_eq!(out, "ok? [y/n] please answer y or n\nok? [y/n] ");
        let (r, _) = run("n\n", |i, o| ask_yes_no(i, o, "ok?").unwrap());
        assert!(!r);
        let (r, _) = run("", |i, o| ask_yes_no(i, o, "ok?").unwrap());
        assert!(!r, "end of input refuses");
    }

    #[test]
    fn passkey_must_be_six_digits() {
        let (r, out) = run("12345\n1234567\n12a456\n012345\n", |i, o| {
            ask_passkey(i, o, "pk").unwrap()
        });
        assert_eq!(r, Some(12345));
        assert_eq!(out.matches("is not six digits").count(), 3);
        let (r, _) = run("\n", |i, o| ask_passkey(i, o, "pk").unwrap());
        assert_eq!(r, None);
        let (r, _) = run("999999\n", |i, o| ask_passkey(i, o, "pk").unwrap());
        assert_eq!(r, Some(999_999));
    }

    #[test]
    fn pin_code_rules() {
        let (r, out) = run("1234\n1234567890123456\n", |i, o| {
            ask_pin_code(i, o, "pin", true).unwrap()
        });
        assert_eq!(r, Some(PinCode::new("1234567890123456").unwrap()));
        assert!(out.contains("must be 16 digits"));
        let (r, _) = run("0000\n", |i, o| ask_pin_code(i, o, "pin", false).unwrap());
        assert_eq!(r, Some(PinCode::new("0000").unwrap()));
        let (r, out) = run("12345678901234567\n\n", |i, o| {
            ask_pin_code(i, o, "pin", false).unwrap()
        });
        assert_eq!(r, None);
        assert!(out.contains("17 octets"));
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_index("hci1"), Ok(ControllerIndex(1)));
        assert_eq!(parse_index("0"), Ok(ControllerIndex(0)));
        assert!(parse_index("hcix").is_err());
        assert!(parse_index("65535").is_err());
        assert_eq!(
            parse_io_capability("keyboard-display"),
            Ok(IoCapability::KEYBOARD_DISPLAY)
        );
        assert!(parse_io_capability("mind-reading").is_err());
    }

    #[tokio::test]
    async fn policies_without_a_terminal() {
        let p = Peer::new(
            ControllerIndex(0),
            bluez_mgmt::protocol::AddressInfo::new(
                bluez_mgmt::protocol::Address([1; 6]),
                AddressType::LE_PUBLIC,
            ),
        );
        let yes = TerminalAgent::new(IoCapability::KEYBOARD_DISPLAY, Policy::Accept);
        assert!(yes.confirm_value(&p, 1).await);
        assert!(yes.authorize(&p).await);
        assert_eq!(yes.request_passkey(&p).await, None);
        let no = TerminalAgent::new(IoCapability::KEYBOARD_DISPLAY, Policy::Reject);
        assert!(!no.confirm_value(&p, 1).await);
        assert!(!no.authorize(&p).await);
        assert_eq!(no.request_pin_code(&p, false).await, None);
    }
}
