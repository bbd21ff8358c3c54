//! The smallest real pairing service: your own [`Agent`] answering every controller's pairing
//! requests, bonds kept in a key store (BlueZ's on-disk format) and loaded back into the
//! kernel when a controller appears, controllers powered on, until Ctrl-C.
//!
//! ```text
//! cargo build --example agent_service
//! sudo target/debug/examples/agent_service [STORE_DIR]   # default /var/lib/bluetooth
//! ```
//!
//! Needs `CAP_NET_ADMIN` and a kernel with Bluetooth; bluetoothd must not be running (it would
//! answer the same requests). Without Bluetooth it exits with a message saying so.

use std::path::PathBuf;
use std::process::ExitCode;

use bluez_mgmt::agent::{Agent, KeyNotice, Peer};
use bluez_mgmt::client::{Client, ErrorKind};
use bluez_mgmt::keystore::KeyStore;
use bluez_mgmt::pairing::{PairingService, ServiceConfig};
use bluez_mgmt::protocol::{IoCapability, Status};

/// Your agent: here it shows the number and accepts Numeric Comparison and Just Works, and
/// prints what happened. The methods it leaves out refuse (see [`Agent`]).
struct MyAgent;

impl Agent for MyAgent {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        println!("{peer}: does it show {value:06}? answering yes");
        true
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        println!("{peer}: wants to pair (Just Works); answering yes");
        true
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        println!("{peer}: paired, {key:?}");
    }

    fn failed(&self, peer: &Peer, status: Status) {
        println!("{peer}: pairing failed: {status}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("/var/lib/bluetooth"), PathBuf::from);
    let client = match Client::open().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("agent_service: {}", explain(&e));
            return ExitCode::FAILURE;
        }
    };
    // Every controller, now and as they come: Set IO Capability, load its bonds from the
    // store, power it on. Keys the kernel hands over are written to the store.
    let service = PairingService::new(client, MyAgent, ServiceConfig::default())
        .with_store(KeyStore::open(&dir));
    let task = match service.start().await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("agent_service: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "serving every controller, bonds in {}; Ctrl-C to stop",
        dir.display()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("stopping"),
        _ = task => eprintln!("agent_service: the connection to the kernel closed"),
    }
    ExitCode::SUCCESS
}

/// The client's error with what to do about it.
fn explain(e: &bluez_mgmt::Error) -> String {
    match e.kind() {
        ErrorKind::NoBluetooth => format!(
            "{e}
this example needs Bluetooth; `cargo run --example replay_capture` does not"
        ),
        _ => e.to_string(),
    }
}
