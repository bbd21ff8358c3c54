//! A rehearsal of the answer path, run once when a [`PairingService`](super::PairingService)
//! starts: a made-up User Confirmation Request goes through a throwaway [`Session`] and
//! [`PairingCore`] to an encoded User Confirmation Reply, and that reply's Command Complete
//! back through the session. Nothing reaches the kernel, the agent or the store.
//!
//! Why: the first time a process runs a piece of code it pays for faulting that code's pages
//! in (from flash on a board whose binary is not in the page cache; translating it under an
//! emulator). Without the rehearsal the first real pairing request paid all of that between
//! the kernel's event and our reply, where the peer's user is waiting; the kernel tier's
//! benchmark measured the cold answer at several times the warm one. The rehearsal moves that
//! cost to start-up, where nobody waits on it.

use std::time::{Duration, Instant};

use bluez_mgmt_protocol::event::UserConfirmRequest;
use bluez_mgmt_protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, EventFrame, Status,
};

use super::core::{Action, Answer, CoreConfig, PairingCore};
use super::Controllers;
use crate::session::{Session, SessionEvent};

/// Runs the rehearsal (see the module docs). Returns whether it reached the encoded reply and
/// its completion, so a test can tell that it exercised the whole path.
pub(crate) fn rehearse_answer_path(answer_timeout: Duration) -> bool {
    let now = Instant::now();
    let index = ControllerIndex(0);
    let request = EventFrame {
        index,
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
    let mut session = Session::new();
    session.handle_frame(&frame);
    let Some(SessionEvent::Event { index, event }) = session.poll_event() else {
        return false;
    };
    let mut core = PairingCore::new(CoreConfig {
        controllers: Controllers::All,
        answer_timeout,
        auto_accept_initiated: false,
        io_capability: None,
        store: false,
        load_bonds: false,
        power_on: false,
    });
    core.handle_event(index, &event, now);
    let mut replied = false;
    while let Some(action) = core.poll_action() {
        match action {
            Action::Ask { ticket, .. } => core.handle_answer(ticket, Answer::Bool(true)),
            Action::Reply(reply) => {
                let peer = reply.peer().clone();
                let (index, opcode, params) = super::service::reply_command(reply);
                if session.submit_raw(index, opcode, &params, None).is_err() {
                    return false;
                }
                let Some(sent) = session.poll_transmit() else {
                    return false;
                };
                // Command Complete: opcode, Success, then the reply parameters (for a
                // User Confirmation Reply, the address it was given).
                let params = &sent.frame[6..];
                let mut frame = Vec::with_capacity(9 + params.len());
                frame.extend_from_slice(&0x0001u16.to_le_bytes());
                frame.extend_from_slice(&index.0.to_le_bytes());
                frame.extend_from_slice(&(3 + params.len() as u16).to_le_bytes());
                frame.extend_from_slice(&opcode.0.to_le_bytes());
                frame.push(Status::SUCCESS.0);
                frame.extend_from_slice(params);
                session.handle_frame(&frame);
                replied = matches!(
                    session.poll_event(),
                    Some(SessionEvent::Completed { result: Ok(_), .. })
                );
                core.handle_reply_result(peer, Ok(()));
            }
            _ => {}
        }
    }
    replied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rehearsal_reaches_the_reply_and_its_completion() {
        assert!(rehearse_answer_path(Duration::from_secs(30)));
    }
}
