//! What the host-side tests share (as h2's tests share `h2-support`): MGMT frame builders and
//! scripted exchanges, fixture paths and capture loaders, key-store helpers, a script playing
//! the kernel behind a socket pair (so a test runs through the real socket code). Each test file that
//! needs them says `mod support;`; the kernel tier's `tests/kernel/support.rs` builds on it.
//! Opcodes and event codes are the protocol crate's named constants (`Opcode::READ_INFO`,
//! `EventCode::NEW_LINK_KEY`), never local copies.
//!
//! A module, not a crate: a support crate would depend on `bluez-mgmt` while `bluez-mgmt`
//! dev-depends on it, and each test binary would link two copies of the library's types.

// Each test crate uses a different part of this module.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod agents;
pub mod captures;
pub mod frames;
pub mod socket;
pub mod store;

pub use agents::*;
pub use captures::*;
pub use frames::*;
pub use socket::*;
pub use store::*;
