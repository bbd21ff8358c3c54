//! Type-length-value entries: the `mgmt_tlv` records of the default system and runtime
//! configuration (Read/Set Default System Configuration, Read/Set Default Runtime
//! Configuration, and the two Configuration Changed events).
//!
//! ```text
//! Parameter_Type (2 octets, LE) | Value_Length (1 octet) | Value (Value_Length octets)
//! ```

use core::fmt;

use crate::wire::Bytes8;

crate::wire_struct! {
    /// One configuration entry: a parameter type and its value (`mgmt_tlv`, 3 octets plus
    /// the value). The value's meaning depends on the type; most defined parameters are a
    /// 16-bit little-endian number, see [`Tlv::as_u16`].
    pub struct Tlv {
        /// Which parameter (for example 0x0000, BR/EDR Page Scan Type, in the system
        /// configuration).
        pub parameter_type: u16,
        /// The value, preceded on the wire by its length in one octet.
        pub value: Bytes8,
    }
}

impl Tlv {
    /// An entry holding `value` for `parameter_type`.
    pub fn new(parameter_type: u16, value: impl Into<Vec<u8>>) -> Self {
        Tlv {
            parameter_type,
            value: Bytes8(value.into()),
        }
    }

    /// An entry holding a 16-bit value, little endian.
    pub fn from_u16(parameter_type: u16, value: u16) -> Self {
        Tlv::new(parameter_type, value.to_le_bytes().to_vec())
    }

    /// The value as a little-endian `u16`, when it is exactly two octets long.
    pub fn as_u16(&self) -> Option<u16> {
        match self.value.0[..] {
            [lo, hi] => Some(u16::from_le_bytes([lo, hi])),
            _ => None,
        }
    }

    /// The value as one octet, when it is exactly one octet long.
    pub fn as_u8(&self) -> Option<u8> {
        match self.value.0[..] {
            [v] => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Tlv {
    /// `0x001b=0x0060`: the type, then the value as a number when it is one or two octets,
    /// as hex octets otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}=", self.parameter_type)?;
        match (self.as_u8(), self.as_u16()) {
            (Some(v), _) => write!(f, "{v:#04x}"),
            (_, Some(v)) => write!(f, "{v:#06x}"),
            _ => write!(f, "{}", crate::hex::Hex(&self.value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec, Rest};

    #[test]
    fn tlv_list_layout() {
        // Documented layout (doc/mgmt-protocol.rst, Read Default System Configuration): two
        // entries, type 0x001b with a 2-octet value 0x0060, then type 0x0000 with an empty
        // value.
        let b = [0x1b, 0x00, 0x02, 0x60, 0x00, 0x00, 0x00, 0x00];
        let list: Rest<Tlv> = decode_exact("Test", &b).unwrap();
        assert_eq!(
            list.0,
            vec![Tlv::from_u16(0x001b, 0x0060), Tlv::new(0, vec![])]
        );
        assert_eq!(list.0[0].as_u16(), Some(0x60));
        assert_eq!(list.0[0].to_string(), "0x001b=0x0060");
        assert_eq!(list.0[1].as_u8(), None);
        assert_eq!(encode_to_vec(&list), b);
    }

    #[test]
    fn value_longer_than_the_message_is_truncated() {
        let e = decode_exact::<Tlv>("Test", &[0x01, 0x00, 0x05, 0xaa]).unwrap_err();
        assert_eq!(e.field(), "value");
        assert!(matches!(
            e.problem(),
            crate::Problem::Truncated {
                expected: 5,
                actual: 1
            }
        ));
    }
}
