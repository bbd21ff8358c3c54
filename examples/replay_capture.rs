//! Replays a recorded pairing through [`Client`] and [`PairingService`] with your own agent,
//! and prints what happened: the questions the agent was asked, the service's reports, and
//! either "every recorded command matched" or the decoded mismatch.
//!
//! ```text
//! cargo run --example replay_capture                    # fixtures/kernel-le-sc-numeric-comparison.btsnoop
//! cargo run --example replay_capture -- CAPTURE.btsnoop # your own recording (mgmtctl monitor --write)
//! cargo run --example replay_capture -- CAPTURE.btsnoop --refuse
//! ```
//!
//! With `--refuse` the agent says no to everything, so the service writes a negative reply
//! where the recording holds a positive one and the replay stops with a mismatch report.
//! No Bluetooth hardware or kernel support is needed: the capture plays the kernel's part.
//! The guide (`cargo doc --open`, module `bluez_mgmt::guide`) walks through the same steps as
//! a `cargo test`; tests/examples_replay.rs runs [`replay_pairing`] on a committed fixture.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::{Agent, KeyNotice, Peer};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairError, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::{AnyCommand, CommandFrame, IoCapability, Opcode, Status};
use bluez_mgmt::transport::{Conversation, ReplaySocket, ScriptStep, ScriptedTransport};

/// The capture replayed when no path is given (recorded by the kernel tier, see
/// fixtures/README.md).
pub const DEFAULT_CAPTURE: &str = "fixtures/kernel-le-sc-numeric-comparison.btsnoop";

/// The commands the pairing service writes, and so the only ones kept from the recording:
/// Set IO Capability, Pair Device, Cancel Pair Device, Unpair Device and the six replies.
/// (A recorded program may also have powered the controller or read its information first;
/// the service with `load_bonds: false, power_on: false` does neither.)
pub const PAIRING_OPCODES: [Opcode; 10] = [
    Opcode::SET_IO_CAPABILITY,
    Opcode::PAIR_DEVICE,
    Opcode::CANCEL_PAIR_DEVICE,
    Opcode::UNPAIR_DEVICE,
    Opcode::PIN_CODE_REPLY,
    Opcode::PIN_CODE_NEG_REPLY,
    Opcode::USER_CONFIRM_REPLY,
    Opcode::USER_CONFIRM_NEG_REPLY,
    Opcode::USER_PASSKEY_REPLY,
    Opcode::USER_PASSKEY_NEG_REPLY,
];

/// What a replay did.
#[derive(Debug)]
pub struct Replayed {
    /// The device the recording paired with (from its Pair Device).
    pub peer: Peer,
    /// The IO capability the recording paired with.
    pub io: IoCapability,
    /// What the service reported, in order.
    pub reports: Vec<Report>,
    /// Each recorded Unpair Device, replayed, with its outcome.
    pub unpaired: Vec<(Peer, Result<(), PairError>)>,
}

/// The little-endian `u16` at `i` of a frame.
fn u16_at(frame: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([frame[i], frame[i + 1]])
}

/// Cuts `conversation` down to the pairing service's commands (and their Command Complete /
/// Command Status), keeping every other event and each step's capture record, so that a
/// mismatch still names the record and socket.
pub fn pairing_part(conversation: Conversation) -> Conversation {
    let keep = |step: &ScriptStep| match step {
        ScriptStep::Write(f) => PAIRING_OPCODES.contains(&Opcode(u16_at(f, 0))),
        // Command Complete (0x0001) and Command Status (0x0002) name the opcode they answer.
        ScriptStep::Read(f) if matches!(u16_at(f, 0), 0x0001 | 0x0002) => {
            PAIRING_OPCODES.contains(&Opcode(u16_at(f, 6)))
        }
        ScriptStep::Read(_) => true,
    };
    let (steps, sources) = conversation
        .steps
        .into_iter()
        .zip(conversation.sources)
        .filter(|(step, _)| keep(step))
        .unzip();
    Conversation {
        steps,
        sources,
        ..conversation
    }
}

/// The recorded commands, decoded.
fn commands(conversation: &Conversation) -> Vec<CommandFrame> {
    conversation
        .steps
        .iter()
        .filter_map(|s| match s {
            ScriptStep::Write(f) => CommandFrame::decode(f).ok(),
            ScriptStep::Read(_) => None,
        })
        .collect()
}

/// Replays the pairing in `conversation` (one socket of a capture, see [`pairing_part`])
/// through a [`PairingService`] answering with `agent`: pairs with the recorded device, then
/// repeats the recorded Unpair Devices. Fails with the pairing's error and, when the service
/// wrote something the recording does not hold, the replay's mismatch report.
pub async fn replay_pairing<A: Agent>(
    conversation: Conversation,
    agent: A,
) -> Result<Replayed, String> {
    let conversation = pairing_part(conversation);
    let recorded = commands(&conversation);
    let (peer, io) = recorded
        .iter()
        .find_map(|c| match &c.command {
            AnyCommand::PairDevice(p) => {
                Some((Peer::new(c.index, p.address.clone()), p.io_capability))
            }
            _ => None,
        })
        .ok_or("the recording holds no Pair Device: nothing to replay")?;
    let registers_io = recorded
        .iter()
        .any(|c| matches!(c.command, AnyCommand::SetIoCapability(_)));

    let script = Arc::new(ScriptedTransport::with_sources(
        conversation.steps,
        conversation.sources,
    ));
    let client = Client::with_transport(script.clone());
    let config = ServiceConfig {
        controllers: Controllers::Only(vec![peer.index]),
        register_io_capability: registers_io,
        load_bonds: false,
        power_on: false,
        ..ServiceConfig::default()
    };
    let service = PairingService::new(client, agent, config);
    let mut reports = service.reports();
    let failed = |what: String| match script.mismatch() {
        Some(m) => format!("{what}\nreplay mismatch: {m}"),
        None => what,
    };
    let _task = service
        .start()
        .await
        .map_err(|e| failed(format!("the service did not start: {e}")))?;
    service
        .pair(&peer, io, Duration::from_secs(10))
        .await
        .map_err(|e| failed(format!("pairing with {peer} failed: {e}")))?;
    let mut unpaired = Vec::new();
    for c in &recorded {
        if let AnyCommand::UnpairDevice(u) = &c.command {
            let p = Peer::new(c.index, u.address.clone());
            let r = service.unpair(&p, u.disconnect).await;
            unpaired.push((p, r));
        }
    }
    script
        .check_done()
        .map_err(|e| failed(format!("the replay did not finish: {e}")))?;
    let mut seen = Vec::new();
    while let Ok(r) = reports.try_recv() {
        seen.push(r);
    }
    Ok(Replayed {
        peer,
        io,
        reports: seen,
        unpaired,
    })
}

/// An agent that prints each question and answers yes (or no, with `--refuse`), typing the
/// passkey the recorded program typed.
struct Printing {
    io: IoCapability,
    accept: bool,
    passkey: Option<u32>,
}

impl Agent for Printing {
    fn io_capability(&self) -> IoCapability {
        self.io
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        println!("agent: {peer} asks to confirm {value:06}: {}", self.yes());
        self.accept
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        println!("agent: {peer} asks to pair (Just Works): {}", self.yes());
        self.accept
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        let answer = self.passkey.filter(|_| self.accept);
        println!("agent: {peer} asks for a passkey: {answer:?}");
        answer
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        println!("agent: paired with {peer}: {key:?}");
    }

    fn failed(&self, peer: &Peer, status: Status) {
        println!("agent: pairing with {peer} failed: {status}");
    }
}

impl Printing {
    fn yes(&self) -> &'static str {
        if self.accept {
            "yes"
        } else {
            "no"
        }
    }
}

fn main() -> ExitCode {
    let mut path = PathBuf::from(DEFAULT_CAPTURE);
    let mut accept = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--refuse" => accept = false,
            "-h" | "--help" => {
                println!("usage: replay_capture [CAPTURE.btsnoop] [--refuse]");
                return ExitCode::SUCCESS;
            }
            other => path = PathBuf::from(other),
        }
    }
    match run(&path, accept) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replay_capture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &Path, accept: bool) -> Result<(), String> {
    let conversation = Conversation::from_capture(path, ReplaySocket::FirstCommand)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{}: socket cookie {} (instance {}), {} steps",
        path.display(),
        conversation.cookie,
        conversation.instance,
        conversation.steps.len()
    );
    let recorded = commands(&conversation);
    let io = recorded
        .iter()
        .find_map(|c| match &c.command {
            AnyCommand::PairDevice(p) => Some(p.io_capability),
            _ => None,
        })
        .unwrap_or(IoCapability::DISPLAY_YES_NO);
    let passkey = recorded.iter().find_map(|c| match &c.command {
        AnyCommand::UserPasskeyReply(r) => Some(r.passkey),
        _ => None,
    });
    let agent = Printing {
        io,
        accept,
        passkey,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let replayed = runtime.block_on(replay_pairing(conversation, agent))?;
    println!("paired with {} as {:?}", replayed.peer, replayed.io);
    for r in &replayed.reports {
        println!("service: {r:?}");
    }
    for (peer, result) in &replayed.unpaired {
        match result {
            Ok(()) => println!("unpaired {peer}"),
            Err(e) => println!("unpair {peer}: {e}"),
        }
    }
    println!("every recorded command matched");
    Ok(())
}
