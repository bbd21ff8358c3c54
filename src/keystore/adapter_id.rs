//! Which adapter a directory of the store belongs to, named as bluetoothd names it.
//!
//! bluetoothd (`btd_adapter_get_storage_dir`, src/adapter.c) names an adapter's directory by
//! its public address, `00:AA:01:00:00:00`, or, for an LE-only controller that has only a
//! static random address, `static-` followed by that address: `static-C0:11:22:33:44:55`.

use core::fmt;
use core::str::FromStr;

use bluez_mgmt_protocol::address::{Address, ParseAddressError};

/// An adapter's identity in the store: its address, and whether that is a static random
/// address (directory `static-<address>`) rather than a public one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AdapterId {
    /// The adapter's address.
    pub address: Address,
    /// True for an LE-only controller known by its static random address.
    pub static_random: bool,
}

impl AdapterId {
    /// An adapter known by its public address.
    pub fn public(address: Address) -> Self {
        AdapterId {
            address,
            static_random: false,
        }
    }

    /// An LE-only adapter known by its static random address.
    pub fn static_random(address: Address) -> Self {
        AdapterId {
            address,
            static_random: true,
        }
    }
}

impl From<Address> for AdapterId {
    fn from(address: Address) -> Self {
        AdapterId::public(address)
    }
}

impl fmt::Display for AdapterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.static_random {
            write!(f, "static-{}", self.address)
        } else {
            write!(f, "{}", self.address)
        }
    }
}

impl FromStr for AdapterId {
    type Err = ParseAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("static-") {
            Some(rest) => rest.parse().map(AdapterId::static_random),
            None => s.parse().map(AdapterId::public),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_as_bluetoothd_writes_them() {
        let a: Address = "C0:11:22:33:44:55".parse().unwrap();
        assert_eq!(AdapterId::public(a).to_string(), "C0:11:22:33:44:55");
        assert_eq!(
            AdapterId::static_random(a).to_string(),
            "static-C0:11:22:33:44:55"
        );
        assert_eq!(
            "static-C0:11:22:33:44:55".parse::<AdapterId>().unwrap(),
            AdapterId::static_random(a)
        );
        assert_eq!("C0:11:22:33:44:55".parse::<AdapterId>().unwrap(), a.into());
        assert!("static-".parse::<AdapterId>().is_err());
        assert!("cache".parse::<AdapterId>().is_err());
    }
}
