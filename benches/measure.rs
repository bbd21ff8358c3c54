//! The host side of `benches/run`: library decode throughput, and the report that turns the
//! VM's captures and logs into figures with their ratios and the goals they are held against.
//!
//! ```text
//! measure decode FILE...   frames/s of CaptureReader + MGMT decoding, one thread
//! measure report DIR       DIR/boot*.log + DIR/boot*.btsnoop + DIR/host.tsv -> markdown
//! ```
//!
//! Latencies come from btmon's timestamps, read with the crate's own capture reader: the
//! kernel records every control-channel event once per receiving socket (with that socket's
//! cookie) and every command once (with the sender's cookie), so "User Confirmation Request
//! event -> User Confirmation Reply command" is matched on (controller index, cookie).
//! A number never fails this program: a goal that is missed is printed as a miss.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bluez_mgmt::capture::{CaptureReader, RecordBody};

/// MGMT codes the report looks for (BlueZ doc/mgmt-protocol.rst).
const EV_COMMAND_COMPLETE: u16 = 0x0001;
const EV_USER_CONFIRM_REQUEST: u16 = 0x000f;
const EV_NEW_LONG_TERM_KEY: u16 = 0x000a;
const OP_PAIR_DEVICE: u16 = 0x0019;
const OP_USER_CONFIRM_REPLY: u16 = 0x001c;

/// The implementations in the order of the tables; the first is the floor the others are
/// divided by.
const IMPLS: [(&str, &str); 6] = [
    ("floor", "raw-MGMT agent in C (the floor)"),
    (
        "socket",
        "the floor's answer on the library's socket and tokio (benches/socket_floor)",
    ),
    ("library", "library-only agent (examples/minimal_agent)"),
    ("mgmtctl", "`mgmtctl agent` / `mgmtctl pair --auto-accept`"),
    ("btmgmt", "BlueZ btmgmt answering from a script"),
    (
        "bluetoothd",
        "bluetoothd 5.66 + dbus-daemon + bluetoothctl's agent (memory: the three)",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("decode") if args.len() > 1 => decode(&args[1..]),
        Some("report") if args.len() == 2 => {
            print!("{}", report(Path::new(&args[1])));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: measure decode FILE... | measure report DIR");
            ExitCode::from(2)
        }
    }
}

/// Decodes every record of every file (typed MGMT frames included) again and again for at
/// least a second; prints `frames N`, `errors N`, `frames_per_second N`.
fn decode(files: &[String]) -> ExitCode {
    let data: Vec<Vec<u8>> = match files.iter().map(std::fs::read).collect() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("measure: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pass = || {
        let (mut frames, mut errors) = (0u64, 0u64);
        for bytes in &data {
            let Ok(mut reader) = CaptureReader::new(Cursor::new(bytes.as_slice())) else {
                errors += 1;
                continue;
            };
            loop {
                match reader.read_record() {
                    Ok(Some(r)) => {
                        frames += 1;
                        if r.mgmt_frame().is_err() {
                            errors += 1;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
        }
        (frames, errors)
    };
    let (frames, errors) = pass();
    let start = Instant::now();
    let mut total = 0u64;
    while start.elapsed().as_secs_f64() < 1.0 {
        total += pass().0;
    }
    let fps = total as f64 / start.elapsed().as_secs_f64();
    println!("frames {frames}");
    println!("errors {errors}");
    println!("frames_per_second {fps:.0}");
    ExitCode::SUCCESS
}

/// One control-channel record of a capture.
struct Frame {
    t: i64,
    index: u16,
    cookie: u32,
    command: bool,
    code: u16,
    params: Vec<u8>,
}

fn read_frames(path: &Path) -> Result<Vec<Frame>, String> {
    let mut reader = CaptureReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    while let Some(r) = reader
        .read_record()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        let (cookie, command, code, params) = match r.body() {
            Ok(RecordBody::ControlCommand(c)) => (c.cookie, true, c.opcode.0, c.params),
            Ok(RecordBody::ControlEvent(e)) => (e.cookie, false, e.code.0, e.params),
            _ => continue,
        };
        out.push(Frame {
            t: r.timestamp.unix_micros(),
            index: r.index.0,
            cookie,
            command,
            code,
            params,
        });
    }
    Ok(out)
}

/// What one pairing showed (microseconds).
#[derive(Default)]
struct Pairing {
    initiator_reply: Option<i64>,
    responder_reply: Option<i64>,
    first_request_to_complete: Option<i64>,
    pair_to_complete: Option<i64>,
    ok: bool,
}

/// Figures of the pairing in `[t0, t1]`: `initiator` and `responder` are the controller
/// indexes of the two sides.
fn analyse(
    frames: &[Frame],
    (initiator, responder): (u16, u16),
    t0: i64,
    t1: i64,
    rc: i32,
) -> Pairing {
    let window: Vec<&Frame> = frames.iter().filter(|f| f.t >= t0 && f.t <= t1).collect();
    let mut p = Pairing::default();
    let reply_latency = |index: u16| {
        let reply = window
            .iter()
            .find(|f| f.command && f.code == OP_USER_CONFIRM_REPLY && f.index == index)?;
        let request = window.iter().rfind(|f| {
            !f.command
                && f.code == EV_USER_CONFIRM_REQUEST
                && f.index == index
                && f.cookie == reply.cookie
                && f.t <= reply.t
        })?;
        Some(reply.t - request.t)
    };
    p.initiator_reply = reply_latency(initiator);
    p.responder_reply = reply_latency(responder);
    let pair = window
        .iter()
        .find(|f| f.command && f.code == OP_PAIR_DEVICE && f.index == initiator);
    let complete = pair.and_then(|pd| {
        window.iter().find(|f| {
            !f.command
                && f.code == EV_COMMAND_COMPLETE
                && f.index == initiator
                && f.cookie == pd.cookie
                && f.params.get(..2) == Some(&OP_PAIR_DEVICE.to_le_bytes()[..])
        })
    });
    let first_request = window
        .iter()
        .filter(|f| !f.command && f.code == EV_USER_CONFIRM_REQUEST)
        .map(|f| f.t)
        .min();
    if let (Some(pd), Some(c)) = (pair, complete) {
        p.pair_to_complete = Some(c.t - pd.t);
        p.first_request_to_complete = first_request.map(|r| c.t - r);
        p.ok = rc == 0 && c.params.get(2) == Some(&0);
    }
    p
}

/// The address info (address + type, 7 bytes) a control-channel frame is about, for the codes
/// the five-peer figures use.
fn frame_address(f: &Frame) -> Option<&[u8]> {
    let at = match (f.command, f.code) {
        (false, EV_USER_CONFIRM_REQUEST) | (true, OP_USER_CONFIRM_REPLY) => 0,
        (false, EV_NEW_LONG_TERM_KEY) => 1, // after the store hint
        _ => return None,
    };
    f.params.get(at..at + 7)
}

/// `C0:BB:00:00:01:01` as the 6 bytes on the wire (least significant first).
fn wire_address(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        out[5 - i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// What one peer's pairing showed on the kernel's side (microseconds): the responder's reply
/// latency and User Confirmation Request -> New Long Term Key, both for that peer's address.
fn analyse_peer(
    frames: &[Frame],
    index: u16,
    address: &[u8; 6],
    t0: i64,
    t1: i64,
) -> (Option<i64>, Option<i64>) {
    let of_peer = |f: &&Frame| {
        f.t >= t0
            && f.t <= t1
            && f.index == index
            && frame_address(f).is_some_and(|a| a[..6] == address[..])
    };
    let window: Vec<&Frame> = frames.iter().filter(of_peer).collect();
    let reply = window
        .iter()
        .find(|f| f.command && f.code == OP_USER_CONFIRM_REPLY);
    let request = reply.and_then(|r| {
        window.iter().rfind(|f| {
            !f.command && f.code == EV_USER_CONFIRM_REQUEST && f.cookie == r.cookie && f.t <= r.t
        })
    });
    let first_request = window
        .iter()
        .find(|f| !f.command && f.code == EV_USER_CONFIRM_REQUEST);
    let complete = first_request.and_then(|q| {
        window
            .iter()
            .find(|f| !f.command && f.code == EV_NEW_LONG_TERM_KEY && f.t >= q.t)
    });
    (
        reply.zip(request).map(|(r, q)| r.t - q.t),
        first_request.zip(complete).map(|(q, c)| c.t - q.t),
    )
}

/// The five-peer figures of one implementation: per peer address, and per round (all peers).
#[derive(Default)]
struct PeerImpl {
    /// Per peer address: reply latencies, request -> complete, (paired on the peer's side, tried).
    peers: BTreeMap<String, (Samples, Samples, usize, usize)>,
    reply: Samples,
    to_complete: Samples,
    /// First request -> last New Long Term Key of one round, when every peer of it paired.
    batch: Samples,
    ok: usize,
    tried: usize,
}

/// Percentile by linear interpolation between closest ranks; `None` for no samples.
fn percentile(sorted: &[i64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * (pos - lo as f64))
}

/// Samples of one figure for one implementation.
#[derive(Default)]
struct Samples(Vec<i64>);

impl Samples {
    fn sorted(&self) -> Vec<i64> {
        let mut v = self.0.clone();
        v.sort_unstable();
        v
    }
    fn p(&self, q: f64) -> Option<f64> {
        percentile(&self.sorted(), q)
    }
}

#[derive(Default)]
struct Impl {
    initiator: Samples,
    responder: Samples,
    both: Samples,
    first_to_complete: Samples,
    pair_to_complete: Samples,
    pss: Samples,
    rss: Samples,
    /// Idle PSS of the mappings of the program's own file (code, read-only and initialised
    /// data).
    own: Samples,
    /// Idle PSS, and that of the program's own file, with the kernel's fault-around cut to one
    /// page: what the program touched.
    touched_pss: Samples,
    touched_own: Samples,
    /// Traced warm replies (ftrace): from the kernel waking the responder to the responder on
    /// a CPU, and from there to its reply's write (µs); woken on the waker's CPU (0 or 1);
    /// syscalls made on the way (the reply's write included).
    sched_wake: Samples,
    sched_run: Samples,
    sched_same_cpu: Samples,
    sched_calls: Samples,
    pairings: usize,
    ok: usize,
    /// Responder replies of an agent process answering its second and later pairings.
    warm: Samples,
}

/// One figure of an implementation's samples.
type Figure = fn(&Impl) -> &Samples;

fn ms(us: Option<f64>) -> String {
    us.map_or("–".into(), |v| format!("{:.2}", v / 1000.0))
}

/// The cells `n | p25 | p50 | p75 | max | p50 vs floor` of a latency table row.
fn spread(s: &Samples, floor_p50: Option<f64>) -> String {
    format!(
        "{} | {} | {} | {} | {} | {}",
        s.0.len(),
        ms(s.p(0.25)),
        ms(s.p(0.5)),
        ms(s.p(0.75)),
        ms(s.p(1.0)),
        ratio(s.p(0.5), floor_p50)
    )
}

fn ratio(ours: Option<f64>, floor: Option<f64>) -> String {
    match (ours, floor) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}x", a / b),
        _ => "–".into(),
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "pass",
        Some(false) => "MISS",
        None => "not measured",
    }
}

/// The 95% bootstrap interval of `p50(ours) / p50(floor)`: both sample sets resampled with
/// replacement 2,000 times. The generator has a fixed seed, so the same captures give the
/// same report. `None` with fewer than two samples on either side.
fn ratio_interval(ours: &Samples, floor: &Samples) -> Option<(f64, f64)> {
    const RESAMPLES: usize = 2000;
    if ours.0.len() < 2 || floor.0.len() < 2 {
        return None;
    }
    // xorshift64*: enough for drawing indexes.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut below = move |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    };
    let mut median_of_resample = |v: &[i64]| {
        let mut r: Vec<i64> = (0..v.len()).map(|_| v[below(v.len())]).collect();
        r.sort_unstable();
        percentile(&r, 0.5)
    };
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let a = median_of_resample(&ours.0)?;
            let b = median_of_resample(&floor.0)?;
            (b > 0.0).then(|| a / b)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (!ratios.is_empty()).then(|| (at(0.025), at(0.975)))
}

fn read_host(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("host.tsv"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn boots(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut v: Vec<_> = (1..100)
        .map(|b| {
            (
                dir.join(format!("boot{b}.log")),
                dir.join(format!("boot{b}.btsnoop")),
            )
        })
        .take_while(|(l, _)| l.exists())
        .collect();
    v.sort();
    v
}

/// The whole report as markdown.
fn report(dir: &Path) -> String {
    let host = read_host(dir);
    let mut impls: BTreeMap<&'static str, Impl> =
        IMPLS.iter().map(|(k, _)| (*k, Impl::default())).collect();
    let mut notes = Vec::new();
    let mut scale = Vec::new();
    let mut peer_impls: BTreeMap<&'static str, PeerImpl> = IMPLS
        .iter()
        .map(|(k, _)| (*k, PeerImpl::default()))
        .collect();
    let mut peer_count = 0usize;
    let boots = boots(dir);
    for (log, capture) in &boots {
        let frames = match read_frames(capture) {
            Ok(f) => f,
            Err(e) => {
                notes.push(format!("capture unreadable: {e}"));
                Vec::new()
            }
        };
        let mut sides = (0, 1);
        let mut peer_index = None;
        // (impl, round) -> first request and last completion of that round, and whether every
        // peer of it paired with both seen.
        let mut rounds: BTreeMap<(String, String), (i64, i64, bool)> = BTreeMap::new();
        for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["controllers", a, b] => {
                    if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                        sides = (a, b);
                    }
                }
                ["pairing", name, _round, t0, t1, rc] => {
                    let (Ok(t0), Ok(t1), Ok(rc)) = (t0.parse(), t1.parse(), rc.parse()) else {
                        continue;
                    };
                    let Some(i) = impls.get_mut(*name) else {
                        continue;
                    };
                    let p = analyse(&frames, sides, t0, t1, rc);
                    i.pairings += 1;
                    if p.ok {
                        i.ok += 1;
                        for (s, v) in [
                            (&mut i.initiator, p.initiator_reply),
                            (&mut i.responder, p.responder_reply),
                            (&mut i.first_to_complete, p.first_request_to_complete),
                            (&mut i.pair_to_complete, p.pair_to_complete),
                        ] {
                            s.0.extend(v);
                        }
                        i.both.0.extend(p.initiator_reply);
                        i.both.0.extend(p.responder_reply);
                    }
                }
                ["warm", name, _round, t0, t1, rc] => {
                    if let (Some(i), Ok(t0), Ok(t1), Ok(rc)) =
                        (impls.get_mut(*name), t0.parse(), t1.parse(), rc.parse())
                    {
                        let p = analyse(&frames, sides, t0, t1, rc);
                        i.warm.0.extend(p.responder_reply.filter(|_| p.ok));
                    }
                }
                ["memory", name, pss, rss, own @ ..] => {
                    if let (Some(i), Ok(pss), Ok(rss)) =
                        (impls.get_mut(*name), pss.parse(), rss.parse())
                    {
                        i.pss.0.push(pss);
                        i.rss.0.push(rss);
                        i.own
                            .0
                            .extend(own.first().and_then(|o| o.parse::<i64>().ok()));
                    }
                }
                ["sched", name, wake, run, same, calls] => {
                    if let (Some(i), Ok(wake), Ok(run), Ok(same), Ok(calls)) = (
                        impls.get_mut(*name),
                        wake.parse(),
                        run.parse(),
                        same.parse(),
                        calls.parse(),
                    ) {
                        i.sched_wake.0.push(wake);
                        i.sched_run.0.push(run);
                        i.sched_same_cpu.0.push(same);
                        i.sched_calls.0.push(calls);
                    }
                }
                ["touched", name, pss, _rss, own] => {
                    if let (Some(i), Ok(pss), Ok(own)) =
                        (impls.get_mut(*name), pss.parse(), own.parse())
                    {
                        i.touched_pss.0.push(pss);
                        i.touched_own.0.push(own);
                    }
                }
                ["peers-controller", index, n] => {
                    peer_index = index.parse().ok();
                    peer_count = peer_count.max(n.parse().unwrap_or(0));
                }
                ["peer", name, round, t0, t1, address, result, ..] => {
                    let (Some(p), Some(index), Ok(t0), Ok(t1), Some(wire)) = (
                        peer_impls.get_mut(*name),
                        peer_index,
                        t0.parse::<i64>(),
                        t1.parse::<i64>(),
                        wire_address(address),
                    ) else {
                        continue;
                    };
                    let ok = *result == "ok";
                    let (reply, to_complete) = analyse_peer(&frames, index, &wire, t0, t1);
                    let e = p.peers.entry(address.to_string()).or_default();
                    e.0 .0.extend(reply);
                    e.1 .0.extend(to_complete);
                    e.2 += usize::from(ok);
                    e.3 += 1;
                    p.reply.0.extend(reply);
                    p.to_complete.0.extend(to_complete);
                    p.ok += usize::from(ok);
                    p.tried += 1;
                    let r = rounds
                        .entry((name.to_string(), round.to_string()))
                        .or_insert((i64::MAX, i64::MIN, true));
                    match (ok, analyse_peer_span(&frames, index, &wire, t0, t1)) {
                        (true, Some((q, c))) => {
                            r.0 = r.0.min(q);
                            r.1 = r.1.max(c);
                        }
                        _ => r.2 = false,
                    }
                    if !ok {
                        notes.push(format!("peers: {name} round {round}: {}", f[5..].join(" ")));
                    }
                }
                ["scale", rest @ ..] => scale.push(rest.join(" ")),
                ["note", rest @ ..] => notes.push(rest.join(" ")),
                _ => {}
            }
        }
        for ((name, _), (first, last, all)) in rounds {
            if let (true, Some(p)) = (all, peer_impls.get_mut(name.as_str())) {
                p.batch.0.push(last - first);
            }
        }
    }

    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "# bluez-mgmt benchmarks\n");
    let _ = writeln!(
        w,
        "Produced by `bash benches/run` on {} ({}). Ratios divide by the C floor measured in the same run.\n",
        host.get("date").map_or("?", String::as_str),
        host.get("machine").map_or("?", String::as_str)
    );
    let floor = impls.get("floor");
    let floor_p = |f: fn(&Impl) -> &Samples, q: f64| floor.and_then(|i| f(i).p(q));

    let _ = writeln!(
        w,
        "## Pairing in the VM\n\nKernel 6.1 under TCG, btvirt's two kernel controllers, LE Secure Connections \
         Numeric Comparison, DisplayYesNo both sides, btmon recording; {} boot(s), pairings in \
         alternating order. Latency = User Confirmation Request event -> User Confirmation Reply \
         command on the same socket, from btmon's timestamps (ms).\n",
        boots.len()
    );
    let _ = writeln!(
        w,
        "| implementation | side | n | p25 | p50 | p75 | max | p50 vs floor |\n|---|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let i = &impls[key];
        for (side, s, fs) in [
            (
                "initiator (pair)",
                &i.initiator,
                floor_p(|i| &i.initiator, 0.5),
            ),
            (
                "responder (agent)",
                &i.responder,
                floor_p(|i| &i.responder, 0.5),
            ),
            ("both", &i.both, floor_p(|i| &i.both, 0.5)),
        ] {
            let _ = writeln!(w, "| {label} | {side} | {} |", spread(s, fs));
        }
    }
    let _ = writeln!(
        w,
        "\nThe same, for a responder process that has answered before: one process per \
         implementation answers BENCH_ROUNDS + 1 pairings in a row (the C floor initiating), \
         its first left out. The rows above start every responder fresh, so they include what \
         running the answer path's code for the first time costs (large under TCG).\n\n\
         | responder | n | p25 | p50 | p75 | max | p50 vs floor |\n|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let s = &impls[key].warm;
        if s.0.is_empty() {
            continue;
        }
        let _ = writeln!(w, "| {label} | {} |", spread(s, floor_p(|i| &i.warm, 0.5)));
    }
    let _ = writeln!(
        w,
        "\n| implementation | pairings ok | first request -> complete p50 | vs floor | Pair Device -> complete p50 | vs floor | idle PSS / RSS (MB) | PSS vs floor |\n|---|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let i = &impls[key];
        let _ = writeln!(
            w,
            "| {label} | {}/{} | {} | {} | {} | {} | {} / {} | {} |",
            i.ok,
            i.pairings,
            ms(i.first_to_complete.p(0.5)),
            ratio(
                i.first_to_complete.p(0.5),
                floor_p(|i| &i.first_to_complete, 0.5)
            ),
            ms(i.pair_to_complete.p(0.5)),
            ratio(
                i.pair_to_complete.p(0.5),
                floor_p(|i| &i.pair_to_complete, 0.5)
            ),
            mb(i.pss.p(0.5)),
            mb(i.rss.p(0.5)),
            ratio(i.pss.p(0.5), floor_p(|i| &i.pss, 0.5)),
        );
    }

    let _ = writeln!(
        w,
        "\nIdle memory, where it goes: the PSS of the program's own file (its code and data; \
         the rest is heap, stacks and shared libraries), and both again for one start per boot \
         with the kernel's fault-around cut to one page (a read fault on a file then maps the \
         page touched, not the 64 KiB around it): what the program touched of its own file.\n\n\
         | implementation | idle PSS (MB) | of it, its own file | idle PSS, fault-around one page | of it, its own file |\n|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let i = &impls[key];
        if i.pss.0.is_empty() && i.touched_pss.0.is_empty() {
            continue;
        }
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {} | {} |",
            mb(i.pss.p(0.5)),
            mb(i.own.p(0.5)),
            mb(i.touched_pss.p(0.5)),
            mb(i.touched_own.p(0.5)),
        );
    }

    let _ = writeln!(
        w,
        "\nWhere a warm reply's time goes (ftrace, `sched` phase: one responder process per \
         agent answering the C floor's pairings with the kernel's scheduler and syscall \
         tracepoints on, which slow every syscall; these pairings are not in the tables above): \
         from the kernel waking the responder (its request queued on the socket) to the \
         responder on a CPU, and from there to its reply's `write`.\n\n\
         | responder | replies | waking -> on a CPU p50 (ms) | on a CPU -> reply written p50 (ms) | vs floor | woken on the waker's CPU | syscalls to the reply p50 |\n|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let i = &impls[key];
        if i.sched_run.0.is_empty() {
            continue;
        }
        let same: i64 = i.sched_same_cpu.0.iter().sum();
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {} | {} | {same}/{} | {} |",
            i.sched_run.0.len(),
            ms(i.sched_wake.p(0.5)),
            ms(i.sched_run.p(0.5)),
            ratio(i.sched_run.p(0.5), floor_p(|i| &i.sched_run, 0.5)),
            i.sched_same_cpu.0.len(),
            i.sched_calls
                .p(0.5)
                .map_or("–".into(), |c| format!("{c:.0}")),
        );
    }

    let _ = writeln!(w, "\n## Scale in the VM\n");
    if scale.is_empty() {
        let _ = writeln!(w, "- not measured (no VM boot finished)");
    }
    for s in &scale {
        let _ = writeln!(w, "- {s}");
    }

    five_peers(w, &peer_impls, peer_count);

    let _ = writeln!(w, "\n## On the host\n");
    let get = |k: &str| host.get(k).and_then(|v| v.parse::<f64>().ok());
    let _ = writeln!(w, "| figure | value | comparison |\n|---|---|---|");
    let _ = writeln!(
        w,
        "| library decode (CaptureReader + typed MGMT frames, one thread) | {} frames/s over {} frames ({}; {} records the protocol crate rejects) | – |",
        get("decode_fps").map_or("–".into(), |v| format!("{v:.0}")),
        host.get("decode_frames").map_or("?", String::as_str),
        host.get("decode_files").map_or("?", String::as_str),
        host.get("decode_errors").map_or("?", String::as_str)
    );
    let btmon = get("btmon_ms");
    for (k, label) in [
        ("decode_ms", "`mgmtctl decode`"),
        ("decode_json_ms", "`mgmtctl decode --json`"),
    ] {
        let v = get(k);
        let _ = writeln!(
            w,
            "| {label} of {} ({} frames), best of 3 | {} ms | `btmon -r` {} ms: {} faster |",
            host.get("decode_capture").map_or("?", String::as_str),
            host.get("decode_capture_frames")
                .map_or("?", String::as_str),
            v.map_or("–".into(), |v| format!("{v:.0}")),
            btmon.map_or("–".into(), |v| format!("{v:.0}")),
            ratio(btmon, v)
        );
    }
    for (k, label) in [
        ("size_mgmtctl", "stripped `mgmtctl` (release)"),
        ("size_minimal", "stripped library-only agent (release)"),
        ("size_floor", "stripped C floor (dynamic glibc)"),
        ("size_socket", "stripped socket floor (release)"),
        ("size_btmgmt", "btmgmt (Debian, stripped)"),
    ] {
        let _ = writeln!(
            w,
            "| {label} | {} | {} |",
            get(k).map_or("–".into(), |v| format!("{:.0} KiB", v / 1024.0)),
            match (get(k), get("size_floor")) {
                (Some(a), Some(b)) if k != "size_floor" => format!("{:.0}x the C floor", a / b),
                _ => "–".into(),
            }
        );
    }

    let _ = writeln!(
        w,
        "\n## Goals (reported, never enforced)\n\n| goal | measured | result |\n|---|---|---|"
    );
    // The latency goals, for both agents, with the 95% bootstrap interval of each ratio: a
    // ratio of two medians of 10 to 20 pairings moves between runs by more than the goals'
    // margins, and the interval says by how much.
    let floor_samples = |f: Figure| floor.map(f);
    for key in ["mgmtctl", "library"] {
        let i = &impls[key];
        let rows: [(&str, Figure, f64); 4] = [
            ("reply p50, initiator", |i| &i.initiator, 1.2),
            ("reply p50, responder (fresh)", |i| &i.responder, 1.2),
            ("reply p50, warm responder", |i| &i.warm, 1.2),
            (
                "first request -> complete p50",
                |i| &i.first_to_complete,
                1.1,
            ),
        ];
        for (figure, f, goal) in rows {
            let ours = f(i);
            let r = ours
                .p(0.5)
                .zip(floor_samples(f).and_then(|s| s.p(0.5)))
                .map(|(a, b)| a / b);
            let interval = floor_samples(f)
                .and_then(|fs| ratio_interval(ours, fs))
                .map_or(String::new(), |(lo, hi)| {
                    format!(" (95% interval {lo:.2}x to {hi:.2}x)")
                });
            let _ = writeln!(
                w,
                "| {key} {figure} <= {goal}x the C floor | {}{interval} | {} |",
                r.map_or("–".into(), |r| format!("{r:.2}x")),
                verdict(r.map(|r| r <= goal))
            );
        }
    }
    for key in ["mgmtctl", "library"] {
        let pss = impls[key].pss.p(0.5);
        let _ = writeln!(
            w,
            "| idle PSS of the {key} agent <= 1.6 MB | {} MB | {} |",
            mb(pss),
            verdict(pss.map(|p| p / 1000.0 <= 1.6))
        );
    }
    let size = get("size_mgmtctl");
    let _ = writeln!(
        w,
        "| stripped mgmtctl <= 1.5 MiB | {} | {} |",
        size.map_or("–".into(), |s| format!("{:.2} MiB", s / 1048576.0)),
        verdict(size.map(|s| s <= 1.5 * 1048576.0))
    );
    let d = btmon.zip(get("decode_ms")).map(|(b, d)| b / d);
    let _ = writeln!(
        w,
        "| `mgmtctl decode` >= 10x faster than `btmon -r` | {} | {} |",
        d.map_or("–".into(), |d| format!("{d:.1}x")),
        verdict(d.map(|d| d >= 10.0))
    );
    let loads: Vec<&String> = scale
        .iter()
        .filter(|s| s.starts_with("mgmtctl-store-ready"))
        .collect();
    let loaded = !loads.is_empty()
        && loads
            .iter()
            .all(|s| s.contains("loaded 2621 link key(s), 1820 long term key(s)"));
    let _ = writeln!(
        w,
        "| every protocol-maximum key load succeeds (mgmtctl agent, 2621 link keys + 1820 LTKs) | {} | {} |",
        if loads.is_empty() { "–" } else if loaded { "all loaded" } else { "failed (see Scale)" },
        verdict((!loads.is_empty()).then_some(loaded))
    );
    if !notes.is_empty() {
        let _ = writeln!(w, "\n## Notes from the VM\n");
        for n in notes.iter().take(20) {
            let _ = writeln!(w, "- {n}");
        }
    }
    o
}

fn mb(kb: Option<f64>) -> String {
    kb.map_or("–".into(), |v| format!("{:.2}", v / 1000.0))
}

/// First User Confirmation Request and New Long Term Key of one peer's pairing (unix µs).
fn analyse_peer_span(
    frames: &[Frame],
    index: u16,
    address: &[u8; 6],
    t0: i64,
    t1: i64,
) -> Option<(i64, i64)> {
    let (_, to_complete) = analyse_peer(frames, index, address, t0, t1);
    let request = frames.iter().find(|f| {
        f.t >= t0
            && f.t <= t1
            && f.index == index
            && !f.command
            && f.code == EV_USER_CONFIRM_REQUEST
            && frame_address(f).is_some_and(|a| a[..6] == address[..])
    })?;
    Some((request.t, request.t + to_complete?))
}

/// The "N peers at once" section: per implementation and peer, then per implementation
/// against the floor.
fn five_peers(w: &mut String, impls: &BTreeMap<&'static str, PeerImpl>, n: usize) {
    let _ = writeln!(w, "\n## {n} peers at once\n");
    if impls.values().all(|p| p.tried == 0) {
        let _ = writeln!(w, "- not measured (no scale phase ran)");
        return;
    }
    let _ = writeln!(
        w,
        "{n} Bumble peer devices (one process, one LocalLink) connect to one kernel controller \
         (Bumble's, through /dev/vhci) and pair with it at the same time: LE Secure Connections \
         Numeric Comparison, DisplayYesNo both sides, the peers initiate; the kernel side is \
         answered by each implementation in turn. From btmon's timestamps, matched by the peer's \
         address: reply = User Confirmation Request event -> User Confirmation Reply command; \
         complete = the request -> New Long Term Key event; all done = the round's first request \
         -> its last New Long Term Key (rounds where every peer paired). Paired = the peer's \
         Bumble reported the pairing done (ms).\n"
    );
    let _ = writeln!(
        w,
        "| implementation | peer | paired (peer side) | reply p50 | reply max | request -> complete p50 | max |\n|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let Some(p) = impls.get(key).filter(|p| p.tried > 0) else {
            continue;
        };
        for (address, (reply, done, ok, tried)) in &p.peers {
            let _ = writeln!(
                w,
                "| {label} | {address} | {ok}/{tried} | {} | {} | {} | {} |",
                ms(reply.p(0.5)),
                ms(reply.p(1.0)),
                ms(done.p(0.5)),
                ms(done.p(1.0)),
            );
        }
    }
    let floor = impls.get("floor");
    let fp = |f: fn(&PeerImpl) -> &Samples| floor.and_then(|p| f(p).p(0.5));
    let _ = writeln!(
        w,
        "\n| implementation | paired (peer side) | reply p50 / p75 / max | p50 vs floor | request -> complete p50 | vs floor | all {n} done p50 | vs floor |\n|---|---|---|---|---|---|---|---|"
    );
    for (key, label) in IMPLS {
        let Some(p) = impls.get(key).filter(|p| p.tried > 0) else {
            continue;
        };
        let _ = writeln!(
            w,
            "| {label} | {}/{} | {} / {} / {} | {} | {} | {} | {} | {} |",
            p.ok,
            p.tried,
            ms(p.reply.p(0.5)),
            ms(p.reply.p(0.75)),
            ms(p.reply.p(1.0)),
            ratio(p.reply.p(0.5), fp(|p| &p.reply)),
            ms(p.to_complete.p(0.5)),
            ratio(p.to_complete.p(0.5), fp(|p| &p.to_complete)),
            ms(p.batch.p(0.5)),
            ratio(p.batch.p(0.5), fp(|p| &p.batch)),
        );
    }
}
