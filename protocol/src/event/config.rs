//! Events about kernel configuration: experimental features, and the default system and
//! runtime parameters (lists of [`Tlv`] entries).

use crate::command::ExpFeatureFlags;
use crate::tlv::Tlv;
use crate::uuid::Uuid128;
use crate::wire::Rest;

crate::wire_struct! {
    /// Experimental Feature Changed (0x0027, since 1.17): an experimental feature was
    /// switched (sent to the other sockets).
    ///
    /// ```text
    /// UUID (16, little endian) | Flags (4)
    /// ```
    pub struct ExperimentalFeatureChanged {
        /// Which feature.
        pub uuid: Uuid128,
        /// Its new state.
        pub flags: ExpFeatureFlags,
    }
}

crate::wire_struct! {
    /// Default System Configuration Changed (0x0028, since 1.18): some default system
    /// parameters changed (sent to the other sockets that used Read Default System
    /// Configuration).
    ///
    /// ```text
    /// { Parameter_Type (2) | Value_Length (1) | Value (Value_Length) } ... to the end
    /// ```
    pub struct DefaultSystemConfigurationChanged {
        /// The changed parameters with their new values.
        pub parameters: Rest<Tlv>,
    }
}

crate::wire_struct! {
    /// Default Runtime Configuration Changed (0x0029, since 1.18): some default runtime
    /// parameters changed (sent to the other sockets that used Read Default Runtime
    /// Configuration). Same layout as [`DefaultSystemConfigurationChanged`].
    pub struct DefaultRuntimeConfigurationChanged {
        /// The changed parameters with their new values.
        pub parameters: Rest<Tlv>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::golden::{check, hex};

    #[test]
    fn experimental_feature_changed() {
        // Documented layout: the debug feature d4992530-b9ec-469f-ab01-6c481c47da1c (UUID in
        // wire order, least significant octet first), now active.
        let ev = ExperimentalFeatureChanged {
            uuid: Uuid128(hex("1cda471c486c01ab9f46ecb9302599d4").try_into().unwrap()),
            flags: ExpFeatureFlags::ACTIVE,
        };
        check(&hex("1cda471c486c01ab9f46ecb9302599d4 01000000"), &ev);
        assert_eq!(ev.uuid.to_string(), "d4992530-b9ec-469f-ab01-6c481c47da1c");
        assert_eq!(ev.flags.to_string(), "active");
    }

    #[test]
    fn default_system_configuration_changed() {
        // Documented layout (mgmt_tlv list): parameter 0x001d with a 2-octet value 0x0060
        // and parameter 0x001e with 0x0030.
        let ev = DefaultSystemConfigurationChanged {
            parameters: Rest(vec![
                Tlv::from_u16(0x001d, 0x0060),
                Tlv::from_u16(0x001e, 0x0030),
            ]),
        };
        check(&hex("1d00 02 6000 1e00 02 3000"), &ev);
        // A value that runs past the end is an error, not a silently shorter list.
        assert!(crate::Event::decode(
            crate::EventCode::DEFAULT_SYSTEM_CONFIGURATION_CHANGED,
            &hex("1d00 02 6000 1e00 02 30")
        )
        .is_err());
    }

    #[test]
    fn default_runtime_configuration_changed() {
        // Documented layout: one parameter (type 0x0000) with a 1-octet value, and an empty
        // list, which is a valid event too.
        check(
            &hex("0000 01 01"),
            &DefaultRuntimeConfigurationChanged {
                parameters: Rest(vec![Tlv::new(0, vec![1])]),
            },
        );
        check(
            &[],
            &DefaultRuntimeConfigurationChanged {
                parameters: Rest(vec![]),
            },
        );
    }
}
