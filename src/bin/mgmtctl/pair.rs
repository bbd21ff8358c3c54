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
use bluez_mgmt::keystore::unpair_and_forget;
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
    /// The peer's out-of-band data (written by `mgmtctl oob local` or an NFC record), given
    /// to the kernel before pairing.
    #[arg(long)]
    pub oob: Option<std::path::PathBuf>,
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
    let oob_data = match &args.oob {
        Some(file) => {
            let data = crate::oob::read_file(file)?;
            crate::oob::check_peer(&data, peer.address.clone())?;
            Some(data)
        }
        None => None,
    };
    crate::stop::run_stoppable(|mut stop| async move {
        let client = tokio::select! {
            client = Client::open() => client?,
            signal = stop.recv() => return Err(format!("{signal} received; not pairing").into()),
        };
        if let Some(data) = &oob_data {
            bluez_mgmt::oob::kernel::add_remote(&client, args.index, data).await?;
            println!(
                "added the {} OOB data of {}",
                data.transport(),
                peer.address.address
            );
        }
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
        let outcome = tokio::select! {
            r = runner.pair(&peer, args.io_capability, Duration::from_secs(args.timeout)) => Ok(r),
            signal = stop.recv() => Err(signal),
        };
        let outcome = match outcome {
            Ok(r) => r,
            Err(signal) => {
                // We asked for this pairing: withdraw it (Cancel Pair Device), not just leave.
                match runner.cancel_pairing(&peer).await {
                    Ok(()) => {
                        eprintln!("mgmtctl: {signal} received; pairing with {peer} cancelled")
                    }
                    Err(e) => eprintln!(
                        "mgmtctl: {signal} received; cancelling the pairing with {peer} failed: {e}"
                    ),
                }
                return Ok(ExitCode::from(crate::stop::EXIT_INTERRUPTED));
            }
        };
        match outcome {
            Ok(()) => {
                // Keys can trail Pair Device's completion by a few milliseconds.
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    loop {
                        match keys.recv().await {
                            Ok(Report::KeyDelivered { .. }) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                })
                .await;
                // Then what the keeper stored: every key of the pairing, until it goes quiet.
                if let Some(stored) = &mut stored {
                    while let Ok(Ok(r)) =
                        tokio::time::timeout(Duration::from_millis(500), stored.recv()).await
                    {
                        print_bond_report(&r);
                    }
                }
                println!("paired with {peer}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(format!("pairing with {peer} failed: {e}").into()),
        }
    })
}

/// Runs `mgmtctl unpair`: the library's [`unpair_and_forget`], reported.
pub fn run_unpair(args: UnpairArgs) -> Result<ExitCode, CliError> {
    let device = AddressInfo::new(args.address, args.address_type.into());
    let peer = Peer::new(args.index, device.clone());
    let store = args.store.open();
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let done = unpair_and_forget(
            &client,
            args.index,
            device,
            !args.keep_connection,
            store.as_ref(),
        )
        .await?;
        match (done.removed_from_store, &store) {
            (Some(true), Some(store)) => println!(
                "removed the stored bond of {} from {}",
                args.address,
                store.dir().display()
            ),
            (Some(false), _) => println!("no stored bond for {}", args.address),
            _ => {}
        }
        if done.kernel_had_keys {
            println!("unpaired {peer}");
            Ok(ExitCode::SUCCESS)
        } else {
            Err(format!(
                "unpairing {peer}: the kernel answered {}",
                Status::NOT_PAIRED.description()
            )
            .into())
        }
    })
}
