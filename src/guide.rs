//! Guide: testing your pairing logic against a recording of your own board.
//!
//! The [`Client`](crate::client::Client) runs the same over the kernel socket and over a
//! replayed capture. A replay plays the kernel's part: it checks that every command your code
//! writes equals, byte for byte, the next command the recorded program wrote, and feeds your
//! code the events the kernel sent, in order. So a pairing recorded once on a real board
//! becomes a `cargo test` of your [`Agent`](crate::agent::Agent) that needs no Bluetooth.
//! The steps below are followed on `fixtures/kernel-le-sc-numeric-comparison.btsnoop`, a
//! pairing the kernel tier recorded (LE Secure Connections, Numeric Comparison, kernel 6.1
//! against a Bumble peer); tests/examples_replay.rs and `cargo run --example replay_capture`
//! do the same.
//!
//! # 1. Record a pairing on your board
//!
//! The kernel logs every control socket's commands and events on its monitor channel, each
//! tagged with the socket's cookie. Record that while your program (or `mgmtctl pair`, or
//! `mgmtctl agent`) pairs:
//!
//! ```text
//! sudo btmon -w pairing.btsnoop &              # every socket's commands and events
//! sudo target/debug/examples/pair_and_store 0 C0:BB:00:00:00:02 le-random
//! sudo mgmtctl monitor --write events.btsnoop   # events only, see below
//! ```
//!
//! `btmon -w` (BlueZ's monitor) writes what a replay needs: the commands your program sent
//! and the events it received. `mgmtctl monitor --write FILE` records its *own* socket: the
//! events every control socket receives (pairing requests, new keys, devices found), but not
//! another program's commands, which the kernel shows only on the monitor channel. Use it to
//! keep a board's events (and read them with `mgmtctl decode FILE`); for a replay of your
//! agent, record with `btmon -w`, or record inside your program by wrapping its transport in
//! [`RecordingTransport`](crate::transport::RecordingTransport):
//!
//! ```no_run
//! use bluez_mgmt::capture::CaptureWriter;
//! use bluez_mgmt::client::Client;
//! use bluez_mgmt::transport::{KernelTransport, RecordingTransport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let kernel = KernelTransport::open()?;
//! let writer = CaptureWriter::create("pairing.btsnoop")?; // a new file, mode 0600
//! let client = Client::with_transport(RecordingTransport::new(
//!     kernel,
//!     writer,
//!     std::process::id(), // the cookie the records carry
//!     "my-agent",         // the program name `mgmtctl decode --sockets` shows
//! ));
//! # drop(client);
//! # Ok(())
//! # }
//! ```
//!
//! A capture holds secrets (the keys the kernel handed out), so it is written mode 0600;
//! `mgmtctl decode` redacts key values when it prints one.
//!
//! # 2. Pick the socket
//!
//! A btmon capture holds every program that had a control socket open (bluetoothd, a
//! monitor, your program). List them:
//!
//! ```text
//! $ mgmtctl decode --sockets fixtures/kernel-le-sc-numeric-comparison.btsnoop
//! cookie instance commands events program
//!      1        0        5      9 "pairing_bumble:"
//! ```
//!
//! and name the one to replay with a [`ReplaySocket`](crate::transport::ReplaySocket):
//! `FirstCommand` (the socket that sent the capture's first command: enough when your program
//! is the only one sending), `Cookie(c)`, or `Instance { cookie, instance }` when the kernel
//! gave a closed socket's cookie to the next one (instance 0 is the first socket with that
//! cookie, 1 the one opened after it closed):
//!
//! ```
//! use bluez_mgmt::transport::{Conversation, ReplaySocket};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Two programs in turn, both given cookie 1 (`mgmtctl decode --sockets` lists
//! // instances 0 and 1).
//! let second = Conversation::from_capture(
//!     "fixtures/client-two-controllers.btsnoop",
//!     ReplaySocket::Instance { cookie: 1, instance: 1 },
//! )?;
//! assert_eq!((second.cookie, second.instance), (1, 1));
//! # Ok(())
//! # }
//! ```
//!
//! # 3. Copy it into your tests and replay it with your agent
//!
//! Put the file beside your tests (`tests/fixtures/pairing.btsnoop`; paths in tests are
//! relative to the crate root) and drive it as your program does: a [`Client`] over the
//! replay, your agent, a [`PairingService`](crate::pairing::PairingService) configured like
//! the recorded program. The service writes only the commands its configuration asks for:
//! here the recorded program paired with Pair Device (so no Set IO Capability), loaded no
//! bonds and did not power the controller. If your recording also holds commands your test
//! does not send (the program read the controller's information first, say), cut the
//! conversation down to the ones it does, keeping each step's source:
//! `pairing_part` in examples/replay_capture.rs does that for the pairing commands.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use bluez_mgmt::agent::{Call, KeyKind, KeyNotice, Peer, ScriptedAgent};
//! use bluez_mgmt::client::Client;
//! use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
//! use bluez_mgmt::protocol::{AddressInfo, AddressType, ControllerIndex, IoCapability};
//! use bluez_mgmt::transport::{replay, ReplaySocket};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
//!     let recording = Arc::new(replay(
//!         "fixtures/kernel-le-sc-numeric-comparison.btsnoop",
//!         ReplaySocket::FirstCommand,
//!     )?);
//!     let client = Client::with_transport(recording.clone());
//!     // Your agent; a ScriptedAgent answers from a list and records what it was asked.
//!     let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(true);
//!     let hci0 = ControllerIndex(0);
//!     let service = PairingService::new(
//!         client,
//!         agent.clone(),
//!         ServiceConfig {
//!             controllers: Controllers::Only(vec![hci0]),
//!             register_io_capability: false,
//!             load_bonds: false,
//!             power_on: false,
//!             ..ServiceConfig::default()
//!         },
//!     );
//!     let _task = service.start().await?;
//!     let peer = Peer::new(
//!         hci0,
//!         AddressInfo::new("C0:BB:00:00:00:02".parse()?, AddressType::LE_RANDOM),
//!     );
//!     service
//!         .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(10))
//!         .await?;
//!
//!     // 4. Assert on the answers: what your agent was asked, and what came of it.
//!     agent.wait_for_calls(2, Duration::from_secs(5)).await;
//!     agent.assert_calls(&[
//!         Call::ConfirmValue { peer: peer.clone(), value: 210_959 },
//!         Call::Completed {
//!             peer: peer.clone(),
//!             key: KeyNotice {
//!                 kind: KeyKind::LongTermKey,
//!                 authenticated: true,
//!                 persistent: true,
//!             },
//!         },
//!     ]);
//!
//!     // The recorded program then unpaired the device under three address types.
//!     for (address, kind) in [
//!         ("00:BB:00:00:00:02", AddressType::BR_EDR),
//!         ("00:BB:00:00:00:02", AddressType::LE_PUBLIC),
//!         ("C0:BB:00:00:00:02", AddressType::LE_RANDOM),
//!     ] {
//!         let p = Peer::new(hci0, AddressInfo::new(address.parse()?, kind));
//!         let _ = service.unpair(&p, true).await; // Not Paired for the first two
//!     }
//!     // Every recorded command was written, in order, and every event delivered.
//!     recording.check_done()?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```
//!
//! # 5. When your code sends something else: the mismatch report
//!
//! Change the agent to refuse (`then_confirm(false)`) and the service answers with User
//! Confirmation Negative Reply where the recording holds User Confirmation Reply. The replay
//! refuses the command, keeps a [`Mismatch`](crate::transport::Mismatch)
//! ([`ScriptedTransport::mismatch`](crate::transport::ScriptedTransport::mismatch); its text is
//! also the error the client's call failed with), and closes the connection, so the pairing
//! fails at once instead of waiting for a timeout. tests/examples_replay.rs
//! (`a_refusing_agent_fails_with_the_decoded_mismatch`) prints this report:
//!
//! ```text
//! pairing with hci0 C0:BB:00:00:00:02 (LE Random) failed: link to the kernel failed: the connection closed while Pair Device on hci0 was pending
//! replay mismatch: command #1 differs from the script (capture record #42, socket cookie 1 of "pairing_bumble:")
//!   expected: hci0 User Confirmation Reply (0x001c) UserConfirmReply { address: AddressInfo { address: Address(C0:BB:00:00:00:02), address_type: AddressType(LE Random) } }
//!             1c000000070002000000bbc002
//!   actual:   hci0 User Confirmation Negative Reply (0x001d) UserConfirmNegativeReply { address: AddressInfo { address: Address(C0:BB:00:00:00:02), address_type: AddressType(LE Random) } }
//!             1d000000070002000000bbc002
//! ```
//!
//! How to read it:
//! - `command #1`: the second command of the conversation (counting from 0) is where your
//!   code and the recording part; the first, Pair Device, matched.
//! - `capture record #42, socket cookie 1 of "pairing_bumble:"`: where the expected command
//!   is in the file (`mgmtctl decode FILE` numbers records the same way; look at the records
//!   before it to see which event your code was answering) and which program sent it.
//! - `expected` and `actual`: both commands decoded in words, then their bytes. The same
//!   command with other parameters (another passkey, another IO capability) means your agent
//!   answered differently; another command (here a negative reply instead of a positive one)
//!   means it decided differently; `unexpected command ... after the end of the script` means
//!   your code sent something the recorded program never did.
//!
//! The same test, in code: the failure carries both commands in words, the record and the
//! socket.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Duration;
//! # use bluez_mgmt::agent::{Peer, ScriptedAgent};
//! # use bluez_mgmt::client::Client;
//! # use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
//! # use bluez_mgmt::protocol::{AddressInfo, AddressType, ControllerIndex, IoCapability};
//! # use bluez_mgmt::transport::{replay, ReplaySocket};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # rt.block_on(async {
//! # let recording = Arc::new(replay(
//! #     "fixtures/kernel-le-sc-numeric-comparison.btsnoop",
//! #     ReplaySocket::FirstCommand,
//! # )?);
//! # let client = Client::with_transport(recording.clone());
//! # let hci0 = ControllerIndex(0);
//! // As above, with an agent that refuses.
//! let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO).then_confirm(false);
//! # let service = PairingService::new(client, agent, ServiceConfig {
//! #     controllers: Controllers::Only(vec![hci0]),
//! #     register_io_capability: false,
//! #     load_bonds: false,
//! #     power_on: false,
//! #     ..ServiceConfig::default()
//! # });
//! # let _task = service.start().await?;
//! # let peer = Peer::new(hci0, AddressInfo::new("C0:BB:00:00:00:02".parse()?, AddressType::LE_RANDOM));
//! let paired = service
//!     .pair(&peer, IoCapability::DISPLAY_YES_NO, Duration::from_secs(10))
//!     .await;
//! assert!(paired.is_err());
//! let report = recording.mismatch().expect("a mismatch").to_string();
//! assert!(report.contains("expected: hci0 User Confirmation Reply (0x001c)"));
//! assert!(report.contains("actual:   hci0 User Confirmation Negative Reply (0x001d)"));
//! assert!(report.contains("capture record #42, socket cookie 1 of \"pairing_bumble:\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! # Further
//! - examples/replay_capture.rs: the same replay for any recorded pairing (it reads the
//!   device and IO capability from the recorded Pair Device, and the typed passkey from the
//!   recorded reply), with an agent that prints what it is asked.
//! - The crate's own replay tests: tests/pairing_fixtures.rs (every association model),
//!   tests/agent_replay.rs, tests/replay_mismatch.rs; fixtures/README.md says how each
//!   fixture was recorded.
//!
//! [`Client`]: crate::client::Client
