//! Links `mgmtctl`'s release build with its recorded function order
//! (`packaging/link-order/mgmtctl.txt`): the functions an agent runs at start-up and on the
//! pairing path are placed together, so the kernel, which maps a binary's code 64 KiB around
//! each page a process touches, maps far less of it (see `packaging/link-order/record` and
//! the README's Benchmarks).
//!
//! The order names symbols, and a Rust symbol's name carries a hash of the crates that built
//! it: the order fits builds with the toolchain it was recorded with
//! (`packaging/link-order/rustc-version`) and `Cargo.lock`'s versions (`--locked`). It is
//! used only there, and only where the link is known to go through LLD, the one linker here
//! that reads a symbol order (`--symbol-ordering-file`): the x86_64 GNU/Linux target, which
//! Rust (1.90 and later) links with its own LLD unless a linker is configured. Any other
//! build links as it would without this script. Symbols the order names that a build does
//! not have are skipped: a stale order costs memory, never a failed link. Set
//! `BLUEZ_MGMT_LINK_ORDER=0` to link without it.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    let dir = Path::new(&env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("packaging/link-order");
    let order = dir.join("mgmtctl.txt");
    let recorded_with = dir.join("rustc-version");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-changed={}", recorded_with.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BLUEZ_MGMT_LINK_ORDER");
    // The mgmtctl binary exists only with the `cli` feature.
    if env::var_os("CARGO_FEATURE_CLI").is_none()
        || env::var("PROFILE").as_deref() != Ok("release")
        || env::var("BLUEZ_MGMT_LINK_ORDER").as_deref() == Ok("0")
        || !order.is_file()
        || !order_fits_this_build(&recorded_with)
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=mgmtctl=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=mgmtctl=-Wl,--no-warn-symbol-ordering");
}

/// Whether this build links with the Rust toolchain's own LLD, with the toolchain the order
/// was recorded with: on x86_64-unknown-linux-gnu (LLD by default since Rust 1.90, which the
/// recorded toolchain is), unless a linker (`RUSTC_LINKER`, set by Cargo from
/// `target.<triple>.linker`) or linker flags in the rustflags (`-C linker...`,
/// `-C link-self-contained`, `-C link-arg=-fuse-ld=...`) change it.
fn order_fits_this_build(recorded_with: &Path) -> bool {
    if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "link-self-contained", "fuse-ld"]
        .iter()
        .any(|flag| rustflags.contains(flag))
    {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let recorded = std::fs::read_to_string(recorded_with).unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    !recorded.trim().is_empty() && String::from_utf8_lossy(&out.stdout).trim() == recorded.trim()
}
