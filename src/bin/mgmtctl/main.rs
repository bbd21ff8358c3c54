//! `mgmtctl`: the command-line tool for the Linux Bluetooth Management API.

fn main() {}
