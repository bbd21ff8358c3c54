//! `bluez-mgmt`: the Linux Bluetooth Management API (MGMT) spoken directly over the kernel's
//! HCI control channel, with no D-Bus and no bluetoothd.
//!
//! The wire format lives in the I/O-free crate [`bluez_mgmt_protocol`] (re-exported as
//! [`protocol`]); this crate adds everything that does I/O or keeps state.
//!
//! # Data flow
//! ```text
//!                 ┌────────────── Client (tokio) ──────────────┐
//!  your code ───▶ │ call / subscribe / Controller              │
//!  Agent runner ─▶│     │                       ▲              │
//!                 │     ▼                       │              │
//!                 │  Session (sans-IO: matching by (index, opcode),
//!                 │           one ordinary command in flight,   │
//!                 │           pairing replies overtake, timeouts)
//!                 └─────┬───────────────────────┬──────────────┘
//!                       │ frames                │ frames
//!                 ┌─────▼───────────────────────┴──────────────┐
//!                 │ Transport: kernel socket │ replay of a btsnoop
//!                 │   (HCI_CHANNEL_CONTROL)  │ capture │ recording │
//!                 └────────────────────────────────────────────┘
//!  KeyStore (BlueZ's /var/lib/bluetooth format) ◀── New Link Key / New LTK / IRK / CSRK
//! ```
//!
//! - [`socket`]: the kernel control socket (the crate's only `unsafe`, in one small module).
//! - [`session`]: the sans-IO core. [`client`]: the async driver, typed calls for every
//!   command, event subscriptions with explicit lag, [`client::Controller`] handles.
//! - [`transport`]: kernel, replay (checks every command against a capture and feeds the
//!   recorded events) and recording (writes a btsnoop capture of a live session).
//! - [`agent`]: the `Agent` trait, built-in agents and the runner that answers pairing
//!   requests; [`association`]: which pairing method two IO capabilities lead to.
//! - [`keystore`]: bonds on disk in BlueZ's format, loaded back into the kernel at start.
//! - [`capture`]: btsnoop files in the monitor format that `btmon -w` writes.
//! - [`oob`]: out-of-band pairing data: the kernel's and a peer's, NFC (NDEF) and QR text forms.
//!
//! # Example: the same client code against a recording
//! A real capture of kernel 6.1 (MGMT 1.22) replayed through the client: the replay transport
//! checks that we send exactly what the recorded program sent, and answers with what the
//! kernel answered.
//! ```
//! use bluez_mgmt::client::Client;
//! use bluez_mgmt::protocol::{command::ReadVersion, ControllerIndex};
//! use bluez_mgmt::transport::{replay, ReplaySocket};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! rt.block_on(async {
//!     let recording = replay("fixtures/le-sc-passkey.btsnoop", ReplaySocket::FirstCommand)?;
//!     let client = Client::with_transport(recording);
//!     let version = client.call(ControllerIndex::NONE, &ReadVersion {}).await?;
//!     assert_eq!((version.version, version.revision), (1, 22));
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```

pub use bluez_mgmt_protocol as protocol;

pub mod agent;
pub mod association;
pub mod capture;
pub mod client;
pub mod keystore;
pub mod oob;
pub mod session;
pub mod socket;
pub mod transport;
