//! Sending a raw HCI command through the kernel's command queue and waiting for its event.

use crate::wire::{Bytes16, RestBytes};

crate::wire_struct! {
    /// Send HCI command and wait for event (0x005B; `MGMT_OP_HCI_CMD_SYNC`). Layout:
    /// `opcode (2) | event (1) | timeout (1) | params_len (2) | params (params_len)`.
    pub struct HciCmdSync {
        /// The HCI opcode (OGF << 10 | OCF), vendor commands included.
        pub opcode: u16,
        /// The HCI event to wait for; 0 waits for Command Status or Command Complete.
        pub event: u8,
        /// Seconds to wait; 0 uses the kernel's default.
        pub timeout: u8,
        /// The HCI command parameters.
        pub params: Bytes16,
    }
}

crate::wire_struct! {
    /// Reply to Send HCI command and wait for event: the parameters of the HCI event that
    /// answered, as the controller sent them (for Command Complete, starting with the status).
    pub struct HciCmdSyncReply {
        /// The raw response.
        pub response: RestBytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::golden::{self, hex};

    #[test]
    fn hci_cmd_sync() {
        // Documented layout, doc/mgmt-protocol.rst: Opcode (2), Event (1), Timeout (1),
        // Parameter Length (2), Parameter[]. HCI Read Local Version Information (0x1001), no
        // parameters, wait for Command Complete; the reply is the event's return parameters
        // (status 0, HCI version 0x0b, revision, LMP version, manufacturer, LMP subversion).
        golden::command(
            &hex("0110 00 00 0000"),
            HciCmdSync {
                opcode: 0x1001,
                event: 0,
                timeout: 0,
                params: Bytes16(vec![]),
            },
        );
        golden::reply::<HciCmdSync>(
            &hex("00 0b 0000 0b 0200 0000"),
            HciCmdSyncReply {
                response: RestBytes(hex("00 0b 0000 0b 0200 0000")),
            },
        );
        // Documented layout: HCI Write Scan Enable (0x0c1a) with one parameter octet.
        golden::command(
            &hex("1a0c 00 02 0100 03"),
            HciCmdSync {
                opcode: 0x0c1a,
                event: 0,
                timeout: 2,
                params: Bytes16(vec![3]),
            },
        );
    }
}
