"""In-VM driver of the pairing benchmark (run by benches/run through tests/kernel/vm/boot).

    scenario.py OUT_DIR BOOT ROUNDS

Starts btvirt's two kernel controllers (hci0 = 00:AA:01:00:00:00 initiates, hci1 =
00:AA:01:01:00:01 responds), sets both up for LE Secure Connections with DisplayYesNo, records
everything with btmon into the VM's tmpfs, and pairs ROUNDS times with every implementation,
the order alternating between rounds (and reversed on even boots). Each pairing: start the
responder, wait until it is ready, read its idle memory, run the initiator, stop the responder,
unpair both sides. Then, per agent, one responder process answers ROUNDS + 1 pairings in a row
(see `warm_series`), and each implementation's idle memory is read once more with the kernel's
fault-around cut to one page (see `touched`). It writes OUT_DIR/bootBOOT.log (one line per
fact, see `log`) and copies the capture to OUT_DIR/bootBOOT.btsnoop; the numbers are computed
on the host from the capture.
Then the phases BENCH_PHASES names (default bluetoothd, sched and scale): `bluetoothd` (see `bluetoothd_phase`),
`sched` (where a warm reply's time goes, from ftrace: see `traced_series`), `profile` (mgmtctl
under callgrind, for packaging/link-order/record: see `profile_phase`) and `scale`: Load Long Term Keys / Load Link Keys at the protocol maximum, from the C floor and
from `mgmtctl agent --store` (start-to-ready time), then BENCH_PEERS Bumble peers pairing with
one kernel controller at once (see `peers_phase`).

Nothing here decides pass or fail: failures are logged as facts.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

OUT, BOOT, ROUNDS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TOOLS = os.environ["KERNEL_TOOLS"]
MGMTCTL = os.environ["BENCH_MGMTCTL"]
MINIMAL = os.environ.get("BENCH_MINIMAL", "")  # none when only mgmtctl is profiled
FLOOR = os.environ["BENCH_FLOOR"]
# The floor's answer on the library's socket and tokio (benches/socket_floor); none: not run.
SOCKET = os.environ.get("BENCH_SOCKET", "")
HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_STORE = os.path.join(HERE, "..", "make_store.py")
IMPLS = [s for s in os.environ.get("BENCH_IMPLS", "floor,socket,library,mgmtctl,btmgmt").split(",")
         if s and (s != "socket" or SOCKET)]
# The responders of the warm and traced series (one process answering pairing after pairing).
WARM = [i for i in ("floor", "socket", "library", "mgmtctl") if i in IMPLS]
PHASES = os.environ.get("BENCH_PHASES", "bluetoothd,sched,scale").split(",")
PYTHON = os.environ.get("BENCH_PYTHON", sys.executable)  # the kernel tier's venv (bumble)
PEERS = int(os.environ.get("BENCH_PEERS", "5"))
PEER_ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", str(ROUNDS)))
A0, A1 = "00:AA:01:00:00:00", "00:AA:01:01:00:01"
BTMGMT = os.path.join(TOOLS, "btmgmt")
# Controller indexes of A0 (initiator) and A1 (responder), read from btmgmt info at start.
I0, I1 = "0", "1"
LOG = open(os.path.join(OUT, f"boot{BOOT}.log"), "w", buffering=1)


def now_us():
    return time.time_ns() // 1000


def log(*fields):
    """One fact per line: `controllers INITIATOR_INDEX RESPONDER_INDEX`,
    `pairing IMPL ROUND START_US END_US RC`, `warm IMPL ROUND START_US END_US RC`,
    `memory IMPL PSS_KB RSS_KB OWN_KB`, `touched IMPL PSS_KB RSS_KB OWN_KB`,
    `sched IMPL WAKE_US RUN_US SAME_CPU SYSCALLS`,
    `scale NAME VALUE TEXT...`, `note TEXT...`."""
    LOG.write(" ".join(str(f) for f in fields) + "\n")


def say(msg):
    print(f"bench[boot {BOOT}]: {msg}", flush=True)


def btmgmt_once(args):
    """One non-interactive btmgmt command; its output. btmgmt's shell quits at end of input
    before the kernel has answered, so its stdin stays open until it exits by itself."""
    p = subprocess.Popen([BTMGMT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(30, p.kill)
    timer.start()
    out = p.stdout.read()
    p.wait()
    timer.cancel()
    p.stdin.close()
    return out


def btmgmt(index, *args):
    return btmgmt_once(["--index", str(index), *args])


def memory(pid):
    """(PSS, RSS, OWN) in kB from /proc/PID/smaps: OWN is the PSS of the mappings of the
    program's own file (its code, read-only data and initialised data; not the heap, the
    stacks or the shared libraries)."""
    exe = os.readlink(f"/proc/{pid}/exe")
    pss = rss = own = 0
    mine = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 5)
            if head and "-" in head[0] and ":" not in head[0]:
                mine = len(head) == 6 and head[5].strip() == exe
                continue
            k, _, v = line.partition(":")
            if k == "Pss":
                pss += int(v.split()[0])
                own += int(v.split()[0]) if mine else 0
            elif k == "Rss":
                rss += int(v.split()[0])
    return pss, rss, own


FAULT_AROUND = "/sys/kernel/debug/fault_around_bytes"


def touched(impl):
    """The idle memory of a fresh `impl` responder with the kernel's fault-around cut to one
    page: a read fault on a file mapping then maps only the page touched, not the 64 KiB
    around it, so OWN is what the program touched of its own file. Logged as `touched`."""
    if not os.path.exists(FAULT_AROUND):
        subprocess.run(["mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug"],
                       stderr=subprocess.DEVNULL)
    try:
        with open(FAULT_AROUND) as f:
            before = f.read().strip()
        with open(FAULT_AROUND, "w") as f:
            f.write("4096")
    except OSError as e:
        log("note", "fault_around_bytes not settable:", e)
        return
    try:
        p = idle_responder(impl, "touched")
        if p is not None:
            log("touched", impl, *memory(p.pid))
            stop(p)
    finally:
        with open(FAULT_AROUND, "w") as f:
            f.write(before)


class Lines:
    """A child's stdout read line by line on a thread; `wait_for` blocks until a line
    containing one of the markers arrives. `on_line` may answer lines as they come."""

    def __init__(self, proc, on_line=None):
        self.proc, self.on_line = proc, on_line
        self.lines, self.cv = [], threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for line in self.proc.stdout:
            if self.on_line:
                self.on_line(line)
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.lines.append(None)
            self.cv.notify_all()

    def wait_for(self, markers, timeout, start=0):
        """The first line from `start` on (an index into `lines`) with one of the markers;
        None at the deadline or at the end of the output."""
        end = time.monotonic() + timeout
        seen = start
        with self.cv:
            while True:
                for line in self.lines[seen:]:
                    if line is None:
                        return None
                    if any(m in line for m in markers):
                        return line
                seen = len(self.lines)
                left = end - time.monotonic()
                if left <= 0 or not self.cv.wait(left):
                    if end - time.monotonic() <= 0:
                        return None


def spawn(argv, on_line=None, stdin=subprocess.DEVNULL):
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, bufsize=1)
    return p, Lines(p, on_line)


def stop(p, grace=5):
    """SIGINT, then SIGKILL if `p` has not exited within `grace` seconds."""
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def btmgmt_shell(index):
    """btmgmt interactive on INDEX, driven by this script: every User Confirm it prints is
    answered `yes` on its stdin (the 'script' of the btmgmt row)."""
    holder = {}

    def answer(line):
        if "User Confirm" in line:
            holder["p"].stdin.write("yes\n")
            holder["p"].stdin.flush()

    p, lines = spawn([BTMGMT, "--index", str(index)], on_line=answer, stdin=subprocess.PIPE)
    holder["p"] = p
    return p, lines


# Each implementation: how to start its responder on hci1 (and the line that says it is
# ready), and how to run one initiator pairing from hci0 (returns the exit status).
def responder(impl, index=None):
    index = I1 if index is None else index
    if impl == "floor":
        # Its controller only: each side has one answerer, as with the other agents (a floor
        # answering both controllers would race the other side's process, and the figure of
        # a side would be the faster of two processes).
        return spawn([FLOOR, index]), ["ready"]
    if impl == "socket":
        return spawn([SOCKET, index]), ["ready"]
    if impl == "library":
        return spawn([MINIMAL, index]), ["ready"]
    if impl == "mgmtctl":
        return spawn([MGMTCTL, "agent", "--index", index, "--io-capability", "DisplayYesNo",
                      "--auto-accept", "--no-store", "--no-power-on"]), ["registered"]
    if impl == "btmgmt":
        p, lines = btmgmt_shell(I1)
        p.stdin.write("version\n")
        p.stdin.flush()
        return (p, lines), ["MGMT Version", "version"]
    raise ValueError(impl)


def initiate(impl):
    if impl == "floor":
        cmd = [FLOOR, I0, A1, "1"]
    elif impl == "socket":
        cmd = [SOCKET, I0, A1, "1"]
    elif impl == "library":
        cmd = [MINIMAL, I0, "pair", A1]
    elif impl == "mgmtctl":
        cmd = [MGMTCTL, "pair", "--index", I0, "--type", "le-public", "--io-capability",
               "DisplayYesNo", "--auto-accept", "--no-store", A1]
    elif impl == "btmgmt":
        p, lines = btmgmt_shell(I0)
        p.stdin.write(f"pair -c 1 -t 1 {A1}\n")
        p.stdin.flush()
        line = lines.wait_for(["Paired with", "failed", "Failed"], 45)
        stop(p)
        return 0 if line and "Paired with" in line else 1
    else:
        raise ValueError(impl)
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=45)
        if r.returncode != 0:
            log("note", impl, "initiator:", r.stderr.strip().replace("\n", " | ")[:300])
        return r.returncode
    except subprocess.TimeoutExpired:
        return 124


def unpair():
    # Both sides, LE and BR/EDR (cross-transport key derivation made link keys too), in one
    # short process: four btmgmt runs would cost seconds per pairing under TCG.
    subprocess.run([FLOOR, "unpair", I0, A1, I1, A0], timeout=30)


def idle_responder(impl, what):
    """A responder process of `impl` that said it is ready and has then idled 0.3 s, or None
    (logged as a note, with the end of its output, for the `what` series)."""
    (p, lines), ready = responder(impl)
    if lines.wait_for(ready, 20) is None:
        log("note", impl, what, "responder not ready:",
            "".join(l or "" for l in lines.lines)[-300:].replace("\n", " | "))
        stop(p)
        return None
    time.sleep(0.3)
    return p


def pair_once(impl, rnd):
    p = idle_responder(impl, "fresh")
    if p is None:
        return
    log("memory", impl, *memory(p.pid))
    t0 = now_us()
    rc = initiate(impl)
    time.sleep(0.3)  # keys and the responder's last frames trail the completion
    t1 = now_us()
    stop(p)
    log("pairing", impl, rnd, t0, t1, rc)
    unpair()


def warm_series(impl, rounds):
    """One responder process of `impl` answering rounds + 1 pairings in a row, the C floor
    initiating: every pairing after its first is logged as `warm IMPL ROUND START_US END_US
    RC`, the figure of an agent that has been running (the rounds above start every responder
    fresh)."""
    p = idle_responder(impl, "warm")
    if p is None:
        return
    for rnd in range(rounds + 1):
        t0 = now_us()
        rc = initiate("floor")
        time.sleep(0.3)
        t1 = now_us()
        if rnd:
            log("warm", impl, rnd, t0, t1, rc)
        unpair()
    stop(p)


TRACING = next((t for t in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
                if os.path.exists(os.path.join(t, "trace"))), None)
# Per answer: the reply is a 13-byte frame (User Confirmation Reply: header and address).
REPLY_LEN = 13
# The system calls a reply is written with: `write` (the floors), `sendto` (the client's
# driver thread, which says MSG_DONTWAIT on a socket whose reads wait). Their first three
# arguments are the same.
REPLY_CALLS = ("1", "44")


def ftrace(path, value):
    with open(os.path.join(TRACING, path), "w") as f:
        f.write(value)


def traced_series(impls, rounds):
    """Where a warm responder's reply time goes, from the kernel's scheduler and syscall
    tracepoints (ftrace): one responder process per implementation answers rounds + 1
    pairings, the C floor initiating, traced (the tracing slows every syscall, so these
    pairings are not the latency figures). For each reply: from the kernel waking the
    responder (`sched_waking`, the request queued on its socket) to the responder on a CPU
    (`sched_switch`), and from there to its reply's `write` (time it was preempted on the way
    included: the kernel's high-priority workers that delivered the request often take the
    CPU back). Logged as `sched IMPL WAKE_US
    RUN_US SAME_CPU SYSCALLS` (SAME_CPU: woken on the waker's CPU; SYSCALLS: those it made
    from being on a CPU to the reply, the reply included)."""
    if TRACING is None:
        log("note", "sched: no tracefs in this kernel")
        return
    comms = sorted({os.path.basename(path)[:15] for path in (FLOOR, SOCKET, MINIMAL, MGMTCTL)
                    if path} | {"mgmt-driver"})
    by_comm = " || ".join(f'comm == "{c}"' for c in comms)
    by_switch = " || ".join(f'next_comm == "{c}"' for c in comms)
    try:
        ftrace("tracing_on", "0")
        ftrace("trace", "")
        ftrace("buffer_size_kb", "8192")
        for event, condition in (("sched/sched_waking", by_comm), ("sched/sched_switch", by_switch),
                                 ("raw_syscalls/sys_enter", by_comm)):
            ftrace(f"events/{event}/filter", condition)
            ftrace(f"events/{event}/enable", "1")
    except OSError as e:
        log("note", "sched: tracing not set up:", e)
        return
    responders = {}
    try:
        for impl in impls:
            p = idle_responder(impl, "traced")
            if p is None:
                continue
            responders[p.pid] = impl
            # Its threads too: the client's driver thread ("mgmt-driver") reads the socket
            # and writes the reply; give it time to exist.
            time.sleep(0.5)
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                responders[int(tid)] = impl
            ftrace("tracing_on", "1")
            for _ in range(rounds + 1):
                initiate("floor")
                time.sleep(0.3)
                unpair()
            ftrace("tracing_on", "0")
            stop(p)
        seen = set()
        with open(os.path.join(TRACING, "trace")) as f:
            for impl, wake, run, same, calls in replies(f, responders):
                if impl in seen:  # the first reply of each process is not a warm one
                    log("sched", impl, wake, run, same, calls)
                seen.add(impl)
    finally:
        for event in ("sched/sched_waking", "sched/sched_switch", "raw_syscalls/sys_enter"):
            ftrace(f"events/{event}/enable", "0")
            ftrace(f"events/{event}/filter", "0")
        ftrace("trace", "")


def replies(trace, responders):
    """(impl, wake_us, run_us, same_cpu, syscalls) of each reply in an ftrace text `trace`,
    in order, whose responder was woken at most 3 ms before writing it."""
    line_re = re.compile(r"^\s*.+?-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
    woken = {}
    for line in trace:
        m = line_re.match(line)
        if not m:
            continue
        pid, cpu, ts, name, rest = int(m[1]), int(m[2]), float(m[3]), m[4], m[5]
        if name == "sched_waking":
            target = int(re.search(r" pid=(\d+)", rest)[1])
            if target in responders:
                woken[target] = {"at": ts, "cpu": cpu, "calls": 0}
        elif name == "sched_switch":
            target = int(re.search(r"next_pid=(\d+)", rest)[1])
            w = woken.get(target)
            if w is not None and "on" not in w:
                w["on"], w["on_cpu"] = ts, cpu
        elif name == "sys_enter" and pid in woken and "on" in woken[pid]:
            w = woken[pid]
            w["calls"] += 1
            call = re.match(r"NR (\d+) \(([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+)", rest)
            if call and call[1] in REPLY_CALLS and int(call[4], 16) == REPLY_LEN:
                if ts - w["at"] < 0.003:
                    yield (responders[pid], round((w["on"] - w["at"]) * 1e6),
                           round((ts - w["on"]) * 1e6), int(w["cpu"] == w["on_cpu"]), w["calls"])
                del woken[pid]


def profile_phase(rounds):
    """mgmtctl run under callgrind, for packaging/link-order/record (not a benchmark phase:
    valgrind makes everything slow): OUT/callgrind.start, an agent started until it is ready,
    then stopped; OUT/callgrind.responder, an agent that answers `rounds` pairings once ready
    (the C floor initiating); OUT/callgrind.initiator, `mgmtctl pair` from hci0 (the floor
    answering). Function names stay mangled: the link order names symbols. Logged as
    `profile WHAT RC`."""
    def run(what, argv, pairings):
        out = os.path.join(OUT, f"callgrind.{what}")
        p, lines = spawn(["valgrind", "--tool=callgrind", "--demangle=no",
                          f"--callgrind-out-file={out}", *argv])
        if pairings is not None:
            ready = lines.wait_for(["registered"], 300) is not None
            rc = 0 if ready else 1
            time.sleep(1)
            for _ in range(pairings):
                rc |= initiate("floor")
                time.sleep(0.5)
                unpair()
            stop(p, grace=120)  # callgrind writes its file on the way out
        else:
            rc = p.wait(300)
            unpair()
        log("profile", what, rc)

    agent = [MGMTCTL, "agent", "--index", I1, "--io-capability", "DisplayYesNo",
             "--auto-accept", "--no-store", "--no-power-on"]
    run("start", agent, 0)
    run("responder", agent, rounds)
    floor, lines = spawn([FLOOR, I1])
    lines.wait_for(["ready"], 20)
    try:
        run("initiator", [MGMTCTL, "pair", "--index", I0, "--type", "le-public",
                          "--io-capability", "DisplayYesNo", "--auto-accept", "--no-store", A1],
            None)
    finally:
        stop(floor)


BLUEZ = os.path.dirname(TOOLS.rstrip("/"))  # .../usr: bluetoothd is in libexec/bluetooth


def bluetoothd_phase(rounds):
    """bluetoothd 5.66 + a private dbus-daemon + bluetoothctl's built-in D-Bus agent
    (DisplayYesNo, answered `yes` by this script). bluetoothd serves both controllers, so it
    answers one side's confirmation itself; each side's reply is still a command on its
    socket. Pairings run after the others (starting the daemons per pairing would dwarf the
    figures); the device is rediscovered before each one."""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/tmp/bench-dbus-socket")
    # bluetoothd applies ControllerMode=le by turning BR/EDR off, which the kernel refuses on a
    # powered controller ("Set BR/EDR ... Rejected"): hand it both controllers powered off.
    # (Left powered, BR/EDR stayed on and bluetoothd paired over BR/EDR, where btvirt's SSP
    # stub compares 000000: not the scenario of the other rows.)
    for i in (I0, I1):
        btmgmt(i, "power", "off")
    dbus = subprocess.Popen(["dbus-daemon", "--config-file=" + os.path.join(HERE, "dbus-system.conf"),
                             "--nofork", "--nopidfile"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1)
    daemon_log = open("/tmp/bench-bluetoothd.log", "w")
    daemon = subprocess.Popen([os.path.join(BLUEZ, "libexec/bluetooth/bluetoothd"), "-n", "-d", "-f",
                               os.path.join(HERE, "bluetoothd-main.conf")], env=env,
                              stdout=daemon_log, stderr=subprocess.STDOUT)
    time.sleep(3)
    holder = {}

    transcript = open(os.path.join(OUT, f"boot{BOOT}-bluetoothctl.log"), "w", buffering=1)

    def answer(line):
        # bluetoothctl prints "Request confirmation" (a whole line) and then the prompt
        # "[agent] Confirm passkey N (yes/no): " without a newline, redrawn in front of every
        # later line: answer the line, once per request. (Waiting for the prompt left it
        # unanswered until some other output ended the line: seconds, or never.)
        transcript.write(f"{now_us()} {line!r}\n")
        if line.strip() in ("Request confirmation", "Request authorization", "Authorize service"):
            holder["p"].stdin.write("yes\n")
            holder["p"].stdin.flush()

    ctl = subprocess.Popen([os.path.join(TOOLS, "bluetoothctl")], env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    holder["p"] = ctl
    lines = Lines(ctl, on_line=answer)

    def cmd(text, markers=None, timeout=10):
        transcript.write(f"{now_us()} >>> {text}\n")
        mark = len(lines.lines)
        ctl.stdin.write(text + "\n")
        ctl.stdin.flush()
        if markers:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                new = [l for l in lines.lines[mark:] if l]
                for l in new:
                    if any(m in l for m in markers):
                        return l
                time.sleep(0.05)
            return None
        time.sleep(0.5)

    try:
        # bluetoothctl registers its own agent (KeyboardDisplay) once it reaches bluetoothd,
        # and `agent DisplayYesNo` on top of it only fails ("Failed to register agent
        # object"): wait for that one, drop it, register DisplayYesNo.
        if lines.wait_for(["Agent registered"], 20) is None:
            log("note", "bluetoothd: bluetoothctl did not register its agent")
        cmd("agent off", ["Agent unregistered", "No agent"])
        if cmd("agent DisplayYesNo", ["Agent registered", "Failed"]) is None:
            log("note", "bluetoothd: agent DisplayYesNo: no answer")
        done = cmd("default-agent", ["Default agent request successful", "failed"])
        if done is None or "successful" not in done:
            log("note", "bluetoothd: default-agent:", (done or "no answer").strip())
        cmd(f"select {A1}")
        cmd("power on", ["succeeded", "Changing"])
        cmd("pairable on")
        cmd("discoverable on", ["succeeded", "Changing", "Failed"])
        cmd(f"select {A0}")
        cmd("power on", ["succeeded", "Changing"])
        cmd("pairable on")
        time.sleep(1)
        pss = rss = own = 0
        for p in (dbus, daemon, ctl):
            a, b, c = memory(p.pid)
            pss, rss, own = pss + a, rss + b, own + c
        log("memory", "bluetoothd", pss, rss, own)
        phase_end = time.monotonic() + 360  # keeps the boot inside its time limit
        for rnd in range(rounds):
            if time.monotonic() > phase_end:
                log("note", f"bluetoothd: stopped after {rnd} pairings (phase time limit)")
                break
            # bluetoothd forgets a removed device: discover it again. The first Device Found
            # can take more than one of the kernel's 10.24 s LE discovery windows (seen: 2 of
            # 10 rounds found nothing in 20 s), so allow several.
            cmd("scan le", [f"Device {A1}"], 45)
            cmd("scan off", ["Discovery stopped", "Failed"], 5)
            t0 = now_us()
            done = cmd(f"pair {A1}", ["Pairing successful", "Failed to pair", "not available"], 30)
            time.sleep(0.3)
            t1 = now_us()
            ok = done is not None and "Pairing successful" in done
            if not ok:
                log("note", "bluetoothd pairing:", (done or "no answer").strip()[:200])
            log("pairing", "bluetoothd", rnd, t0, t1, 0 if ok else 1)
            cmd(f"remove {A1}", ["removed", "not available"], 10)
            cmd(f"select {A1}")
            cmd(f"remove {A0}", ["removed", "not available"], 10)
            cmd(f"select {A0}")
            say(f"bluetoothd round {rnd + 1}/{rounds} done")
    finally:
        stop(ctl)
        stop(daemon)
        stop(dbus)
        daemon_log.close()
        shutil.copyfile("/tmp/bench-bluetoothd.log", os.path.join(OUT, f"boot{BOOT}-bluetoothd.log"))
        setup()  # back to the state the other phases expect (BR/EDR on, powered)


def peers_phase(rounds):
    """PEERS Bumble peer devices (benches/vm/multi_peer.py) pairing with one kernel controller
    at the same time, answered by each responder of PEER_IMPLS in turn (order alternating per
    round): LE Secure Connections Numeric Comparison, DisplayYesNo on both sides, the peers
    initiate. Logs `peers-controller INDEX` and, per peer and pairing, `peer IMPL ROUND T0_US
    T1_US ADDRESS ok|failed WHY...` (ok = the peer's Bumble reported the pairing done)."""
    impls = [i for i in ("floor", "library", "mgmtctl") if i in IMPLS]
    if not impls:
        return
    p, lines = spawn([PYTHON, os.path.join(HERE, "multi_peer.py"), "--peers", str(PEERS)],
                     stdin=subprocess.PIPE)

    def send(text):
        try:
            p.stdin.write(text + "\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass  # the peers' process is gone: the round's check below reports it

    try:
        ready = lines.wait_for(["READY"], 240)
        if ready is None:
            log("note", "peers: the Bumble peers did not start:",
                "".join(l or "" for l in lines.lines)[-300:].replace("\n", " | "))
            return
        peers = ready.split()[2:]
        index = None
        for _ in range(60):
            index = controllers().get(ready.split()[1])
            if index is not None:
                break
            time.sleep(1)
        if index is None:
            log("note", "peers: the Bumble controller did not appear in the kernel")
            return
        log("peers-controller", index, len(peers))
        for args in (["power", "off"], ["le", "on"], ["sc", "on"], ["bondable", "on"],
                     ["io-cap", "1"], ["connectable", "on"], ["advertising", "on"],
                     ["power", "on"]):
            btmgmt(index, *args)
        phase_end = time.monotonic() + 600  # keeps the boot inside its time limit
        for rnd in range(rounds):
            if time.monotonic() > phase_end:
                log("note", f"peers: stopped after {rnd} rounds (phase time limit)")
                break
            order = impls if (rnd + BOOT) % 2 else impls[::-1]
            for impl in order:
                (r, rlines), marker = responder(impl, index)
                if rlines.wait_for(marker, 20) is None:
                    log("note", impl, "peers: responder not ready")
                    stop(r)
                    continue
                time.sleep(0.3)
                mark = len(lines.lines)
                t0 = now_us()
                send("pair")
                done = lines.wait_for(["DONE"], 150, start=mark)
                time.sleep(0.3)  # the kernel's key events trail the peers' completion
                t1 = now_us()
                stop(r)
                if p.poll() is not None:
                    log("note", f"peers: the Bumble peers exited ({p.returncode}) during {impl}'s round {rnd}:",
                        "".join(l or "" for l in lines.lines[mark:])[-600:].replace("\n", " | "))
                    for addr in peers:
                        log("peer", impl, rnd, t0, t1, addr, "failed", "the peers' process exited")
                    return
                seen = set()
                for line in lines.lines[mark:]:
                    words = (line or "").split()
                    if len(words) >= 3 and words[0] in ("PAIRED", "FAILED"):
                        seen.add(words[1])
                        why = " ".join(words[3:])[:200]
                        log("peer", impl, rnd, t0, t1, words[1],
                            "ok" if words[0] == "PAIRED" else "failed", why)
                for addr in peers:
                    if addr not in seen:
                        log("peer", impl, rnd, t0, t1, addr, "failed",
                            "no answer from the peer" if done else "phase timed out")
                mark = len(lines.lines)
                send("reset")
                lines.wait_for(["OK reset"], 30, start=mark)
                unpair_args = []
                for addr in peers:
                    unpair_args += [index, addr]
                subprocess.run([FLOOR, "unpair", *unpair_args], timeout=30)
            say(f"peers round {rnd + 1}/{rounds} done")
    finally:
        if p.poll() is None:
            try:
                send("quit")
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
                p.wait()


def setup():
    for i in (I0, I1):
        for args in (["power", "off"], ["bredr", "on"], ["ssp", "on"], ["le", "on"], ["sc", "on"],
                     ["bondable", "on"], ["io-cap", "1"], ["connectable", "on"], ["power", "on"]):
            btmgmt(i, *args)
    btmgmt(I1, "advertising", "on")


def scale():
    for kind, count in (("ltk", 1820), ("linkkey", 2621)):
        r = subprocess.run([FLOOR, "load", I0, kind, str(count)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        log("scale", f"floor-load-{kind}", count, r.returncode, r.stdout.strip().replace("\n", " | "))
    # Written straight into the VM's tmpfs (copying 4441 files over 9p takes minutes).
    store = "/tmp/bench-store"
    subprocess.run([sys.executable, MAKE_STORE, store, A0, "1820", "2621"], check=True)
    t0 = time.monotonic()
    p, lines = spawn([MGMTCTL, "agent", "--index", I0, "--io-capability", "DisplayYesNo",
                      "--auto-accept", "--store", store, "--no-power-on"])
    line = lines.wait_for(["registered"], 60)
    ready = time.monotonic() - t0
    stop(p)
    text = "".join(l for l in lines.lines if l).strip().replace("\n", " | ")
    log("scale", "mgmtctl-store-ready", f"{ready * 1000:.0f}" if line else "-", 0 if line else 1, text[:600])


def controllers():
    """{address: index} of the controllers btmgmt info lists."""
    found, index = {}, None
    out = btmgmt_once(["info"])
    for line in out.splitlines():
        words = line.split()
        if words and words[0].startswith("hci") and words[0].endswith(":"):
            index = words[0][3:-1]
        if "addr" in words and index is not None and words.index("addr") + 1 < len(words):
            found[words[words.index("addr") + 1].upper()] = index
    return found


def start_btvirt():
    """btvirt -l2, retried when a controller does not come up (its HCI init can time out
    on a loaded TCG machine); sets I0/I1."""
    global I0, I1
    # The first btvirt of a boot often loses its first controller (HCI Reset times out while
    # the kernel loads crypto modules on demand): a short warm-up start avoids that.
    warm = subprocess.Popen([os.path.join(TOOLS, "btvirt"), "-l2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(4)
    warm.kill()
    warm.wait()
    time.sleep(1)
    for attempt in range(3):
        say("starting btvirt")
        btvirt = subprocess.Popen([os.path.join(TOOLS, "btvirt"), "-l2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(30):
            time.sleep(1)
            c = controllers()
            if A0 in c and A1 in c:
                I0, I1 = c[A0], c[A1]
                log("controllers", I0, I1)
                return btvirt
        log("note", f"btvirt attempt {attempt + 1}: controllers seen {c}")
        btvirt.kill()
        btvirt.wait()
        time.sleep(2)
    raise SystemExit("btvirt's controllers did not come up")


def local_copies():
    """Runs every program from the VM's tmpfs: executed from the 9p share under TCG, each
    first touch of a code page is a 9p read, which would add hundreds of milliseconds to the
    first request of the bigger binaries (a real device runs them from local storage)."""
    global MGMTCTL, MINIMAL, FLOOR, SOCKET, BTMGMT
    os.makedirs("/tmp/bench-bin", exist_ok=True)
    copies = []
    for path in (MGMTCTL, MINIMAL, FLOOR, SOCKET, BTMGMT):
        dst = os.path.join("/tmp/bench-bin", os.path.basename(path)) if path else ""
        if path:
            shutil.copy2(path, dst)
        copies.append(dst)
    MGMTCTL, MINIMAL, FLOOR, SOCKET, BTMGMT = copies


def main():
    local_copies()
    btvirt = start_btvirt()
    setup()
    capture = "/tmp/bench.btsnoop"
    btmon = subprocess.Popen([os.path.join(TOOLS, "btmon"), "-w", capture],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    order = IMPLS if BOOT % 2 else IMPLS[::-1]
    try:
        for rnd in range(ROUNDS):
            for impl in (order if rnd % 2 == 0 else order[::-1]):
                pair_once(impl, rnd)
            say(f"round {rnd + 1}/{ROUNDS} done")
        for impl in WARM:
            warm_series(impl, ROUNDS)
        say("warm series done")
        for impl in IMPLS:
            touched(impl)
        if "bluetoothd" in PHASES:
            try:
                bluetoothd_phase(ROUNDS)
            except Exception as e:  # a fact for the report; the other phases still run
                log("note", "bluetoothd phase ended:", type(e).__name__, str(e)[:200])
        if "sched" in PHASES:
            traced_series(WARM, ROUNDS)
            say("traced series done")
        if "profile" in PHASES:
            profile_phase(ROUNDS)
        if "scale" in PHASES:
            scale()
            peers_phase(PEER_ROUNDS)
    finally:
        # The capture is what the figures come from: keep it whatever happened above.
        btmon.send_signal(signal.SIGINT)
        btmon.wait(10)
        shutil.copyfile(capture, os.path.join(OUT, f"boot{BOOT}.btsnoop"))
    btvirt.send_signal(signal.SIGINT)
    try:
        btvirt.wait(10)
    except subprocess.TimeoutExpired:
        btvirt.kill()
    say("done")


main()
