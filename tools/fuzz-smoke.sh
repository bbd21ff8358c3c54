#!/bin/sh
# Builds the fuzz targets in fuzz/ with cargo-fuzz on a stable toolchain and runs each one
# briefly. CI smoke test, not a fuzzing campaign. Needs `cargo install cargo-fuzz` once.
# RUSTC_BOOTSTRAP=1 lets stable rustc accept the -Z sanitizer flags cargo-fuzz passes.
# Seconds per target: FUZZ_SECONDS (default 20).
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for target in event_decode command_decode ad_parse; do
    mkdir -p "fuzz/corpus/$target"
    cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$secs"
done
# The real captures seed the capture reader's corpus (read only; new inputs go to the first dir).
mkdir -p fuzz/corpus/btsnoop
cargo fuzz run btsnoop fuzz/corpus/btsnoop fixtures -- -max_total_time="$secs" -max_len=8192
