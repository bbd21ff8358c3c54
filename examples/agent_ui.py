#!/usr/bin/env python3
"""A small pairing UI over `mgmtctl agent --json` (docs/agent-protocol.md).

    examples/agent_ui.py [--accept yes|no|ask] [--passkey N] [--pin PIN] [--log FILE] \
        -- mgmtctl agent --json --io-capability keyboard-display [...]

It starts the agent command given after `--`, prints each request and event in words, and
answers requests: by asking on the terminal (`--accept ask`, the default), or automatically
(`--accept yes` / `--accept no`; a passkey request is answered with `--passkey`, a PIN request
with `--pin`, refused without them). With `--log FILE`, every line the agent wrote is also
appended to FILE as it came (JSON lines), so a test can check what happened.
Ctrl-C (or SIGTERM) stops the agent, which withdraws what is pending, then this UI.
Standard library only.
"""

import argparse
import json
import signal
import subprocess
import sys


def describe(msg):
    who = f"hci{msg.get('controller')} {msg.get('address')} ({msg.get('address_type')})"
    kind = msg.get("request") or msg.get("event")
    if kind == "confirm":
        return f"{who}: does the device show {msg['value']:06d}?"
    if kind == "authorize":
        return f"{who}: pair without verification (Just Works)?"
    if kind == "passkey":
        return f"{who}: passkey shown on the device?"
    if kind == "pin":
        return f"{who}: PIN code{' (16 digits)' if msg.get('secure') else ''}?"
    if kind == "display-passkey":
        return f"{who}: type {msg['passkey']:06d} on the device ({msg['entered']} typed)"
    if kind == "ready":
        return f"agent ready (protocol {msg['protocol']} v{msg['version']}, {msg['io_capability']})"
    if kind == "failed":
        return f"{who}: pairing failed: {msg['status_name']}"
    if kind == "completed":
        return f"{who}: paired, {msg['key']} ({'authenticated' if msg['authenticated'] else 'unauthenticated'})"
    return f"{kind}: {json.dumps(msg)}"


def answer(msg, args):
    kind, rid = msg["request"], msg["id"]
    if args.accept == "ask":
        reply = input(describe(msg) + " ").strip()
        if kind in ("confirm", "authorize"):
            return {"id": rid, "accept": reply.lower() in ("y", "yes")}
        if not reply:
            return {"id": rid, "accept": False}
        return {"id": rid, "passkey": int(reply)} if kind == "passkey" else {"id": rid, "pin": reply}
    if args.accept == "no":
        return {"id": rid, "accept": False}
    if kind in ("confirm", "authorize"):
        return {"id": rid, "accept": True}
    if kind == "passkey" and args.passkey is not None:
        return {"id": rid, "passkey": args.passkey}
    if kind == "pin" and args.pin is not None:
        return {"id": rid, "pin": args.pin}
    return {"id": rid, "accept": False}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept", choices=["yes", "no", "ask"], default="ask")
    parser.add_argument("--passkey", type=int)
    parser.add_argument("--pin")
    parser.add_argument("--log")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the agent command after --")
    agent = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    # Stopping the UI stops the agent: it gets SIGTERM and says `stopped`.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.terminate())
    log = open(args.log, "a", buffering=1) if args.log else None
    for line in agent.stdout:
        if log:
            log.write(line)
        msg = json.loads(line)
        if "request" in msg:
            reply = answer(msg, args)
            print(f"{describe(msg)} -> {json.dumps(reply)}", flush=True)
            agent.stdin.write(json.dumps(reply) + "\n")
            agent.stdin.flush()
        else:
            print(describe(msg), flush=True)
    sys.exit(agent.wait())


if __name__ == "__main__":
    main()
