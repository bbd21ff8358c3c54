//! Discovery as a stream of devices (advertising data and scan responses merged per device)
//! while the controller advertises one instance built from [`AdData`]; stops both after
//! `SECONDS` (default 10) or at Ctrl-C.
//!
//! ```text
//! cargo build --example discover_and_advertise
//! sudo target/debug/examples/discover_and_advertise [INDEX] [SECONDS]
//! ```
//!
//! Powers the controller on. Needs `CAP_NET_ADMIN` and a kernel with Bluetooth; without
//! Bluetooth it exits with a message saying so.

use std::process::ExitCode;
use std::time::Duration;

use bluez_mgmt::client::{Advertisement, Client, DiscoveryOptions, ErrorKind};
use bluez_mgmt::protocol::ad::{AdData, AdStructure};
use bluez_mgmt::protocol::{AdvertisingFlags, ControllerIndex};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let index = args.next().map_or(Ok(0), |s| s.parse::<u16>());
    let seconds = args.next().map_or(Ok(10), |s| s.parse::<u64>());
    let (Ok(index), Ok(seconds)) = (index, seconds) else {
        eprintln!("usage: discover_and_advertise [INDEX] [SECONDS]");
        return ExitCode::from(2);
    };
    match run(ControllerIndex(index), Duration::from_secs(seconds)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("discover_and_advertise: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(index: ControllerIndex, how_long: Duration) -> Result<(), String> {
    let client = Client::open().await.map_err(|e| match e.kind() {
        ErrorKind::NoBluetooth => format!(
            "{e}
this example needs Bluetooth; `cargo run --example replay_capture` does not"
        ),
        _ => e.to_string(),
    })?;
    let controller = client.controller(index);
    controller.power(true).await.map_err(|e| e.to_string())?;

    // One advertising instance: our name and a 16-bit service UUID (Battery Service); the
    // kernel adds the Flags structure for a discoverable instance.
    let data = AdData::new()
        .with(AdStructure::CompleteName(b"bluez-mgmt example".to_vec()))
        .with(AdStructure::Uuid16 {
            complete: true,
            uuids: vec![0x180F],
        });
    let mut ad = Advertisement::new(1, data);
    ad.flags = AdvertisingFlags::CONNECTABLE | AdvertisingFlags::DISCOVERABLE;
    let added = controller.advertise(&ad).await.map_err(|e| e.to_string())?;
    println!("advertising instance {} on {index}", added.instance);

    // Subscribed before the start command, so no report is missed; each item is the device
    // with everything heard from it so far.
    let mut discovery = controller
        .discover(DiscoveryOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let deadline = tokio::time::sleep(how_long);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            found = discovery.next() => match found {
                Some(Ok(d)) => println!(
                    "{} {} rssi {} name {:?} ({} reports)",
                    d.address.address,
                    d.address.address_type,
                    d.rssi,
                    d.name(),
                    d.reports
                ),
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            },
        }
    }
    println!("{} devices seen", discovery.devices().count());
    discovery.stop().await.map_err(|e| e.to_string())?;
    controller
        .remove_advertising(added.instance)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
