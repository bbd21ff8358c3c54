//! A rehearsal of the answer path, run once when a [`PairingService`](super::PairingService)
//! starts: a made-up User Confirmation Request goes through a throwaway copy of the client's
//! event path (session, publishing) into the service's own inline answering code, with a
//! throwaway [`PairingCore`] and an answer that is ready at once, to a framed User
//! Confirmation Reply; that reply's Command Complete comes back the same way and completes
//! it. Nothing reaches the kernel, the user's agent or the store.
//!
//! Why: the first time a process runs a piece of code it pays for bringing that code in
//! (page faults, from flash on a board whose binary is not in the page cache; cache and TLB
//! misses; under an emulator, translating it). Without the rehearsal the first real pairing
//! request paid all of that between the kernel's event and our reply, while the peer waits.
//! In the kernel tier's benchmark (TCG) the first answer of a fresh agent took about four
//! times as long as later ones; the rehearsal moves that cost to start-up. What it cannot
//! cover is the user's own agent code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt_protocol::event::UserConfirmRequest;
use bluez_mgmt_protocol::{Address, AddressInfo, AddressType, ControllerIndex, Event, EventFrame};

use super::core::{Answer, CoreConfig, PairingCore};
use super::service::{guarded, service_filter, unwoken, Hot, Inline};
use super::Controllers;

/// Runs the rehearsal (see the module docs). Returns whether it went the whole way: one
/// reply framed, and its completion handed back to the core.
pub(crate) fn rehearse_answer_path(answer_timeout: Duration) -> bool {
    let request = EventFrame {
        index: ControllerIndex(0),
        event: Event::UserConfirmRequest(UserConfirmRequest {
            address: AddressInfo {
                address: Address([0x01, 0x00, 0x00, 0x00, 0x00, 0xc0]),
                address_type: AddressType::LE_RANDOM,
            },
            confirm_hint: Default::default(),
            value: 123_456,
        }),
    };
    let Ok(frame) = request.encode() else {
        return false;
    };
    let core = PairingCore::new(CoreConfig {
        controllers: Controllers::All,
        answer_timeout,
        auto_accept_initiated: false,
        io_capability: None,
        store: false,
        load_bonds: false,
        power_on: false,
    });
    let hot = Arc::new(Mutex::new(Hot::new(core, Some(unwoken()))));
    let inline = Arc::new(Inline {
        hot: hot.clone(),
        ask: Arc::new(|_, _| guarded(Box::pin(std::future::ready(Answer::Bool(true))))),
    });
    let submitted = crate::client::rehearse_event_path(&frame, service_filter(), inline);
    let settled = hot
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .settle_replies();
    submitted == 1 && settled == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rehearsal_reaches_the_reply_and_its_completion() {
        assert!(rehearse_answer_path(Duration::from_secs(30)));
    }
}
