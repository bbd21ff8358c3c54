//! What kind of controller an index is and which bus it sits on (Read Extended Controller
//! Index List, Extended Index Added, Extended Index Removed).

crate::open_enum! {
    /// The Controller_Type of an extended index entry.
    pub struct ControllerType(u8) {
        /// A configured primary controller (BR/EDR and/or LE).
        PRIMARY = 0x00 => "Primary",
        /// A primary controller that still needs configuration.
        UNCONFIGURED = 0x01 => "Unconfigured",
        /// An Alternate MAC/PHY controller.
        AMP = 0x02 => "AMP",
    }
}

crate::open_enum! {
    /// The Controller_Bus of an extended index entry: how the controller is attached.
    pub struct Bus(u8) {
        /// A virtual controller (hci_vhci, btvirt).
        VIRTUAL = 0x00 => "Virtual",
        /// USB.
        USB = 0x01 => "USB",
        /// PC Card (PCMCIA).
        PCMCIA = 0x02 => "PCMCIA",
        /// UART (H4, H5, vendor line disciplines).
        UART = 0x03 => "UART",
        /// RS-232.
        RS232 = 0x04 => "RS232",
        /// PCI.
        PCI = 0x05 => "PCI",
        /// SDIO.
        SDIO = 0x06 => "SDIO",
        /// SPI.
        SPI = 0x07 => "SPI",
        /// I2C.
        I2C = 0x08 => "I2C",
        /// Qualcomm shared memory driver.
        SMD = 0x09 => "SMD",
        /// virtio.
        VIRTIO = 0x0A => "VIRTIO",
        /// Inter-processor communication.
        IPC = 0x0B => "IPC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknowns() {
        assert_eq!(ControllerType::UNCONFIGURED.to_string(), "Unconfigured");
        assert_eq!(Bus(0x0B).to_string(), "IPC");
        assert_eq!(Bus::KNOWN.len(), 12);
        assert_eq!(format!("{:?}", Bus(0x20)), "Bus(0x20)");
    }
}
