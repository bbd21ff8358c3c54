//! Headless policies: what a board without a screen may agree to, wrapped around any agent.
//!
//! [`Policy`] holds an allow-list and a deny-list of peer addresses, and the fixed secrets of
//! a "PIN on a sticker" device: a passkey and a legacy PIN code (read from a file or the
//! environment by [`Secret`]). [`PolicyAgent`] applies it before the agent it wraps:
//!
//! - a peer on the deny-list, or missing from a non-empty allow-list, is refused every
//!   request (confirmation, authorization, passkey, PIN) without asking the inner agent;
//! - a passkey request is answered with the fixed passkey, a PIN request with the fixed PIN
//!   (a secure request refuses a PIN that is not 16 digits); without one, the inner agent
//!   answers;
//! - everything else goes to the inner agent, so "accept everything" inside a policy accepts
//!   only what the policy permits.
//!
//! ```
//! use bluez_mgmt::agent::policy::{Policy, PolicyAgent};
//! use bluez_mgmt::agent::KeyboardOnly;
//!
//! let policy = Policy::new()
//!     .allow("00:1B:66:00:00:01".parse()?)
//!     .with_passkey(123456)?;
//! let agent = PolicyAgent::new(policy, KeyboardOnly::new(|_| None));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use bluez_mgmt_protocol::{Address, IoCapability, Status};

use super::{check_passkey, Agent, InvalidAnswer, KeyNotice, Peer, PinCode, YesNoRequest};

/// What a headless board permits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow: BTreeSet<Address>,
    deny: BTreeSet<Address>,
    passkey: Option<u32>,
    pin: Option<PinCode>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secrets are never printed.
        f.debug_struct("Policy")
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .field("passkey", &self.passkey.map(|_| "<redacted>"))
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a peer is refused, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The peer is on the deny-list.
    Denied,
    /// There is an allow-list and the peer is not on it.
    NotAllowed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Denied => "on the deny-list",
            Refusal::NotAllowed => "not on the allow-list",
        })
    }
}

impl Policy {
    /// A policy that permits every peer and has no fixed secrets.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// Adds `address` to the allow-list (once the list is not empty, only its peers pair).
    pub fn allow(mut self, address: Address) -> Policy {
        self.allow.insert(address);
        self
    }

    /// Adds `address` to the deny-list (it wins over the allow-list).
    pub fn deny(mut self, address: Address) -> Policy {
        self.deny.insert(address);
        self
    }

    /// Answers every passkey request with `passkey` (0..=999999).
    pub fn with_passkey(mut self, passkey: u32) -> Result<Policy, InvalidAnswer> {
        self.passkey = Some(check_passkey(passkey)?);
        Ok(self)
    }

    /// Answers every PIN Code Request with `pin`.
    pub fn with_pin(mut self, pin: PinCode) -> Policy {
        self.pin = Some(pin);
        self
    }

    /// Whether `peer` may pair; the reason when not.
    pub fn check(&self, peer: &Peer) -> Result<(), Refusal> {
        let address = peer.address.address;
        if self.deny.contains(&address) {
            Err(Refusal::Denied)
        } else if !self.allow.is_empty() && !self.allow.contains(&address) {
            Err(Refusal::NotAllowed)
        } else {
            Ok(())
        }
    }

    /// The fixed passkey, if any.
    pub fn passkey(&self) -> Option<u32> {
        self.passkey
    }

    /// Whether a fixed PIN is set.
    pub fn has_pin(&self) -> bool {
        self.pin.is_some()
    }
}

/// A fixed secret's source: a file (its first line) or an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// Read the first line of this file.
    File(std::path::PathBuf),
    /// Read this environment variable.
    Env(String),
}

impl Secret {
    /// The secret's text, trimmed of its line end. A file readable by group or others is
    /// refused (a secret should be 0600 or 0400), and so is an empty value.
    pub fn read(&self) -> Result<String, String> {
        let text = match self {
            Secret::File(path) => read_private_file(path)?,
            Secret::Env(name) => {
                std::env::var(name).map_err(|e| format!("environment variable {name}: {e}"))?
            }
        };
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!("{self}: empty"));
        }
        Ok(line.to_string())
    }

    /// A six-digit passkey from this source.
    pub fn passkey(&self) -> Result<u32, String> {
        let t = self.read()?;
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{self}: a passkey is six digits"));
        }
        t.parse().map_err(|_| format!("{self}: not a passkey"))
    }

    /// A PIN code (1 to 16 octets) from this source.
    pub fn pin(&self) -> Result<PinCode, String> {
        PinCode::new(self.read()?.into_bytes()).map_err(|e| format!("{self}: {e}"))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::File(p) => write!(f, "{}", p.display()),
            Secret::Env(n) => write!(f, "${n}"),
        }
    }
}

fn read_private_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{}: readable or writable by others (mode {:04o}); fix: `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o7777,
            path.display()
        ));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, 256), &mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text)
}

/// An agent behind a [`Policy`]: refused peers never reach it, fixed secrets answer for it.
#[derive(Debug, Clone)]
pub struct PolicyAgent<A> {
    policy: Policy,
    inner: A,
}

impl<A: Agent> PolicyAgent<A> {
    /// `inner` answering what `policy` permits.
    pub fn new(policy: Policy, inner: A) -> PolicyAgent<A> {
        PolicyAgent { policy, inner }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The wrapped agent.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    fn permitted(&self, peer: &Peer, what: &str) -> bool {
        match self.policy.check(peer) {
            Ok(()) => true,
            Err(why) => {
                tracing::info!(%peer, request = what, reason = %why, "refused by policy");
                false
            }
        }
    }
}

impl<A: Agent> Agent for PolicyAgent<A> {
    fn io_capability(&self) -> IoCapability {
        self.inner.io_capability()
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.permitted(peer, "confirmation") && self.inner.confirm_value(peer, value).await
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        self.permitted(peer, "authorization") && self.inner.authorize(peer).await
    }

    fn answer_at_once(&self, peer: &Peer, request: YesNoRequest) -> Option<bool> {
        // A refusal takes the methods' way, which logs why.
        match self.policy.check(peer) {
            Ok(()) => self.inner.answer_at_once(peer, request),
            Err(_) => None,
        }
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        if !self.permitted(peer, "passkey") {
            return None;
        }
        match self.policy.passkey {
            Some(p) => Some(p),
            None => self.inner.request_passkey(peer).await,
        }
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        self.inner.display_passkey(peer, passkey, entered).await
    }

    async fn request_pin_code(&self, peer: &Peer, secure: bool) -> Option<PinCode> {
        if !self.permitted(peer, "PIN code") {
            return None;
        }
        match &self.policy.pin {
            Some(pin) if secure && !pin.is_secure() => {
                tracing::info!(%peer, "secure PIN requested; the fixed PIN is not 16 digits");
                None
            }
            Some(pin) => Some(pin.clone()),
            None => self.inner.request_pin_code(peer, secure).await,
        }
    }

    fn cancelled(&self, peer: &Peer) {
        self.inner.cancelled(peer)
    }

    fn failed(&self, peer: &Peer, status: Status) {
        self.inner.failed(peer, status)
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        self.inner.completed(peer, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{KeyboardDisplay, NoInputNoOutput, YesNo};
    use bluez_mgmt_protocol::{AddressInfo, AddressType, ControllerIndex};

    fn peer(a: &str) -> Peer {
        Peer::new(
            ControllerIndex(0),
            AddressInfo::new(a.parse().unwrap(), AddressType::LE_PUBLIC),
        )
    }

    const FRIEND: &str = "00:1B:66:00:00:01";
    const STRANGER: &str = "00:1B:66:00:00:02";
    const ENEMY: &str = "00:1B:66:00:00:03";

    /// An inner agent that accepts everything and would type 111111 / PIN 0000.
    fn yes() -> KeyboardDisplay {
        KeyboardDisplay::new(|_, _, _| {}, |_| Some(111_111), |_, _| true)
    }

    #[tokio::test]
    async fn lists_decide_before_the_inner_agent() {
        let policy = Policy::new()
            .allow(FRIEND.parse().unwrap())
            .allow(ENEMY.parse().unwrap())
            .deny(ENEMY.parse().unwrap());
        let a = PolicyAgent::new(policy, yes());
        assert!(a.confirm_value(&peer(FRIEND), 1).await);
        assert!(a.authorize(&peer(FRIEND)).await);
        assert_eq!(a.request_passkey(&peer(FRIEND)).await, Some(111_111));
        for p in [STRANGER, ENEMY] {
            assert!(!a.confirm_value(&peer(p), 1).await, "{p}");
            assert!(!a.authorize(&peer(p)).await, "{p}");
            assert_eq!(a.request_passkey(&peer(p)).await, None, "{p}");
        }
        assert_eq!(a.policy().check(&peer(ENEMY)), Err(Refusal::Denied));
        assert_eq!(a.policy().check(&peer(STRANGER)), Err(Refusal::NotAllowed));
        // A deny-list alone refuses only its peers.
        let a = PolicyAgent::new(
            Policy::new().deny(ENEMY.parse().unwrap()),
            YesNo::new(|_, _| true, |_| {}),
        );
        assert!(a.authorize(&peer(STRANGER)).await);
        assert!(!a.authorize(&peer(ENEMY)).await);
    }

    #[test]
    fn answers_at_once_are_the_inner_agents_for_permitted_peers_only() {
        use crate::agent::YesNoRequest::{Authorize, ConfirmValue};
        let policy = Policy::new()
            .allow(FRIEND.parse().unwrap())
            .allow(ENEMY.parse().unwrap())
            .deny(ENEMY.parse().unwrap());
        let a = PolicyAgent::new(policy, NoInputNoOutput);
        // (peer, request, answer at once): the inner agent's for a permitted peer; none for
        // a refused one, whose refusal then takes the methods' way (logged there).
        let table = [
            (FRIEND, Authorize, Some(true)),
            (FRIEND, ConfirmValue(1), Some(false)),
            (STRANGER, Authorize, None),
            (ENEMY, Authorize, None),
            (ENEMY, ConfirmValue(1), None),
        ];
        for (p, request, want) in table {
            assert_eq!(a.answer_at_once(&peer(p), request), want, "{p} {request:?}");
        }
        // An inner agent with no answer at once has none through the policy either.
        let a = PolicyAgent::new(Policy::new(), yes());
        assert_eq!(a.answer_at_once(&peer(FRIEND), Authorize), None);
    }

    #[tokio::test]
    async fn fixed_secrets_answer_for_an_agent_that_cannot() {
        let policy = Policy::new()
            .with_passkey(123_456)
            .unwrap()
            .with_pin(PinCode::new("0000").unwrap());
        let a = PolicyAgent::new(policy.clone(), NoInputNoOutput);
        assert_eq!(a.request_passkey(&peer(FRIEND)).await, Some(123_456));
        assert_eq!(
            a.request_pin_code(&peer(FRIEND), false).await,
            Some(PinCode::new("0000").unwrap())
        );
        assert_eq!(
            a.request_pin_code(&peer(FRIEND), true).await,
            None,
            "not 16 digits"
        );
        assert_eq!(
            a.authorize(&peer(FRIEND)).await,
            NoInputNoOutput.authorize(&peer(FRIEND)).await,
            "the inner agent decides"
        );
        assert!(!format!("{policy:?}").contains("123456"));
        assert!(Policy::new().with_passkey(1_000_000).is_err());
    }

    #[test]
    fn secrets_from_files_and_the_environment() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("passkey");
        std::fs::write(&f, "042042\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Secret::File(f.clone()).passkey(), Ok(42_042));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Secret::File(f.clone()).passkey().unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&f, "42\n").unwrap();
        assert!(Secret::File(f)
            .passkey()
            .unwrap_err()
            .contains("six digits"));
        let var = "BLUEZ_MGMT_TEST_POLICY_PIN";
        std::env::set_var(var, "1234");
        assert_eq!(
            Secret::Env(var.into()).pin(),
            Ok(PinCode::new("1234").unwrap())
        );
        assert!(Secret::Env("BLUEZ_MGMT_TEST_UNSET_VAR".into())
            .pin()
            .is_err());
    }
}
