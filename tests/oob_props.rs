//! Property tests of the OOB exchange formats: any OOB data survives the NDEF record and the
//! text form unchanged, and no input makes a parser panic.

use bluez_mgmt::oob::{eir, ndef, text, BrEdrOobData, LeOobData, LeRole, OobData, OobValue};
use bluez_mgmt::protocol::{Address, AddressType, ClassOfDevice};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Option<OobValue>> {
    proptest::option::of(any::<[u8; 16]>().prop_map(OobValue))
}

/// AD types this crate keeps raw (none of the decoded ones).
fn other() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    proptest::collection::vec(
        (
            prop::sample::select(vec![0x02u8, 0x03, 0x16, 0x24, 0xff]),
            proptest::collection::vec(any::<u8>(), 0..40),
        ),
        0..3,
    )
}

fn name() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9 é%:-]{0,40}")
}

fn le() -> impl Strategy<Value = OobData> {
    (
        any::<[u8; 6]>(),
        any::<bool>(),
        proptest::option::of(any::<u8>()),
        (value(), value(), value()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        name(),
        other(),
    )
        .prop_map(
            |(a, random, role, (confirm, rnd, tk), appearance, flags, name, other)| {
                OobData::Le(LeOobData {
                    address: Address(a),
                    address_type: if random {
                        AddressType::LE_RANDOM
                    } else {
                        AddressType::LE_PUBLIC
                    },
                    role: role.map(LeRole),
                    confirm,
                    random: rnd,
                    tk,
                    appearance,
                    flags,
                    name,
                    other,
                })
            },
        )
}

fn bredr() -> impl Strategy<Value = OobData> {
    (
        any::<[u8; 6]>(),
        proptest::option::of(any::<[u8; 3]>()),
        (value(), value(), value(), value()),
        name(),
        other(),
    )
        .prop_map(|(a, class, (h192, r192, h256, r256), name, other)| {
            OobData::BrEdr(BrEdrOobData {
                address: Address(a),
                class: class.map(ClassOfDevice),
                hash192: h192,
                rand192: r192,
                hash256: h256,
                rand256: r256,
                name,
                other,
            })
        })
}

proptest! {
    #[test]
    fn round_trips(d in prop_oneof![le(), bredr()]) {
        prop_assert_eq!(ndef::decode(&ndef::encode(&d)).unwrap(), d.clone());
        let t = text::encode(&d);
        prop_assert!(t.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c)), "{}", t);
        prop_assert_eq!(text::decode(&t).unwrap(), d);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = ndef::decode(&bytes);
        let _ = eir::le_from_ad(&bytes);
        let _ = eir::bredr_from_eir(Address::ANY, &bytes);
        let _ = ndef::from_ep_payload(&bytes);
        let _ = text::decode(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn text_parser_never_panics(s in "(BTOOB (LE|BREDR) )?[A-Z0-9:% .-]{0,80}") {
        let _ = text::decode(&s);
    }
}
