//! `mgmtctl bonds`: the bonds stored in a bluetoothd-layout directory, one line each, key bytes
//! only on request.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{info::key_hex, AdapterId, Bond, KeyStore, DEFAULT_DIR};
use bluez_mgmt::protocol::command::ReadInfo;
use bluez_mgmt::protocol::ControllerIndex;

use crate::escape::escape_controls;
use crate::CliError;

// Arguments of `mgmtctl bonds`.
#[derive(clap::Args)]
pub struct Args {
    /// Storage directory, in bluetoothd's layout: DIR/ADAPTER/DEVICE/info.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Only this adapter: its address, the name of its directory (`static-ADDRESS` for an
    /// LE-only controller known by its static address). Default: every adapter directory.
    #[arg(long, conflicts_with = "index")]
    pub adapter: Option<AdapterId>,
    /// Only the adapter of controller N (`0` or `hci0`; its address read with Read Controller
    /// Information; needs the kernel and CAP_NET_ADMIN).
    #[arg(long, value_name = "N", value_parser = crate::agent::parse_index)]
    pub index: Option<ControllerIndex>,
    /// Also print the key bytes (secret: anyone holding them can impersonate the peer).
    #[arg(long)]
    pub show_keys: bool,
    /// One JSON object per bond: `{"adapter","device","type","keys","security","name"}`, and
    /// with --show-keys `"key_bytes"` (hex by key name).
    #[arg(long)]
    pub json: bool,
}

/// The KEYS column: the library's key names, comma separated.
fn keys(b: &Bond) -> String {
    let names: Vec<&str> = b.keys().into_iter().map(|k| k.name()).collect();
    names.join(",")
}

fn print_keys(out: &mut impl Write, b: &Bond) -> io::Result<()> {
    if let Some(k) = &b.link_key {
        writeln!(
            out,
            "    link key        {}  type {} ({}), PIN length {}",
            key_hex(k.value.expose()),
            k.key_type.0,
            k.key_type,
            k.pin_length
        )?;
    }
    for (label, k) in [
        ("LTK central    ", &b.long_term_key),
        ("LTK peripheral ", &b.peripheral_long_term_key),
    ] {
        if let Some(k) = k {
            writeln!(
                out,
                "    {label} {}  type {} ({}), EncSize {}, EDiv {}, Rand {}",
                key_hex(k.value.expose()),
                k.key_type.0,
                k.key_type,
                k.encryption_size,
                k.ediv,
                k.rand
            )?;
        }
    }
    if let Some(k) = &b.irk {
        writeln!(out, "    IRK             {}", key_hex(k.value.expose()))?;
    }
    for (label, c) in [
        ("CSRK local      ", &b.local_csrk),
        ("CSRK remote     ", &b.remote_csrk),
    ] {
        if let Some(c) = c {
            writeln!(
                out,
                "    {label}{}  {}, counter {}",
                key_hex(c.info.value.expose()),
                c.info.csrk_type,
                c.counter
            )?;
        }
    }
    Ok(())
}

/// The key bytes of `b` as hex, by key name (`--json --show-keys`).
fn key_bytes(b: &Bond) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    if let Some(k) = &b.link_key {
        m.insert("link_key".into(), key_hex(k.value.expose()).into());
    }
    if let Some(k) = &b.long_term_key {
        m.insert("ltk_central".into(), key_hex(k.value.expose()).into());
    }
    if let Some(k) = &b.peripheral_long_term_key {
        m.insert("ltk_peripheral".into(), key_hex(k.value.expose()).into());
    }
    if let Some(k) = &b.irk {
        m.insert("irk".into(), key_hex(k.value.expose()).into());
    }
    if let Some(c) = &b.local_csrk {
        m.insert("csrk_local".into(), key_hex(c.info.value.expose()).into());
    }
    if let Some(c) = &b.remote_csrk {
        m.insert("csrk_remote".into(), key_hex(c.info.value.expose()).into());
    }
    serde_json::Value::Object(m)
}

/// The address of controller `index`, read from the kernel.
fn controller_address(index: ControllerIndex) -> Result<AdapterId, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = Client::open().await?;
        let info = client.call(index, &ReadInfo {}).await?;
        if info.address == bluez_mgmt::protocol::Address::ANY {
            return Err(format!(
                "controller {index} has no public address; name its directory with --adapter"
            )
            .into());
        }
        Ok(info.address.into())
    })
}

/// Runs the subcommand. Exit status 1 when some info file could not be read (the readable
/// bonds are still listed; the errors go to stderr with file and line) and when the store
/// directory does not exist.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match std::fs::metadata(&args.dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("{}: not a directory", args.dir.display()).into()),
        Err(e) => {
            return Err(format!(
                "no bond store at {}: {e} (bluetoothd's is {DEFAULT_DIR}; name another with --dir)",
                args.dir.display()
            )
            .into())
        }
    }
    let store = KeyStore::open(&args.dir);
    let adapters = match (args.adapter, args.index) {
        (Some(a), _) => vec![a],
        (None, Some(n)) => vec![controller_address(n)?],
        (None, None) => store.adapters()?,
    };
    let mut failed = false;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if !args.json {
        writeln!(
            out,
            "{:<17}  {:<17}  {:<16}  {:<28}  {:<18}  NAME",
            "ADAPTER", "DEVICE", "TYPE", "KEYS", "SECURITY"
        )?;
    }
    for adapter in adapters {
        let (bonds, errors) = store.bonds(adapter)?;
        for b in &bonds {
            if args.json {
                let mut v = serde_json::json!({
                    "adapter": adapter.to_string(),
                    "device": b.device.to_string(),
                    "type": b.transport().to_string(),
                    "keys": keys(b).split(',').filter(|k| !k.is_empty()).collect::<Vec<_>>(),
                    "security": b.security().to_string(),
                    "name": b.name.as_deref(),
                });
                if args.show_keys {
                    v["key_bytes"] = key_bytes(b);
                }
                let json = v.to_string();
                let text = crate::escape::json_escape_rest(&json);
                writeln!(out, "{text}")?;
                continue;
            }
            let line = format!(
                "{:<17}  {:<17}  {:<16}  {:<28}  {:<18}  {}",
                adapter.to_string(),
                b.device.to_string(),
                b.transport().to_string(),
                keys(b),
                b.security().to_string(),
                escape_controls(b.name.as_deref().unwrap_or(""))
            );
            writeln!(out, "{}", line.trim_end())?;
            if args.show_keys {
                print_keys(&mut out, b)?;
            }
        }
        for e in errors {
            eprintln!("mgmtctl: {}", escape_controls(&e.to_string()));
            failed = true;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
