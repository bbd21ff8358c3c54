//! `mgmtctl info`, `mgmtctl power` and `mgmtctl set`: read and switch controller settings over
//! the kernel's control channel.

use std::process::ExitCode;

use bluez_mgmt::client::{core_version, ChooseControllerError, Client, Setting};
use bluez_mgmt::protocol::command::{ReadInfoReply, ReadVersion};
use bluez_mgmt::protocol::{ControllerIndex, Settings};

use std::io::Write;

use crate::CliError;

// Arguments of `mgmtctl info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// One JSON object per line: `{"mgmt_version"}` first, then one per controller
    /// (`{"index", "info"}`, the Read Controller Information reply).
    #[arg(long)]
    pub json: bool,
    /// Only this controller (`0` or `hci0`); every controller if absent.
    #[arg(long, value_parser = crate::agent::parse_index)]
    pub index: Option<ControllerIndex>,
}

/// `on` or `off`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Switch on.
    On,
    /// Switch off.
    Off,
}

impl OnOff {
    fn on(self) -> bool {
        self == OnOff::On
    }
}

// Arguments of `mgmtctl power`.
#[derive(clap::Args)]
pub struct PowerArgs {
    /// Power on or off.
    pub state: OnOff,
    /// The controller (`0` or `hci0`); the only one there is if absent.
    #[arg(long, value_parser = crate::agent::parse_index)]
    pub index: Option<ControllerIndex>,
}

// Arguments of `mgmtctl set`.
#[derive(clap::Args)]
pub struct SetArgs {
    /// The setting: powered, discoverable, connectable, fast-connectable, bondable,
    /// link-security, ssp, le, advertising, bredr, secure-conn, debug-keys.
    pub setting: String,
    /// Switch it on or off.
    pub state: OnOff,
    /// The controller (`0` or `hci0`); the only one there is if absent.
    #[arg(long, value_parser = crate::agent::parse_index)]
    pub index: Option<ControllerIndex>,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn settings_text(s: Settings) -> String {
    let names = s.names();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(" ")
    }
}

/// The text `mgmtctl info` prints for one controller.
pub fn format_info(index: ControllerIndex, info: &ReadInfoReply) -> String {
    format!(
        "{index}:\n\
         \taddress {}  version {} (Bluetooth {})  manufacturer {:#06x}\n\
         \tsupported settings: {}\n\
         \tcurrent settings: {}\n\
         \tclass: {}\n\
         \tname: {:?}\n\
         \tshort name: {:?}\n",
        info.address,
        info.bluetooth_version,
        core_version(info.bluetooth_version).unwrap_or("unknown"),
        info.manufacturer,
        settings_text(info.supported_settings),
        settings_text(info.current_settings),
        info.class_of_device,
        info.name.to_string_lossy(),
        info.short_name.to_string_lossy(),
    )
}

/// Runs `mgmtctl info`.
pub fn run_info(args: InfoArgs) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async {
        let client = Client::open().await?;
        let version = client.call(ControllerIndex::NONE, &ReadVersion {}).await?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if args.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "mgmt_version": format!("{}.{}", version.version, version.revision)
                })
            )?;
        } else {
            writeln!(out, "MGMT version {}.{}", version.version, version.revision)?;
        }
        let controllers = client.controllers_info(args.index).await?;
        if controllers.is_empty() && !args.json {
            writeln!(out, "no controllers")?;
        }
        for (index, info) in controllers {
            if args.json {
                let line = serde_json::json!({ "index": index.0, "info": info });
                let json = line.to_string();
                let text = crate::escape::json_escape_rest(&json);
                writeln!(out, "{text}")?;
            } else {
                write!(out, "{}", format_info(index, &info))?;
            }
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn switch(
    index: Option<ControllerIndex>,
    setting: Setting,
    on: bool,
) -> Result<ExitCode, CliError> {
    let client = Client::open().await?;
    let index = client.choose_controller(index).await.map_err(|e| match e {
        ChooseControllerError::Several(_) => format!("{e} with --index N"),
        e => e.to_string(),
    })?;
    let settings = client.controller(index).set(setting, on).await?;
    println!("{index}: current settings: {}", settings_text(settings));
    if settings.contains(setting.flag()) != on {
        // The kernel accepted it but the setting did not take (for example debug keys
        // while powered off are applied later).
        eprintln!(
            "mgmtctl: note: {setting} is {} in the current settings",
            if on { "still off" } else { "still on" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `mgmtctl power`.
pub fn run_power(args: PowerArgs) -> Result<ExitCode, CliError> {
    runtime()?.block_on(switch(args.index, Setting::Powered, args.state.on()))
}

/// Runs `mgmtctl set`.
pub fn run_set(args: SetArgs) -> Result<ExitCode, CliError> {
    let setting = Setting::from_name(&args.setting).ok_or_else(|| {
        let names: Vec<&str> = Setting::ALL.iter().map(|s| s.name()).collect();
        format!(
            "unknown setting {:?}; known: {}",
            args.setting,
            names.join(", ")
        )
    })?;
    runtime()?.block_on(switch(args.index, setting, args.state.on()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt::protocol::wire::decode_exact;

    #[test]
    fn info_text_from_a_captured_reply() {
        // Read Controller Information reply parameters for hci0 from
        // fixtures/le-sc-numeric-comparison.btsnoop (after Set Powered on); the 280-byte
        // reply ends in zeros (empty names), cut here and padded back.
        let mut params =
            bluez_mgmt::protocol::hex::parse_hex("01000000bb0009ffff1bbe0100130a").unwrap();
        params.resize(280, 0);
        let info: ReadInfoReply = decode_exact("Read Info reply", &params).unwrap();
        let text = format_info(ControllerIndex(0), &info);
        assert!(text.starts_with("hci0:\n"), "{text}");
        assert!(text.contains("address 00:BB:00:00:00:01"), "{text}");
        assert!(text.contains("version 9 (Bluetooth 5.0)"), "{text}");
        assert!(text.contains("manufacturer 0xffff"), "{text}");
        assert!(
            text.contains("current settings: powered connectable bondable le secure-conn"),
            "{text}"
        );
    }
}
