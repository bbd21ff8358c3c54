//! The kernel tier: tests that need a Linux kernel with Bluetooth and virtual controllers.
//! Built only with `--features kernel-tests`; `tests/kernel/run` builds them and runs them in a
//! QEMU VM (see `tests/kernel/README.md`). Every test records a btmon capture into the
//! artifacts dir and starts its own virtual controllers.

#[path = "kernel/support.rs"]
mod support;

#[path = "kernel/agent_service.rs"]
mod agent_service;
#[path = "kernel/bonds.rs"]
mod bonds;
#[path = "kernel/btvirt_pairing.rs"]
mod btvirt_pairing;
#[path = "kernel/bumble_peer.rs"]
mod bumble_peer;
#[path = "kernel/client.rs"]
mod client;
#[path = "kernel/environment.rs"]
mod environment;
#[path = "kernel/l2cap.rs"]
mod l2cap;
#[path = "kernel/legacy_pin.rs"]
mod legacy_pin;
#[path = "kernel/load_limits.rs"]
mod load_limits;
#[path = "kernel/mgmt_basics.rs"]
mod mgmt_basics;
#[path = "kernel/oob.rs"]
mod oob;
#[path = "kernel/pairing_bumble.rs"]
mod pairing_bumble;
#[path = "kernel/pairing_matrix.rs"]
mod pairing_matrix;
#[path = "kernel/reconnect.rs"]
mod reconnect;
#[path = "kernel/roles.rs"]
mod roles;
#[path = "kernel/static_address.rs"]
mod static_address;
