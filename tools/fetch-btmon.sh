#!/bin/sh
# Fetches BlueZ's btmon from the distribution's `bluez` package without installing it, into
# .cache/btmon/ (git-ignored). Idempotent: does nothing when .cache/btmon/usr/bin/btmon runs.
# tests/btmon_reads_our_files.rs uses it to check that btmon reads the files our writer makes.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/btmon"
btmon="$dest/usr/bin/btmon"

if [ -x "$btmon" ] && "$btmon" --version >/dev/null 2>&1; then
    echo "btmon already present: $btmon ($("$btmon" --version))"
    exit 0
fi

command -v apt-get >/dev/null || { echo "fetch-btmon: needs apt-get (Debian/Ubuntu)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download bluez >/dev/null 2>&1; then
    # The package lists may be missing on a fresh machine or container.
    if [ "$(id -u)" = 0 ]; then apt-get update >/dev/null; else sudo apt-get update >/dev/null; fi
    apt-get download bluez
fi
rm -rf "$dest"
mkdir -p "$dest"
dpkg -x bluez_*.deb "$dest"

if ! "$btmon" --version >/dev/null 2>&1; then
    echo "fetch-btmon: $btmon does not run on this host; missing libraries:" >&2
    ldd "$btmon" | grep 'not found' >&2 || true
    exit 1
fi
echo "btmon ready: $btmon ($("$btmon" --version))"
