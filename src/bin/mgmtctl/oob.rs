//! `mgmtctl oob`: out-of-band pairing data. `oob local` reads the controller's own data and
//! writes it as an NFC (NDEF) record or as QR text; `oob add` gives the kernel a peer's data
//! for a pairing the peer starts (`mgmtctl pair ADDR --oob FILE` does the same before it
//! pairs); `oob remove` takes it back; `oob show` prints a file's data.
//!
//! Files are read in any of the forms written: NDEF bytes, NDEF as hex, or the text form
//! (starting with `BTOOB`). Files written hold secrets until the pairing is over: they are
//! created with mode 0600 and never through a symbolic link.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bluez_mgmt::client::Client;
use bluez_mgmt::oob::{self, kernel, ndef, text, OobData, OobTransport, OobValue};
use bluez_mgmt::protocol::hex::{parse_hex, Hex};
use bluez_mgmt::protocol::{Address, AddressInfo, ControllerIndex};
use serde_json::{json, Map, Value};

use crate::agent::{parse_index, AddressTypeArg};
use crate::CliError;

// Arguments of `mgmtctl oob`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Read this controller's OOB data (a fresh value each time) and print or write it.
    Local(LocalArgs),
    /// Give the kernel a peer's OOB data from FILE, for a pairing the peer starts.
    Add(AddArgs),
    /// Remove a peer's OOB data (every peer's without ADDR).
    Remove(RemoveArgs),
    /// Print the OOB data in FILE.
    Show(ShowArgs),
}

/// The written forms.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// An NDEF message of one Bluetooth OOB record (bytes to --out, hex on standard output).
    Ndef,
    /// The text form, for a QR code.
    Text,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TransportArg {
    Le,
    Bredr,
}

#[derive(clap::Args)]
struct LocalArgs {
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    index: ControllerIndex,
    /// Which transport's data.
    #[arg(long, value_enum, default_value = "le")]
    transport: TransportArg,
    /// The form written.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write to FILE (mode 0600) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the data as one JSON object (with both forms) on standard output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct AddArgs {
    /// The peer's address (must be the one in FILE).
    address: Address,
    /// The peer's OOB data.
    file: PathBuf,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    index: ControllerIndex,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct RemoveArgs {
    /// The peer's address (none: every peer's data).
    address: Option<Address>,
    /// Address type.
    #[arg(long = "type", value_enum, default_value = "bredr")]
    address_type: AddressTypeArg,
    /// Controller (`0` or `hci0`).
    #[arg(long, value_parser = parse_index, default_value = "0")]
    index: ControllerIndex,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ShowArgs {
    /// A file written by `oob local` or any NFC Bluetooth OOB record.
    file: PathBuf,
    /// Print the data as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `mgmtctl oob`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Cmd::Local(a) => local(a),
        Cmd::Add(a) => add(a),
        Cmd::Remove(a) => remove(a),
        Cmd::Show(a) => {
            let data = read_file(&a.file)?;
            if a.json {
                println!("{}", to_json(&data));
            } else {
                print!("{}", describe(&data));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn local(a: LocalArgs) -> Result<ExitCode, CliError> {
    let transport = match a.transport {
        TransportArg::Le => OobTransport::Le,
        TransportArg::Bredr => OobTransport::BrEdr,
    };
    let data = runtime()?.block_on(async {
        let client = Client::open().await?;
        Ok::<_, CliError>(kernel::read_local(&client, a.index, transport).await?)
    })?;
    let bytes = match a.format {
        Format::Ndef => ndef::encode(&data),
        Format::Text => format!("{}\n", text::encode(&data)).into_bytes(),
    };
    if let Some(path) = &a.out {
        write_secret(path, &bytes)?;
    }
    if a.json {
        let mut v = to_json(&data);
        if let Some(path) = &a.out {
            v["file"] = json!(path.display().to_string());
        }
        println!("{v}");
    } else if let Some(path) = &a.out {
        println!(
            "wrote the {transport} OOB data of {} to {}",
            data.address().address,
            path.display()
        );
    } else {
        match a.format {
            Format::Ndef => println!("{}", Hex(&bytes)),
            Format::Text => print!("{}", String::from_utf8_lossy(&bytes)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads OOB data from a file in any written form: text (`BTOOB ...`), NDEF as hex, NDEF.
pub fn read_file(path: &Path) -> Result<OobData, CliError> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_any(&bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn parse_any(bytes: &[u8]) -> Result<OobData, oob::ParseError> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        let t = s.trim();
        if t.len() >= 5 && t[..5].eq_ignore_ascii_case("BTOOB") {
            return text::decode(t);
        }
        let compact: String = t.split_whitespace().collect();
        if let Some(b) = parse_hex(&compact).filter(|b| !b.is_empty()) {
            return ndef::decode(&b);
        }
    }
    ndef::decode(bytes)
}

/// Checks that `data` is the data of `peer`, as the command line named it.
pub fn check_peer(data: &OobData, peer: AddressInfo) -> Result<(), CliError> {
    let have = data.address();
    if have.address != peer.address || have.address_type.is_le() != peer.address_type.is_le() {
        return Err(format!(
            "the OOB data is for {} ({}), not {} ({})",
            have.address, have.address_type, peer.address, peer.address_type
        )
        .into());
    }
    Ok(())
}

fn add(a: AddArgs) -> Result<ExitCode, CliError> {
    let data = read_file(&a.file)?;
    let peer = data.address();
    if peer.address != a.address {
        return Err(format!(
            "{} holds the OOB data of {}, not {}",
            a.file.display(),
            peer.address,
            a.address
        )
        .into());
    }
    let added = runtime()?.block_on(async {
        let client = Client::open().await?;
        Ok::<_, CliError>(kernel::add_remote(&client, a.index, &data).await?)
    })?;
    if a.json {
        println!(
            "{}",
            json!({"added": added.address.to_string(), "address_type": added.address_type.to_string(),
                   "transport": data.transport().to_string()})
        );
    } else {
        println!(
            "added the {} OOB data of {} ({})",
            data.transport(),
            added.address,
            added.address_type
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(a: RemoveArgs) -> Result<ExitCode, CliError> {
    let address = AddressInfo::new(a.address.unwrap_or(Address::ANY), a.address_type.into());
    let removed = runtime()?.block_on(async {
        let client = Client::open().await?;
        Ok::<_, CliError>(kernel::remove_remote(&client, a.index, address).await?)
    })?;
    if a.json {
        println!(
            "{}",
            json!({"removed": removed.address.to_string(), "address_type": removed.address_type.to_string()})
        );
    } else if removed.address == Address::ANY {
        println!("removed every peer's OOB data");
    } else {
        println!("removed the OOB data of {}", removed.address);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to a new or truncated file with mode 0600, refusing a symbolic link.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn value(m: &mut Map<String, Value>, key: &str, v: Option<OobValue>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v.to_hex()));
    }
}

/// The data as JSON: every field (values as hex in wire order) and both written forms.
fn to_json(data: &OobData) -> Value {
    let mut m = Map::new();
    let a = data.address();
    m.insert("transport".into(), json!(data.transport().to_string()));
    m.insert("address".into(), json!(a.address.to_string()));
    m.insert("address_type".into(), json!(a.address_type.to_string()));
    match data {
        OobData::Le(d) => {
            if let Some(r) = d.role {
                m.insert("role".into(), json!(r.to_string()));
            }
            value(&mut m, "confirm", d.confirm);
            value(&mut m, "random", d.random);
            value(&mut m, "tk", d.tk);
            if let Some(x) = d.appearance {
                m.insert("appearance".into(), json!(x));
            }
            if let Some(x) = d.flags {
                m.insert("flags".into(), json!(x));
            }
        }
        OobData::BrEdr(d) => {
            if let Some(c) = d.class {
                m.insert("class".into(), json!(c.to_string()));
            }
            value(&mut m, "hash192", d.hash192);
            value(&mut m, "rand192", d.rand192);
            value(&mut m, "hash256", d.hash256);
            value(&mut m, "rand256", d.rand256);
        }
    }
    if let Some(n) = data.name() {
        m.insert("name".into(), json!(n));
    }
    m.insert("ndef".into(), json!(Hex(&ndef::encode(data)).to_string()));
    m.insert("text".into(), json!(text::encode(data)));
    Value::Object(m)
}

/// Human-readable lines (values shown: the user asked for this file).
fn describe(data: &OobData) -> String {
    let v = to_json(data);
    let mut out = String::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    out
}
