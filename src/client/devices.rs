//! Connections and known devices on a [`Controller`]: listing and dropping links, link
//! information, blocking, the kernel's device list (Add/Remove Device with its auto-connect
//! actions, device flags), cancelling a pending pairing, and the identity a controller shows
//! to others (class, appearance, service UUIDs; the name is [`Controller::name`]).
//!
//! Each method is one MGMT command (doc/mgmt-protocol.rst) answered by the kernel; a refusal
//! is an [`Error`] carrying the kernel's status.

use crate::protocol::command::{
    AddDevice, AddDeviceAction, AddUuid, BlockDevice, CancelPairDevice, Disconnect,
    GetConnectionInfo, GetConnectionInfoReply, GetConnections, GetDeviceFlags, GetDeviceFlagsReply,
    RemoveDevice, RemoveUuid, SetAppearance, SetDeviceClass, SetDeviceFlags, UnblockDevice,
};
use crate::protocol::{AddressInfo, ClassOfDevice, DeviceFlags, Uuid128};

use super::{Controller, Error};

impl Controller {
    /// Get Connections: the connected devices (by identity address when the IRK is known).
    pub async fn connections(&self) -> Result<Vec<AddressInfo>, Error> {
        let reply = self.client().call(self.index(), &GetConnections {}).await?;
        Ok(reply.connections.0)
    }

    /// Disconnect: drops the link to `peer`. Answers once the link is gone.
    pub async fn disconnect(&self, peer: AddressInfo) -> Result<(), Error> {
        self.client()
            .call(self.index(), &Disconnect { address: peer })
            .await
            .map(|_| ())
    }

    /// Get Connection Information: RSSI and TX power of the link to `peer`.
    pub async fn connection_info(
        &self,
        peer: AddressInfo,
    ) -> Result<GetConnectionInfoReply, Error> {
        self.client()
            .call(self.index(), &GetConnectionInfo { address: peer })
            .await
    }

    /// Block Device: the kernel refuses connections from `peer` and drops its reports.
    pub async fn block(&self, peer: AddressInfo) -> Result<(), Error> {
        self.client()
            .call(self.index(), &BlockDevice { address: peer })
            .await
            .map(|_| ())
    }

    /// Unblock Device (the all-zero address unblocks every device).
    pub async fn unblock(&self, peer: AddressInfo) -> Result<(), Error> {
        self.client()
            .call(self.index(), &UnblockDevice { address: peer })
            .await
            .map(|_| ())
    }

    /// Add Device: puts `peer` on the kernel's list with `action` (auto-connect: the kernel
    /// connects an LE device whenever it advertises; allow incoming: a BR/EDR device may
    /// connect, an LE one by directed advertising).
    pub async fn add_device(
        &self,
        peer: AddressInfo,
        action: AddDeviceAction,
    ) -> Result<(), Error> {
        self.client()
            .call(
                self.index(),
                &AddDevice {
                    address: peer,
                    action,
                },
            )
            .await
            .map(|_| ())
    }

    /// Remove Device (the all-zero address removes every device).
    pub async fn remove_device(&self, peer: AddressInfo) -> Result<(), Error> {
        self.client()
            .call(self.index(), &RemoveDevice { address: peer })
            .await
            .map(|_| ())
    }

    /// Get Device Flags of a device on the kernel's list: supported and current.
    pub async fn device_flags(&self, peer: AddressInfo) -> Result<GetDeviceFlagsReply, Error> {
        self.client()
            .call(self.index(), &GetDeviceFlags { address: peer })
            .await
    }

    /// Set Device Flags (each must be supported).
    pub async fn set_device_flags(
        &self,
        peer: AddressInfo,
        flags: DeviceFlags,
    ) -> Result<(), Error> {
        self.client()
            .call(
                self.index(),
                &SetDeviceFlags {
                    address: peer,
                    current_flags: flags,
                },
            )
            .await
            .map(|_| ())
    }

    /// Cancel Pair Device: ends a pending Pair Device to `peer`, whichever socket sent it (the
    /// Pair Device then fails with the kernel's status, Cancelled).
    pub async fn cancel_pair(&self, peer: AddressInfo) -> Result<(), Error> {
        self.client()
            .call(self.index(), &CancelPairDevice { address: peer })
            .await
            .map(|_| ())
    }

    /// Set Device Class (major and minor); returns the resulting Class of Device (zero while
    /// powered off).
    pub async fn set_class(&self, major: u8, minor: u8) -> Result<ClassOfDevice, Error> {
        self.client()
            .call(self.index(), &SetDeviceClass { major, minor })
            .await
    }

    /// Set Appearance (LE).
    pub async fn set_appearance(&self, appearance: u16) -> Result<(), Error> {
        self.client()
            .call(self.index(), &SetAppearance { appearance })
            .await
    }

    /// Add UUID: a service UUID for the EIR data, with the service class bits it sets.
    pub async fn add_uuid(&self, uuid: Uuid128, service_hint: u8) -> Result<ClassOfDevice, Error> {
        self.client()
            .call(self.index(), &AddUuid { uuid, service_hint })
            .await
    }

    /// Remove UUID (the all-zero UUID removes all).
    pub async fn remove_uuid(&self, uuid: Uuid128) -> Result<ClassOfDevice, Error> {
        self.client().call(self.index(), &RemoveUuid { uuid }).await
    }
}
