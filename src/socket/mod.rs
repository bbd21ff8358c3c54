//! The kernel MGMT socket. All `unsafe` of this crate lives in its `sys` module.
