//! Which address types a discovery covers (Start/Stop Discovery, Discovering).

bitflags::bitflags! {
    /// The discovery type mask: which transports and address types to look for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DiscoveryType: u8 {
        /// BR/EDR inquiry.
        const BREDR = 1 << 0;
        /// LE, public addresses.
        const LE_PUBLIC = 1 << 1;
        /// LE, random addresses.
        const LE_RANDOM = 1 << 2;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(DiscoveryType, u8);

impl DiscoveryType {
    /// Both LE address types (what `btmgmt find -l` asks for).
    pub const LE: DiscoveryType = DiscoveryType::LE_PUBLIC.union(DiscoveryType::LE_RANDOM);
    /// BR/EDR and LE (interleaved discovery).
    pub const INTERLEAVED: DiscoveryType = DiscoveryType::BREDR.union(DiscoveryType::LE);
}
