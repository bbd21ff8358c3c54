//! Every MGMT command with its parameters and its typed reply (doc/mgmt-protocol.rst,
//! "Commands"; kernel `include/net/bluetooth/mgmt.h`, `MGMT_OP_*`).
//!
//! One table at the bottom of this file maps opcodes to types. From it come the named
//! [`Opcode`] constants, the [`Command`] impls, and the two sum types [`AnyCommand`] and
//! [`AnyReply`] that decode by opcode. The parameter structs live in one module per concept.
//!
//! Length policy: command parameters are exact (no trailing bytes). A reply is decoded
//! strictly when the status is Success; a failed command's reply may carry the documented
//! parameters, a prefix of them, or nothing, so when it does not decode it is kept as
//! [`AnyReply::Unparsed`].

use crate::code::Opcode;
use crate::error::DecodeError;
use crate::status::Status;
use crate::wire::{decode_exact, RestBytes, Wire};

mod info;
mod mode;

pub use info::*;
pub use mode::*;

/// A command's parameters, tied to its opcode and reply type.
pub trait Command: Wire {
    /// The command's opcode.
    const OPCODE: Opcode;
    /// The command's name as the API documents it.
    const NAME: &'static str;
    /// The return parameters of its Command Complete on success.
    type Reply: Wire;
}

/// Declares the opcode table. Each row: opcode, constant name, documented name, parameter
/// type, reply type.
macro_rules! command_table {
    ($(
        $(#[$doc:meta])*
        $code:literal $konst:ident $name:literal => $ty:ident -> $reply:ty;
    )*) => {
        impl Opcode {
            $( $(#[$doc])* pub const $konst: Opcode = Opcode($code); )*
        }

        $(
            impl Command for $ty {
                const OPCODE: Opcode = Opcode($code);
                const NAME: &'static str = $name;
                type Reply = $reply;
            }
        )*

        /// Every opcode this crate knows, with its documented name, in opcode order.
        pub const ALL_OPCODES: &[(Opcode, &str)] = &[ $( (Opcode($code), $name), )* ];

        pub(crate) fn opcode_name(code: u16) -> Option<&'static str> {
            match code {
                $( $code => Some($name), )*
                _ => None,
            }
        }

        /// The parameters of any command, decoded by opcode.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
        #[non_exhaustive]
        pub enum AnyCommand {
            $( $(#[$doc])* $ty($ty), )*
            /// A command this crate does not know, kept as raw parameters.
            Unknown {
                /// Its opcode.
                opcode: Opcode,
                /// Its parameters.
                params: RestBytes,
            },
        }

        impl AnyCommand {
            /// The command's opcode.
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( AnyCommand::$ty(_) => Opcode($code), )*
                    AnyCommand::Unknown { opcode, .. } => *opcode,
                }
            }

            /// Decodes `params` as the parameters of `opcode`. Unknown opcodes give
            /// [`AnyCommand::Unknown`]; known ones must match their layout exactly.
            pub fn decode(opcode: Opcode, params: &[u8]) -> Result<Self, DecodeError> {
                match opcode.0 {
                    $( $code => decode_exact::<$ty>($name, params).map(AnyCommand::$ty), )*
                    _ => Ok(AnyCommand::Unknown { opcode, params: RestBytes(params.to_vec()) }),
                }
            }

            /// Appends the parameters' wire bytes.
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $( AnyCommand::$ty(c) => c.encode(out), )*
                    AnyCommand::Unknown { params, .. } => params.encode(out),
                }
            }
        }

        $(
            impl From<$ty> for AnyCommand {
                fn from(c: $ty) -> Self {
                    AnyCommand::$ty(c)
                }
            }
        )*

        /// The return parameters of any command's Command Complete, decoded by opcode.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
        #[non_exhaustive]
        pub enum AnyReply {
            $( $(#[$doc])* $ty($reply), )*
            /// The reply to a command this crate does not know.
            Unknown {
                /// The opcode it answers.
                opcode: Opcode,
                /// Its return parameters.
                params: RestBytes,
            },
            /// The reply to a failed command whose parameters are not the documented ones
            /// (the kernel often sends none, or only the address, on failure).
            Unparsed {
                /// The opcode it answers.
                opcode: Opcode,
                /// Its return parameters.
                params: RestBytes,
            },
        }

        impl AnyReply {
            /// The opcode this reply answers.
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( AnyReply::$ty(_) => Opcode($code), )*
                    AnyReply::Unknown { opcode, .. } | AnyReply::Unparsed { opcode, .. } => *opcode,
                }
            }

            /// Decodes the return parameters of `opcode` completed with `status`.
            pub fn decode(opcode: Opcode, status: Status, params: &[u8]) -> Result<Self, DecodeError> {
                let typed = match opcode.0 {
                    $( $code => decode_exact::<$reply>(concat!($name, " reply"), params).map(AnyReply::$ty), )*
                    _ => return Ok(AnyReply::Unknown { opcode, params: RestBytes(params.to_vec()) }),
                };
                match typed {
                    Ok(r) => Ok(r),
                    Err(_) if !status.is_success() => {
                        Ok(AnyReply::Unparsed { opcode, params: RestBytes(params.to_vec()) })
                    }
                    Err(e) => Err(e),
                }
            }

            /// Appends the return parameters' wire bytes.
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $( AnyReply::$ty(r) => r.encode(out), )*
                    AnyReply::Unknown { params, .. } | AnyReply::Unparsed { params, .. } => params.encode(out),
                }
            }
        }
    };
}

command_table! {
    /// Read Management Version Information.
    0x0001 READ_VERSION "Read Management Version Information" => ReadVersion -> ReadVersionReply;
    /// Read Management Supported Commands.
    0x0002 READ_COMMANDS "Read Management Supported Commands" => ReadCommands -> ReadCommandsReply;
    /// Read Controller Index List.
    0x0003 READ_INDEX_LIST "Read Controller Index List" => ReadIndexList -> ReadIndexListReply;
    /// Read Controller Information.
    0x0004 READ_INFO "Read Controller Information" => ReadInfo -> ReadInfoReply;
    /// Set Powered.
    0x0005 SET_POWERED "Set Powered" => SetPowered -> crate::Settings;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_opcode_is_a_value() {
        let c = AnyCommand::decode(Opcode(0x7777), &[1, 2]).unwrap();
        assert_eq!(c.opcode(), Opcode(0x7777));
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn failed_reply_without_params_is_kept() {
        let r = AnyReply::decode(Opcode::READ_INFO, Status::INVALID_INDEX, &[]).unwrap();
        assert!(matches!(r, AnyReply::Unparsed { .. }));
        assert!(AnyReply::decode(Opcode::READ_INFO, Status::SUCCESS, &[]).is_err());
    }
}
