//! The smallest agent a program can build on the library alone: DisplayYesNo, accepts every
//! Numeric Comparison, one controller, a single-threaded runtime. `benches/run` measures it
//! (reply latency, idle memory, stripped size) beside `mgmtctl` and a C floor.
//!
//! ```text
//! minimal_agent INDEX             answer requests on controller INDEX until killed
//! minimal_agent INDEX pair ADDR   pair with ADDR (LE public) from INDEX, then exit
//! ```
//!
//! Needs `CAP_NET_ADMIN` and a kernel with Bluetooth (`benches/run` runs it in the VM).

use std::process::ExitCode;
use std::time::Duration;

use bluez_mgmt::agent::{Agent, Peer, YesNoRequest};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType, ControllerIndex, IoCapability};

/// Says yes to every number.
struct Accept;

impl Agent for Accept {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }

    async fn confirm_value(&self, _peer: &Peer, _value: u32) -> bool {
        true
    }

    // The same answers, known before any request comes: the service writes them as soon as
    // a request is read, before decoding it.
    fn answer_at_once(&self, _peer: &Peer, request: YesNoRequest) -> Option<bool> {
        Some(matches!(request, YesNoRequest::ConfirmValue(_)))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let index = match args.first().and_then(|s| s.parse::<u16>().ok()) {
        Some(i) => ControllerIndex(i),
        None => {
            eprintln!("usage: minimal_agent INDEX [pair ADDR]");
            return ExitCode::from(2);
        }
    };
    let target = match args.get(1).map(String::as_str) {
        None => None,
        Some("pair") => match args.get(2).and_then(|a| a.parse::<Address>().ok()) {
            Some(a) => Some(a),
            None => {
                eprintln!("minimal_agent: pair needs an address like 00:AA:01:01:00:01");
                return ExitCode::from(2);
            }
        },
        Some(other) => {
            eprintln!("minimal_agent: unknown argument `{other}`");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("minimal_agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let client = match Client::open().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("minimal_agent: {e}");
                return ExitCode::FAILURE;
            }
        };
        let config = ServiceConfig {
            controllers: Controllers::Only(vec![index]),
            register_io_capability: target.is_none(),
            load_bonds: false,
            power_on: false,
            ..ServiceConfig::default()
        };
        // `Accept` answers without side effects, so the start-up rehearsal may ask one: its
        // answer path then runs before the first request instead of while the peer waits.
        let runner = PairingService::new(client, Accept, config).with_rehearsal_agent(Accept);
        let task = match runner.start().await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("minimal_agent: {e}");
                return ExitCode::FAILURE;
            }
        };
        match target {
            None => {
                println!("ready");
                let _ = task.await;
                ExitCode::SUCCESS
            }
            Some(address) => {
                let peer = Peer::new(index, AddressInfo::new(address, AddressType::LE_PUBLIC));
                match runner
                    .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(40))
                    .await
                {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("minimal_agent: pairing with {peer} failed: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
        }
    })
}
