//! Subscribes to the kernel's MGMT events and prints each one, decoded, until Ctrl-C: every
//! controller, or one (`INDEX`).
//!
//! ```text
//! cargo build --example watch_events
//! sudo target/debug/examples/watch_events [INDEX]
//! ```
//!
//! Needs `CAP_NET_ADMIN` and a kernel with Bluetooth; without Bluetooth it exits with a
//! message saying so.

use std::process::ExitCode;

use bluez_mgmt::client::{Client, ErrorKind, EventFilter};
use bluez_mgmt::protocol::ControllerIndex;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut filter = EventFilter::all();
    if let Some(arg) = std::env::args().nth(1) {
        match arg.parse::<u16>() {
            Ok(i) => filter = filter.controller(ControllerIndex(i)),
            Err(_) => {
                eprintln!("usage: watch_events [INDEX]");
                return ExitCode::from(2);
            }
        }
    }
    let client = match Client::open().await {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NoBluetooth => {
            eprintln!(
                "watch_events: {e}
this example needs Bluetooth; `cargo run --example replay_capture` does not"
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("watch_events: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The filter applies before the subscription's queue: other events never take room in it.
    let mut events = client.subscribe(filter);
    println!("watching; Ctrl-C to stop");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            item = events.recv() => match item {
                Some(Ok((index, event))) => println!("{index} {event:?}"),
                // Fell behind (lagged) or an event that does not decode: say so, go on.
                Some(Err(e)) => eprintln!("watch_events: {e}"),
                None => {
                    eprintln!("watch_events: the connection to the kernel closed");
                    return ExitCode::FAILURE;
                }
            },
        }
    }
}
