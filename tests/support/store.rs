//! Key-store helpers: file modes, and a bond store whose writes run a hook first.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bluez_mgmt::keystore::{AdapterId, KeyStore, KeyUpdate, StoreOutcome};
use bluez_mgmt::pairing::BondStore;

/// A [`BondStore`] whose every write runs `before` first, then writes to the store: a test
/// slows writes down (a sleep) or makes them fail hard (a panic) with it.
pub struct HookedStore {
    pub store: KeyStore,
    pub before: Box<dyn Fn() + Send + Sync>,
}

impl HookedStore {
    /// Writes to the store at `dir`, each after `before`.
    pub fn new(dir: &Path, before: impl Fn() + Send + Sync + 'static) -> HookedStore {
        HookedStore {
            store: KeyStore::open(dir),
            before: Box::new(before),
        }
    }
}

impl BondStore for HookedStore {
    fn key_store(&self) -> &KeyStore {
        &self.store
    }
    fn store(
        &self,
        adapter: AdapterId,
        hint: bool,
        update: &KeyUpdate,
    ) -> Result<StoreOutcome, bluez_mgmt::keystore::Error> {
        (self.before)();
        self.store.store(adapter, hint, update)
    }
}

/// The permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}
