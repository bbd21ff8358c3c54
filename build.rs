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
//!
//! It also links `mgmtctl` with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR): a position-independent binary's ~3,300 pointer fix-ups (vtables, panic
//! locations, string tables) take 1 KB instead of 80 KB, which the loader would otherwise read
//! at every start and keep mapped for the life of an agent. Only glibc 2.36 and later load
//! DT_RELR (the binary then names `GLIBC_ABI_DT_RELR`, so an older loader refuses it with a
//! clear message instead of running it unrelocated), so it is used only where the build runs
//! on the glibc it targets, 2.36 or later, linking with the Rust toolchain's LLD as above. Set
//! `BLUEZ_MGMT_PACK_RELOCS=0` to link without it (to build for an older glibc elsewhere).

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
    println!("cargo:rerun-if-env-changed=BLUEZ_MGMT_PACK_RELOCS");
    // The mgmtctl binary exists only with the `cli` feature.
    if env::var_os("CARGO_FEATURE_CLI").is_none() || !links_with_rust_lld() {
        return;
    }
    if env::var("BLUEZ_MGMT_PACK_RELOCS").as_deref() != Ok("0") && runs_on_glibc_with_relr() {
        println!("cargo:rustc-link-arg-bin=mgmtctl=-Wl,-z,pack-relative-relocs");
    }
    if env::var("PROFILE").as_deref() != Ok("release")
        || env::var("BLUEZ_MGMT_LINK_ORDER").as_deref() == Ok("0")
        || !order.is_file()
        || !recorded_with_this_toolchain(&recorded_with)
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=mgmtctl=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=mgmtctl=-Wl,--no-warn-symbol-ordering");
}

/// Whether this build links with the Rust toolchain's own LLD: on x86_64-unknown-linux-gnu
/// with Rust 1.90 or later (LLD by default since), unless a linker (`RUSTC_LINKER`, set by
/// Cargo from `target.<triple>.linker`) or linker flags in the rustflags (`-C linker...`,
/// `-C link-self-contained`, `-C link-arg=-fuse-ld=...`) change it.
fn links_with_rust_lld() -> bool {
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
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = rustc_version();
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (1, 90)
}

/// `rustc --version` of the compiler building this, or nothing.
fn rustc_version() -> String {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    match Command::new(rustc).arg("--version").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(_) => String::new(),
    }
}

/// Whether the order was recorded with this build's toolchain.
fn recorded_with_this_toolchain(recorded_with: &Path) -> bool {
    let recorded = std::fs::read_to_string(recorded_with).unwrap_or_default();
    !recorded.trim().is_empty() && rustc_version() == recorded.trim()
}

/// Whether the binary is built where it is meant to run (host and target the same, no
/// cross-compiling sysroot) and the C library here is glibc 2.36 or later, the first to load
/// DT_RELR relocations.
fn runs_on_glibc_with_relr() -> bool {
    if env::var_os("HOST") != env::var_os("TARGET") {
        return false;
    }
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
