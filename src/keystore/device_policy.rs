//! What the store says the kernel should do with a device besides loading its keys, in
//! bluetoothd's layout: `[General] Blocked=true` in a device's info file blocks it (Block
//! Device, as bluetoothd's `load_info` does at start), and a bonded LE device (one holding an
//! LTK) that is not blocked is put on the kernel's auto-connect list (Add Device, action 2),
//! so it reconnects by itself whenever it advertises, with no command from the user.
//!
//! bluetoothd decides auto-connect from the GATT profiles it runs; without bluetoothd, every
//! bonded LE device is the rule here. [`set_blocked`] writes `Blocked` the way bluetoothd
//! does, keeping the file's other groups.
//!
//! Run [`apply`] after the keys are loaded (auto-connect needs them to encrypt the link) and
//! after power-on: the kernel keeps the list across power cycles, but kernel 6.1 left Add
//! Device unanswered while the controller was powered off (seen in the kernel tier). The
//! pairing service does both at controller set-up when it loads bonds
//! (`pairing::ServiceConfig::load_bonds`).

use std::path::PathBuf;

use crate::client::{Controller, Error as ClientError};
use crate::protocol::command::AddDeviceAction;
use crate::protocol::{AddressInfo, AddressType};

use super::info::GENERAL;
use super::keyfile::KeyFile;
use super::{AdapterId, Error, KeyStore};

/// The `[General]` key bluetoothd writes for a blocked device.
pub const BLOCKED: &str = "Blocked";

/// What to do with one stored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicy {
    /// The device (its LE identity address and type for an LE bond, else BR/EDR).
    pub device: AddressInfo,
    /// `[General] Blocked=true`.
    pub blocked: bool,
    /// A bonded LE device to reconnect automatically.
    pub auto_connect: bool,
}

/// Reads every device of `adapter`: one policy per device that is blocked or auto-connects.
pub fn policies(
    store: &KeyStore,
    adapter: impl Into<AdapterId>,
) -> Result<Vec<DevicePolicy>, Error> {
    let adapter = adapter.into();
    let (devices, _errors) = store.devices(adapter)?;
    let mut out = Vec::new();
    for bond in devices {
        let blocked = read_blocked(&store.info_path(adapter, bond.device));
        let le = bond.long_term_key.is_some() || bond.peripheral_long_term_key.is_some();
        let device = if le {
            AddressInfo::new(bond.device, bond.le_address_type)
        } else {
            AddressInfo::new(bond.device, AddressType::BR_EDR)
        };
        let auto_connect = le && !blocked;
        if blocked || auto_connect {
            out.push(DevicePolicy {
                device,
                blocked,
                auto_connect,
            });
        }
    }
    Ok(out)
}

fn read_blocked(path: &PathBuf) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    KeyFile::parse(&bytes)
        .ok()
        .and_then(|f| f.get(GENERAL, BLOCKED).map(|v| v.value.trim() == "true"))
        .unwrap_or(false)
}

/// Sets or clears `[General] Blocked` in a device's info file (creating it if needed).
pub fn set_blocked(
    store: &KeyStore,
    adapter: impl Into<AdapterId>,
    device: crate::protocol::Address,
    blocked: bool,
) -> Result<PathBuf, Error> {
    store.modify(adapter.into(), device, |file| {
        if blocked {
            file.set(GENERAL, BLOCKED, "true");
        } else {
            file.remove_key(GENERAL, BLOCKED);
        }
    })
}

/// Gives the kernel the policies: Block Device for blocked devices, Add Device with
/// auto-connect for the others. Returns the devices the kernel refused, with its error (the
/// rest are applied).
pub async fn apply(
    controller: &Controller,
    policies: &[DevicePolicy],
) -> Vec<(AddressInfo, ClientError)> {
    let mut refused = Vec::new();
    for p in policies {
        let result = if p.blocked {
            controller.block(p.device.clone()).await
        } else if p.auto_connect {
            controller
                .add_device(p.device.clone(), AddDeviceAction::AUTO_CONNECT)
                .await
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(device = %p.device, error = %e, "the kernel refused a stored device policy");
            refused.push((p.device.clone(), e));
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Address;

    const LE_BOND: &str = "[General]\nName=sensor\nAddressType=static\n\n[LongTermKey]\n\
        Key=00112233445566778899AABBCCDDEEFF\nAuthenticated=0\nEncSize=16\nEDiv=0\nRand=0\n";
    const BREDR_BLOCKED: &str = "[General]\nName=phone\nBlocked=true\n\n[LinkKey]\n\
        Key=00112233445566778899AABBCCDDEEFF\nType=4\nPINLength=0\n";

    #[test]
    fn blocked_and_auto_connect_from_bluetoothd_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path());
        let adapter = AdapterId::public("00:AA:01:00:00:00".parse().unwrap());
        let le: Address = "C0:BB:00:00:00:02".parse().unwrap();
        let phone: Address = "00:BB:00:00:00:02".parse().unwrap();
        for (device, text) in [(le, LE_BOND), (phone, BREDR_BLOCKED)] {
            let path = store.info_path(adapter, device);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let mut got = policies(&store, adapter).unwrap();
        got.sort_by_key(|p| p.device.address.to_string());
        assert_eq!(
            got,
            vec![
                DevicePolicy {
                    device: AddressInfo::new(phone, AddressType::BR_EDR),
                    blocked: true,
                    auto_connect: false,
                },
                DevicePolicy {
                    device: AddressInfo::new(le, AddressType::LE_RANDOM),
                    blocked: false,
                    auto_connect: true,
                },
            ]
        );
        // Blocking the LE device is written as bluetoothd writes it; its keys stay.
        set_blocked(&store, adapter, le, true).unwrap();
        let text = std::fs::read_to_string(store.info_path(adapter, le)).unwrap();
        assert!(text.contains("Blocked=true"), "{text}");
        assert!(text.contains("[LongTermKey]"), "{text}");
        let p = policies(&store, adapter).unwrap();
        assert!(p.iter().all(|p| p.blocked && !p.auto_connect), "{p:?}");
        set_blocked(&store, adapter, le, false).unwrap();
        assert!(policies(&store, adapter)
            .unwrap()
            .iter()
            .any(|p| p.auto_connect));
    }
}
