//! `mgmtctl bonds`: the bonds stored in a bluetoothd-layout directory, one line each, key bytes
//! only on request.

use std::path::PathBuf;
use std::process::ExitCode;

use bluez_mgmt::client::Client;
use bluez_mgmt::keystore::{info::key_hex, AdapterId, Bond, KeyStore, DEFAULT_DIR};
use bluez_mgmt::protocol::command::ReadInfo;
use bluez_mgmt::protocol::ControllerIndex;

use crate::CliError;

/// Arguments of `mgmtctl bonds`.
#[derive(clap::Args)]
pub struct Args {
    /// Storage directory, in bluetoothd's layout: DIR/ADAPTER/DEVICE/info.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Only this adapter: its address, the name of its directory (`static-ADDRESS` for an
    /// LE-only controller known by its static address). Default: every adapter directory.
    #[arg(long, conflicts_with = "index")]
    pub adapter: Option<AdapterId>,
    /// Only the adapter of controller N (its address read with Read Controller Information;
    /// needs the kernel and CAP_NET_ADMIN).
    #[arg(long, value_name = "N")]
    pub index: Option<u16>,
    /// Also print the key bytes (secret: anyone holding them can impersonate the peer).
    #[arg(long)]
    pub show_keys: bool,
}

/// The KEYS column: the library's key names, comma separated.
fn keys(b: &Bond) -> String {
    let names: Vec<&str> = b.keys().into_iter().map(|k| k.name()).collect();
    names.join(",")
}

fn print_keys(b: &Bond) {
    if let Some(k) = &b.link_key {
        println!(
            "    link key        {}  type {} ({}), PIN length {}",
            key_hex(k.value.expose()),
            k.key_type.0,
            k.key_type,
            k.pin_length
        );
    }
    for (label, k) in [
        ("LTK central    ", &b.long_term_key),
        ("LTK peripheral ", &b.peripheral_long_term_key),
    ] {
        if let Some(k) = k {
            println!(
                "    {label} {}  type {} ({}), EncSize {}, EDiv {}, Rand {}",
                key_hex(k.value.expose()),
                k.key_type.0,
                k.key_type,
                k.encryption_size,
                k.ediv,
                k.rand
            );
        }
    }
    if let Some(k) = &b.irk {
        println!("    IRK             {}", key_hex(k.value.expose()));
    }
    for (label, c) in [
        ("CSRK local      ", &b.local_csrk),
        ("CSRK remote     ", &b.remote_csrk),
    ] {
        if let Some(c) = c {
            println!(
                "    {label}{}  {}, counter {}",
                key_hex(c.info.value.expose()),
                c.info.csrk_type,
                c.counter
            );
        }
    }
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
/// bonds are still listed; the errors go to stderr with file and line).
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let store = KeyStore::open(&args.dir);
    let adapters = match (args.adapter, args.index) {
        (Some(a), _) => vec![a],
        (None, Some(n)) => vec![controller_address(ControllerIndex(n))?],
        (None, None) => store.adapters()?,
    };
    let mut failed = false;
    println!(
        "{:<17}  {:<17}  {:<16}  {:<28}  {:<18}  NAME",
        "ADAPTER", "DEVICE", "TYPE", "KEYS", "SECURITY"
    );
    for adapter in adapters {
        let (bonds, errors) = store.bonds(adapter)?;
        for b in &bonds {
            let line = format!(
                "{:<17}  {:<17}  {:<16}  {:<28}  {:<18}  {}",
                adapter.to_string(),
                b.device.to_string(),
                b.transport().to_string(),
                keys(b),
                b.security().to_string(),
                b.name.as_deref().unwrap_or("")
            );
            println!("{}", line.trim_end());
            if args.show_keys {
                print_keys(b);
            }
        }
        for e in errors {
            eprintln!("mgmtctl: {e}");
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
