"""Writes a bond store in bluetoothd's layout for benches/run's scale figures.

    make_store.py DIR ADAPTER N_LTK N_LINK_KEYS

DIR/ADAPTER/<device>/info: N_LTK LE public devices with a [LongTermKey] and N_LINK_KEYS BR/EDR
devices with a [LinkKey]. Keys are made up (not secrets). Directories 0700, files 0600, as
the key store writes them.
"""

import os
import sys

root, adapter, n_ltk, n_link = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def write(device, text):
    d = os.path.join(root, adapter, device)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, "info")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


os.makedirs(root, mode=0o700, exist_ok=True)
os.chmod(root, 0o700)
for i in range(n_ltk):
    key = f"{i:032X}"
    write(f"C1:00:00:00:{i >> 8:02X}:{i & 0xFF:02X}",
          "[General]\nName=bench\nAddressType=public\nSupportedTechnologies=LE;\n\n"
          f"[LongTermKey]\nKey={key}\nAuthenticated=0\nEncSize=16\nEDiv=0\nRand=0\n")
for i in range(n_link):
    key = f"{i + 0x10000:032X}"
    write(f"B2:00:00:00:{i >> 8:02X}:{i & 0xFF:02X}",
          "[General]\nName=bench\nSupportedTechnologies=BR/EDR;\n\n"
          f"[LinkKey]\nKey={key}\nType=4\nPINLength=0\n")
os.chmod(os.path.join(root, adapter), 0o700)
