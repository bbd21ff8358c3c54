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

mod command_result;
mod controller;

pub use command_result::*;
pub use controller::*;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_event_is_a_value() {
        let e = Event::decode(EventCode(0x0999), &[9]).unwrap();
        assert_eq!(e.code(), EventCode(0x0999));
    }
}
