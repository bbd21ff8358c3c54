//! Monitor opcodes: what kind of packet a monitor-format record carries (the low 16 bits of a
//! record's flags). Numbers from BlueZ `src/shared/btsnoop.h` (`BTSNOOP_OPCODE_*`) and the
//! kernel's `HCI_MON_*`.

use core::fmt;

/// The kind of a monitor-format record. Open: an opcode this crate has no name for is kept as
/// its number and written back unchanged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonitorOpcode(pub u16);

macro_rules! monitor_opcodes {
    ($( $(#[$doc:meta])* $value:literal $konst:ident $name:literal; )*) => {
        impl MonitorOpcode {
            $( $(#[$doc])* pub const $konst: MonitorOpcode = MonitorOpcode($value); )*

            /// The opcode's name as btmon's sources spell it (`"CTRL_COMMAND"`), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($name), )*
                    _ => None,
                }
            }
        }
    };
}

monitor_opcodes! {
    /// A controller was registered (payload: type, bus, address, name).
    0 NEW_INDEX "NEW_INDEX";
    /// A controller was unregistered.
    1 DEL_INDEX "DEL_INDEX";
    /// An HCI command packet sent to the controller.
    2 COMMAND_PKT "COMMAND_PKT";
    /// An HCI event packet from the controller.
    3 EVENT_PKT "EVENT_PKT";
    /// ACL data sent to the controller.
    4 ACL_TX_PKT "ACL_TX_PKT";
    /// ACL data from the controller.
    5 ACL_RX_PKT "ACL_RX_PKT";
    /// SCO data sent to the controller.
    6 SCO_TX_PKT "SCO_TX_PKT";
    /// SCO data from the controller.
    7 SCO_RX_PKT "SCO_RX_PKT";
    /// A controller was opened (brought up).
    8 OPEN_INDEX "OPEN_INDEX";
    /// A controller was closed.
    9 CLOSE_INDEX "CLOSE_INDEX";
    /// Controller address and manufacturer.
    10 INDEX_INFO "INDEX_INFO";
    /// Vendor diagnostic data.
    11 VENDOR_DIAG "VENDOR_DIAG";
    /// A text note from the kernel or the capturing tool.
    12 SYSTEM_NOTE "SYSTEM_NOTE";
    /// A log line from a user-space program (priority, ident, message).
    13 USER_LOGGING "USER_LOGGING";
    /// A control-channel socket (MGMT and others) was opened.
    14 CTRL_OPEN "CTRL_OPEN";
    /// A control-channel socket was closed.
    15 CTRL_CLOSE "CTRL_CLOSE";
    /// A command sent on a control-channel socket (MGMT command without its header).
    16 CTRL_COMMAND "CTRL_COMMAND";
    /// An event delivered to a control-channel socket (MGMT event without its header).
    17 CTRL_EVENT "CTRL_EVENT";
    /// ISO data sent to the controller.
    18 ISO_TX_PKT "ISO_TX_PKT";
    /// ISO data from the controller.
    19 ISO_RX_PKT "ISO_RX_PKT";
}

impl fmt::Debug for MonitorOpcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "MonitorOpcode::{n}"),
            None => write!(f, "MonitorOpcode({})", self.0),
        }
    }
}

impl fmt::Display for MonitorOpcode {
    /// The name, or `opcode N` when it has none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "opcode {}", self.0),
        }
    }
}

impl From<u16> for MonitorOpcode {
    fn from(v: u16) -> Self {
        MonitorOpcode(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_open_values() {
        // Numbers from BlueZ src/shared/btsnoop.h.
        assert_eq!(MonitorOpcode::CTRL_COMMAND, MonitorOpcode(16));
        assert_eq!(MonitorOpcode::ISO_RX_PKT, MonitorOpcode(19));
        assert_eq!(
            format!("{:?}", MonitorOpcode(17)),
            "MonitorOpcode::CTRL_EVENT"
        );
        assert_eq!(format!("{:?}", MonitorOpcode(99)), "MonitorOpcode(99)");
        assert_eq!(MonitorOpcode(99).to_string(), "opcode 99");
        assert_eq!(MonitorOpcode(99).name(), None);
    }
}
