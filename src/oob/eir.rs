//! EIR/AD structures (`length (1) | type (1) | data (length - 1)`) as OOB data carries them:
//! in the kernel's Read Local Out Of Band Extended Data reply, in the NFC records of
//! [`super::ndef`], and (as hex) in [`super::text`].
//!
//! Types and lengths are those of the Core Specification Supplement, Part A (and the
//! Bluetooth Assigned Numbers' list of AD types). A zero length octet ends the significant
//! part (EIR pads with zeros); anything after it is ignored. Every error names the field.

use core::fmt;

use super::{BrEdrOobData, LeOobData, LeRole, OobValue};
use crate::protocol::{Address, AddressType, ClassOfDevice};

/// Flags.
pub const FLAGS: u8 = 0x01;
/// Shortened Local Name.
pub const SHORT_NAME: u8 = 0x08;
/// Complete Local Name.
pub const COMPLETE_NAME: u8 = 0x09;
/// Class of Device.
pub const CLASS_OF_DEVICE: u8 = 0x0D;
/// Simple Pairing Hash C-192.
pub const HASH_C192: u8 = 0x0E;
/// Simple Pairing Randomizer R-192.
pub const RAND_R192: u8 = 0x0F;
/// Security Manager TK Value.
pub const SM_TK: u8 = 0x10;
/// Appearance.
pub const APPEARANCE: u8 = 0x19;
/// LE Bluetooth Device Address.
pub const LE_ADDRESS: u8 = 0x1B;
/// LE Role.
pub const LE_ROLE: u8 = 0x1C;
/// Simple Pairing Hash C-256.
pub const HASH_C256: u8 = 0x1D;
/// Simple Pairing Randomizer R-256.
pub const RAND_R256: u8 = 0x1E;
/// LE Secure Connections Confirmation Value.
pub const LE_SC_CONFIRM: u8 = 0x22;
/// LE Secure Connections Random Value.
pub const LE_SC_RANDOM: u8 = 0x23;

/// The name and the fixed data length (None: any) of the AD types this module decodes.
const FIELDS: &[(u8, &str, Option<usize>)] = &[
    (FLAGS, "Flags (0x01)", Some(1)),
    (SHORT_NAME, "Shortened Local Name (0x08)", None),
    (COMPLETE_NAME, "Complete Local Name (0x09)", None),
    (CLASS_OF_DEVICE, "Class of Device (0x0D)", Some(3)),
    (HASH_C192, "Simple Pairing Hash C-192 (0x0E)", Some(16)),
    (
        RAND_R192,
        "Simple Pairing Randomizer R-192 (0x0F)",
        Some(16),
    ),
    (SM_TK, "Security Manager TK Value (0x10)", Some(16)),
    (APPEARANCE, "Appearance (0x19)", Some(2)),
    (LE_ADDRESS, "LE Bluetooth Device Address (0x1B)", Some(7)),
    (LE_ROLE, "LE Role (0x1C)", Some(1)),
    (HASH_C256, "Simple Pairing Hash C-256 (0x1D)", Some(16)),
    (
        RAND_R256,
        "Simple Pairing Randomizer R-256 (0x1E)",
        Some(16),
    ),
    (
        LE_SC_CONFIRM,
        "LE Secure Connections Confirmation Value (0x22)",
        Some(16),
    ),
    (
        LE_SC_RANDOM,
        "LE Secure Connections Random Value (0x23)",
        Some(16),
    ),
];

/// The field name of AD type `ad_type` ("AD structure" for types this module keeps raw).
pub fn field_name(ad_type: u8) -> &'static str {
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

/// Splits `bytes` into (type, data) structures.
pub fn structures(bytes: &[u8]) -> Result<Vec<(u8, &[u8])>, ParseError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            break;
        }
        let len = usize::from(len);
        if tail.len() < len {
            let field = tail.first().map_or("AD structure", |&t| field_name(t));
            return Err(ParseError::Truncated {
                field,
                needed: len,
                available: tail.len(),
            });
        }
        out.push((tail[0], &tail[1..len]));
        rest = &tail[len..];
    }
    Ok(out)
}

/// Appends one structure (`data` up to 254 octets; longer data is cut, which only a name can
/// be).
pub fn push(out: &mut Vec<u8>, ad_type: u8, data: &[u8]) {
    let data = &data[..data.len().min(254)];
    out.push(data.len() as u8 + 1);
    out.push(ad_type);
    out.extend_from_slice(data);
}

/// The data of a fixed-length field, checked.
fn fixed<const N: usize>(ad_type: u8, data: &[u8]) -> Result<[u8; N], ParseError> {
    data.try_into().map_err(|_| ParseError::Length {
        field: field_name(ad_type),
        expected: N,
        actual: data.len(),
    })
}

fn set<T>(slot: &mut Option<T>, ad_type: u8, value: T) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::Duplicate {
            field: field_name(ad_type),
        });
    }
    *slot = Some(value);
    Ok(())
}

fn utf8(ad_type: u8, data: &[u8]) -> Result<String, ParseError> {
    String::from_utf8(data.to_vec()).map_err(|e| ParseError::Invalid {
        field: field_name(ad_type),
        reason: format!("not UTF-8 (at octet {})", e.utf8_error().valid_up_to()),
    })
}

/// Names: the complete one wins over the shortened one.
#[derive(Default)]
struct Names {
    complete: Option<String>,
    short: Option<String>,
}

impl Names {
    fn take(&mut self, ad_type: u8, data: &[u8]) -> Result<bool, ParseError> {
        match ad_type {
            COMPLETE_NAME => set(&mut self.complete, ad_type, utf8(ad_type, data)?)?,
            SHORT_NAME => set(&mut self.short, ad_type, utf8(ad_type, data)?)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
    fn name(self) -> Option<String> {
        self.complete.or(self.short)
    }
}

/// LE OOB data from AD structures (the payload of an `application/vnd.bluetooth.le.oob`
/// record, or the kernel's LE Read Local OOB Extended Data). The LE Bluetooth Device Address
/// is mandatory.
pub fn le_from_ad(bytes: &[u8]) -> Result<LeOobData, ParseError> {
    let mut d = LeOobData::default();
    let mut address = None;
    let mut names = Names::default();
    for (t, data) in structures(bytes)? {
        match t {
            LE_ADDRESS => {
                let a: [u8; 7] = fixed(t, data)?;
                let address_type = match a[6] {
                    0x00 => AddressType::LE_PUBLIC,
                    0x01 => AddressType::LE_RANDOM,
                    other => {
                        return Err(ParseError::Invalid {
                            field: field_name(t),
                            reason: format!("address type {other:#04x} (0x00 public, 0x01 random)"),
                        })
                    }
                };
                let mut addr = [0; 6];
                addr.copy_from_slice(&a[..6]);
                set(&mut address, t, (Address(addr), address_type))?;
            }
            LE_ROLE => set(&mut d.role, t, LeRole(fixed::<1>(t, data)?[0]))?,
            LE_SC_CONFIRM => set(&mut d.confirm, t, OobValue(fixed(t, data)?))?,
            LE_SC_RANDOM => set(&mut d.random, t, OobValue(fixed(t, data)?))?,
            SM_TK => set(&mut d.tk, t, OobValue(fixed(t, data)?))?,
            APPEARANCE => set(&mut d.appearance, t, u16::from_le_bytes(fixed(t, data)?))?,
            FLAGS => set(&mut d.flags, t, fixed::<1>(t, data)?[0])?,
            _ => {
                if !names.take(t, data)? {
                    d.other.push((t, data.to_vec()));
                }
            }
        }
    }
    let (a, at) = address.ok_or(ParseError::Missing {
        field: field_name(LE_ADDRESS),
    })?;
    d.address = a;
    d.address_type = at;
    d.name = names.name();
    Ok(d)
}

/// The AD structures of LE OOB data: address, role, TK, confirmation, random, appearance,
/// flags, name, then the others.
pub fn le_to_ad(d: &LeOobData) -> Vec<u8> {
    let mut out = Vec::new();
    let mut a = [0u8; 7];
    a[..6].copy_from_slice(&d.address.0);
    a[6] = u8::from(d.address_type == AddressType::LE_RANDOM);
    push(&mut out, LE_ADDRESS, &a);
    if let Some(r) = d.role {
        push(&mut out, LE_ROLE, &[r.0]);
    }
    for (t, v) in [
        (SM_TK, d.tk),
        (LE_SC_CONFIRM, d.confirm),
        (LE_SC_RANDOM, d.random),
    ] {
        if let Some(v) = v {
            push(&mut out, t, &v.0);
        }
    }
    if let Some(a) = d.appearance {
        push(&mut out, APPEARANCE, &a.to_le_bytes());
    }
    if let Some(f) = d.flags {
        push(&mut out, FLAGS, &[f]);
    }
    if let Some(n) = &d.name {
        push(&mut out, COMPLETE_NAME, n.as_bytes());
    }
    for (t, v) in &d.other {
        push(&mut out, *t, v);
    }
    out
}

/// BR/EDR OOB data of device `address` from EIR structures (the optional part of an
/// `application/vnd.bluetooth.ep.oob` record, or the kernel's BR/EDR Read Local OOB Extended
/// Data).
pub fn bredr_from_eir(address: Address, bytes: &[u8]) -> Result<BrEdrOobData, ParseError> {
    let mut d = BrEdrOobData {
        address,
        ..BrEdrOobData::default()
    };
    let mut names = Names::default();
    for (t, data) in structures(bytes)? {
        match t {
            CLASS_OF_DEVICE => set(&mut d.class, t, ClassOfDevice(fixed(t, data)?))?,
            HASH_C192 => set(&mut d.hash192, t, OobValue(fixed(t, data)?))?,
            RAND_R192 => set(&mut d.rand192, t, OobValue(fixed(t, data)?))?,
            HASH_C256 => set(&mut d.hash256, t, OobValue(fixed(t, data)?))?,
            RAND_R256 => set(&mut d.rand256, t, OobValue(fixed(t, data)?))?,
            _ => {
                if !names.take(t, data)? {
                    d.other.push((t, data.to_vec()));
                }
            }
        }
    }
    d.name = names.name();
    Ok(d)
}

/// The EIR structures of BR/EDR OOB data (everything but the address): class, C/R-192,
/// C/R-256, name, then the others.
pub fn bredr_to_eir(d: &BrEdrOobData) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(c) = d.class {
        push(&mut out, CLASS_OF_DEVICE, &c.0);
    }
    for (t, v) in [
        (HASH_C192, d.hash192),
        (RAND_R192, d.rand192),
        (HASH_C256, d.hash256),
        (RAND_R256, d.rand256),
    ] {
        if let Some(v) = v {
            push(&mut out, t, &v.0);
        }
    }
    if let Some(n) = &d.name {
        push(&mut out, COMPLETE_NAME, n.as_bytes());
    }
    for (t, v) in &d.other {
        push(&mut out, *t, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LE Read Local OOB Extended Data EIR in the shape Linux 6.1's `mgmt.c`
    /// (`read_local_oob_ext_data`) builds it: address+type, role, confirmation, random, flags.
    fn kernel_le_eir() -> Vec<u8> {
        let mut e = Vec::new();
        push(
            &mut e,
            LE_ADDRESS,
            &[0x00, 0x00, 0x00, 0x01, 0xaa, 0x00, 0x00],
        );
        push(&mut e, LE_ROLE, &[0x02]);
        push(&mut e, LE_SC_CONFIRM, &[0x11; 16]);
        push(&mut e, LE_SC_RANDOM, &[0x22; 16]);
        push(&mut e, FLAGS, &[0x06]);
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
