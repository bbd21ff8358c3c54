//! Links `mgmtctl`'s release build with its recorded function order
//! (`packaging/link-order/mgmtctl.txt`): the functions an agent runs at start-up and on the
//! pairing path are placed together, so the kernel, which maps a binary's code 64 KiB around
//! each page a process touches, maps far less of it (see `packaging/link-order/record` and
//! the README's Benchmarks).
//!
//! Only where the link is known to go through LLD, the one linker here that reads a symbol
//! order (`--symbol-ordering-file`): the x86_64 GNU/Linux target on Rust 1.90 or later, which
//! links with its own LLD unless told otherwise, with no linker configured for the build. Any
//! other build links as it would without this script. Symbols the file names that a build
//! does not have are skipped: a stale order costs memory, never a failed link. Set
//! `BLUEZ_MGMT_LINK_ORDER=0` to link without it.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    let order = Path::new(&env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("packaging/link-order/mgmtctl.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BLUEZ_MGMT_LINK_ORDER");
    // The mgmtctl binary exists only with the `cli` feature.
    if env::var_os("CARGO_FEATURE_CLI").is_none()
        || env::var("PROFILE").as_deref() != Ok("release")
        || env::var("BLUEZ_MGMT_LINK_ORDER").as_deref() == Ok("0")
        || !order.is_file()
        || !links_with_rust_lld()
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=mgmtctl=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=mgmtctl=-Wl,--no-warn-symbol-ordering");
}

/// Whether this build links with the Rust toolchain's own LLD: the default on
/// x86_64-unknown-linux-gnu since Rust 1.90, as long as neither a linker (`RUSTC_LINKER`,
/// set by Cargo from `target.<triple>.linker`) nor linker flags in the rustflags change it.
fn links_with_rust_lld() -> bool {
    if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if rustflags.contains("linker") || rustflags.contains("link-self-contained") {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
