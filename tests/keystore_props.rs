//! Property tests of the key store: the key file parser never panics and its output is a fixed
//! point; any bond written reads back equal; any sequence of stored updates matches a model.

use bluez_mgmt::keystore::info::read_bond;
use bluez_mgmt::keystore::keyfile::KeyFile;
use bluez_mgmt::keystore::{Bond, KeyStore, StoredCsrk};
use bluez_mgmt::protocol::keys::{
    ConnectionParameters, CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo,
    LinkKeyType, LongTermKey, LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t]*\\[[A-Za-z]{0,12}\\][ \t]*",
        "[A-Za-z]{0,8}[ ]?=[ ]?[0-9A-Fa-fx\\\\; s]{0,40}",
        "#.{0,10}",
        "[ \t]*",
        ".{0,20}",
    ]
}

fn file_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(), 0..12),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..3),
    )
        .prop_map(|(lines, newline, junk)| {
            let mut b = lines.join("\n").into_bytes();
            if newline {
                b.push(b'\n');
            }
            b.extend(junk);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_and_its_output_is_a_fixed_point(bytes in file_bytes()) {
        if let Ok(file) = KeyFile::parse(&bytes) {
            let once = file.to_bytes();
            let again = KeyFile::parse(&once).expect("our own output parses");
            prop_assert_eq!(again.to_bytes(), once);
            let _ = read_bond(&file, Address::ANY);
        }
    }
}

fn key() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}

fn ltk(address: AddressInfo, central: u8) -> impl Strategy<Value = LongTermKeyInfo> {
    (any::<u8>(), any::<u8>(), any::<u16>(), any::<u64>(), key()).prop_map(
        move |(t, size, ediv, rand, k)| LongTermKeyInfo {
            address: address.clone(),
            key_type: LongTermKeyType(t),
            central,
            encryption_size: size,
            ediv,
            rand,
            value: LongTermKey::new(k),
        },
    )
}

fn csrk(address: AddressInfo, local: bool) -> impl Strategy<Value = StoredCsrk> {
    (any::<bool>(), key(), any::<u32>()).prop_map(move |(auth, k, counter)| StoredCsrk {
        info: CsrkInfo {
            address: address.clone(),
            csrk_type: match (local, auth) {
                (true, false) => CsrkType::LOCAL_UNAUTHENTICATED,
                (false, false) => CsrkType::REMOTE_UNAUTHENTICATED,
                (true, true) => CsrkType::LOCAL_AUTHENTICATED,
                (false, true) => CsrkType::REMOTE_AUTHENTICATED,
            },
            value: SignatureResolvingKey::new(k),
        },
        counter,
    })
}

fn bond() -> impl Strategy<Value = Bond> {
    (any::<[u8; 6]>(), any::<bool>()).prop_flat_map(|(a, random)| {
        let device = Address(a);
        let le_type = if random {
            AddressType::LE_RANDOM
        } else {
            AddressType::LE_PUBLIC
        };
        let le = AddressInfo::new(device, le_type);
        let link = (any::<u8>(), key(), any::<u8>()).prop_map(move |(t, k, pin)| LinkKeyInfo {
            address: AddressInfo::new(device, AddressType::BR_EDR),
            key_type: LinkKeyType(t),
            value: LinkKey::new(k),
            pin_length: pin,
        });
        let le2 = le.clone();
        let irk = key().prop_map(move |k| IrkInfo {
            address: le2.clone(),
            value: IdentityResolvingKey::new(k),
        });
        let le3 = le.clone();
        let params = any::<[u16; 4]>().prop_map(move |p| ConnectionParameters {
            address: le3.clone(),
            min_interval: p[0],
            max_interval: p[1],
            latency: p[2],
            timeout: p[3],
        });
        (
            prop::option::of("(\\PC|[ \\\\\t\n;#\\[\\]=])*"),
            prop::option::of(link),
            prop::option::of(ltk(le.clone(), 1)),
            prop::option::of(ltk(le.clone(), 0)),
            prop::option::of(irk),
            prop::option::of(csrk(le.clone(), true)),
            prop::option::of(csrk(le.clone(), false)),
            prop::option::of(params),
        )
            .prop_map(move |(name, l, c, p, i, lc, rc, cp)| Bond {
                device,
                le_address_type: le_type,
                name,
                link_key: l,
                long_term_key: c,
                peripheral_long_term_key: p,
                irk: i,
                local_csrk: lc,
                remote_csrk: rc,
                connection_parameters: cp,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bond_written_reads_back_equal(b in bond()) {
        let t = tempfile::tempdir().unwrap();
        let store = KeyStore::open(t.path());
        let adapter: Address = "00:AA:01:00:00:00".parse().unwrap();
        store.write_bond(adapter, &b).unwrap();
        let (devices, errors) = store.devices(adapter).unwrap();
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let mut expected = b;
        let le = expected.long_term_key.is_some()
            || expected.peripheral_long_term_key.is_some()
            || expected.irk.is_some()
            || expected.local_csrk.is_some()
            || expected.remote_csrk.is_some()
            || expected.connection_parameters.is_some();
        if expected.link_key.is_some() && !le {
            // A BR/EDR-only device has no LE address type: like bluetoothd we write no
            // AddressType for it, and reading defaults to LE public.
            expected.le_address_type = AddressType::LE_PUBLIC;
        }
        prop_assert_eq!(devices, vec![expected]);
    }
}

/// The devices of the sequence test, each with a fixed LE address type.
fn seq_device(i: usize) -> (Address, AddressType) {
    [
        ("00:1B:66:00:00:01", AddressType::LE_PUBLIC),
        ("C0:11:22:33:44:55", AddressType::LE_RANDOM),
        ("F3:00:00:00:00:09", AddressType::LE_RANDOM),
    ]
    .map(|(a, t)| (a.parse().unwrap(), t))[i]
}

fn update() -> impl Strategy<Value = bluez_mgmt::keystore::KeyUpdate> {
    use bluez_mgmt::keystore::KeyUpdate;
    (
        0..3usize,
        0..7u8,
        key(),
        any::<u8>(),
        any::<u16>(),
        any::<u64>(),
    )
        .prop_map(|(d, kind, k, b, w, r)| {
            let (device, le_type) = seq_device(d);
            let le = AddressInfo::new(device, le_type);
            match kind {
                0 => KeyUpdate::LinkKey(LinkKeyInfo {
                    address: AddressInfo::new(device, AddressType::BR_EDR),
                    key_type: LinkKeyType(b % 9),
                    value: LinkKey::new(k),
                    pin_length: b / 9,
                }),
                1 | 2 => KeyUpdate::LongTermKey(LongTermKeyInfo {
                    address: le,
                    key_type: LongTermKeyType(b % 5),
                    central: kind - 1,
                    encryption_size: 7 + b % 10,
                    ediv: w,
                    rand: r,
                    value: LongTermKey::new(k),
                }),
                3 => KeyUpdate::Irk(IrkInfo {
                    address: le,
                    value: IdentityResolvingKey::new(k),
                }),
                4 | 5 => KeyUpdate::Csrk(CsrkInfo {
                    address: le,
                    csrk_type: CsrkType(b % 4),
                    value: SignatureResolvingKey::new(k),
                }),
                _ => KeyUpdate::ConnectionParameters(ConnectionParameters {
                    address: le,
                    min_interval: w,
                    max_interval: w.wrapping_add(1),
                    latency: u16::from(b),
                    timeout: (r % 65536) as u16,
                }),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of stored updates reads back as the same updates applied to an in-memory
    /// model: the last record of each kind wins, nothing else changes.
    #[test]
    fn stored_update_sequences_match_a_model(updates in prop::collection::vec(update(), 1..14)) {
        use bluez_mgmt::keystore::KeyUpdate;
        use std::collections::BTreeMap;
        let t = tempfile::tempdir().unwrap();
        let store = KeyStore::open(t.path());
        let adapter: Address = "00:AA:01:00:00:00".parse().unwrap();
        let mut model: BTreeMap<[u8; 6], Bond> = BTreeMap::new();
        for u in &updates {
            store.store(adapter, true, u).unwrap();
            let d = u.device().address;
            let le_type = (0..3).map(seq_device).find(|(a, _)| *a == d).unwrap().1;
            let b = model
                .entry(d.display_bytes())
                .or_insert_with(|| Bond::new(d, AddressType::LE_PUBLIC));
            if !matches!(u, KeyUpdate::LinkKey(_)) {
                b.le_address_type = le_type;
            }
            match u.clone() {
                KeyUpdate::LinkKey(k) => b.link_key = Some(k),
                KeyUpdate::LongTermKey(k) if k.central == 1 => b.long_term_key = Some(k),
                KeyUpdate::LongTermKey(k) => b.peripheral_long_term_key = Some(k),
                KeyUpdate::Irk(k) => b.irk = Some(k),
                KeyUpdate::Csrk(c) => {
                    let local = c.csrk_type == CsrkType::LOCAL_UNAUTHENTICATED
                        || c.csrk_type == CsrkType::LOCAL_AUTHENTICATED;
                    let s = Some(StoredCsrk { info: c, counter: 0 });
                    if local { b.local_csrk = s } else { b.remote_csrk = s }
                }
                KeyUpdate::ConnectionParameters(p) => b.connection_parameters = Some(p),
            }
        }
        let (devices, errors) = store.devices(adapter).unwrap();
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let expected: Vec<Bond> = model.into_values().collect();
        prop_assert_eq!(&devices, &expected);

        // Writing each bond back over its own file changes no byte.
        for b in &devices {
            let path = store.info_path(adapter, b.device);
            let before = std::fs::read(&path).unwrap();
            store.write_bond(adapter, b).unwrap();
            prop_assert_eq!(std::fs::read(&path).unwrap(), before);
        }
    }
}
