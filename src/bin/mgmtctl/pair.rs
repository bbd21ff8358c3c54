//! `mgmtctl pair` and `mgmtctl unpair`: start a pairing with its own agent for the requests
//! it raises, and remove a device's keys.
//!
//! `pair` does not change the controller's registered IO capability: Pair Device carries the
//! one given with `--io-capability` for this pairing only. Just Works authorization for this
//! pairing is accepted without asking (we asked for it); numbers, passkeys and PINs are asked
//! on the terminal, or answered by `--auto-accept` / `--reject`.
//!
//! Both use the bond store (`--store DIR`, default `/var/lib/bluetooth`; `--no-store`): `pair`
//! stores the keys the pairing delivers and exits only once they are written (if one cannot be
//! written, the pairing fails with the store's error and exit status 74: the kernel paired, but
//! the bond would not survive a restart), `unpair` removes the device's stored bond (also when
//! the kernel answers Not Paired).
//!
//! `pair --json` writes one JSON object per line on stdout for the outcome (`paired` with the
//! keys stored, `failed` with the status and error kind, `cancelled` on a signal; see
//! [`outcome_json`]); prompts and notices then go to stderr.

use std::process::ExitCode;
use std::time::Duration;

use bluez_mgmt::agent::{NoInputNoOutput, Peer};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairError, Report, ServiceConfig};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, ControllerIndex, IoCapability};

use crate::agent::{
    parse_index, parse_io_capability, print_report, runtime, AddressTypeArg, Policy, StoreArgs,
    TerminalAgent,
};
use crate::CliError;

// Arguments of `mgmtctl pair`.
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
    /// One JSON object per line on stdout for the outcome (`{"event":"paired",...}`,
    /// `{"event":"failed",...}`, `{"event":"cancelled",...}`); prompts go to stderr.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

// Arguments of `mgmtctl unpair`.
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

/// The device `pair` and `unpair` act on, and the pairing service they run for it: on
/// controller `index` alone, setting nothing up there (no IO capability registered, no bonds
/// loaded, no power-on: a pairing started by Pair Device carries its own IO capability).
fn one_device(
    index: ControllerIndex,
    address: Address,
    address_type: AddressType,
) -> (Peer, ServiceConfig) {
    let peer = Peer::new(index, AddressInfo::new(address, address_type));
    let config = ServiceConfig {
        controllers: Controllers::Only(vec![index]),
        register_io_capability: false,
        load_bonds: false,
        power_on: false,
        ..ServiceConfig::default()
    };
    (peer, config)
}

/// Runs `mgmtctl pair`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let policy = Policy::choose(args.auto_accept, args.reject)?;
    let (peer, config) = one_device(args.index, args.address, args.address_type.into());
    let agent = TerminalAgent::new(args.io_capability, policy);
    let agent = if args.json { agent.on_stderr() } else { agent };
    let decisions = agent.decision_lines();
    let json = args.json;
    // Human lines; with --json, stdout carries only the JSON lines.
    let say = move |line: String| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let oob_data = match &args.oob {
        Some(file) => {
            let data = crate::oob::read_file(file)?;
            crate::oob::check_peer(&data, peer.address.clone())?;
            Some(data)
        }
        None => None,
    };
    let rehearsal = agent.rehearsal_copy();
    crate::stop::run_stoppable(|mut stop| async move {
        decisions.start();
        let client = tokio::select! {
            client = Client::open() => client?,
            signal = stop.recv() => return Err(format!("{signal} received; not pairing").into()),
        };
        if let Some(data) = &oob_data {
            bluez_mgmt::oob::kernel::add_remote(&client, args.index, data).await?;
            say(format!(
                "added the {} OOB data of {}",
                data.transport(),
                peer.address.address
            ));
        }
        let service = args.store.service(client, agent, rehearsal, config);
        let mut reports = service.reports();
        let _task = service.start().await?;
        say(format!("pairing with {peer} as {}", args.io_capability));
        let outcome = tokio::select! {
            r = service.pair(&peer, args.io_capability, Duration::from_secs(args.timeout)) => Ok(r),
            signal = stop.recv() => Err(signal),
        };
        // What the agent answered comes before how the pairing ended.
        decisions.write_all();
        let result = match outcome {
            Ok(r) => r,
            Err(signal) => {
                if json {
                    let mut v = peer_json("cancelled", &peer);
                    v["reason"] = signal.to_string().into();
                    println!("{v}");
                }
                // We asked for this pairing: withdraw it (Cancel Pair Device), not just leave.
                match service.cancel_pairing(&peer).await {
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
        // The pairing completes only once its keys are stored: every report about them is
        // already queued.
        let mut seen = Vec::new();
        while let Ok(r) = reports.try_recv() {
            if json {
                seen.push(r);
            } else {
                print_report(&r);
            }
        }
        if json {
            let line = outcome_json(&peer, &result, &seen).to_string();
            println!("{}", crate::escape::json_escape_rest(&line));
        }
        match result {
            Ok(()) => {
                say(format!("paired with {peer}"));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(crate::context(format!("pairing with {peer} failed"), e)),
        }
    })
}

/// An event object with the device's fields: `controller`, `address`, `address_type`.
fn peer_json(event: &str, peer: &Peer) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "controller": peer.index.0,
        "address": peer.address.address.to_string(),
        "address_type": crate::json_agent::address_type_name(peer.address.address_type),
    })
}

/// `pair --json`'s line for how the pairing ended: `paired` with `keys`, what was stored for
/// this device (`what`, `path` of each [`Report::Stored`]; never key bytes), or `failed` with
/// `status` (the MGMT status code when the kernel gave one, else `null`), `status_name`,
/// `kind` (the library's error kind) and `message`.
pub(crate) fn outcome_json(
    peer: &Peer,
    result: &Result<(), PairError>,
    reports: &[Report],
) -> serde_json::Value {
    match result {
        Ok(()) => {
            let keys: Vec<serde_json::Value> = reports
                .iter()
                .filter_map(|r| match r {
                    Report::Stored {
                        index,
                        device,
                        what,
                        path,
                    } if *index == peer.index && device.address == peer.address.address => {
                        Some(serde_json::json!({
                            "what": what,
                            "path": path.display().to_string(),
                        }))
                    }
                    _ => None,
                })
                .collect();
            let mut v = peer_json("paired", peer);
            v["keys"] = keys.into();
            v
        }
        Err(e) => {
            let mut v = peer_json("failed", peer);
            let status = match e {
                PairError::Status(s) => Some(*s),
                _ => None,
            };
            v["status"] = status.map(|s| s.0).into();
            v["status_name"] = status.map(|s| s.description()).into();
            v["kind"] = e.kind().name().into();
            v["message"] = e.to_string().into();
            v
        }
    }
}

/// Runs `mgmtctl unpair`.
pub fn run_unpair(args: UnpairArgs) -> Result<ExitCode, CliError> {
    let (peer, config) = one_device(args.index, args.address, args.address_type.into());
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let service = args.store.service(client, NoInputNoOutput, None, config);
        let mut reports = service.reports();
        let _task = service.start().await?;
        let result = service.unpair(&peer, !args.keep_connection).await;
        let mut removed = false;
        while let Ok(r) = reports.try_recv() {
            if let Report::Removed { .. } = r {
                removed = true;
            }
        }
        if let Some(store) = service.store() {
            if removed {
                println!(
                    "removed the stored bond of {} from {}",
                    peer.address.address,
                    store.dir().display()
                );
            } else if !matches!(result, Err(PairError::Store(_))) {
                println!("no stored bond for {}", peer.address.address);
            }
        }
        match result {
            Ok(()) => {
                println!("unpaired {peer}");
                Ok(ExitCode::SUCCESS)
            }
            Err(PairError::Status(s)) => Err(crate::context(
                format!("unpairing {peer}: the kernel answered {}", s.description()),
                PairError::Status(s),
            )),
            Err(PairError::Store(e)) => Err(crate::context(
                "unpaired, but the stored bond remains".to_string(),
                PairError::Store(e),
            )),
            Err(e) => Err(crate::context(format!("unpairing {peer}"), e)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt::protocol::{AddressType, Status};

    #[test]
    fn the_outcome_is_one_json_object() {
        let peer = Peer::new(
            ControllerIndex(0),
            AddressInfo::new("00:AA:01:01:00:01".parse().unwrap(), AddressType::LE_PUBLIC),
        );
        let stored = |n: u16, a: &str, what| Report::Stored {
            index: ControllerIndex(n),
            device: AddressInfo::new(a.parse().unwrap(), AddressType::LE_PUBLIC),
            what,
            path: format!("/s/{a}/info").into(),
        };
        let reports = [
            stored(0, "00:AA:01:01:00:01", "long term key"),
            // Another device, another controller: not this pairing's.
            stored(0, "00:AA:01:01:00:02", "long term key"),
            stored(1, "00:AA:01:01:00:01", "IRK"),
            stored(0, "00:AA:01:01:00:01", "IRK"),
        ];
        // (result, the whole line)
        let rows = [
            (
                Ok(()),
                r#"{"address":"00:AA:01:01:00:01","address_type":"le-public","controller":0,"event":"paired","keys":[{"path":"/s/00:AA:01:01:00:01/info","what":"long term key"},{"path":"/s/00:AA:01:01:00:01/info","what":"IRK"}]}"#,
            ),
            (
                Err(PairError::Status(Status::AUTHENTICATION_FAILED)),
                r#"{"address":"00:AA:01:01:00:01","address_type":"le-public","controller":0,"event":"failed","kind":"refused","message":"the kernel answered Authentication Failed","status":5,"status_name":"Authentication Failed"}"#,
            ),
            (
                Err(PairError::TimedOut),
                r#"{"address":"00:AA:01:01:00:01","address_type":"le-public","controller":0,"event":"failed","kind":"timeout","message":"pairing timed out (cancelled)","status":null,"status_name":null}"#,
            ),
        ];
        for (result, line) in rows {
            let expected: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(outcome_json(&peer, &result, &reports), expected);
        }
    }
}
