//! A handle on one controller with convenience methods for its common settings.
//!
//! The setting commands share one shape (doc/mgmt-protocol.rst): a one-octet mode in, the new
//! Current_Settings out. [`Setting`] names them, so `mgmtctl set` and the methods here use one
//! table.

use std::fmt;

use crate::protocol::command::{
    AdvertisingMode, DebugKeysMode, Discoverable, ReadInfo, ReadInfoReply, SecureConnectionsMode,
    SetAdvertising, SetBondable, SetBrEdr, SetConnectable, SetDebugKeys, SetDiscoverable,
    SetFastConnectable, SetIoCapability, SetLinkSecurity, SetLocalName, SetLowEnergy, SetPowered,
    SetSecureConnections, SetSecureSimplePairing,
};
use crate::protocol::wire::decode_exact;
use crate::protocol::{
    AnyCommand, ControllerIndex, IoCapability, LocalName, Opcode, Settings, ShortName,
};

use super::{Client, Error};

/// A controller setting switched by a one-octet command answered with the current settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// Set Powered (0x0005).
    Powered,
    /// Set Discoverable (0x0006), general discoverable with no timeout when on.
    Discoverable,
    /// Set Connectable (0x0007).
    Connectable,
    /// Set Fast Connectable (0x0008).
    FastConnectable,
    /// Set Bondable (0x0009).
    Bondable,
    /// Set Link Security (0x000A).
    LinkSecurity,
    /// Set Secure Simple Pairing (0x000B).
    Ssp,
    /// Set Low Energy (0x000D).
    Le,
    /// Set Advertising (0x0029).
    Advertising,
    /// Set BR/EDR (0x002A).
    BrEdr,
    /// Set Secure Connections (0x002D).
    SecureConnections,
    /// Set Debug Keys (0x002E).
    DebugKeys,
}

impl Setting {
    /// Every setting, in opcode order.
    pub const ALL: [Setting; 12] = [
        Setting::Powered,
        Setting::Discoverable,
        Setting::Connectable,
        Setting::FastConnectable,
        Setting::Bondable,
        Setting::LinkSecurity,
        Setting::Ssp,
        Setting::Le,
        Setting::Advertising,
        Setting::BrEdr,
        Setting::SecureConnections,
        Setting::DebugKeys,
    ];

    /// The command that switches it (Discoverable: general, with no timeout, when on).
    pub fn command(self, on: bool) -> AnyCommand {
        match self {
            Setting::Powered => SetPowered { powered: on }.into(),
            Setting::Discoverable => SetDiscoverable {
                discoverable: if on {
                    Discoverable::GENERAL
                } else {
                    Discoverable::OFF
                },
                timeout: 0,
            }
            .into(),
            Setting::Connectable => SetConnectable { connectable: on }.into(),
            Setting::FastConnectable => SetFastConnectable { enable: on }.into(),
            Setting::Bondable => SetBondable { bondable: on }.into(),
            Setting::LinkSecurity => SetLinkSecurity { link_security: on }.into(),
            Setting::Ssp => SetSecureSimplePairing {
                secure_simple_pairing: on,
            }
            .into(),
            Setting::Le => SetLowEnergy { low_energy: on }.into(),
            Setting::Advertising => SetAdvertising {
                advertising: if on {
                    AdvertisingMode::ON
                } else {
                    AdvertisingMode::OFF
                },
            }
            .into(),
            Setting::BrEdr => SetBrEdr { br_edr: on }.into(),
            Setting::SecureConnections => SetSecureConnections {
                secure_connections: if on {
                    SecureConnectionsMode::ON
                } else {
                    SecureConnectionsMode::OFF
                },
            }
            .into(),
            Setting::DebugKeys => SetDebugKeys {
                debug_keys: if on {
                    DebugKeysMode::KEEP
                } else {
                    DebugKeysMode::DISCARD
                },
            }
            .into(),
        }
    }

    /// The opcode of [`Setting::command`].
    pub fn opcode(self) -> Opcode {
        self.command(false).opcode()
    }

    /// Its bit in the settings mask.
    pub fn flag(self) -> Settings {
        match self {
            Setting::Powered => Settings::POWERED,
            Setting::Discoverable => Settings::DISCOVERABLE,
            Setting::Connectable => Settings::CONNECTABLE,
            Setting::FastConnectable => Settings::FAST_CONNECTABLE,
            Setting::Bondable => Settings::BONDABLE,
            Setting::LinkSecurity => Settings::LINK_SECURITY,
            Setting::Ssp => Settings::SSP,
            Setting::Le => Settings::LE,
            Setting::Advertising => Settings::ADVERTISING,
            Setting::BrEdr => Settings::BREDR,
            Setting::SecureConnections => Settings::SECURE_CONN,
            Setting::DebugKeys => Settings::DEBUG_KEYS,
        }
    }

    /// Its command-line name (`secure-conn`, `bredr`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Setting::Powered => "powered",
            Setting::Discoverable => "discoverable",
            Setting::Connectable => "connectable",
            Setting::FastConnectable => "fast-connectable",
            Setting::Bondable => "bondable",
            Setting::LinkSecurity => "link-security",
            Setting::Ssp => "ssp",
            Setting::Le => "le",
            Setting::Advertising => "advertising",
            Setting::BrEdr => "bredr",
            Setting::SecureConnections => "secure-conn",
            Setting::DebugKeys => "debug-keys",
        }
    }

    /// Parses a command-line name (see [`Setting::name`]; `power` and `sc` are accepted too).
    pub fn from_name(name: &str) -> Option<Setting> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        match name.as_str() {
            "power" => Some(Setting::Powered),
            "sc" | "secure-connections" => Some(Setting::SecureConnections),
            "br-edr" => Some(Setting::BrEdr),
            _ => Setting::ALL.into_iter().find(|s| s.name() == name),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A handle on controller `index` of a [`Client`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Controller {
    client: Client,
    index: ControllerIndex,
}

impl Controller {
    pub(crate) fn new(client: Client, index: ControllerIndex) -> Controller {
        Controller { client, index }
    }

    /// The controller's index.
    pub fn index(&self) -> ControllerIndex {
        self.index
    }

    /// The client this handle sends through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Read Controller Information.
    pub async fn info(&self) -> Result<ReadInfoReply, Error> {
        self.client.call(self.index, &ReadInfo {}).await
    }

    /// Set Powered; returns the new current settings.
    pub async fn power(&self, on: bool) -> Result<Settings, Error> {
        self.client
            .call(self.index, &SetPowered { powered: on })
            .await
    }

    /// Switches any [`Setting`]; returns the new current settings.
    pub async fn set(&self, setting: Setting, on: bool) -> Result<Settings, Error> {
        self.settings_command(setting.command(on)).await
    }

    /// Set Connectable.
    pub async fn connectable(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Connectable, on).await
    }

    /// Set Bondable.
    pub async fn bondable(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Bondable, on).await
    }

    /// Set Discoverable with a `timeout` in seconds (0 for none; limited discoverable needs
    /// one). The kernel rejects it while not connectable.
    pub async fn discoverable(&self, mode: Discoverable, timeout: u16) -> Result<Settings, Error> {
        self.client
            .call(
                self.index,
                &SetDiscoverable {
                    discoverable: mode,
                    timeout,
                },
            )
            .await
    }

    /// Set Low Energy.
    pub async fn le(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Le, on).await
    }

    /// Set BR/EDR.
    pub async fn bredr(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::BrEdr, on).await
    }

    /// Set Secure Simple Pairing.
    pub async fn ssp(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Ssp, on).await
    }

    /// Set Secure Connections (off, on, or Secure Connections Only).
    pub async fn secure_connections(&self, mode: SecureConnectionsMode) -> Result<Settings, Error> {
        self.client
            .call(
                self.index,
                &SetSecureConnections {
                    secure_connections: mode,
                },
            )
            .await
    }

    /// Set Local Name; returns the names the kernel now has.
    pub async fn name(
        &self,
        name: &str,
        short_name: &str,
    ) -> Result<(LocalName, ShortName), Error> {
        let reply = self
            .client
            .call(self.index, &SetLocalName::new(name, short_name))
            .await?;
        Ok((reply.name, reply.short_name))
    }

    /// Set IO Capability, used for pairing.
    pub async fn io_capability(&self, capability: IoCapability) -> Result<(), Error> {
        self.client
            .call(
                self.index,
                &SetIoCapability {
                    io_capability: capability,
                },
            )
            .await
    }

    /// Sends one of the setting commands, all answered with Current_Settings.
    async fn settings_command(&self, command: AnyCommand) -> Result<Settings, Error> {
        let opcode = command.opcode();
        let mut params = Vec::new();
        command.encode(&mut params);
        let reply = self
            .client
            .submit_raw(self.index, opcode, params, None)
            .await?;
        decode_exact::<Settings>("Current_Settings", &reply.params)
            .map_err(|e| Error::decode(opcode, self.index, e))
    }
}
