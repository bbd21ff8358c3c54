//! What a stored [`Bond`] is, read from its keys alone: the transports it covers
//! ([`BondTransport`]), the keys it holds ([`BondKey`]) and the security they give
//! ([`BondSecurity`]). `mgmtctl bonds` prints these; a program can match on them.

use core::fmt;

use bluez_mgmt_protocol::address::AddressType;
use bluez_mgmt_protocol::keys::LinkKeyType;

use super::Bond;

/// The LE identity a bond is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeIdentity {
    /// A public device address.
    Public,
    /// A static random address.
    StaticRandom,
}

/// The transports a bond covers: BR/EDR when it holds a link key, LE when it holds any LE
/// record (an LTK, IRK, CSRK or connection parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BondTransport {
    /// A link key: the device is bonded over BR/EDR.
    pub bredr: bool,
    /// LE records, and the LE identity address type they are stored under.
    pub le: Option<LeIdentity>,
}

impl fmt::Display for BondTransport {
    /// `BR/EDR`, `LE public`, `LE static`, `BR/EDR+LE public`, ...; `none` for a file with
    /// neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let le = self.le.map(|l| match l {
            LeIdentity::Public => "LE public",
            LeIdentity::StaticRandom => "LE static",
        });
        match (self.bredr, le) {
            (true, Some(le)) => write!(f, "BR/EDR+{le}"),
            (true, None) => f.write_str("BR/EDR"),
            (false, Some(le)) => f.write_str(le),
            (false, None) => f.write_str("none"),
        }
    }
}

/// One kind of key a bond can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BondKey {
    /// The BR/EDR link key.
    LinkKey,
    /// The LTK used when we are central.
    CentralLongTermKey,
    /// The LTK used when we are peripheral.
    PeripheralLongTermKey,
    /// The device's identity resolving key.
    Irk,
    /// Our signature key.
    LocalCsrk,
    /// The device's signature key.
    RemoteCsrk,
}

impl BondKey {
    /// Every kind, in the order [`Bond::keys`] lists them.
    pub const ALL: [BondKey; 6] = [
        BondKey::LinkKey,
        BondKey::CentralLongTermKey,
        BondKey::PeripheralLongTermKey,
        BondKey::Irk,
        BondKey::LocalCsrk,
        BondKey::RemoteCsrk,
    ];

    /// A short name: `link-key`, `LTK(central)`, `LTK(peripheral)`, `IRK`, `CSRK(local)`,
    /// `CSRK(remote)`.
    pub fn name(self) -> &'static str {
        match self {
            BondKey::LinkKey => "link-key",
            BondKey::CentralLongTermKey => "LTK(central)",
            BondKey::PeripheralLongTermKey => "LTK(peripheral)",
            BondKey::Irk => "IRK",
            BondKey::LocalCsrk => "CSRK(local)",
            BondKey::RemoteCsrk => "CSRK(remote)",
        }
    }

    fn held_by(self, b: &Bond) -> bool {
        match self {
            BondKey::LinkKey => b.link_key.is_some(),
            BondKey::CentralLongTermKey => b.long_term_key.is_some(),
            BondKey::PeripheralLongTermKey => b.peripheral_long_term_key.is_some(),
            BondKey::Irk => b.irk.is_some(),
            BondKey::LocalCsrk => b.local_csrk.is_some(),
            BondKey::RemoteCsrk => b.remote_csrk.is_some(),
        }
    }
}

impl fmt::Display for BondKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The security a bond's keys give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BondSecurity {
    /// Some key came from a pairing with MITM protection (see [`Bond::is_authenticated`]).
    pub authenticated: bool,
    /// Some key came from Secure Connections (a P-256 link key or LTK).
    pub secure_connections: bool,
}

impl fmt::Display for BondSecurity {
    /// `authenticated` or `unauthenticated`, followed by `,SC` for Secure Connections.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.authenticated {
            "authenticated"
        } else {
            "unauthenticated"
        })?;
        if self.secure_connections {
            f.write_str(",SC")?;
        }
        Ok(())
    }
}

impl Bond {
    /// The transports this bond covers.
    pub fn transport(&self) -> BondTransport {
        let le = self.long_term_key.is_some()
            || self.peripheral_long_term_key.is_some()
            || self.irk.is_some()
            || self.local_csrk.is_some()
            || self.remote_csrk.is_some()
            || self.connection_parameters.is_some();
        BondTransport {
            bredr: self.link_key.is_some(),
            le: le.then_some(if self.le_address_type == AddressType::LE_RANDOM {
                LeIdentity::StaticRandom
            } else {
                LeIdentity::Public
            }),
        }
    }

    /// The keys this bond holds, in [`BondKey::ALL`] order.
    pub fn keys(&self) -> Vec<BondKey> {
        BondKey::ALL
            .into_iter()
            .filter(|k| k.held_by(self))
            .collect()
    }

    /// The security this bond's keys give.
    pub fn security(&self) -> BondSecurity {
        let sc_link_key = self.link_key.as_ref().is_some_and(|k| {
            k.key_type == LinkKeyType::UNAUTHENTICATED_P256
                || k.key_type == LinkKeyType::AUTHENTICATED_P256
        });
        let sc_ltk = [&self.long_term_key, &self.peripheral_long_term_key]
            .iter()
            .any(|k| {
                k.as_ref()
                    .is_some_and(|k| k.key_type.is_secure_connections())
            });
        BondSecurity {
            authenticated: self.is_authenticated(),
            secure_connections: sc_link_key || sc_ltk,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::StoredCsrk;
    use bluez_mgmt_protocol::address::{Address, AddressInfo};
    use bluez_mgmt_protocol::keys::{
        CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo, LongTermKey,
        LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
    };

    const DEVICE: Address = Address([1, 0, 0, 0x66, 0x1b, 0]);

    fn empty(le_address_type: AddressType) -> Bond {
        Bond::new(DEVICE, le_address_type)
    }

    fn link_key(key_type: LinkKeyType) -> Option<LinkKeyInfo> {
        Some(LinkKeyInfo {
            address: AddressInfo::new(DEVICE, AddressType::BR_EDR),
            key_type,
            value: LinkKey::new([1; 16]),
            pin_length: 0,
        })
    }

    fn ltk(key_type: LongTermKeyType, central: u8) -> Option<LongTermKeyInfo> {
        Some(LongTermKeyInfo {
            address: AddressInfo::new(DEVICE, AddressType::LE_PUBLIC),
            key_type,
            central,
            encryption_size: 16,
            ediv: 0,
            rand: 0,
            value: LongTermKey::new([2; 16]),
        })
    }

    fn csrk() -> Option<StoredCsrk> {
        Some(StoredCsrk {
            info: CsrkInfo {
                address: AddressInfo::new(DEVICE, AddressType::LE_PUBLIC),
                csrk_type: CsrkType(0x00),
                value: SignatureResolvingKey::new([3; 16]),
            },
            counter: 0,
        })
    }

    /// One row per case: the bond, then the transport, keys and security expected as text.
    #[test]
    fn classification_table() {
        let bredr_ssp = Bond {
            link_key: link_key(LinkKeyType::UNAUTHENTICATED_P192),
            ..empty(AddressType::LE_PUBLIC)
        };
        let bredr_sc_mitm = Bond {
            link_key: link_key(LinkKeyType::AUTHENTICATED_P256),
            ..empty(AddressType::LE_PUBLIC)
        };
        let le_sc = Bond {
            peripheral_long_term_key: ltk(LongTermKeyType::AUTHENTICATED_P256, 0),
            irk: Some(IrkInfo {
                address: AddressInfo::new(DEVICE, AddressType::LE_RANDOM),
                value: IdentityResolvingKey::new([4; 16]),
            }),
            ..empty(AddressType::LE_RANDOM)
        };
        let le_legacy = Bond {
            long_term_key: ltk(LongTermKeyType::UNAUTHENTICATED_LEGACY, 1),
            peripheral_long_term_key: ltk(LongTermKeyType::UNAUTHENTICATED_LEGACY, 0),
            local_csrk: csrk(),
            remote_csrk: csrk(),
            ..empty(AddressType::LE_PUBLIC)
        };
        let dual = Bond {
            link_key: link_key(LinkKeyType::COMBINATION),
            long_term_key: ltk(LongTermKeyType::AUTHENTICATED_LEGACY, 1),
            ..empty(AddressType::LE_PUBLIC)
        };
        let only_parameters = Bond {
            connection_parameters: Some(bluez_mgmt_protocol::keys::ConnectionParameters {
                address: AddressInfo::new(DEVICE, AddressType::LE_PUBLIC),
                min_interval: 24,
                max_interval: 40,
                latency: 0,
                timeout: 42,
            }),
            ..empty(AddressType::LE_PUBLIC)
        };
        let nothing = empty(AddressType::LE_PUBLIC);
        let table: [(&Bond, &str, &str, &str); 7] = [
            (&bredr_ssp, "BR/EDR", "link-key", "unauthenticated"),
            (&bredr_sc_mitm, "BR/EDR", "link-key", "authenticated,SC"),
            (
                &le_sc,
                "LE static",
                "LTK(peripheral),IRK",
                "authenticated,SC",
            ),
            (
                &le_legacy,
                "LE public",
                "LTK(central),LTK(peripheral),CSRK(local),CSRK(remote)",
                "unauthenticated",
            ),
            (
                &dual,
                "BR/EDR+LE public",
                "link-key,LTK(central)",
                "authenticated",
            ),
            (&only_parameters, "LE public", "", "unauthenticated"),
            (&nothing, "none", "", "unauthenticated"),
        ];
        for (bond, transport, keys, security) in table {
            let names: Vec<&str> = bond.keys().into_iter().map(BondKey::name).collect();
            assert_eq!(
                (
                    bond.transport().to_string().as_str(),
                    names.join(",").as_str(),
                    bond.security().to_string().as_str()
                ),
                (transport, keys, security),
                "{bond:?}"
            );
        }
        assert_eq!(
            le_sc.transport(),
            BondTransport {
                bredr: false,
                le: Some(LeIdentity::StaticRandom)
            }
        );
        assert_eq!(
            bredr_sc_mitm.security(),
            BondSecurity {
                authenticated: true,
                secure_connections: true
            }
        );
    }
}
