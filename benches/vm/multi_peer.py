"""Several Bumble peer devices pairing with one kernel controller at the same time: the
"5 peers at once" part of the benchmark's scale phase (run by benches/vm/scenario.py with the
kernel tier's venv python).

    multi_peer.py [--peers N]

One process, as tests/kernel/peer/bumble_peer.py (whose shims it imports): a Bumble Controller
served to the kernel through /dev/vhci (LE only; public address KERNEL_SIDE), and on the same
LocalLink N peer Controllers, each with its own Bumble Host and Device (LE static random
address C0:BB:00:00:01:NN, its own IRK, DisplayYesNo, Secure Connections with MITM and
bonding, accepting every Numeric Comparison). The peers are centrals; the kernel controller
has to advertise (connectable) for them to connect, and keeps advertising after each
connection (see KeepAdvertising).

Commands (stdin, one per line):
  pair     every peer connects to the kernel's advertiser and pairs, all started together;
           one line per peer when it ends, then DONE
  reset    every peer drops its connection and forgets its keys; OK reset
  quit
Events (stdout):
  READY <kernel-side addr> <peer LE addr>...
  TARGET <addr> <public|random>     the advertiser the peers connect to (first `pair`)
  CONFIRM <peer addr> <n> <unix us> a peer was asked to compare n (and said yes)
  PAIRED <peer addr> <unix us>      FAILED <peer addr> <unix us> <why>
  DONE
"""

import argparse
import asyncio
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "kernel", "peer"))
import bumble_peer  # noqa: E402  (its import installs the shims on Bumble's classes)
from bumble import core, hci  # noqa: E402
from bumble.device import Device, DeviceConfiguration  # noqa: E402
from bumble.host import Host  # noqa: E402
from bumble.link import LocalLink  # noqa: E402
from bumble.pairing import PairingConfig, PairingDelegate  # noqa: E402
from bumble.transport import open_transport  # noqa: E402
from bumble.transport.common import AsyncPipeSink  # noqa: E402

KERNEL_SIDE = bumble_peer.KERNEL_SIDE
DISPLAY_YES_NO = 1


def now_us():
    return time.time_ns() // 1000


def emit(*words):
    print(*words, flush=True)


class Yes(PairingDelegate):
    """DisplayYesNo; says yes to every number and every request."""

    def __init__(self, address):
        super().__init__(io_capability=DISPLAY_YES_NO)
        self.address = address

    async def accept(self):
        return True

    async def confirm(self, auto=False):
        return True

    async def compare_numbers(self, number, digits):
        emit("CONFIRM", self.address, "%0*d" % (digits, number), now_us())
        return True


class KeepAdvertising(bumble_peer.DualModeController):
    """The kernel's controller, advertising on after a central connects (a benchmark shim).

    A controller stops advertising when a connection is made, and Linux enables connectable
    advertising again only after a disconnection, so N centrals would connect one per
    pairing. Here the advertiser that took the connection goes on advertising (the kernel
    still sees the connection and the advertising end as usual), so every peer connects at
    once and the pairings overlap."""

    def on_le_connect_ind(self, packet):
        running = [a for a in (self.le_legacy_advertiser, *self.advertising_sets.values())
                   if a.enabled]
        super().on_le_connect_ind(packet)
        for advertiser in running:
            if not advertiser.enabled:
                advertiser.start()


def peer_device(link, n):
    public = "00:BB:00:00:01:%02X" % n
    le = "C0:BB:00:00:01:%02X" % n
    controller = bumble_peer.DualModeController(f"peer{n}", link=link, public_address=public,
                                                bredr=False)
    config = DeviceConfiguration(name=f"bench-peer-{n}", address=hci.Address(le),
                                 classic_enabled=False, le_enabled=True,
                                 io_capability=DISPLAY_YES_NO, irk=bytes([n]) * 16)
    device = Device(config=config, host=Host(controller, AsyncPipeSink(controller)))
    device.pairing_config_factory = lambda conn: PairingConfig(
        sc=True, mitm=True, bonding=True, delegate=Yes(le))
    return le, device


async def find_advertiser(device):
    """The address of the first connectable advertisement heard (only the kernel's
    controller advertises on this link)."""
    found = asyncio.get_running_loop().create_future()

    def heard(adv):
        if adv.is_connectable and not found.done():
            found.set_result(adv.address)

    device.on("advertisement", heard)
    await device.start_scanning(active=False)
    try:
        return await asyncio.wait_for(found, 60)
    finally:
        device.remove_listener("advertisement", heard)
        await device.stop_scanning()


async def pair_one(address, device, target):
    try:
        conn = await device.connect(target, transport=core.PhysicalTransport.LE, timeout=60)
        await conn.pair()
        emit("PAIRED", address, now_us())
    except Exception as e:  # reported, the benchmark decides
        emit("FAILED", address, now_us(), type(e).__name__, str(e).replace("\n", " ")[:200])


async def reset(devices):
    for _, device in devices:
        for conn in list(device.connections.values()):
            try:
                await conn.disconnect()
            except Exception:  # already gone
                pass
        if device.keystore is not None:
            await device.keystore.delete_all()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", type=int, default=5)
    ap.add_argument("--transport", default="vhci", help="Bumble transport to the kernel")
    opts = ap.parse_args()
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if os.environ.get("BUMBLE_PEER_DEBUG") else logging.ERROR)
    link = LocalLink()
    to_kernel = await open_transport(opts.transport)
    KeepAdvertising("kernel-side", host_source=to_kernel.source,
                                   host_sink=to_kernel.sink, link=link,
                                   public_address=KERNEL_SIDE, bredr=False)
    devices = [peer_device(link, n) for n in range(1, opts.peers + 1)]
    for _, device in devices:
        await device.power_on()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit("READY", KERNEL_SIDE, *(a for a, _ in devices))
    target = None
    while True:
        raw = await reader.readline()
        if not raw:
            break
        line = raw.decode().strip()
        if line == "pair":
            if target is None:
                try:
                    target = await find_advertiser(devices[0][1])
                except asyncio.TimeoutError:
                    for a, _ in devices:
                        emit("FAILED", a, now_us(), "no connectable advertisement heard")
                    emit("DONE")
                    continue
                emit("TARGET", target.to_string(False),
                     "random" if target.is_random else "public")
            await asyncio.gather(*(pair_one(a, d, target) for a, d in devices))
            emit("DONE")
        elif line == "reset":
            await reset(devices)
            emit("OK", "reset")
        elif line == "quit":
            break
        elif line:
            emit("ERROR", line)
    os._exit(0)  # skip Bumble's slow teardown


if __name__ == "__main__":
    asyncio.run(main())
