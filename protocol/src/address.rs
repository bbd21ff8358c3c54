//! Bluetooth device addresses and the address types MGMT pairs them with.

use core::fmt;
use core::str::FromStr;

use crate::error::DecodeError;
use crate::wire::{Reader, Wire};

/// A 48-bit Bluetooth device address (BD_ADDR).
///
/// Stored in wire order (least significant octet first); displayed and parsed the usual way,
/// most significant octet first: `"00:AA:01:00:00:00"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// 00:00:00:00:00:00, "no address".
    pub const ANY: Address = Address([0; 6]);

    /// The address from its displayed order (most significant octet first).
    pub fn from_display_bytes(b: [u8; 6]) -> Self {
        let mut w = b;
        w.reverse();
        Address(w)
    }

    /// The octets in displayed order (most significant first).
    pub fn display_bytes(self) -> [u8; 6] {
        let mut b = self.0;
        b.reverse();
        b
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.display_bytes();
        write!(
            f,
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// The text was not an address of the form `AA:BB:CC:DD:EE:FF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseAddressError(pub String);

impl fmt::Display for ParseAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a Bluetooth address (expected six hex octets like 00:AA:01:00:00:00)",
            self.0
        )
    }
}

impl std::error::Error for ParseAddressError {}

impl FromStr for Address {
    type Err = ParseAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseAddressError(s.to_string());
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(err());
        }
        let mut b = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 {
                return Err(err());
            }
            b[i] = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        Ok(Address::from_display_bytes(b))
    }
}

impl Wire for Address {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(Address)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

crate::open_enum! {
    /// The transport and kind of an address, as the one-octet Address_Type field carries it.
    pub struct AddressType(u8) {
        /// BR/EDR (classic).
        BR_EDR = 0x00 => "BR/EDR",
        /// LE public address.
        LE_PUBLIC = 0x01 => "LE Public",
        /// LE random address (static or private).
        LE_RANDOM = 0x02 => "LE Random",
    }
}

impl AddressType {
    /// True for the two LE address types.
    pub fn is_le(self) -> bool {
        self == Self::LE_PUBLIC || self == Self::LE_RANDOM
    }
}

crate::wire_struct! {
    /// An address with its type: the 7-octet `mgmt_addr_info` that most device commands and
    /// events start with.
    pub struct AddressInfo {
        /// The device address.
        pub address: Address,
        /// Its type.
        pub address_type: AddressType,
    }
}

impl AddressInfo {
    /// An address info from its parts.
    pub fn new(address: Address, address_type: AddressType) -> Self {
        AddressInfo {
            address,
            address_type,
        }
    }
}

impl fmt::Display for AddressInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.address, self.address_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec};

    #[test]
    fn address_text_is_most_significant_first() {
        // Wire bytes of 00:AA:01:00:00:00 (btvirt's first controller), least significant first.
        let a: Address = decode_exact("Test", &[0x00, 0x00, 0x00, 0x01, 0xaa, 0x00]).unwrap();
        assert_eq!(a.to_string(), "00:AA:01:00:00:00");
        assert_eq!("00:aa:01:00:00:00".parse::<Address>().unwrap(), a);
        assert!("00:AA:01:00:00".parse::<Address>().is_err());
        assert!("00:AA:01:00:00:0G".parse::<Address>().is_err());
    }

    #[test]
    fn address_info_round_trip() {
        let bytes = [1, 2, 3, 4, 5, 6, 2];
        let ai: AddressInfo = decode_exact("Test", &bytes).unwrap();
        assert_eq!(ai.address_type, AddressType::LE_RANDOM);
        assert_eq!(encode_to_vec(&ai), bytes);
        assert_eq!(format!("{:?}", AddressType(9)), "AddressType(0x09)");
    }
}
