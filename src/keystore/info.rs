//! The groups and keys of bluetoothd's per-device `info` file, and how key material maps onto
//! them.
//!
//! Facts from BlueZ `doc/settings-storage.txt` and `src/adapter.c` / `src/device.c`:
//! - Key bytes are written as 32 upper-case hex digits, in the order the kernel sends them
//!   (wire order, `sprintf("%2.2X", key[i])` for i = 0..16). Readers accept an optional `0x`
//!   prefix (older files) and either case.
//! - `[LinkKey]`: `Key`, `Type` (the MGMT link key type), `PINLength`.
//! - `[LongTermKey]` holds the key used when we are central (MGMT `central`/initiator = 1);
//!   `[PeripheralLongTermKey]` the one used when we are peripheral (central = 0). Since BlueZ
//!   5.63 bluetoothd writes the peripheral key to both `[PeripheralLongTermKey]` and the old
//!   name `[SlaveLongTermKey]`, and reads the new name first. `Authenticated` is the MGMT LTK
//!   type itself (0 unauthenticated, 1 authenticated, 2 unauthenticated P-256, 3 authenticated
//!   P-256, 4 debug P-256), not a boolean. `EncSize`, `EDiv` are decimal; `Rand` is the 64-bit
//!   value in decimal (older files: `0x` and the 8 bytes in little-endian hex).
//! - `[IdentityResolvingKey]`: `Key`.
//! - `[LocalSignatureKey]` / `[RemoteSignatureKey]`: `Key`, `Counter` (decimal, written through
//!   a C `int`), `Authenticated` (boolean `true`/`false`). CSRK types 0/2 are local, 1/3 remote;
//!   2/3 are authenticated.
//! - `[ConnectionParameters]`: `MinInterval`, `MaxInterval`, `Latency`, `Timeout` (decimal).
//! - `[General]` `AddressType` is `public` or `static` and gives the LE address type of every LE
//!   record (absent: LE public, as `get_le_addr_type` does); `SupportedTechnologies` is a list of
//!   `BR/EDR` and `LE`. Link keys are loaded as BR/EDR.

use bluez_mgmt_protocol::address::{Address, AddressInfo, AddressType};
use bluez_mgmt_protocol::keys::{
    ConnectionParameters, CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo,
    LinkKeyType, LongTermKey, LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
};

use super::keyfile::{self, KeyFile};

/// `[General]`.
pub const GENERAL: &str = "General";
/// `[LinkKey]`.
pub const LINK_KEY: &str = "LinkKey";
/// `[LongTermKey]`: the LTK used when we are central.
pub const LONG_TERM_KEY: &str = "LongTermKey";
/// `[PeripheralLongTermKey]`: the LTK used when we are peripheral.
pub const PERIPHERAL_LONG_TERM_KEY: &str = "PeripheralLongTermKey";
/// `[SlaveLongTermKey]`: the pre-5.63 name of `[PeripheralLongTermKey]`.
pub const SLAVE_LONG_TERM_KEY: &str = "SlaveLongTermKey";
/// `[IdentityResolvingKey]`.
pub const IDENTITY_RESOLVING_KEY: &str = "IdentityResolvingKey";
/// `[LocalSignatureKey]`.
pub const LOCAL_SIGNATURE_KEY: &str = "LocalSignatureKey";
/// `[RemoteSignatureKey]`.
pub const REMOTE_SIGNATURE_KEY: &str = "RemoteSignatureKey";
/// `[ConnectionParameters]`.
pub const CONNECTION_PARAMETERS: &str = "ConnectionParameters";

/// A signature key (CSRK) with the sign counter bluetoothd keeps beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCsrk {
    /// The key record (its type says local or remote, authenticated or not).
    pub info: CsrkInfo,
    /// The signature counter.
    pub counter: u32,
}

/// Everything stored about one remote device: its keys and connection parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bond {
    /// The remote device's address (the directory name).
    pub device: Address,
    /// The LE address type from `[General] AddressType` (LE public when absent). Only
    /// meaningful when the bond holds LE records; a BR/EDR-only file has no AddressType.
    pub le_address_type: AddressType,
    /// The device name from `[General] Name`, if any.
    pub name: Option<String>,
    /// The BR/EDR link key.
    pub link_key: Option<LinkKeyInfo>,
    /// The LTK used when we are central (`central` = 1).
    pub long_term_key: Option<LongTermKeyInfo>,
    /// The LTK used when we are peripheral (`central` = 0).
    pub peripheral_long_term_key: Option<LongTermKeyInfo>,
    /// The identity resolving key.
    pub irk: Option<IrkInfo>,
    /// Our signature key for this device.
    pub local_csrk: Option<StoredCsrk>,
    /// The device's signature key.
    pub remote_csrk: Option<StoredCsrk>,
    /// Preferred LE connection parameters.
    pub connection_parameters: Option<ConnectionParameters>,
}

impl Bond {
    /// A bond for `device` with no name, keys or connection parameters yet; its LE records
    /// (when added) are for `le_address_type`.
    pub fn new(device: Address, le_address_type: AddressType) -> Bond {
        Bond {
            device,
            le_address_type,
            name: None,
            link_key: None,
            long_term_key: None,
            peripheral_long_term_key: None,
            irk: None,
            local_csrk: None,
            remote_csrk: None,
            connection_parameters: None,
        }
    }

    /// True when the file holds any key (link key, LTK, IRK or CSRK): a bond, not just a
    /// remembered device.
    pub fn has_keys(&self) -> bool {
        self.link_key.is_some()
            || self.long_term_key.is_some()
            || self.peripheral_long_term_key.is_some()
            || self.irk.is_some()
            || self.local_csrk.is_some()
            || self.remote_csrk.is_some()
    }

    /// True when any key came from a pairing with MITM protection.
    pub fn is_authenticated(&self) -> bool {
        self.link_key
            .as_ref()
            .is_some_and(|k| k.key_type.is_authenticated())
            || [&self.long_term_key, &self.peripheral_long_term_key]
                .iter()
                .any(|k| k.as_ref().is_some_and(|k| k.key_type.is_authenticated()))
    }
}

/// One piece of key material to store, as the kernel reports it in New Link Key, New Long Term
/// Key, New Identity Resolving Key, New Signature Resolving Key and New Connection Parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUpdate {
    /// A BR/EDR link key.
    LinkKey(LinkKeyInfo),
    /// An LE long term key (its `central` field picks the group).
    LongTermKey(LongTermKeyInfo),
    /// An identity resolving key (the record carries the identity address).
    Irk(IrkInfo),
    /// A signature key; stored with counter 0, as bluetoothd does for a new key.
    Csrk(CsrkInfo),
    /// Preferred LE connection parameters.
    ConnectionParameters(ConnectionParameters),
}

impl KeyUpdate {
    /// The remote device the update is about.
    pub fn device(&self) -> AddressInfo {
        match self {
            KeyUpdate::LinkKey(k) => k.address.clone(),
            KeyUpdate::LongTermKey(k) => k.address.clone(),
            KeyUpdate::Irk(k) => k.address.clone(),
            KeyUpdate::Csrk(k) => k.address.clone(),
            KeyUpdate::ConnectionParameters(p) => p.address.clone(),
        }
    }
}

/// A problem in one group or key of an info file: message and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based line number (the key's line, or the group header when a key is missing).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn field_err(line: usize, message: impl Into<String>) -> FieldError {
    FieldError {
        line,
        message: message.into(),
    }
}

/// Upper-case hex of a key, as bluetoothd writes it.
pub fn key_hex(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

struct Group<'a> {
    file: &'a KeyFile,
    name: &'a str,
}

impl Group<'_> {
    fn header(&self) -> usize {
        self.file.group_line(self.name).unwrap_or(0)
    }

    fn required(&self, key: &str) -> Result<keyfile::Found<'_>, FieldError> {
        self.file.get(self.name, key).ok_or_else(|| {
            field_err(
                self.header(),
                format!(
                    "[{}] has no `{key}` (bluetoothd always writes it)",
                    self.name
                ),
            )
        })
    }

    fn key16(&self) -> Result<[u8; 16], FieldError> {
        let f = self.required("Key")?;
        let v = f.value.trim_end();
        let digits = v
            .strip_prefix("0x")
            .or_else(|| v.strip_prefix("0X"))
            .unwrap_or(v);
        if digits.len() != 32 {
            return Err(field_err(
                f.line,
                format!(
                    "[{}] Key has {} hex digits, a key has 32",
                    self.name,
                    digits.len()
                ),
            ));
        }
        hex_bytes::<16>(digits)
            .ok_or_else(|| field_err(f.line, format!("[{}] Key is not hexadecimal", self.name)))
    }

    fn int<T: TryFrom<i64>>(&self, key: &str) -> Result<T, FieldError> {
        let f = self.required(key)?;
        let n: i64 = f.value.trim_end().parse().map_err(|_| {
            field_err(
                f.line,
                format!(
                    "[{}] {key}=`{}` is not a decimal number",
                    self.name, f.value
                ),
            )
        })?;
        T::try_from(n)
            .map_err(|_| field_err(f.line, format!("[{}] {key}={n} is out of range", self.name)))
    }

    fn boolean(&self, key: &str) -> Result<bool, FieldError> {
        let f = self.required(key)?;
        match f.value.trim_end() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(field_err(
                f.line,
                format!("[{}] {key}=`{other}` is not true or false", self.name),
            )),
        }
    }

    fn rand(&self) -> Result<u64, FieldError> {
        let f = self.required("Rand")?;
        let v = f.value.trim_end();
        if let Some(hex) = v.strip_prefix("0x") {
            // Older files: the 8 bytes in wire (little-endian) order.
            let b = hex_bytes::<8>(hex).ok_or_else(|| {
                field_err(
                    f.line,
                    format!("[{}] Rand=`{v}` is not 8 hex bytes", self.name),
                )
            })?;
            return Ok(u64::from_le_bytes(b));
        }
        v.parse().map_err(|_| {
            field_err(
                f.line,
                format!("[{}] Rand=`{v}` is not a 64-bit decimal number", self.name),
            )
        })
    }
}

/// The LE address type `[General] AddressType` gives (`get_le_addr_type`).
fn le_address_type(file: &KeyFile) -> AddressType {
    match file.get(GENERAL, "AddressType").map(|f| f.value.trim_end()) {
        Some("static") => AddressType::LE_RANDOM,
        _ => AddressType::LE_PUBLIC,
    }
}

fn read_ltk(
    file: &KeyFile,
    name: &str,
    address: AddressInfo,
    central: u8,
) -> Result<Option<LongTermKeyInfo>, FieldError> {
    if !file.has_group(name) {
        return Ok(None);
    }
    let g = Group { file, name };
    let value = LongTermKey::new(g.key16()?);
    Ok(Some(LongTermKeyInfo {
        address,
        key_type: LongTermKeyType(g.int("Authenticated")?),
        central,
        encryption_size: g.int("EncSize")?,
        ediv: g.int("EDiv")?,
        rand: g.rand()?,
        value,
    }))
}

fn read_csrk(
    file: &KeyFile,
    name: &str,
    address: AddressInfo,
    local: bool,
) -> Result<Option<StoredCsrk>, FieldError> {
    if !file.has_group(name) {
        return Ok(None);
    }
    let g = Group { file, name };
    let value = SignatureResolvingKey::new(g.key16()?);
    // Counter is written through a C int, so values past 2^31 appear negative.
    let counter: i64 = g.int("Counter")?;
    let counter = if (-(1i64 << 31)..(1i64 << 32)).contains(&counter) {
        counter as u32
    } else {
        return Err(field_err(
            file.get(name, "Counter").map_or(0, |f| f.line),
            format!("[{name}] Counter={counter} is out of range"),
        ));
    };
    let csrk_type = match (local, g.boolean("Authenticated")?) {
        (true, false) => CsrkType::LOCAL_UNAUTHENTICATED,
        (false, false) => CsrkType::REMOTE_UNAUTHENTICATED,
        (true, true) => CsrkType::LOCAL_AUTHENTICATED,
        (false, true) => CsrkType::REMOTE_AUTHENTICATED,
    };
    Ok(Some(StoredCsrk {
        info: CsrkInfo {
            address,
            csrk_type,
            value,
        },
        counter,
    }))
}

fn read_link_key(file: &KeyFile, device: Address) -> Result<Option<LinkKeyInfo>, FieldError> {
    if !file.has_group(LINK_KEY) {
        return Ok(None);
    }
    let g = Group {
        file,
        name: LINK_KEY,
    };
    // Checked in file order, so a truncated file is reported at the cut line.
    let value = LinkKey::new(g.key16()?);
    Ok(Some(LinkKeyInfo {
        address: AddressInfo::new(device, AddressType::BR_EDR),
        key_type: LinkKeyType(g.int("Type")?),
        value,
        pin_length: g.int("PINLength")?,
    }))
}

fn read_irk(file: &KeyFile, address: AddressInfo) -> Result<Option<IrkInfo>, FieldError> {
    if !file.has_group(IDENTITY_RESOLVING_KEY) {
        return Ok(None);
    }
    let g = Group {
        file,
        name: IDENTITY_RESOLVING_KEY,
    };
    Ok(Some(IrkInfo {
        address,
        value: IdentityResolvingKey::new(g.key16()?),
    }))
}

fn read_connection_parameters(
    file: &KeyFile,
    address: AddressInfo,
) -> Result<Option<ConnectionParameters>, FieldError> {
    if !file.has_group(CONNECTION_PARAMETERS) {
        return Ok(None);
    }
    let g = Group {
        file,
        name: CONNECTION_PARAMETERS,
    };
    Ok(Some(ConnectionParameters {
        address,
        min_interval: g.int("MinInterval")?,
        max_interval: g.int("MaxInterval")?,
        latency: g.int("Latency")?,
        timeout: g.int("Timeout")?,
    }))
}

/// Reads the bond of `device` from a parsed info file. Each group is read on its own: a
/// damaged group is left out of the bond and reported, and the others still count (a damaged
/// `[PeripheralLongTermKey]` falls back to its duplicate `[SlaveLongTermKey]`).
pub fn read_bond(file: &KeyFile, device: Address) -> (Bond, Vec<FieldError>) {
    fn keep<T>(errors: &mut Vec<FieldError>, r: Result<Option<T>, FieldError>) -> Option<T> {
        r.unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    }
    let mut errors = Vec::new();
    let le_type = le_address_type(file);
    let le = AddressInfo::new(device, le_type);
    let name = keep(
        &mut errors,
        file.get(GENERAL, "Name")
            .map(|f| keyfile::unescape(f.value).map_err(|m| field_err(f.line, m)))
            .transpose(),
    );
    let link_key = keep(&mut errors, read_link_key(file, device));
    // Pre-2014 files could mark a [LongTermKey] as the peripheral one with Master=false.
    let long_term_key =
        keep(&mut errors, read_ltk(file, LONG_TERM_KEY, le.clone(), 1)).map(|mut k| {
            if file
                .get(LONG_TERM_KEY, "Master")
                .is_some_and(|f| matches!(f.value.trim_end(), "false" | "0"))
            {
                k.central = 0;
            }
            k
        });
    let peripheral_long_term_key = keep(
        &mut errors,
        read_ltk(file, PERIPHERAL_LONG_TERM_KEY, le.clone(), 0),
    )
    .or_else(|| {
        keep(
            &mut errors,
            read_ltk(file, SLAVE_LONG_TERM_KEY, le.clone(), 0),
        )
    });
    let irk = keep(&mut errors, read_irk(file, le.clone()));
    let local_csrk = keep(
        &mut errors,
        read_csrk(file, LOCAL_SIGNATURE_KEY, le.clone(), true),
    );
    let remote_csrk = keep(
        &mut errors,
        read_csrk(file, REMOTE_SIGNATURE_KEY, le.clone(), false),
    );
    let connection_parameters = keep(&mut errors, read_connection_parameters(file, le));
    let bond = Bond {
        device,
        le_address_type: le_type,
        name,
        link_key,
        long_term_key,
        peripheral_long_term_key,
        irk,
        local_csrk,
        remote_csrk,
        connection_parameters,
    };
    (bond, errors)
}

fn add_technology(file: &mut KeyFile, tech: &str) {
    let mut items = file
        .get(GENERAL, "SupportedTechnologies")
        .map(|f| keyfile::split_list(f.value))
        .unwrap_or_default();
    if !items.iter().any(|i| i == tech) {
        items.push(tech.to_string());
        // bluetoothd lists BR/EDR before LE.
        items.sort_by_key(|i| match i.as_str() {
            "BR/EDR" => 0,
            "LE" => 1,
            _ => 2,
        });
        file.set(
            GENERAL,
            "SupportedTechnologies",
            &keyfile::join_list(&items),
        );
    }
}

fn mark_le(file: &mut KeyFile, address_type: AddressType) {
    let kind = if address_type == AddressType::LE_RANDOM {
        "static"
    } else {
        "public"
    };
    if file.get(GENERAL, "AddressType").map(|f| f.value) != Some(kind) {
        file.set(GENERAL, "AddressType", kind);
    }
    add_technology(file, "LE");
}

/// Lists the bearer of `address_type` in `SupportedTechnologies` (and, for LE, sets
/// `AddressType`) when missing, as bluetoothd's `update_technologies` does.
pub(crate) fn add_bearer(file: &mut KeyFile, address_type: AddressType) {
    if address_type == AddressType::BR_EDR {
        add_technology(file, "BR/EDR");
    } else {
        mark_le(file, address_type);
    }
}

fn set_ltk_group(file: &mut KeyFile, group: &str, k: &LongTermKeyInfo) {
    file.remove_key(group, "Master");
    file.set(group, "Key", &key_hex(k.value.expose()));
    file.set(group, "Authenticated", &k.key_type.0.to_string());
    file.set(group, "EncSize", &k.encryption_size.to_string());
    file.set(group, "EDiv", &k.ediv.to_string());
    file.set(group, "Rand", &k.rand.to_string());
}

/// Writes one update into an info file, keeping every other group and key.
pub fn apply(file: &mut KeyFile, update: &KeyUpdate) {
    match update {
        KeyUpdate::LinkKey(k) => {
            add_technology(file, "BR/EDR");
            file.set(LINK_KEY, "Key", &key_hex(k.value.expose()));
            file.set(LINK_KEY, "Type", &k.key_type.0.to_string());
            file.set(LINK_KEY, "PINLength", &k.pin_length.to_string());
        }
        KeyUpdate::LongTermKey(k) => {
            mark_le(file, k.address.address_type);
            if k.central != 0 {
                set_ltk_group(file, LONG_TERM_KEY, k);
            } else {
                // As bluetoothd >= 5.63: the new name and the old one, so that older
                // bluetoothd reads it too.
                set_ltk_group(file, PERIPHERAL_LONG_TERM_KEY, k);
                set_ltk_group(file, SLAVE_LONG_TERM_KEY, k);
            }
        }
        KeyUpdate::Irk(k) => {
            mark_le(file, k.address.address_type);
            file.set(IDENTITY_RESOLVING_KEY, "Key", &key_hex(k.value.expose()));
        }
        KeyUpdate::Csrk(k) => {
            mark_le(file, k.address.address_type);
            let (group, auth) = match k.csrk_type {
                CsrkType::LOCAL_UNAUTHENTICATED => (LOCAL_SIGNATURE_KEY, false),
                CsrkType::REMOTE_UNAUTHENTICATED => (REMOTE_SIGNATURE_KEY, false),
                CsrkType::LOCAL_AUTHENTICATED => (LOCAL_SIGNATURE_KEY, true),
                _ => (REMOTE_SIGNATURE_KEY, true),
            };
            file.set(group, "Key", &key_hex(k.value.expose()));
            file.set(group, "Counter", "0");
            file.set(group, "Authenticated", if auth { "true" } else { "false" });
        }
        KeyUpdate::ConnectionParameters(p) => {
            mark_le(file, p.address.address_type);
            file.set(
                CONNECTION_PARAMETERS,
                "MinInterval",
                &p.min_interval.to_string(),
            );
            file.set(
                CONNECTION_PARAMETERS,
                "MaxInterval",
                &p.max_interval.to_string(),
            );
            file.set(CONNECTION_PARAMETERS, "Latency", &p.latency.to_string());
            file.set(CONNECTION_PARAMETERS, "Timeout", &p.timeout.to_string());
        }
    }
}

/// Writes a whole bond into an info file (every record it holds), keeping other groups.
pub fn apply_bond(file: &mut KeyFile, bond: &Bond) {
    if let Some(name) = &bond.name {
        file.set(GENERAL, "Name", &keyfile::escape(name));
    }
    let mut updates = Vec::new();
    updates.extend(bond.link_key.clone().map(KeyUpdate::LinkKey));
    updates.extend(bond.long_term_key.clone().map(KeyUpdate::LongTermKey));
    updates.extend(
        bond.peripheral_long_term_key
            .clone()
            .map(KeyUpdate::LongTermKey),
    );
    updates.extend(bond.irk.clone().map(KeyUpdate::Irk));
    updates.extend(
        bond.connection_parameters
            .clone()
            .map(KeyUpdate::ConnectionParameters),
    );
    for u in &updates {
        apply(file, u);
    }
    for (csrk, group) in [
        (&bond.local_csrk, LOCAL_SIGNATURE_KEY),
        (&bond.remote_csrk, REMOTE_SIGNATURE_KEY),
    ] {
        if let Some(c) = csrk {
            apply(file, &KeyUpdate::Csrk(c.info.clone()));
            // Through a C int, as bluetoothd writes it.
            file.set(group, "Counter", &(c.counter as i32).to_string());
        }
    }
    if updates.is_empty() && bond.local_csrk.is_none() && bond.remote_csrk.is_none() {
        mark_le(file, bond.le_address_type);
    }
}
