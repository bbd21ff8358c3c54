//! IO capabilities: what a device can show and enter, which decides the pairing method.

crate::open_enum! {
    /// The local or remote IO capability (Set IO Capability, Pair Device).
    pub struct IoCapability(u8) {
        /// Can display a number, cannot take input.
        DISPLAY_ONLY = 0x00 => "DisplayOnly",
        /// Can display a number and take yes/no.
        DISPLAY_YES_NO = 0x01 => "DisplayYesNo",
        /// Can enter digits, cannot display.
        KEYBOARD_ONLY = 0x02 => "KeyboardOnly",
        /// Neither display nor input.
        NO_INPUT_NO_OUTPUT = 0x03 => "NoInputNoOutput",
        /// Can display and enter digits.
        KEYBOARD_DISPLAY = 0x04 => "KeyboardDisplay",
    }
}

impl IoCapability {
    /// The five capabilities the API defines.
    pub const ALL: [IoCapability; 5] = [
        IoCapability::DISPLAY_ONLY,
        IoCapability::DISPLAY_YES_NO,
        IoCapability::KEYBOARD_ONLY,
        IoCapability::NO_INPUT_NO_OUTPUT,
        IoCapability::KEYBOARD_DISPLAY,
    ];

    /// Parses a capability by name, case-insensitively, with or without dashes
    /// (`display-yes-no`, `DisplayYesNo`, `noinputnooutput`).
    pub fn from_name(s: &str) -> Option<IoCapability> {
        let want: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.name().map(|n| n.to_ascii_lowercase()) == Some(want.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(
            IoCapability::from_name("display-yes-no"),
            Some(IoCapability::DISPLAY_YES_NO)
        );
        assert_eq!(
            IoCapability::from_name("NoInputNoOutput"),
            Some(IoCapability::NO_INPUT_NO_OUTPUT)
        );
        assert_eq!(IoCapability::from_name("telepathy"), None);
    }
}
