"""A scriptable Bluetooth peer for the kernel tier, built on Bumble.

One process, started once per test and driven over stdin/stdout:

* It serves a Bumble Controller to the kernel through /dev/vhci, so the kernel gets one new
  controller (public address KERNEL_SIDE below).
* On the same in-memory LocalLink it runs a second Bumble Controller with a Bumble Host and
  Device on top: the peer the kernel pairs with (public PEER, LE static random PEER_LE). It is
  connectable over BR/EDR and advertises over LE.

Commands (one per line on stdin; each answered "OK <command>" or "ERROR <why>"):
  io <0-4>             IO capability (DisplayOnly, DisplayYesNo, KeyboardOnly,
                       NoInputNoOutput, KeyboardDisplay) for the next pairing
  sc on|off            Secure Connections
  mitm on|off          MITM protection requested
  bonding on|off       bonding requested
  accept yes|no        answer pairing requests and confirmations with yes or no
  passkey <n>          passkey to display when the peer picks one (LE legacy, LE SC)
  type <n>|none        answer the pending PASSKEY? with <n> (or refuse); sent before the
                       prompt, it answers the next one. The peer never types on its own: a
                       PASSKEY? waits (up to 60 s) for the test to send what the other side shows
  pair <addr> le|bredr connect to <addr> (LE: public address of the kernel side) and pair
  disconnect           drop every connection
  adv <hex> [<hex>]    advertise (LE, connectable) with this advertising data (and scan
                       response) instead of Bumble's default
  scan on|off          LE scanning; each advertisement not reported before (by address and
                       data) is printed as ADV
  connect <addr> public|random   connect over LE to an advertiser
  secure-on-connect on|off       as LE peripheral, send a Security Request on each new
                       connection (a bonded central then encrypts with the stored key)
  forget               delete every key the peer stored (its own "unpair")
  oob local            make fresh LE SC OOB data (key pair and random value) for the next
                       pairings and print it as an NDEF record (OOB line)
  oob peer <hex>       the other side's LE SC OOB data: an NDEF message (hex) with an
                       application/vnd.bluetooth.le.oob record, read here with our own parser
  oob off              pair without OOB data again
  quit                 exit
Events (stdout):
  READY <kernel-side addr> <peer addr> <peer LE addr>
  CONNECTED <addr> <le|bredr>       DISCONNECTED <reason>
  CONFIRM <n>   asked to compare n  JUST_WORKS    asked to accept without a value
  DISPLAY <n>   shows passkey n     PASSKEY?      asked to type a passkey
  PAIRED <key kinds...>             FAILED <reason>
  ADV <addr> <addr type> <connectable 0|1> <hex data>   an advertisement the scan heard
  ENCRYPTED <0|1|2>     a link's encryption changed (0 off, 1 E0/AES-CCM, 2 AES-CCM BR/EDR)
  OOB <hex>     the peer's LE SC OOB data, an NDEF message of one le.oob record
  (key kinds: "ltk:authenticated", "irk:unauthenticated", ... for LE; for BR/EDR
  "link_key:0x08:AUTHENTICATED_COMBINATION_KEY_GENERATED_FROM_P_256", the HCI key type)

Shim 6 adds Reject Connection Request (the kernel's answer to a blocked device). Shim 5 gives
the kernel-side controller the HCI Inquiry Bumble lacks: every other controller on
the link answers with its class and the EIR its host wrote (Extended Inquiry Result).

Bumble 0.0.236 needs three adjustments to talk to the Linux kernel (see the shims below), and
two for fidelity: its link manager labels every Secure Simple Pairing link key
authenticated (shim 4 reports the type the association model gives), and its controller sends
LE Connection Complete even where the host unmasked LE Enhanced Connection Complete (shim 5
sends the event the specification requires; kernels from 6.19 on stall 20 s without it).
Logs go to stderr; set BUMBLE_PEER_DEBUG=1 for Bumble's debug log.
"""

import asyncio
import logging
import os
import sys

from bumble import core, hci, lmp, smp
from bumble.controller import Controller
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.smp import OobContext, OobSharedData
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

KERNEL_SIDE = "00:BB:00:00:00:01"
PEER = "00:BB:00:00:00:02"
PEER_LE = "C0:BB:00:00:00:02"
PEER_CLASS = 0x5A020C  # Phone (smartphone) with networking, capturing, object transfer, telephony


NO_ADDRESS = "00:00:00:00:00:00"


def kernel_side_address(opts):
    """The kernel-facing controller's public address: KERNEL_SIDE, or with
    --no-public-address none at all (00:00:00:00:00:00, what Read BD ADDR answers for a
    controller without one). The kernel then refuses to power it on until a static random
    address is set (hci_dev_open_sync: "Check for valid public address or a configured static
    random address"), and bonds made with it live under static-<address>."""
    return NO_ADDRESS if opts.no_public_address else KERNEL_SIDE


def emit(*words):
    print(*words, flush=True)


# --- shim 1: LE ACL data carries the connection's own address ---------------------------------
# LocalLink tags LE ACL data with the sending controller's random address. The kernel connects
# from its public address, so the receiving controller found no connection for the data and
# dropped it. Use the address the connection was made with instead.
def _send_acl_data(self, sender, destination, transport, data):
    if transport == core.PhysicalTransport.LE:
        receiver = self.find_le_controller(destination)
        conn = sender.le_connections.get(destination)
        source = conn.self_address if conn is not None else sender.random_address
    else:
        receiver = self.find_classic_controller(destination)
        source = sender.public_address
    if receiver is not None:
        asyncio.get_running_loop().call_soon(
            receiver.on_link_acl_data, source, transport, data)


LocalLink.send_acl_data = _send_acl_data

# --- shim 2: a dual-mode controller for the kernel ---------------------------------------------
# Bumble's Controller says "BR/EDR not supported" and lacks commands the kernel's BR/EDR init
# sends; an unknown Read Voice Setting (0x0C25) makes the whole init fail. Answer them with
# plausible values (return parameters after the status octet).
READ_RESULTS = {
    0x0C14: bytes(248),                 # Read Local Name
    0x0C1B: bytes([0x00, 0x08, 0x12, 0x00]),  # Read Page Scan Activity
    0x0C23: bytes(3),                   # Read Class of Device
    0x0C25: bytes([0x60, 0x00]),        # Read Voice Setting
    0x0C38: bytes([1]),                 # Read Number of Supported IAC
    0x0C39: bytes([1, 0x33, 0x8B, 0x9E]),  # Read Current IAC LAP (GIAC)
    0x0C46: bytes([0]),                 # Read Page Scan Type
    0x0C55: bytes([0]),                 # Read Simple Pairing Mode
    0x0C58: bytes([0]),                 # Read Inquiry Response Transmit Power Level
    0x0C5A: bytes([1, 0]),              # Read Default Erroneous Data Reporting
}
LINK_CONTROL, LE_CONTROLLER = 0x01, 0x08


class DualModeController(Controller):
    """The controller the kernel sees, with BR/EDR, SSP and SC enabled."""

    def __init__(self, *args, bredr=True, **kwargs):
        super().__init__(*args, **kwargs)
        if bredr:
            f = hci.LmpFeatureMask
            wanted = f.ENCRYPTION | f.SECURE_SIMPLE_PAIRING_CONTROLLER_SUPPORT
            for name in ("SECURE_CONNECTIONS_CONTROLLER_SUPPORT",
                         "SIMULTANEOUS_LE_AND_BR_EDR_TO_SAME_DEVICE_CAPABLE_CONTROLLER"):
                wanted |= getattr(f, name, 0)
            self.lmp_features = (self.lmp_features & ~f.BR_EDR_NOT_SUPPORTED) | wanted

    def on_hci_command(self, command):
        # Reached only for commands Bumble has no handler for.
        opcode = command.op_code
        result = READ_RESULTS.get(opcode)
        if result is None and (opcode >> 10) not in (LINK_CONTROL, LE_CONTROLLER):
            result = b""  # a baseband/informational write: accept it
        if result is None:
            if not isinstance(command, hci.HCI_SyncCommand):
                # An unknown asynchronous command gets a failing Command Status.
                self._send_hci_command_status(hci.HCI_ErrorCode.UNKNOWN_HCI_COMMAND_ERROR,
                                              opcode)
                return None
            return super().on_hci_command(command)
        return hci.HCI_GenericReturnParameters(data=bytes([0]) + result)

    # --- shim 5: Inquiry (0x0401) over the in-memory link ---
    # Bumble's controller has no inquiry. Remember the class and EIR each controller's host
    # writes, and answer an Inquiry with one Extended Inquiry Result per other controller on
    # the link (its public address, class, EIR), then Inquiry Complete.
    eir = bytes(240)
    class_of_device = 0

    def on_hci_write_extended_inquiry_response_command(self, command):
        self.eir = bytes(command.extended_inquiry_response)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_write_class_of_device_command(self, command):
        self.class_of_device = command.class_of_device
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_read_class_of_device_command(self, _command):
        return hci.HCI_Read_Class_Of_Device_ReturnParameters(
            status=hci.HCI_ErrorCode.SUCCESS, class_of_device=self.class_of_device)

    def on_hci_inquiry_command(self, command):
        self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
        others = [c for c in (self.link.controllers if self.link else []) if c is not self]

        def report():
            for other in others:
                eir = getattr(other, "eir", bytes(240))
                self.send_hci_packet(hci.HCI_Extended_Inquiry_Result_Event(
                    num_responses=1, bd_addr=other.public_address, page_scan_repetition_mode=1,
                    reserved=0, class_of_device=getattr(other, "class_of_device", 0),
                    clock_offset=0, rssi=-50,
                    extended_inquiry_response=eir.ljust(240, b"\0")[:240]))
            self.send_hci_packet(hci.HCI_Inquiry_Complete_Event(status=0))

        asyncio.get_running_loop().call_later(0.2, report)
        return None

    # --- shim 6: Reject Connection Request (0x040A) ---
    # Missing in Bumble; the kernel sends it for a blocked device. Refuse the host connection
    # request over the link and report the failed connection here.
    def on_hci_reject_connection_request_command(self, command):
        if command.bd_addr not in self.classic_connections:
            self._send_hci_command_status(
                hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, command.op_code)
            return None
        self._send_hci_command_status(hci.HCI_ErrorCode.SUCCESS, command.op_code)
        self.send_lmp_packet(command.bd_addr, lmp.LmpNotAccepted(
            lmp.Opcode.LMP_HOST_CONNECTION_REQ, command.reason))
        self.classic_connections.pop(command.bd_addr, None)
        self.on_classic_connection_complete(command.bd_addr, command.reason)
        return None

    # --- shim 3: Set Connection Encryption (0x0413) ---
    # Missing in Bumble; the kernel sends it after SSP and waits for it (PAIR_DEVICE would never
    # complete). Report encryption on with AES-CCM on both ends of the link.
    def on_hci_set_connection_encryption_command(self, command):
        conn = self.find_classic_connection_by_handle(command.connection_handle)
        if conn is None:
            self._send_hci_command_status(
                hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, command.op_code)
            return None
        self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
        mode = 0x02 if command.encryption_enable else 0x00

        def report():
            self.send_hci_packet(hci.HCI_Encryption_Change_Event(
                status=0, connection_handle=command.connection_handle, encryption_enabled=mode))
            other = self.link.find_classic_controller(conn.peer_address) if self.link else None
            other_conn = other.classic_connections.get(self.public_address) if other else None
            if other_conn is not None:
                other.send_hci_packet(hci.HCI_Encryption_Change_Event(
                    status=0, connection_handle=other_conn.handle, encryption_enabled=mode))

        asyncio.get_running_loop().call_soon(report)
        return None


    # --- shim 4: the link key type follows the association model ---
    # Bumble's link manager reports every SSP link key as Authenticated Combination Key
    # (P-256), even after Just Works. Rewrite the type the way a controller must (Core
    # Vol 3 Part C 5.2.2.6, as BlueZ's btdev also does): unauthenticated when either side is
    # NoInputNoOutput, when neither side asked for MITM protection, or when a DisplayOnly
    # side faces anything but KeyboardOnly (the Numeric Comparison is confirmed
    # automatically there); authenticated otherwise.
    #
    # --- shim 5: LE Enhanced Connection Complete when the host unmasked it ---
    # Core Vol 4 Part E 7.7.65.10: when the host unmasks HCI_LE_Enhanced_Connection_Complete
    # (LE event mask bit 9), the controller sends only that event for a new connection, never
    # HCI_LE_Connection_Complete. Bumble's controller always sends the latter. Linux unmasks the
    # enhanced event for any controller with LL Privacy or LE Extended Advertising (Bumble's has
    # both; use_enhanced_conn_complete() in hci_core.h) and its hci_le_create_conn_sync() waits
    # for exactly that subevent, so the LE Create Connection stays pending for the whole
    # connection timeout (20 s), ended by LE Create Connection Cancel. Up to 6.18 nothing else
    # waited behind it; since commit a106e50be74b ("Bluetooth: HCI: Add support for LL Extended
    # Feature Set", v6.19) the LE Read Remote Features that completes the connection's setup is
    # queued on the same hci_sync queue, so SMP (Pair Device) waits those 20 s too: the 7.2
    # failure of bumble_peer::kernel_pairs_with_bumble_over_le. Rewrite the event as the
    # specification says (no resolvable private addresses: both all zero).
    LE_ENHANCED_CONNECTION_COMPLETE_MASK = 1 << 9

    def send_hci_packet(self, packet):
        if isinstance(packet, hci.HCI_Link_Key_Notification_Event):
            conn = self.classic_connections.get(packet.bd_addr)
            if conn is not None:
                packet = hci.HCI_Link_Key_Notification_Event(
                    bd_addr=packet.bd_addr, link_key=packet.link_key,
                    key_type=ssp_key_type(conn.ssp_state))
        elif (isinstance(packet, hci.HCI_LE_Connection_Complete_Event)
              and self.le_event_mask & self.LE_ENHANCED_CONNECTION_COMPLETE_MASK):
            packet = hci.HCI_LE_Enhanced_Connection_Complete_Event(
                status=packet.status, connection_handle=packet.connection_handle,
                role=packet.role, peer_address_type=packet.peer_address_type,
                peer_address=packet.peer_address,
                local_resolvable_private_address=hci.Address.ANY,
                peer_resolvable_private_address=hci.Address.ANY,
                connection_interval=packet.connection_interval,
                peripheral_latency=packet.peripheral_latency,
                supervision_timeout=packet.supervision_timeout,
                central_clock_accuracy=packet.central_clock_accuracy)
        return super().send_hci_packet(packet)


def ssp_key_type(state):
    local, peer = state.local_io_capability, state.peer_io_capability
    mitm = (state.local_auth_reqs | state.peer_auth_reqs) & 0x01
    io = hci.IoCapability
    authenticated = (
        mitm
        and io.NO_INPUT_NO_OUTPUT not in (local, peer)
        and not (local == io.DISPLAY_ONLY and peer != io.KEYBOARD_ONLY)
        and not (peer == io.DISPLAY_ONLY and local != io.KEYBOARD_ONLY))
    kinds = hci.LinkKeyType
    return (kinds.AUTHENTICATED_COMBINATION_KEY_GENERATED_FROM_P_256 if authenticated
            else kinds.UNAUTHENTICATED_COMBINATION_KEY_GENERATED_FROM_P_256)


# --- the peer's behaviour, changed at run time by commands -------------------------------------
class Settings:
    def __init__(self, io):
        self.io = io
        self.sc = True
        self.mitm = True
        self.bonding = True
        self.accept = True
        self.passkey = None
        self.typed = None          # a "type" answer that came before its PASSKEY?
        self.typed_waiter = None   # the PASSKEY? waiting for a "type" answer
        self.secure_on_connect = False
        self.oob_context = None    # our LE SC OOB key pair and random value ("oob local")
        self.oob_peer = None       # the other side's confirmation and random ("oob peer")


# --- LE OOB data in NFC records, written and read here independently of the Rust code ---------
# NDEF record: header (MB 0x80, ME 0x40, SR 0x10, IL 0x08, TNF in the low 3 bits; 0x02 is a
# media type), type length, payload length (1 octet with SR, else 4), [id length], type, [id],
# payload. The le.oob payload is AD structures: length, type, data.
LE_OOB_TYPE = b"application/vnd.bluetooth.le.oob"


def ndef_record(media_type, payload):
    assert len(payload) < 256
    return bytes([0xD2, len(media_type), len(payload)]) + media_type + payload


def ndef_payload(message, media_type):
    i = 0
    while i < len(message):
        header, type_len = message[i], message[i + 1]
        if header & 0x10:
            length, j = message[i + 2], i + 3
        else:
            length, j = int.from_bytes(message[i + 2:i + 6], "big"), i + 6
        id_len = 0
        if header & 0x08:
            id_len, j = message[j], j + 1
        record_type = message[j:j + type_len]
        j += type_len + id_len
        payload = message[j:j + length]
        if len(payload) != length:
            raise ValueError("NDEF record truncated")
        if header & 0x07 == 0x02 and record_type == media_type:
            return payload
        if header & 0x40:
            break
        i = j + length
    raise ValueError("no %s record" % media_type.decode())


def ad_structures(data):
    out, i = {}, 0
    while i < len(data) and data[i]:
        length = data[i]
        out[data[i + 1]] = data[i + 2:i + 1 + length]
        i += 1 + length
    return out


class Delegate(PairingDelegate):
    def __init__(self, settings):
        super().__init__(io_capability=settings.io)
        self.settings = settings

    async def accept(self):
        return self.settings.accept

    async def confirm(self, auto=False):
        emit("JUST_WORKS")
        return self.settings.accept

    async def compare_numbers(self, number, digits):
        emit("CONFIRM %0*d" % (digits, number))
        return self.settings.accept

    async def get_number(self):
        s = self.settings
        emit("PASSKEY?")
        if s.typed is not None:
            value, s.typed = s.typed, None
            return value[0]
        s.typed_waiter = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(s.typed_waiter, 60)
        except asyncio.TimeoutError:
            emit("FAILED", "no passkey typed within 60 s")
            return None
        finally:
            s.typed_waiter = None

    async def display_number(self, number, digits):
        emit("DISPLAY %0*d" % (digits, number))

    async def generate_passkey(self):
        if self.settings.passkey is not None:
            return self.settings.passkey
        return await super().generate_passkey()


def transport_name(t):
    return "le" if t == core.PhysicalTransport.LE else "bredr"


class Peer:
    def __init__(self, device, settings):
        self.device = device
        self.settings = settings
        self.tasks = set()
        self.heard = set()
        device.on("advertisement", self.on_advertisement)
        device.pairing_config_factory = lambda conn: PairingConfig(
            sc=settings.sc, mitm=settings.mitm, bonding=settings.bonding,
            delegate=Delegate(settings), oob=self.oob_config())
        device.on("connection", self.on_connection)
        # BR/EDR pairing ends with a Link Key Notification; its type says what SSP achieved.
        device.host.on("link_key", self.on_link_key)

    def oob_config(self):
        s = self.settings
        if s.oob_context is None:
            return None
        return PairingConfig.OobConfig(our_context=s.oob_context, peer_data=s.oob_peer,
                                       legacy_context=None)

    def oob(self, args):
        s = self.settings
        if args == ["local"]:
            s.oob_context = OobContext()
            shared = s.oob_context.share()
            address = bytes(hci.Address(PEER_LE)) + bytes([0x01])  # static random
            ad = b"".join(bytes([len(v) + 1, t]) + v for t, v in (
                (0x1B, address), (0x1C, bytes([0x00])), (0x22, shared.c), (0x23, shared.r)))
            emit("OOB", ndef_record(LE_OOB_TYPE, ad).hex())
        elif len(args) == 2 and args[0] == "peer":
            ad = ad_structures(ndef_payload(bytes.fromhex(args[1]), LE_OOB_TYPE))
            if 0x22 not in ad or 0x23 not in ad:
                raise ValueError("no LE SC confirmation and random values")
            s.oob_peer = OobSharedData(c=ad[0x22], r=ad[0x23])
            if s.oob_context is None:
                s.oob_context = OobContext()
        elif args == ["off"]:
            s.oob_context = s.oob_peer = None
        else:
            raise ValueError("oob local | oob peer <hex> | oob off")

    def on_connection(self, conn):
        emit("CONNECTED", conn.peer_address, transport_name(conn.transport))
        conn.on("pairing", lambda keys: emit("PAIRED", *key_kinds(keys)))
        conn.on("pairing_failure", lambda reason: emit("FAILED", smp_reason_name(reason)))
        conn.on("classic_pairing_failure", lambda status: emit("FAILED", reason_name(status)))
        conn.on("disconnection", lambda reason: emit("DISCONNECTED", reason_name(reason)))
        conn.on("connection_encryption_change", lambda: emit("ENCRYPTED", conn.encryption))
        if (self.settings.secure_on_connect and conn.transport == core.PhysicalTransport.LE
                and conn.role == hci.Role.PERIPHERAL):
            self.device.request_pairing(conn)

    def on_link_key(self, address, key, key_type):
        try:
            name = hci.LinkKeyType(key_type).name
        except ValueError:
            name = "unknown"
        emit("PAIRED", "link_key:0x%02x:%s" % (key_type, name))

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def pair(self, address, transport):
        try:
            if transport == "le":
                conn = await self.device.connect(
                    hci.Address(address, hci.Address.PUBLIC_DEVICE_ADDRESS),
                    transport=core.PhysicalTransport.LE)
                await conn.pair()
            else:
                conn = await self.device.connect(
                    hci.Address(address, hci.Address.PUBLIC_DEVICE_ADDRESS),
                    transport=core.PhysicalTransport.BR_EDR)
                await conn.authenticate()
                await conn.encrypt()
        except Exception as e:  # reported to the test, which decides
            emit("FAILED", type(e).__name__, str(e).replace("\n", " "))

    def on_advertisement(self, adv):
        key = (str(adv.address), bytes(adv.data_bytes))
        if key in self.heard:
            return
        self.heard.add(key)
        kind = "random" if adv.address.is_random else "public"
        emit("ADV", adv.address.to_string(False), kind, int(adv.is_connectable),
             bytes(adv.data_bytes).hex() or "-")

    async def connect(self, address, kind):
        kinds = {"public": hci.Address.PUBLIC_DEVICE_ADDRESS,
                 "random": hci.Address.RANDOM_DEVICE_ADDRESS}
        try:
            await self.device.connect(hci.Address(address, kinds[kind]),
                                      transport=core.PhysicalTransport.LE)
        except Exception as e:  # reported to the test, which decides
            emit("FAILED", "connect", type(e).__name__, str(e).replace("\n", " "))

    async def disconnect(self):
        for conn in list(self.device.connections.values()):
            try:
                await conn.disconnect()
            except Exception as e:
                emit("FAILED", "disconnect", type(e).__name__)

    async def handle(self, line):
        words = line.split()
        if not words:
            return
        cmd, args = words[0], words[1:]
        s = self.settings

        def flag(on, off):
            if len(args) != 1 or args[0] not in (on, off):
                raise ValueError("expected %s|%s" % (on, off))
            return args[0] == on

        if cmd == "io":
            value = int(args[0])
            if not 0 <= value <= 4:
                raise ValueError("io capability is 0..4")
            s.io = value
        elif cmd == "sc":
            s.sc = flag("on", "off")
        elif cmd == "mitm":
            s.mitm = flag("on", "off")
        elif cmd == "bonding":
            s.bonding = flag("on", "off")
        elif cmd == "accept":
            s.accept = flag("yes", "no")
        elif cmd == "passkey":
            value = int(args[0])
            if not 0 <= value <= 999999:
                raise ValueError("passkey is 0..999999")
            s.passkey = value
        elif cmd == "type":
            if len(args) != 1:
                raise ValueError("type <n>|none")
            value = None if args[0] == "none" else int(args[0])
            if value is not None and not 0 <= value <= 999999:
                raise ValueError("passkey is 0..999999")
            if s.typed_waiter is not None and not s.typed_waiter.done():
                s.typed_waiter.set_result(value)
            else:
                s.typed = (value,)
        elif cmd == "pair":
            if len(args) != 2 or args[1] not in ("le", "bredr"):
                raise ValueError("pair <address> le|bredr")
            self.spawn(self.pair(args[0], args[1]))
        elif cmd == "disconnect":
            await self.disconnect()
        elif cmd == "secure-on-connect":
            s.secure_on_connect = flag("on", "off")
        elif cmd == "adv":
            if len(args) not in (1, 2):
                raise ValueError("adv <hex> [<hex>]")
            await self.device.stop_advertising()
            await self.device.start_advertising(
                auto_restart=True, advertising_data=bytes.fromhex(args[0]),
                scan_response_data=bytes.fromhex(args[1]) if len(args) == 2 else None)
        elif cmd == "scan":
            if flag("on", "off"):
                self.heard = set()
                await self.device.start_scanning(active=False)
            else:
                await self.device.stop_scanning()
        elif cmd == "connect":
            if len(args) != 2 or args[1] not in ("public", "random"):
                raise ValueError("connect <address> public|random")
            self.spawn(self.connect(args[0], args[1]))
        elif cmd == "forget":
            if self.device.keystore is not None:
                await self.device.keystore.delete_all()
        elif cmd == "oob":
            self.oob(args)
        elif cmd == "quit":
            emit("OK", line)
            os._exit(0)
        else:
            raise ValueError("unknown command")
        emit("OK", line)


def key_kinds(keys):
    kinds = []
    for name in ("ltk", "ltk_central", "ltk_peripheral", "irk", "csrk", "link_key"):
        key = getattr(keys, name, None)
        if key is not None:
            auth = "authenticated" if getattr(key, "authenticated", False) else "unauthenticated"
            kinds.append("%s:%s" % (name, auth))
    return kinds or ["none"]


def smp_reason_name(reason):
    """An SMP Pairing Failed reason (Core Vol 3 Part H 3.5.5), e.g. CONFIRM_VALUE_FAILED."""
    try:
        return smp.ErrorCode(reason).name
    except Exception:
        return "SMP_REASON_%#04x" % reason


def reason_name(reason):
    try:
        return hci.HCI_Constant.error_name(reason)
    except Exception:
        return str(reason)


def inquiry_without_names(wait):
    """--inquiry-without-name: inquiry results carry the EIR without its name structures
    (shortened and complete local name), as from a device that has none in its EIR, so the
    kernel must learn the name with a Remote Name Request (which Bumble's controllers answer
    over the link) once user space confirms it unknown (Confirm Name). Inquiry Complete comes
    `wait` seconds after the results, as from a real inquiry that goes on (a few seconds):
    the kernel resolves names only for Confirm Names that arrive while it is still running;
    Inquiry Cancel ends it early."""
    def strip(eir):
        out, i = b"", 0
        while i < len(eir) and eir[i]:
            length = eir[i]
            if eir[i + 1] not in (0x08, 0x09):
                out += eir[i:i + 1 + length]
            i += 1 + length
        return out

    def on_hci_inquiry_command(self, command):
        self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
        others = [c for c in (self.link.controllers if self.link else []) if c is not self]

        def report():
            for other in others:
                self.send_hci_packet(hci.HCI_Extended_Inquiry_Result_Event(
                    num_responses=1, bd_addr=other.public_address, page_scan_repetition_mode=1,
                    reserved=0, class_of_device=getattr(other, "class_of_device", 0),
                    clock_offset=0, rssi=-50,
                    extended_inquiry_response=strip(getattr(other, "eir", b"")).ljust(240, b"\0")))

        def complete():
            self.send_hci_packet(hci.HCI_Inquiry_Complete_Event(status=0))

        loop = asyncio.get_running_loop()
        self.inquiry = [loop.call_later(0.2, report), loop.call_later(0.2 + wait, complete)]
        return None

    # With an inquiry that lasts, Stop Discovery meets it running: the kernel sends Inquiry
    # Cancel (Bumble has none), which ends it without an Inquiry Complete (Core Vol 4 Part E
    # 7.1.2).
    def on_hci_inquiry_cancel_command(self, _command):
        for handle in getattr(self, "inquiry", []):
            handle.cancel()
        self.inquiry = []
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    DualModeController.on_hci_inquiry_command = on_hci_inquiry_command
    DualModeController.on_hci_inquiry_cancel_command = on_hci_inquiry_cancel_command


async def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--io", type=int, default=3, help="initial IO capability (0..4)")
    ap.add_argument("--bredr", action="store_true",
                    help="give the kernel-side controller BR/EDR (else LE only)")
    ap.add_argument("--transport", default="vhci", help="Bumble transport to the kernel")
    ap.add_argument("--no-public-address", action="store_true",
                    help="give the kernel-side controller no public address (00:00:00:00:00:00)")
    ap.add_argument("--inquiry-without-name", type=float, metavar="SECONDS",
                    help="inquiry results without the name; Inquiry Complete SECONDS later")
    opts = ap.parse_args()
    if opts.inquiry_without_name is not None:
        inquiry_without_names(opts.inquiry_without_name)
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if os.environ.get("BUMBLE_PEER_DEBUG") else logging.ERROR)

    link = LocalLink()
    to_kernel = await open_transport(opts.transport)
    DualModeController("kernel-side", host_source=to_kernel.source, host_sink=to_kernel.sink,
                       link=link, public_address=kernel_side_address(opts), bredr=opts.bredr)
    # The peer's own controller keeps Bumble's feature bits; the subclass only answers the
    # commands Bumble lacks.
    peer_controller = DualModeController("peer", link=link, public_address=PEER, bredr=False)
    settings = Settings(opts.io)
    config = DeviceConfiguration(name="bumble-peer", address=hci.Address(PEER_LE),
                                 classic_enabled=True, le_enabled=True,
                                 io_capability=opts.io, irk=bytes(range(16)),
                                 class_of_device=PEER_CLASS)
    device = Device(config=config, host=Host(peer_controller, AsyncPipeSink(peer_controller)))
    peer = Peer(device, settings)
    await device.power_on()
    await device.set_discoverable(True)
    await device.set_connectable(True)
    await device.start_advertising(auto_restart=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit("READY", kernel_side_address(opts), PEER, PEER_LE)
    while True:
        raw = await reader.readline()
        if not raw:
            break  # stdin closed: the test is gone
        line = raw.decode().strip()
        try:
            await peer.handle(line)
        except Exception as e:
            emit("ERROR", line, "-", type(e).__name__, str(e).replace("\n", " "))
    os._exit(0)  # stdin closed: the test is done with us; skip Bumble's slow teardown


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
