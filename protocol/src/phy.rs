//! PHY masks (Get/Set PHY Configuration, PHY Configuration Changed).

bitflags::bitflags! {
    /// Physical layer options, supported, configurable or selected.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Phys: u32 {
        /// BR 1M, 1 slot.
        const BR_1M_1SLOT = 1 << 0;
        /// BR 1M, 3 slots.
        const BR_1M_3SLOT = 1 << 1;
        /// BR 1M, 5 slots.
        const BR_1M_5SLOT = 1 << 2;
        /// EDR 2M, 1 slot.
        const EDR_2M_1SLOT = 1 << 3;
        /// EDR 2M, 3 slots.
        const EDR_2M_3SLOT = 1 << 4;
        /// EDR 2M, 5 slots.
        const EDR_2M_5SLOT = 1 << 5;
        /// EDR 3M, 1 slot.
        const EDR_3M_1SLOT = 1 << 6;
        /// EDR 3M, 3 slots.
        const EDR_3M_3SLOT = 1 << 7;
        /// EDR 3M, 5 slots.
        const EDR_3M_5SLOT = 1 << 8;
        /// LE 1M transmit.
        const LE_1M_TX = 1 << 9;
        /// LE 1M receive.
        const LE_1M_RX = 1 << 10;
        /// LE 2M transmit.
        const LE_2M_TX = 1 << 11;
        /// LE 2M receive.
        const LE_2M_RX = 1 << 12;
        /// LE Coded transmit.
        const LE_CODED_TX = 1 << 13;
        /// LE Coded receive.
        const LE_CODED_RX = 1 << 14;
        // Keep bits this crate does not know yet.
        const _ = !0;
    }
}

crate::wire::mask_impls!(Phys, u32);
