//! Unpair and forget: the kernel drops a device's keys (Unpair Device) and the store drops
//! its bond, so that neither a restart nor the next load brings the bond back.

use bluez_mgmt_protocol::address::{Address, AddressInfo};
use bluez_mgmt_protocol::command::{ReadInfo, UnpairDevice};
use bluez_mgmt_protocol::index::ControllerIndex;
use bluez_mgmt_protocol::status::Status;

use super::{AdapterId, Error, ErrorKind, KeyStore};
use crate::client::Client;

/// What [`unpair_and_forget`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpaired {
    /// The kernel held keys for the device and dropped them (Success); false when it answered
    /// Not Paired (it held none).
    pub kernel_had_keys: bool,
    /// With a store: whether a stored bond was removed. `None` without a store.
    pub removed_from_store: Option<bool>,
}

/// Unpairs `device` on controller `index` (Unpair Device, ending an existing connection when
/// `disconnect`), then, with a `store`, removes the device's stored bond (its whole device
/// directory, as bluetoothd's RemoveDevice does), also when the kernel answers Not Paired:
/// a bond can be on disk that was never loaded.
///
/// The store directory is the controller's public address (read with Read Controller
/// Information); for a controller without one, call [`KeyStore::remove`] with its
/// [`AdapterId`] yourself.
///
/// Errors: a kernel status other than Success and Not Paired (kind [`ErrorKind::Kernel`]);
/// when the kernel unpaired but the store could not be changed, the error says so and the
/// bond stays on disk.
pub async fn unpair_and_forget(
    client: &Client,
    index: ControllerIndex,
    device: AddressInfo,
    disconnect: bool,
    store: Option<&KeyStore>,
) -> Result<Unpaired, Error> {
    let address = device.address;
    let kernel_had_keys = match client
        .call(
            index,
            &UnpairDevice {
                address: device.clone(),
                disconnect,
            },
        )
        .await
    {
        Ok(_) => true,
        Err(e) if e.status() == Some(Status::NOT_PAIRED) => false,
        Err(e) => {
            return Err(Error {
                kind: ErrorKind::Kernel,
                message: format!("unpairing {device} on {index}: {e}"),
                source: Some(Box::new(e)),
            })
        }
    };
    let removed_from_store = match store {
        None => None,
        Some(store) => Some(forget(client, index, store, address).await.map_err(|e| {
            let what = if kernel_had_keys {
                "unpaired"
            } else {
                "not paired in the kernel"
            };
            Error {
                kind: e.kind,
                message: format!("{what}, but the stored bond of {address} remains: {e}"),
                source: Some(Box::new(e)),
            }
        })?),
    };
    Ok(Unpaired {
        kernel_had_keys,
        removed_from_store,
    })
}

async fn forget(
    client: &Client,
    index: ControllerIndex,
    store: &KeyStore,
    device: Address,
) -> Result<bool, Error> {
    let info = client.call(index, &ReadInfo {}).await.map_err(|e| Error {
        kind: ErrorKind::Kernel,
        message: format!("Read Controller Information: {e}"),
        source: Some(Box::new(e)),
    })?;
    if info.address == Address::ANY {
        return Err(Error {
            kind: ErrorKind::Kernel,
            message: format!(
                "controller {index} reports no public address; remove the bond from its \
                 static-<address> directory with KeyStore::remove"
            ),
            source: None,
        });
    }
    store.remove(AdapterId::from(info.address), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AddressType, EventCode, Opcode};
    use crate::transport::ScriptedTransport;
    use bluez_mgmt_protocol::keys::{LinkKey, LinkKeyInfo, LinkKeyType};
    use std::sync::Arc;

    const HCI0: ControllerIndex = ControllerIndex(0);
    /// The controller's address, as Read Controller Information reports it (wire order).
    const ADAPTER: [u8; 6] = [0x01, 0x00, 0x00, 0x00, 0xbb, 0x00];
    const DEVICE: [u8; 6] = [0x01, 0x00, 0x00, 0x66, 0x1b, 0x00];

    fn complete(opcode: Opcode, status: Status, rest: &[u8]) -> Vec<u8> {
        let mut p = opcode.0.to_le_bytes().to_vec();
        p.push(status.0);
        p.extend_from_slice(rest);
        p
    }

    /// Unpair Device for DEVICE (BR/EDR, disconnect) answered with `status`, then, when
    /// `read_info`, Read Controller Information answered with ADAPTER (280 octets).
    fn script(status: Status, read_info: bool) -> Arc<ScriptedTransport> {
        let addr = [&DEVICE[..], &[AddressType::BR_EDR.0]].concat();
        let mut b = ScriptedTransport::builder()
            .write_command(HCI0, Opcode::UNPAIR_DEVICE, &[&addr[..], &[0x01]].concat())
            .read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &complete(Opcode::UNPAIR_DEVICE, status, &addr),
            );
        if read_info {
            let mut info = ADAPTER.to_vec();
            info.resize(280, 0);
            b = b.write_command(HCI0, Opcode::READ_INFO, &[]).read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &complete(Opcode::READ_INFO, Status::SUCCESS, &info),
            );
        }
        Arc::new(b.build().stay_open())
    }

    fn device() -> AddressInfo {
        AddressInfo::new(Address(DEVICE), AddressType::BR_EDR)
    }

    fn seeded_store(dir: &std::path::Path) -> KeyStore {
        let store = KeyStore::open(dir);
        let key = LinkKeyInfo {
            address: device(),
            key_type: LinkKeyType::UNAUTHENTICATED_P192,
            value: LinkKey::new([7; 16]),
            pin_length: 0,
        };
        store
            .store(
                Address(ADAPTER),
                true,
                &super::super::KeyUpdate::LinkKey(key),
            )
            .unwrap();
        assert!(store.info_path(Address(ADAPTER), Address(DEVICE)).exists());
        store
    }

    /// (kernel status, store given, stored bond present) -> (kernel_had_keys, removed)
    #[tokio::test]
    async fn unpair_and_forget_table() {
        let cases = [
            (Status::SUCCESS, true, true, Some((true, Some(true)))),
            (Status::NOT_PAIRED, true, true, Some((false, Some(true)))),
            (Status::SUCCESS, true, false, Some((true, Some(false)))),
            (Status::SUCCESS, false, false, Some((true, None))),
            (Status::REJECTED, true, true, None),
        ];
        for (status, with_store, seeded, expect) in cases {
            let t = tempfile::tempdir().unwrap();
            let store = if seeded {
                seeded_store(t.path())
            } else {
                KeyStore::open(t.path())
            };
            let reads_info = with_store && expect.is_some();
            let script = script(status, reads_info);
            let client = Client::with_transport(script.clone());
            let got =
                unpair_and_forget(&client, HCI0, device(), true, with_store.then_some(&store))
                    .await;
            match expect {
                Some((had, removed)) => {
                    let u = got.unwrap();
                    assert_eq!((u.kernel_had_keys, u.removed_from_store), (had, removed));
                }
                None => {
                    let e = got.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::Kernel);
                    assert!(e.to_string().contains("Rejected"), "{e}");
                    // The kernel refused: the stored bond stays.
                    assert!(store.info_path(Address(ADAPTER), Address(DEVICE)).exists());
                }
            }
            if with_store && expect.is_some() {
                assert!(!store.info_path(Address(ADAPTER), Address(DEVICE)).exists());
            }
            script.check_done().unwrap();
        }
    }
}
