//! What the store says the kernel should do with a device besides loading its keys, in
//! bluetoothd's layout, applied at start as bluetoothd's `load_devices` / `load_info` do:
//! - `[General] Blocked=true` blocks the device (Block Device, on each bearer its
//!   `SupportedTechnologies` lists: the LE identity address and the BR/EDR one).
//! - A stored LE device reconnects by itself (Add Device, action 2: auto-connect). bluetoothd
//!   persists nothing for auto-connect: it decides it at run time (`device_set_auto_connect`
//!   in `src/device.c`, which calls `adapter_auto_connect_add`) for a device with an LE
//!   bearer (`SupportedTechnologies` lists `LE`), an identity address (`AddressType` public
//!   or static), `PreferredBearer` not `bredr`, that is not blocked and runs a GATT profile
//!   that asks for auto-connect (HID over GATT, ...). Without bluetoothd there are no
//!   profiles: holding an LTK (a bond) stands for that profile here; the other conditions are
//!   bluetoothd's, read from the same keys ([`policy_of`]). So `mgmtctl add-device` and
//!   `remove-device` have nothing to write: unpairing or blocking the device is how a stored
//!   LE device stops reconnecting, under bluetoothd and here alike.
//! - `[General] WakeAllowed` (written only once a user chose, [`device_info`]) sets or clears
//!   the Remote Wakeup device flag after the device's Add Device, as bluetoothd does when the
//!   kernel reports the device's flags.
//!
//! Not done here: bluetoothd also puts every stored BR/EDR device on the kernel's accept list
//! (Add Device, action 1, from `btd_device_set_temporary`), which lets it connect even while
//! the controller is not connectable; a board that wants that runs `mgmtctl add-device
//! --action allow` itself.
//!
//! Run [`apply`] after the keys are loaded (auto-connect needs them to encrypt the link) and
//! after power-on: the kernel keeps the list across power cycles, but kernel 6.1 left Add
//! Device unanswered while the controller was powered off (seen in the kernel tier). The
//! pairing service does both at controller set-up when it loads bonds
//! (`pairing::ServiceConfig::load_bonds`).

use std::path::{Path, PathBuf};

use crate::client::{Controller, Error as ClientError};
use crate::protocol::command::AddDeviceAction;
use crate::protocol::{AddressInfo, AddressType, DeviceFlags};

use super::info::{self, Bond, GENERAL};
use super::keyfile::{self, KeyFile};
use super::{device_info, AdapterId, Error, KeyStore};

/// The `[General]` key bluetoothd writes for a blocked device.
pub const BLOCKED: &str = "Blocked";

/// What to do with one stored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicy {
    /// The device (its LE identity address and type for an LE device, else BR/EDR).
    pub device: AddressInfo,
    /// `[General] Blocked=true`.
    pub blocked: bool,
    /// A bonded LE device to reconnect automatically.
    pub auto_connect: bool,
    /// The addresses Block Device is sent for: one per bearer the file lists (LE first).
    pub addresses: Vec<AddressInfo>,
    /// `[General] WakeAllowed`, applied after Add Device (`None`: absent, the kernel's
    /// default stays).
    pub wake_allowed: Option<bool>,
}

/// What the `[General]` group of an info file says, for [`policy_of`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct General {
    /// `SupportedTechnologies` lists `BR/EDR`.
    pub bredr: bool,
    /// `SupportedTechnologies` lists `LE`.
    pub le: bool,
    /// `Blocked=true`.
    pub blocked: bool,
    /// `PreferredBearer` (lower case), when set.
    pub preferred_bearer: Option<String>,
    /// `WakeAllowed`.
    pub wake_allowed: Option<bool>,
}

impl General {
    /// Reads the keys [`policy_of`] needs (booleans as GLib reads them: `true`/`1`).
    pub fn read(file: &KeyFile) -> General {
        let technologies = file
            .get(GENERAL, "SupportedTechnologies")
            .map(|f| keyfile::split_list(f.value))
            .unwrap_or_default();
        General {
            bredr: technologies.iter().any(|t| t == "BR/EDR"),
            le: technologies.iter().any(|t| t == "LE"),
            blocked: file
                .get(GENERAL, BLOCKED)
                .is_some_and(|v| matches!(v.value.trim(), "true" | "1")),
            preferred_bearer: file
                .get(GENERAL, "PreferredBearer")
                .map(|v| v.value.trim().to_ascii_lowercase()),
            wake_allowed: device_info::read_wake_allowed(file),
        }
    }
}

/// The policy of one stored device, or `None` when the kernel is told nothing about it (the
/// rule and where each condition comes from in bluetoothd are in the module docs).
pub fn policy_of(bond: &Bond, general: &General) -> Option<DevicePolicy> {
    let le_address = AddressInfo::new(bond.device, bond.le_address_type);
    let bredr_address = AddressInfo::new(bond.device, AddressType::BR_EDR);
    let bonded_le = bond.long_term_key.is_some() || bond.peripheral_long_term_key.is_some();
    let identity =
        bond.le_address_type != AddressType::LE_RANDOM || bond.device.0[5] & 0xc0 == 0xc0;
    let auto_connect = general.le
        && bonded_le
        && identity
        && !general.blocked
        && general.preferred_bearer.as_deref() != Some("bredr");
    let mut addresses = Vec::new();
    if general.le {
        addresses.push(le_address.clone());
    }
    if general.bredr {
        addresses.push(bredr_address.clone());
    }
    if addresses.is_empty() {
        // No SupportedTechnologies (a file from an old tool): the keys say the bearer.
        addresses.push(if bonded_le { le_address } else { bredr_address });
    }
    (general.blocked || auto_connect).then(|| DevicePolicy {
        device: addresses[0].clone(),
        blocked: general.blocked,
        auto_connect,
        addresses,
        wake_allowed: general.wake_allowed,
    })
}

/// Reads every device of `adapter`: one policy per device that is blocked or auto-connects.
pub fn policies(
    store: &KeyStore,
    adapter: impl Into<AdapterId>,
) -> Result<Vec<DevicePolicy>, Error> {
    let adapter = adapter.into();
    let (devices, _errors) = store.devices(adapter)?;
    Ok(devices
        .iter()
        .filter_map(|bond| policy_of(bond, &read_general(&store.info_path(adapter, bond.device))))
        .collect())
}

fn read_general(path: &Path) -> General {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| KeyFile::parse(&bytes).ok())
        .map(|f| General::read(&f))
        .unwrap_or_default()
}

/// Sets `[General] Blocked` in a device's info file (creating it if needed) as bluetoothd
/// writes it: `true`, or `false` when unblocking a device whose file has the key. Blocking also lists the device's bearer in `SupportedTechnologies`
/// (with `AddressType` for LE) when missing, since bluetoothd blocks only listed bearers.
pub fn set_blocked(
    store: &KeyStore,
    adapter: impl Into<AdapterId>,
    device: &AddressInfo,
    blocked: bool,
) -> Result<PathBuf, Error> {
    store.modify(adapter.into(), device.address, |file| {
        if blocked {
            file.set(GENERAL, BLOCKED, "true");
            info::add_bearer(file, device.address_type);
        } else if file.get(GENERAL, BLOCKED).is_some() {
            // bluetoothd writes the boolean either way.
            file.set(GENERAL, BLOCKED, "false");
        }
    })
}

/// Gives the kernel the policies: Block Device (each listed bearer) for blocked devices, Add
/// Device with auto-connect (then the stored wake setting) for the others. Returns the
/// devices the kernel refused, with its error (the rest are applied).
pub async fn apply(
    controller: &Controller,
    policies: &[DevicePolicy],
) -> Vec<(AddressInfo, ClientError)> {
    let mut refused = Vec::new();
    for p in policies {
        let result = if p.blocked {
            block_all(controller, &p.addresses).await
        } else if p.auto_connect {
            match controller
                .add_device(p.device.clone(), AddDeviceAction::AUTO_CONNECT)
                .await
            {
                Ok(()) => match p.wake_allowed {
                    Some(wake) => set_remote_wakeup(controller, p.device.clone(), wake).await,
                    None => Ok(()),
                },
                Err(e) => Err(e),
            }
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

async fn block_all(controller: &Controller, addresses: &[AddressInfo]) -> Result<(), ClientError> {
    for a in addresses {
        controller.block(a.clone()).await?;
    }
    Ok(())
}

/// Sets or clears the Remote Wakeup device flag of a device on the kernel's list, keeping its
/// other flags (Get, then Set Device Flags when it differs).
pub async fn set_remote_wakeup(
    controller: &Controller,
    device: AddressInfo,
    wake: bool,
) -> Result<(), ClientError> {
    let current = controller.device_flags(device.clone()).await?.current_flags;
    let wanted = if wake {
        current | DeviceFlags::REMOTE_WAKEUP
    } else {
        current - DeviceFlags::REMOTE_WAKEUP
    };
    if wanted == current {
        return Ok(());
    }
    controller.set_device_flags(device, wanted).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Address;

    const LE_BOND: &str =
        "[General]\nName=sensor\nAddressType=static\nSupportedTechnologies=LE;\n\n\
        [LongTermKey]\nKey=00112233445566778899AABBCCDDEEFF\nAuthenticated=0\nEncSize=16\n\
        EDiv=0\nRand=0\n";
    const BREDR_BLOCKED: &str = "[General]\nName=phone\nSupportedTechnologies=BR/EDR;\n\
        Blocked=true\n\n[LinkKey]\nKey=00112233445566778899AABBCCDDEEFF\nType=4\nPINLength=0\n";

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
        let le_info = AddressInfo::new(le, AddressType::LE_RANDOM);
        let phone_info = AddressInfo::new(phone, AddressType::BR_EDR);
        assert_eq!(
            got,
            vec![
                DevicePolicy {
                    device: phone_info.clone(),
                    blocked: true,
                    auto_connect: false,
                    addresses: vec![phone_info],
                    wake_allowed: None,
                },
                DevicePolicy {
                    device: le_info.clone(),
                    blocked: false,
                    auto_connect: true,
                    addresses: vec![le_info.clone()],
                    wake_allowed: None,
                },
            ]
        );
        // Blocking the LE device is written as bluetoothd writes it; its keys stay.
        set_blocked(&store, adapter, &le_info, true).unwrap();
        let text = std::fs::read_to_string(store.info_path(adapter, le)).unwrap();
        assert!(text.contains("Blocked=true"), "{text}");
        assert!(text.contains("[LongTermKey]"), "{text}");
        let p = policies(&store, adapter).unwrap();
        assert!(p.iter().all(|p| p.blocked && !p.auto_connect), "{p:?}");
        set_blocked(&store, adapter, &le_info, false).unwrap();
        assert!(policies(&store, adapter)
            .unwrap()
            .iter()
            .any(|p| p.auto_connect));
    }

    /// bluetoothd's conditions for auto-connect, one row each: (the `[General]` keys beside
    /// an LTK, auto-connect?).
    #[test]
    fn auto_connect_follows_bluetoothds_conditions() {
        let ltk = "\n[LongTermKey]\nKey=00112233445566778899AABBCCDDEEFF\nAuthenticated=0\n\
            EncSize=16\nEDiv=0\nRand=0\n";
        let static_le: Address = "C0:BB:00:00:00:02".parse().unwrap();
        let rows: [(&str, Address, bool); 7] = [
            (
                "AddressType=static\nSupportedTechnologies=LE;",
                static_le,
                true,
            ),
            (
                "AddressType=public\nSupportedTechnologies=BR/EDR;LE;",
                "00:BB:00:00:00:03".parse().unwrap(),
                true,
            ),
            // No LE bearer listed: bluetoothd has no LE bearer to auto-connect.
            ("AddressType=static", static_le, false),
            (
                "AddressType=static\nSupportedTechnologies=BR/EDR;",
                static_le,
                false,
            ),
            // BR/EDR preferred inhibits it.
            (
                "AddressType=static\nSupportedTechnologies=LE;\nPreferredBearer=bredr",
                static_le,
                false,
            ),
            (
                "AddressType=static\nSupportedTechnologies=LE;\nBlocked=true",
                static_le,
                false,
            ),
            // Not an identity address (a random address whose top bits are not 11).
            (
                "AddressType=static\nSupportedTechnologies=LE;",
                "40:BB:00:00:00:02".parse().unwrap(),
                false,
            ),
        ];
        for (general, device, want) in rows {
            let text = format!("[General]\n{general}\n{ltk}");
            let file = KeyFile::parse(text.as_bytes()).unwrap();
            let (bond, errors) = info::read_bond(&file, device);
            assert!(errors.is_empty());
            let got = policy_of(&bond, &General::read(&file)).is_some_and(|p| p.auto_connect);
            assert_eq!(got, want, "{general} {device}");
        }
    }
}
