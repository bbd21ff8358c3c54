"""mgmtctl's link order: the function symbols an agent runs, hot first (read by build.rs).

    order.py write PROFILE_DIR BINARY ORDER_FILE   the order from the callgrind files of
                                                   benches/vm/scenario.py's `profile` phase
    order.py check BINARY ORDER_FILE               BINARY was linked with ORDER_FILE, and the
                                                   file is not stale for it

The order: the functions whose cost grew from a start-up alone to a start-up and pairings
answered (the answer path, most costly first), then the initiator's, then the start-up's.
Only symbols BINARY defines are written (libc's and the loader's functions are not ours to
place). `check` fails when fewer than MIN_FOUND of the file's symbols are in BINARY (the code
changed under it: record it again) or when those found are not laid out in the file's order.
"""

import collections
import re
import subprocess
import sys

MIN_FOUND = 0.85


def costs(path):
    """Self cost (instructions) per function name in a callgrind output file."""
    names, cost = {}, collections.Counter()
    current, after_call = None, False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
                if m is None:
                    name = line.split("=", 1)[1].strip()
                else:
                    if m[2]:
                        names[m[1]] = m[2]
                    name = names[m[1]]
                if line.startswith("fn="):
                    current, after_call = name, False
            elif line.startswith("calls="):
                after_call = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                elif current is not None:
                    fields = line.split()
                    if len(fields) >= 2:
                        cost[current] += int(fields[1])
    return cost


def functions(binary):
    """{symbol: (address, size)} of the functions BINARY defines."""
    out = subprocess.run(["nm", "--defined-only", "-S", binary], capture_output=True,
                         text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            found.setdefault(fields[3], (int(fields[0], 16), int(fields[1], 16)))
    return found


def write(profile_dir, binary, order_file):
    start = costs(f"{profile_dir}/callgrind.start")
    responder = costs(f"{profile_dir}/callgrind.responder")
    initiator = costs(f"{profile_dir}/callgrind.initiator")
    answer = sorted((f for f in responder if responder[f] > start.get(f, 0)),
                    key=lambda f: (start.get(f, 0) - responder[f], f))
    defined = functions(binary)
    order, seen = [], set()
    for group in (answer, sorted(initiator, key=lambda f: (-initiator[f], f)),
                  sorted(start, key=lambda f: (-start[f], f))):
        for name in group:
            if name in defined and name not in seen:
                seen.add(name)
                order.append(name)
    if not order:
        sys.exit("order.py: no function of the binary in the profile (was it stripped?)")
    with open(order_file, "w") as f:
        f.write("".join(name + "\n" for name in order))
    print(f"order.py: {len(order)} functions ({sum(1 for f in answer if f in defined)} on the "
          f"answer path) of {len(defined)} in {binary}")


def check(binary, order_file):
    with open(order_file) as f:
        order = [line.strip() for line in f if line.strip()]
    defined = functions(binary)
    found = [name for name in order if name in defined]
    share = len(found) / len(order) if order else 0
    addresses = [defined[name][0] for name in found]
    out_of_order = sum(1 for a, b in zip(addresses, addresses[1:]) if b < a)
    print(f"link order: {len(found)} of {len(order)} symbols in {binary} ({share:.0%}), "
          f"{out_of_order} out of order")
    if share < MIN_FOUND:
        sys.exit(f"link order stale: fewer than {MIN_FOUND:.0%} of {order_file}'s symbols "
                 "are in the binary; run packaging/link-order/record")
    if out_of_order:
        sys.exit(f"link order not applied: the binary's functions are not in {order_file}'s "
                 "order (build.rs applies it only with the toolchain in "
                 "packaging/link-order/rustc-version, linking with Rust's own LLD)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    else:
        sys.exit(__doc__)
