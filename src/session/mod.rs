//! The sans-IO session core: request matching, the pairing reply lane, timeouts.
