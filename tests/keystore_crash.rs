//! Crash and concurrency tests of the key store: a child process (this test binary, re-executed in the
//! `crash_writer_child` role) rewrites bonds in a loop; the parent kills it with SIGKILL at
//! random moments, many times, and after every kill opens the store and checks that every bond
//! is whole: each file parses and holds one complete version the child wrote (all its keys from
//! the same write), and no bond went missing, empty or back in time.
//!
//! A second test runs two writer processes on one device file at once and checks that neither
//! ever loses the other's update (the adapter directory `flock`).
//!
//! SIGKILL shows atomicity against a process crash (the page cache survives it). Durability
//! against power loss rests on the fsync of the file before the rename and of the directory
//! after it, which no user-space test can show.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bluez_mgmt::keystore::{Bond, KeyStore, KeyUpdate};
use bluez_mgmt::protocol::keys::{
    ConnectionParameters, CsrkInfo, CsrkType, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo,
    LinkKeyType, LongTermKey, LongTermKeyInfo, LongTermKeyType, SignatureResolvingKey,
};
use bluez_mgmt::protocol::{Address, AddressInfo, AddressType};

const DIR_VAR: &str = "KEYSTORE_CRASH_DIR";
const START_VAR: &str = "KEYSTORE_CRASH_START";
const READY: &str = "KEYSTORE-CRASH-CHILD-READY";
const DEVICES: u8 = 6;
const KILLS: usize = 200;
/// Generations written per child run stay below this, so each run's generations exceed every
/// earlier run's.
const RUN_STRIDE: u64 = 1_000_000;

fn adapter() -> Address {
    "00:AA:01:00:00:00".parse().unwrap()
}

fn device(i: u8) -> Address {
    // Static random addresses (two top bits set), so every LE record is an identity.
    Address::from_display_bytes([0xC0, 0x11, 0x22, 0x33, 0x44, i])
}

/// The key bytes of record `tag` of device `dev` at generation `generation`.
fn pattern(dev: u8, generation: u64, tag: u8) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&generation.to_le_bytes());
    k[8] = dev;
    k[9] = tag;
    for (i, b) in k.iter_mut().enumerate().skip(10) {
        *b = (generation as u8)
            .wrapping_mul(31)
            .wrapping_add(tag.wrapping_mul(7))
            .wrapping_add(i as u8);
    }
    k
}

/// Every record of one write: all carry the same generation.
fn updates(dev: u8, generation: u64) -> Vec<KeyUpdate> {
    let le = AddressInfo::new(device(dev), AddressType::LE_RANDOM);
    let ltk = |central: u8, tag: u8| LongTermKeyInfo {
        address: le.clone(),
        key_type: LongTermKeyType::AUTHENTICATED_P256,
        central,
        encryption_size: 16,
        ediv: (generation % 65536) as u16,
        rand: generation,
        value: LongTermKey::new(pattern(dev, generation, tag)),
    };
    vec![
        KeyUpdate::LinkKey(LinkKeyInfo {
            address: AddressInfo::new(device(dev), AddressType::BR_EDR),
            key_type: LinkKeyType::AUTHENTICATED_P256,
            value: LinkKey::new(pattern(dev, generation, 1)),
            pin_length: 0,
        }),
        KeyUpdate::LongTermKey(ltk(1, 2)),
        KeyUpdate::LongTermKey(ltk(0, 3)),
        KeyUpdate::Irk(IrkInfo {
            address: le.clone(),
            value: IdentityResolvingKey::new(pattern(dev, generation, 4)),
        }),
        KeyUpdate::Csrk(CsrkInfo {
            address: le.clone(),
            csrk_type: CsrkType::LOCAL_AUTHENTICATED,
            value: SignatureResolvingKey::new(pattern(dev, generation, 5)),
        }),
        KeyUpdate::Csrk(CsrkInfo {
            address: le.clone(),
            csrk_type: CsrkType::REMOTE_AUTHENTICATED,
            value: SignatureResolvingKey::new(pattern(dev, generation, 6)),
        }),
        KeyUpdate::ConnectionParameters(ConnectionParameters {
            address: le,
            min_interval: (generation % 1000) as u16,
            max_interval: (generation % 1000) as u16 + 1,
            latency: dev.into(),
            timeout: (generation % 3000) as u16 + 10,
        }),
    ]
}

/// Checks that `bond` is one complete write; returns its generation.
fn whole_generation(bond: &Bond) -> Result<u64, String> {
    let dev = (0..DEVICES)
        .find(|d| device(*d) == bond.device)
        .ok_or_else(|| format!("unexpected device {}", bond.device))?;
    let central = bond
        .long_term_key
        .as_ref()
        .ok_or_else(|| format!("{}: no LTK", bond.device))?;
    let generation = central.rand;
    let mut expected = Bond::new(bond.device, AddressType::LE_RANDOM);
    for u in updates(dev, generation) {
        match u {
            KeyUpdate::LinkKey(k) => expected.link_key = Some(k),
            KeyUpdate::LongTermKey(k) if k.central == 1 => expected.long_term_key = Some(k),
            KeyUpdate::LongTermKey(k) => expected.peripheral_long_term_key = Some(k),
            KeyUpdate::Irk(k) => expected.irk = Some(k),
            KeyUpdate::Csrk(c) => {
                let stored = Some(bluez_mgmt::keystore::StoredCsrk {
                    info: c.clone(),
                    counter: 0,
                });
                if c.csrk_type == CsrkType::LOCAL_AUTHENTICATED {
                    expected.local_csrk = stored;
                } else {
                    expected.remote_csrk = stored;
                }
            }
            KeyUpdate::ConnectionParameters(p) => expected.connection_parameters = Some(p),
        }
    }
    if *bond != expected {
        return Err(format!(
            "{}: records are not all from generation {generation}",
            bond.device
        ));
    }
    Ok(generation)
}

/// The child role: rewrite every device's bond forever, from generation `START`.
#[test]
#[ignore = "child role of crash_test_sigkill_never_leaves_a_partial_bond; started by it"]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        eprintln!("{DIR_VAR} is not set: this role only runs under the crash test");
        return;
    };
    let start: u64 = std::env::var(START_VAR).unwrap().parse().unwrap();
    let store = KeyStore::open(dir);
    println!("{READY}");
    let mut generation = start;
    loop {
        for dev in 0..DEVICES {
            store
                .store_all(adapter(), device(dev), &updates(dev, generation))
                .unwrap();
        }
        generation += 1;
        assert!(generation < start + RUN_STRIDE);
    }
}

/// A small xorshift generator: the delays need no cryptographic quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn crash_test_sigkill_never_leaves_a_partial_bond() {
    let t = tempfile::tempdir().unwrap();
    let store = KeyStore::open(t.path());
    for dev in 0..DEVICES {
        store
            .store_all(adapter(), device(dev), &updates(dev, 0))
            .unwrap();
    }
    let seed = std::env::var("KEYSTORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (set KEYSTORE_CRASH_SEED to repeat)");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let mut last = [0u64; DEVICES as usize];
    let mut bonds_checked = 0usize;
    let mut runs_that_wrote = 0usize;
    let mut temps_left_by_kills = 0usize;
    for run in 1..=KILLS {
        let mut child = Command::new(&exe)
            .args([
                "crash_writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, t.path())
            .env(START_VAR, (run as u64 * RUN_STRIDE).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child exited before it was ready"
            );
            if line.trim_end().ends_with(READY) {
                break;
            }
        }
        // Anywhere from before the first write to a few dozen writes in.
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let (bonds, errors) = store.bonds(adapter()).unwrap();
        assert!(errors.is_empty(), "after kill {run}: {errors:?}");
        assert_eq!(
            bonds.len(),
            DEVICES as usize,
            "after kill {run}: a bond went missing"
        );
        let mut wrote = false;
        for b in &bonds {
            let generation =
                whole_generation(b).unwrap_or_else(|e| panic!("after kill {run}: {e}"));
            let i = b.device.display_bytes()[5] as usize;
            assert!(
                generation >= last[i],
                "after kill {run}: {} went back from generation {} to {generation}",
                b.device,
                last[i]
            );
            wrote |= generation > last[i];
            last[i] = generation;
            bonds_checked += 1;
        }
        runs_that_wrote += usize::from(wrote);
        for dev in 0..DEVICES {
            let dir = store.info_path(adapter(), device(dev));
            temps_left_by_kills += std::fs::read_dir(dir.parent().unwrap())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name() != "info")
                .count();
        }
    }
    println!(
        "{KILLS} SIGKILLs, {bonds_checked} bonds checked whole, {runs_that_wrote} runs had \
         written before the kill, {temps_left_by_kills} temp-file sightings (kills mid-write)"
    );
    assert!(
        runs_that_wrote >= KILLS / 4,
        "too few kills landed after writes began; the test did not exercise the writer"
    );

    // A later write sweeps the temp files the killed writers left.
    for dev in 0..DEVICES {
        store
            .store_all(adapter(), device(dev), &updates(dev, u64::MAX / 2))
            .unwrap();
        let dir = store.info_path(adapter(), device(dev));
        let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["info"]);
    }
}

const ROLE_VAR: &str = "KEYSTORE_CONCURRENT_ROLE";
const CONCURRENT_WRITES: u64 = 150;

/// The child role of the concurrency test: writer 0 rewrites the link key, writer 1 the IRK,
/// of the same device, `CONCURRENT_WRITES` times each.
#[test]
#[ignore = "child role of two_processes_never_lose_each_others_updates; started by it"]
fn concurrent_writer_child() {
    let (Ok(dir), Ok(role)) = (std::env::var(DIR_VAR), std::env::var(ROLE_VAR)) else {
        eprintln!("{DIR_VAR}/{ROLE_VAR} not set: this role only runs under the concurrency test");
        return;
    };
    let store = KeyStore::open(dir);
    // Writer 0 owns record 0 (the link key), writer 1 record 3 (the IRK).
    let index = if role == "0" { 0 } else { 3 };
    let mine = |generation| updates(0, generation).swap_remove(index);
    for generation in 1..=CONCURRENT_WRITES {
        if generation > 1 {
            // Only this writer changes its record, so the file must still hold the version it
            // wrote last: the other writer's read-modify-write must not have undone it.
            let (bonds, errors) = store.bonds(adapter()).unwrap();
            assert!(errors.is_empty(), "{errors:?}");
            let now = match mine(generation - 1) {
                KeyUpdate::LinkKey(k) => bonds[0].link_key.as_ref() == Some(&k),
                KeyUpdate::Irk(k) => bonds[0].irk.as_ref() == Some(&k),
                _ => unreachable!(),
            };
            assert!(now, "writer {role}: update {} was lost", generation - 1);
        }
        store
            .store_all(adapter(), device(0), &[mine(generation)])
            .unwrap();
    }
}

#[test]
fn two_processes_never_lose_each_others_updates() {
    let t = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["0", "1"]
        .into_iter()
        .map(|role| {
            Command::new(&exe)
                .args([
                    "concurrent_writer_child",
                    "--exact",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env(DIR_VAR, t.path())
                .env(ROLE_VAR, role)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let (bonds, errors) = KeyStore::open(t.path()).bonds(adapter()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let last = updates(0, CONCURRENT_WRITES);
    let (KeyUpdate::LinkKey(lk), KeyUpdate::Irk(irk)) = (&last[0], &last[3]) else {
        unreachable!()
    };
    // Each writer's last update survives the other's read-modify-write.
    assert_eq!(bonds[0].link_key.as_ref(), Some(lk));
    assert_eq!(bonds[0].irk.as_ref(), Some(irk));
}
