//! `mgmtctl`: the command-line tool for the Linux Bluetooth Management API: decode captures,
//! inspect and configure controllers, watch events, pair, and manage bonds.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod advertise;
mod agent;
mod bonds;
mod coexist;
mod controller;
mod decode;
mod devices;
mod escape;
mod find;
mod generate;
mod heap;
mod identity;
mod json_agent;
mod monitor;
mod oob;
mod pair;
mod stop;

/// The error every subcommand returns: printed as `mgmtctl: <message>`; the exit status
/// follows the library error's kind (see [`exit_status`]).
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// An error with what was being done, keeping the error itself as its source (so its kind
/// reaches [`exit_status`]).
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

/// The subcommands. Each one's arguments are defined only when it is the one given
/// (`defer`): building all of them to run one was most of start-up's code. The structs of
/// their arguments (and those flattened into them) carry plain comments, not doc comments:
/// clap would make a doc comment there the subcommand's summary, over the variant's (checked
/// by tests/mgmtctl_generate.rs). (In the generated completions, `mgmtctl help CMD SUB`
/// no longer completes SUB: clap makes the `help` tree before the deferred subcommands.)
#[derive(Subcommand)]
#[command(defer = true)]
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
    /// Discover devices: one line per update with everything heard so far.
    Find(find::Args),
    /// List the connected devices.
    Connections(devices::ConnectionsArgs),
    /// Drop the link to a device.
    Disconnect(devices::DeviceArgs),
    /// RSSI and TX power of a link.
    ConnInfo(devices::ConnInfoArgs),
    /// Cancel a pending pairing (started by any process).
    CancelPair(devices::DeviceArgs),
    /// Refuse connections from a device.
    Block(devices::BlockArgs),
    /// Undo `block`.
    Unblock(devices::BlockArgs),
    /// Put a device on the kernel's list (auto-connect, allow incoming, report).
    AddDevice(devices::AddDeviceArgs),
    /// Take a device off the kernel's list.
    RemoveDevice(devices::DeviceArgs),
    /// Print or set a listed device's flags.
    DeviceFlags(devices::DeviceFlagsArgs),
    /// Set the local name and short name.
    Name(identity::NameArgs),
    /// Set the major and minor device class.
    Class(identity::ClassArgs),
    /// Set the LE appearance.
    Appearance(identity::AppearanceArgs),
    /// Add or remove a service UUID of the EIR data.
    Uuid(identity::UuidArgs),
    /// LE advertising instances: add, remove, clear, list, features.
    Advertise(advertise::Args),
    /// Out-of-band pairing data: read this controller's, add or remove a peer's.
    Oob(oob::Args),
    /// Write shell completions or man pages generated from this command line.
    Generate(generate::Args),
}

/// Runs a subcommand's entry point `run` with `args` as a function of its own (see `main`).
#[inline(never)]
fn outlined<A>(
    run: impl FnOnce(A) -> Result<ExitCode, CliError>,
    args: A,
) -> Result<ExitCode, CliError> {
    run(args)
}

fn main() -> ExitCode {
    // The library's diagnostics go to standard error: warnings by default (a lost event, a
    // key not stored, a bond file left out must never pass unseen), more when RUST_LOG asks
    // (`LEVEL`, `TARGET=LEVEL`, comma-separated: for example RUST_LOG=bluez_mgmt=debug). Key
    // bytes are only ever logged at `trace`. The filter is tracing-subscriber's `Targets`
    // (no regular expressions, no span filters): light to build and to consult.
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| match v.parse::<tracing_subscriber::filter::Targets>() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("mgmtctl: RUST_LOG={v:?} not understood ({e}); logging warnings");
                None
            }
        })
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing_subscriber::filter::LevelFilter::WARN)
        });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
    let cli = Cli::parse();
    // Each subcommand runs as a call of its own, never inlined into `main` (whole-program
    // optimisation would fold most of them in): `main` runs for every command, and the code of
    // the ones not given would lie on its pages, which the kernel maps 64 KiB at a time around
    // what runs (see packaging/link-order/).
    let result = match cli.command {
        Cmd::Decode(a) => outlined(decode::run, a),
        Cmd::Info(a) => outlined(controller::run_info, a),
        Cmd::Power(a) => outlined(controller::run_power, a),
        Cmd::Set(a) => outlined(controller::run_set, a),
        Cmd::Monitor(a) => outlined(monitor::run, a),
        Cmd::Bonds(a) => outlined(bonds::run, a),
        Cmd::Agent(a) => outlined(agent::run, a),
        Cmd::Pair(a) => outlined(pair::run, a),
        Cmd::Unpair(a) => outlined(pair::run_unpair, a),
        Cmd::Find(a) => outlined(find::run, a),
        Cmd::Connections(a) => outlined(devices::run_connections, a),
        Cmd::Disconnect(a) => outlined(
            |a| devices::run_device(devices::DeviceCommand::Disconnect, a),
            a,
        ),
        Cmd::ConnInfo(a) => outlined(devices::run_conn_info, a),
        Cmd::CancelPair(a) => outlined(
            |a| devices::run_device(devices::DeviceCommand::CancelPair, a),
            a,
        ),
        Cmd::Block(a) => outlined(|a| devices::run_block(true, a), a),
        Cmd::Unblock(a) => outlined(|a| devices::run_block(false, a), a),
        Cmd::AddDevice(a) => outlined(devices::run_add_device, a),
        Cmd::RemoveDevice(a) => outlined(
            |a| devices::run_device(devices::DeviceCommand::RemoveDevice, a),
            a,
        ),
        Cmd::DeviceFlags(a) => outlined(devices::run_device_flags, a),
        Cmd::Name(a) => outlined(identity::run_name, a),
        Cmd::Class(a) => outlined(identity::run_class, a),
        Cmd::Appearance(a) => outlined(identity::run_appearance, a),
        Cmd::Uuid(a) => outlined(identity::run_uuid, a),
        Cmd::Advertise(a) => outlined(advertise::run, a),
        Cmd::Oob(a) => outlined(oob::run, a),
        Cmd::Generate(a) => outlined(
            |a| generate::run(a, <Cli as clap::CommandFactory>::command()),
            a,
        ),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`mgmtctl bonds | head`): end quietly.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let (status, kind) = exit_status(&*e);
            match kind {
                Some(kind) => eprintln!("mgmtctl: {e} ({})", kind.name()),
                None => eprintln!("mgmtctl: {e}"),
            }
            ExitCode::from(status)
        }
    }
}

/// The library error kind behind `error` (the first one on its source chain) and the exit
/// status it gives, after sysexits.h: 77 permission denied (no CAP_NET_ADMIN), 69 no
/// Bluetooth or the controller went away, 74 connection, transport or store failure,
/// 75 timeout, 76 malformed reply, 65 too many stored keys (or a command too long to send),
/// 5 the kernel refused (a status; 2 stays clap's usage error),
/// 1 anything else.
pub(crate) fn exit_status(
    error: &(dyn std::error::Error + 'static),
) -> (u8, Option<bluez_mgmt::ErrorKind>) {
    use bluez_mgmt::ErrorKind as K;
    let mut next = Some(error);
    let mut kind = None;
    while let Some(e) = next {
        if let Some(x) = e.downcast_ref::<bluez_mgmt::Error>() {
            kind = Some(x.kind());
        } else if let Some(x) = e.downcast_ref::<bluez_mgmt::pairing::PairError>() {
            kind = Some(x.kind());
        } else if let Some(x) = e.downcast_ref::<bluez_mgmt::keystore::Error>() {
            kind = match x.kind() {
                bluez_mgmt::keystore::ErrorKind::TooManyKeys => Some(K::TooManyKeys),
                bluez_mgmt::keystore::ErrorKind::Io => Some(K::Store),
                _ => None,
            };
        }
        if kind.is_some() {
            break;
        }
        next = e.source();
    }
    let status = match kind {
        Some(K::PermissionDenied) => 77,
        Some(K::NoBluetooth | K::ControllerRemoved { .. }) => 69,
        Some(K::Closed | K::Transport | K::Store) => 74,
        Some(K::Timeout { .. }) => 75,
        Some(K::Decode) => 76,
        Some(K::TooManyKeys | K::CommandTooLong { .. }) => 65,
        Some(K::Status { .. } | K::Refused { .. }) => 5,
        _ => 1,
    };
    (status, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt::pairing::PairError;
    use bluez_mgmt::protocol::Status;

    #[test]
    fn the_exit_status_follows_the_kind_through_context() {
        // (error, exit status, kind name)
        let rows = [
            (
                PairError::Status(Status::PERMISSION_DENIED),
                77,
                "permission denied",
            ),
            (
                PairError::Status(Status::AUTHENTICATION_FAILED),
                5,
                "refused",
            ),
            (PairError::TimedOut, 75, "timeout"),
            (PairError::ControllerRemoved, 69, "controller removed"),
            (PairError::Store("disk full".into()), 74, "store failed"),
            (
                PairError::TooManyKeys("2622 link keys".into()),
                65,
                "too many keys",
            ),
        ];
        for (error, status, name) in rows {
            let direct: CliError = Box::new(error.clone());
            let wrapped = context("pairing with hci0 00:AA:01:01:00:01".into(), error.clone());
            let crate_error: CliError = Box::new(bluez_mgmt::Error::from(error.clone()));
            for e in [direct, wrapped, crate_error] {
                let (code, kind) = exit_status(&*e);
                assert_eq!(code, status, "{e}");
                assert_eq!(kind.map(|k| k.name()), Some(name), "{e}");
            }
        }
        let plain: CliError = "stdin is not a terminal".into();
        assert_eq!(exit_status(&*plain), (1, None));
    }
}
