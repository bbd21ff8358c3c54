//! `mgmtctl`: the command-line tool for the Linux Bluetooth Management API: decode captures,
//! inspect and configure controllers, watch events, pair, and manage bonds.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod bonds;
mod controller;
mod decode;
mod monitor;
mod pair;

/// The error every subcommand returns: printed as `mgmtctl: <message>`; the exit status
/// is 1.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// An error with what was being done, keeping the error itself as its source (so its kind
/// can be told).
#[derive(Debug)]
struct Context {
    message: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.message, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// `error`, said to have happened while doing `message`.
pub(crate) fn context(
    message: String,
    error: impl std::error::Error + Send + Sync + 'static,
) -> CliError {
    Box::new(Context {
        message,
        source: Box::new(error),
    })
}

#[derive(Parser)]
#[command(
    name = "mgmtctl",
    version,
    about = "Bluetooth Management API (MGMT) tool: no D-Bus, no bluetoothd"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print every MGMT frame of btsnoop captures (as `btmon -w` writes them).
    Decode(decode::Args),
    /// Print every controller: address, version, manufacturer, settings, class, names.
    Info(controller::InfoArgs),
    /// Power a controller on or off.
    Power(controller::PowerArgs),
    /// Switch a controller setting on or off.
    Set(controller::SetArgs),
    /// Print live MGMT events as `decode` prints a capture.
    Monitor(monitor::Args),
    /// List the bonds stored in bluetoothd's directory layout (key bytes with --show-keys).
    Bonds(bonds::Args),
    /// Answer pairing requests (an agent without bluetoothd) until Ctrl-C.
    Agent(agent::Args),
    /// Pair with a device, answering its requests here.
    Pair(pair::Args),
    /// Remove a device's keys (and, by default, its connection).
    Unpair(pair::UnpairArgs),
}

fn main() -> ExitCode {
    // The library's diagnostics go to standard error: warnings by default (a lost event, a
    // key not stored, a bond file left out must never pass unseen), more when RUST_LOG asks
    // (for example RUST_LOG=bluez_mgmt=debug). Key bytes are only ever logged at `trace`.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Decode(a) => decode::run(a),
        Cmd::Info(a) => controller::run_info(a),
        Cmd::Power(a) => controller::run_power(a),
        Cmd::Set(a) => controller::run_set(a),
        Cmd::Monitor(a) => monitor::run(a),
        Cmd::Bonds(a) => bonds::run(a),
        Cmd::Agent(a) => agent::run(a),
        Cmd::Pair(a) => pair::run(a),
        Cmd::Unpair(a) => pair::run_unpair(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mgmtctl: {e}");
            ExitCode::FAILURE
        }
    }
}
