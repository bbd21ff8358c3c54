//! Property tests of the key store: the key file parser never panics and its output is a fixed
//! point; any bond written reads back equal.

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
