//! `mgmtctl connections`, `disconnect`, `conn-info`, `cancel-pair`, `block`, `unblock`,
//! `add-device`, `remove-device` and `device-flags`: links and the kernel's per-device lists,
//! one MGMT command each.
//!
//! `connections --json` prints `{"index","connections":[{"address","address_type"}]}`;
//! `conn-info --json` prints `{"address","address_type","rssi","tx_power","max_tx_power"}`
//! (127: not available); `device-flags --json` prints
//! `{"address","address_type","supported","current"}`.

use std::process::ExitCode;

use bluez_mgmt::client::{Client, Controller};
use bluez_mgmt::protocol::command::AddDeviceAction;
use bluez_mgmt::protocol::{Address, AddressInfo, ControllerIndex, DeviceFlags};
use serde_json::json;

use crate::agent::{parse_index, runtime, AddressTypeArg};
use crate::CliError;

// A device on a controller.
#[derive(clap::Args)]
pub struct Target {
    /// The device's address, e.g. C0:BB:00:00:00:02.
    pub address: Address,
    /// Address type.
    #[arg(long = "type", value_enum, default_value = "bredr")]
    pub address_type: AddressTypeArg,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

impl Target {
    fn peer(&self) -> AddressInfo {
        AddressInfo::new(self.address, self.address_type.into())
    }
}

// Arguments of `mgmtctl connections`.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  mgmtctl connections --json")]
pub struct ConnectionsArgs {
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// Arguments of the commands that take one device.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  mgmtctl disconnect C0:BB:00:00:00:02 --type le-random")]
pub struct DeviceArgs {
    #[command(flatten)]
    pub target: Target,
}

// Arguments of `mgmtctl block` and `unblock`.
#[derive(clap::Args)]
#[command(
    after_help = "Example (also remembered as bluetoothd does, Blocked=true):\n  mgmtctl block 00:BB:00:00:00:02 --store /var/lib/bluetooth"
)]
pub struct BlockArgs {
    #[command(flatten)]
    pub target: Target,
    /// Also write `[General] Blocked` in the device's info file under this bond store
    /// (bluetoothd's layout; honoured when the store is loaded).
    #[arg(long)]
    pub store: Option<std::path::PathBuf>,
}

// Arguments of `mgmtctl conn-info`.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  mgmtctl conn-info 00:BB:00:00:00:02 --json")]
pub struct ConnInfoArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The actions of Add Device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ActionArg {
    /// Scan in the background and report the device (LE).
    Report,
    /// Allow incoming connections (BR/EDR) or directed advertising (LE).
    Allow,
    /// Connect whenever the device advertises (LE).
    AutoConnect,
}

// Arguments of `mgmtctl add-device`.
//
// Nothing is written to a bond store: bluetoothd persists nothing for auto-connect (it
// decides it at start from the stored device), and neither does this crate, whose store
// rule is bluetoothd's (`keystore::device_policy`): a bonded LE device auto-connects.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  mgmtctl add-device C0:BB:00:00:00:02 --type le-random --action auto-connect\n\nNot persisted: as with bluetoothd, a bonded LE device in the bond store is added\nfor auto-connect when the store is loaded (the pairing service, `mgmtctl agent`)."
)]
pub struct AddDeviceArgs {
    #[command(flatten)]
    pub target: Target,
    /// What the kernel does with the device.
    #[arg(long, value_enum, default_value = "auto-connect")]
    pub action: ActionArg,
}

// Arguments of `mgmtctl device-flags`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  mgmtctl device-flags C0:BB:00:00:00:02 --type le-random --set remote-wakeup\n  mgmtctl device-flags C0:BB:00:00:00:02 --type le-random --set none --store /var/lib/bluetooth"
)]
pub struct DeviceFlagsArgs {
    #[command(flatten)]
    pub target: Target,
    /// Set these flags (comma separated: remote-wakeup, device-privacy, address-resolution;
    /// `none` clears them) instead of printing them.
    #[arg(long)]
    pub set: Option<String>,
    /// With `--set`: also record the Remote Wakeup choice as bluetoothd does
    /// (`[General] WakeAllowed` in the device's info file under this bond store), applied
    /// after the device's Add Device when the store is loaded.
    #[arg(long, requires = "set")]
    pub store: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which one-device command to run.
#[derive(Clone, Copy)]
pub enum DeviceCommand {
    /// Disconnect.
    Disconnect,
    /// Cancel Pair Device.
    CancelPair,
    /// Remove Device.
    RemoveDevice,
}

fn on_controller<F, Fut>(index: ControllerIndex, f: F) -> Result<ExitCode, CliError>
where
    F: FnOnce(Controller) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, CliError>>,
{
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        f(client.controller(index)).await
    })
}

/// Runs `mgmtctl connections`.
pub fn run_connections(args: ConnectionsArgs) -> Result<ExitCode, CliError> {
    on_controller(args.index, |c| async move {
        let list = c.connections().await?;
        if args.json {
            let items: Vec<_> = list
                .iter()
                .map(|a| json!({"address": a.address.to_string(), "address_type": a.address_type.to_string()}))
                .collect();
            println!("{}", json!({"index": c.index().0, "connections": items}));
        } else if list.is_empty() {
            println!("no connections on {}", c.index());
        } else {
            for a in list {
                println!("{} {}", a.address, a.address_type);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs one of the one-device commands.
pub fn run_device(command: DeviceCommand, args: DeviceArgs) -> Result<ExitCode, CliError> {
    let peer = args.target.peer();
    on_controller(args.target.index, |c| async move {
        let (result, done) = match command {
            DeviceCommand::Disconnect => (c.disconnect(peer.clone()).await, "disconnected"),
            DeviceCommand::CancelPair => {
                (c.cancel_pair(peer.clone()).await, "cancelled pairing with")
            }
            DeviceCommand::RemoveDevice => (c.remove_device(peer.clone()).await, "removed"),
        };
        result?;
        println!("{done} {peer}");
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl block` (`block` true) or `unblock`.
pub fn run_block(block: bool, args: BlockArgs) -> Result<ExitCode, CliError> {
    use bluez_mgmt::keystore::{device_policy, AdapterId, KeyStore};
    let peer = args.target.peer();
    on_controller(args.target.index, |c| async move {
        if block {
            c.block(peer.clone()).await?;
        } else {
            c.unblock(peer.clone()).await?;
        }
        println!("{} {peer}", if block { "blocked" } else { "unblocked" });
        if let Some(dir) = args.store {
            let info = c.info().await?;
            let store = KeyStore::open(dir);
            let path =
                device_policy::set_blocked(&store, AdapterId::public(info.address), &peer, block)?;
            println!("recorded in {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl conn-info`.
pub fn run_conn_info(args: ConnInfoArgs) -> Result<ExitCode, CliError> {
    let peer = args.target.peer();
    on_controller(args.target.index, |c| async move {
        let info = c.connection_info(peer).await?;
        if args.json {
            println!(
                "{}",
                json!({
                    "address": info.address.address.to_string(),
                    "address_type": info.address.address_type.to_string(),
                    "rssi": info.rssi,
                    "tx_power": info.tx_power,
                    "max_tx_power": info.max_tx_power,
                })
            );
        } else {
            println!(
                "{} rssi={} tx_power={} max_tx_power={}",
                info.address, info.rssi, info.tx_power, info.max_tx_power
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl add-device`.
pub fn run_add_device(args: AddDeviceArgs) -> Result<ExitCode, CliError> {
    let peer = args.target.peer();
    let action = match args.action {
        ActionArg::Report => AddDeviceAction::BACKGROUND_SCAN,
        ActionArg::Allow => AddDeviceAction::ALLOW_INCOMING,
        ActionArg::AutoConnect => AddDeviceAction::AUTO_CONNECT,
    };
    on_controller(args.target.index, |c| async move {
        c.add_device(peer.clone(), action).await?;
        println!("added {peer} ({action})");
        Ok(ExitCode::SUCCESS)
    })
}

fn parse_flags(text: &str) -> Result<DeviceFlags, CliError> {
    let mut flags = DeviceFlags::empty();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "none")
    {
        flags |= DeviceFlags::from_flag_name(name).ok_or_else(|| {
            format!(
                "`{name}` is not a device flag (remote-wakeup, device-privacy, address-resolution)"
            )
        })?;
    }
    Ok(flags)
}

/// Runs `mgmtctl device-flags`.
pub fn run_device_flags(args: DeviceFlagsArgs) -> Result<ExitCode, CliError> {
    let peer = args.target.peer();
    let set = args.set.as_deref().map(parse_flags).transpose()?;
    on_controller(args.target.index, |c| async move {
        if let Some(flags) = set {
            c.set_device_flags(peer.clone(), flags).await?;
            if let Some(dir) = &args.store {
                use bluez_mgmt::keystore::{device_info, AdapterId, KeyStore};
                let address = c.info().await?.address;
                if address == Address::ANY {
                    return Err("--store: the controller has no public address".into());
                }
                let adapter = AdapterId::public(address);
                let path = device_info::set_wake_allowed(
                    &KeyStore::open(dir),
                    adapter,
                    peer.address,
                    Some(flags.contains(DeviceFlags::REMOTE_WAKEUP)),
                )?;
                println!("recorded in {}", path.display());
            }
        }
        let reply = c.device_flags(peer).await?;
        if args.json {
            println!(
                "{}",
                json!({
                    "address": reply.address.address.to_string(),
                    "address_type": reply.address.address_type.to_string(),
                    "supported": reply.supported_flags.names(),
                    "current": reply.current_flags.names(),
                })
            );
        } else {
            println!(
                "{} supported={} current={}",
                reply.address, reply.supported_flags, reply.current_flags
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
