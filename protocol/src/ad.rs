//! Advertising data and Extended Inquiry Response (EIR) data as a typed value: the AD
//! structures of Device Found's `EIR_Data`, of Add Advertising's advertising data and scan
//! response, and of the OOB data blocks.
//!
//! Both formats are the same sequence of AD structures (Core Specification Vol 3 Part C
//! §11, types in the Assigned Numbers' "Common Data Types"):
//!
//! ```text
//! Length (1) | AD_Type (1) | AD_Data (Length - 1)   ... repeated
//! ```
//! A zero Length ends the significant part; what follows it is padding (EIR is padded to 240
//! octets with zeros).
//!
//! # Contract
//! [`AdData::parse`] never panics, whatever the input: it returns every structure it could
//! read and, for malformed input, a [`MalformedAd`] that also carries the structures read
//! before the fault, the offset and the reason. Types this crate does not model are kept raw
//! ([`AdStructure::Other`]), so `AdData::parse(b)?.to_bytes()? == b` for every well-formed `b`
//! without padding. [`AdData::to_bytes`] refuses a structure longer than its length octet can
//! express; the kernel's own limits (31 octets for legacy advertising, more for extended) are
//! the caller's to check (Read Advertising Features).
//!
//! [`walk`] is the one reader of the length/type/data framing: [`AdData::parse`] types what
//! it yields, and readers that want only some types typed (the OOB data of `bluez_mgmt::oob`,
//! which keeps the others as sent) use it directly.
//!
//! # Secrets
//! The OOB data types (Simple Pairing hash and randomizer C/R-192 and C/R-256, Security
//! Manager TK, LE Secure Connections confirmation and random values) are typed as
//! [`OobValue`]s, which are secrets until pairing is over: `Debug`, `Display`
//! ([`AdStructure::value_text`]) and the serialised form print `<redacted>`, never the bytes.

use core::fmt;

use crate::address::Address;
use crate::class_of_device::ClassOfDevice;
use crate::hex::Hex;
use crate::uuid::Uuid128;

crate::open_enum! {
    /// An AD type (the Assigned Numbers' "Common Data Types"). Open: unknown values are kept.
    pub struct AdType(u8) {
        /// Flags.
        FLAGS = 0x01 => "flags",
        /// Incomplete List of 16-bit Service UUIDs.
        INCOMPLETE_UUID16 = 0x02 => "incomplete_uuid16",
        /// Complete List of 16-bit Service UUIDs.
        COMPLETE_UUID16 = 0x03 => "complete_uuid16",
        /// Incomplete List of 32-bit Service UUIDs.
        INCOMPLETE_UUID32 = 0x04 => "incomplete_uuid32",
        /// Complete List of 32-bit Service UUIDs.
        COMPLETE_UUID32 = 0x05 => "complete_uuid32",
        /// Incomplete List of 128-bit Service UUIDs.
        INCOMPLETE_UUID128 = 0x06 => "incomplete_uuid128",
        /// Complete List of 128-bit Service UUIDs.
        COMPLETE_UUID128 = 0x07 => "complete_uuid128",
        /// Shortened Local Name.
        SHORT_NAME = 0x08 => "short_name",
        /// Complete Local Name.
        COMPLETE_NAME = 0x09 => "complete_name",
        /// Tx Power Level.
        TX_POWER = 0x0a => "tx_power",
        /// Class of Device.
        CLASS_OF_DEVICE = 0x0d => "class_of_device",
        /// Simple Pairing Hash C-192 (OOB).
        HASH_C192 = 0x0e => "hash_c192",
        /// Simple Pairing Randomizer R-192 (OOB).
        RAND_R192 = 0x0f => "rand_r192",
        /// Security Manager TK Value (OOB).
        SM_TK = 0x10 => "sm_tk",
        /// Service Data - 16-bit UUID.
        SERVICE_DATA16 = 0x16 => "service_data16",
        /// Appearance.
        APPEARANCE = 0x19 => "appearance",
        /// LE Bluetooth Device Address.
        LE_ADDRESS = 0x1b => "le_address",
        /// LE Role.
        LE_ROLE = 0x1c => "le_role",
        /// Simple Pairing Hash C-256 (OOB).
        HASH_C256 = 0x1d => "hash_c256",
        /// Simple Pairing Randomizer R-256 (OOB).
        RAND_R256 = 0x1e => "rand_r256",
        /// Service Data - 32-bit UUID.
        SERVICE_DATA32 = 0x20 => "service_data32",
        /// Service Data - 128-bit UUID.
        SERVICE_DATA128 = 0x21 => "service_data128",
        /// LE Secure Connections Confirmation Value (OOB).
        LE_SC_CONFIRM = 0x22 => "le_sc_confirm",
        /// LE Secure Connections Random Value (OOB).
        LE_SC_RANDOM = 0x23 => "le_sc_random",
        /// URI.
        URI = 0x24 => "uri",
        /// Manufacturer Specific Data.
        MANUFACTURER_DATA = 0xff => "manufacturer_data",
    }
}

bitflags::bitflags! {
    /// The Flags AD type (Core Specification Supplement Part A §1.3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct AdFlags: u8 {
        /// LE Limited Discoverable Mode.
        const LE_LIMITED_DISCOVERABLE = 1 << 0;
        /// LE General Discoverable Mode.
        const LE_GENERAL_DISCOVERABLE = 1 << 1;
        /// BR/EDR Not Supported.
        const BR_EDR_NOT_SUPPORTED = 1 << 2;
        /// Simultaneous LE and BR/EDR to Same Device Capable (Controller).
        const SIMULTANEOUS_CONTROLLER = 1 << 3;
        /// Previously Used (Simultaneous LE and BR/EDR, Host).
        const SIMULTANEOUS_HOST = 1 << 4;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(AdFlags, u8);

crate::open_enum! {
    /// The LE Role AD type's value (Core Specification Supplement Part A §1.17).
    pub struct LeRole(u8) {
        /// Only Peripheral Role supported.
        PERIPHERAL_ONLY = 0x00 => "peripheral-only",
        /// Only Central Role supported.
        CENTRAL_ONLY = 0x01 => "central-only",
        /// Peripheral and Central supported; Peripheral preferred for connection establishment.
        PERIPHERAL_PREFERRED = 0x02 => "peripheral-preferred",
        /// Peripheral and Central supported; Central preferred for connection establishment.
        CENTRAL_PREFERRED = 0x03 => "central-preferred",
    }
}

/// A 128-bit OOB value (Simple Pairing hash or randomizer, TK, LE Secure Connections
/// confirmation or random value), in wire order (least significant octet first). A secret
/// until the pairing is over: `Debug`, [`AdStructure::value_text`] and the serialised form
/// print `<redacted>`; the bytes are the public field, for code that must hand them on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OobValue(pub [u8; 16]);

impl OobValue {
    /// True when all octets are zero ("not provided" to MGMT).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// The value as lower-case hex in wire order (for files meant to carry it).
    pub fn to_hex(&self) -> String {
        Hex(&self.0).to_string()
    }
}

impl fmt::Debug for OobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OobValue(<redacted>)")
    }
}

/// The pattern of every [`AdStructure`] that carries an [`OobValue`], binding it to `$v`.
macro_rules! oob_values {
    ($v:pat) => {
        AdStructure::HashC192($v)
            | AdStructure::RandR192($v)
            | AdStructure::SmTk($v)
            | AdStructure::HashC256($v)
            | AdStructure::RandR256($v)
            | AdStructure::LeScConfirm($v)
            | AdStructure::LeScRandom($v)
    };
}

/// One AD structure, typed by its AD type.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum AdStructure {
    /// Flags (0x01).
    Flags(AdFlags),
    /// 16-bit Service UUIDs (0x02 incomplete list, 0x03 complete list).
    Uuid16 {
        /// True for the complete list.
        complete: bool,
        /// The UUIDs.
        uuids: Vec<u16>,
    },
    /// 32-bit Service UUIDs (0x04 incomplete list, 0x05 complete list).
    Uuid32 {
        /// True for the complete list.
        complete: bool,
        /// The UUIDs.
        uuids: Vec<u32>,
    },
    /// 128-bit Service UUIDs (0x06 incomplete list, 0x07 complete list).
    Uuid128 {
        /// True for the complete list.
        complete: bool,
        /// The UUIDs.
        uuids: Vec<Uuid128>,
    },
    /// Shortened Local Name (0x08), as sent (UTF-8 by the specification; not checked).
    ShortName(Vec<u8>),
    /// Complete Local Name (0x09), as sent.
    CompleteName(Vec<u8>),
    /// Tx Power Level (0x0A), dBm.
    TxPower(i8),
    /// Class of Device (0x0D).
    ClassOfDevice(ClassOfDevice),
    /// Simple Pairing Hash C-192 (0x0E), BR/EDR OOB data.
    HashC192(OobValue),
    /// Simple Pairing Randomizer R-192 (0x0F), BR/EDR OOB data.
    RandR192(OobValue),
    /// Security Manager TK Value (0x10), LE legacy OOB data.
    SmTk(OobValue),
    /// Simple Pairing Hash C-256 (0x1D), BR/EDR OOB data.
    HashC256(OobValue),
    /// Simple Pairing Randomizer R-256 (0x1E), BR/EDR OOB data.
    RandR256(OobValue),
    /// LE Secure Connections Confirmation Value (0x22), LE OOB data.
    LeScConfirm(OobValue),
    /// LE Secure Connections Random Value (0x23), LE OOB data.
    LeScRandom(OobValue),
    /// Service Data for a 16-bit UUID (0x16).
    ServiceData16 {
        /// The service.
        uuid: u16,
        /// Its data.
        data: Vec<u8>,
    },
    /// Service Data for a 32-bit UUID (0x20).
    ServiceData32 {
        /// The service.
        uuid: u32,
        /// Its data.
        data: Vec<u8>,
    },
    /// Service Data for a 128-bit UUID (0x21).
    ServiceData128 {
        /// The service.
        uuid: Uuid128,
        /// Its data.
        data: Vec<u8>,
    },
    /// Appearance (0x19): category and subcategory, as the GAP Appearance value.
    Appearance(u16),
    /// LE Bluetooth Device Address (0x1B).
    LeAddress {
        /// The address.
        address: Address,
        /// True for a random address (the type octet's bit 0).
        random: bool,
    },
    /// LE Role (0x1C).
    LeRole(LeRole),
    /// URI (0x24): a scheme code point (0x01 for none) followed by the rest of the URI,
    /// as sent.
    Uri(Vec<u8>),
    /// Manufacturer Specific Data (0xFF).
    ManufacturerData {
        /// The company identifier.
        company: u16,
        /// Its data.
        data: Vec<u8>,
    },
    /// Any other AD type, kept as sent.
    Other {
        /// The AD type.
        ad_type: AdType,
        /// The AD data after the type octet.
        data: Vec<u8>,
    },
}

/// A sequence of AD structures: advertising data, scan response data or EIR data.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct AdData(pub Vec<AdStructure>);

/// Why AD data could not be read, where, and what had been read before.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MalformedAd {
    /// The structures read before the fault.
    pub parsed: AdData,
    /// Offset of the faulty structure's length octet.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for MalformedAd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed AD structure at offset {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for MalformedAd {}

/// An AD structure too long for its length octet (type and data over 255 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AdTooLong {
    /// The structure's AD type.
    pub ad_type: AdType,
    /// Its length after the length octet.
    pub len: usize,
}

impl fmt::Display for AdTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AD structure {} holds {} octets; its length octet allows 255",
            self.ad_type, self.len
        )
    }
}

impl std::error::Error for AdTooLong {}

/// Why a known AD type's data does not fit its type.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum BadAdValue {
    /// The type has a fixed length and the data another.
    Length {
        /// The AD type.
        ad_type: AdType,
        /// The length the specification gives it.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// Anything else: not a multiple of the item size, too short, a reserved value.
    Invalid {
        /// The AD type.
        ad_type: AdType,
        /// What is wrong, the type named.
        reason: String,
    },
}

impl BadAdValue {
    /// The AD type whose data is wrong.
    pub fn ad_type(&self) -> AdType {
        match self {
            BadAdValue::Length { ad_type, .. } | BadAdValue::Invalid { ad_type, .. } => *ad_type,
        }
    }
}

impl fmt::Display for BadAdValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadAdValue::Length {
                ad_type,
                expected,
                actual,
            } => write!(
                f,
                "{ad_type} needs {expected} octet(s) of data, has {actual}"
            ),
            BadAdValue::Invalid { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for BadAdValue {}

/// One AD structure as sent: where it starts, its type and its data, not yet typed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RawAd<'a> {
    /// Offset of its length octet.
    pub offset: usize,
    /// The AD type.
    pub ad_type: AdType,
    /// The AD data after the type octet.
    pub data: &'a [u8],
}

impl RawAd<'_> {
    /// The structure typed (see [`AdStructure::from_parts`]).
    pub fn typed(&self) -> Result<AdStructure, BadAdValue> {
        AdStructure::from_parts(self.ad_type, self.data)
    }
}

/// A length octet that promises more octets than follow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AdTruncated {
    /// Offset of the length octet.
    pub offset: usize,
    /// The AD type, when at least the type octet is there.
    pub ad_type: Option<AdType>,
    /// Octets the length octet promises.
    pub needed: usize,
    /// Octets that follow it.
    pub available: usize,
}

impl fmt::Display for AdTruncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "length octet says {}, only {} octet(s) follow",
            self.needed, self.available
        )
    }
}

impl std::error::Error for AdTruncated {}

/// The AD structures of `bytes`, untyped, until the end or a zero length octet (the rest is
/// padding); a truncated structure is the last item. The one walk over the wire format:
/// [`AdData::parse`] types what it yields, and readers that type only some AD types (the OOB
/// data) keep the others raw. Never panics.
pub fn walk(bytes: &[u8]) -> impl Iterator<Item = Result<RawAd<'_>, AdTruncated>> + '_ {
    let mut pos = 0;
    core::iter::from_fn(move || {
        let len = usize::from(*bytes.get(pos)?);
        if len == 0 {
            return None;
        }
        let offset = pos;
        let Some(body) = bytes.get(pos + 1..pos + 1 + len) else {
            let available = bytes.len() - pos - 1;
            pos = bytes.len();
            return Some(Err(AdTruncated {
                offset,
                ad_type: bytes.get(offset + 1).map(|t| AdType(*t)),
                needed: len,
                available,
            }));
        };
        pos += 1 + len;
        Some(Ok(RawAd {
            offset,
            ad_type: AdType(body[0]),
            data: &body[1..],
        }))
    })
}

/// Splits `data` into little-endian numbers of `N` octets; `None` unless it divides evenly.
fn chunks<const N: usize>(data: &[u8]) -> Option<impl Iterator<Item = [u8; N]> + '_> {
    (data.len() % N == 0).then(|| {
        data.chunks_exact(N).map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            a
        })
    })
}

fn uuid_prefix<const N: usize>(data: &[u8]) -> Option<([u8; N], Vec<u8>)> {
    let head = data.get(..N)?;
    let mut a = [0u8; N];
    a.copy_from_slice(head);
    Some((a, data[N..].to_vec()))
}

impl AdStructure {
    /// Types one structure from its AD type and data. `Err` says what is wrong with a known
    /// type's data (an odd length for 16-bit UUIDs, ...).
    pub fn from_parts(ad_type: AdType, data: &[u8]) -> Result<AdStructure, BadAdValue> {
        let fixed = |n: usize| -> Result<(), BadAdValue> {
            if data.len() == n {
                Ok(())
            } else {
                Err(BadAdValue::Length {
                    ad_type,
                    expected: n,
                    actual: data.len(),
                })
            }
        };
        let invalid = |reason: String| BadAdValue::Invalid { ad_type, reason };
        let multiple = |n: usize| {
            invalid(format!(
                "{ad_type} data is not a multiple of {n} octets ({})",
                data.len()
            ))
        };
        let at_least = |n: usize| {
            invalid(format!(
                "{ad_type} needs at least {n} octets, has {}",
                data.len()
            ))
        };
        let secret = |variant: fn(OobValue) -> AdStructure| -> Result<AdStructure, BadAdValue> {
            fixed(16)?;
            let mut v = [0u8; 16];
            v.copy_from_slice(data);
            Ok(variant(OobValue(v)))
        };
        Ok(match ad_type {
            AdType::FLAGS => {
                fixed(1)?;
                AdStructure::Flags(AdFlags::from_bits_retain(data[0]))
            }
            AdType::INCOMPLETE_UUID16 | AdType::COMPLETE_UUID16 => AdStructure::Uuid16 {
                complete: ad_type == AdType::COMPLETE_UUID16,
                uuids: chunks::<2>(data)
                    .ok_or_else(|| multiple(2))?
                    .map(u16::from_le_bytes)
                    .collect(),
            },
            AdType::INCOMPLETE_UUID32 | AdType::COMPLETE_UUID32 => AdStructure::Uuid32 {
                complete: ad_type == AdType::COMPLETE_UUID32,
                uuids: chunks::<4>(data)
                    .ok_or_else(|| multiple(4))?
                    .map(u32::from_le_bytes)
                    .collect(),
            },
            AdType::INCOMPLETE_UUID128 | AdType::COMPLETE_UUID128 => AdStructure::Uuid128 {
                complete: ad_type == AdType::COMPLETE_UUID128,
                uuids: chunks::<16>(data)
                    .ok_or_else(|| multiple(16))?
                    .map(Uuid128)
                    .collect(),
            },
            AdType::SHORT_NAME => AdStructure::ShortName(data.to_vec()),
            AdType::COMPLETE_NAME => AdStructure::CompleteName(data.to_vec()),
            AdType::TX_POWER => {
                fixed(1)?;
                AdStructure::TxPower(data[0] as i8)
            }
            AdType::CLASS_OF_DEVICE => {
                fixed(3)?;
                AdStructure::ClassOfDevice(ClassOfDevice([data[0], data[1], data[2]]))
            }
            AdType::SERVICE_DATA16 => {
                let (u, data) = uuid_prefix::<2>(data).ok_or_else(|| at_least(2))?;
                AdStructure::ServiceData16 {
                    uuid: u16::from_le_bytes(u),
                    data,
                }
            }
            AdType::SERVICE_DATA32 => {
                let (u, data) = uuid_prefix::<4>(data).ok_or_else(|| at_least(4))?;
                AdStructure::ServiceData32 {
                    uuid: u32::from_le_bytes(u),
                    data,
                }
            }
            AdType::SERVICE_DATA128 => {
                let (u, data) = uuid_prefix::<16>(data).ok_or_else(|| at_least(16))?;
                AdStructure::ServiceData128 {
                    uuid: Uuid128(u),
                    data,
                }
            }
            AdType::HASH_C192 => secret(AdStructure::HashC192)?,
            AdType::RAND_R192 => secret(AdStructure::RandR192)?,
            AdType::SM_TK => secret(AdStructure::SmTk)?,
            AdType::HASH_C256 => secret(AdStructure::HashC256)?,
            AdType::RAND_R256 => secret(AdStructure::RandR256)?,
            AdType::LE_SC_CONFIRM => secret(AdStructure::LeScConfirm)?,
            AdType::LE_SC_RANDOM => secret(AdStructure::LeScRandom)?,
            AdType::APPEARANCE => {
                fixed(2)?;
                AdStructure::Appearance(u16::from_le_bytes([data[0], data[1]]))
            }
            AdType::LE_ADDRESS => {
                fixed(7)?;
                let mut a = [0u8; 6];
                a.copy_from_slice(&data[..6]);
                if data[6] > 1 {
                    return Err(invalid(format!(
                        "le_address type octet {:#04x} is reserved (0x00 public, 0x01 random)",
                        data[6]
                    )));
                }
                AdStructure::LeAddress {
                    address: Address(a),
                    random: data[6] == 1,
                }
            }
            AdType::LE_ROLE => {
                fixed(1)?;
                AdStructure::LeRole(LeRole(data[0]))
            }
            AdType::URI => {
                if data.is_empty() {
                    return Err(at_least(1));
                }
                AdStructure::Uri(data.to_vec())
            }
            AdType::MANUFACTURER_DATA => {
                let (c, data) = uuid_prefix::<2>(data).ok_or_else(|| at_least(2))?;
                AdStructure::ManufacturerData {
                    company: u16::from_le_bytes(c),
                    data,
                }
            }
            _ => AdStructure::Other {
                ad_type,
                data: data.to_vec(),
            },
        })
    }

    /// Its AD type.
    pub fn ad_type(&self) -> AdType {
        match self {
            AdStructure::Flags(_) => AdType::FLAGS,
            AdStructure::Uuid16 { complete, .. } => {
                if *complete {
                    AdType::COMPLETE_UUID16
                } else {
                    AdType::INCOMPLETE_UUID16
                }
            }
            AdStructure::Uuid32 { complete, .. } => {
                if *complete {
                    AdType::COMPLETE_UUID32
                } else {
                    AdType::INCOMPLETE_UUID32
                }
            }
            AdStructure::Uuid128 { complete, .. } => {
                if *complete {
                    AdType::COMPLETE_UUID128
                } else {
                    AdType::INCOMPLETE_UUID128
                }
            }
            AdStructure::ShortName(_) => AdType::SHORT_NAME,
            AdStructure::CompleteName(_) => AdType::COMPLETE_NAME,
            AdStructure::TxPower(_) => AdType::TX_POWER,
            AdStructure::ClassOfDevice(_) => AdType::CLASS_OF_DEVICE,
            AdStructure::HashC192(_) => AdType::HASH_C192,
            AdStructure::RandR192(_) => AdType::RAND_R192,
            AdStructure::SmTk(_) => AdType::SM_TK,
            AdStructure::HashC256(_) => AdType::HASH_C256,
            AdStructure::RandR256(_) => AdType::RAND_R256,
            AdStructure::LeScConfirm(_) => AdType::LE_SC_CONFIRM,
            AdStructure::LeScRandom(_) => AdType::LE_SC_RANDOM,
            AdStructure::ServiceData16 { .. } => AdType::SERVICE_DATA16,
            AdStructure::ServiceData32 { .. } => AdType::SERVICE_DATA32,
            AdStructure::ServiceData128 { .. } => AdType::SERVICE_DATA128,
            AdStructure::Appearance(_) => AdType::APPEARANCE,
            AdStructure::LeAddress { .. } => AdType::LE_ADDRESS,
            AdStructure::LeRole(_) => AdType::LE_ROLE,
            AdStructure::Uri(_) => AdType::URI,
            AdStructure::ManufacturerData { .. } => AdType::MANUFACTURER_DATA,
            AdStructure::Other { ad_type, .. } => *ad_type,
        }
    }

    /// Its AD data (after the type octet), as sent.
    pub fn data(&self) -> Vec<u8> {
        fn prefixed(head: &[u8], rest: &[u8]) -> Vec<u8> {
            let mut v = head.to_vec();
            v.extend_from_slice(rest);
            v
        }
        match self {
            AdStructure::Flags(f) => vec![f.bits()],
            AdStructure::Uuid16 { uuids, .. } => {
                uuids.iter().flat_map(|u| u.to_le_bytes()).collect()
            }
            AdStructure::Uuid32 { uuids, .. } => {
                uuids.iter().flat_map(|u| u.to_le_bytes()).collect()
            }
            AdStructure::Uuid128 { uuids, .. } => uuids.iter().flat_map(|u| u.0).collect(),
            AdStructure::ShortName(n) | AdStructure::CompleteName(n) | AdStructure::Uri(n) => {
                n.clone()
            }
            AdStructure::TxPower(p) => vec![*p as u8],
            AdStructure::ClassOfDevice(c) => c.0.to_vec(),
            oob_values!(v) => v.0.to_vec(),
            AdStructure::ServiceData16 { uuid, data } => prefixed(&uuid.to_le_bytes(), data),
            AdStructure::ServiceData32 { uuid, data } => prefixed(&uuid.to_le_bytes(), data),
            AdStructure::ServiceData128 { uuid, data } => prefixed(&uuid.0, data),
            AdStructure::Appearance(a) => a.to_le_bytes().to_vec(),
            AdStructure::LeAddress { address, random } => {
                prefixed(&address.0, &[u8::from(*random)])
            }
            AdStructure::LeRole(r) => vec![r.0],
            AdStructure::ManufacturerData { company, data } => {
                prefixed(&company.to_le_bytes(), data)
            }
            AdStructure::Other { data, .. } => data.clone(),
        }
    }

    /// Its encoded length: length octet, type octet and data.
    pub fn encoded_len(&self) -> usize {
        2 + self.data().len()
    }

    /// The URI of a [`AdStructure::Uri`] as text, its scheme code point spelled out when
    /// this crate knows it (`http:`, `https:`), `None` for other structures.
    pub fn uri_text(&self) -> Option<String> {
        let AdStructure::Uri(raw) = self else {
            return None;
        };
        let (scheme, rest) = raw.split_first()?;
        let rest = String::from_utf8_lossy(rest);
        Some(match scheme {
            0x01 => rest.into_owned(),
            0x16 => format!("http:{rest}"),
            0x17 => format!("https:{rest}"),
            other => format!("<scheme {other:#04x}>{rest}"),
        })
    }

    /// The OOB value of a secret-carrying structure (hash, randomizer, TK, LE SC confirmation
    /// or random value), `None` for others.
    pub fn oob_value(&self) -> Option<OobValue> {
        match self {
            oob_values!(v) => Some(*v),
            _ => None,
        }
    }

    /// A short human reading of the value, without the type name (`Daniel's Tab S9`,
    /// `0x180f,0x180a`, `company=0x004c data=12020002`). OOB values read `<redacted>`.
    pub fn value_text(&self) -> String {
        let list = |v: Vec<String>| v.join(",");
        match self {
            AdStructure::Flags(f) => f.to_string().replace(' ', ","),
            AdStructure::Uuid16 { uuids, .. } => {
                list(uuids.iter().map(|u| format!("{u:#06x}")).collect())
            }
            AdStructure::Uuid32 { uuids, .. } => {
                list(uuids.iter().map(|u| format!("{u:#010x}")).collect())
            }
            AdStructure::Uuid128 { uuids, .. } => {
                list(uuids.iter().map(Uuid128::to_string).collect())
            }
            AdStructure::ShortName(n) | AdStructure::CompleteName(n) => {
                String::from_utf8_lossy(n).into_owned()
            }
            AdStructure::TxPower(p) => format!("{p} dBm"),
            AdStructure::ClassOfDevice(c) => c.to_string(),
            oob_values!(_) => "<redacted>".into(),
            AdStructure::ServiceData16 { uuid, data } => {
                format!("uuid={uuid:#06x} data={}", Hex(data))
            }
            AdStructure::ServiceData32 { uuid, data } => {
                format!("uuid={uuid:#010x} data={}", Hex(data))
            }
            AdStructure::ServiceData128 { uuid, data } => format!("uuid={uuid} data={}", Hex(data)),
            AdStructure::Appearance(a) => format!("{a:#06x}"),
            AdStructure::LeAddress { address, random } => {
                format!("{address} ({})", if *random { "random" } else { "public" })
            }
            AdStructure::LeRole(r) => r.to_string(),
            AdStructure::Uri(_) => self.uri_text().unwrap_or_default(),
            AdStructure::ManufacturerData { company, data } => {
                format!("company={company:#06x} data={}", Hex(data))
            }
            AdStructure::Other { data, .. } => Hex(data).to_string(),
        }
    }
}

impl fmt::Display for AdStructure {
    /// `type: value`, e.g. `complete_name: Daniel's Tab S9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.ad_type(), self.value_text())
    }
}

impl AdData {
    /// No structures.
    pub fn new() -> AdData {
        AdData::default()
    }

    /// Adds a structure (builder style).
    pub fn with(mut self, s: AdStructure) -> AdData {
        self.0.push(s);
        self
    }

    /// Reads AD structures until the end of `bytes` or a zero length octet (the rest is
    /// padding). Never panics; see the module's contract.
    pub fn parse(bytes: &[u8]) -> Result<AdData, MalformedAd> {
        let mut out = Vec::new();
        for raw in walk(bytes) {
            let (offset, reason) = match raw {
                Ok(raw) => match raw.typed() {
                    Ok(s) => {
                        out.push(s);
                        continue;
                    }
                    Err(e) => (raw.offset, e.to_string()),
                },
                Err(e) => (e.offset, e.to_string()),
            };
            return Err(MalformedAd {
                parsed: AdData(out),
                offset,
                reason,
            });
        }
        Ok(AdData(out))
    }

    /// The encoded structures, in order.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AdTooLong> {
        let mut out = Vec::with_capacity(self.encoded_len());
        for s in &self.0 {
            let data = s.data();
            let len = u8::try_from(data.len() + 1).map_err(|_| AdTooLong {
                ad_type: s.ad_type(),
                len: data.len() + 1,
            })?;
            out.push(len);
            out.push(s.ad_type().0);
            out.extend_from_slice(&data);
        }
        Ok(out)
    }

    /// The encoded length of all structures.
    pub fn encoded_len(&self) -> usize {
        self.0.iter().map(AdStructure::encoded_len).sum()
    }

    /// True when there are no structures.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name: the complete local name if present, else the shortened one.
    pub fn name(&self) -> Option<String> {
        let find = |complete: bool| {
            self.0.iter().find_map(|s| match s {
                AdStructure::CompleteName(n) if complete => Some(n),
                AdStructure::ShortName(n) if !complete => Some(n),
                _ => None,
            })
        };
        find(true)
            .or_else(|| find(false))
            .map(|n| String::from_utf8_lossy(n).into_owned())
    }

    /// Every service UUID listed (16- and 32-bit ones widened with the Bluetooth Base UUID).
    pub fn service_uuids(&self) -> Vec<Uuid128> {
        let mut out = Vec::new();
        for s in &self.0 {
            match s {
                AdStructure::Uuid16 { uuids, .. } => {
                    out.extend(uuids.iter().map(|u| Uuid128::from_u32(u32::from(*u))))
                }
                AdStructure::Uuid32 { uuids, .. } => {
                    out.extend(uuids.iter().map(|u| Uuid128::from_u32(*u)))
                }
                AdStructure::Uuid128 { uuids, .. } => out.extend(uuids.iter().copied()),
                _ => {}
            }
        }
        out
    }

    /// Updates `self` with what `newer` says: a structure of a type already present is
    /// replaced, a new type is added. Used to merge advertising reports and scan responses.
    pub fn merge(&mut self, newer: &AdData) {
        for s in &newer.0 {
            let t = s.ad_type();
            match self.0.iter_mut().find(|x| x.ad_type() == t) {
                Some(slot) => *slot = s.clone(),
                None => self.0.push(s.clone()),
            }
        }
    }
}

impl fmt::Display for AdData {
    /// The structures separated by `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl From<Vec<AdStructure>> for AdData {
    fn from(v: Vec<AdStructure>) -> AdData {
        AdData(v)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! JSON form: a list of `{"type": name, "value": ...}` objects.
    use super::*;
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde::{Serialize, Serializer};

    struct Value<'a>(&'a AdStructure);

    fn pair<S: Serializer>(s: S, k1: &str, v1: String, data: &[u8]) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(k1, &v1)?;
        m.serialize_entry("data", &Hex(data).to_string())?;
        m.end()
    }

    impl Serialize for Value<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let strings = |v: Vec<String>| v;
            match self.0 {
                AdStructure::Flags(f) => f.names().serialize(s),
                AdStructure::Uuid16 { uuids, .. } => {
                    strings(uuids.iter().map(|u| format!("{u:#06x}")).collect()).serialize(s)
                }
                AdStructure::Uuid32 { uuids, .. } => {
                    strings(uuids.iter().map(|u| format!("{u:#010x}")).collect()).serialize(s)
                }
                AdStructure::Uuid128 { uuids, .. } => {
                    strings(uuids.iter().map(Uuid128::to_string).collect()).serialize(s)
                }
                AdStructure::TxPower(p) => p.serialize(s),
                AdStructure::ServiceData16 { uuid, data } => {
                    pair(s, "uuid", format!("{uuid:#06x}"), data)
                }
                AdStructure::ServiceData32 { uuid, data } => {
                    pair(s, "uuid", format!("{uuid:#010x}"), data)
                }
                AdStructure::ServiceData128 { uuid, data } => {
                    pair(s, "uuid", uuid.to_string(), data)
                }
                AdStructure::ManufacturerData { company, data } => {
                    pair(s, "company", format!("{company:#06x}"), data)
                }
                AdStructure::LeAddress { address, random } => {
                    let mut m = s.serialize_map(Some(2))?;
                    m.serialize_entry("address", &address.to_string())?;
                    m.serialize_entry("type", if *random { "random" } else { "public" })?;
                    m.end()
                }
                other => other.value_text().serialize(s),
            }
        }
    }

    impl Serialize for AdStructure {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(2))?;
            let t = self.ad_type();
            match t.name() {
                Some(n) => m.serialize_entry("type", n)?,
                None => m.serialize_entry("type", &format!("{:#04x}", t.0))?,
            }
            m.serialize_entry("value", &Value(self))?;
            m.end()
        }
    }

    impl Serialize for AdData {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for x in &self.0 {
                seq.serialize_element(x)?;
            }
            seq.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::parse_hex;

    fn hex(s: &str) -> Vec<u8> {
        parse_hex(&s.replace([' ', '\\', '\n'], "")).unwrap()
    }

    /// Golden vectors: bytes, the structures they hold, where the bytes come from.
    #[test]
    fn golden() {
        let cases: [(&str, &str, Vec<AdStructure>); 5] = [
            (
                // Real: public/projet_rp-ble_capture.snoop record 105 (Device Found).
                "020102 1009 44616e69656c277320546162205339",
                "capture",
                vec![
                    AdStructure::Flags(AdFlags::LE_GENERAL_DISCOVERABLE),
                    AdStructure::CompleteName(b"Daniel's Tab S9".to_vec()),
                ],
            ),
            (
                // Real: same capture, record 155: Apple manufacturer data.
                "07ff4c0012020002",
                "capture",
                vec![AdStructure::ManufacturerData {
                    company: 0x004c,
                    data: hex("12020002"),
                }],
            ),
            (
                // Spec example: Core Specification Supplement Part A §1.1.5 uses a list of
                // 16-bit UUIDs; here Battery and Device Information services.
                "05030f180a18",
                "spec-style",
                vec![AdStructure::Uuid16 {
                    complete: true,
                    uuids: vec![0x180f, 0x180a],
                }],
            ),
            (
                // Spec layout: LE OOB data as Core Specification Supplement Part A §1.6, §1.16,
                // §1.17 lay it out (and the kernel's Read Local OOB Extended Data builds it):
                // LE address + type, LE role, LE SC confirmation and random values, flags.
                "081b 66554433221100 021c02 1122 000102030405060708090a0b0c0d0e0f \
                 1123 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff 020106",
                "spec layout",
                vec![
                    AdStructure::LeAddress {
                        address: "11:22:33:44:55:66".parse().unwrap(),
                        random: false,
                    },
                    AdStructure::LeRole(LeRole::PERIPHERAL_PREFERRED),
                    AdStructure::LeScConfirm(OobValue(core::array::from_fn(|i| i as u8))),
                    AdStructure::LeScRandom(OobValue(core::array::from_fn(|i| 0xf0 | i as u8))),
                    AdStructure::Flags(AdFlags::from_bits_retain(0x06)),
                ],
            ),
            (
                // Spec layout: BR/EDR OOB optional EIR (Core Specification Vol 3 Part C
                // §5.2.2.7 and Supplement Part A §1.6): class of device, hash C-192,
                // randomizer R-192, hash C-256, randomizer R-256.
                "040d0c025a 110e 01010101010101010101010101010101 \
                 110f 02020202020202020202020202020202 111d 03030303030303030303030303030303 \
                 111e 04040404040404040404040404040404",
                "spec layout",
                vec![
                    AdStructure::ClassOfDevice(ClassOfDevice([0x0c, 0x02, 0x5a])),
                    AdStructure::HashC192(OobValue([1; 16])),
                    AdStructure::RandR192(OobValue([2; 16])),
                    AdStructure::HashC256(OobValue([3; 16])),
                    AdStructure::RandR256(OobValue([4; 16])),
                ],
            ),
        ];
        for (bytes, origin, want) in &cases {
            let b = hex(bytes);
            let got = AdData::parse(&b).unwrap();
            assert_eq!(&got.0, want, "{origin}: {bytes}");
            assert_eq!(got.to_bytes().unwrap(), b, "{origin}: {bytes}");
        }
    }

    /// One structure of every modelled type, and an unknown one, each built, encoded,
    /// compared with hand-written bytes and parsed back.
    #[test]
    fn every_type_both_ways() {
        let uuid = Uuid128(core::array::from_fn(|i| i as u8));
        let table: Vec<(AdStructure, String)> = vec![
            (
                AdStructure::Flags(AdFlags::from_bits_retain(0x06)),
                "020106".into(),
            ),
            (
                AdStructure::Uuid16 {
                    complete: false,
                    uuids: vec![0x180f],
                },
                "03020f18".into(),
            ),
            (
                AdStructure::Uuid16 {
                    complete: true,
                    uuids: vec![],
                },
                "0103".into(),
            ),
            (
                AdStructure::Uuid32 {
                    complete: false,
                    uuids: vec![0x11223344],
                },
                "050444332211".into(),
            ),
            (
                AdStructure::Uuid32 {
                    complete: true,
                    uuids: vec![1],
                },
                "050501000000".into(),
            ),
            (
                AdStructure::Uuid128 {
                    complete: false,
                    uuids: vec![uuid],
                },
                format!("1106{}", Hex(&uuid.0)),
            ),
            (
                AdStructure::Uuid128 {
                    complete: true,
                    uuids: vec![uuid],
                },
                format!("1107{}", Hex(&uuid.0)),
            ),
            (AdStructure::ShortName(b"ab".to_vec()), "03086162".into()),
            (
                AdStructure::CompleteName(b"abc".to_vec()),
                "0409616263".into(),
            ),
            (AdStructure::TxPower(-12), "020af4".into()),
            (
                AdStructure::ClassOfDevice(ClassOfDevice([0x0c, 0x02, 0x5a])),
                "040d0c025a".into(),
            ),
            (
                AdStructure::ServiceData16 {
                    uuid: 0x180f,
                    data: vec![0x64],
                },
                "04160f1864".into(),
            ),
            (
                AdStructure::ServiceData32 {
                    uuid: 0x11223344,
                    data: vec![],
                },
                "052044332211".into(),
            ),
            (
                AdStructure::ServiceData128 {
                    uuid,
                    data: vec![9],
                },
                format!("1221{}09", Hex(&uuid.0)),
            ),
            (AdStructure::Appearance(0x03c1), "0319c103".into()),
            (
                AdStructure::LeAddress {
                    address: "11:22:33:44:55:66".parse().unwrap(),
                    random: true,
                },
                "081b66554433221101".into(),
            ),
            (
                AdStructure::LeRole(LeRole::CENTRAL_PREFERRED),
                "021c03".into(),
            ),
            (
                AdStructure::Uri(b"\x17//example.org".to_vec()),
                "0f2417 2f2f6578616d706c652e6f7267".into(),
            ),
            (
                AdStructure::ManufacturerData {
                    company: 0x05f1,
                    data: vec![1, 2],
                },
                "05fff1050102".into(),
            ),
            (
                AdStructure::Other {
                    ad_type: AdType(0x2a),
                    data: vec![0xaa],
                },
                "022aaa".into(),
            ),
        ];
        // The OOB values, each filled with its own type octet.
        let secrets: [fn(OobValue) -> AdStructure; 7] = [
            AdStructure::HashC192,
            AdStructure::RandR192,
            AdStructure::SmTk,
            AdStructure::HashC256,
            AdStructure::RandR256,
            AdStructure::LeScConfirm,
            AdStructure::LeScRandom,
        ];
        let table = table.into_iter().chain(secrets.map(|variant| {
            let t = variant(OobValue::default()).ad_type().0;
            let s = variant(OobValue([t; 16]));
            (s, format!("11{t:02x}{}", format!("{t:02x}").repeat(16)))
        }));
        let types: Vec<u8> = secrets.map(|v| v(OobValue::default()).ad_type().0).to_vec();
        assert_eq!(types, [0x0e, 0x0f, 0x10, 0x1d, 0x1e, 0x22, 0x23]);
        for (s, bytes) in table {
            let b = hex(&bytes);
            let data = AdData(vec![s.clone()]);
            assert_eq!(data.to_bytes().unwrap(), b, "{s}");
            assert_eq!(data.encoded_len(), b.len());
            assert_eq!(AdData::parse(&b).unwrap(), data, "{bytes}");
        }
    }

    #[test]
    fn readings() {
        let d = AdData::parse(&hex(
            "020106 0809 4d7950686f6e65 0319c103 1107 fb349b5f80000080001000000f180000",
        ))
        .unwrap();
        assert_eq!(d.name().as_deref(), Some("MyPhone"));
        assert_eq!(
            d.to_string(),
            "flags: le-general-discoverable,br-edr-not-supported; complete_name: MyPhone; \
             appearance: 0x03c1; complete_uuid128: 0000180f-0000-1000-8000-00805f9b34fb"
        );
        let uri = AdStructure::Uri(b"\x17//example.org".to_vec());
        assert_eq!(uri.uri_text().as_deref(), Some("https://example.org"));
        assert_eq!(
            d.service_uuids(),
            vec!["0000180f-0000-1000-8000-00805f9b34fb"
                .parse::<Uuid128>()
                .unwrap()]
        );
    }

    #[test]
    fn padding_and_malformed() {
        // EIR padded with zeros: the padding ends the data.
        let d = AdData::parse(&hex("0309616200000000")).unwrap();
        assert_eq!(d.0, vec![AdStructure::CompleteName(b"ab".to_vec())]);
        // Cut short: the first structure is kept, the error says where and why.
        let e = AdData::parse(&hex("0309616205ff4c")).unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(e.parsed.0.len(), 1);
        assert_eq!(
            e.to_string(),
            "malformed AD structure at offset 4: length octet says 5, only 2 octet(s) follow"
        );
        // A known type with the wrong length.
        let e = AdData::parse(&hex("04020f1800")).unwrap_err();
        assert!(e.reason.contains("multiple of 2"), "{e}");
        let e = AdData::parse(&hex("03010203")).unwrap_err();
        assert!(e.reason.contains("needs 1 octet"), "{e}");
        // Too long to build.
        let long = AdData(vec![AdStructure::CompleteName(vec![b'a'; 255])]);
        assert_eq!(long.to_bytes().unwrap_err().len, 256);
    }

    /// OOB values are secrets: neither `Debug`, nor the text reading, nor (with serde) the JSON
    /// form shows them; a wrong length names the type.
    #[test]
    fn oob_values_redacted() {
        let d = AdData::parse(&hex(&format!("1122{}", "5a".repeat(16)))).unwrap();
        assert_eq!(d.0[0].oob_value(), Some(OobValue([0x5a; 16])));
        for shown in [format!("{d:?}"), d.to_string()] {
            assert!(
                !shown.contains("5a5a") && !shown.contains("90, 90"),
                "{shown}"
            );
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        assert_eq!(d.to_string(), "le_sc_confirm: <redacted>");
        let e = AdStructure::from_parts(AdType::SM_TK, &[1, 2, 3]).unwrap_err();
        assert_eq!(
            e,
            BadAdValue::Length {
                ad_type: AdType::SM_TK,
                expected: 16,
                actual: 3
            }
        );
        assert_eq!(e.to_string(), "sm_tk needs 16 octet(s) of data, has 3");
    }

    /// The raw walk: offsets, types and data as sent; padding ends it; a cut structure is the
    /// last item and names its type.
    #[test]
    fn walk_raw() {
        let b = hex("020106 03ff4c00 00 0000");
        let got: Vec<_> = walk(&b).collect();
        assert_eq!(
            got,
            vec![
                Ok(RawAd {
                    offset: 0,
                    ad_type: AdType::FLAGS,
                    data: &[0x06]
                }),
                Ok(RawAd {
                    offset: 3,
                    ad_type: AdType::MANUFACTURER_DATA,
                    data: &[0x4c, 0x00]
                }),
            ]
        );
        let b = hex("020106 1122 0102");
        let last = walk(&b).last().unwrap().unwrap_err();
        assert_eq!(
            last,
            AdTruncated {
                offset: 3,
                ad_type: Some(AdType::LE_SC_CONFIRM),
                needed: 17,
                available: 3
            }
        );
        assert_eq!(walk(&hex("05")).next().unwrap().unwrap_err().ad_type, None);
    }

    #[test]
    fn merge_replaces_by_type() {
        let mut a = AdData::parse(&hex("020106 03086162")).unwrap();
        a.merge(&AdData::parse(&hex("0409616263 020a00")).unwrap());
        a.merge(&AdData::parse(&hex("020102")).unwrap());
        assert_eq!(a.name().as_deref(), Some("abc"));
        assert_eq!(a.0.len(), 4);
        assert_eq!(a.0[0], AdStructure::Flags(AdFlags::LE_GENERAL_DISCOVERABLE));
    }

    proptest::proptest! {
        /// Never panics; whatever parses re-encodes to the bytes up to the end or padding.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            if let Ok(d) = AdData::parse(&bytes) {
                let again = d.to_bytes().unwrap();
                proptest::prop_assert_eq!(&again[..], &bytes[..again.len()]);
                proptest::prop_assert!(bytes[again.len()..].first().is_none_or(|b| *b == 0));
            }
        }
    }
}
