//! Advertisement monitors: patterns (optionally with RSSI thresholds) that the kernel, or the
//! controller when it can offload them, matches against advertisements.

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{List16, List8, Reader, Wire};

bitflags::bitflags! {
    /// Advertisement monitor features (Read Advertisement Monitor Features).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct AdvMonitorFeatures: u32 {
        /// Content monitoring by patterns combined with logical OR.
        const OR_PATTERNS = 1 << 0;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(AdvMonitorFeatures, u32);

crate::wire_struct! {
    /// A monitor handle: the reply to Add Advertisement Patterns Monitor (with or without RSSI)
    /// and Remove Advertisement Monitor.
    pub struct AdvMonitorHandle {
        /// The handle (0 in Remove: all monitors).
        pub handle: u16,
    }
}

crate::wire_struct! {
    /// Read Advertisement Monitor Features (0x0051, since 1.18): no parameters.
    pub struct ReadAdvMonitorFeatures {}
}

crate::wire_struct! {
    /// Reply to Read Advertisement Monitor Features. Layout: `supported (4) | enabled (4) |
    /// max_num_handles (2) | max_num_patterns (1) | num_handles (2) | handle (2) *
    /// num_handles`.
    pub struct ReadAdvMonitorFeaturesReply {
        /// Features the controller and stack support.
        pub supported_features: AdvMonitorFeatures,
        /// Features the kernel uses now.
        pub enabled_features: AdvMonitorFeatures,
        /// Most monitors that can be added.
        pub max_num_handles: u16,
        /// Most patterns per monitor.
        pub max_num_patterns: u8,
        /// The monitors added so far.
        pub handles: List16<u16>,
    }
}

/// One pattern of an advertisement monitor (`mgmt_adv_pattern`, 34 octets): matches when the
/// AD structure of type `ad_type` holds `value[..length]` at `offset`.
///
/// ```text
/// ad_type (1) | offset (1) | length (1) | value (31, zero-padded)
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AdvPattern {
    /// The AD type to look in.
    pub ad_type: u8,
    /// Where in that AD structure's data the value starts.
    pub offset: u8,
    /// How many octets of `value` to match.
    pub length: u8,
    /// The value, zero-padded to 31 octets.
    #[cfg_attr(feature = "serde", serde(serialize_with = "hex_value"))]
    pub value: [u8; 31],
}

#[cfg(feature = "serde")]
fn hex_value<S: serde::Serializer>(b: &[u8; 31], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&crate::hex::Hex(b))
}

impl AdvPattern {
    /// A pattern matching `value` (at most 31 octets; longer input is cut) at `offset` of the
    /// AD structure of type `ad_type`.
    pub fn new(ad_type: u8, offset: u8, value: &[u8]) -> Self {
        let mut v = [0u8; 31];
        let n = value.len().min(31);
        v[..n].copy_from_slice(&value[..n]);
        AdvPattern {
            ad_type,
            offset,
            length: n as u8,
            value: v,
        }
    }
}

impl fmt::Debug for AdvPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdvPattern")
            .field("ad_type", &format_args!("{:#04x}", self.ad_type))
            .field("offset", &self.offset)
            .field("length", &self.length)
            .field("value", &format_args!("{}", crate::hex::Hex(&self.value)))
            .finish()
    }
}

impl Wire for AdvPattern {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.set_field("ad_type");
        let ad_type = u8::decode(r)?;
        r.set_field("offset");
        let offset = u8::decode(r)?;
        r.set_field("length");
        let length = u8::decode(r)?;
        r.set_field("value");
        let value = r.array()?;
        Ok(AdvPattern {
            ad_type,
            offset,
            length,
            value,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.ad_type, self.offset, self.length]);
        out.extend_from_slice(&self.value);
    }
}

crate::wire_struct! {
    /// Add Advertisement Patterns Monitor (0x0052, since 1.18). Layout: `pattern_count (1) |
    /// { ad_type (1) | offset (1) | length (1) | value (31) } * pattern_count`. Answered with
    /// the new monitor's handle.
    pub struct AddAdvPatternsMonitor {
        /// The patterns; an advertisement matching any one of them matches.
        pub patterns: List8<AdvPattern>,
    }
}

crate::wire_struct! {
    /// Remove Advertisement Monitor (0x0053, since 1.18). Answered with the handle.
    pub struct RemoveAdvMonitor {
        /// The monitor; 0 removes all.
        pub handle: u16,
    }
}

crate::wire_struct! {
    /// The RSSI part of Add Advertisement Patterns Monitor With RSSI Threshold
    /// (`mgmt_adv_rssi_thresholds`, 7 octets).
    pub struct RssiThresholds {
        /// A device is in range once its RSSI stays above this (dBm) ...
        pub high_threshold: i8,
        /// ... for this many seconds.
        pub high_threshold_timeout: u16,
        /// A device is lost once no advertisement is above this (dBm) ...
        pub low_threshold: i8,
        /// ... for this many seconds.
        pub low_threshold_timeout: u16,
        /// 0x00: report every advertisement; 0xFF: only the first after coming into range;
        /// N: one averaged report per N * 100 ms.
        pub sampling_period: u8,
    }
}

crate::wire_struct! {
    /// Add Advertisement Patterns Monitor With RSSI Threshold (0x0056, since 1.20). Layout:
    /// `high_threshold (1) | high_timeout (2) | low_threshold (1) | low_timeout (2) |
    /// sampling_period (1) | pattern_count (1) | patterns`. Answered with the handle.
    pub struct AddAdvPatternsMonitorRssi {
        /// When a device counts as in range or lost.
        pub rssi: RssiThresholds,
        /// The patterns; any one matching is a match.
        pub patterns: List8<AdvPattern>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};
    use crate::wire::decode_exact;
    use crate::Problem;

    fn example_pattern_bytes() -> Vec<u8> {
        // The example of doc/mgmt-protocol.rst: Service Data - 16-bit UUID (0x16), skip the
        // UUID (offset 2), length 4, value 11 22 33 44 (zero-padded to 31).
        let mut b = hex("16 02 04 11223344");
        b.resize(34, 0);
        b
    }

    #[test]
    fn read_adv_monitor_features() {
        // Documented layout, doc/mgmt-protocol.rst: Supported_Features (4),
        // Enabled_Features (4), Max_Num_Handles (2), Max_Num_Patterns (1), Num_Handles (2),
        // Handle[] (2).
        golden::command(&[], ReadAdvMonitorFeatures {});
        golden::reply::<ReadAdvMonitorFeatures>(
            &hex("01000000 00000000 2000 10 0200 0100 0200"),
            ReadAdvMonitorFeaturesReply {
                supported_features: AdvMonitorFeatures::OR_PATTERNS,
                enabled_features: AdvMonitorFeatures::empty(),
                max_num_handles: 32,
                max_num_patterns: 16,
                handles: List16(vec![1, 2]),
            },
        );
    }

    #[test]
    fn add_adv_patterns_monitor() {
        // Documented layout, doc/mgmt-protocol.rst: Pattern_Count (1), then AD_Type, Offset,
        // Length (1 each), Value (31); the document's example pattern.
        let mut b = vec![0x01];
        b.extend(example_pattern_bytes());
        golden::command(
            &b,
            AddAdvPatternsMonitor {
                patterns: List8(vec![AdvPattern::new(0x16, 2, &[0x11, 0x22, 0x33, 0x44])]),
            },
        );
        golden::reply::<AddAdvPatternsMonitor>(&[0x01, 0x00], AdvMonitorHandle { handle: 1 });
    }

    #[test]
    fn add_adv_patterns_monitor_truncated() {
        // Two patterns promised, the second cut inside its value.
        let mut b = vec![0x02];
        b.extend(example_pattern_bytes());
        b.extend(&example_pattern_bytes()[..10]);
        let e = decode_exact::<AddAdvPatternsMonitor>("Add Advertisement Patterns Monitor", &b)
            .unwrap_err();
        assert_eq!(e.message(), "Add Advertisement Patterns Monitor");
        assert_eq!(e.field(), "value");
        assert_eq!(e.offset(), 38);
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 31,
                actual: 7
            }
        );
    }

    #[test]
    fn remove_adv_monitor() {
        // Documented layout, doc/mgmt-protocol.rst: Monitor_Handle (2), both ways.
        golden::command(&[0x01, 0x00], RemoveAdvMonitor { handle: 1 });
        golden::reply::<RemoveAdvMonitor>(&[0x01, 0x00], AdvMonitorHandle { handle: 1 });
    }

    #[test]
    fn add_adv_patterns_monitor_rssi() {
        // Documented layout, doc/mgmt-protocol.rst: High_Threshold (1), High_Threshold_Timer
        // (2), Low_Threshold (1), Low_Threshold_Timer (2), Sampling_Period (1), then the
        // patterns as in 0x0052.
        let mut b = hex("b5 0100 a1 0500 00 01");
        b.extend(example_pattern_bytes());
        golden::command(
            &b,
            AddAdvPatternsMonitorRssi {
                rssi: RssiThresholds {
                    high_threshold: -75,
                    high_threshold_timeout: 1,
                    low_threshold: -95,
                    low_threshold_timeout: 5,
                    sampling_period: 0,
                },
                patterns: List8(vec![AdvPattern::new(0x16, 2, &[0x11, 0x22, 0x33, 0x44])]),
            },
        );
        golden::reply::<AddAdvPatternsMonitorRssi>(&[0x02, 0x00], AdvMonitorHandle { handle: 2 });
    }
}
