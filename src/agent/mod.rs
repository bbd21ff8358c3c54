//! Pairing agents: the `Agent` trait, built-in agents and the runner that answers the kernel.
