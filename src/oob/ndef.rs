//! NFC Forum connection-handover Bluetooth OOB records, as NDEF.
//!
//! An NDEF record (NFC Forum NDEF Technical Specification, section 3.2) is
//! `header (1) | type length (1) | payload length (1 with SR, else 4, big endian) |
//! [id length (1), with IL] | type | [id] | payload`; the header holds MB (0x80), ME (0x40),
//! CF (0x20), SR (0x10), IL (0x08) and the TNF (3 bits). Bluetooth OOB records are media-type
//! records (TNF 0x02) whose type is (NFC Forum "Bluetooth Secure Simple Pairing Using NFC",
//! section 3):
//!
//! - `application/vnd.bluetooth.ep.oob` (BR/EDR): `OOB data length (2, little endian,
//!   counting itself, the address and the rest) | BD_ADDR (6, little endian) | EIR
//!   structures` (class of device, C-192, R-192, C-256, R-256, name, ...).
//! - `application/vnd.bluetooth.le.oob` (LE): AD structures only: LE Bluetooth Device
//!   Address (mandatory, 6 octets and a type octet), LE Role (mandatory), TK, LE SC
//!   confirmation and random values, appearance, flags, name.
//!
//! [`decode`] takes the first Bluetooth OOB record of a message (one alone, or the carrier
//! configuration records of a Handover Select message); [`encode`] writes a message of one
//! record. Chunked records are refused.

use super::eir::{self, ParseError};
use super::{BrEdrOobData, OobData};
use crate::protocol::Address;

/// The media type of LE OOB records.
pub const LE_OOB_TYPE: &str = "application/vnd.bluetooth.le.oob";
/// The media type of BR/EDR ("easy pairing") OOB records.
pub const EP_OOB_TYPE: &str = "application/vnd.bluetooth.ep.oob";
/// TNF value of a media-type record (RFC 2046 type).
pub const TNF_MEDIA_TYPE: u8 = 0x02;

const MB: u8 = 0x80;
const ME: u8 = 0x40;
const CF: u8 = 0x20;
const SR: u8 = 0x10;
const IL: u8 = 0x08;

/// One NDEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Type Name Format (3 bits).
    pub tnf: u8,
    /// The record type (for TNF 0x02, a media type).
    pub record_type: Vec<u8>,
    /// The record id (often empty; handover messages use it to point at carriers).
    pub id: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Record {
    /// A media-type record.
    pub fn media(media_type: &str, payload: Vec<u8>) -> Record {
        Record {
            tnf: TNF_MEDIA_TYPE,
            record_type: media_type.as_bytes().to_vec(),
            id: Vec::new(),
            payload,
        }
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize, field: &'static str) -> Result<&'a [u8], ParseError> {
    if rest.len() < n {
        return Err(ParseError::Truncated {
            field,
            needed: n,
            available: rest.len(),
        });
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// Splits an NDEF message into its records.
pub fn parse_message(bytes: &[u8]) -> Result<Vec<Record>, ParseError> {
    let mut rest = bytes;
    let mut records = Vec::new();
    loop {
        let header = take(&mut rest, 1, "NDEF record header")?[0];
        if records.is_empty() && header & MB == 0 {
            return Err(ParseError::Invalid {
                field: "NDEF record header",
                reason: "first record without MB (message begin)".into(),
            });
        }
        if header & CF != 0 {
            return Err(ParseError::Invalid {
                field: "NDEF record header",
                reason: "chunked records (CF) are not supported".into(),
            });
        }
        let type_len = usize::from(take(&mut rest, 1, "NDEF type length")?[0]);
        let payload_len = if header & SR != 0 {
            usize::from(take(&mut rest, 1, "NDEF payload length")?[0])
        } else {
            let b = take(&mut rest, 4, "NDEF payload length")?;
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        let id_len = if header & IL != 0 {
            usize::from(take(&mut rest, 1, "NDEF id length")?[0])
        } else {
            0
        };
        let record_type = take(&mut rest, type_len, "NDEF record type")?.to_vec();
        let id = take(&mut rest, id_len, "NDEF record id")?.to_vec();
        let payload = take(&mut rest, payload_len, "NDEF payload")?.to_vec();
        records.push(Record {
            tnf: header & 0x07,
            record_type,
            id,
            payload,
        });
        if header & ME != 0 {
            if !rest.is_empty() {
                return Err(ParseError::Invalid {
                    field: "NDEF message",
                    reason: format!("{} octets after the last record (ME)", rest.len()),
                });
            }
            return Ok(records);
        }
    }
}

/// Writes records as one NDEF message (short records where the payload fits in 255 octets).
pub fn write_message(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut header = r.tnf & 0x07;
        if i == 0 {
            header |= MB;
        }
        if i + 1 == records.len() {
            header |= ME;
        }
        let short = r.payload.len() <= 0xff;
        if short {
            header |= SR;
        }
        if !r.id.is_empty() {
            header |= IL;
        }
        out.push(header);
        out.push(r.record_type.len() as u8);
        if short {
            out.push(r.payload.len() as u8);
        } else {
            out.extend_from_slice(&(r.payload.len() as u32).to_be_bytes());
        }
        if !r.id.is_empty() {
            out.push(r.id.len() as u8);
        }
        out.extend_from_slice(&r.record_type);
        out.extend_from_slice(&r.id);
        out.extend_from_slice(&r.payload);
    }
    out
}

/// The payload of an `application/vnd.bluetooth.ep.oob` record.
pub fn ep_payload(d: &BrEdrOobData) -> Vec<u8> {
    let eir = eir::bredr_to_eir(d);
    let mut out = Vec::with_capacity(8 + eir.len());
    out.extend_from_slice(&((8 + eir.len()) as u16).to_le_bytes());
    out.extend_from_slice(&d.address.0);
    out.extend_from_slice(&eir);
    out
}

/// BR/EDR OOB data from an `application/vnd.bluetooth.ep.oob` payload.
pub fn from_ep_payload(payload: &[u8]) -> Result<BrEdrOobData, ParseError> {
    let mut rest = payload;
    let len = take(&mut rest, 2, "OOB data length")?;
    let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
    if len != payload.len() {
        return Err(ParseError::Invalid {
            field: "OOB data length",
            reason: format!("says {len}, the record holds {}", payload.len()),
        });
    }
    let a = take(&mut rest, 6, "BD_ADDR")?;
    let mut address = [0; 6];
    address.copy_from_slice(a);
    eir::bredr_from_eir(Address(address), rest)
}

/// The record carrying `data`.
pub fn record(data: &OobData) -> Record {
    match data {
        OobData::Le(d) => Record::media(LE_OOB_TYPE, eir::le_to_ad(d)),
        OobData::BrEdr(d) => Record::media(EP_OOB_TYPE, ep_payload(d)),
    }
}

/// OOB data from one record, if it is a Bluetooth OOB record (`Ok(None)` otherwise).
pub fn from_record(record: &Record) -> Result<Option<OobData>, ParseError> {
    if record.tnf != TNF_MEDIA_TYPE {
        return Ok(None);
    }
    let t = &record.record_type;
    if t.eq_ignore_ascii_case(LE_OOB_TYPE.as_bytes()) {
        eir::le_from_ad(&record.payload).map(|d| Some(OobData::Le(d)))
    } else if t.eq_ignore_ascii_case(EP_OOB_TYPE.as_bytes()) {
        from_ep_payload(&record.payload).map(|d| Some(OobData::BrEdr(d)))
    } else {
        Ok(None)
    }
}

/// An NDEF message of one record carrying `data`.
pub fn encode(data: &OobData) -> Vec<u8> {
    write_message(&[record(data)])
}

/// The first Bluetooth OOB record of an NDEF message.
pub fn decode(message: &[u8]) -> Result<OobData, ParseError> {
    for r in parse_message(message)? {
        if let Some(d) = from_record(&r)? {
            return Ok(d);
        }
    }
    Err(ParseError::Missing {
        field: "Bluetooth OOB record (application/vnd.bluetooth.le.oob or .ep.oob)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oob::{LeOobData, LeRole, OobValue};
    use crate::protocol::hex::parse_hex;
    use crate::protocol::{AddressType, ClassOfDevice};

    fn hex(s: &str) -> Vec<u8> {
        parse_hex(&s.split_whitespace().collect::<String>()).unwrap()
    }

    /// Built by hand from the layouts of the NFC Forum "Bluetooth Secure Simple Pairing
    /// Using NFC" application document (section 3.1, BR/EDR OOB data; section 3.3, LE AD
    /// types) and NDEF 1.0 (section 3.2): not a vector copied from those documents.
    #[test]
    fn ep_oob_layout() {
        let d = BrEdrOobData {
            address: "00:0D:18:A1:00:01".parse().unwrap(),
            class: Some(ClassOfDevice([0x20, 0x06, 0x08])),
            hash192: Some(OobValue([0xc1; 16])),
            rand192: Some(OobValue([0xd1; 16])),
            name: Some("Hi".into()),
            ..BrEdrOobData::default()
        };
        let expect = hex("d2 20 35
             6170706c69636174696f6e2f766e642e626c7565746f6f74682e65702e6f6f62
             3500 0100a1180d00
             04 0d 200608
             11 0e c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1
             11 0f d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
             03 09 4869");
        let data = OobData::BrEdr(d);
        assert_eq!(encode(&data), expect);
        assert_eq!(decode(&expect).unwrap(), data);
    }

    /// The same, for `application/vnd.bluetooth.le.oob` (LE SC values, random address).
    #[test]
    fn le_oob_layout() {
        let d = LeOobData {
            address: "C0:11:22:33:44:55".parse().unwrap(),
            address_type: AddressType::LE_RANDOM,
            role: Some(LeRole::PERIPHERAL_ONLY),
            confirm: Some(OobValue([0x0c; 16])),
            random: Some(OobValue([0x0a; 16])),
            ..LeOobData::default()
        };
        let expect = hex("d2 20 30
             6170706c69636174696f6e2f766e642e626c7565746f6f74682e6c652e6f6f62
             08 1b 554433 2211c0 01
             02 1c 00
             11 22 0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c
             11 23 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a");
        let data = OobData::Le(d);
        assert_eq!(encode(&data), expect);
        assert_eq!(decode(&expect).unwrap(), data);
    }

    #[test]
    fn handover_select_message_with_other_records() {
        // A Handover Select record (TNF 0x01 "Hs") first, then the carrier record.
        let le = OobData::Le(LeOobData {
            address: "00:AA:01:00:00:00".parse().unwrap(),
            address_type: AddressType::LE_PUBLIC,
            role: Some(LeRole::CENTRAL_PREFERRED),
            name: Some("kiosk".into()),
            ..LeOobData::default()
        });
        let hs = Record {
            tnf: 0x01,
            record_type: b"Hs".to_vec(),
            id: Vec::new(),
            payload: vec![0x13],
        };
        let mut carrier = record(&le);
        carrier.id = b"0".to_vec();
        let msg = write_message(&[hs, carrier]);
        assert_eq!(decode(&msg).unwrap(), le);
    }

    #[test]
    fn long_payload_uses_four_octet_length() {
        let le = OobData::Le(LeOobData {
            name: Some("n".repeat(250)),
            other: vec![(0xff, vec![0x5a; 100])],
            address_type: AddressType::LE_PUBLIC,
            ..LeOobData::default()
        });
        let msg = encode(&le);
        assert_eq!(msg[0] & SR, 0);
        assert_eq!(decode(&msg).unwrap(), le);
    }

    #[test]
    fn errors_name_the_field() {
        let good = encode(&OobData::BrEdr(BrEdrOobData::default()));
        let mut wrong_len = good.clone();
        let at = 3 + EP_OOB_TYPE.len();
        wrong_len[at] = 9;
        let table: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "NDEF record header"),
            (good[..good.len() - 1].to_vec(), "NDEF payload"),
            (wrong_len, "OOB data length"),
            (vec![0xd5, 0x00, 0x00], "Bluetooth OOB record"),
            (vec![0xf2, 0x00, 0x00], "chunked"),
            ([good.clone(), vec![0]].concat(), "NDEF message"),
        ];
        for (bytes, field) in table {
            let e = decode(&bytes).unwrap_err();
            assert!(e.to_string().contains(field), "{e} lacks {field}");
        }
    }
}
