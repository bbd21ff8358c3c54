//! LE advertising instances: reading what the controller supports, adding (in one step, or
//! parameters then data), sizing and removing instances.

use core::fmt;

use crate::advertising::AdvertisingFlags;
use crate::error::DecodeError;
use crate::wire::{List8, Reader, Wire};

crate::wire_struct! {
    /// An advertising instance number (1-254; 0 means "all" to Remove Advertising): the reply
    /// to Add Advertising, Remove Advertising and Add Extended Advertising Data.
    pub struct AdvertisingInstance {
        /// The instance.
        pub instance: u8,
    }
}

/// The advertising data and scan response of an instance, as Add Advertising and Add
/// Extended Advertising Data carry them: both lengths first, then both blocks.
///
/// ```text
/// adv_data_len (1) | scan_rsp_len (1) | adv_data (adv_data_len) | scan_rsp (scan_rsp_len)
/// ```
/// Encoding panics if either block is longer than 255 octets (the length fields are one
/// octet); the kernel accepts at most what Read Advertising Features reports anyway.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AdvertisingData {
    /// Advertising data, as AD structures.
    #[cfg_attr(feature = "serde", serde(serialize_with = "hex_bytes"))]
    pub adv_data: Vec<u8>,
    /// Scan response data, as AD structures.
    #[cfg_attr(feature = "serde", serde(serialize_with = "hex_bytes"))]
    pub scan_rsp: Vec<u8>,
}

#[cfg(feature = "serde")]
fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&crate::hex::Hex(b))
}

impl fmt::Debug for AdvertisingData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdvertisingData")
            .field(
                "adv_data",
                &format_args!("{}", crate::hex::Hex(&self.adv_data)),
            )
            .field(
                "scan_rsp",
                &format_args!("{}", crate::hex::Hex(&self.scan_rsp)),
            )
            .finish()
    }
}

impl Wire for AdvertisingData {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.set_field("adv_data_len");
        let adv_len = usize::from(u8::decode(r)?);
        r.set_field("scan_rsp_len");
        let rsp_len = usize::from(u8::decode(r)?);
        r.set_field("adv_data");
        let adv_data = r.take(adv_len)?.to_vec();
        r.set_field("scan_rsp");
        let scan_rsp = r.take(rsp_len)?.to_vec();
        Ok(AdvertisingData { adv_data, scan_rsp })
    }

    /// # Panics
    /// If either block is longer than 255 octets.
    fn encode(&self, out: &mut Vec<u8>) {
        let len = |b: &[u8], what: &str| {
            u8::try_from(b.len()).unwrap_or_else(|_| {
                panic!(
                    "{what} holds {} octets, more than its length field can express",
                    b.len()
                )
            })
        };
        out.push(len(&self.adv_data, "adv_data"));
        out.push(len(&self.scan_rsp, "scan_rsp"));
        out.extend_from_slice(&self.adv_data);
        out.extend_from_slice(&self.scan_rsp);
    }
}

crate::wire_struct! {
    /// Read Advertising Features (0x003D, since 1.9): no parameters.
    pub struct ReadAdvertisingFeatures {}
}

crate::wire_struct! {
    /// Reply to Read Advertising Features. Layout: `supported_flags (4) |
    /// max_adv_data_len (1) | max_scan_rsp_len (1) | max_instances (1) | num_instances (1) |
    /// instance (1) * num_instances`.
    pub struct ReadAdvertisingFeaturesReply {
        /// Flags Add Advertising accepts.
        pub supported_flags: AdvertisingFlags,
        /// Longest advertising data without flags (31 for legacy advertising).
        pub max_adv_data_len: u8,
        /// Longest scan response without flags.
        pub max_scan_rsp_len: u8,
        /// How many instances the controller supports (may be 0).
        pub max_instances: u8,
        /// The instances in use.
        pub instances: List8<u8>,
    }
}

crate::wire_struct! {
    /// Add Advertising (0x003E, since 1.9). Layout: `instance (1) | flags (4) | duration (2) |
    /// timeout (2) | adv_data_len (1) | scan_rsp_len (1) | adv_data | scan_rsp`. Answered
    /// with the instance.
    pub struct AddAdvertising {
        /// The instance, 1 to the supported maximum; re-adding one updates it.
        pub instance: u8,
        /// How to advertise.
        pub flags: AdvertisingFlags,
        /// Seconds per turn when several instances rotate (0: default 2 s).
        pub duration: u16,
        /// Seconds until the instance is removed (0: never).
        pub timeout: u16,
        /// The data blocks.
        pub data: AdvertisingData,
    }
}

crate::wire_struct! {
    /// Remove Advertising (0x003F, since 1.9). Answered with the instance.
    pub struct RemoveAdvertising {
        /// The instance; 0 removes all.
        pub instance: u8,
    }
}

crate::wire_struct! {
    /// Get Advertising Size Information (0x0040, since 1.11): how much data fits an instance
    /// with these flags. Layout: `instance (1) | flags (4)`.
    pub struct GetAdvertisingSizeInfo {
        /// The instance.
        pub instance: u8,
        /// The flags it would use.
        pub flags: AdvertisingFlags,
    }
}

crate::wire_struct! {
    /// Reply to Get Advertising Size Information. Layout: `instance (1) | flags (4) |
    /// max_adv_data_len (1) | max_scan_rsp_len (1)`.
    pub struct GetAdvertisingSizeInfoReply {
        /// The instance.
        pub instance: u8,
        /// The flags asked about.
        pub flags: AdvertisingFlags,
        /// Room for advertising data with those flags.
        pub max_adv_data_len: u8,
        /// Room for scan response data with those flags.
        pub max_scan_rsp_len: u8,
    }
}

crate::wire_struct! {
    /// Add Extended Advertising Parameters (0x0054, since 1.19). Layout: `instance (1) |
    /// flags (4) | duration (2) | timeout (2) | min_interval (4) | max_interval (4) |
    /// tx_power (1)`. The PARAM_* flags say which fields the kernel should use.
    pub struct AddExtAdvParams {
        /// The instance.
        pub instance: u8,
        /// How to advertise, and which parameters are set.
        pub flags: AdvertisingFlags,
        /// Seconds per turn when several instances rotate.
        pub duration: u16,
        /// Seconds until the instance is removed (0: never).
        pub timeout: u16,
        /// Minimum advertising interval, units of 0.625 ms (0x000020-0xFFFFFF).
        pub min_interval: u32,
        /// Maximum advertising interval, units of 0.625 ms.
        pub max_interval: u32,
        /// Requested TX power, dBm (-127 to +20).
        pub tx_power: i8,
    }
}

crate::wire_struct! {
    /// Reply to Add Extended Advertising Parameters. Layout: `instance (1) | tx_power (1) |
    /// max_adv_data_len (1) | max_scan_rsp_len (1)`.
    pub struct AddExtAdvParamsReply {
        /// The instance.
        pub instance: u8,
        /// The TX power the controller chose, dBm.
        pub tx_power: i8,
        /// Room for advertising data with the chosen flags.
        pub max_adv_data_len: u8,
        /// Room for scan response data with the chosen flags.
        pub max_scan_rsp_len: u8,
    }
}

crate::wire_struct! {
    /// Add Extended Advertising Data (0x0055, since 1.19). Layout: `instance (1) |
    /// adv_data_len (1) | scan_rsp_len (1) | adv_data | scan_rsp`. Answered with the instance.
    pub struct AddExtAdvData {
        /// The instance set up by Add Extended Advertising Parameters.
        pub instance: u8,
        /// The data blocks.
        pub data: AdvertisingData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};
    use crate::wire::{decode_exact, encode_to_vec};
    use crate::Problem;

    #[test]
    fn read_advertising_features() {
        // Documented layout, doc/mgmt-protocol.rst: Supported_Flags (4), Max_Adv_Data_Len,
        // Max_Scan_Rsp_Len, Max_Instances, Num_Instances, Instance[] (1 each).
        golden::command(&[], ReadAdvertisingFeatures {});
        golden::reply::<ReadAdvertisingFeatures>(
            &hex("ff030000 1f 1f 05 02 01 03"),
            ReadAdvertisingFeaturesReply {
                supported_flags: AdvertisingFlags::from_bits_retain(0x03ff),
                max_adv_data_len: 31,
                max_scan_rsp_len: 31,
                max_instances: 5,
                instances: List8(vec![1, 3]),
            },
        );
    }

    #[test]
    fn add_advertising() {
        // Documented layout, doc/mgmt-protocol.rst: Instance (1), Flags (4), Duration (2),
        // Timeout (2), Adv_Data_Len (1), Scan_Rsp_Len (1), Adv_Data, Scan_Rsp. Here: instance
        // 1, connectable + discoverable, no timeout, a Complete Local Name "hci" AD and an
        // empty-ish scan response (one Appearance AD).
        let b = hex("01 03000000 0000 0000 05 04 0409686369 03194103");
        golden::command(
            &b,
            AddAdvertising {
                instance: 1,
                flags: AdvertisingFlags::CONNECTABLE | AdvertisingFlags::DISCOVERABLE,
                duration: 0,
                timeout: 0,
                data: AdvertisingData {
                    adv_data: hex("0409686369"),
                    scan_rsp: hex("03194103"),
                },
            },
        );
        golden::reply::<AddAdvertising>(&[0x01], AdvertisingInstance { instance: 1 });
    }

    #[test]
    fn advertising_data_lengths_are_checked() {
        // Adv_Data_Len 5 and Scan_Rsp_Len 4 promised; the scan response is one octet short.
        let b = hex("01 03000000 0000 0000 05 04 0409686369 031941");
        let e = decode_exact::<AddAdvertising>("Add Advertising", &b).unwrap_err();
        assert_eq!(e.message(), "Add Advertising");
        assert_eq!(e.field(), "scan_rsp");
        assert_eq!(e.offset(), 16);
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 4,
                actual: 3
            }
        );
        // One octet too many is trailing data, not silently dropped.
        let mut long = hex("01 03000000 0000 0000 05 04 0409686369 03194103");
        long.push(0);
        let e = decode_exact::<AddAdvertising>("Add Advertising", &long).unwrap_err();
        assert!(matches!(e.problem(), Problem::TrailingBytes { .. }));
    }

    #[test]
    #[should_panic(expected = "more than its length field")]
    fn advertising_data_too_long_to_encode() {
        let d = AdvertisingData {
            adv_data: vec![0; 256],
            scan_rsp: vec![],
        };
        encode_to_vec(&d);
    }

    #[test]
    fn remove_advertising() {
        // Documented layout, doc/mgmt-protocol.rst: Instance (1), both ways; 0 removes all.
        golden::command(&[0x00], RemoveAdvertising { instance: 0 });
        golden::reply::<RemoveAdvertising>(&[0x00], AdvertisingInstance { instance: 0 });
    }

    #[test]
    fn get_advertising_size_info() {
        // Documented layout, doc/mgmt-protocol.rst: Instance (1), Flags (4); reply adds
        // Max_Adv_Data_Len and Max_Scan_Rsp_Len. Managed flags and TX power cost 3 each.
        let flags = AdvertisingFlags::MANAGED_FLAGS | AdvertisingFlags::TX_POWER;
        golden::command(
            &hex("01 18000000"),
            GetAdvertisingSizeInfo { instance: 1, flags },
        );
        golden::reply::<GetAdvertisingSizeInfo>(
            &hex("01 18000000 19 1f"),
            GetAdvertisingSizeInfoReply {
                instance: 1,
                flags,
                max_adv_data_len: 25,
                max_scan_rsp_len: 31,
            },
        );
    }

    #[test]
    fn add_ext_adv_params() {
        // Documented layout, doc/mgmt-protocol.rst: Instance, Flags, Duration, Timeout,
        // MinInterval (4), MaxInterval (4), TxPower (1); reply Instance, TxPower,
        // MaxAdvDataLen, MaxScanRspLen.
        let flags = AdvertisingFlags::CONNECTABLE
            | AdvertisingFlags::PARAM_INTERVALS
            | AdvertisingFlags::PARAM_TX_POWER;
        golden::command(
            &hex("02 01c00000 0000 0000 a0000000 f0000000 f6"),
            AddExtAdvParams {
                instance: 2,
                flags,
                duration: 0,
                timeout: 0,
                min_interval: 0xa0,
                max_interval: 0xf0,
                tx_power: -10,
            },
        );
        golden::reply::<AddExtAdvParams>(
            &hex("02 f4 1f 1f"),
            AddExtAdvParamsReply {
                instance: 2,
                tx_power: -12,
                max_adv_data_len: 31,
                max_scan_rsp_len: 31,
            },
        );
    }

    #[test]
    fn add_ext_adv_data() {
        // Documented layout, doc/mgmt-protocol.rst: Instance (1), Advertising Data Length (1),
        // Scan Response Length (1), then both blocks (no scan response here).
        golden::command(
            &hex("02 03 00 020106"),
            AddExtAdvData {
                instance: 2,
                data: AdvertisingData {
                    adv_data: hex("020106"),
                    scan_rsp: vec![],
                },
            },
        );
        golden::reply::<AddExtAdvData>(&[0x02], AdvertisingInstance { instance: 2 });
    }
}
