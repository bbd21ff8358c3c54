//! `bluez-mgmt`: the Linux Bluetooth Management API (MGMT) spoken directly over the kernel's
//! HCI control channel, with no D-Bus and no bluetoothd.
//!
//! The wire format lives in [`bluez_mgmt_protocol`] (re-exported as [`protocol`]); this crate
//! adds everything that does I/O or keeps state.

pub use bluez_mgmt_protocol as protocol;

pub mod agent;
pub mod association;
pub mod capture;
pub mod client;
pub mod keystore;
pub mod session;
pub mod socket;
pub mod transport;
