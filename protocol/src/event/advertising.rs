//! Events about advertising instances added or removed by another socket.

crate::wire_struct! {
    /// Advertising Added (0x0023, since 1.9): an advertising instance was added with Add
    /// Advertising (sent to the other sockets).
    pub struct AdvertisingAdded {
        /// The instance (1..=254).
        pub instance: u8,
    }
}

crate::wire_struct! {
    /// Advertising Removed (0x0024, since 1.9): an advertising instance was removed, by
    /// Remove Advertising or because its timeout passed.
    pub struct AdvertisingRemoved {
        /// The instance (1..=254).
        pub instance: u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::golden::check;

    #[test]
    fn advertising_added_and_removed() {
        // Documented layout: Instance 0x01.
        check(&[0x01], &AdvertisingAdded { instance: 1 });
        check(&[0x01], &AdvertisingRemoved { instance: 1 });
        assert!(crate::Event::decode(crate::EventCode::ADVERTISING_ADDED, &[]).is_err());
    }
}
