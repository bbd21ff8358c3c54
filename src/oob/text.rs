//! A plain text form of OOB data, fit for a QR code.
//!
//! Every character is in the QR code's alphanumeric set (`0-9 A-Z space $ % * + - . / :`), so
//! an encoder can use alphanumeric mode (5.5 bits a character): fields are `KEY:VALUE`
//! separated by one space, after the prefix `BTOOB` and the transport (`LE` or `BREDR`).
//!
//! ```text
//! BTOOB LE A:00:AA:01:00:00:00 T:PUBLIC ROLE:02 C:<32 hex> R:<32 hex> N:KIOSK%2D1
//! BTOOB BREDR A:00:AA:01:01:00:01 COD:1A010C C192:<32 hex> R192:<32 hex> C256:... R256:...
//! ```
//!
//! Addresses are written as usual (most significant octet first). Every other value is hex
//! in wire order, as in the EIR/AD structure (least significant octet first): `ROLE`, `FL`
//! (flags) and `APP` (appearance) too. `TK` is the LE legacy TK. The name `N` is UTF-8,
//! percent-encoded except for `0-9 A-Z - .`. AD structures without a key here are kept as
//! `Xtt:<hex>` (`tt` the AD type in hex). Parsing accepts lower case too and names the field
//! in every error.

use super::eir::ParseError;
use super::{BrEdrOobData, LeOobData, LeRole, OobData, OobValue};
use crate::protocol::hex::parse_hex;
use crate::protocol::{Address, AddressType, ClassOfDevice};

const PREFIX: &str = "BTOOB";

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect()
}

fn pct_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(field: &'static str, s: &str) -> Result<String, ParseError> {
    let bad = |reason: String| ParseError::Invalid { field, reason };
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(format!("bad percent escape at character {i}")))?;
            out.push(h);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("not UTF-8".into()))
}

/// The text form of `data`.
pub fn encode(data: &OobData) -> String {
    let mut f: Vec<String> = vec![PREFIX.into()];
    let value = |f: &mut Vec<String>, k: &str, v: Option<OobValue>| {
        if let Some(v) = v {
            f.push(format!("{k}:{}", hex_upper(&v.0)));
        }
    };
    let (name, other) = match data {
        OobData::Le(d) => {
            f.push("LE".into());
            f.push(format!("A:{}", d.address));
            f.push(
                if d.address_type == AddressType::LE_RANDOM {
                    "T:RANDOM"
                } else {
                    "T:PUBLIC"
                }
                .into(),
            );
            if let Some(r) = d.role {
                f.push(format!("ROLE:{:02X}", r.0));
            }
            value(&mut f, "C", d.confirm);
            value(&mut f, "R", d.random);
            value(&mut f, "TK", d.tk);
            if let Some(a) = d.appearance {
                f.push(format!("APP:{}", hex_upper(&a.to_le_bytes())));
            }
            if let Some(fl) = d.flags {
                f.push(format!("FL:{fl:02X}"));
            }
            (&d.name, &d.other)
        }
        OobData::BrEdr(d) => {
            f.push("BREDR".into());
            f.push(format!("A:{}", d.address));
            if let Some(c) = d.class {
                f.push(format!("COD:{}", hex_upper(&c.0)));
            }
            value(&mut f, "C192", d.hash192);
            value(&mut f, "R192", d.rand192);
            value(&mut f, "C256", d.hash256);
            value(&mut f, "R256", d.rand256);
            (&d.name, &d.other)
        }
    };
    if let Some(n) = name {
        f.push(format!("N:{}", pct_encode(n)));
    }
    for (t, v) in other {
        f.push(format!("X{t:02X}:{}", hex_upper(v)));
    }
    f.join(" ")
}

fn fixed<const N: usize>(field: &'static str, v: &str) -> Result<[u8; N], ParseError> {
    let b = parse_hex(v).ok_or_else(|| ParseError::Invalid {
        field,
        reason: format!("not hex: {v:?}"),
    })?;
    b.as_slice().try_into().map_err(|_| ParseError::Length {
        field,
        expected: N,
        actual: b.len(),
    })
}

fn set<T>(field: &'static str, slot: &mut Option<T>, v: T) -> Result<(), ParseError> {
    if slot.replace(v).is_some() {
        return Err(ParseError::Duplicate { field });
    }
    Ok(())
}

/// Parses the text form (surrounding white space is ignored).
pub fn decode(text: &str) -> Result<OobData, ParseError> {
    let mut words = text.split_whitespace();
    match words.next() {
        Some(p) if p.eq_ignore_ascii_case(PREFIX) => {}
        _ => {
            return Err(ParseError::Missing {
                field: "text prefix BTOOB",
            })
        }
    }
    let le = match words.next().map(str::to_ascii_uppercase).as_deref() {
        Some("LE") => true,
        Some("BREDR") => false,
        _ => {
            return Err(ParseError::Invalid {
                field: "text transport",
                reason: "expected LE or BREDR".into(),
            })
        }
    };
    let mut address: Option<Address> = None;
    let mut kind: Option<AddressType> = None;
    let mut le_d = LeOobData::default();
    let mut br = BrEdrOobData::default();
    let mut name = None;
    let mut other = Vec::new();
    for w in words {
        let (k, v) = w.split_once(':').ok_or(ParseError::Invalid {
            field: "text field",
            reason: format!("{w:?} is not KEY:VALUE"),
        })?;
        let k = k.to_ascii_uppercase();
        let v16 = |field| fixed::<16>(field, v).map(OobValue);
        match (le, k.as_str()) {
            (_, "A") => {
                let a = v.parse().map_err(|_| ParseError::Invalid {
                    field: "A (address)",
                    reason: format!("{v:?} is not an address"),
                })?;
                set("A (address)", &mut address, a)?;
            }
            (_, "N") => set("N (name)", &mut name, pct_decode("N (name)", v)?)?,
            (true, "T") => {
                let t = match v.to_ascii_uppercase().as_str() {
                    "PUBLIC" => AddressType::LE_PUBLIC,
                    "RANDOM" => AddressType::LE_RANDOM,
                    _ => {
                        return Err(ParseError::Invalid {
                            field: "T (LE address type)",
                            reason: format!("{v:?}: expected PUBLIC or RANDOM"),
                        })
                    }
                };
                set("T (LE address type)", &mut kind, t)?;
            }
            (true, "ROLE") => set(
                "ROLE (LE role)",
                &mut le_d.role,
                LeRole(fixed::<1>("ROLE (LE role)", v)?[0]),
            )?,
            (true, "C") => set(
                "C (LE SC confirmation value)",
                &mut le_d.confirm,
                v16("C (LE SC confirmation value)")?,
            )?,
            (true, "R") => set(
                "R (LE SC random value)",
                &mut le_d.random,
                v16("R (LE SC random value)")?,
            )?,
            (true, "TK") => set("TK (LE legacy TK)", &mut le_d.tk, v16("TK (LE legacy TK)")?)?,
            (true, "APP") => set(
                "APP (appearance)",
                &mut le_d.appearance,
                u16::from_le_bytes(fixed("APP (appearance)", v)?),
            )?,
            (true, "FL") => set(
                "FL (flags)",
                &mut le_d.flags,
                fixed::<1>("FL (flags)", v)?[0],
            )?,
            (false, "COD") => set(
                "COD (class of device)",
                &mut br.class,
                ClassOfDevice(fixed("COD (class of device)", v)?),
            )?,
            (false, "C192") => set(
                "C192 (hash C-192)",
                &mut br.hash192,
                v16("C192 (hash C-192)")?,
            )?,
            (false, "R192") => set(
                "R192 (randomizer R-192)",
                &mut br.rand192,
                v16("R192 (randomizer R-192)")?,
            )?,
            (false, "C256") => set(
                "C256 (hash C-256)",
                &mut br.hash256,
                v16("C256 (hash C-256)")?,
            )?,
            (false, "R256") => set(
                "R256 (randomizer R-256)",
                &mut br.rand256,
                v16("R256 (randomizer R-256)")?,
            )?,
            (_, x) if x.len() == 3 && x.starts_with('X') => {
                let t = u8::from_str_radix(&x[1..], 16).map_err(|_| ParseError::Invalid {
                    field: "Xtt (other AD structure)",
                    reason: format!("{x:?}: tt is not a hex AD type"),
                })?;
                let data = parse_hex(v).ok_or_else(|| ParseError::Invalid {
                    field: "Xtt (other AD structure)",
                    reason: format!("not hex: {v:?}"),
                })?;
                other.push((t, data));
            }
            _ => {
                return Err(ParseError::Invalid {
                    field: "text field",
                    reason: format!("unknown key {k:?}"),
                })
            }
        }
    }
    let address = address.ok_or(ParseError::Missing {
        field: "A (address)",
    })?;
    if le {
        le_d.address = address;
        le_d.address_type = kind.ok_or(ParseError::Missing {
            field: "T (LE address type)",
        })?;
        le_d.name = name;
        le_d.other = other;
        Ok(OobData::Le(le_d))
    } else {
        br.address = address;
        br.name = name;
        br.other = other;
        Ok(OobData::BrEdr(br))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le() -> OobData {
        OobData::Le(LeOobData {
            address: "00:AA:01:00:00:00".parse().unwrap(),
            address_type: AddressType::LE_PUBLIC,
            role: Some(LeRole::PERIPHERAL_PREFERRED),
            confirm: Some(OobValue([0xab; 16])),
            random: Some(OobValue([0x01; 16])),
            tk: None,
            appearance: Some(0x03c1),
            flags: Some(0x06),
            name: Some("Kiosk 1 é".into()),
            other: vec![(0x16, vec![0x0f, 0x18])],
        })
    }

    #[test]
    fn le_text_is_qr_alphanumeric_and_round_trips() {
        let t = encode(&le());
        assert!(
            t.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c)),
            "{t}"
        );
        assert!(t.starts_with("BTOOB LE A:00:AA:01:00:00:00 T:PUBLIC ROLE:02 C:ABAB"));
        assert_eq!(decode(&t).unwrap(), le());
        assert_eq!(decode(&t.to_lowercase()).unwrap(), {
            // Lower case input: everything but the (percent-encoded) name reads the same.
            let mut d = le();
            if let OobData::Le(l) = &mut d {
                l.name = Some("kiosk 1 é".into());
            }
            d
        });
    }

    #[test]
    fn bredr_round_trip() {
        let d = OobData::BrEdr(BrEdrOobData {
            address: "00:AA:01:01:00:01".parse().unwrap(),
            class: Some(ClassOfDevice([0x0c, 0x01, 0x1a])),
            hash192: Some(OobValue([1; 16])),
            rand192: Some(OobValue([2; 16])),
            hash256: Some(OobValue([3; 16])),
            rand256: Some(OobValue([4; 16])),
            name: None,
            other: vec![],
        });
        assert_eq!(decode(&encode(&d)).unwrap(), d);
    }

    #[test]
    fn errors_name_the_field() {
        let table = [
            ("", "BTOOB"),
            ("BTOOB XX", "text transport"),
            ("BTOOB LE T:PUBLIC", "A (address)"),
            ("BTOOB LE A:00:AA:01:00:00:00", "T (LE address type)"),
            ("BTOOB LE A:00:AA:01:00:00:0G T:PUBLIC", "A (address)"),
            (
                "BTOOB LE A:00:AA:01:00:00:00 T:OTHER",
                "T (LE address type)",
            ),
            (
                "BTOOB LE A:00:AA:01:00:00:00 T:PUBLIC C:ABCD",
                "C (LE SC confirmation",
            ),
            (
                "BTOOB LE A:00:AA:01:00:00:00 T:PUBLIC R:ZZ",
                "R (LE SC random",
            ),
            ("BTOOB BREDR A:00:AA:01:00:00:00 C192:00", "C192"),
            ("BTOOB BREDR A:00:AA:01:00:00:00 N:%4", "N (name)"),
            ("BTOOB BREDR A:00:AA:01:00:00:00 C:00", "unknown key"),
            (
                "BTOOB BREDR A:00:AA:01:00:00:00 A:00:AA:01:00:00:00",
                "twice",
            ),
        ];
        for (text, field) in table {
            let e = decode(text).unwrap_err();
            assert!(e.to_string().contains(field), "{text}: {e} lacks {field}");
        }
    }
}
