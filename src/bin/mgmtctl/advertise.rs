//! `mgmtctl advertise`: LE advertising instances built from typed AD structures (add, remove,
//! clear, list, features).
//!
//! `add` builds the advertising data from `--name`, `--uuid`, `--manufacturer`,
//! `--service-data`, `--appearance` and `--raw` (AD structures as hex), checks it against the
//! room the kernel reports before sending, and uses the extended commands when `--extended`,
//! `--interval` or `--tx-power` is given. `features --json` prints
//! `{"supported_flags","max_adv_data_len","max_scan_rsp_len","max_instances","instances"}`;
//! `list --json` prints `{"instances"}`.

use std::process::ExitCode;

use bluez_mgmt::client::{Advertisement, Client};
use bluez_mgmt::protocol::ad::{AdData, AdStructure};
use bluez_mgmt::protocol::hex::parse_hex;
use bluez_mgmt::protocol::{AdvertisingFlags, ControllerIndex, Uuid128};
use serde_json::json;

use crate::agent::{parse_index, runtime};
use crate::identity::{parse_u16, parse_u8};
use crate::CliError;

// Arguments of `mgmtctl advertise`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub op: Op,
    /// Controller (`0` or `hci0`).
    #[arg(long, global = true, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

// What to do.
#[derive(clap::Subcommand)]
pub enum Op {
    /// Add (or replace) an instance.
    #[command(
        after_help = "Example:\n  mgmtctl advertise add --name sensor --uuid 12345678-1234-5678-1234-56789abcdef0 \\\n      --manufacturer 0x05f1:0102 --connectable --managed-flags"
    )]
    Add(AddArgs),
    /// Remove an instance.
    #[command(after_help = "Example:\n  mgmtctl advertise remove 1")]
    Remove {
        /// The instance.
        #[arg(value_parser = parse_u8)]
        instance: u8,
    },
    /// Remove every instance.
    Clear,
    /// List the instances in use.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What the controller supports: flags, data lengths, instances.
    Features {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `mgmtctl advertise add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// Instance number (1 to the controller's maximum).
    #[arg(long, value_parser = parse_u8, default_value = "1")]
    pub instance: u8,
    /// Complete Local Name AD structure.
    #[arg(long)]
    pub name: Option<String>,
    /// Service UUID (repeatable; 16-, 32- or 128-bit lists by size).
    #[arg(long)]
    pub uuid: Vec<Uuid128>,
    /// Manufacturer data as COMPANY:HEX (repeatable), e.g. 0x05f1:0102.
    #[arg(long)]
    pub manufacturer: Vec<String>,
    /// Service data as UUID:HEX (repeatable), e.g. 180f:64.
    #[arg(long)]
    pub service_data: Vec<String>,
    /// Appearance AD structure.
    #[arg(long, value_parser = parse_u16)]
    pub appearance: Option<u16>,
    /// More AD structures, as hex bytes.
    #[arg(long)]
    pub raw: Option<String>,
    /// Scan response AD structures, as hex bytes.
    #[arg(long)]
    pub scan_response: Option<String>,
    /// Connectable advertising.
    #[arg(long)]
    pub connectable: bool,
    /// General discoverable (the kernel's Flags structure says so).
    #[arg(long)]
    pub discoverable: bool,
    /// Let the kernel add the Flags structure.
    #[arg(long)]
    pub managed_flags: bool,
    /// Seconds per turn when instances rotate.
    #[arg(long, default_value_t = 0)]
    pub duration: u16,
    /// Seconds until the kernel removes the instance (0: never).
    #[arg(long, default_value_t = 0)]
    pub timeout: u16,
    /// Advertising interval MIN:MAX in milliseconds (extended parameters).
    #[arg(long)]
    pub interval: Option<String>,
    /// Requested TX power, dBm (extended parameters).
    #[arg(long, allow_negative_numbers = true)]
    pub tx_power: Option<i8>,
    /// Use Add Extended Advertising Parameters and Data.
    #[arg(long)]
    pub extended: bool,
}

fn split_hex(what: &str, s: &str) -> Result<(String, Vec<u8>), CliError> {
    let (head, data) = s
        .split_once(':')
        .ok_or_else(|| format!("{what} `{s}`: want ID:HEX"))?;
    let data = parse_hex(data).ok_or_else(|| format!("{what} `{s}`: `{data}` is not hex"))?;
    Ok((head.to_string(), data))
}

fn parse_ad(what: &str, hex: &str) -> Result<AdData, CliError> {
    let bytes = parse_hex(hex).ok_or_else(|| format!("{what}: `{hex}` is not hex"))?;
    AdData::parse(&bytes).map_err(|e| format!("{what}: {e}").into())
}

/// The advertisement the arguments describe.
pub(crate) fn build(args: &AddArgs) -> Result<Advertisement, CliError> {
    let mut data = AdData::new();
    if let Some(name) = &args.name {
        data.0
            .push(AdStructure::CompleteName(name.as_bytes().to_vec()));
    }
    let (mut u16s, mut u32s, mut u128s) = (Vec::new(), Vec::new(), Vec::new());
    for u in &args.uuid {
        match u.as_u32() {
            Some(v) => match u16::try_from(v) {
                Ok(short) => u16s.push(short),
                Err(_) => u32s.push(v),
            },
            None => u128s.push(*u),
        }
    }
    if !u16s.is_empty() {
        data.0.push(AdStructure::Uuid16 {
            complete: true,
            uuids: u16s,
        });
    }
    if !u32s.is_empty() {
        data.0.push(AdStructure::Uuid32 {
            complete: true,
            uuids: u32s,
        });
    }
    if !u128s.is_empty() {
        data.0.push(AdStructure::Uuid128 {
            complete: true,
            uuids: u128s,
        });
    }
    for m in &args.manufacturer {
        let (company, data_bytes) = split_hex("--manufacturer", m)?;
        let company = parse_u16(&company)?;
        data.0.push(AdStructure::ManufacturerData {
            company,
            data: data_bytes,
        });
    }
    for s in &args.service_data {
        let (uuid, d) = split_hex("--service-data", s)?;
        let uuid: Uuid128 = uuid.parse()?;
        data.0.push(match uuid.as_u32() {
            Some(v) => match u16::try_from(v) {
                Ok(short) => AdStructure::ServiceData16 {
                    uuid: short,
                    data: d,
                },
                Err(_) => AdStructure::ServiceData32 { uuid: v, data: d },
            },
            None => AdStructure::ServiceData128 { uuid, data: d },
        });
    }
    if let Some(a) = args.appearance {
        data.0.push(AdStructure::Appearance(a));
    }
    if let Some(raw) = &args.raw {
        data.0.extend(parse_ad("--raw", raw)?.0);
    }
    let mut ad = Advertisement::new(args.instance, data);
    if let Some(rsp) = &args.scan_response {
        ad.scan_response = parse_ad("--scan-response", rsp)?;
    }
    ad.flags
        .set(AdvertisingFlags::CONNECTABLE, args.connectable);
    ad.flags
        .set(AdvertisingFlags::DISCOVERABLE, args.discoverable);
    ad.flags
        .set(AdvertisingFlags::MANAGED_FLAGS, args.managed_flags);
    ad.duration = args.duration;
    ad.timeout = args.timeout;
    ad.tx_power = args.tx_power;
    ad.extended = args.extended;
    if let Some(iv) = &args.interval {
        let (a, b) = iv.split_once(':').unwrap_or((iv, iv));
        let units = |ms: &str| -> Result<u32, CliError> {
            let ms: f64 = ms
                .parse()
                .map_err(|_| format!("--interval: `{ms}` is not a number of milliseconds"))?;
            Ok((ms / 0.625).round() as u32)
        };
        ad.interval = Some((units(a)?, units(b)?));
    }
    Ok(ad)
}

/// Runs `mgmtctl advertise`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let prepared = match &args.op {
        Op::Add(a) => Some(build(a)?),
        _ => None,
    };
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let c = client.controller(args.index);
        match args.op {
            Op::Add(_) => {
                let ad = prepared.expect("built above");
                let added = c.advertise(&ad).await?;
                print!("advertising instance {}", added.instance);
                if let Some(p) = added.tx_power {
                    print!(" (tx power {p} dBm)");
                }
                println!(": {}", ad.data);
                if !ad.scan_response.is_empty() {
                    println!("scan response: {}", ad.scan_response);
                }
            }
            Op::Remove { instance } => {
                c.remove_advertising(instance).await?;
                println!("removed instance {instance}");
            }
            Op::Clear => {
                c.remove_advertising(0).await?;
                println!("removed every instance");
            }
            Op::List { json } => {
                let f = c.advertising_features().await?;
                if json {
                    println!("{}", json!({ "instances": f.instances.0 }));
                } else if f.instances.0.is_empty() {
                    println!("no instances");
                } else {
                    for i in f.instances.0 {
                        println!("instance {i}");
                    }
                }
            }
            Op::Features { json } => {
                let f = c.advertising_features().await?;
                if json {
                    println!(
                        "{}",
                        json!({
                            "supported_flags": f.supported_flags.names(),
                            "max_adv_data_len": f.max_adv_data_len,
                            "max_scan_rsp_len": f.max_scan_rsp_len,
                            "max_instances": f.max_instances,
                            "instances": f.instances.0,
                        })
                    );
                } else {
                    println!(
                        "supported flags: {}\nmax advertising data: {} octets\nmax scan response: {} octets\ninstances: {} of {}",
                        f.supported_flags,
                        f.max_adv_data_len,
                        f.max_scan_rsp_len,
                        f.instances.0.len(),
                        f.max_instances
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        add: AddArgs,
    }

    #[test]
    fn arguments_build_the_data() {
        let t = T::parse_from([
            "t",
            "--name",
            "ab",
            "--uuid",
            "180f",
            "--uuid",
            "12345678-1234-5678-1234-56789abcdef0",
            "--manufacturer",
            "0x05f1:0102",
            "--service-data",
            "180f:64",
            "--interval",
            "100:150",
            "--connectable",
        ]);
        let ad = build(&t.add).unwrap();
        assert_eq!(
            bluez_mgmt::protocol::hex::Hex(&ad.data.to_bytes().unwrap()).to_string(),
            concat!(
                "03096162",
                "03030f18",
                "1107f0debc9a785634127856341278563412",
                "05fff1050102",
                "04160f1864",
            )
        );
        assert_eq!(ad.interval, Some((160, 240)));
        assert!(ad.flags.contains(AdvertisingFlags::CONNECTABLE));
    }
}
