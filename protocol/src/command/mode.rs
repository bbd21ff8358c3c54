//! Commands that switch one controller setting, each answered with the new current settings.

crate::wire_struct! {
    /// Set Powered (0x0005).
    pub struct SetPowered {
        /// Power on (true) or off.
        pub powered: bool,
    }
}
