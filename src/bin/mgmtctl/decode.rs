//! `mgmtctl decode`: every MGMT frame of one or more captures, one line each or JSON.
//!
//! Text lines read
//! `2024-03-01 12:00:05.123456 hci0 cmd @1 Set Powered powered=true`: UTC time, controller
//! (`-` for none), `cmd`/`evt`, the socket cookie, the message name, then its fields as
//! `key=value` words built from the protocol crate's serialisation (settings by name,
//! addresses as text, statuses by name, key bytes redacted). Values holding spaces are quoted.
//!
//! `--json` prints one object per frame:
//! `{"file","record","timestamp","index","direction","cookie","code","name","params"}`, or
//! `{"file","record","error"}` for a frame that does not decode. Decoding goes on after a
//! failure; the exit status is 1 if any frame (or file) failed.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bluez_mgmt::capture::{CaptureReader, MgmtFrame, Record, RecordBody};
use bluez_mgmt::protocol::hex::Hex;
use bluez_mgmt::protocol::AdData;
use bluez_mgmt::transport::{Conversation, ReplaySocket, ScriptStep};
use serde_json::{json, Map, Value};

use crate::CliError;

// Arguments of `mgmtctl decode`.
#[derive(clap::Args)]
pub struct Args {
    /// btsnoop files to decode.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per frame.
    #[arg(long)]
    pub json: bool,
    /// Also list the records that are not MGMT frames (HCI packets, socket open/close, notes).
    #[arg(long)]
    pub all: bool,
    /// Instead of the frames, list the control sockets that sent commands (cookie, instance,
    /// program, commands and events), as `ReplaySocket` names them for a replay.
    #[arg(long, conflicts_with_all = ["json", "all"])]
    pub sockets: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failures = 0u64;
    let many = args.files.len() > 1;
    let written = (|| -> io::Result<()> {
        for path in &args.files {
            if many && !args.json {
                writeln!(out, "==> {} <==", path.display())?;
            }
            failures += if args.sockets {
                list_sockets(path, &mut out)?
            } else {
                decode_file(path, &args, &mut out)?
            };
        }
        out.flush()
    })();
    match written {
        // The reader of our output went away (`| head`): stop quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other?,
    }
    if failures > 0 {
        eprintln!("mgmtctl: {failures} frame(s) or file(s) failed to decode");
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Decodes one file onto `out`; returns how many failures it printed.
fn decode_file(path: &Path, args: &Args, out: &mut impl Write) -> io::Result<u64> {
    let file = path.display().to_string();
    let reader = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            report_error(out, args.json, &file, None, &e.to_string())?;
            return Ok(1);
        }
    };
    let mut failures = 0;
    for (n, item) in reader.enumerate() {
        let number = n as u64 + 1;
        let record = match item {
            Ok(r) => r,
            Err(e) => {
                report_error(out, args.json, &file, e.record(), &e.to_string())?;
                failures += 1;
                continue;
            }
        };
        match record.mgmt_frame() {
            Ok(Some(frame)) => write_frame(out, args.json, &file, number, &record, &frame)?,
            Ok(None) if args.all => write_other(out, args.json, &file, number, &record)?,
            Ok(None) => {}
            Err(e) => {
                write_malformed(out, args.json, &file, number, &record, &e.to_string())?;
                failures += 1;
            }
        }
    }
    Ok(failures)
}

/// Lists the sockets of one file that sent commands; returns 1 if the file failed to read.
fn list_sockets(path: &Path, out: &mut impl Write) -> io::Result<u64> {
    let listed = CaptureReader::open(path)
        .and_then(|reader| reader.collect::<Result<Vec<Record>, _>>())
        .and_then(|records| {
            let sockets = Conversation::sockets(&records)?;
            sockets
                .into_iter()
                .map(|(cookie, instance)| {
                    let which = ReplaySocket::Instance { cookie, instance };
                    Conversation::from_records(&records, which)
                })
                .collect::<Result<Vec<_>, _>>()
        });
    let conversations = match listed {
        Ok(c) => c,
        Err(e) => {
            report_error(
                out,
                false,
                &path.display().to_string(),
                e.record(),
                &e.to_string(),
            )?;
            return Ok(1);
        }
    };
    writeln!(out, "cookie instance commands events program")?;
    for c in conversations {
        let commands = c
            .steps
            .iter()
            .filter(|s| matches!(s, ScriptStep::Write(_)))
            .count();
        let program = c.sources.first().map_or("", |s| s.program.as_str());
        writeln!(
            out,
            "{:>6} {:>8} {:>8} {:>6} {program:?}",
            c.cookie,
            c.instance,
            commands,
            c.steps.len() - commands,
        )?;
    }
    Ok(0)
}

pub(crate) fn report_error(
    out: &mut impl Write,
    json: bool,
    file: &str,
    record: Option<u64>,
    message: &str,
) -> io::Result<()> {
    if json {
        writeln!(
            out,
            "{}",
            json!({ "file": file, "record": record, "error": message })
        )
    } else {
        writeln!(out, "error: {file}: {message}")
    }
}

/// A command or event record that does not decode: its header line as for a good frame (time,
/// controller, direction, socket cookie, message name), then the reason and the parameters
/// as recorded (`raw=`). A record too short to hold even the cookie and code says so with its
/// monitor opcode and bytes.
pub(crate) fn write_malformed(
    out: &mut impl Write,
    json: bool,
    file: &str,
    number: u64,
    record: &Record,
    reason: &str,
) -> io::Result<()> {
    let (direction, cookie, code, name, raw) = match record.body() {
        Ok(RecordBody::ControlCommand(c)) => (
            "cmd",
            Some(c.cookie),
            Some(c.opcode.0),
            c.opcode.to_string(),
            c.params,
        ),
        Ok(RecordBody::ControlEvent(e)) => (
            "evt",
            Some(e.cookie),
            Some(e.code.0),
            e.code.to_string(),
            e.params,
        ),
        _ => (
            "---",
            None,
            None,
            record.opcode.to_string(),
            record.data.clone(),
        ),
    };
    if json {
        let line = json!({
            "file": file,
            "record": number,
            "timestamp": record.timestamp.to_string(),
            "index": index_json(record),
            "direction": direction,
            "cookie": cookie,
            "code": code,
            "name": name,
            "error": reason,
            "raw": Hex(&raw).to_string(),
        });
        writeln!(out, "{line}")
    } else {
        let cookie = cookie.map(|c| format!(" @{c}")).unwrap_or_default();
        writeln!(
            out,
            "{} {} {direction}{cookie} {name} malformed: {reason} raw={}",
            record.timestamp,
            record.index,
            if raw.is_empty() {
                "\"\"".to_string()
            } else {
                Hex(&raw).to_string()
            }
        )
    }
}

/// The parts of one MGMT frame that both output forms print.
struct FrameView {
    direction: &'static str,
    cookie: u32,
    code: u16,
    name: String,
    params: Value,
}

fn view(frame: &MgmtFrame) -> FrameView {
    let mut v = raw_view(frame);
    type_ad_fields(&mut v.params);
    v
}

/// The fields that carry advertising or EIR data (Device Found's and Device Connected's
/// `eir`, Add Advertising's `adv_data` and `scan_rsp`, the OOB data's `eir`).
const AD_FIELDS: [&str; 3] = ["eir", "adv_data", "scan_rsp"];

/// Replaces every advertising / EIR data field (hex text) with its AD structures, typed: a
/// list of `{"type","value"}` objects, or `{"error","offset","parsed","raw"}` when the data is
/// malformed (what was read before the fault, and the bytes as sent).
pub(crate) fn type_ad_fields(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if let (true, Value::String(text)) = (AD_FIELDS.contains(&key.as_str()), &*value) {
                    if let Some(bytes) = bluez_mgmt::protocol::hex::parse_hex(text) {
                        *value = ad_json(&bytes);
                        continue;
                    }
                }
                type_ad_fields(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(type_ad_fields),
        _ => {}
    }
}

/// The typed JSON form of AD data (see [`type_ad_fields`]).
pub(crate) fn ad_json(bytes: &[u8]) -> Value {
    match AdData::parse(bytes) {
        Ok(ad) => serde_json::to_value(&ad).unwrap_or_else(|e| json!(e.to_string())),
        Err(e) => json!({
            "error": e.reason,
            "offset": e.offset,
            "parsed": serde_json::to_value(&e.parsed).unwrap_or(Value::Null),
            "raw": Hex(bytes).to_string(),
        }),
    }
}

fn raw_view(frame: &MgmtFrame) -> FrameView {
    match frame {
        MgmtFrame::Command { cookie, frame } => FrameView {
            direction: "cmd",
            cookie: *cookie,
            code: frame.command.opcode().0,
            name: frame.command.opcode().to_string(),
            params: serde_json::to_value(&frame.command).unwrap_or_else(|e| json!(e.to_string())),
        },
        MgmtFrame::Event { cookie, frame } => FrameView {
            direction: "evt",
            cookie: *cookie,
            code: frame.event.code().0,
            name: frame.event.code().to_string(),
            params: serde_json::to_value(&frame.event).unwrap_or_else(|e| json!(e.to_string())),
        },
    }
}

fn index_json(record: &Record) -> Value {
    if record.index.is_none() {
        Value::Null
    } else {
        json!(record.index.0)
    }
}

pub(crate) fn write_frame(
    out: &mut impl Write,
    json: bool,
    file: &str,
    number: u64,
    record: &Record,
    frame: &MgmtFrame,
) -> io::Result<()> {
    let v = view(frame);
    if json {
        let line = json!({
            "file": file,
            "record": number,
            "timestamp": record.timestamp.to_string(),
            "index": index_json(record),
            "direction": v.direction,
            "cookie": v.cookie,
            "code": v.code,
            "name": v.name,
            "params": v.params,
        });
        writeln!(
            out,
            "{}",
            crate::escape::json_escape_rest(&line.to_string())
        )
    } else {
        let mut line = format!(
            "{} {} {} @{} {}",
            record.timestamp, record.index, v.direction, v.cookie, v.name
        );
        for word in words(&v.params, &v.name) {
            line.push(' ');
            line.push_str(&word);
        }
        writeln!(out, "{line}")
    }
}

/// A short line for a record that is not an MGMT frame (`--all`).
fn write_other(
    out: &mut impl Write,
    json: bool,
    file: &str,
    number: u64,
    record: &Record,
) -> io::Result<()> {
    let summary = match record.body() {
        Ok(RecordBody::ControlOpen(o)) => format!(
            "@{} format={} version={}.{} ident={}{}",
            o.cookie,
            o.format,
            o.version,
            o.revision,
            quote(&o.ident_text()),
            if o.is_privileged() { " privileged" } else { "" }
        ),
        Ok(RecordBody::ControlClose(c)) => format!("@{}", c.cookie),
        Ok(RecordBody::NewIndex(n)) => format!(
            "name={} address={} type={} bus={}",
            quote(&n.name),
            n.address,
            n.controller_type,
            n.bus
        ),
        Ok(RecordBody::IndexInfo(i)) => {
            format!("address={} manufacturer={}", i.address, i.manufacturer)
        }
        Ok(RecordBody::SystemNote(text)) => quote(&text),
        Ok(RecordBody::UserLogging(l)) => format!(
            "priority={} ident={} message={}",
            l.priority,
            quote(&l.ident),
            quote(&l.message)
        ),
        _ => format!("length={}", record.data.len()),
    };
    if json {
        let line = json!({
            "file": file,
            "record": number,
            "timestamp": record.timestamp.to_string(),
            "index": index_json(record),
            "direction": "record",
            "monitor_opcode": record.opcode.to_string(),
            "summary": summary,
        });
        writeln!(
            out,
            "{}",
            crate::escape::json_escape_rest(&line.to_string())
        )
    } else {
        writeln!(
            out,
            "{} {} --- {} {summary}",
            record.timestamp, record.index, record.opcode
        )
    }
}

/// Flattens a serialised message into `key=value` words. Nested objects give dotted keys,
/// except a Command Complete's `reply` object, whose fields stand on their own; lists of plain
/// values are joined with commas; lists of objects are numbered (`keys[0].type=...`). Words
/// that repeat what is already said (the code of an unknown message, equal to its `name`; the
/// opcode inside an unknown reply) are left out.
fn words(params: &Value, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match params {
        Value::Object(map) => flatten_object(map, "", &mut out),
        Value::Null => {}
        // A message whose parameters are one value (a reply that is just settings, ...).
        other => flatten("value", other, &mut out),
    }
    let name = quote(name);
    let redundant = |w: &str| {
        ["code=", "opcode="]
            .iter()
            .any(|k| w.strip_prefix(k) == Some(name.as_str()))
    };
    // Which words stay, decided while `seen` borrows them; then `out` keeps those.
    let keep: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(out.len());
        out.iter()
            .map(|w| !redundant(w) && seen.insert(w.as_str()))
            .collect()
    };
    let mut keep = keep.into_iter();
    out.retain(|_| keep.next() == Some(true));
    out
}

fn flatten_object(map: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in map {
        match (prefix.is_empty() && key == "reply", value) {
            (true, Value::Object(inner)) => flatten_object(inner, "", out),
            // A reply with no parameters.
            (true, Value::Null) => {}
            _ => flatten(&format!("{prefix}{key}"), value, out),
        }
    }
}

/// An address with its type (`{"address": .., "address_type": ..}`) under `key` reads as
/// `key=AA:BB:.. key_type=..`, not `key.address=.. key.address_type=..`.
fn address_info(key: &str, map: &Map<String, Value>, out: &mut Vec<String>) -> bool {
    let (Some(Value::String(a)), Some(Value::String(t)), 2) =
        (map.get("address"), map.get("address_type"), map.len())
    else {
        return false;
    };
    out.push(format!("{key}={}", quote(a)));
    out.push(format!("{key}_type={}", quote(t)));
    true
}

fn flatten(key: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.is_empty() => {}
        Value::Object(map) => {
            if !address_info(key, map, out) {
                flatten_object(map, &format!("{key}."), out)
            }
        }
        // AD structures: `key.type=value` (see `type_ad_fields`).
        Value::Array(items) if !items.is_empty() && items.iter().all(is_ad_structure) => {
            for item in items {
                if let (Some(Value::String(t)), Some(v)) = (item.get("type"), item.get("value")) {
                    flatten(&format!("{key}.{t}"), v, out);
                }
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            let text = if joined.is_empty() {
                "none".to_string()
            } else {
                joined.join(",")
            };
            out.push(format!("{key}={}", quote(&text)));
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push(format!("{key}=none"));
            }
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{key}[{i}]"), item, out);
            }
        }
        other => out.push(format!("{key}={}", quote(&scalar(other)))),
    }
}

fn is_ad_structure(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 2 && m.contains_key("type") && m.contains_key("value"))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// Quotes a value (JSON string syntax) when it is empty or holds spaces, quotes or `=`;
/// control characters are escaped either way, so names from devices cannot drive the terminal.
fn quote(s: &str) -> String {
    // Nearly every value is ASCII, decided on from its bytes; other text by its characters.
    let plain = if s.is_ascii() {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=')
    } else {
        !crate::escape::needs_escape(s)
            && !s.chars().any(|c| c.is_whitespace() || c == '"' || c == '=')
    };
    if plain && !s.is_empty() {
        return s.to_string();
    }
    // serde_json escapes C0 controls; DEL, C1 and bidi controls are escaped here, in the same
    // `\uXXXX` syntax.
    let json = serde_json::to_string(s).unwrap_or_default();
    crate::escape::json_escape_rest(&json).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_they_must_be() {
        for (value, shown) in [
            ("00:11:22:33:44:55", "00:11:22:33:44:55"),
            ("le,bredr", "le,bredr"),
            ("Ünïcødé", "Ünïcødé"),
            ("", "\"\""),
            ("Set Powered", "\"Set Powered\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("tab\there", "\"tab\\there\""),
            ("esc\u{1b}[2J", "\"esc\\u001b[2J\""),
            ("del\u{7f}", "\"del\\u007f\""),
            ("bidi\u{202e}", "\"bidi\\u202e\""),
        ] {
            assert_eq!(quote(value), shown, "{value:?}");
        }
    }

    #[test]
    fn flattening_rules() {
        let v = json!({
            "opcode": "Set Powered",
            "status": "Success",
            "reply": { "current_settings": ["powered", "le"], "address": "00:11:22:33:44:55" },
            "peer": { "address": "AA:BB:CC:DD:EE:FF", "type": "LE Public" },
            "key": { "address": { "address": "AA:BB:CC:DD:EE:FF", "address_type": "LE Public" } },
            "keys": [ { "value": "<redacted>" } ],
            "empty": [],
            "name": ""
        });
        assert_eq!(
            words(&v, "Command Complete"),
            [
                "opcode=\"Set Powered\"",
                "status=Success",
                "current_settings=powered,le",
                "address=00:11:22:33:44:55",
                "peer.address=AA:BB:CC:DD:EE:FF",
                "peer.type=\"LE Public\"",
                "key.address=AA:BB:CC:DD:EE:FF",
                "key.address_type=\"LE Public\"",
                "keys[0].value=<redacted>",
                "empty=none",
                "name=\"\"",
            ]
        );
        assert_eq!(words(&json!(["powered"]), "x"), ["value=powered"]);
        // A reply without parameters says nothing.
        let v = json!({ "opcode": "Set IO Capability", "status": "Success", "reply": null });
        assert_eq!(words(&v, "Command Complete").len(), 2);
        // A reply that repeats the command's parameters says them once.
        let v = json!({
            "opcode": "Pair Device",
            "status": "Success",
            "address": "AA:BB:CC:DD:EE:FF",
            "reply": { "address": "AA:BB:CC:DD:EE:FF", "paired": true }
        });
        assert_eq!(
            words(&v, "Command Complete"),
            [
                "opcode=\"Pair Device\"",
                "status=Success",
                "address=AA:BB:CC:DD:EE:FF",
                "paired=true"
            ]
        );
        // An unknown event: its code is the name already.
        let v = json!({ "code": "unknown 0x0099", "params": "0102" });
        assert_eq!(words(&v, "unknown 0x0099"), ["params=0102"]);
    }

    /// The OOB data's EIR (Read Local OOB Extended Data) shows its secret values redacted.
    #[test]
    fn oob_values_in_ad_redacted() {
        let mut eir = vec![0x02, 0x1c, 0x02, 0x11, 0x22];
        eir.extend_from_slice(&[0x5a; 16]);
        assert_eq!(
            ad_json(&eir),
            json!([
                { "type": "le_role", "value": "peripheral-preferred" },
                { "type": "le_sc_confirm", "value": "<redacted>" },
            ])
        );
    }
}
