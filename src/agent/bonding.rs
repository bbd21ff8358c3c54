//! Bonds that survive a restart: the [`BondKeeper`] stores the keys the kernel reports into a
//! [`KeyStore`] as they arrive, loads them back into each controller before it is powered on,
//! and forgets a device's stored bond when it is unpaired.
//!
//! The keeper works beside the agent runner on the same MGMT [`Client`]: the runner answers
//! requests, the keeper keeps what the pairing produced. [`AgentRunner::with_bonds`] ties them
//! so that [`AgentRunner::start`] starts the keeper's listener and [`AgentRunner::unpair`]
//! removes the stored bond.
//!
//! - Stored: New Link Key, New Long Term Key, New Identity Resolving Key, New Signature
//!   Resolving Key, New Connection Parameter, each only when its store hint is 1 (the kernel
//!   sets 0 for a pairing that was not bonding, or for an address that will not be seen
//!   again). They go under the directory of the controller's own address, as bluetoothd
//!   keeps them, read once per controller with Read Controller Information.
//! - Loaded: [`BondKeeper::start_controller`] sends Load Identity Resolving Keys, Load Link
//!   Keys, Load Long Term Keys and Load Connection Parameters, then Set Powered if asked and
//!   the controller was off. The kernel (net/bluetooth/mgmt.c, `load_link_keys`,
//!   `load_long_term_keys`, `load_irks`, `load_conn_param`) accepts the four commands while
//!   powered as well: each replaces the kernel's list at once, so links already up keep their
//!   current encryption and the next connection or re-authentication uses the loaded keys.
//!   Loading before power-on (as bluetoothd does) means no connection can come up in between
//!   and start a pairing the stored key would have made unnecessary.
//! - A file that does not parse leaves out only that device: [`LoadReport::errors`] names
//!   the file and line. More keys of one kind than one Load command carries is an error of
//!   kind [`ErrorKind::TooManyKeys`] and nothing is sent for that controller.
//! - A controller without a public address (LE-only) has no directory name MGMT can tell us:
//!   its static address is chosen by user space (Set Static Address). Name it with
//!   [`BondKeeper::set_adapter`] and [`AdapterId::static_random`]; until then its keys are not
//!   stored and [`BondReport::StoreFailed`] says why.
//!
//! [`AgentRunner::with_bonds`]: super::AgentRunner::with_bonds
//! [`AgentRunner::start`]: super::AgentRunner::start
//! [`AgentRunner::unpair`]: super::AgentRunner::unpair

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bluez_mgmt_protocol::command::{ReadInfo, SetPowered};
use bluez_mgmt_protocol::event::Event;
use bluez_mgmt_protocol::{Address, AddressInfo, ControllerIndex, EventCode, Settings};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::runner::Controllers;
use super::Peer;
use crate::client::{Client, EventFilter, SubscriptionError};
use crate::keystore::{
    load_adapter_into_kernel, AdapterId, Error, ErrorKind, KeyStore, KeyUpdate, LoadReport,
    StoreOutcome,
};

/// The key events the keeper stores.
pub const KEY_EVENTS: [EventCode; 5] = [
    EventCode::NEW_LINK_KEY,
    EventCode::NEW_LONG_TERM_KEY,
    EventCode::NEW_IDENTITY_RESOLVING_KEY,
    EventCode::NEW_SIGNATURE_RESOLVING_KEY,
    EventCode::NEW_CONNECTION_PARAMETER,
];

/// What the keeper did with one key event, or at start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BondReport {
    /// A key or parameter set was written to `path`.
    Stored {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// Which event: "link key", "long term key", "IRK", "CSRK", "connection parameters".
        what: &'static str,
        /// The info file written.
        path: PathBuf,
    },
    /// The event was not stored, for the reason given (store hint 0, non-identity address).
    NotStored {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// Why.
        reason: &'static str,
    },
    /// Storing failed (disk error, or the controller's directory is unknown).
    StoreFailed {
        /// The controller.
        index: ControllerIndex,
        /// The remote device.
        device: AddressInfo,
        /// What went wrong.
        error: String,
    },
    /// A stored bond was removed after Unpair Device.
    Removed {
        /// The controller.
        index: ControllerIndex,
        /// The device.
        device: Address,
    },
}

/// What [`BondKeeper::start_controller`] did for one controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartReport {
    /// The controller.
    pub index: ControllerIndex,
    /// What was loaded, and the files left out.
    pub loaded: LoadReport,
    /// True if the controller was powered before the keys were loaded.
    pub was_powered: bool,
    /// True if the keeper sent Set Powered on after loading.
    pub powered_on: bool,
}

fn kernel_error(what: &str, e: crate::client::Error) -> Error {
    Error::new(ErrorKind::Kernel, format!("{what}: {e}"), Some(Box::new(e)))
}

fn update_name(u: &KeyUpdate) -> &'static str {
    match u {
        KeyUpdate::LinkKey(_) => "link key",
        KeyUpdate::LongTermKey(_) => "long term key",
        KeyUpdate::Irk(_) => "IRK",
        KeyUpdate::Csrk(_) => "CSRK",
        KeyUpdate::ConnectionParameters(_) => "connection parameters",
    }
}

/// Keeps bonds in a [`KeyStore`] for the controllers of one MGMT [`Client`]. Share it with
/// an `Arc`.
#[derive(Debug)]
pub struct BondKeeper {
    store: KeyStore,
    client: Client,
    controllers: Controllers,
    adapters: Mutex<HashMap<ControllerIndex, AdapterId>>,
    reports: broadcast::Sender<BondReport>,
}

impl BondKeeper {
    /// A keeper storing into `store` through `client`; nothing happens until
    /// [`BondKeeper::listen`] or [`BondKeeper::start_controller`].
    pub fn new(store: KeyStore, client: Client) -> BondKeeper {
        BondKeeper {
            store,
            client,
            controllers: Controllers::All,
            adapters: Mutex::new(HashMap::new()),
            reports: broadcast::channel(256).0,
        }
    }

    /// Keeps the keys of these controllers only (default: every controller). Two keepers
    /// with different stores on one client, one per controller, need this.
    pub fn with_controllers(mut self, controllers: Controllers) -> BondKeeper {
        self.controllers = controllers;
        self
    }

    /// The store.
    pub fn store(&self) -> &KeyStore {
        &self.store
    }

    /// Reports of what the keeper does from now on.
    pub fn reports(&self) -> broadcast::Receiver<BondReport> {
        self.reports.subscribe()
    }

    /// Names controller `index`'s directory explicitly (needed for an LE-only controller
    /// known by a static address; otherwise it is read from the controller).
    pub fn set_adapter(&self, index: ControllerIndex, adapter: AdapterId) {
        lock(&self.adapters).insert(index, adapter);
    }

    /// The directory name of controller `index`: as set, or its public address read with Read
    /// Controller Information (then remembered).
    pub async fn adapter(&self, index: ControllerIndex) -> Result<AdapterId, Error> {
        if let Some(a) = lock(&self.adapters).get(&index) {
            return Ok(*a);
        }
        let info = self
            .client
            .call(index, &ReadInfo {})
            .await
            .map_err(|e| kernel_error("Read Controller Information", e))?;
        self.remember(index, info.address)
    }

    fn remember(&self, index: ControllerIndex, address: Address) -> Result<AdapterId, Error> {
        if address == Address::ANY {
            return Err(Error::new(
                ErrorKind::Kernel,
                format!(
                    "controller {index} reports no public address (LE-only): name its store \
                     directory (static-<address>) explicitly"
                ),
                None,
            ));
        }
        let id = AdapterId::public(address);
        Ok(*lock(&self.adapters).entry(index).or_insert(id))
    }

    /// Loads controller `index`'s stored bonds (Load IRKs, Load Link Keys, Load Long Term
    /// Keys, Load Connection Parameters, in that order), then sends Set Powered on if
    /// `power_on` and the controller was off. Call it before anything powers the controller
    /// on. Files that do not parse are in the report's `loaded.errors`; the rest are loaded.
    pub async fn start_controller(
        &self,
        index: ControllerIndex,
        power_on: bool,
    ) -> Result<StartReport, Error> {
        let info = self
            .client
            .call(index, &ReadInfo {})
            .await
            .map_err(|e| kernel_error("Read Controller Information", e))?;
        let known = lock(&self.adapters).get(&index).copied();
        let adapter = match known {
            Some(a) => a,
            None => self.remember(index, info.address)?,
        };
        let was_powered = info.current_settings.contains(Settings::POWERED);
        if was_powered {
            tracing::info!(%index, "controller already powered: loading its bonds anyway (the kernel replaces its key lists)");
        }
        let loaded = load_adapter_into_kernel(&self.store, &self.client, index, adapter).await?;
        let mut powered_on = false;
        if power_on && !was_powered {
            self.client
                .call(index, &SetPowered { powered: true })
                .await
                .map_err(|e| kernel_error("Set Powered", e))?;
            powered_on = true;
        }
        Ok(StartReport {
            index,
            loaded,
            was_powered,
            powered_on,
        })
    }

    /// Stores the key material of one event of controller `index`; `None` for events that
    /// carry none and for controllers the keeper does not serve. Errors are reported, not
    /// returned: a key that cannot be stored must not stop the keeper.
    pub async fn handle_event(&self, index: ControllerIndex, event: &Event) -> Option<BondReport> {
        if !self.controllers.includes(index) {
            return None;
        }
        let (hint, update) = KeyUpdate::from_event(event)?;
        let device = update.device();
        let what = update_name(&update);
        let report = match self.adapter(index).await {
            Err(e) => BondReport::StoreFailed {
                index,
                device,
                error: e.to_string(),
            },
            Ok(adapter) => match self.store.store(adapter, hint, &update) {
                Ok(StoreOutcome::Written(path)) => BondReport::Stored {
                    index,
                    device,
                    what,
                    path,
                },
                Ok(StoreOutcome::NotStored(reason)) => BondReport::NotStored {
                    index,
                    device,
                    reason,
                },
                Err(e) => BondReport::StoreFailed {
                    index,
                    device,
                    error: e.to_string(),
                },
            },
        };
        match &report {
            BondReport::StoreFailed { error, .. } => {
                tracing::warn!(%index, %error, "bond not stored")
            }
            r => tracing::debug!(report = ?r, "bond keeper"),
        }
        let _ = self.reports.send(report.clone());
        Some(report)
    }

    /// Subscribes to the key events now and spawns the task that stores them; it ends when
    /// the client's event stream does. Must be called inside a Tokio runtime.
    pub fn listen(self: &Arc<Self>) -> JoinHandle<()> {
        let filter = KEY_EVENTS
            .into_iter()
            .fold(EventFilter::all(), EventFilter::code);
        let mut sub = self.client.subscribe(filter);
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(item) = sub.recv().await {
                match item {
                    Ok((index, event)) => {
                        me.handle_event(index, &event).await;
                    }
                    Err(SubscriptionError::Lagged(n)) => {
                        tracing::error!(missed = n, "bond keeper fell behind: keys may be lost");
                    }
                    Err(e) => tracing::warn!(error = %e, "key event not usable"),
                }
            }
        })
    }

    /// Removes `peer`'s stored bond (its whole device directory, under every address type,
    /// as bluetoothd's RemoveDevice does). Returns false when nothing was stored.
    pub async fn forget(&self, peer: &Peer) -> Result<bool, Error> {
        let adapter = self.adapter(peer.index).await?;
        let removed = self.store.remove(adapter, peer.address.address)?;
        if removed {
            let _ = self.reports.send(BondReport::Removed {
                index: peer.index,
                device: peer.address.address,
            });
        }
        Ok(removed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ScriptedTransport;
    use bluez_mgmt_protocol::event::NewLinkKey;
    use bluez_mgmt_protocol::keys::{LinkKey, LinkKeyInfo, LinkKeyType};
    use bluez_mgmt_protocol::AddressType;

    fn new_link_key(store_hint: bool) -> Event {
        Event::NewLinkKey(NewLinkKey {
            store_hint,
            key: LinkKeyInfo {
                address: AddressInfo::new(Address([1, 0, 0, 0x66, 0x1b, 0]), AddressType::BR_EDR),
                key_type: LinkKeyType::UNAUTHENTICATED_P256,
                value: LinkKey::new([7; 16]),
                pin_length: 0,
            },
        })
    }

    #[tokio::test]
    async fn keys_of_controllers_not_served_are_left_alone() {
        let t = tempfile::tempdir().unwrap();
        // Nothing may be written: not even Read Controller Information.
        let script = std::sync::Arc::new(ScriptedTransport::new(Vec::new()).stay_open());
        let keeper = BondKeeper::new(
            KeyStore::open(t.path()),
            Client::with_transport(script.clone()),
        )
        .with_controllers(Controllers::Only(vec![ControllerIndex(1)]));
        assert_eq!(
            keeper
                .handle_event(ControllerIndex(0), &new_link_key(true))
                .await,
            None
        );
        assert_eq!(script.writes_done(), 0);
        assert!(std::fs::read_dir(t.path()).unwrap().next().is_none());
    }

    #[tokio::test]
    async fn a_known_adapter_is_not_read_again_and_hint_zero_is_reported() {
        let t = tempfile::tempdir().unwrap();
        let script = std::sync::Arc::new(ScriptedTransport::new(Vec::new()).stay_open());
        let keeper = BondKeeper::new(
            KeyStore::open(t.path()),
            Client::with_transport(script.clone()),
        );
        let adapter = AdapterId::static_random(Address([1, 2, 3, 4, 5, 0xc0]));
        keeper.set_adapter(ControllerIndex(0), adapter);
        let r = keeper
            .handle_event(ControllerIndex(0), &new_link_key(false))
            .await;
        assert!(matches!(r, Some(BondReport::NotStored { .. })), "{r:?}");
        let r = keeper
            .handle_event(ControllerIndex(0), &new_link_key(true))
            .await;
        let Some(BondReport::Stored { what, path, .. }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(what, "link key");
        assert!(
            path.starts_with(t.path().join("static-C0:05:04:03:02:01")),
            "{}",
            path.display()
        );
        assert_eq!(script.writes_done(), 0, "the adapter was known");
    }
}
