//! OOB data and the kernel, over MGMT: read the local controller's data, add and remove a
//! peer's (BlueZ `doc/mgmt-protocol.rst`: Read Local Out Of Band Data 0x0020, Add Remote Out
//! Of Band Data 0x0021, Remove Remote Out Of Band Data 0x0022, Read Local Out Of Band
//! Extended Data 0x003B).
//!
//! What the kernel (6.1, `net/bluetooth/mgmt.c` and `smp.c`) does with them:
//!
//! - LE: Read Local OOB Extended Data (LE) makes a fresh SMP key pair and random value
//!   (`smp_generate_oob`) and returns the LE Secure Connections confirmation and random
//!   values with the address and role; only with Secure Connections enabled. Each read
//!   replaces the previous values, so read once and hand out that one.
//! - LE: the peer's data is accepted as the P-256 pair only; the P-192 pair must be zero
//!   ("LE legacy OOB is not supported", mgmt-protocol.rst; `add_remote_oob_data` answers
//!   Invalid Parameters otherwise). Legacy OOB with a TK is therefore impossible through
//!   MGMT: [`OobError::LeLegacyOobUnsupported`].
//! - LE Secure Connections: the side holding the peer's data sets the SMP OOB flag; a side
//!   whose own data was read uses it when the peer's flag is set. Either flag selects the OOB
//!   method (`sc_select_method`), and its LTK is authenticated. The MITM check of
//!   `smp_cmd_pairing_req`/`_rsp` (refusal when the IO capabilities only allow Just Works)
//!   comes before the method is chosen and does not look at OOB flags (not tested here).
//! - BR/EDR: the data is answered to the controller's Remote OOB Data Request (P-192, and
//!   P-256 with Secure Connections); the controller runs SSP with it.

use core::fmt;

use super::eir::{self, ParseError};
use super::{OobData, OobTransport, OobValue};
use crate::client::{Client, Error as ClientError};
use crate::protocol::command::{
    AddRemoteOobData, OobHashRandomizer, ReadInfo, ReadLocalOobData, ReadLocalOobDataReply,
    ReadLocalOobExtData, RemoveRemoteOobData,
};
use crate::protocol::{AddressInfo, ControllerIndex, DiscoveryType};

/// Why an OOB operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OobError {
    /// The kernel refused the command, or the client failed.
    Client(ClientError),
    /// The kernel's Read Local OOB Extended Data reply did not parse.
    Reply(ParseError),
    /// The kernel's reply had no data for the transport (Secure Connections off for LE, SSP
    /// off for BR/EDR): `missing` names the field.
    NoLocalData {
        /// The transport.
        transport: OobTransport,
        /// The field the reply lacked.
        missing: &'static str,
    },
    /// LE data with only a Security Manager TK: LE legacy OOB pairing, which the kernel does
    /// not offer through MGMT (BlueZ `doc/mgmt-protocol.rst`, Add Remote Out Of Band Data:
    /// the 192-bit values must be zero for LE, "since LE legacy OOB is not supported";
    /// kernel `mgmt.c` `add_remote_oob_data`).
    LeLegacyOobUnsupported,
    /// The peer's data has nothing MGMT can use: `missing` names what is needed.
    NoValues {
        /// The transport.
        transport: OobTransport,
        /// What is missing.
        missing: &'static str,
    },
}

impl fmt::Display for OobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OobError::Client(e) => write!(f, "{e}"),
            OobError::Reply(e) => write!(f, "the kernel's OOB data: {e}"),
            OobError::NoLocalData { transport, missing } => write!(
                f,
                "the kernel returned no {transport} OOB values ({missing} missing; \
                 LE needs Secure Connections on, BR/EDR needs SSP on)"
            ),
            OobError::LeLegacyOobUnsupported => f.write_str(
                "LE legacy OOB (Security Manager TK) cannot be used: the kernel accepts only \
                 LE Secure Connections OOB data through MGMT (doc/mgmt-protocol.rst, Add \
                 Remote Out Of Band Data)",
            ),
            OobError::NoValues { transport, missing } => {
                write!(f, "the {transport} OOB data has no {missing}")
            }
        }
    }
}

impl std::error::Error for OobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OobError::Client(e) => Some(e),
            OobError::Reply(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for OobError {
    fn from(e: ClientError) -> Self {
        OobError::Client(e)
    }
}

/// The address type mask Read Local OOB Extended Data takes for `transport`.
fn mask(transport: OobTransport) -> DiscoveryType {
    match transport {
        OobTransport::BrEdr => DiscoveryType::BREDR,
        OobTransport::Le => DiscoveryType::LE,
    }
}

/// OOB data from a Read Local OOB Extended Data reply's EIR. BR/EDR data carries no address:
/// `bredr_address` supplies it (Read Controller Information's).
pub fn from_local_ext_data(
    transport: OobTransport,
    eir_bytes: &[u8],
    bredr_address: crate::protocol::Address,
) -> Result<OobData, OobError> {
    match transport {
        OobTransport::Le => {
            let d = eir::le_from_ad(eir_bytes).map_err(OobError::Reply)?;
            for (v, missing) in [
                (d.confirm, "LE SC confirmation value"),
                (d.random, "LE SC random value"),
            ] {
                if v.is_none() {
                    return Err(OobError::NoLocalData { transport, missing });
                }
            }
            Ok(OobData::Le(d))
        }
        OobTransport::BrEdr => {
            let d = eir::bredr_from_eir(bredr_address, eir_bytes).map_err(OobError::Reply)?;
            if d.hash192.is_none() && d.hash256.is_none() {
                return Err(OobError::NoLocalData {
                    transport,
                    missing: "Simple Pairing hash",
                });
            }
            Ok(OobData::BrEdr(d))
        }
    }
}

/// Reads the local controller's OOB data for `transport` (Read Local OOB Extended Data; for
/// BR/EDR also Read Controller Information, for the address). The controller must be
/// powered; LE needs Secure Connections on, BR/EDR needs SSP on.
pub async fn read_local(
    client: &Client,
    index: ControllerIndex,
    transport: OobTransport,
) -> Result<OobData, OobError> {
    let reply = client
        .call(
            index,
            &ReadLocalOobExtData {
                address_types: mask(transport),
            },
        )
        .await?;
    let address = match transport {
        OobTransport::BrEdr => client.call(index, &ReadInfo {}).await?.address,
        OobTransport::Le => crate::protocol::Address::ANY,
    };
    tracing::debug!(%index, %transport, eir_len = reply.eir.len(), "read local OOB data");
    from_local_ext_data(transport, &reply.eir, address)
}

/// Reads the local BR/EDR hash and randomizer pairs with the older Read Local OOB Data
/// (P-192 always, P-256 with Secure Connections).
pub async fn read_local_pairs(
    client: &Client,
    index: ControllerIndex,
) -> Result<ReadLocalOobDataReply, OobError> {
    Ok(client.call(index, &ReadLocalOobData {}).await?)
}

fn pair(hash: Option<OobValue>, rand: Option<OobValue>) -> OobHashRandomizer {
    OobHashRandomizer {
        hash: hash.unwrap_or_default().0,
        randomizer: rand.unwrap_or_default().0,
    }
}

/// The Add Remote OOB Data command for a peer's data. LE: the SC confirmation and random
/// values as the P-256 pair, the P-192 pair zero. BR/EDR: C/R-192 and, when present,
/// C/R-256 (a missing randomizer is zero, as the NFC record's rules have it).
pub fn add_remote_command(data: &OobData) -> Result<AddRemoteOobData, OobError> {
    match data {
        OobData::Le(d) => match (d.confirm, d.random) {
            (Some(c), Some(r)) => Ok(AddRemoteOobData {
                address: data.address(),
                p192: pair(None, None),
                p256: Some(pair(Some(c), Some(r))),
            }),
            (None, None) if d.tk.is_some() => Err(OobError::LeLegacyOobUnsupported),
            (None, _) => Err(OobError::NoValues {
                transport: OobTransport::Le,
                missing: "LE SC confirmation value",
            }),
            (_, None) => Err(OobError::NoValues {
                transport: OobTransport::Le,
                missing: "LE SC random value",
            }),
        },
        OobData::BrEdr(d) => {
            if d.hash192.is_none() && d.hash256.is_none() {
                return Err(OobError::NoValues {
                    transport: OobTransport::BrEdr,
                    missing: "Simple Pairing hash C-192 or C-256",
                });
            }
            Ok(AddRemoteOobData {
                address: data.address(),
                p192: pair(d.hash192, d.rand192),
                p256: d.hash256.map(|h| pair(Some(h), d.rand256)),
            })
        }
    }
}

/// Gives the kernel a peer's OOB data (Add Remote OOB Data), for a pairing either side
/// starts. Kept until removed, or until a pairing with that peer uses it.
pub async fn add_remote(
    client: &Client,
    index: ControllerIndex,
    data: &OobData,
) -> Result<AddressInfo, OobError> {
    let command = add_remote_command(data)?;
    tracing::debug!(%index, peer = %command.address.address, "adding remote OOB data");
    Ok(client.call(index, &command).await?)
}

/// Removes a peer's OOB data (Remove Remote OOB Data); address 00:00:00:00:00:00 removes
/// every peer's.
pub async fn remove_remote(
    client: &Client,
    index: ControllerIndex,
    address: AddressInfo,
) -> Result<AddressInfo, OobError> {
    Ok(client.call(index, &RemoveRemoteOobData { address }).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oob::{BrEdrOobData, LeOobData};
    use crate::protocol::AddressType;

    #[test]
    fn le_sc_values_go_in_the_p256_pair() {
        let d = OobData::Le(LeOobData {
            address: "00:AA:01:00:00:00".parse().unwrap(),
            address_type: AddressType::LE_PUBLIC,
            confirm: Some(OobValue([1; 16])),
            random: Some(OobValue([2; 16])),
            ..LeOobData::default()
        });
        let c = add_remote_command(&d).unwrap();
        assert_eq!(c.address.address_type, AddressType::LE_PUBLIC);
        assert_eq!(c.p192, pair(None, None));
        assert_eq!(
            c.p256,
            Some(OobHashRandomizer {
                hash: [1; 16],
                randomizer: [2; 16]
            })
        );
    }

    #[test]
    fn le_legacy_tk_is_refused_with_the_reason() {
        let d = OobData::Le(LeOobData {
            tk: Some(OobValue([7; 16])),
            ..LeOobData::default()
        });
        let e = add_remote_command(&d).unwrap_err();
        assert!(matches!(e, OobError::LeLegacyOobUnsupported));
        assert!(e.to_string().contains("mgmt-protocol.rst"), "{e}");
        let e = add_remote_command(&OobData::Le(LeOobData::default())).unwrap_err();
        assert!(e.to_string().contains("confirmation"), "{e}");
    }

    #[test]
    fn bredr_pairs() {
        let d = OobData::BrEdr(BrEdrOobData {
            hash192: Some(OobValue([3; 16])),
            ..BrEdrOobData::default()
        });
        let c = add_remote_command(&d).unwrap();
        assert_eq!(c.address.address_type, AddressType::BR_EDR);
        assert_eq!(c.p192.hash, [3; 16]);
        assert_eq!(c.p192.randomizer, [0; 16]);
        assert_eq!(c.p256, None);
        assert!(add_remote_command(&OobData::BrEdr(BrEdrOobData::default())).is_err());
    }
}
