//! `mgmtctl agent --json`: the agent protocol for user interfaces in any language, JSON lines
//! on stdin and stdout. The protocol (version [`VERSION`]) is specified, with its schema, in
//! `docs/agent-protocol.md`; `examples/agent_ui.py` is a small UI using it.
//!
//! Each request from the kernel becomes one line on stdout with a fresh `id`; the UI answers
//! with a line on stdin naming that `id`. Notices (passkey to display, keypresses, withdrawn,
//! failed, completed, keys stored, timed out) are `event` lines. Only protocol lines go to
//! stdout; diagnostics go to stderr.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bluez_mgmt::agent::{Agent, KeyKind, KeyNotice, Peer, PinCode, MAX_PASSKEY};
use bluez_mgmt::pairing::Report;
use bluez_mgmt::protocol::{AddressInfo, AddressType, ControllerIndex, IoCapability, Status};
use serde_json::{json, Map, Value};
use tokio::io::AsyncBufReadExt;
use tokio::sync::oneshot;

/// The protocol version in the `ready` event; it changes only when a line's meaning does.
pub(crate) const VERSION: u32 = 1;

/// An address type as the protocol names it.
pub(crate) fn address_type_name(t: AddressType) -> String {
    match t {
        AddressType::BR_EDR => "bredr".to_string(),
        AddressType::LE_PUBLIC => "le-public".to_string(),
        AddressType::LE_RANDOM => "le-random".to_string(),
        other => format!("0x{:02x}", other.0),
    }
}

fn peer_fields(index: ControllerIndex, address: &AddressInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("controller".into(), json!(index.0));
    m.insert("address".into(), json!(address.address.to_string()));
    m.insert(
        "address_type".into(),
        json!(address_type_name(address.address_type)),
    );
    m
}

/// One request waiting for the UI.
struct Pending {
    peer: Peer,
    kind: &'static str,
    answer: oneshot::Sender<Map<String, Value>>,
}

/// Shared between the agent, its answer reader and the report printers.
pub(crate) struct Channel {
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
}

impl Channel {
    /// Writes one protocol line to stdout (a closed stdout is left to the next read to find).
    pub(crate) fn emit(&self, line: Value) {
        let json = line.to_string();
        let text = crate::escape::json_escape_rest(&json);
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    }

    /// Writes an `event` line.
    pub(crate) fn event(&self, name: &str, fields: Map<String, Value>) {
        let mut m = Map::new();
        m.insert("event".into(), json!(name));
        m.extend(fields);
        self.emit(Value::Object(m));
    }

    fn error(&self, id: Option<u64>, message: String) {
        let mut m = Map::new();
        if let Some(id) = id {
            m.insert("id".into(), json!(id));
        }
        m.insert("message".into(), json!(message));
        self.event("error", m);
    }

    /// Handles one line from the UI: an answer to a pending request.
    fn answer(&self, line: &str) {
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return self.error(None, format!("not JSON: {e}")),
        };
        let Some(obj) = v.as_object() else {
            return self.error(None, "an answer is a JSON object".into());
        };
        let Some(id) = obj.get("id").and_then(Value::as_u64) else {
            return self.error(None, "an answer needs a numeric \"id\"".into());
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pending.get(&id) else {
            drop(pending);
            return self.error(
                Some(id),
                "no pending request with this id (answered, withdrawn or timed out)".into(),
            );
        };
        if let Err(why) = check_answer(p.kind, obj) {
            drop(pending);
            // The request stays pending: the UI may answer again.
            return self.error(Some(id), why);
        }
        if let Some(p) = pending.remove(&id) {
            let _ = p.answer.send(obj.clone());
        }
    }
}

/// Whether `answer` is a valid answer to a request of `kind`.
fn check_answer(kind: &str, answer: &Map<String, Value>) -> Result<(), String> {
    let accept = answer.get("accept").map(Value::as_bool);
    if accept == Some(Some(false)) {
        return Ok(());
    }
    match kind {
        "confirm" | "authorize" => match accept {
            Some(Some(true)) => Ok(()),
            _ => Err(format!(
                "a {kind} answer is {{\"id\": N, \"accept\": true|false}}"
            )),
        },
        "passkey" => match answer.get("passkey").and_then(Value::as_u64) {
            Some(p) if p <= u64::from(MAX_PASSKEY) => Ok(()),
            _ => Err(
                "a passkey answer is {\"id\": N, \"passkey\": 0..999999} or \"accept\": false"
                    .into(),
            ),
        },
        "pin" => match answer.get("pin").and_then(Value::as_str) {
            Some(p) => PinCode::new(p.as_bytes())
                .map(drop)
                .map_err(|e| e.to_string()),
            None => {
                Err("a pin answer is {\"id\": N, \"pin\": \"...\"} or \"accept\": false".into())
            }
        },
        _ => Err("unknown request".into()),
    }
}

/// The agent: every request goes to the UI as a line and waits for its answer.
#[derive(Clone)]
pub(crate) struct JsonAgent {
    io: IoCapability,
    channel: Arc<Channel>,
}

/// Removes a request from the pending table when its future ends or is dropped (the runner
/// gave up on it: timeout, withdrawal).
struct PendingGuard<'a> {
    channel: &'a Channel,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut pending = self
            .channel
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.remove(&self.id);
    }
}

impl JsonAgent {
    /// The agent and the task reading answers from stdin; the task ends when stdin does.
    pub(crate) fn new(io: IoCapability) -> (JsonAgent, Arc<Channel>) {
        let channel = Arc::new(Channel {
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        (
            JsonAgent {
                io,
                channel: channel.clone(),
            },
            channel,
        )
    }

    async fn ask(
        &self,
        kind: &'static str,
        peer: &Peer,
        extra: Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let id = self.channel.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.channel
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                Pending {
                    peer: peer.clone(),
                    kind,
                    answer: tx,
                },
            );
        let _guard = PendingGuard {
            channel: &self.channel,
            id,
        };
        let mut m = Map::new();
        m.insert("request".into(), json!(kind));
        m.insert("id".into(), json!(id));
        m.extend(peer_fields(peer.index, &peer.address));
        m.extend(extra);
        self.channel.emit(Value::Object(m));
        let answer = rx.await.ok()?;
        (answer.get("accept").and_then(Value::as_bool) != Some(false)).then_some(answer)
    }
}

/// Reads answers from stdin until it ends; returns then (the UI is gone).
pub(crate) async fn read_answers(channel: Arc<Channel>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.trim().is_empty() {
            channel.answer(&line);
        }
    }
}

impl Agent for JsonAgent {
    fn io_capability(&self) -> IoCapability {
        self.io
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        let mut m = Map::new();
        m.insert("value".into(), json!(value));
        self.ask("confirm", peer, m).await.is_some()
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        self.ask("authorize", peer, Map::new()).await.is_some()
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        let a = self.ask("passkey", peer, Map::new()).await?;
        a.get("passkey")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok())
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        let mut m = peer_fields(peer.index, &peer.address);
        m.insert("passkey".into(), json!(passkey));
        m.insert("entered".into(), json!(entered));
        self.channel.event("display-passkey", m);
    }

    async fn request_pin_code(&self, peer: &Peer, secure: bool) -> Option<PinCode> {
        let mut m = Map::new();
        m.insert("secure".into(), json!(secure));
        let a = self.ask("pin", peer, m).await?;
        PinCode::new(a.get("pin")?.as_str()?.as_bytes()).ok()
    }

    fn cancelled(&self, peer: &Peer) {
        let ids: Vec<u64> = {
            let pending = self
                .channel
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let mut ids: Vec<u64> = pending
                .iter()
                .filter(|(_, p)| p.peer.same_device(peer))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let mut m = peer_fields(peer.index, &peer.address);
        m.insert("ids".into(), json!(ids));
        self.channel.event("withdrawn", m);
    }

    fn failed(&self, peer: &Peer, status: Status) {
        let mut m = peer_fields(peer.index, &peer.address);
        m.insert("status".into(), json!(status.0));
        m.insert("status_name".into(), json!(status.description()));
        self.channel.event("failed", m);
    }

    fn completed(&self, peer: &Peer, key: KeyNotice) {
        let mut m = peer_fields(peer.index, &peer.address);
        m.insert(
            "key".into(),
            json!(match key.kind {
                KeyKind::LinkKey => "link-key",
                KeyKind::LongTermKey => "long-term-key",
                #[allow(unreachable_patterns)]
                _ => "other",
            }),
        );
        m.insert("authenticated".into(), json!(key.authenticated));
        m.insert("persistent".into(), json!(key.persistent));
        self.channel.event("completed", m);
    }
}

/// The pairing service's reports the agent methods do not see, as events: what went wrong
/// with an answer, and what was stored (`keys-stored` / `keys-not-stored` / `store-failed` /
/// `awaiting-keys` / `keys-not-received`, never key bytes).
pub(crate) async fn report_events(
    channel: Arc<Channel>,
    mut reports: tokio::sync::broadcast::Receiver<Report>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let (name, mut m, extra) = match reports.recv().await {
            Ok(Report::TimedOut { peer, request }) => (
                "timed-out",
                peer_fields(peer.index, &peer.address),
                json!({ "request": format!("{request:?}") }),
            ),
            Ok(Report::AgentPanicked { peer, request }) => (
                "agent-failed",
                peer_fields(peer.index, &peer.address),
                json!({ "request": format!("{request:?}") }),
            ),
            Ok(Report::InvalidAnswer { peer, error }) => (
                "invalid-answer",
                peer_fields(peer.index, &peer.address),
                json!({ "message": error.to_string() }),
            ),
            Ok(Report::AutoAccepted { peer }) => (
                "auto-accepted",
                peer_fields(peer.index, &peer.address),
                json!({}),
            ),
            Ok(Report::ReplyFailed { peer, error }) => (
                "reply-failed",
                peer_fields(peer.index, &peer.address),
                json!({ "message": error }),
            ),
            Ok(Report::Stored {
                index,
                device,
                what,
                path,
            }) => (
                "keys-stored",
                peer_fields(index, &device),
                json!({ "what": what, "path": path.display().to_string() }),
            ),
            Ok(Report::NotStored {
                index,
                device,
                reason,
            }) => (
                "keys-not-stored",
                peer_fields(index, &device),
                json!({ "reason": reason }),
            ),
            Ok(Report::StoreFailed {
                index,
                device,
                error,
            }) => (
                "store-failed",
                peer_fields(index, &device),
                json!({ "message": error }),
            ),
            Ok(Report::AwaitingKeys { peer }) => (
                "awaiting-keys",
                peer_fields(peer.index, &peer.address),
                json!({}),
            ),
            Ok(Report::KeysNotReceived { peer }) => (
                "keys-not-received",
                peer_fields(peer.index, &peer.address),
                json!({}),
            ),
            Ok(Report::EventsLost { count }) => {
                channel.error(None, format!("{count} kernel events lost by the service"));
                continue;
            }
            Ok(_) => continue,
            Err(RecvError::Lagged(n)) => {
                channel.error(None, format!("{n} reports skipped"));
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if let Value::Object(extra) = extra {
            m.extend(extra);
        }
        channel.event(name, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_against_their_request() {
        let obj = |v: Value| v.as_object().unwrap().clone();
        assert!(check_answer("confirm", &obj(json!({"id": 1, "accept": true}))).is_ok());
        assert!(check_answer("confirm", &obj(json!({"id": 1}))).is_err());
        assert!(check_answer("passkey", &obj(json!({"id": 1, "passkey": 999999}))).is_ok());
        assert!(check_answer("passkey", &obj(json!({"id": 1, "passkey": 1000000}))).is_err());
        assert!(check_answer("passkey", &obj(json!({"id": 1, "accept": false}))).is_ok());
        assert!(check_answer("pin", &obj(json!({"id": 1, "pin": "0000"}))).is_ok());
        assert!(check_answer("pin", &obj(json!({"id": 1, "pin": "12345678901234567"}))).is_err());
    }

    #[tokio::test]
    async fn a_request_waits_for_the_answer_with_its_id() {
        let (agent, channel) = JsonAgent::new(IoCapability::DISPLAY_YES_NO);
        let peer = Peer::new(
            ControllerIndex(0),
            AddressInfo::new("00:1B:66:00:00:01".parse().unwrap(), AddressType::LE_PUBLIC),
        );
        let asking = tokio::spawn({
            let agent = agent.clone();
            let peer = peer.clone();
            async move { agent.request_passkey(&peer).await }
        });
        while channel.pending.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        channel.answer(r#"{"id": 7, "passkey": 1}"#); // no such id: an error event
        channel.answer(r#"{"id": 1, "passkey": "x"}"#); // invalid: stays pending
        assert_eq!(channel.pending.lock().unwrap().len(), 1);
        channel.answer(r#"{"id": 1, "passkey": 4242}"#);
        assert_eq!(asking.await.unwrap(), Some(4242));
        assert!(channel.pending.lock().unwrap().is_empty());
    }
}
