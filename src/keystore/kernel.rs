//! The key store meets the kernel: key events in, Load commands out.
//!
//! [`KeyStore::store_event`] stores New Link Key, New Long Term Key, New Identity Resolving
//! Key, New Signature Resolving Key and New Connection Parameter, honouring their store hint.
//! [`KeyStore::load_commands`] builds Load Identity Resolving Keys, Load Link Keys, Load Long
//! Term Keys and Load Connection Parameters from the files, and [`load_into_kernel`] sends them
//! to a controller, which must happen before it is powered on.

use bluez_mgmt_protocol::address::Address;
use bluez_mgmt_protocol::command::{
    LoadConnectionParameters, LoadIrks, LoadLinkKeys, LoadLongTermKeys, ReadInfo,
};
use bluez_mgmt_protocol::event::Event;
use bluez_mgmt_protocol::index::ControllerIndex;
use bluez_mgmt_protocol::keys::ConnectionParameters;
use bluez_mgmt_protocol::wire::List16;
use bluez_mgmt_protocol::Settings;

use super::{AdapterId, Error, ErrorKind, KeyStore, KeyUpdate, LoadError, LoadLists, StoreOutcome};
use crate::client::Client;

/// The four Load commands for one adapter, each within one MGMT frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadCommands {
    /// Load Identity Resolving Keys.
    pub irks: LoadIrks,
    /// Load Link Keys (debug keys not accepted).
    pub link_keys: LoadLinkKeys,
    /// Load Long Term Keys.
    pub long_term_keys: LoadLongTermKeys,
    /// Load Connection Parameters.
    pub connection_parameters: LoadConnectionParameters,
}

impl From<LoadLists> for LoadCommands {
    fn from(l: LoadLists) -> Self {
        LoadCommands {
            irks: LoadIrks {
                keys: List16(l.irks),
            },
            link_keys: LoadLinkKeys {
                debug_keys: false,
                keys: List16(l.link_keys),
            },
            long_term_keys: LoadLongTermKeys {
                keys: List16(l.long_term_keys),
            },
            connection_parameters: LoadConnectionParameters {
                parameters: List16(l.connection_parameters),
            },
        }
    }
}

impl KeyUpdate {
    /// The update a key event carries, with its store hint; `None` for other events.
    pub fn from_event(event: &Event) -> Option<(bool, KeyUpdate)> {
        Some(match event {
            Event::NewLinkKey(e) => (e.store_hint, KeyUpdate::LinkKey(e.key.clone())),
            Event::NewLongTermKey(e) => (e.store_hint, KeyUpdate::LongTermKey(e.key.clone())),
            Event::NewIdentityResolvingKey(e) => (e.store_hint, KeyUpdate::Irk(e.key.clone())),
            Event::NewSignatureResolvingKey(e) => (e.store_hint, KeyUpdate::Csrk(e.key.clone())),
            Event::NewConnectionParameter(e) => (
                e.store_hint,
                KeyUpdate::ConnectionParameters(ConnectionParameters {
                    address: e.address.clone(),
                    min_interval: e.min_interval,
                    max_interval: e.max_interval,
                    latency: e.latency,
                    timeout: e.timeout,
                }),
            ),
            _ => return None,
        })
    }
}

impl KeyStore {
    /// Stores the key material of a key event of controller `adapter` (see
    /// [`KeyStore::store`]); `Ok(None)` for events that carry none.
    pub fn store_event(
        &self,
        adapter: impl Into<AdapterId>,
        event: &Event,
    ) -> Result<Option<StoreOutcome>, Error> {
        match KeyUpdate::from_event(event) {
            Some((hint, update)) => self.store(adapter, hint, &update).map(Some),
            None => Ok(None),
        }
    }

    /// The four Load commands for `adapter`, with one [`LoadError`] per file left out.
    pub fn load_commands(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<(LoadCommands, Vec<LoadError>), Error> {
        let (lists, errors) = self.load_lists(adapter)?;
        Ok((lists.into(), errors))
    }

    /// Load Link Keys for `adapter` (unreadable files are left out and logged).
    pub fn load_link_keys(&self, adapter: impl Into<AdapterId>) -> Result<LoadLinkKeys, Error> {
        Ok(self.load_commands(adapter)?.0.link_keys)
    }

    /// Load Long Term Keys for `adapter` (unreadable files are left out and logged).
    pub fn load_long_term_keys(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<LoadLongTermKeys, Error> {
        Ok(self.load_commands(adapter)?.0.long_term_keys)
    }

    /// Load Identity Resolving Keys for `adapter` (unreadable files are left out and logged).
    pub fn load_irks(&self, adapter: impl Into<AdapterId>) -> Result<LoadIrks, Error> {
        Ok(self.load_commands(adapter)?.0.irks)
    }

    /// Load Connection Parameters for `adapter` (unreadable files are left out and logged).
    pub fn load_connection_parameters(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<LoadConnectionParameters, Error> {
        Ok(self.load_commands(adapter)?.0.connection_parameters)
    }
}

/// What [`load_into_kernel`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The adapter whose directory was loaded.
    pub adapter: AdapterId,
    /// IRKs loaded.
    pub irks: usize,
    /// Link keys loaded.
    pub link_keys: usize,
    /// Load Link Keys was not sent: the controller does not support BR/EDR (the kernel
    /// refuses it there with Not Supported), so `link_keys` is 0.
    pub link_keys_skipped: bool,
    /// Long term keys loaded.
    pub long_term_keys: usize,
    /// Connection parameter sets loaded.
    pub connection_parameters: usize,
    /// Files that could not be read and were left out.
    pub errors: Vec<LoadError>,
}

fn kernel_error(what: &str, e: crate::client::Error) -> Error {
    Error {
        kind: ErrorKind::Kernel,
        message: format!("{what}: {e}"),
        source: Some(Box::new(e)),
    }
}

/// Reads controller `index`'s public address, then loads its bonds as
/// [`load_adapter_into_kernel`] does. A controller without a public address (LE-only, known by
/// a static address) is an error: name its directory with [`load_adapter_into_kernel`].
pub async fn load_into_kernel(
    store: &KeyStore,
    client: &Client,
    index: ControllerIndex,
) -> Result<LoadReport, Error> {
    let info = client
        .call(index, &ReadInfo {})
        .await
        .map_err(|e| kernel_error("Read Controller Information", e))?;
    if info.address == Address::ANY {
        return Err(Error {
            kind: ErrorKind::Kernel,
            message: format!(
                "controller {index} reports no public address; name its directory \
                 (static-<address>) with load_adapter_into_kernel"
            ),
            source: None,
        });
    }
    load_adapter_into_controller(store, client, index, info.address, info.supported_settings).await
}

/// Sends controller `index` Load Identity Resolving Keys, Load Link Keys, Load Long Term Keys
/// and Load Connection Parameters from `adapter`'s directory in `store`. Each replaces the
/// kernel's list, so keys a previous daemon loaded are gone afterwards. Call it before Set
/// Powered, so the controller comes up knowing its bonds. For a controller that may lack
/// BR/EDR, use [`load_adapter_into_controller`].
pub async fn load_adapter_into_kernel(
    store: &KeyStore,
    client: &Client,
    index: ControllerIndex,
    adapter: impl Into<AdapterId>,
) -> Result<LoadReport, Error> {
    load_adapter_into_controller(store, client, index, adapter, Settings::BREDR).await
}

/// [`load_adapter_into_kernel`] for a controller whose supported settings (Read Controller
/// Information) are `supported`: without [`Settings::BREDR`] (an LE-only controller) Load
/// Link Keys is not sent, since the kernel refuses it there with Not Supported, and the
/// report says so ([`LoadReport::link_keys_skipped`]).
pub async fn load_adapter_into_controller(
    store: &KeyStore,
    client: &Client,
    index: ControllerIndex,
    adapter: impl Into<AdapterId>,
    supported: Settings,
) -> Result<LoadReport, Error> {
    let adapter = adapter.into();
    let (commands, errors) = store.load_commands(adapter)?;
    let bredr = supported.contains(Settings::BREDR);
    let report = LoadReport {
        adapter,
        irks: commands.irks.keys.0.len(),
        link_keys: if bredr {
            commands.link_keys.keys.0.len()
        } else {
            0
        },
        link_keys_skipped: !bredr,
        long_term_keys: commands.long_term_keys.keys.0.len(),
        connection_parameters: commands.connection_parameters.parameters.0.len(),
        errors,
    };
    client
        .call(index, &commands.irks)
        .await
        .map_err(|e| kernel_error("Load Identity Resolving Keys", e))?;
    if bredr {
        client
            .call(index, &commands.link_keys)
            .await
            .map_err(|e| kernel_error("Load Link Keys", e))?;
    }
    client
        .call(index, &commands.long_term_keys)
        .await
        .map_err(|e| kernel_error("Load Long Term Keys", e))?;
    client
        .call(index, &commands.connection_parameters)
        .await
        .map_err(|e| kernel_error("Load Connection Parameters", e))?;
    tracing::info!(
        %adapter,
        irks = report.irks,
        link_keys = report.link_keys,
        long_term_keys = report.long_term_keys,
        connection_parameters = report.connection_parameters,
        "loaded bonds into the kernel"
    );
    Ok(report)
}
