//! A handle on one controller with convenience methods for its common settings.
//!
//! The setting commands share one shape (doc/mgmt-protocol.rst): a one-octet mode in, the new
//! Current_Settings out. [`Setting`] names them, so `mgmtctl set` and the methods here use one
//! table.

use std::fmt;

use crate::protocol::command::{ReadInfo, ReadInfoReply, SetPowered};
use crate::protocol::wire::{decode_exact, Reader, Wire};
use crate::protocol::{ControllerIndex, IoCapability, LocalName, Opcode, Settings, ShortName};

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

    /// The command that switches it.
    pub fn opcode(self) -> Opcode {
        Opcode(match self {
            Setting::Powered => 0x0005,
            Setting::Discoverable => 0x0006,
            Setting::Connectable => 0x0007,
            Setting::FastConnectable => 0x0008,
            Setting::Bondable => 0x0009,
            Setting::LinkSecurity => 0x000A,
            Setting::Ssp => 0x000B,
            Setting::Le => 0x000D,
            Setting::Advertising => 0x0029,
            Setting::BrEdr => 0x002A,
            Setting::SecureConnections => 0x002D,
            Setting::DebugKeys => 0x002E,
        })
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

    /// The command parameters that switch it on or off.
    pub fn params(self, on: bool) -> Vec<u8> {
        match self {
            // Discoverable: mode (0x01 general), timeout 0 (none).
            Setting::Discoverable => vec![u8::from(on), 0, 0],
            _ => vec![u8::from(on)],
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
        self.settings_command(setting.opcode(), setting.params(on))
            .await
    }

    /// Set Connectable.
    pub async fn connectable(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Connectable, on).await
    }

    /// Set Bondable.
    pub async fn bondable(&self, on: bool) -> Result<Settings, Error> {
        self.set(Setting::Bondable, on).await
    }

    /// Set Discoverable: `mode` 0x00 off, 0x01 general, 0x02 limited; `timeout` in seconds
    /// (0 for none; limited needs one). The kernel rejects it while not connectable.
    pub async fn discoverable(&self, mode: u8, timeout: u16) -> Result<Settings, Error> {
        let mut params = vec![mode];
        params.extend_from_slice(&timeout.to_le_bytes());
        self.settings_command(Setting::Discoverable.opcode(), params)
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

    /// Set Secure Connections: `mode` 0x00 off, 0x01 on, 0x02 Secure Connections Only.
    pub async fn secure_connections(&self, mode: u8) -> Result<Settings, Error> {
        self.settings_command(Setting::SecureConnections.opcode(), vec![mode])
            .await
    }

    /// Set Local Name (0x000F); returns the names the kernel now has.
    pub async fn name(
        &self,
        name: &str,
        short_name: &str,
    ) -> Result<(LocalName, ShortName), Error> {
        let opcode = Opcode(0x000F);
        let mut params = Vec::with_capacity(260);
        LocalName::new(name).encode(&mut params);
        ShortName::new(short_name).encode(&mut params);
        let reply = self
            .client
            .submit_raw(self.index, opcode, params, None)
            .await?;
        let mut r = Reader::new("Set Local Name reply", &reply.params);
        let names = (|| {
            r.set_field("name");
            let name = LocalName::decode(&mut r)?;
            r.set_field("short_name");
            let short_name = ShortName::decode(&mut r)?;
            r.finish()?;
            Ok((name, short_name))
        })();
        names.map_err(|e| Error::decode(opcode, self.index, e))
    }

    /// Set IO Capability (0x0018), used for pairing.
    pub async fn io_capability(&self, capability: IoCapability) -> Result<(), Error> {
        let opcode = Opcode(0x0018);
        let reply = self
            .client
            .submit_raw(self.index, opcode, vec![capability.0], None)
            .await?;
        decode_exact::<()>("Set IO Capability reply", &reply.params)
            .map_err(|e| Error::decode(opcode, self.index, e))
    }

    async fn settings_command(&self, opcode: Opcode, params: Vec<u8>) -> Result<Settings, Error> {
        let reply = self
            .client
            .submit_raw(self.index, opcode, params, None)
            .await?;
        decode_exact::<Settings>("Current_Settings", &reply.params)
            .map_err(|e| Error::decode(opcode, self.index, e))
    }
}
