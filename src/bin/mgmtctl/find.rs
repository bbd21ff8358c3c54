//! `mgmtctl find`: discover devices and print one line per update, with everything heard so far
//! about the device (advertising data and scan response merged, or BR/EDR inquiry data).
//!
//! Text lines read `C0:BB:00:00:00:02 LE Random rssi=-40 name="bumble" flags=...` followed by
//! the AD structures in words. `--json` prints one object per update:
//! `{"address","address_type","rssi","flags","name","ad","reports"}`, `ad` being a list of
//! `{"type","value"}` objects as `decode --json` prints advertising data, and
//! `"name_confirmed"`: what the last Confirm Name for the device said (`false`: the kernel
//! was asked to resolve the name, `true`: it was told the name is known; `null`: not asked).
//!
//! `--store DIR` writes what is heard where bluetoothd keeps it under that bond store: a
//! complete name in `<adapter>/cache/<device>`, and name, class and appearance in the info
//! file of a device that has one (see `keystore::device_info`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::client::{Client, DiscoveryOptions, FoundDevice};
use bluez_mgmt::keystore::device_info::Learned;
use bluez_mgmt::keystore::{AdapterId, KeyStore};
use bluez_mgmt::protocol::{Address, ControllerIndex, DiscoveryType, Uuid128};
use serde_json::json;

use crate::agent::parse_index;
use crate::CliError;

// Arguments of `mgmtctl find`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  mgmtctl find --le --uuid 180f --rssi -70 --timeout 10 --json\n  mgmtctl find --bredr --store /var/lib/bluetooth"
)]
pub struct Args {
    /// Only LE devices.
    #[arg(long, conflicts_with = "bredr")]
    pub le: bool,
    /// Only BR/EDR devices.
    #[arg(long)]
    pub bredr: bool,
    /// Only devices at least this strong, dBm (kernel filter: Start Service Discovery).
    #[arg(long, allow_negative_numbers = true)]
    pub rssi: Option<i8>,
    /// Only devices listing this service UUID (repeatable; 180f, 0x180f or the full form).
    #[arg(long)]
    pub uuid: Vec<Uuid128>,
    /// Seconds to look for (0: until Ctrl-C).
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// One JSON object per update.
    #[arg(long)]
    pub json: bool,
    /// Also write the names (class, appearance) heard into this bond store, where bluetoothd
    /// keeps them (e.g. /var/lib/bluetooth).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

/// The JSON object of one update (see the module docs).
pub(crate) fn device_json(d: &FoundDevice) -> serde_json::Value {
    json!({
        "address": d.address.address.to_string(),
        "address_type": d.address.address_type.to_string(),
        "rssi": d.rssi,
        "flags": d.flags.names(),
        "name": d.name(),
        "ad": serde_json::to_value(&d.ad).unwrap_or_default(),
        "reports": d.reports,
        "name_confirmed": d.name_confirmed,
    })
}

/// The text line of one update.
pub(crate) fn device_text(d: &FoundDevice) -> String {
    let mut line = format!(
        "{} {} rssi={}",
        d.address.address, d.address.address_type, d.rssi
    );
    if let Some(name) = d.name() {
        line.push_str(&format!(" name={}", serde_json::Value::String(name)));
    }
    if !d.flags.is_empty() {
        line.push_str(&format!(" flags={}", d.flags.names().join(",")));
    }
    for s in &d.ad.0 {
        line.push_str(&format!(" | {s}"));
    }
    if let Some(e) = &d.malformed {
        line.push_str(&format!(" | {e}"));
    }
    line
}

/// Writes what discovery heard about `d` into the store; a failure is reported, not fatal.
async fn remember(store: &Arc<KeyStore>, adapter: AdapterId, d: &FoundDevice) {
    let learned = Learned::from_ad(&d.ad);
    if learned.is_empty() {
        return;
    }
    let (s, device) = (store.clone(), d.address.clone());
    match tokio::task::spawn_blocking(move || s.remember(adapter, &device, &learned)).await {
        Ok(Ok(r)) => {
            for path in r.cache.iter().chain(r.info.iter()) {
                eprintln!("mgmtctl: recorded in {}", path.display());
            }
        }
        Ok(Err(e)) => eprintln!("mgmtctl: {e}"),
        Err(e) => eprintln!("mgmtctl: {e}"),
    }
}

/// Runs `mgmtctl find`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let types = match (args.le, args.bredr) {
        (true, _) => DiscoveryType::LE,
        (_, true) => DiscoveryType::BREDR,
        _ => DiscoveryType::INTERLEAVED,
    };
    let options = DiscoveryOptions {
        types,
        rssi_threshold: args.rssi,
        uuids: args.uuid.clone(),
    };
    crate::stop::run_stoppable(|mut stop| async move {
        let client = Client::open().await?;
        let controller = client.controller(args.index);
        let store = match args.store {
            Some(dir) => {
                let address = controller.info().await?.address;
                if address == Address::ANY {
                    return Err("--store: the controller has no public address (its store \
                        directory is named by the static address the pairing service gives it)"
                        .into());
                }
                Some((Arc::new(KeyStore::open(dir)), AdapterId::public(address)))
            }
            None => None,
        };
        let mut discovery = controller.discover(options).await?;
        let deadline = async {
            if args.timeout == 0 {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_secs(args.timeout)).await
            }
        };
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                item = discovery.next() => match item {
                    Some(Ok(d)) => {
                        if let Some((store, adapter)) = &store {
                            remember(store, *adapter, &d).await;
                        }
                        if args.json {
                            println!("{}", device_json(&d));
                        } else {
                            println!("{}", device_text(&d));
                        }
                    }
                    Some(Err(e)) => eprintln!("mgmtctl: {e}"),
                    None => return Err("the MGMT socket closed".into()),
                },
                _ = &mut deadline => break,
                _ = stop.recv() => break,
            }
        }
        // The kernel may have ended the round already; that is not a failure here.
        let _ = discovery.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}
