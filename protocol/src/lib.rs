//! The wire format of the Linux Bluetooth Management API (MGMT): every command, every reply
//! and every event the kernel's HCI control channel speaks, as typed Rust values with exact
//! encodings in both directions.
//!
//! This crate does no I/O, has no async and no `unsafe`. The `bluez-mgmt` crate puts it on a
//! socket; captures and replays use it too.
//!
//! # Layers
//! ```text
//!   bytes ──RawFrame::parse──▶ (code, index, params)
//!         ──EventFrame/CommandFrame::decode──▶ Event / AnyCommand   (typed by code)
//!                                               └─ CommandComplete.reply: AnyReply (by opcode)
//! ```
//! Each message is a struct written once with `wire_struct!`; the tables in [`command`] and
//! [`event`] tie codes to types. Number spaces the kernel owns ([`Opcode`], [`EventCode`],
//! [`Status`], [`AddressType`], key types, ...) are open: unknown values are kept, printed in
//! hex, and re-encoded unchanged. [`Settings`] keeps bits it has no name for.
//!
//! # Contract
//! See [`wire`] for the length and panic contract. In short: decoding never panics and reports
//! the message, field, offset and the expected and actual lengths; encoding is exact, and
//! `decode(encode(x)) == x` and `encode(decode(b)) == b` for every valid `b`.
//!
//! # Example
//! A New Settings event for hci0 as the kernel sends it (powered, connectable, bondable, SSP,
//! BR/EDR, LE, secure connections):
//! ```
//! use bluez_mgmt_protocol::{EventFrame, Event, Settings};
//! let bytes = [0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0xd3, 0x0a, 0x00, 0x00];
//! let frame = EventFrame::decode(&bytes)?;
//! assert_eq!(frame.index.to_string(), "hci0");
//! let Event::NewSettings(ev) = &frame.event else { panic!() };
//! assert!(ev.current_settings.contains(Settings::POWERED | Settings::LE));
//! assert_eq!(frame.encode().unwrap(), bytes);
//! # Ok::<(), bluez_mgmt_protocol::DecodeError>(())
//! ```

#![forbid(unsafe_code)]

pub(crate) use wire::{open_enum, wire_struct};

pub mod ad;
pub mod address;
pub mod advertising;
pub mod class_of_device;
pub mod code;
pub mod command;
pub mod config_options;
pub mod controller_type;
pub mod device_flags;
pub mod device_found;
pub mod discovery;
pub mod error;
pub mod event;
pub mod frame;
pub mod hex;
pub mod index;
pub mod io_capability;
pub mod keys;
pub mod name;
pub mod phy;
pub mod settings;
pub mod status;
pub mod tlv;
pub mod uuid;
pub mod wire;

pub use ad::{AdData, AdFlags, AdStructure, AdType, OobValue};
pub use address::{Address, AddressInfo, AddressType, ParseAddressError};
pub use advertising::AdvertisingFlags;
pub use class_of_device::ClassOfDevice;
pub use code::{EventCode, Opcode};
pub use command::{AnyCommand, AnyReply, Command};
pub use config_options::ConfigOptions;
pub use controller_type::{Bus, ControllerType};
pub use device_flags::DeviceFlags;
pub use device_found::DeviceFoundFlags;
pub use discovery::DiscoveryType;
pub use error::{DecodeError, FrameTooLong, Problem};
pub use event::{Event, EventParameters};
pub use frame::{CommandFrame, EventFrame, RawFrame};
pub use index::ControllerIndex;
pub use io_capability::IoCapability;
pub use keys::{
    ConnectionParameters, CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo,
    LinkKeyType, LongTermKey, LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
};
pub use name::{FixedName, LocalName, ShortName};
pub use phy::Phys;
pub use settings::Settings;
pub use status::Status;
pub use tlv::Tlv;
pub use uuid::{ParseUuidError, Uuid128};
pub use wire::Wire;
