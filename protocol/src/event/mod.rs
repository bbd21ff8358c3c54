//! Every MGMT event with its typed parameters (doc/mgmt-protocol.rst, "Events"; kernel
//! `include/net/bluetooth/mgmt.h`, `MGMT_EV_*`).
//!
//! One table at the bottom of this file maps event codes to types. From it come the named
//! [`EventCode`] constants, the [`EventParameters`] impls and the sum type [`Event`], which
//! decodes by code. An event code this crate does not know is [`Event::Unknown`], a value, not
//! an error.
//!
//! Length policy: event parameters are exact, except where the API appended fields in later
//! versions (those end in an `Option`) and the variable-length blocks that carry their own
//! length.

use crate::code::EventCode;
use crate::error::DecodeError;
use crate::wire::{decode_exact, RestBytes, Wire};

mod advertising;
mod command_result;
mod config;
mod connection;
mod controller;
mod device;
mod discovery;
mod keys;
mod mesh;
mod monitor;
mod pairing;
mod suspend;

pub use advertising::*;
pub use command_result::*;
pub use config::*;
pub use connection::*;
pub use controller::*;
pub use device::*;
pub use discovery::*;
pub use keys::*;
pub use mesh::*;
pub use monitor::*;
pub use pairing::*;
pub use suspend::*;

/// An event's parameters, tied to its code.
pub trait EventParameters: Wire {
    /// The event's code.
    const CODE: EventCode;
    /// The event's name as the API documents it.
    const NAME: &'static str;
}

/// Declares the event table. Each row: code, constant name, documented name, parameter type.
macro_rules! event_table {
    ($(
        $(#[$doc:meta])*
        $code:literal $konst:ident $name:literal => $ty:ident;
    )*) => {
        impl EventCode {
            $( $(#[$doc])* pub const $konst: EventCode = EventCode($code); )*
        }

        $(
            impl EventParameters for $ty {
                const CODE: EventCode = EventCode($code);
                const NAME: &'static str = $name;
            }
        )*

        /// Every event code this crate knows, with its documented name, in code order.
        pub const ALL_EVENT_CODES: &[(EventCode, &str)] = &[ $( (EventCode($code), $name), )* ];

        pub(crate) fn event_name(code: u16) -> Option<&'static str> {
            match code {
                $( $code => Some($name), )*
                _ => None,
            }
        }

        /// Any event, decoded by code.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
        #[non_exhaustive]
        pub enum Event {
            $( $(#[$doc])* $ty($ty), )*
            /// An event this crate does not know, kept as raw parameters.
            Unknown {
                /// Its code.
                code: EventCode,
                /// Its parameters.
                params: RestBytes,
            },
        }

        impl Event {
            /// The event's code.
            pub fn code(&self) -> EventCode {
                match self {
                    $( Event::$ty(_) => EventCode($code), )*
                    Event::Unknown { code, .. } => *code,
                }
            }

            /// Decodes `params` as the parameters of event `code`.
            pub fn decode(code: EventCode, params: &[u8]) -> Result<Self, DecodeError> {
                match code.0 {
                    $( $code => decode_exact::<$ty>($name, params).map(Event::$ty), )*
                    _ => Ok(Event::Unknown { code, params: RestBytes(params.to_vec()) }),
                }
            }

            /// Appends the parameters' wire bytes.
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $( Event::$ty(e) => e.encode(out), )*
                    Event::Unknown { params, .. } => params.encode(out),
                }
            }
        }

        $(
            impl From<$ty> for Event {
                fn from(e: $ty) -> Self {
                    Event::$ty(e)
                }
            }
        )*
    };
}

event_table! {
    /// Command Complete.
    0x0001 COMMAND_COMPLETE "Command Complete" => CommandComplete;
    /// Command Status.
    0x0002 COMMAND_STATUS "Command Status" => CommandStatus;
    /// Controller Error.
    0x0003 CONTROLLER_ERROR "Controller Error" => ControllerError;
    /// Index Added.
    0x0004 INDEX_ADDED "Index Added" => IndexAdded;
    /// Index Removed.
    0x0005 INDEX_REMOVED "Index Removed" => IndexRemoved;
    /// New Settings.
    0x0006 NEW_SETTINGS "New Settings" => NewSettings;
    /// Class Of Device Changed.
    0x0007 CLASS_OF_DEVICE_CHANGED "Class Of Device Changed" => ClassOfDeviceChanged;
    /// Local Name Changed.
    0x0008 LOCAL_NAME_CHANGED "Local Name Changed" => LocalNameChanged;
    /// New Link Key.
    0x0009 NEW_LINK_KEY "New Link Key" => NewLinkKey;
    /// New Long Term Key.
    0x000A NEW_LONG_TERM_KEY "New Long Term Key" => NewLongTermKey;
    /// Device Connected.
    0x000B DEVICE_CONNECTED "Device Connected" => DeviceConnected;
    /// Device Disconnected.
    0x000C DEVICE_DISCONNECTED "Device Disconnected" => DeviceDisconnected;
    /// Connect Failed.
    0x000D CONNECT_FAILED "Connect Failed" => ConnectFailed;
    /// PIN Code Request.
    0x000E PIN_CODE_REQUEST "PIN Code Request" => PinCodeRequest;
    /// User Confirmation Request.
    0x000F USER_CONFIRM_REQUEST "User Confirmation Request" => UserConfirmRequest;
    /// User Passkey Request.
    0x0010 USER_PASSKEY_REQUEST "User Passkey Request" => UserPasskeyRequest;
    /// Authentication Failed.
    0x0011 AUTHENTICATION_FAILED "Authentication Failed" => AuthenticationFailed;
    /// Device Found.
    0x0012 DEVICE_FOUND "Device Found" => DeviceFound;
    /// Discovering.
    0x0013 DISCOVERING "Discovering" => Discovering;
    /// Device Blocked.
    0x0014 DEVICE_BLOCKED "Device Blocked" => DeviceBlocked;
    /// Device Unblocked.
    0x0015 DEVICE_UNBLOCKED "Device Unblocked" => DeviceUnblocked;
    /// Device Unpaired.
    0x0016 DEVICE_UNPAIRED "Device Unpaired" => DeviceUnpaired;
    /// Passkey Notify.
    0x0017 PASSKEY_NOTIFY "Passkey Notify" => PasskeyNotify;
    /// New Identity Resolving Key.
    0x0018 NEW_IDENTITY_RESOLVING_KEY "New Identity Resolving Key" => NewIdentityResolvingKey;
    /// New Signature Resolving Key.
    0x0019 NEW_SIGNATURE_RESOLVING_KEY "New Signature Resolving Key" => NewSignatureResolvingKey;
    /// Device Added.
    0x001A DEVICE_ADDED "Device Added" => DeviceAdded;
    /// Device Removed.
    0x001B DEVICE_REMOVED "Device Removed" => DeviceRemoved;
    /// New Connection Parameter.
    0x001C NEW_CONNECTION_PARAMETER "New Connection Parameter" => NewConnectionParameter;
    /// Unconfigured Index Added.
    0x001D UNCONFIGURED_INDEX_ADDED "Unconfigured Index Added" => UnconfiguredIndexAdded;
    /// Unconfigured Index Removed.
    0x001E UNCONFIGURED_INDEX_REMOVED "Unconfigured Index Removed" => UnconfiguredIndexRemoved;
    /// New Configuration Options.
    0x001F NEW_CONFIGURATION_OPTIONS "New Configuration Options" => NewConfigurationOptions;
    /// Extended Index Added.
    0x0020 EXTENDED_INDEX_ADDED "Extended Index Added" => ExtendedIndexAdded;
    /// Extended Index Removed.
    0x0021 EXTENDED_INDEX_REMOVED "Extended Index Removed" => ExtendedIndexRemoved;
    /// Local Out Of Band Extended Data Updated.
    0x0022 LOCAL_OOB_EXTENDED_DATA_UPDATED "Local Out Of Band Extended Data Updated" => LocalOobExtendedDataUpdated;
    /// Advertising Added.
    0x0023 ADVERTISING_ADDED "Advertising Added" => AdvertisingAdded;
    /// Advertising Removed.
    0x0024 ADVERTISING_REMOVED "Advertising Removed" => AdvertisingRemoved;
    /// Extended Controller Information Changed.
    0x0025 EXTENDED_CONTROLLER_INFO_CHANGED "Extended Controller Information Changed" => ExtendedControllerInfoChanged;
    /// PHY Configuration Changed.
    0x0026 PHY_CONFIGURATION_CHANGED "PHY Configuration Changed" => PhyConfigurationChanged;
    /// Experimental Feature Changed.
    0x0027 EXPERIMENTAL_FEATURE_CHANGED "Experimental Feature Changed" => ExperimentalFeatureChanged;
    /// Default System Configuration Changed.
    0x0028 DEFAULT_SYSTEM_CONFIGURATION_CHANGED "Default System Configuration Changed" => DefaultSystemConfigurationChanged;
    /// Default Runtime Configuration Changed.
    0x0029 DEFAULT_RUNTIME_CONFIGURATION_CHANGED "Default Runtime Configuration Changed" => DefaultRuntimeConfigurationChanged;
    /// Device Flags Changed.
    0x002A DEVICE_FLAGS_CHANGED "Device Flags Changed" => DeviceFlagsChanged;
    /// Advertisement Monitor Added.
    0x002B ADVERTISEMENT_MONITOR_ADDED "Advertisement Monitor Added" => AdvertisementMonitorAdded;
    /// Advertisement Monitor Removed.
    0x002C ADVERTISEMENT_MONITOR_REMOVED "Advertisement Monitor Removed" => AdvertisementMonitorRemoved;
    /// Controller Suspend.
    0x002D CONTROLLER_SUSPEND "Controller Suspend" => ControllerSuspend;
    /// Controller Resume.
    0x002E CONTROLLER_RESUME "Controller Resume" => ControllerResume;
    /// Advertisement Monitor Device Found.
    0x002F ADVERTISEMENT_MONITOR_DEVICE_FOUND "Advertisement Monitor Device Found" => AdvertisementMonitorDeviceFound;
    /// Advertisement Monitor Device Lost.
    0x0030 ADVERTISEMENT_MONITOR_DEVICE_LOST "Advertisement Monitor Device Lost" => AdvertisementMonitorDeviceLost;
    /// Mesh Device Found.
    0x0031 MESH_DEVICE_FOUND "Mesh Device Found" => MeshDeviceFound;
    /// Mesh Packet Transmit Complete.
    0x0032 MESH_PACKET_TRANSMIT_COMPLETE "Mesh Packet Transmit Complete" => MeshPacketTransmitComplete;
    /// Security Level Changed.
    0x0033 SECURITY_LEVEL_CHANGED "Security Level Changed" => SecurityLevelChanged;
}

/// Checks shared by every event module's golden tests.
#[cfg(test)]
pub(crate) mod golden {
    use super::{Event, EventParameters};
    use crate::wire::{decode_exact, encode_to_vec};
    use core::fmt::Debug;

    /// Golden check: `bytes` decode to `expected` both as `T` and through [`Event::decode`]
    /// by code, and both encode back to exactly `bytes`.
    pub(crate) fn check<T>(bytes: &[u8], expected: &T)
    where
        T: EventParameters + Debug + PartialEq + Clone + Into<Event>,
    {
        let typed: T = decode_exact(T::NAME, bytes).unwrap();
        assert_eq!(&typed, expected);
        assert_eq!(encode_to_vec(&typed), bytes, "{} encodes back", T::NAME);
        let any = Event::decode(T::CODE, bytes).unwrap();
        assert_eq!(any, expected.clone().into());
        assert_eq!(any.code(), T::CODE);
        assert_eq!(any.code().name(), Some(T::NAME));
        let mut out = Vec::new();
        any.encode(&mut out);
        assert_eq!(out, bytes);
    }

    /// Bytes from hex digits; spaces are ignored so vectors can show their fields.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        crate::hex::parse_hex(&s.replace(' ', "")).expect("valid hex in a test vector")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_event_is_a_value() {
        let e = Event::decode(EventCode(0x0999), &[9]).unwrap();
        assert_eq!(e.code(), EventCode(0x0999));
    }

    #[test]
    fn whole_frames_from_two_kernel_controllers() {
        // Parameters from lab/btvirt-kernel-kernel-le-sc-passkey.btsnoop, records 309 (hci1:
        // Passkey Notify) and 313 (hci0: User Passkey Request); each frame header is rebuilt
        // from the record's event code and controller index.
        let notify = golden::hex("1700 0100 0c00 00000001aa0001 2b060000 00");
        let frame = crate::EventFrame::decode(&notify).unwrap();
        assert_eq!(frame.index.to_string(), "hci1");
        let Event::PasskeyNotify(ev) = &frame.event else {
            panic!("{frame:?}")
        };
        assert_eq!((ev.passkey, ev.entered), (1579, 0));
        assert_eq!(frame.encode().unwrap(), notify);

        let request = golden::hex("1000 0000 0700 01000101aa0001");
        let frame = crate::EventFrame::decode(&request).unwrap();
        assert_eq!(frame.index.to_string(), "hci0");
        let Event::UserPasskeyRequest(ev) = &frame.event else {
            panic!("{frame:?}")
        };
        assert_eq!(ev.address.to_string(), "00:AA:01:01:00:01 (LE Public)");
        assert_eq!(frame.encode().unwrap(), request);
    }

    #[test]
    fn table_is_in_code_order_without_gaps() {
        for (i, (code, name)) in ALL_EVENT_CODES.iter().enumerate() {
            assert_eq!(usize::from(code.0), i + 1, "{name}");
            assert_eq!(code.name(), Some(*name));
        }
    }
}
