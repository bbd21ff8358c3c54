//! Controller configuration options (Read Controller Configuration Information, New
//! Configuration Options).

bitflags::bitflags! {
    /// Configuration a controller supports or still misses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ConfigOptions: u32 {
        /// External configuration.
        const EXTERNAL_CONFIG = 1 << 0;
        /// A public address must be set.
        const PUBLIC_ADDRESS = 1 << 1;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(ConfigOptions, u32);
