//! `bluez-mgmt`: the Linux Bluetooth Management API (MGMT) spoken directly over the kernel's
//! HCI control channel, with no D-Bus and no bluetoothd.
//!
//! The wire format lives in [`bluez_mgmt_protocol`] (re-exported as [`protocol`]); this crate
//! adds what does I/O: btsnoop capture files ([`capture`]).

pub use bluez_mgmt_protocol as protocol;

pub mod capture;
