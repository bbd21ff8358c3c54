//! Key-store helpers: file modes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}
