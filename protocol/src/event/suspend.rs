//! Events about host suspend: the controller was prepared for suspend, and it woke up.

use crate::address::AddressInfo;

crate::open_enum! {
    /// The state a controller was left in for host suspend (Controller Suspend).
    pub struct SuspendState(u8) {
        /// Still running: the controller could not be configured for suspend.
        RUNNING = 0x00 => "Running",
        /// Disconnected and not scanning.
        DISCONNECTED = 0x01 => "Disconnected",
        /// Page scanning and/or passive scanning for devices allowed to wake the host.
        PAGE_SCANNING = 0x02 => "Page Scanning",
    }
}

crate::open_enum! {
    /// Why the controller resumed (Controller Resume).
    pub struct WakeReason(u8) {
        /// The host woke for a reason other than Bluetooth.
        NON_BLUETOOTH = 0x00 => "Non-Bluetooth Wake",
        /// An unexpected Bluetooth event woke the host.
        UNEXPECTED = 0x01 => "Unexpected Event",
        /// A peer connecting woke the host.
        REMOTE_WAKE = 0x02 => "Remote Wake",
    }
}

crate::wire_struct! {
    /// Controller Suspend (0x002D, since 1.18): the controller was prepared for host
    /// suspend (sent to every socket).
    pub struct ControllerSuspend {
        /// What it is doing while suspended.
        pub suspend_state: SuspendState,
    }
}

crate::wire_struct! {
    /// Controller Resume (0x002E, since 1.18): the controller resumed from suspend (sent to
    /// every socket).
    ///
    /// ```text
    /// Wake_Reason (1) | Address (6) | Address_Type (1)
    /// ```
    pub struct ControllerResume {
        /// Why.
        pub wake_reason: WakeReason,
        /// The peer that woke us for [`WakeReason::REMOTE_WAKE`]; all zero otherwise.
        pub address: AddressInfo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Address, AddressType};
    use crate::event::golden::{check, hex};

    #[test]
    fn controller_suspend() {
        // Documented layout: Suspend_State 0x02 (page scanning).
        let ev = ControllerSuspend {
            suspend_state: SuspendState::PAGE_SCANNING,
        };
        check(&[0x02], &ev);
        assert_eq!(ev.suspend_state.to_string(), "Page Scanning");
    }

    #[test]
    fn controller_resume() {
        // Documented layout: remote wake by 00:BB:00:00:00:02 (BR/EDR).
        check(
            &hex("02 02000000bb00 00"),
            &ControllerResume {
                wake_reason: WakeReason::REMOTE_WAKE,
                address: AddressInfo::new(
                    "00:BB:00:00:00:02".parse().unwrap(),
                    AddressType::BR_EDR,
                ),
            },
        );
        // Documented layout: non-Bluetooth wake, address and type zero.
        check(
            &hex("00 000000000000 00"),
            &ControllerResume {
                wake_reason: WakeReason::NON_BLUETOOTH,
                address: AddressInfo::new(Address::ANY, AddressType::BR_EDR),
            },
        );
    }
}
