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
