//! `bluez-mgmt`: the Linux Bluetooth Management API (MGMT) spoken directly over the kernel's
//! HCI control channel, with no D-Bus and no bluetoothd.
//!
//! The wire format lives in the I/O-free crate [`bluez_mgmt_protocol`] (re-exported as
//! [`protocol`]); this crate adds everything that does I/O or keeps state.
//!
//! # Data flow
//! ```text
//!  socket (HCI_CHANNEL_CONTROL) │ replay of a btsnoop capture │ recording
//!        │ frames                                ▲ command frames
//!  ┌─────▼──── client driver (a thread, or a task) ┴──────────────────────┐
//!  │ first (thread): a confirmation whose answer is known (the agent's    │
//!  │ answer_at_once, our own Just Works) gets its reply written from the  │
//!  │ frame's bytes before it is decoded; then any pairing request with    │
//!  │ nothing queued ahead of it goes to PairingCore, the agent's answer   │
//!  │ is polled once, and a ready answer's reply is written at once; its   │
//!  │ report is sent from here and its result settled here: the service's  │
//!  │ task is not woken (it is for a refused reply)                        │
//!  │ then an event no subscriber's filter passes (and not a command       │
//!  │ result, a controller added or removed) is dropped, undecoded         │
//!  │ Session (sans-IO): matches replies by (index, opcode), one ordinary  │
//!  │ command in flight, pairing replies overtake, timeouts                │
//!  │ publish: each subscriber's filter applies BEFORE its queue (a task   │
//!  │ hands the pairing service its requests here, the same way)           │
//!  └──┬──────────────────────────┬────────────────────────────▲───────────┘
//!     │ your Subscription        │ pairing service queue:     │ other commands:
//!     │ (its own bounded queue)  │ keys, Index Added/Removed, │ replies to answers
//!     ▼                          ▼ requests queued behind them│ that took time, Pair..
//!  your code ─ call ─▶   ┌────── pairing service task ────────┴───────────┐
//!                        │ PairingCore (sans-IO; one lock shared with the │
//!                        │ driver): answer, auto-accept our own pairings, │
//!                        │ time limits, store by hint, forget on unpair,  │
//!                        │ set up controllers                             │
//!                        │ agent futures not ready at once polled here    │
//!                        └──────┬──────────────────────────────▲──────────┘
//!                               │ Store / Forget, in order       │ results
//!                               ▼ per device                     │
//!                        blocking pool: KeyStore (bluetoothd's /var/lib/bluetooth)
//! ```
//! A User Confirmation Request that the agent answers at once goes from the socket to the reply
//! with no hand-off: the driver thread reads it, the pairing service's core decides and the agent's
//! answer is polled there, and the reply is written (reply lane) first; the session, other
//! subscribers and the reply's bookkeeping see the request after that. The service's task is not
//! woken for such an answer: its report goes to the report stream from the driver, and the reply's
//! Command Complete is settled there too (only a refused reply wakes the task, to report it), so a
//! pairing answered at once runs none of the service's code on the caller's runtime between the
//! request and its keys (a task reading the report stream still gets the report). When the answer
//! is known before the request comes ([`agent::Agent::answer_at_once`], or a Just Works request of
//! a pairing the service started), the reply is written straight from the request's bytes, before
//! even the decoding, and the request then goes through the core as any other. An answer that takes
//! time (a prompt) crosses one hand-off: the service's task polls it and submits the reply to the
//! driver. Disk writes never sit on that path. The service's task runs on the caller's tokio
//! runtime, single-threaded (`mgmtctl` uses one) or not; the driver thread enters that runtime's
//! context. When the service starts it runs made-up requests through a throwaway copy of that path,
//! both ways a driver hands them over (nothing is sent and no agent is asked), so that the first
//! real request is not the first run of its code.
//!
//! - [`socket`]: the kernel control socket (the crate's only `unsafe`, in one small module).
//! - [`session`]: the sans-IO core. [`client`]: the async driver, typed calls for every
//!   command, event subscriptions filtered before queueing with explicit lag,
//!   [`client::Controller`] handles.
//! - [`transport`]: kernel, replay (checks every command against a capture and feeds the
//!   recorded events) and recording (writes a btsnoop capture of a live session).
//! - [`agent`]: the `Agent` trait and built-in agents; [`pairing`]: the pairing service (its
//!   sans-IO core and tokio driver) that answers requests with an agent, keeps bonds and sets
//!   up controllers as they come and go; [`association`]: which pairing method two IO
//!   capabilities lead to.
//! - [`keystore`]: bonds on disk in BlueZ's format, loaded back into the kernel at start.
//! - [`capture`]: btsnoop files in the monitor format that `btmon -w` writes.
//! - [`oob`]: out-of-band pairing data: the kernel's and a peer's, NFC (NDEF) and QR text forms.
//! - [`guide`]: testing your pairing logic against a recording of your own board (record,
//!   pick the socket, replay with your agent, read a mismatch). Runnable programs are in
//!   examples/ (`cargo run --example replay_capture` needs no Bluetooth).
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

/// The crate's error: opaque, with a [`kind`](Error::kind) to match on. The client's errors,
/// the store's and the pairing service's all convert into it, keeping their kind (a
/// Permission Denied from the socket is [`ErrorKind::PermissionDenied`] wherever it surfaces).
pub use client::{Error, ErrorKind};

pub mod agent;
pub mod association;
pub mod capture;
pub mod client;
pub mod guide;
pub mod keystore;
pub mod oob;
pub mod pairing;
pub mod session;
pub mod socket;
pub mod transport;
