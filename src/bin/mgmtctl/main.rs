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
mod find;
mod identity;
mod escape;
mod generate;
mod json_agent;
mod monitor;
mod oob;
mod pair;
mod stop;

/// The error every subcommand returns: printed as `mgmtctl: <message>`, exit status 1.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

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

fn main() -> ExitCode {
    // The library's diagnostics go to standard error when RUST_LOG asks for them (for example
    // RUST_LOG=bluez_mgmt=debug); by default only mgmtctl's own messages are printed, so a
    // problem is not reported twice. Key bytes are only ever logged at `trace`.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
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
        Cmd::Find(a) => find::run(a),
        Cmd::Connections(a) => devices::run_connections(a),
        Cmd::Disconnect(a) => devices::run_device(devices::DeviceCommand::Disconnect, a),
        Cmd::ConnInfo(a) => devices::run_conn_info(a),
        Cmd::CancelPair(a) => devices::run_device(devices::DeviceCommand::CancelPair, a),
        Cmd::Block(a) => devices::run_block(true, a),
        Cmd::Unblock(a) => devices::run_block(false, a),
        Cmd::AddDevice(a) => devices::run_add_device(a),
        Cmd::RemoveDevice(a) => devices::run_device(devices::DeviceCommand::RemoveDevice, a),
        Cmd::DeviceFlags(a) => devices::run_device_flags(a),
        Cmd::Name(a) => identity::run_name(a),
        Cmd::Class(a) => identity::run_class(a),
        Cmd::Appearance(a) => identity::run_appearance(a),
        Cmd::Uuid(a) => identity::run_uuid(a),
        Cmd::Advertise(a) => advertise::run(a),
        Cmd::Oob(a) => oob::run(a),
        Cmd::Generate(a) => generate::run(a, <Cli as clap::CommandFactory>::command()),
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
            eprintln!("mgmtctl: {e}");
            ExitCode::FAILURE
        }
    }
}
