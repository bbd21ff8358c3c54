//! Pairs with one device and returns once its keys are stored: a [`PairingService`] with a
//! key store on one controller, [`PairingService::pair`], then the bond read back from the
//! store.
//!
//! ```text
//! cargo build --example pair_and_store
//! sudo target/debug/examples/pair_and_store INDEX ADDRESS [le-public|le-random|bredr] [STORE_DIR]
//! ```
//!
//! The address type defaults to `le-public` and the store to a `bonds` directory here (use
//! /var/lib/bluetooth to share bonds with bluetoothd's format). Needs `CAP_NET_ADMIN` and a
//! kernel with Bluetooth; without Bluetooth it exits with a message saying so.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bluez_mgmt::agent::{Agent, Peer};
use bluez_mgmt::client::{Client, ErrorKind};
use bluez_mgmt::keystore::KeyStore;
use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, ControllerIndex, IoCapability};

/// Accepts the number the kernel shows (Numeric Comparison), after printing it.
struct Confirm;

impl Agent for Confirm {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        println!("{peer}: confirming {value:06}");
        true
    }
}

const USAGE: &str = "usage: pair_and_store INDEX ADDRESS [le-public|le-random|bredr] [STORE_DIR]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(index), Some(address)) = (
        args.first().and_then(|s| s.parse::<u16>().ok()),
        args.get(1).and_then(|s| s.parse::<Address>().ok()),
    ) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let address_type = match args.get(2).map(String::as_str) {
        None | Some("le-public") => AddressType::LE_PUBLIC,
        Some("le-random") => AddressType::LE_RANDOM,
        Some("bredr") => AddressType::BR_EDR,
        Some(other) => {
            eprintln!("pair_and_store: unknown address type `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let dir = args
        .get(3)
        .map_or_else(|| PathBuf::from("bonds"), PathBuf::from);
    match run(ControllerIndex(index), address, address_type, dir).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pair_and_store: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    index: ControllerIndex,
    address: Address,
    address_type: AddressType,
    dir: PathBuf,
) -> Result<(), String> {
    let client = Client::open().await.map_err(|e| match e.kind() {
        ErrorKind::NoBluetooth => format!(
            "{e}
this example needs Bluetooth; `cargo run --example replay_capture` does not"
        ),
        _ => e.to_string(),
    })?;
    let controller = client
        .controller(index)
        .info()
        .await
        .map_err(|e| e.to_string())?;
    let service = PairingService::new(
        client,
        Confirm,
        ServiceConfig {
            controllers: Controllers::Only(vec![index]),
            ..ServiceConfig::default()
        },
    )
    .with_store(KeyStore::open(&dir));
    let _task = service.start().await.map_err(|e| e.to_string())?;
    let peer = Peer::new(index, AddressInfo::new(address, address_type));
    // With a store, `pair` returns once every key the pairing delivered is written.
    service
        .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(40))
        .await
        .map_err(|e| format!("pairing with {peer} failed: {e}"))?;
    // The same store, read back through another handle.
    let store = KeyStore::open(&dir);
    let (bonds, _) = store.bonds(controller.address).map_err(|e| e.to_string())?;
    // An LE device may have handed over its identity address: the bond is filed under it.
    println!(
        "paired with {peer}; {} bond(s) stored for {} in {}",
        bonds.len(),
        controller.address,
        dir.display()
    );
    for bond in bonds {
        println!(
            "  {}",
            store.info_path(controller.address, bond.device).display()
        );
    }
    Ok(())
}
