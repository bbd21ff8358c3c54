//! Key-store helpers: file modes and bonds built field by field.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bluez_mgmt::keystore::Bond;
use bluez_mgmt::protocol::{Address, AddressType};

/// The permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A bond for `device` with no name and no keys.
pub fn empty_bond(device: Address, le_address_type: AddressType) -> Bond {
    Bond {
        device,
        le_address_type,
        name: None,
        link_key: None,
        long_term_key: None,
        peripheral_long_term_key: None,
        irk: None,
        local_csrk: None,
        remote_csrk: None,
        connection_parameters: None,
    }
}
