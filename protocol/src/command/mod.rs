//! Every MGMT command with its parameters and its typed reply (doc/mgmt-protocol.rst,
//! "Commands"; kernel `include/net/bluetooth/mgmt.h`, `MGMT_OP_*`).
//!
//! One table at the bottom of this file maps opcodes to types. From it come the named
//! [`Opcode`] constants, the [`Command`] impls, and the two sum types [`AnyCommand`] and
//! [`AnyReply`] that decode by opcode. The parameter structs live in one module per concept
//! (mode toggles, identity, keys, connections, pairing, out of band data, discovery, devices,
//! configuration, experimental features, advertising, advertisement monitors, mesh, raw HCI)
//! and are all re-exported here. Each struct's documentation starts with its section title in
//! doc/mgmt-protocol.rst and shows its byte layout where it is not a single field.
//!
//! Replies: commands without return parameters reply `()`; the many commands answered with
//! the device address reply [`AddressInfo`](crate::AddressInfo); mode toggles reply the new
//! [`Settings`](crate::Settings).
//!
//! Length policy: command parameters are exact (no trailing bytes). A reply is decoded
//! strictly when the status is Success; a failed command's reply may carry the documented
//! parameters, a prefix of them, or nothing, so when it does not decode it is kept as
//! [`AnyReply::Unparsed`].

use crate::code::Opcode;
use crate::error::DecodeError;
use crate::status::Status;
use crate::wire::{decode_exact, RestBytes, Wire};

mod advertising;
mod config;
mod connection;
mod device;
mod discovery;
mod experimental;
mod hci;
mod identity;
mod info;
mod keys;
pub mod limits;
mod mesh;
mod mode;
mod monitor;
mod oob;
mod pairing;

pub use advertising::*;
pub use config::*;
pub use connection::*;
pub use device::*;
pub use discovery::*;
pub use experimental::*;
pub use hci::*;
pub use identity::*;
pub use info::*;
pub use keys::*;
pub use mesh::*;
pub use mode::*;
pub use monitor::*;
pub use oob::*;
pub use pairing::*;

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

            /// The typed parameters alone (without the enum's wrapper), for printing:
            /// `format!("{:?}", cmd.fields())` gives `PairDevice { address: .., .. }`.
            /// Secret fields stay redacted, as in every `Debug` of this crate.
            pub fn fields(&self) -> &dyn core::fmt::Debug {
                match self {
                    $( AnyCommand::$ty(c) => c, )*
                    AnyCommand::Unknown { params, .. } => params,
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
    /// Read Management Version Information (0x0001).
    0x0001 READ_VERSION "Read Management Version Information" => ReadVersion -> ReadVersionReply;
    /// Read Management Supported Commands (0x0002).
    0x0002 READ_COMMANDS "Read Management Supported Commands" => ReadCommands -> ReadCommandsReply;
    /// Read Controller Index List (0x0003).
    0x0003 READ_INDEX_LIST "Read Controller Index List" => ReadIndexList -> ReadIndexListReply;
    /// Read Controller Information (0x0004).
    0x0004 READ_INFO "Read Controller Information" => ReadInfo -> ReadInfoReply;
    /// Set Powered (0x0005).
    0x0005 SET_POWERED "Set Powered" => SetPowered -> crate::Settings;
    /// Set Discoverable (0x0006).
    0x0006 SET_DISCOVERABLE "Set Discoverable" => SetDiscoverable -> crate::Settings;
    /// Set Connectable (0x0007).
    0x0007 SET_CONNECTABLE "Set Connectable" => SetConnectable -> crate::Settings;
    /// Set Fast Connectable (0x0008).
    0x0008 SET_FAST_CONNECTABLE "Set Fast Connectable" => SetFastConnectable -> crate::Settings;
    /// Set Bondable (0x0009).
    0x0009 SET_BONDABLE "Set Bondable" => SetBondable -> crate::Settings;
    /// Set Link Security (0x000A).
    0x000A SET_LINK_SECURITY "Set Link Security" => SetLinkSecurity -> crate::Settings;
    /// Set Secure Simple Pairing (0x000B).
    0x000B SET_SSP "Set Secure Simple Pairing" => SetSecureSimplePairing -> crate::Settings;
    /// Set High Speed (0x000C).
    0x000C SET_HS "Set High Speed" => SetHighSpeed -> crate::Settings;
    /// Set Low Energy (0x000D).
    0x000D SET_LE "Set Low Energy" => SetLowEnergy -> crate::Settings;
    /// Set Device Class (0x000E).
    0x000E SET_DEV_CLASS "Set Device Class" => SetDeviceClass -> crate::ClassOfDevice;
    /// Set Local Name (0x000F).
    0x000F SET_LOCAL_NAME "Set Local Name" => SetLocalName -> SetLocalName;
    /// Add UUID (0x0010).
    0x0010 ADD_UUID "Add UUID" => AddUuid -> crate::ClassOfDevice;
    /// Remove UUID (0x0011).
    0x0011 REMOVE_UUID "Remove UUID" => RemoveUuid -> crate::ClassOfDevice;
    /// Load Link Keys (0x0012).
    0x0012 LOAD_LINK_KEYS "Load Link Keys" => LoadLinkKeys -> ();
    /// Load Long Term Keys (0x0013).
    0x0013 LOAD_LONG_TERM_KEYS "Load Long Term Keys" => LoadLongTermKeys -> ();
    /// Disconnect (0x0014).
    0x0014 DISCONNECT "Disconnect" => Disconnect -> crate::AddressInfo;
    /// Get Connections (0x0015).
    0x0015 GET_CONNECTIONS "Get Connections" => GetConnections -> GetConnectionsReply;
    /// PIN Code Reply (0x0016).
    0x0016 PIN_CODE_REPLY "PIN Code Reply" => PinCodeReply -> crate::AddressInfo;
    /// PIN Code Negative Reply (0x0017).
    0x0017 PIN_CODE_NEG_REPLY "PIN Code Negative Reply" => PinCodeNegativeReply -> crate::AddressInfo;
    /// Set IO Capability (0x0018).
    0x0018 SET_IO_CAPABILITY "Set IO Capability" => SetIoCapability -> ();
    /// Pair Device (0x0019).
    0x0019 PAIR_DEVICE "Pair Device" => PairDevice -> crate::AddressInfo;
    /// Cancel Pair Device (0x001A).
    0x001A CANCEL_PAIR_DEVICE "Cancel Pair Device" => CancelPairDevice -> crate::AddressInfo;
    /// Unpair Device (0x001B).
    0x001B UNPAIR_DEVICE "Unpair Device" => UnpairDevice -> crate::AddressInfo;
    /// User Confirmation Reply (0x001C).
    0x001C USER_CONFIRM_REPLY "User Confirmation Reply" => UserConfirmReply -> crate::AddressInfo;
    /// User Confirmation Negative Reply (0x001D).
    0x001D USER_CONFIRM_NEG_REPLY "User Confirmation Negative Reply" => UserConfirmNegativeReply -> crate::AddressInfo;
    /// User Passkey Reply (0x001E).
    0x001E USER_PASSKEY_REPLY "User Passkey Reply" => UserPasskeyReply -> crate::AddressInfo;
    /// User Passkey Negative Reply (0x001F).
    0x001F USER_PASSKEY_NEG_REPLY "User Passkey Negative Reply" => UserPasskeyNegativeReply -> crate::AddressInfo;
    /// Read Local Out Of Band Data (0x0020).
    0x0020 READ_LOCAL_OOB_DATA "Read Local Out Of Band Data" => ReadLocalOobData -> ReadLocalOobDataReply;
    /// Add Remote Out Of Band Data (0x0021).
    0x0021 ADD_REMOTE_OOB_DATA "Add Remote Out Of Band Data" => AddRemoteOobData -> crate::AddressInfo;
    /// Remove Remote Out Of Band Data (0x0022).
    0x0022 REMOVE_REMOTE_OOB_DATA "Remove Remote Out Of Band Data" => RemoveRemoteOobData -> crate::AddressInfo;
    /// Start Discovery (0x0023).
    0x0023 START_DISCOVERY "Start Discovery" => StartDiscovery -> crate::DiscoveryType;
    /// Stop Discovery (0x0024).
    0x0024 STOP_DISCOVERY "Stop Discovery" => StopDiscovery -> crate::DiscoveryType;
    /// Confirm Name (0x0025).
    0x0025 CONFIRM_NAME "Confirm Name" => ConfirmName -> crate::AddressInfo;
    /// Block Device (0x0026).
    0x0026 BLOCK_DEVICE "Block Device" => BlockDevice -> crate::AddressInfo;
    /// Unblock Device (0x0027).
    0x0027 UNBLOCK_DEVICE "Unblock Device" => UnblockDevice -> crate::AddressInfo;
    /// Set Device ID (0x0028).
    0x0028 SET_DEVICE_ID "Set Device ID" => SetDeviceId -> ();
    /// Set Advertising (0x0029).
    0x0029 SET_ADVERTISING "Set Advertising" => SetAdvertising -> crate::Settings;
    /// Set BR/EDR (0x002A).
    0x002A SET_BREDR "Set BR/EDR" => SetBrEdr -> crate::Settings;
    /// Set Static Address (0x002B).
    0x002B SET_STATIC_ADDRESS "Set Static Address" => SetStaticAddress -> crate::Settings;
    /// Set Scan Parameters (0x002C).
    0x002C SET_SCAN_PARAMS "Set Scan Parameters" => SetScanParameters -> ();
    /// Set Secure Connections (0x002D).
    0x002D SET_SECURE_CONN "Set Secure Connections" => SetSecureConnections -> crate::Settings;
    /// Set Debug Keys (0x002E).
    0x002E SET_DEBUG_KEYS "Set Debug Keys" => SetDebugKeys -> crate::Settings;
    /// Set Privacy (0x002F).
    0x002F SET_PRIVACY "Set Privacy" => SetPrivacy -> crate::Settings;
    /// Load Identity Resolving Keys (0x0030).
    0x0030 LOAD_IRKS "Load Identity Resolving Keys" => LoadIrks -> ();
    /// Get Connection Information (0x0031).
    0x0031 GET_CONN_INFO "Get Connection Information" => GetConnectionInfo -> GetConnectionInfoReply;
    /// Get Clock Information (0x0032).
    0x0032 GET_CLOCK_INFO "Get Clock Information" => GetClockInfo -> GetClockInfoReply;
    /// Add Device (0x0033).
    0x0033 ADD_DEVICE "Add Device" => AddDevice -> crate::AddressInfo;
    /// Remove Device (0x0034).
    0x0034 REMOVE_DEVICE "Remove Device" => RemoveDevice -> crate::AddressInfo;
    /// Load Connection Parameters (0x0035).
    0x0035 LOAD_CONN_PARAM "Load Connection Parameters" => LoadConnectionParameters -> ();
    /// Read Unconfigured Controller Index List (0x0036).
    0x0036 READ_UNCONF_INDEX_LIST "Read Unconfigured Controller Index List" => ReadUnconfiguredIndexList -> ReadIndexListReply;
    /// Read Controller Configuration Information (0x0037).
    0x0037 READ_CONFIG_INFO "Read Controller Configuration Information" => ReadConfigInfo -> ReadConfigInfoReply;
    /// Set External Configuration (0x0038).
    0x0038 SET_EXTERNAL_CONFIG "Set External Configuration" => SetExternalConfig -> crate::ConfigOptions;
    /// Set Public Address (0x0039).
    0x0039 SET_PUBLIC_ADDRESS "Set Public Address" => SetPublicAddress -> crate::ConfigOptions;
    /// Start Service Discovery (0x003A).
    0x003A START_SERVICE_DISCOVERY "Start Service Discovery" => StartServiceDiscovery -> crate::DiscoveryType;
    /// Read Local Out Of Band Extended Data (0x003B).
    0x003B READ_LOCAL_OOB_EXT_DATA "Read Local Out Of Band Extended Data" => ReadLocalOobExtData -> ReadLocalOobExtDataReply;
    /// Read Extended Controller Index List (0x003C).
    0x003C READ_EXT_INDEX_LIST "Read Extended Controller Index List" => ReadExtIndexList -> ReadExtIndexListReply;
    /// Read Advertising Features (0x003D).
    0x003D READ_ADV_FEATURES "Read Advertising Features" => ReadAdvertisingFeatures -> ReadAdvertisingFeaturesReply;
    /// Add Advertising (0x003E).
    0x003E ADD_ADVERTISING "Add Advertising" => AddAdvertising -> AdvertisingInstance;
    /// Remove Advertising (0x003F).
    0x003F REMOVE_ADVERTISING "Remove Advertising" => RemoveAdvertising -> AdvertisingInstance;
    /// Get Advertising Size Information (0x0040).
    0x0040 GET_ADV_SIZE_INFO "Get Advertising Size Information" => GetAdvertisingSizeInfo -> GetAdvertisingSizeInfoReply;
    /// Start Limited Discovery (0x0041).
    0x0041 START_LIMITED_DISCOVERY "Start Limited Discovery" => StartLimitedDiscovery -> crate::DiscoveryType;
    /// Read Extended Controller Information (0x0042).
    0x0042 READ_EXT_INFO "Read Extended Controller Information" => ReadExtInfo -> ReadExtInfoReply;
    /// Set Appearance (0x0043).
    0x0043 SET_APPEARANCE "Set Appearance" => SetAppearance -> ();
    /// Get PHY Configuration (0x0044).
    0x0044 GET_PHY_CONFIGURATION "Get PHY Configuration" => GetPhyConfiguration -> GetPhyConfigurationReply;
    /// Set PHY Configuration (0x0045).
    0x0045 SET_PHY_CONFIGURATION "Set PHY Configuration" => SetPhyConfiguration -> ();
    /// Load Blocked Keys (0x0046).
    0x0046 SET_BLOCKED_KEYS "Load Blocked Keys" => LoadBlockedKeys -> ();
    /// Set Wideband Speech (0x0047).
    0x0047 SET_WIDEBAND_SPEECH "Set Wideband Speech" => SetWidebandSpeech -> crate::Settings;
    /// Read Controller Capabilities (0x0048).
    0x0048 READ_CONTROLLER_CAP "Read Controller Capabilities" => ReadControllerCapabilities -> ReadControllerCapabilitiesReply;
    /// Read Experimental Features Information (0x0049).
    0x0049 READ_EXP_FEATURES_INFO "Read Experimental Features Information" => ReadExpFeaturesInfo -> ReadExpFeaturesInfoReply;
    /// Set Experimental Feature (0x004A).
    0x004A SET_EXP_FEATURE "Set Experimental Feature" => SetExpFeature -> ExpFeature;
    /// Read Default System Configuration (0x004B).
    0x004B READ_DEF_SYSTEM_CONFIG "Read Default System Configuration" => ReadDefaultSystemConfig -> ConfigParameters;
    /// Set Default System Configuration (0x004C).
    0x004C SET_DEF_SYSTEM_CONFIG "Set Default System Configuration" => SetDefaultSystemConfig -> ();
    /// Read Default Runtime Configuration (0x004D).
    0x004D READ_DEF_RUNTIME_CONFIG "Read Default Runtime Configuration" => ReadDefaultRuntimeConfig -> ConfigParameters;
    /// Set Default Runtime Configuration (0x004E).
    0x004E SET_DEF_RUNTIME_CONFIG "Set Default Runtime Configuration" => SetDefaultRuntimeConfig -> ();
    /// Get Device Flags (0x004F).
    0x004F GET_DEVICE_FLAGS "Get Device Flags" => GetDeviceFlags -> GetDeviceFlagsReply;
    /// Set Device Flags (0x0050).
    0x0050 SET_DEVICE_FLAGS "Set Device Flags" => SetDeviceFlags -> crate::AddressInfo;
    /// Read Advertisement Monitor Features (0x0051).
    0x0051 READ_ADV_MONITOR_FEATURES "Read Advertisement Monitor Features" => ReadAdvMonitorFeatures -> ReadAdvMonitorFeaturesReply;
    /// Add Advertisement Patterns Monitor (0x0052).
    0x0052 ADD_ADV_PATTERNS_MONITOR "Add Advertisement Patterns Monitor" => AddAdvPatternsMonitor -> AdvMonitorHandle;
    /// Remove Advertisement Monitor (0x0053).
    0x0053 REMOVE_ADV_MONITOR "Remove Advertisement Monitor" => RemoveAdvMonitor -> AdvMonitorHandle;
    /// Add Extended Advertising Parameters (0x0054).
    0x0054 ADD_EXT_ADV_PARAMS "Add Extended Advertising Parameters" => AddExtAdvParams -> AddExtAdvParamsReply;
    /// Add Extended Advertising Data (0x0055).
    0x0055 ADD_EXT_ADV_DATA "Add Extended Advertising Data" => AddExtAdvData -> AdvertisingInstance;
    /// Add Advertisement Patterns Monitor With RSSI Threshold (0x0056).
    0x0056 ADD_ADV_PATTERNS_MONITOR_RSSI "Add Advertisement Patterns Monitor With RSSI Threshold" => AddAdvPatternsMonitorRssi -> AdvMonitorHandle;
    /// Set Mesh Receiver (0x0057).
    0x0057 SET_MESH_RECEIVER "Set Mesh Receiver" => SetMeshReceiver -> ();
    /// Read Mesh Features (0x0058).
    0x0058 MESH_READ_FEATURES "Read Mesh Features" => ReadMeshFeatures -> ReadMeshFeaturesReply;
    /// Transmit Mesh Packet (0x0059).
    0x0059 MESH_SEND "Transmit Mesh Packet" => MeshSend -> MeshSendReply;
    /// Cancel Transmit Mesh Packet (0x005A).
    0x005A MESH_SEND_CANCEL "Cancel Transmit Mesh Packet" => MeshSendCancel -> ();
    /// Send HCI command and wait for event (0x005B).
    0x005B HCI_CMD_SYNC "Send HCI command and wait for event" => HciCmdSync -> HciCmdSyncReply;
    /// Load Connection Subrate (0x005C).
    0x005C LOAD_CONN_SUBRATE "Load Connection Subrate" => LoadConnectionSubrate -> ();
}

/// Golden-vector checks shared by the command modules' tests: a command's bytes must decode
/// to the expected value (directly and through [`AnyCommand`]) and encode back to the same
/// bytes; likewise for a reply through [`AnyReply`].
#[cfg(test)]
pub(crate) mod golden {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec};
    use core::fmt::Debug;

    /// Checks `bytes` as the parameters of command `C` against `expected`, both ways.
    pub(crate) fn command<C>(bytes: &[u8], expected: C)
    where
        C: Command + Debug + PartialEq + Clone + Into<AnyCommand>,
    {
        let got = decode_exact::<C>(C::NAME, bytes)
            .unwrap_or_else(|e| panic!("{}: decode failed: {e}", C::NAME));
        assert_eq!(got, expected, "{}: decoded value", C::NAME);
        assert_eq!(
            encode_to_vec(&expected),
            bytes,
            "{}: encoded bytes",
            C::NAME
        );
        let any = AnyCommand::decode(C::OPCODE, bytes)
            .unwrap_or_else(|e| panic!("{}: table decode failed: {e}", C::NAME));
        assert_eq!(any, expected.into(), "{}: table decode", C::NAME);
        let mut out = Vec::new();
        any.encode(&mut out);
        assert_eq!(out, bytes, "{}: table encode", C::NAME);
    }

    /// Checks `bytes` as the successful reply to command `C` against `expected`, both ways.
    pub(crate) fn reply<C>(bytes: &[u8], expected: C::Reply)
    where
        C: Command,
        C::Reply: Debug + PartialEq,
    {
        let got = decode_exact::<C::Reply>(C::NAME, bytes)
            .unwrap_or_else(|e| panic!("{} reply: decode failed: {e}", C::NAME));
        assert_eq!(got, expected, "{} reply: decoded value", C::NAME);
        assert_eq!(
            encode_to_vec(&expected),
            bytes,
            "{} reply: encoded bytes",
            C::NAME
        );
        let any = AnyReply::decode(C::OPCODE, Status::SUCCESS, bytes)
            .unwrap_or_else(|e| panic!("{} reply: table decode failed: {e}", C::NAME));
        assert!(
            !matches!(any, AnyReply::Unknown { .. } | AnyReply::Unparsed { .. }),
            "{} reply: table gave {any:?}",
            C::NAME
        );
        assert_eq!(any.opcode(), C::OPCODE);
        let mut out = Vec::new();
        any.encode(&mut out);
        assert_eq!(out, bytes, "{} reply: table encode", C::NAME);
    }

    /// Builds a byte vector from hex text, ignoring spaces (`"01 0a ff"`).
    pub(crate) fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len() % 2 == 0, "odd number of hex digits");
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }
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
