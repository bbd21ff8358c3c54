//! How large a command may be: the longest command frame the kernel's control socket takes,
//! and the most entries each Load command carries. [`check_command`] applies both, so a
//! command that cannot be sent is refused with a [`CommandTooLong`] before any byte goes out.
//!
//! Two limits meet here:
//! - The socket: `hci_sock_sendmsg` (net/bluetooth/hci_sock.c) refuses a write longer than the
//!   socket's send MTU with `EINVAL`. The MTU starts at 1,028 octets (`HCI_MAX_FRAME_SIZE`)
//!   and is raised with the `BT_SNDMTU` socket option, whose value is 16 bits: at most 65,535
//!   octets per frame, [`MAX_COMMAND_FRAME_LEN`], so at most [`MAX_COMMAND_PARAMS_LEN`]
//!   (65,529) octets of parameters after the 6-octet header.
//! - The kernel's count checks (net/bluetooth/mgmt.c): each Load command refuses a count above
//!   `(U16_MAX - sizeof(fixed part)) / sizeof(entry)` with Invalid Parameters.
//!
//! For every Load command the two agree (the table's tests check it): the largest count the
//! kernel accepts also fits in one frame, and one more entry fits in neither.

use core::fmt;

use crate::code::Opcode;
use crate::frame::HEADER_LEN;

/// The longest command frame (header and parameters) the control socket accepts once its send
/// MTU is raised to the most `BT_SNDMTU` can express (a 16-bit value).
pub const MAX_COMMAND_FRAME_LEN: usize = u16::MAX as usize;

/// The most parameter octets one command can carry: [`MAX_COMMAND_FRAME_LEN`] less the header.
pub const MAX_COMMAND_PARAMS_LEN: usize = MAX_COMMAND_FRAME_LEN - HEADER_LEN;

/// A command whose parameters are a fixed part, a 16-bit little-endian entry count and the
/// entries: the layout of every Load command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedList {
    /// The command.
    pub opcode: Opcode,
    /// Where the 16-bit count sits in the parameters.
    pub count_offset: usize,
    /// Octets before the first entry (the fixed part, count included).
    pub fixed_len: usize,
    /// Octets per entry.
    pub entry_len: usize,
}

impl CountedList {
    /// The most entries one command carries: the kernel's limit, which is also what fits in
    /// one frame.
    pub const fn max_count(&self) -> usize {
        let kernel = (u16::MAX as usize - self.fixed_len) / self.entry_len;
        let frame = (MAX_COMMAND_PARAMS_LEN - self.fixed_len) / self.entry_len;
        if kernel < frame {
            kernel
        } else {
            frame
        }
    }

    /// The parameter length of a command carrying `count` entries.
    pub const fn params_len(&self, count: usize) -> usize {
        self.fixed_len + count * self.entry_len
    }
}

/// Load Link Keys: `debug_keys (1) | count (2)`, 25 octets per key.
pub const LOAD_LINK_KEYS_LIST: CountedList = CountedList {
    opcode: Opcode::LOAD_LINK_KEYS,
    count_offset: 1,
    fixed_len: 3,
    entry_len: 25,
};
/// Load Long Term Keys: `count (2)`, 36 octets per key.
pub const LOAD_LONG_TERM_KEYS_LIST: CountedList = CountedList {
    opcode: Opcode::LOAD_LONG_TERM_KEYS,
    count_offset: 0,
    fixed_len: 2,
    entry_len: 36,
};
/// Load Identity Resolving Keys: `count (2)`, 23 octets per key.
pub const LOAD_IRKS_LIST: CountedList = CountedList {
    opcode: Opcode::LOAD_IRKS,
    count_offset: 0,
    fixed_len: 2,
    entry_len: 23,
};
/// Load Connection Parameters: `count (2)`, 15 octets per entry.
pub const LOAD_CONN_PARAM_LIST: CountedList = CountedList {
    opcode: Opcode::LOAD_CONN_PARAM,
    count_offset: 0,
    fixed_len: 2,
    entry_len: 15,
};
/// Load Blocked Keys: `count (2)`, 17 octets per key.
pub const LOAD_BLOCKED_KEYS_LIST: CountedList = CountedList {
    opcode: Opcode::SET_BLOCKED_KEYS,
    count_offset: 0,
    fixed_len: 2,
    entry_len: 17,
};

/// Every Load command, with its layout.
pub const COUNTED_LISTS: [CountedList; 5] = [
    LOAD_LINK_KEYS_LIST,
    LOAD_LONG_TERM_KEYS_LIST,
    LOAD_IRKS_LIST,
    LOAD_CONN_PARAM_LIST,
    LOAD_BLOCKED_KEYS_LIST,
];

impl super::LoadLinkKeys {
    /// The most keys one Load Link Keys carries (2,621).
    pub const MAX_KEYS: usize = LOAD_LINK_KEYS_LIST.max_count();
}
impl super::LoadLongTermKeys {
    /// The most keys one Load Long Term Keys carries (1,820).
    pub const MAX_KEYS: usize = LOAD_LONG_TERM_KEYS_LIST.max_count();
}
impl super::LoadIrks {
    /// The most keys one Load Identity Resolving Keys carries (2,849).
    pub const MAX_KEYS: usize = LOAD_IRKS_LIST.max_count();
}
impl super::LoadConnectionParameters {
    /// The most entries one Load Connection Parameters carries (4,368).
    pub const MAX_PARAMETERS: usize = LOAD_CONN_PARAM_LIST.max_count();
}
impl super::LoadBlockedKeys {
    /// The most keys one Load Blocked Keys carries (3,854).
    pub const MAX_KEYS: usize = LOAD_BLOCKED_KEYS_LIST.max_count();
}

/// A command too long to send: refused before anything went to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandTooLong {
    /// The command.
    pub opcode: Opcode,
    /// Its parameter length.
    pub params_len: usize,
    /// For a Load command: the entry count asked for and the most one command carries.
    pub count: Option<(usize, usize)>,
}

impl fmt::Display for CommandTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            Some((count, max)) => write!(
                f,
                "{:?} with {count} entries does not fit in one command: at most {max} \
                 ({} parameter bytes asked for; one MGMT command frame carries at most {})",
                self.opcode, self.params_len, MAX_COMMAND_PARAMS_LEN
            ),
            None => write!(
                f,
                "{:?} has {} parameter bytes; one MGMT command frame carries at most {}",
                self.opcode, self.params_len, MAX_COMMAND_PARAMS_LEN
            ),
        }
    }
}

impl std::error::Error for CommandTooLong {}

/// Checks that command `opcode` with `params` can be sent: its frame fits the control
/// socket, and for a Load command its count is one the kernel accepts.
pub fn check_command(opcode: Opcode, params: &[u8]) -> Result<(), CommandTooLong> {
    let count = COUNTED_LISTS
        .iter()
        .find(|l| l.opcode == opcode)
        .and_then(|l| {
            let bytes = params.get(l.count_offset..l.count_offset + 2)?;
            let count = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
            Some((count, l.max_count()))
        });
    let too_many = count.is_some_and(|(count, max)| count > max);
    if too_many || params.len() > MAX_COMMAND_PARAMS_LEN {
        return Err(CommandTooLong {
            opcode,
            params_len: params.len(),
            count,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{AddressInfo, AddressType};
    use crate::command::{
        BlockedKey, BlockedKeyType, LoadBlockedKeys, LoadConnectionParameters, LoadIrks,
        LoadLinkKeys, LoadLongTermKeys,
    };
    use crate::keys::{
        ConnectionParameters, IdentityResolvingKey, IrkInfo, LinkKey, LinkKeyInfo, LinkKeyType,
        LongTermKey, LongTermKeyInfo, LongTermKeyType,
    };
    use crate::wire::{encode_to_vec, List16};

    fn peer(n: usize, t: AddressType) -> AddressInfo {
        let b = (n as u32).to_le_bytes();
        AddressInfo::new(crate::Address([b[0], b[1], b[2], 0x00, 0xbb, 0x00]), t)
    }

    /// Each Load command with `n` entries, encoded, next to its table row.
    fn load(list: CountedList, n: usize) -> Vec<u8> {
        let le = |i| peer(i, AddressType::LE_PUBLIC);
        match list.opcode {
            Opcode::LOAD_LINK_KEYS => encode_to_vec(&LoadLinkKeys {
                debug_keys: false,
                keys: List16(
                    (0..n)
                        .map(|i| LinkKeyInfo {
                            address: peer(i, AddressType::BR_EDR),
                            key_type: LinkKeyType(0x04),
                            value: LinkKey::new([1; 16]),
                            pin_length: 0,
                        })
                        .collect(),
                ),
            }),
            Opcode::LOAD_LONG_TERM_KEYS => encode_to_vec(&LoadLongTermKeys {
                keys: List16(
                    (0..n)
                        .map(|i| LongTermKeyInfo {
                            address: le(i),
                            key_type: LongTermKeyType(0x03),
                            central: 0,
                            encryption_size: 16,
                            ediv: 0,
                            rand: 0,
                            value: LongTermKey::new([2; 16]),
                        })
                        .collect(),
                ),
            }),
            Opcode::LOAD_IRKS => encode_to_vec(&LoadIrks {
                keys: List16(
                    (0..n)
                        .map(|i| IrkInfo {
                            address: le(i),
                            value: IdentityResolvingKey::new([3; 16]),
                        })
                        .collect(),
                ),
            }),
            Opcode::LOAD_CONN_PARAM => encode_to_vec(&LoadConnectionParameters {
                parameters: List16(
                    (0..n)
                        .map(|i| ConnectionParameters {
                            address: le(i),
                            min_interval: 24,
                            max_interval: 40,
                            latency: 0,
                            timeout: 42,
                        })
                        .collect(),
                ),
            }),
            Opcode::SET_BLOCKED_KEYS => encode_to_vec(&LoadBlockedKeys {
                keys: List16(
                    (0..n)
                        .map(|_| BlockedKey {
                            key_type: BlockedKeyType::LINK_KEY,
                            value: [4; 16],
                        })
                        .collect(),
                ),
            }),
            other => unreachable!("no Load command {other:?}"),
        }
    }

    #[test]
    fn table_matches_the_encoded_commands() {
        for list in COUNTED_LISTS {
            let one = load(list, 1);
            let two = load(list, 2);
            assert_eq!(two.len() - one.len(), list.entry_len, "{list:?}");
            assert_eq!(one.len(), list.params_len(1), "{list:?}");
            let at = list.count_offset;
            assert_eq!(&two[at..at + 2], &[2, 0], "{list:?}: count field");
        }
    }

    #[test]
    fn max_counts_are_the_kernels() {
        // mgmt.c: max = (U16_MAX - sizeof(fixed part)) / sizeof(entry).
        let expected = [
            (Opcode::LOAD_LINK_KEYS, 2621, LoadLinkKeys::MAX_KEYS),
            (
                Opcode::LOAD_LONG_TERM_KEYS,
                1820,
                LoadLongTermKeys::MAX_KEYS,
            ),
            (Opcode::LOAD_IRKS, 2849, LoadIrks::MAX_KEYS),
            (
                Opcode::LOAD_CONN_PARAM,
                4368,
                LoadConnectionParameters::MAX_PARAMETERS,
            ),
            (Opcode::SET_BLOCKED_KEYS, 3854, LoadBlockedKeys::MAX_KEYS),
        ];
        for (list, (opcode, max, konst)) in COUNTED_LISTS.iter().zip(expected) {
            assert_eq!(list.opcode, opcode);
            assert_eq!(list.max_count(), max, "{opcode:?}");
            assert_eq!(konst, max, "{opcode:?}");
            let kernel = (usize::from(u16::MAX) - list.fixed_len) / list.entry_len;
            assert_eq!(kernel, max, "{opcode:?}: the kernel's formula");
            // The largest accepted count fits one frame; one more does not.
            assert!(list.params_len(max) <= MAX_COMMAND_PARAMS_LEN, "{opcode:?}");
            assert!(
                list.params_len(max + 1) > MAX_COMMAND_PARAMS_LEN,
                "{opcode:?}"
            );
        }
    }

    #[test]
    fn the_maximum_passes_and_one_more_is_refused() {
        for list in COUNTED_LISTS {
            let max = list.max_count();
            let at_max = load(list, max);
            assert_eq!(check_command(list.opcode, &at_max), Ok(()), "{list:?}");
            let over = load(list, max + 1);
            let err = check_command(list.opcode, &over).unwrap_err();
            assert_eq!(
                err,
                CommandTooLong {
                    opcode: list.opcode,
                    params_len: list.params_len(max + 1),
                    count: Some((max + 1, max)),
                }
            );
            let text = err.to_string();
            assert!(
                text.contains(&format!("with {} entries", max + 1))
                    && text.contains(&format!("at most {max}")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_count_above_the_kernels_limit_is_refused_even_when_short() {
        // 1,821 declared, no entries: the kernel would answer Invalid Parameters.
        let params = 1821u16.to_le_bytes();
        let err = check_command(Opcode::LOAD_LONG_TERM_KEYS, &params).unwrap_err();
        assert_eq!(err.count, Some((1821, 1820)));
    }

    #[test]
    fn any_command_longer_than_a_frame_is_refused() {
        let params = vec![0; MAX_COMMAND_PARAMS_LEN + 1];
        let err = check_command(Opcode::ADD_ADVERTISING, &params).unwrap_err();
        assert_eq!(err.count, None);
        assert_eq!(
            err.to_string(),
            format!(
                "{:?} has 65530 parameter bytes; one MGMT command frame carries at most 65529",
                Opcode::ADD_ADVERTISING
            )
        );
        assert!(check_command(Opcode::ADD_ADVERTISING, &params[1..]).is_ok());
    }
}
