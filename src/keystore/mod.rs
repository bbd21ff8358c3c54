//! Bond storage in BlueZ's on-disk format, and loading it back into the kernel.
//!
//! A [`KeyStore`] is a directory laid out as bluetoothd lays out `/var/lib/bluetooth`:
//! `<dir>/<adapter address>/<device address>/info`, one GLib key file per remote device (see
//! [`info`] for the groups and the BlueZ source facts behind them). A board can move from
//! bluetoothd to this crate and back and keep its bonds: we read bluetoothd's files, and when
//! we rewrite one we change only the groups we own and keep every other group, key, comment
//! and blank line as it was.
//!
//! Writes are crash safe ([`durable`]): temporary file, `fsync`, rename, directory `fsync`;
//! files are 0600 and directories 0700 whatever the umask. A file that does not parse gives a
//! [`LoadError`] naming the file and line, and every other bond still loads; a damaged group
//! (bad hex, wrong key length, missing key) is reported the same way and only that record is
//! left out.
//!
//! Every directory below the root is reached through an open handle without following links,
//! and the root and adapter directories must belong to this user (or root) and not be
//! writable by others ([`handle`]). Device directories count only when named exactly as
//! bluetoothd names them (upper case): `aa:bb:..` beside `AA:BB:..` is reported, not loaded.
//!
//! Key bytes are never logged; the key types print `<redacted>` in `Debug`.
//!
//! Besides keys, what bluetoothd keeps about devices is kept the same way: names, class and
//! appearance (also `<adapter>/cache/<device>` for devices only seen) in [`device_info`];
//! `Blocked`, `WakeAllowed` and the auto-connect rule applied at load in [`device_policy`].
//!
//! A stored [`Bond`] says what it is through [`classify`] (transport, keys, security);
//! removing a bond from the kernel and the store together is the pairing service's
//! ([`PairingService::unpair`](crate::pairing::PairingService::unpair)).

pub mod adapter_id;
pub mod classify;
pub mod device_info;
pub mod device_policy;
pub mod durable;
pub mod handle;
pub mod info;
pub mod kernel;
pub mod keyfile;
pub mod static_address;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bluez_mgmt_protocol::address::{Address, AddressType};
use bluez_mgmt_protocol::command::limits::MAX_COMMAND_PARAMS_LEN;
use bluez_mgmt_protocol::command::{
    LoadConnectionParameters, LoadIrks, LoadLinkKeys, LoadLongTermKeys,
};
use bluez_mgmt_protocol::keys::{ConnectionParameters, IrkInfo, LinkKeyInfo, LongTermKeyInfo};

pub use adapter_id::AdapterId;
pub use classify::{BondKey, BondSecurity, BondTransport, LeIdentity};
pub use info::{Bond, KeyUpdate, StoredCsrk};
pub use kernel::{
    load_adapter_into_controller, load_adapter_into_kernel, load_into_kernel, LoadCommands,
    LoadReport,
};

use keyfile::KeyFile;

/// bluetoothd's storage directory, the default for [`KeyStore::open`].
pub const DEFAULT_DIR: &str = "/var/lib/bluetooth";

/// The largest parameter block one MGMT command carries (the control socket's 65,535-octet
/// frame less the 6-octet header).
pub const MAX_PARAMETERS: usize = MAX_COMMAND_PARAMS_LEN;

/// Most link keys one Load Link Keys carries (the kernel's limit, which fits one frame).
pub const MAX_LINK_KEYS: usize = LoadLinkKeys::MAX_KEYS;
/// Most long term keys one Load Long Term Keys carries.
pub const MAX_LONG_TERM_KEYS: usize = LoadLongTermKeys::MAX_KEYS;
/// Most IRKs one Load Identity Resolving Keys carries.
pub const MAX_IRKS: usize = LoadIrks::MAX_KEYS;
/// Most entries one Load Connection Parameters carries.
pub const MAX_CONNECTION_PARAMETERS: usize = LoadConnectionParameters::MAX_PARAMETERS;

/// What went wrong in a [`KeyStore`] operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing the directory failed.
    Io,
    /// More keys of one kind than one MGMT command carries; nothing was built.
    TooManyKeys,
    /// The kernel refused a command or the connection to it failed.
    Kernel,
}

/// A [`KeyStore`] error: its kind, the path involved and the cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// An error of `kind` with this message and cause (for the parts of the crate that use
    /// the store).
    pub(crate) fn new(
        kind: ErrorKind,
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error {
            kind,
            message,
            source,
        }
    }

    fn io(path: &Path, what: &str, e: io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            message: format!("{what} {}: {e}", path.display()),
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// One info file that could not be read: the file, the 1-based line (when the problem is on
/// one) and what is wrong. The other bonds load regardless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number, when the problem is on a line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// What [`KeyStore::store`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    /// The info file was written.
    Written(PathBuf),
    /// Nothing was written, for the reason given.
    NotStored(&'static str),
}

/// The records of the four Load commands, each checked to fit in one MGMT frame.
///
/// Built by [`KeyStore::load_lists`]; each list replaces the kernel's whole list when sent, so
/// an empty list is meaningful (it clears keys a previous daemon loaded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadLists {
    /// For Load Link Keys.
    pub link_keys: Vec<LinkKeyInfo>,
    /// For Load Long Term Keys.
    pub long_term_keys: Vec<LongTermKeyInfo>,
    /// For Load Identity Resolving Keys.
    pub irks: Vec<IrkInfo>,
    /// For Load Connection Parameters.
    pub connection_parameters: Vec<ConnectionParameters>,
}

fn is_identity(address: Address, address_type: AddressType) -> bool {
    // LE random identity addresses are static: the two most significant bits set.
    address_type != AddressType::LE_RANDOM || address.0[5] & 0xc0 == 0xc0
}

fn check_count(what: &str, count: usize, max: usize) -> Result<(), Error> {
    if count > max {
        return Err(Error {
            kind: ErrorKind::TooManyKeys,
            message: format!(
                "{count} {what} do not fit in one MGMT command (the kernel takes at most {max} \
                 in one Load command, and each Load command replaces the whole list); \
                 refusing to load a truncated list, nothing sent"
            ),
            source: None,
        });
    }
    Ok(())
}

/// The directory of an adapter's cache files (`<adapter>/cache/<device>`), where bluetoothd
/// keeps what it learned about devices it has seen (their names among it) whether or not they
/// are bonded.
pub const CACHE_DIR: &str = "cache";

/// One of the two files bluetoothd keeps per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceFile {
    /// `<adapter>/<device>/info`: a stored (bonded, trusted or blocked) device.
    Info,
    /// `<adapter>/cache/<device>`: any device seen.
    Cache,
}

impl DeviceFile {
    /// (directory under the adapter's, file name).
    fn place(self, device: Address) -> (String, String) {
        match self {
            DeviceFile::Info => (device.to_string(), "info".to_string()),
            DeviceFile::Cache => (CACHE_DIR.to_string(), device.to_string()),
        }
    }
}

/// A bond store in bluetoothd's directory layout.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    write_lock: Mutex<()>,
}

impl KeyStore {
    /// A store rooted at `dir` (bluetoothd uses [`DEFAULT_DIR`]). The directory need not exist
    /// yet; it is created 0700 on the first write.
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        KeyStore {
            dir: dir.into(),
            write_lock: Mutex::new(()),
        }
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of one adapter: named by its address, upper case (`static-` first for a
    /// static random address), as bluetoothd names it.
    pub fn adapter_dir(&self, adapter: impl Into<AdapterId>) -> PathBuf {
        self.dir.join(adapter.into().to_string())
    }

    /// The info file of one device.
    pub fn info_path(&self, adapter: impl Into<AdapterId>, device: Address) -> PathBuf {
        self.adapter_dir(adapter)
            .join(device.to_string())
            .join("info")
    }

    /// The adapters that have a directory here (named as bluetoothd names them; a directory
    /// under another spelling is skipped with a warning). A missing root is no adapters.
    pub fn adapters(&self) -> Result<Vec<AdapterId>, Error> {
        let Some(mut root) = self.open_root()? else {
            return Ok(Vec::new());
        };
        let names = root
            .names()
            .map_err(|e| Error::io(&self.dir, "cannot read", e))?;
        let mut out = Vec::new();
        for name in names {
            let Ok(id) = name.parse::<AdapterId>() else {
                continue;
            };
            if id.to_string() != name {
                tracing::warn!(dir = %self.dir.join(&name).display(), "adapter directory not named as bluetoothd names it (upper case); skipped");
                continue;
            }
            // Only directories (opened without following links) count.
            if matches!(root.subdir(&name), Ok(Some(_))) {
                out.push(id);
            }
        }
        out.sort_by_key(|a| (a.static_random, a.address.display_bytes()));
        Ok(out)
    }

    /// The root directory, checked; `None` when it does not exist.
    fn open_root(&self) -> Result<Option<handle::DirHandle>, Error> {
        match handle::DirHandle::open_root(&self.dir) {
            Ok(h) => Ok(Some(h)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Error {
                kind: ErrorKind::Io,
                message: format!("refusing the key store: {e}"),
                source: Some(Box::new(e)),
            }),
            Err(e) => Err(Error::io(&self.dir, "cannot open", e)),
        }
    }

    /// The adapter's directory, checked; `None` when it does not exist.
    fn open_adapter(
        &self,
        root: &handle::DirHandle,
        adapter: AdapterId,
    ) -> Result<Option<handle::DirHandle>, Error> {
        let adir = self.adapter_dir(adapter);
        let h = root
            .subdir(&adapter.to_string())
            .map_err(|e| Error::io(&adir, "refusing", e))?;
        if let Some(h) = &h {
            h.check().map_err(|e| Error {
                kind: ErrorKind::Io,
                message: format!("refusing the key store: {e}"),
                source: Some(Box::new(e)),
            })?;
        }
        Ok(h)
    }

    /// Stores one key or parameter set the kernel reported, unless `store_hint` is false
    /// (the kernel's way of saying the pairing was not bonding, or the address is not an
    /// identity). LTKs, IRKs and CSRKs for LE random addresses that are not static are never
    /// stored: the address will not be seen again.
    pub fn store(
        &self,
        adapter: impl Into<AdapterId>,
        store_hint: bool,
        update: &KeyUpdate,
    ) -> Result<StoreOutcome, Error> {
        if !store_hint {
            return Ok(StoreOutcome::NotStored("store hint is 0"));
        }
        let device = update.device();
        if !matches!(update, KeyUpdate::LinkKey(_))
            && !is_identity(device.address, device.address_type)
        {
            return Ok(StoreOutcome::NotStored(
                "LE random address that is not static (not an identity address)",
            ));
        }
        self.store_all(adapter, device.address, std::slice::from_ref(update))
            .map(StoreOutcome::Written)
    }

    /// Applies several updates to one device's info file in a single atomic write.
    pub fn store_all(
        &self,
        adapter: impl Into<AdapterId>,
        device: Address,
        updates: &[KeyUpdate],
    ) -> Result<PathBuf, Error> {
        self.modify(adapter.into(), device, |file| {
            for u in updates {
                info::apply(file, u);
            }
        })
    }

    /// Writes every record of `bond` into its info file (one atomic write), keeping the
    /// file's other groups.
    pub fn write_bond(&self, adapter: impl Into<AdapterId>, bond: &Bond) -> Result<PathBuf, Error> {
        self.modify(adapter.into(), bond.device, |file| {
            info::apply_bond(file, bond)
        })
    }

    /// Changes a device's info file (created when missing) in one atomic write, keeping
    /// everything `change` does not touch.
    pub(crate) fn modify(
        &self,
        adapter: AdapterId,
        device: Address,
        change: impl FnOnce(&mut KeyFile),
    ) -> Result<PathBuf, Error> {
        let path = self.info_path(adapter, device);
        self.edit(adapter, device, DeviceFile::Info, true, |file| {
            change(file);
            true
        })
        .map(|written| written.unwrap_or(path))
    }

    /// Where a device's file of `kind` lives: `<adapter>/<device>/info` or
    /// `<adapter>/cache/<device>`.
    pub(crate) fn device_file_path(
        &self,
        adapter: AdapterId,
        device: Address,
        kind: DeviceFile,
    ) -> PathBuf {
        let (dir, name) = kind.place(device);
        self.adapter_dir(adapter).join(dir).join(name)
    }

    /// Reads and changes one of a device's files under the adapter's lock, and writes it back
    /// atomically (0600, through handles that follow no link) when `change` says it changed
    /// something. With `create` false a missing file (or adapter directory) is left alone and
    /// nothing is created. A file that does not parse is kept aside whole and a new one is
    /// started. An info file that has no `[General] Name` gets the name from the device's
    /// cache file, as bluetoothd's `load_info` falls back to it and stores it. Returns the
    /// path written, or `None` when nothing was.
    pub(crate) fn edit(
        &self,
        adapter: AdapterId,
        device: Address,
        kind: DeviceFile,
        create: bool,
        change: impl FnOnce(&mut KeyFile) -> bool,
    ) -> Result<Option<PathBuf>, Error> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.device_file_path(adapter, device, kind);
        let (dir_name, file_name) = kind.place(device);
        let adir = self.adapter_dir(adapter);
        let ddir = adir.join(&dir_name);
        let adapter_dir = if create {
            // The root is the administrator's: created with its parents when missing.
            durable::create_private_dir(&self.dir)
                .map_err(|e| Error::io(&self.dir, "cannot create", e))?;
            let root = self.open_root()?.ok_or_else(|| {
                Error::io(
                    &self.dir,
                    "cannot open",
                    io::Error::from(io::ErrorKind::NotFound),
                )
            })?;
            root.create_subdir(&adapter.to_string())
                .map_err(|e| Error::io(&adir, "cannot use", e))?
        } else {
            let Some(root) = self.open_root()? else {
                return Ok(None);
            };
            match root
                .subdir(&adapter.to_string())
                .map_err(|e| Error::io(&adir, "refusing", e))?
            {
                Some(d) => d,
                None => return Ok(None),
            }
        };
        adapter_dir.check().map_err(|e| Error {
            kind: ErrorKind::Io,
            message: format!("refusing the key store: {e}"),
            source: Some(Box::new(e)),
        })?;
        let _lock = adapter_dir
            .lock()
            .map_err(|e| Error::io(&adir, "cannot lock", e))?;
        let device_dir = if create {
            adapter_dir
                .create_subdir(&dir_name)
                .map_err(|e| Error::io(&ddir, "cannot use", e))?
        } else {
            match adapter_dir
                .subdir(&dir_name)
                .map_err(|e| Error::io(&ddir, "refusing", e))?
            {
                Some(d) => d,
                None => return Ok(None),
            }
        };
        let mut file = match device_dir.read_file(&file_name) {
            Ok(Some(bytes)) => match KeyFile::parse(&bytes) {
                Ok(f) => f,
                Err(syntax) => {
                    // Keep the unreadable file whole beside the new one: nothing is lost.
                    let aside = format!(
                        "{file_name}.unparsable.{}",
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos())
                    );
                    tracing::warn!(
                        path = %path.display(),
                        line = syntax.line,
                        error = %syntax.message,
                        aside = %ddir.join(&aside).display(),
                        "device file does not parse; keeping it aside and starting a new one"
                    );
                    device_dir
                        .rename(&file_name, &aside)
                        .map_err(|e| Error::io(&path, "cannot move", e))?;
                    KeyFile::new()
                }
            },
            Ok(None) if create => KeyFile::new(),
            Ok(None) => return Ok(None),
            Err(e) => return Err(Error::io(&path, "cannot read", e)),
        };
        let mut changed = change(&mut file);
        if matches!(kind, DeviceFile::Info) && file.get(info::GENERAL, "Name").is_none() {
            let cached = adapter_dir
                .subdir(CACHE_DIR)
                .ok()
                .flatten()
                .and_then(|c| c.read_file(&device.to_string()).ok().flatten())
                .and_then(|b| KeyFile::parse(&b).ok())
                .and_then(|c| c.get(info::GENERAL, "Name").map(|f| f.value.to_string()));
            if let Some(name) = cached {
                file.set(info::GENERAL, "Name", &name);
                changed = true;
            }
        }
        if !changed {
            return Ok(None);
        }
        durable::remove_stale_temps(&ddir);
        device_dir
            .replace_file(
                &file_name,
                &durable::temp_name(&file_name),
                &file.to_bytes(),
            )
            .map_err(|e| Error::io(&path, "cannot write", e))?;
        tracing::debug!(path = %path.display(), "stored device file");
        Ok(Some(path))
    }

    /// Every device file of `adapter` that parses, with one [`LoadError`] per file that does
    /// not and per damaged group (the rest of that device still loads). Includes devices that
    /// have only connection parameters.
    pub fn devices(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<(Vec<Bond>, Vec<LoadError>), Error> {
        let adapter = adapter.into();
        let adir = self.adapter_dir(adapter);
        let Some(root) = self.open_root()? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let Some(mut adapter_dir) = self.open_adapter(&root, adapter)? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let all = adapter_dir
            .names()
            .map_err(|e| Error::io(&adir, "cannot read", e))?;
        let mut names: Vec<(Address, String)> = all
            .iter()
            .filter_map(|name| Some((name.parse::<Address>().ok()?, name.clone())))
            .collect();
        names.sort_by_key(|(d, _)| d.display_bytes());
        let mut bonds = Vec::new();
        let mut errors = Vec::new();
        for (device, name) in names {
            let path = adir.join(&name).join("info");
            let canonical = device.to_string();
            if name != canonical {
                // bluetoothd writes upper case; another spelling is a different directory to
                // the file system, and loading both would give one device two bonds of which
                // unpair removes one.
                let twin = if all.contains(&canonical) {
                    format!("a twin of {canonical}, which is loaded")
                } else {
                    format!("rename it to {canonical} to use it")
                };
                errors.push(LoadError {
                    path: adir.join(&name),
                    line: None,
                    message: format!(
                        "not loaded: device directories are named in upper case, as bluetoothd \
                         writes them ({twin})"
                    ),
                });
                continue;
            }
            let read = adapter_dir
                .subdir(&name)
                .and_then(|d| d.map_or(Ok(None), |d| d.read_file("info")));
            let bytes = match read {
                Ok(Some(b)) => b,
                // A device directory without info (only attributes, say) is not a bond.
                Ok(None) => continue,
                Err(e) => {
                    errors.push(LoadError {
                        path,
                        line: None,
                        message: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            let file = match KeyFile::parse(&bytes) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(path = %path.display(), line = e.line, message = %e.message, "skipping info file");
                    errors.push(LoadError {
                        path,
                        line: Some(e.line),
                        message: e.message,
                    });
                    continue;
                }
            };
            let (bond, problems) = info::read_bond(&file, device);
            for e in problems {
                tracing::warn!(path = %path.display(), line = e.line, message = %e.message, "skipping damaged group");
                errors.push(LoadError {
                    path: path.clone(),
                    line: (e.line > 0).then_some(e.line),
                    message: e.message,
                });
            }
            bonds.push(bond);
        }
        Ok((bonds, errors))
    }

    /// Every bond of `adapter` (device files holding at least one readable key), with one
    /// [`LoadError`] per file that does not parse and per damaged group.
    pub fn bonds(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<(Vec<Bond>, Vec<LoadError>), Error> {
        let (mut devices, errors) = self.devices(adapter)?;
        devices.retain(Bond::has_keys);
        Ok((devices, errors))
    }

    /// Removes a device: its whole directory (info, attributes), as bluetoothd's RemoveDevice
    /// does. Returns false when there was nothing to remove.
    pub fn remove(&self, adapter: impl Into<AdapterId>, device: Address) -> Result<bool, Error> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let adapter = adapter.into();
        let adir = self.adapter_dir(adapter);
        let name = device.to_string();
        let ddir = adir.join(&name);
        let Some(root) = self.open_root()? else {
            return Ok(false);
        };
        let Some(adapter_dir) = self.open_adapter(&root, adapter)? else {
            return Ok(false);
        };
        let _lock = adapter_dir
            .lock()
            .map_err(|e| Error::io(&adir, "cannot lock", e))?;
        durable::remove_stale_temps(&adir);
        // Only a real directory is removed; a link in its place is refused, not followed.
        if adapter_dir
            .subdir(&name)
            .map_err(|e| Error::io(&ddir, "refusing", e))?
            .is_none()
        {
            return Ok(false);
        }
        // Renamed within the handle first, so the tree removed is the one checked.
        let doomed = durable::temp_name(&format!("removed.{name}"));
        adapter_dir
            .rename(&name, &doomed)
            .and_then(|()| adapter_dir.sync())
            .map_err(|e| Error::io(&ddir, "cannot remove", e))?;
        fs::remove_dir_all(adir.join(&doomed))
            .and_then(|()| adapter_dir.sync())
            .map_err(|e| Error::io(&ddir, "cannot remove", e))?;
        Ok(true)
    }

    /// The records of the four Load commands for `adapter`, from every file that parses
    /// (unparsable files and damaged groups are returned as errors and left out). Records the kernel would
    /// reject, which would fail the whole command, are left out with a warning: LE keys for
    /// random addresses that are not static, link key types above 0x08, LTK encryption sizes
    /// above 16. Fails with [`ErrorKind::TooManyKeys`] when a list does not fit in one frame.
    pub fn load_lists(
        &self,
        adapter: impl Into<AdapterId>,
    ) -> Result<(LoadLists, Vec<LoadError>), Error> {
        let (devices, errors) = self.devices(adapter)?;
        let mut lists = LoadLists::default();
        for d in devices {
            let le_ok = is_identity(d.device, d.le_address_type);
            if let Some(k) = d.link_key {
                if k.key_type.0 <= 0x08 {
                    lists.link_keys.push(k);
                } else {
                    tracing::warn!(device = %d.device, key_type = k.key_type.0, "skipping link key of unknown type");
                }
            }
            for k in [d.long_term_key, d.peripheral_long_term_key]
                .into_iter()
                .flatten()
            {
                if le_ok && k.encryption_size <= 16 {
                    lists.long_term_keys.push(k);
                } else {
                    tracing::warn!(device = %d.device, "skipping LTK the kernel would reject (address not an identity, or EncSize > 16)");
                }
            }
            if let Some(k) = d.irk {
                if le_ok {
                    lists.irks.push(k);
                }
            }
            if let Some(p) = d.connection_parameters {
                if le_ok {
                    lists.connection_parameters.push(p);
                }
            }
        }
        check_count("link keys", lists.link_keys.len(), MAX_LINK_KEYS)?;
        check_count(
            "long term keys",
            lists.long_term_keys.len(),
            MAX_LONG_TERM_KEYS,
        )?;
        check_count("identity resolving keys", lists.irks.len(), MAX_IRKS)?;
        check_count(
            "connection parameter sets",
            lists.connection_parameters.len(),
            MAX_CONNECTION_PARAMETERS,
        )?;
        Ok((lists, errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_frame_size() {
        assert_eq!(MAX_LINK_KEYS, 2621);
        assert_eq!(MAX_LONG_TERM_KEYS, 1820);
        assert_eq!(MAX_IRKS, 2849);
        assert_eq!(MAX_CONNECTION_PARAMETERS, 4368);
    }

    #[test]
    fn identity_addresses() {
        let static_addr: Address = "C0:00:00:00:00:01".parse().unwrap();
        let rpa: Address = "40:00:00:00:00:01".parse().unwrap();
        assert!(is_identity(static_addr, AddressType::LE_RANDOM));
        assert!(!is_identity(rpa, AddressType::LE_RANDOM));
        assert!(is_identity(rpa, AddressType::LE_PUBLIC));
    }
}
