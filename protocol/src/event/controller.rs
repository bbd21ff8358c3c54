//! Events about a controller as a whole: errors, appearing and disappearing, settings changes.

use crate::settings::Settings;

crate::wire_struct! {
    /// Controller Error (0x0003): the HCI Hardware Error code.
    pub struct ControllerError {
        /// Error code from the controller.
        pub error_code: u8,
    }
}

crate::wire_struct! {
    /// Index Added (0x0004): a controller appeared (the frame's index); no parameters.
    pub struct IndexAdded {}
}

crate::wire_struct! {
    /// Index Removed (0x0005): a controller went away (the frame's index); no parameters.
    pub struct IndexRemoved {}
}

crate::wire_struct! {
    /// New Settings (0x0006): the controller's current settings changed.
    pub struct NewSettings {
        /// The new current settings.
        pub current_settings: Settings,
    }
}
