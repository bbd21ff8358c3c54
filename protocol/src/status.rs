//! The status codes that end every command (doc/mgmt-protocol.rst, "Error Codes").

crate::open_enum! {
    /// A command's outcome, from Command Complete or Command Status. Open: a status a newer
    /// kernel defines is kept as its number.
    pub struct Status(u8) {
        /// The command succeeded.
        SUCCESS = 0x00 => "Success",
        /// The kernel does not know the opcode.
        UNKNOWN_COMMAND = 0x01 => "Unknown Command",
        /// No connection to the device.
        NOT_CONNECTED = 0x02 => "Not Connected",
        /// Generic failure.
        FAILED = 0x03 => "Failed",
        /// The connection could not be made.
        CONNECT_FAILED = 0x04 => "Connect Failed",
        /// Authentication (pairing) failed.
        AUTHENTICATION_FAILED = 0x05 => "Authentication Failed",
        /// The device is not paired.
        NOT_PAIRED = 0x06 => "Not Paired",
        /// Out of memory or handles.
        NO_RESOURCES = 0x07 => "No Resources",
        /// The operation timed out.
        TIMEOUT = 0x08 => "Timeout",
        /// Already connected.
        ALREADY_CONNECTED = 0x09 => "Already Connected",
        /// Another operation is in progress.
        BUSY = 0x0A => "Busy",
        /// Rejected in the current state.
        REJECTED = 0x0B => "Rejected",
        /// Not supported by this controller or kernel.
        NOT_SUPPORTED = 0x0C => "Not Supported",
        /// Parameters out of range or of the wrong length.
        INVALID_PARAMETERS = 0x0D => "Invalid Parameters",
        /// The connection dropped.
        DISCONNECTED = 0x0E => "Disconnected",
        /// The controller is powered off.
        NOT_POWERED = 0x0F => "Not Powered",
        /// Cancelled (for example by Cancel Pair Device).
        CANCELLED = 0x10 => "Cancelled",
        /// No controller with that index.
        INVALID_INDEX = 0x11 => "Invalid Index",
        /// Blocked by rfkill.
        RFKILLED = 0x12 => "RFKilled",
        /// The device is already paired.
        ALREADY_PAIRED = 0x13 => "Already Paired",
        /// The socket is not trusted (no CAP_NET_ADMIN).
        PERMISSION_DENIED = 0x14 => "Permission Denied",
    }
}

impl Status {
    /// True for [`Status::SUCCESS`].
    pub fn is_success(self) -> bool {
        self == Self::SUCCESS
    }

    /// A human description: the documented name, or `"unknown status 0x.."`.
    pub fn description(self) -> String {
        match self.name() {
            Some(n) => n.to_string(),
            None => format!("unknown status {:#04x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknowns() {
        assert_eq!(Status::REJECTED.to_string(), "Rejected");
        assert_eq!(
            format!("{:?}", Status(0x05)),
            "Status(Authentication Failed)"
        );
        assert_eq!(Status(0x99).description(), "unknown status 0x99");
        assert_eq!(Status::KNOWN.len(), 21);
    }
}
