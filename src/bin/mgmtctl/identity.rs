//! `mgmtctl name`, `class`, `appearance` and `uuid`: what the controller shows to others
//! (local names, Class of Device, LE appearance, the service UUIDs in its EIR data).

use std::process::ExitCode;

use bluez_mgmt::client::Client;
use bluez_mgmt::protocol::{ControllerIndex, Uuid128};

use crate::agent::{parse_index, runtime};
use crate::CliError;

// Arguments of `mgmtctl name`.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  mgmtctl name \"Kitchen sensor\" --short kitchen")]
pub struct NameArgs {
    /// The complete local name (at most 248 octets).
    pub name: String,
    /// The short name (at most 10 octets).
    #[arg(long, default_value = "")]
    pub short: String,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

// Arguments of `mgmtctl class`.
#[derive(clap::Args)]
#[command(after_help = "Example (major class Phone, minor Smartphone):\n  mgmtctl class 2 3")]
pub struct ClassArgs {
    /// Major device class (0x1f: uncategorized).
    #[arg(value_parser = parse_u8)]
    pub major: u8,
    /// Minor device class.
    #[arg(value_parser = parse_u8)]
    pub minor: u8,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

// Arguments of `mgmtctl appearance`.
#[derive(clap::Args)]
#[command(after_help = "Example (Generic Heart Rate Sensor):\n  mgmtctl appearance 0x0340")]
pub struct AppearanceArgs {
    /// The GAP Appearance value (decimal or 0x hex).
    #[arg(value_parser = parse_u16)]
    pub appearance: u16,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

/// `add` or `remove`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UuidOp {
    /// Add UUID.
    Add,
    /// Remove UUID.
    Remove,
}

// Arguments of `mgmtctl uuid`.
#[derive(clap::Args)]
#[command(
    after_help = "Example (Audio Sink, with the Rendering+Audio service class bits):\n  mgmtctl uuid add 110b --hint 0x24"
)]
pub struct UuidArgs {
    /// Add or remove.
    pub op: UuidOp,
    /// The UUID (180f, 0x180f or the full form; remove with 0 removes all).
    pub uuid: String,
    /// Service class bits of the Class of Device this UUID sets (add only).
    #[arg(long, value_parser = parse_u8, default_value = "0")]
    pub hint: u8,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    pub index: ControllerIndex,
}

/// Parses a number in decimal or `0x` hex.
fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("`{s}` is not a number"))
}

pub(crate) fn parse_u8(s: &str) -> Result<u8, String> {
    u8::try_from(parse_num(s)?).map_err(|_| format!("`{s}` is more than 255"))
}

pub(crate) fn parse_u16(s: &str) -> Result<u16, String> {
    u16::try_from(parse_num(s)?).map_err(|_| format!("`{s}` is more than 65535"))
}

/// Runs `mgmtctl name`.
pub fn run_name(args: NameArgs) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let (name, short) = client
            .controller(args.index)
            .name(&args.name, &args.short)
            .await?;
        println!("name={name:?} short={short:?}");
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl class`.
pub fn run_class(args: ClassArgs) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let class = client
            .controller(args.index)
            .set_class(args.major, args.minor)
            .await?;
        println!("class of device {class}");
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl appearance`.
pub fn run_appearance(args: AppearanceArgs) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        client
            .controller(args.index)
            .set_appearance(args.appearance)
            .await?;
        println!("appearance {:#06x}", args.appearance);
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `mgmtctl uuid`.
pub fn run_uuid(args: UuidArgs) -> Result<ExitCode, CliError> {
    let uuid = if args.uuid == "0" {
        Uuid128::default()
    } else {
        args.uuid.parse::<Uuid128>()?
    };
    runtime()?.block_on(async move {
        let client = Client::open().await?;
        let c = client.controller(args.index);
        let class = match args.op {
            UuidOp::Add => c.add_uuid(uuid, args.hint).await?,
            UuidOp::Remove => c.remove_uuid(uuid).await?,
        };
        println!("{uuid}: done; class of device {class}");
        Ok(ExitCode::SUCCESS)
    })
}
