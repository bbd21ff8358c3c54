//! OOB data read from and written to EIR/AD structures: in the kernel's Read Local Out Of
//! Band Extended Data reply, in the NFC records of [`super::ndef`], and (as hex) in
//! [`super::text`].
//!
//! The wire format is [`crate::protocol::ad`]'s: its [`walk`] splits the structures, its
//! [`AdStructure`] types the ones OOB data is made of (address, role, names, class, flags,
//! appearance and the secret values: hash and randomizer C/R-192 and C/R-256, TK, LE Secure
//! Connections confirmation and random values), and [`AdData`] writes them. What this module
//! adds is OOB's reading of them: which structures make [`LeOobData`] and [`BrEdrOobData`], that
//! each may appear once, that the LE address is mandatory and names are UTF-8, and errors that
//! name the field as the Core Specification Supplement, Part A calls it. Structures of other
//! types are kept raw, unchecked, in their order.

use core::fmt;

use super::{BrEdrOobData, LeOobData};
use crate::protocol::ad::{walk, AdData, AdStructure, AdTruncated, AdType, BadAdValue};
use crate::protocol::{Address, AddressType};

/// The specification's name of each AD type OOB data is made of, for error messages.
const FIELDS: &[(AdType, &str)] = &[
    (AdType::FLAGS, "Flags (0x01)"),
    (AdType::SHORT_NAME, "Shortened Local Name (0x08)"),
    (AdType::COMPLETE_NAME, "Complete Local Name (0x09)"),
    (AdType::CLASS_OF_DEVICE, "Class of Device (0x0D)"),
    (AdType::HASH_C192, "Simple Pairing Hash C-192 (0x0E)"),
    (AdType::RAND_R192, "Simple Pairing Randomizer R-192 (0x0F)"),
    (AdType::SM_TK, "Security Manager TK Value (0x10)"),
    (AdType::APPEARANCE, "Appearance (0x19)"),
    (AdType::LE_ADDRESS, "LE Bluetooth Device Address (0x1B)"),
    (AdType::LE_ROLE, "LE Role (0x1C)"),
    (AdType::HASH_C256, "Simple Pairing Hash C-256 (0x1D)"),
    (AdType::RAND_R256, "Simple Pairing Randomizer R-256 (0x1E)"),
    (
        AdType::LE_SC_CONFIRM,
        "LE Secure Connections Confirmation Value (0x22)",
    ),
    (
        AdType::LE_SC_RANDOM,
        "LE Secure Connections Random Value (0x23)",
    ),
];

/// The AD types LE OOB data is read from (the others are kept raw).
const LE_TYPES: [AdType; 9] = [
    AdType::LE_ADDRESS,
    AdType::LE_ROLE,
    AdType::LE_SC_CONFIRM,
    AdType::LE_SC_RANDOM,
    AdType::SM_TK,
    AdType::APPEARANCE,
    AdType::FLAGS,
    AdType::COMPLETE_NAME,
    AdType::SHORT_NAME,
];

/// The AD types BR/EDR OOB data is read from (the others are kept raw).
const BREDR_TYPES: [AdType; 7] = [
    AdType::CLASS_OF_DEVICE,
    AdType::HASH_C192,
    AdType::RAND_R192,
    AdType::HASH_C256,
    AdType::RAND_R256,
    AdType::COMPLETE_NAME,
    AdType::SHORT_NAME,
];

/// The field name of AD type `ad_type` ("AD structure" for types this module keeps raw).
pub fn field_name(ad_type: AdType) -> &'static str {
    FIELDS
        .iter()
        .find(|f| f.0 == ad_type)
        .map_or("AD structure", |f| f.1)
}

/// Why OOB data did not parse. Every variant names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ended inside `field`.
    Truncated {
        /// The field.
        field: &'static str,
        /// Octets it needs.
        needed: usize,
        /// Octets left.
        available: usize,
    },
    /// `field` has the wrong length.
    Length {
        /// The field.
        field: &'static str,
        /// The length the specification gives it.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// `field` has a value it cannot have.
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A mandatory `field` is absent.
    Missing {
        /// The field.
        field: &'static str,
    },
    /// `field` appears twice.
    Duplicate {
        /// The field.
        field: &'static str,
    },
}

impl ParseError {
    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ParseError::Truncated { field, .. }
            | ParseError::Length { field, .. }
            | ParseError::Invalid { field, .. }
            | ParseError::Missing { field }
            | ParseError::Duplicate { field } => field,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated {
                field,
                needed,
                available,
            } => write!(
                f,
                "{field}: truncated ({needed} octets needed, {available} left)"
            ),
            ParseError::Length {
                field,
                expected,
                actual,
            } => write!(f, "{field}: {actual} octets, expected {expected}"),
            ParseError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            ParseError::Missing { field } => write!(f, "{field}: missing"),
            ParseError::Duplicate { field } => write!(f, "{field}: appears twice"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<AdTruncated> for ParseError {
    fn from(e: AdTruncated) -> ParseError {
        ParseError::Truncated {
            field: e.ad_type.map_or("AD structure", field_name),
            needed: e.needed,
            available: e.available,
        }
    }
}

impl From<BadAdValue> for ParseError {
    fn from(e: BadAdValue) -> ParseError {
        let field = field_name(e.ad_type());
        match e {
            BadAdValue::Length {
                expected, actual, ..
            } => ParseError::Length {
                field,
                expected,
                actual,
            },
            other => ParseError::Invalid {
                field,
                reason: other.to_string(),
            },
        }
    }
}

/// AD structures kept as sent, (type, data) in their order: the `other` of OOB data.
type Kept = Vec<(u8, Vec<u8>)>;

/// Reads the structures of `bytes`: those of a type in `wanted` are typed (their data
/// checked), names go to the returned [`Names`], any other typed structure to `store`, which
/// gives back what it does not keep. The rest is returned raw, as sent, in order.
fn read(
    bytes: &[u8],
    wanted: &[AdType],
    mut store: impl FnMut(AdStructure) -> Result<Option<AdStructure>, ParseError>,
) -> Result<(Names, Kept), ParseError> {
    let mut names = Names::default();
    let mut other = Vec::new();
    for raw in walk(bytes) {
        let raw = raw?;
        if !wanted.contains(&raw.ad_type) {
            other.push((raw.ad_type.0, raw.data.to_vec()));
            continue;
        }
        if let Some(s) = names.take(raw.typed()?)? {
            if let Some(s) = store(s)? {
                other.push((s.ad_type().0, s.data()));
            }
        }
    }
    Ok((names, other))
}

fn set<T>(slot: &mut Option<T>, ad_type: AdType, value: T) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::Duplicate {
            field: field_name(ad_type),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// Names: the complete one wins over the shortened one.
#[derive(Default)]
struct Names {
    complete: Option<String>,
    short: Option<String>,
}

impl Names {
    /// Takes a name structure; gives any other back.
    fn take(&mut self, s: AdStructure) -> Result<Option<AdStructure>, ParseError> {
        let (slot, t, n) = match s {
            AdStructure::CompleteName(n) => (&mut self.complete, AdType::COMPLETE_NAME, n),
            AdStructure::ShortName(n) => (&mut self.short, AdType::SHORT_NAME, n),
            other => return Ok(Some(other)),
        };
        let text = String::from_utf8(n).map_err(|e| ParseError::Invalid {
            field: field_name(t),
            reason: format!("not UTF-8 (at octet {})", e.utf8_error().valid_up_to()),
        })?;
        set(slot, t, text)?;
        Ok(None)
    }

    fn name(self) -> Option<String> {
        self.complete.or(self.short)
    }

    /// The structure written for `name`: the complete name, cut to what its length octet
    /// holds (254 octets).
    fn structure(name: &str) -> AdStructure {
        AdStructure::CompleteName(name.as_bytes()[..name.len().min(254)].to_vec())
    }
}

/// A structure kept raw, written back as it came (cut to 254 octets of data).
fn raw((t, data): &(u8, Vec<u8>)) -> AdStructure {
    AdStructure::Other {
        ad_type: AdType(*t),
        data: data[..data.len().min(254)].to_vec(),
    }
}

/// The bytes of `structures`; each fits its length octet (values are fixed-size, names and
/// raw data cut to 254 octets).
fn encode(structures: Vec<AdStructure>) -> Vec<u8> {
    AdData(structures)
        .to_bytes()
        .unwrap_or_else(|e| unreachable!("OOB structures fit their length octets: {e}"))
}

/// LE OOB data from AD structures (the payload of an `application/vnd.bluetooth.le.oob`
/// record, or the kernel's LE Read Local OOB Extended Data). The LE Bluetooth Device Address
/// is mandatory.
pub fn le_from_ad(bytes: &[u8]) -> Result<LeOobData, ParseError> {
    let mut d = LeOobData::default();
    let mut address = None;
    let (names, other) = read(bytes, &LE_TYPES, |s| {
        let t = s.ad_type();
        match s {
            AdStructure::LeAddress { address: a, random } => {
                let at = if random {
                    AddressType::LE_RANDOM
                } else {
                    AddressType::LE_PUBLIC
                };
                set(&mut address, t, (a, at))?
            }
            AdStructure::LeRole(r) => set(&mut d.role, t, r)?,
            AdStructure::LeScConfirm(v) => set(&mut d.confirm, t, v)?,
            AdStructure::LeScRandom(v) => set(&mut d.random, t, v)?,
            AdStructure::SmTk(v) => set(&mut d.tk, t, v)?,
            AdStructure::Appearance(a) => set(&mut d.appearance, t, a)?,
            AdStructure::Flags(f) => set(&mut d.flags, t, f.bits())?,
            other => return Ok(Some(other)),
        }
        Ok(None)
    })?;
    let (a, at) = address.ok_or(ParseError::Missing {
        field: field_name(AdType::LE_ADDRESS),
    })?;
    d.address = a;
    d.address_type = at;
    d.name = names.name();
    d.other = other;
    Ok(d)
}

/// The AD structures of LE OOB data: address, role, TK, confirmation, random, appearance,
/// flags, name, then the others.
pub fn le_to_ad(d: &LeOobData) -> Vec<u8> {
    let mut out = vec![AdStructure::LeAddress {
        address: d.address,
        random: d.address_type == AddressType::LE_RANDOM,
    }];
    out.extend(d.role.map(AdStructure::LeRole));
    out.extend(d.tk.map(AdStructure::SmTk));
    out.extend(d.confirm.map(AdStructure::LeScConfirm));
    out.extend(d.random.map(AdStructure::LeScRandom));
    out.extend(d.appearance.map(AdStructure::Appearance));
    out.extend(
        d.flags
            .map(|f| AdStructure::Flags(crate::protocol::AdFlags::from_bits_retain(f))),
    );
    out.extend(d.name.as_deref().map(Names::structure));
    out.extend(d.other.iter().map(raw));
    encode(out)
}

/// BR/EDR OOB data of device `address` from EIR structures (the optional part of an
/// `application/vnd.bluetooth.ep.oob` record, or the kernel's BR/EDR Read Local OOB Extended
/// Data).
pub fn bredr_from_eir(address: Address, bytes: &[u8]) -> Result<BrEdrOobData, ParseError> {
    let mut d = BrEdrOobData {
        address,
        ..BrEdrOobData::default()
    };
    let (names, other) = read(bytes, &BREDR_TYPES, |s| {
        let t = s.ad_type();
        match s {
            AdStructure::ClassOfDevice(c) => set(&mut d.class, t, c)?,
            AdStructure::HashC192(v) => set(&mut d.hash192, t, v)?,
            AdStructure::RandR192(v) => set(&mut d.rand192, t, v)?,
            AdStructure::HashC256(v) => set(&mut d.hash256, t, v)?,
            AdStructure::RandR256(v) => set(&mut d.rand256, t, v)?,
            other => return Ok(Some(other)),
        }
        Ok(None)
    })?;
    d.name = names.name();
    d.other = other;
    Ok(d)
}

/// The EIR structures of BR/EDR OOB data (everything but the address): class, C/R-192,
/// C/R-256, name, then the others.
pub fn bredr_to_eir(d: &BrEdrOobData) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(d.class.map(AdStructure::ClassOfDevice));
    out.extend(d.hash192.map(AdStructure::HashC192));
    out.extend(d.rand192.map(AdStructure::RandR192));
    out.extend(d.hash256.map(AdStructure::HashC256));
    out.extend(d.rand256.map(AdStructure::RandR256));
    out.extend(d.name.as_deref().map(Names::structure));
    out.extend(d.other.iter().map(raw));
    encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::oob::{LeRole, OobValue};
    use crate::protocol::ClassOfDevice;

    /// The LE Read Local OOB Extended Data EIR in the shape Linux 6.1's `mgmt.c`
    /// (`read_local_oob_ext_data`) builds it: address+type, role, confirmation, random, flags.
    fn kernel_le_eir() -> Vec<u8> {
        let mut e = vec![0x08, 0x1b, 0x00, 0x00, 0x00, 0x01, 0xaa, 0x00, 0x00];
        e.extend_from_slice(&[0x02, 0x1c, 0x02]);
        e.extend_from_slice(&[0x11, 0x22]);
        e.extend_from_slice(&[0x11; 16]);
        e.extend_from_slice(&[0x11, 0x23]);
        e.extend_from_slice(&[0x22; 16]);
        e.extend_from_slice(&[0x02, 0x01, 0x06]);
        e
    }

    #[test]
    fn le_fields() {
        let d = le_from_ad(&kernel_le_eir()).unwrap();
        assert_eq!(d.address.to_string(), "00:AA:01:00:00:00");
        assert_eq!(d.address_type, AddressType::LE_PUBLIC);
        assert_eq!(d.role, Some(LeRole::PERIPHERAL_PREFERRED));
        assert_eq!(d.confirm, Some(OobValue([0x11; 16])));
        assert_eq!(d.random, Some(OobValue([0x22; 16])));
        assert_eq!(d.flags, Some(0x06));
        // Written back in the same order, so the bytes are the same.
        let mut expect = kernel_le_eir();
        let flags = expect.split_off(expect.len() - 3);
        expect.extend_from_slice(&flags);
        assert_eq!(le_to_ad(&d), expect);
    }

    #[test]
    fn errors_name_the_field() {
        let table: &[(&[u8], &str)] = &[
            (
                &[0x08, 0x1b, 1, 2, 3, 4, 5, 6, 0x02],
                "LE Bluetooth Device Address",
            ),
            (
                &[0x07, 0x1b, 1, 2, 3, 4, 5, 6],
                "LE Bluetooth Device Address",
            ),
            (
                &[0x05, 0x22, 1, 2, 3, 4],
                "LE Secure Connections Confirmation Value",
            ),
            (&[0x11, 0x23, 1, 2], "LE Secure Connections Random Value"),
            (
                &[0x02, 0x1c, 0x00],
                "LE Bluetooth Device Address (0x1B): missing",
            ),
            (
                &[0x08, 0x1b, 1, 2, 3, 4, 5, 6, 0, 0x03, 0x09, 0xff, 0xfe],
                "Complete Local Name",
            ),
            (
                &[
                    0x08, 0x1b, 1, 2, 3, 4, 5, 6, 0, 0x02, 0x1c, 0, 0x02, 0x1c, 1,
                ],
                "LE Role (0x1C): appears twice",
            ),
        ];
        for (bytes, field) in table {
            let e = le_from_ad(bytes).unwrap_err();
            assert!(e.to_string().contains(field), "{e} lacks {field}");
        }
    }

    /// BR/EDR errors name the field too, from the type of the structure at fault; types OOB
    /// data is not made of are kept as sent, unchecked (an odd-length UUID list here).
    #[test]
    fn bredr_errors_and_raw_structures() {
        let table: &[(&[u8], &str)] = &[
            (
                &[0x05, 0x1d, 1, 2, 3, 4],
                "Simple Pairing Hash C-256 (0x1D): 4 octets, expected 16",
            ),
            (
                &[0x11, 0x0f, 1, 2],
                "Simple Pairing Randomizer R-192 (0x0F): truncated (17 octets needed, 3 left)",
            ),
            (
                &[0x04, 0x0d, 1, 2, 3, 0x04, 0x0d, 1, 2, 3],
                "Class of Device (0x0D): appears twice",
            ),
            (&[0x03], "AD structure: truncated"),
        ];
        for (bytes, want) in table {
            let e = bredr_from_eir(Address::ANY, bytes).unwrap_err();
            assert!(e.to_string().contains(want), "{e} lacks {want}");
        }
        let d = bredr_from_eir(Address::ANY, &[0x04, 0x03, 1, 2, 3]).unwrap();
        assert_eq!(d.other, vec![(0x03, vec![1, 2, 3])]);
        assert_eq!(bredr_to_eir(&d), [0x04, 0x03, 1, 2, 3]);
    }

    #[test]
    fn bredr_round_trip_and_padding() {
        let d = BrEdrOobData {
            address: "00:AA:01:01:00:01".parse().unwrap(),
            class: Some(ClassOfDevice([0x0c, 0x01, 0x1a])),
            hash192: Some(OobValue([1; 16])),
            rand192: Some(OobValue([2; 16])),
            hash256: Some(OobValue([3; 16])),
            rand256: Some(OobValue([4; 16])),
            name: Some("board".into()),
            other: vec![(0x03, vec![0x0a, 0x11])],
        };
        let mut eir = bredr_to_eir(&d);
        eir.extend_from_slice(&[0; 20]); // EIR padding ends the significant part
        assert_eq!(bredr_from_eir(d.address, &eir).unwrap(), d);
    }

    #[test]
    fn values_are_redacted_in_debug() {
        let d = le_from_ad(&kernel_le_eir()).unwrap();
        let s = format!("{d:?}");
        assert!(!s.contains("17, 17") && s.contains("redacted"), "{s}");
    }
}
