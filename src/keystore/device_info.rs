//! What bluetoothd remembers about a device besides its keys, in the same files: its name,
//! class and appearance, the names of devices it has only seen, and the user's wake setting.
//!
//! Facts from BlueZ `src/device.c` (`store_device_info_cb`, `load_info`,
//! `device_store_cached_name`) and `src/adapter.c` (`device_found_callback`,
//! `connected_callback`):
//! - A *stored* device (bonded, trusted or blocked: not "temporary") has
//!   `<adapter>/<device>/info`; its `[General]` group holds `Name` (GLib-escaped), `Class`
//!   (`0x` and six hex digits, left out when 0) and `Appearance` (`0x` and four, left out
//!   when 0), rewritten whenever they change.
//! - Every device heard with a complete name (Device Found, or the EIR of Device Connected)
//!   gets it written to `<adapter>/cache/<device>` `[General] Name`, stored or not, unless its
//!   address is a private LE one (resolvable or non-resolvable), which is never seen again.
//!   When an info file has no `Name`, bluetoothd takes the cached one and stores it (done here
//!   on every info write: [`KeyStore`] fills it in).
//! - A shortened name is used only while no other name is known, and is not cached.
//! - `WakeAllowed` is written only once the user set it; when present it decides the Remote
//!   Wakeup device flag of the device (MGMT Set Device Flags), which the kernel accepts only
//!   for a device on one of its lists (Add Device).
//! - Everything else (`Alias`, `Trusted`, `Services`, `[DeviceID]`, the GATT cache, ...) is
//!   bluetoothd's: kept as it is, byte for byte.
//!
//! [`KeyStore::remember`] writes what was learned; [`keep_names`] does it for every Device
//! Connected the kernel reports (the pairing service runs it beside itself when it has a
//! store), and `mgmtctl find --store` for what discovery hears.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::client::{Client, EventFilter, Subscription};
use crate::protocol::ad::{AdData, AdStructure};
use crate::protocol::{
    Address, AddressInfo, AddressType, ClassOfDevice, ControllerIndex, Event, EventCode,
};

use super::info::GENERAL;
use super::keyfile::{self, KeyFile};
use super::{AdapterId, DeviceFile, Error, KeyStore};

/// `[General] Name`.
pub const NAME: &str = "Name";
/// `[General] Class`.
pub const CLASS: &str = "Class";
/// `[General] Appearance`.
pub const APPEARANCE: &str = "Appearance";
/// `[General] WakeAllowed`.
pub const WAKE_ALLOWED: &str = "WakeAllowed";

/// What was heard about a device (from advertising data, an inquiry result or the EIR of
/// Device Connected).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// Its name, if one was heard.
    pub name: Option<String>,
    /// The name is the complete one (not shortened).
    pub name_complete: bool,
    /// Its class of device.
    pub class: Option<ClassOfDevice>,
    /// Its GAP appearance.
    pub appearance: Option<u16>,
}

impl Learned {
    /// What `ad` says: the complete name (else the shortened one), class, appearance.
    pub fn from_ad(ad: &AdData) -> Learned {
        let mut learned = Learned::default();
        for s in &ad.0 {
            match s {
                AdStructure::CompleteName(n) => {
                    learned.name = Some(String::from_utf8_lossy(n).into_owned());
                    learned.name_complete = true;
                }
                AdStructure::ShortName(n) if !learned.name_complete => {
                    learned.name = Some(String::from_utf8_lossy(n).into_owned());
                }
                AdStructure::ClassOfDevice(c) => learned.class = Some(*c),
                AdStructure::Appearance(a) => learned.appearance = Some(*a),
                _ => {}
            }
        }
        learned
    }

    /// Nothing to remember.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.class.is_none() && self.appearance.is_none()
    }
}

/// The files [`KeyStore::remember`] wrote (`None`: unchanged or not there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    /// The device's info file (only a stored device has one; none is created).
    pub info: Option<PathBuf>,
    /// The device's cache file.
    pub cache: Option<PathBuf>,
}

/// A private LE address (resolvable or non-resolvable): bluetoothd stores nothing for it.
pub fn is_private(device: &AddressInfo) -> bool {
    device.address_type == AddressType::LE_RANDOM && device.address.0[5] & 0xc0 != 0xc0
}

/// `Class` as bluetoothd writes it: `0x` and six lower-case hex digits.
pub fn class_text(class: ClassOfDevice) -> String {
    let c = class.0;
    format!(
        "0x{:06x}",
        u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16
    )
}

/// Sets `key` to `value` unless it already reads so; true when the file changed.
fn set_if_changed(file: &mut KeyFile, key: &str, value: &str) -> bool {
    if file.get(GENERAL, key).map(|f| f.value) == Some(value) {
        return false;
    }
    file.set(GENERAL, key, value);
    true
}

impl KeyStore {
    /// Writes what was learned about `device` where bluetoothd keeps it: a complete name in
    /// the device's cache file, and name, class and appearance in its info file when it has
    /// one (a stored device; no info file is created). Other keys and groups are kept;
    /// nothing is written when nothing changed or the address is private.
    pub fn remember(
        &self,
        adapter: impl Into<AdapterId>,
        device: &AddressInfo,
        learned: &Learned,
    ) -> Result<Remembered, Error> {
        let adapter = adapter.into();
        let mut out = Remembered::default();
        if is_private(device) || learned.is_empty() {
            return Ok(out);
        }
        let name = learned.name.as_deref().map(keyfile::escape);
        if let (Some(name), true) = (&name, learned.name_complete) {
            out.cache = self.edit(adapter, device.address, DeviceFile::Cache, true, |f| {
                set_if_changed(f, NAME, name)
            })?;
        }
        out.info = self.edit(adapter, device.address, DeviceFile::Info, false, |f| {
            let mut changed = false;
            if let Some(name) = &name {
                if learned.name_complete || f.get(GENERAL, NAME).is_none() {
                    changed |= set_if_changed(f, NAME, name);
                }
            }
            if let Some(class) = learned.class.filter(|c| c.0 != [0; 3]) {
                changed |= set_if_changed(f, CLASS, &class_text(class));
            }
            if let Some(appearance) = learned.appearance.filter(|a| *a != 0) {
                changed |= set_if_changed(f, APPEARANCE, &format!("0x{appearance:04x}"));
            }
            changed
        })?;
        Ok(out)
    }

    /// The `[General] Name` of a device: from its info file, else from its cache file.
    pub fn device_name(&self, adapter: impl Into<AdapterId>, device: Address) -> Option<String> {
        let adapter = adapter.into();
        [DeviceFile::Info, DeviceFile::Cache]
            .into_iter()
            .find_map(|kind| {
                let bytes = std::fs::read(self.device_file_path(adapter, device, kind)).ok()?;
                let file = KeyFile::parse(&bytes).ok()?;
                let raw = file.get(GENERAL, NAME)?.value.to_string();
                keyfile::unescape(&raw).ok()
            })
    }
}

/// Sets (`Some`) or removes (`None`) `[General] WakeAllowed` in a device's info file, creating
/// the file if needed, as bluetoothd records a user's choice; the other keys stay.
pub fn set_wake_allowed(
    store: &KeyStore,
    adapter: impl Into<AdapterId>,
    device: Address,
    allowed: Option<bool>,
) -> Result<PathBuf, Error> {
    store.modify(adapter.into(), device, |file| match allowed {
        Some(a) => file.set(GENERAL, WAKE_ALLOWED, if a { "true" } else { "false" }),
        None => file.remove_key(GENERAL, WAKE_ALLOWED),
    })
}

/// Reads `[General] WakeAllowed` (`None` when absent or not a boolean).
pub fn read_wake_allowed(file: &KeyFile) -> Option<bool> {
    match file.get(GENERAL, WAKE_ALLOWED)?.value.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Writes into `store` what every Device Connected event carries (name, class, appearance in
/// its EIR), as bluetoothd's `connected_callback` does, until `client` closes. Controllers
/// without a public address are skipped (their store directory is named by a static address
/// only the pairing service knows). A failed write is logged and the next event handled.
pub async fn keep_names(client: Client, store: Arc<KeyStore>) {
    let events = client.subscribe(
        EventFilter::all()
            .code(EventCode::DEVICE_CONNECTED)
            .code(EventCode::INDEX_REMOVED),
    );
    keep_names_from(client, events, store, |_| true).await
}

async fn keep_names_from(
    client: Client,
    mut events: Subscription,
    store: Arc<KeyStore>,
    serves: impl Fn(ControllerIndex) -> bool,
) {
    let mut adapters = HashMap::new();
    while let Some(item) = events.recv().await {
        let (index, c) = match item {
            Ok((index, Event::DeviceConnected(c))) if serves(index) => (index, c),
            // The next controller under this index may have another address.
            Ok((index, Event::IndexRemoved(_))) => {
                adapters.remove(&index);
                continue;
            }
            _ => continue,
        };
        let learned = Learned::from_ad(&AdData::parse(&c.eir).unwrap_or_else(|e| e.parsed));
        if learned.is_empty() || is_private(&c.address) {
            continue;
        }
        let adapter = match adapters.get(&index) {
            Some(a) => *a,
            None => match client.controller(index).info().await {
                Ok(info) => *adapters.entry(index).or_insert(
                    (info.address != Address::ANY).then(|| AdapterId::public(info.address)),
                ),
                Err(e) => {
                    tracing::debug!(%index, error = %e, "no controller information; name not kept");
                    continue;
                }
            },
        };
        let Some(adapter) = adapter else { continue };
        let s = store.clone();
        let device = c.address.clone();
        match tokio::task::spawn_blocking(move || s.remember(adapter, &device, &learned)).await {
            Ok(Ok(r)) => tracing::debug!(device = %c.address, ?r, "device information kept"),
            Ok(Err(e)) => {
                tracing::warn!(device = %c.address, error = %e, "cannot keep the device's name")
            }
            Err(e) => tracing::warn!(error = %e, "name keeper task failed"),
        }
    }
}

/// A running [`keep_names`] task, stopped when dropped.
#[derive(Debug)]
pub struct NameKeeper(tokio::task::JoinHandle<()>);

impl NameKeeper {
    /// Starts [`keep_names`] for the store at `store`'s directory (its own handle on it; the
    /// adapter directory's lock orders its writes with everyone else's).
    /// Only controllers `serves` says yes to are kept (a service serving some controllers
    /// keeps no names for the others, whose adapters are not its own).
    pub fn spawn(
        client: Client,
        store: &KeyStore,
        serves: impl Fn(ControllerIndex) -> bool + Send + 'static,
    ) -> NameKeeper {
        // Subscribed before the task starts: no Device Connected after this call is missed.
        let events = client.subscribe(
            EventFilter::all()
                .code(EventCode::DEVICE_CONNECTED)
                .code(EventCode::INDEX_REMOVED),
        );
        NameKeeper(tokio::spawn(keep_names_from(
            client,
            events,
            Arc::new(KeyStore::open(store.dir())),
            serves,
        )))
    }
}

impl Drop for NameKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BONDED: &str = "# written by bluetoothd\n\n[General]\nName=old\nAlias=my sensor\n\
        Trusted=true\nServices=00001800-0000-1000-8000-00805f9b34fb;\n\n[DeviceID]\nSource=1\n\n\
        [LongTermKey]\nKey=00112233445566778899AABBCCDDEEFF\nAuthenticated=0\nEncSize=16\n\
        EDiv=0\nRand=0\n";

    fn learned(name: &str, complete: bool) -> Learned {
        Learned {
            name: Some(name.into()),
            name_complete: complete,
            class: Some(ClassOfDevice([0x0c, 0x02, 0x5a])),
            appearance: Some(0x03c1),
        }
    }

    #[test]
    fn names_go_where_bluetoothd_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path());
        let adapter = AdapterId::public("00:AA:01:00:00:00".parse().unwrap());
        let seen = AddressInfo::new("00:BB:00:00:00:09".parse().unwrap(), AddressType::BR_EDR);
        // A device only seen: its cache file, no info file.
        let r = store
            .remember(adapter, &seen, &learned("seen", true))
            .unwrap();
        assert!(r.info.is_none() && r.cache.is_some(), "{r:?}");
        assert!(!store.info_path(adapter, seen.address).exists());
        let cache = std::fs::read_to_string(r.cache.unwrap()).unwrap();
        assert_eq!(cache, "[General]\nName=seen\n");
        // Unchanged: nothing written.
        assert_eq!(
            store
                .remember(adapter, &seen, &learned("seen", true))
                .unwrap(),
            Remembered::default()
        );
        // A shortened name is not cached.
        let r = store
            .remember(adapter, &seen, &learned("se", false))
            .unwrap();
        assert!(r.cache.is_none());

        // A stored device: every other key and group of bluetoothd's file is kept.
        let bonded = AddressInfo::new("C0:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM);
        let path = store.info_path(adapter, bonded.address);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, BONDED).unwrap();
        store
            .remember(adapter, &bonded, &learned("new name", true))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            BONDED.replace("Name=old", "Name=new name").replace(
                "fb;\n\n[DeviceID]",
                "fb;\nClass=0x5a020c\nAppearance=0x03c1\n\n[DeviceID]"
            )
        );
        assert_eq!(
            store.device_name(adapter, bonded.address).as_deref(),
            Some("new name")
        );

        // A private address: nothing.
        let rpa = AddressInfo::new("40:BB:00:00:00:02".parse().unwrap(), AddressType::LE_RANDOM);
        assert_eq!(
            store.remember(adapter, &rpa, &learned("x", true)).unwrap(),
            Remembered::default()
        );
    }

    #[test]
    fn a_new_info_file_takes_the_cached_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path());
        let adapter = AdapterId::public("00:AA:01:00:00:00".parse().unwrap());
        let peer = AddressInfo::new("00:BB:00:00:00:02".parse().unwrap(), AddressType::BR_EDR);
        store
            .remember(adapter, &peer, &learned("a phone", true))
            .unwrap();
        set_wake_allowed(&store, adapter, peer.address, Some(true)).unwrap();
        let text = std::fs::read_to_string(store.info_path(adapter, peer.address)).unwrap();
        assert_eq!(text, "[General]\nWakeAllowed=true\nName=a phone\n");
        let file = KeyFile::parse(text.as_bytes()).unwrap();
        assert_eq!(read_wake_allowed(&file), Some(true));
        set_wake_allowed(&store, adapter, peer.address, None).unwrap();
        let text = std::fs::read_to_string(store.info_path(adapter, peer.address)).unwrap();
        assert_eq!(text, "[General]\nName=a phone\n");
    }
}
