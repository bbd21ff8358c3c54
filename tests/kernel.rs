//! The kernel tier: tests that need a Linux kernel with Bluetooth and virtual controllers.
//! Built only with `--features kernel-tests`; `tests/kernel/run` runs them in a QEMU VM.
