//! `mgmtctl pair` and `mgmtctl unpair`: start a pairing with its own agent for the requests
//! it raises, and remove a device's keys.
//!
//! `pair` does not change the controller's registered IO capability: Pair Device carries the
//! one given with `--io-capability` for this pairing only. Just Works authorization for this
//! pairing is accepted without asking (we asked for it); numbers, passkeys and PINs are asked
//! on the terminal, or answered by `--auto-accept` / `--reject`.
//!
//! Both use the bond store (`--store DIR`, default `/var/lib/bluetooth`; `--no-store`): `pair`
//! stores the keys the pairing delivers, `unpair` removes the device's stored bond (also when
//! the kernel answers Not Paired).

use std::process::ExitCode;
use std::time::Duration;

use bluez_mgmt::agent::runner::{Controllers, Report};
use bluez_mgmt::agent::{AgentRunner, ClientLink, Peer, RunnerConfig};
use bluez_mgmt::client::Client;
use bluez_mgmt::protocol::{Address, AddressInfo, ControllerIndex, IoCapability, Status};

use crate::agent::{
    parse_index, parse_io_capability, print_bond_report, print_reports, runtime, AddressTypeArg,
    Policy, StoreArgs, TerminalAgent,
};
use crate::CliError;

/// Arguments of `mgmtctl pair`.
#[derive(clap::Args)]
pub struct Args {
    /// The device's address, e.g. 00:AA:01:01:00:01.
    pub address: Address,
    /// Address type.
    #[arg(long = "type", value_enum, default_value = "bredr")]
    pub address_type: AddressTypeArg,
    /// IO capability for this pairing.
    #[arg(long, value_parser = parse_io_capability, default_value = "KeyboardDisplay")]
    pub io_capability: IoCapability,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
    /// Without a terminal: accept confirmations.
    #[arg(long, conflicts_with = "reject")]
    pub auto_accept: bool,
    /// Refuse every request (the pairing then fails unless it is Just Works).
    #[arg(long)]
    pub reject: bool,
    /// Seconds before the pairing is cancelled.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `mgmtctl unpair`.
#[derive(clap::Args)]
pub struct UnpairArgs {
    /// The device's address.
    pub address: Address,
    /// Address type.
    #[arg(long = "type", value_enum, default_value = "bredr")]
    pub address_type: AddressTypeArg,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
    /// Remove the keys but keep an existing connection.
    #[arg(long)]
    pub keep_connection: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs `mgmtctl pair`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let policy = Policy::choose(args.auto_accept, args.reject)?;
    let peer = Peer::new(
        args.index,
        AddressInfo::new(args.address, args.address_type.into()),
    );
    let config = RunnerConfig {
        controllers: Controllers::Only(vec![args.index]),
        register_io_capability: false,
        ..RunnerConfig::default()
    };
    let agent = TerminalAgent::new(args.io_capability, policy);
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let keeper = args
            .store
            .keeper(&client, Controllers::Only(vec![args.index]));
        let mut stored = keeper.as_ref().map(|k| k.reports());
        let link = ClientLink::new(client);
        let runner = match keeper {
            Some(k) => AgentRunner::with_bonds(link, agent, config, k),
            None => AgentRunner::new(link, agent, config),
        };
        let mut keys = runner.reports();
        let _task = runner.start().await?;
        tokio::spawn(print_reports(runner.reports()));
        println!("pairing with {peer} as {}", args.io_capability);
        match runner
            .pair(&peer, args.io_capability, Duration::from_secs(args.timeout))
            .await
        {
            Ok(()) => {
                // Keys can trail Pair Device's completion by a few milliseconds.
                let key_delivered = tokio::time::timeout(Duration::from_secs(1), async {
                    loop {
                        match keys.recv().await {
                            Ok(Report::KeyDelivered { .. }) => return true,
                            Err(_) => return false,
                            Ok(_) => {}
                        }
                    }
                })
                .await
                .unwrap_or(false);
                // Then what the keeper stored: every key of the pairing, until it goes quiet.
                // A delivered key is always followed by a report (stored or not): wait for
                // that first one generously (writing the store can take seconds on a loaded
                // machine), then for more only while they keep coming.
                if let Some(stored) = &mut stored {
                    let mut wait = if key_delivered {
                        Duration::from_secs(10)
                    } else {
                        Duration::from_millis(500)
                    };
                    while let Ok(Ok(r)) = tokio::time::timeout(wait, stored.recv()).await {
                        print_bond_report(&r);
                        wait = Duration::from_millis(500);
                    }
                }
                println!("paired with {peer}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(format!("pairing with {peer} failed: {e}").into()),
        }
    })
}

/// Runs `mgmtctl unpair`.
pub fn run_unpair(args: UnpairArgs) -> Result<ExitCode, CliError> {
    use bluez_mgmt::agent::runner::PairingLink;
    let peer = Peer::new(
        args.index,
        AddressInfo::new(args.address, args.address_type.into()),
    );
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let keeper = args
            .store
            .keeper(&client, Controllers::Only(vec![args.index]));
        let link = ClientLink::new(client);
        let status = link.unpair_device(&peer, !args.keep_connection).await?;
        // Not Paired in the kernel can still leave a bond on disk: remove it as well.
        if let (Some(k), true) = (
            &keeper,
            status == Status::SUCCESS || status == Status::NOT_PAIRED,
        ) {
            match k.forget(&peer).await {
                Ok(true) => println!(
                    "removed the stored bond of {} from {}",
                    peer.address.address,
                    k.store().dir().display()
                ),
                Ok(false) => println!("no stored bond for {}", peer.address.address),
                Err(e) => return Err(format!("unpaired, but the stored bond remains: {e}").into()),
            }
        }
        match status {
            s if s == Status::SUCCESS => {
                println!("unpaired {peer}");
                Ok(ExitCode::SUCCESS)
            }
            s => Err(format!("unpairing {peer}: the kernel answered {}", s.description()).into()),
        }
    })
}
