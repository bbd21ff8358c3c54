//! Static random addresses for LE-only controllers, kept across restarts as bluetoothd keeps
//! them.
//!
//! A controller with no public address (Read Controller Information answers
//! 00:00:00:00:00:00) needs a static random address before it can be powered on, and its
//! bonds live under `static-<address>`. bluetoothd (`get_static_addr`, src/adapter.c) keeps
//! the addresses it made in `<storage>/addresses`, a key file with one group `[Static]` and
//! one key per controller manufacturer (`0x%04x`), whose value is the `;`-separated list of
//! addresses handed out for that manufacturer. A controller takes the first listed address no
//! present controller uses; when all are taken, a new one is made (six random octets, the two
//! top bits set, as the Core specification requires of a static address) and appended.

use std::io::Read;
use std::path::Path;

use bluez_mgmt_protocol::Address;

use super::{durable, Error, ErrorKind, KeyStore};

/// The file, relative to the store's root.
pub const ADDRESSES_FILE: &str = "addresses";

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{what} {}: {e}", path.display()),
        Some(Box::new(e)),
    )
}

/// The addresses listed for `key` in the `[Static]` group of `text`.
fn listed(text: &str, key: &str) -> Vec<Address> {
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_group = line == "[Static]";
            continue;
        }
        if !in_group {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                return v.split(';').filter_map(|a| a.trim().parse().ok()).collect();
            }
        }
    }
    Vec::new()
}

/// `text` with the `[Static]` key `key` set to `list` (other groups and keys kept).
fn with_list(text: &str, key: &str, list: &[Address]) -> String {
    let value = list.iter().map(|a| format!("{a};")).collect::<String>();
    let entry = format!("{key}={value}");
    let mut out = Vec::new();
    let (mut in_group, mut seen_group, mut done) = (false, false, false);
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            if in_group && !done {
                out.push(entry.clone());
                done = true;
            }
            in_group = t == "[Static]";
            seen_group |= in_group;
        } else if in_group && t.split_once('=').is_some_and(|(k, _)| k.trim() == key) {
            out.push(entry.clone());
            done = true;
            continue;
        }
        out.push(line.to_string());
    }
    if !done {
        if !seen_group {
            out.push("[Static]".into());
        }
        out.push(entry);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn random_static() -> std::io::Result<Address> {
    let mut b = [0u8; 6];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    // The two most significant bits of a static random address are 1.
    b[5] |= 0xc0;
    Ok(Address(b))
}

impl KeyStore {
    /// The static random address for an LE-only controller of `manufacturer`: the first one
    /// kept for that manufacturer that is not in `in_use`, or a new one, written to the
    /// store's `addresses` file (see the module documentation) before it is returned.
    pub fn static_address(&self, manufacturer: u16, in_use: &[Address]) -> Result<Address, Error> {
        let path = self.dir().join(ADDRESSES_FILE);
        let key = format!("0x{manufacturer:04x}");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_error(&path, "cannot read", e)),
        };
        let mut list = listed(&text, &key);
        if let Some(a) = list.iter().find(|a| !in_use.contains(a)) {
            return Ok(*a);
        }
        let address =
            random_static().map_err(|e| io_error(Path::new("/dev/urandom"), "cannot read", e))?;
        list.push(address);
        durable::create_private_dir(self.dir())
            .map_err(|e| io_error(self.dir(), "cannot create", e))?;
        durable::replace_file(&path, with_list(&text, &key, &list).as_bytes())
            .map_err(|e| io_error(&path, "cannot write", e))?;
        Ok(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_made_once_and_kept() {
        let t = tempfile::tempdir().unwrap();
        let store = KeyStore::open(t.path().join("bt"));
        let a = store.static_address(0x05f1, &[]).unwrap();
        assert_eq!(a.0[5] & 0xc0, 0xc0, "static: top two bits set");
        assert_eq!(store.static_address(0x05f1, &[]).unwrap(), a, "kept");
        let text = std::fs::read_to_string(t.path().join("bt/addresses")).unwrap();
        assert_eq!(text, format!("[Static]\n0x05f1={a};\n"));
        // A second controller of the same maker gets a second address, appended.
        let b = store.static_address(0x05f1, &[a]).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            listed(
                &std::fs::read_to_string(t.path().join("bt/addresses")).unwrap(),
                "0x05f1"
            ),
            vec![a, b]
        );
    }

    #[test]
    fn other_groups_and_makers_are_kept() {
        let text = "[General]\nx=1\n[Static]\n0x0002=C0:00:00:00:00:01;\n";
        let a: Address = "C1:02:03:04:05:06".parse().unwrap();
        let out = with_list(text, "0x05f1", &[a]);
        assert_eq!(
            out,
            "[General]\nx=1\n[Static]\n0x0002=C0:00:00:00:00:01;\n0x05f1=C1:02:03:04:05:06;\n"
        );
        assert_eq!(
            listed(&out, "0x0002"),
            vec!["C0:00:00:00:00:01".parse().unwrap()]
        );
    }
}
