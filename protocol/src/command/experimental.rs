//! Experimental features of the kernel's Bluetooth stack, named by UUIDs that the API leaves
//! deliberately unstable: listing them and switching them on or off.

use crate::uuid::Uuid128;
use crate::wire::List16;

bitflags::bitflags! {
    /// The flags of an experimental feature (Read Experimental Features Information, Set
    /// Experimental Feature, Experimental Feature Changed).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ExpFeatureFlags: u32 {
        /// The feature is active.
        const ACTIVE = 1 << 0;
        /// Changing it changes the supported settings (re-read controller information).
        const SETTINGS_CHANGED = 1 << 1;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(ExpFeatureFlags, u32);

crate::wire_struct! {
    /// One experimental feature and its state (20 octets); also the reply to Set Experimental
    /// Feature.
    pub struct ExpFeature {
        /// The feature's UUID.
        pub uuid: Uuid128,
        /// Its flags.
        pub flags: ExpFeatureFlags,
    }
}

crate::wire_struct! {
    /// Read Experimental Features Information (0x0049, since 1.17): no parameters; for a
    /// controller or the non-controller index.
    pub struct ReadExpFeaturesInfo {}
}

crate::wire_struct! {
    /// Reply to Read Experimental Features Information. Layout: `count (2) | { uuid (16) |
    /// flags (4) } * count`.
    pub struct ReadExpFeaturesInfoReply {
        /// The features the kernel offers.
        pub features: List16<ExpFeature>,
    }
}

crate::open_enum! {
    /// The Action of Set Experimental Feature. Its meaning is UUID specific; most features
    /// take these two.
    pub struct ExpFeatureAction(u8) {
        /// Disable the feature.
        DISABLE = 0x00 => "Disable",
        /// Enable the feature.
        ENABLE = 0x01 => "Enable",
    }
}

crate::wire_struct! {
    /// Set Experimental Feature (0x004A, since 1.17). Layout: `uuid (16) [ | action (1) ]`.
    ///
    /// The document gives a one-octet Action; the kernel header declares a variable `param[]`
    /// after the UUID and accepts the all-zero UUID ("deactivate everything") without it, so
    /// the action is an optional trailing field.
    pub struct SetExpFeature {
        /// The feature (all zero: every feature).
        pub uuid: Uuid128,
        /// What to do with it.
        pub action: Option<ExpFeatureAction>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};

    fn feature_uuid() -> Uuid128 {
        // An arbitrary feature UUID, little endian on the wire.
        Uuid128(hex("1cda471c486c01ab9f46ecb9302599d4").try_into().unwrap())
    }

    #[test]
    fn read_exp_features_info() {
        // Documented layout, doc/mgmt-protocol.rst: Feature_Count (2), then UUID (16),
        // Flags (4).
        golden::command(&[], ReadExpFeaturesInfo {});
        golden::reply::<ReadExpFeaturesInfo>(
            &hex("0100 1cda471c486c01ab9f46ecb9302599d4 01000000"),
            ReadExpFeaturesInfoReply {
                features: List16(vec![ExpFeature {
                    uuid: feature_uuid(),
                    flags: ExpFeatureFlags::ACTIVE,
                }]),
            },
        );
    }

    #[test]
    fn set_exp_feature() {
        // Documented layout, doc/mgmt-protocol.rst: UUID (16), Action (1); reply UUID (16),
        // Flags (4).
        golden::command(
            &hex("1cda471c486c01ab9f46ecb9302599d4 01"),
            SetExpFeature {
                uuid: feature_uuid(),
                action: Some(ExpFeatureAction::ENABLE),
            },
        );
        golden::reply::<SetExpFeature>(
            &hex("1cda471c486c01ab9f46ecb9302599d4 03000000"),
            ExpFeature {
                uuid: feature_uuid(),
                flags: ExpFeatureFlags::ACTIVE | ExpFeatureFlags::SETTINGS_CHANGED,
            },
        );
        // Kernel header layout (param[] may be empty): the zero UUID alone.
        golden::command(
            &[0; 16],
            SetExpFeature {
                uuid: Uuid128([0; 16]),
                action: None,
            },
        );
    }
}
