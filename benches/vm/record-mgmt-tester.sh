#!/bin/sh
# In the VM: records BlueZ's mgmt-tester suite with btmon (into the tmpfs, then copied to $1).
# benches/run uses the capture (about 13,000 frames) for its decode figures; made once.
T=$KERNEL_TOOLS
"$T/btmon" -w /tmp/mgmt-tester.btsnoop >/dev/null 2>&1 &
sleep 2
"$T/mgmt-tester" >/dev/null 2>&1
kill -INT $!
wait $!
cp /tmp/mgmt-tester.btsnoop "$1.part" && mv "$1.part" "$1"
