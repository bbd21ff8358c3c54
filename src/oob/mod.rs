//! Out-of-band (OOB) pairing: the data one device hands another over NFC or a QR code so that
//! pairing is protected against a man in the middle without a display or keyboard.
//!
//! - [`OobData`] is the data of one device for one transport: [`LeOobData`] (LE address and
//!   type, role, LE Secure Connections confirmation and random values, ...) or
//!   [`BrEdrOobData`] (BD_ADDR, class, Simple Pairing hash and randomizer C/R-192 and
//!   C/R-256, ...). Every value is kept in the octet order of the EIR/AD structures and of
//!   MGMT (least significant octet first); nothing is reversed on the way.
//! - [`eir`]: OOB data read from and written to the EIR/AD structures that carry it (the
//!   kernel's Read Local OOB Extended Data reply, the NFC records), over
//!   [`crate::protocol::ad`]'s one codec of AD structures.
//! - [`ndef`]: NFC Forum connection-handover records `application/vnd.bluetooth.le.oob` and
//!   `application/vnd.bluetooth.ep.oob` (NDEF), read and written.
//! - [`text`]: a plain text form for a QR code (alphanumeric mode only).
//! - [`kernel`]: reading the local controller's data, adding and removing a peer's, over MGMT.
//!
//! Pairing with OOB data is ordinary pairing: add the peer's data ([`kernel::add_remote`]),
//! then pair (Pair Device) or let the peer pair; the kernel chooses the OOB method by itself
//! (LE: `smp.c` sets the SMP OOB data flag when it holds the peer's data, and uses its own
//! data when the peer's flag says it holds ours), and the outcome, keys and their
//! authentication arrive as for any pairing.
//!
//! What the kernel cannot do through MGMT: LE legacy OOB pairing (a 128-bit TK). BlueZ's
//! `doc/mgmt-protocol.rst` (Add Remote Out Of Band Data) says the 192-bit values must be zero
//! for LE addresses, "since LE legacy OOB is not supported", and the kernel's `mgmt.c`
//! (`add_remote_oob_data`) answers Invalid Parameters otherwise; `smp.c` never sets the OOB
//! flag for legacy pairing. Data that carries only a TK is refused with
//! [`kernel::OobError::LeLegacyOobUnsupported`].
//!
//! OOB values are secrets until the pairing is over: [`OobValue`] redacts itself in `Debug`,
//! and the library logs none of them above `trace`.

pub mod eir;
pub mod kernel;
pub mod ndef;
pub mod text;

use core::fmt;

use crate::protocol::{Address, AddressType, ClassOfDevice};

pub use eir::ParseError;

/// A 128-bit OOB value, redacted in `Debug` (the AD structures' own type).
pub use crate::protocol::ad::OobValue;

/// The LE Role AD type's value (the AD structures' own type). Open: values beyond 0x03 are
/// kept.
pub use crate::protocol::ad::LeRole;

/// The transport some OOB data is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OobTransport {
    /// BR/EDR Secure Simple Pairing.
    BrEdr,
    /// LE (Secure Connections; legacy OOB is not available through MGMT).
    Le,
}

impl fmt::Display for OobTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OobTransport::BrEdr => "BR/EDR",
            OobTransport::Le => "LE",
        })
    }
}

/// LE OOB data: the AD structures of an `application/vnd.bluetooth.le.oob` record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeOobData {
    /// LE Bluetooth Device Address (AD type 0x1B).
    pub address: Address,
    /// Its type: [`AddressType::LE_PUBLIC`] or [`AddressType::LE_RANDOM`].
    pub address_type: AddressType,
    /// LE Role (0x1C).
    pub role: Option<LeRole>,
    /// LE Secure Connections Confirmation Value (0x22).
    pub confirm: Option<OobValue>,
    /// LE Secure Connections Random Value (0x23).
    pub random: Option<OobValue>,
    /// Security Manager TK Value (0x10), for LE legacy OOB (not usable through MGMT).
    pub tk: Option<OobValue>,
    /// Appearance (0x19).
    pub appearance: Option<u16>,
    /// Flags (0x01).
    pub flags: Option<u8>,
    /// Local name (0x09 complete, or 0x08 shortened when no complete name is present).
    pub name: Option<String>,
    /// Other AD structures, kept as (type, data) in their order.
    pub other: Vec<(u8, Vec<u8>)>,
}

/// BR/EDR OOB data: the fields of an `application/vnd.bluetooth.ep.oob` record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrEdrOobData {
    /// BD_ADDR.
    pub address: Address,
    /// Class of Device (EIR type 0x0D).
    pub class: Option<ClassOfDevice>,
    /// Simple Pairing Hash C-192 (0x0E).
    pub hash192: Option<OobValue>,
    /// Simple Pairing Randomizer R-192 (0x0F).
    pub rand192: Option<OobValue>,
    /// Simple Pairing Hash C-256 (0x1D).
    pub hash256: Option<OobValue>,
    /// Simple Pairing Randomizer R-256 (0x1E).
    pub rand256: Option<OobValue>,
    /// Local name (0x09 complete, or 0x08 shortened when no complete name is present).
    pub name: Option<String>,
    /// Other EIR structures, kept as (type, data) in their order.
    pub other: Vec<(u8, Vec<u8>)>,
}

/// One device's OOB data for one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OobData {
    /// LE.
    Le(LeOobData),
    /// BR/EDR.
    BrEdr(BrEdrOobData),
}

impl OobData {
    /// Its transport.
    pub fn transport(&self) -> OobTransport {
        match self {
            OobData::Le(_) => OobTransport::Le,
            OobData::BrEdr(_) => OobTransport::BrEdr,
        }
    }

    /// The device address and its MGMT address type.
    pub fn address(&self) -> crate::protocol::AddressInfo {
        match self {
            OobData::Le(d) => crate::protocol::AddressInfo::new(d.address, d.address_type),
            OobData::BrEdr(d) => crate::protocol::AddressInfo::new(d.address, AddressType::BR_EDR),
        }
    }

    /// The device's name, if the data carries one.
    pub fn name(&self) -> Option<&str> {
        match self {
            OobData::Le(d) => d.name.as_deref(),
            OobData::BrEdr(d) => d.name.as_deref(),
        }
    }
}
