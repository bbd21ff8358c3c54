//! A rehearsal of the answer path, run once when a [`PairingService`](super::PairingService)
//! starts: two made-up User Confirmation Requests, from two peers, go one after the other
//! through a throwaway copy of the client's event path into the service's own inline
//! answering code, each twice: offered early, as the driver thread of
//! [`Client::open`](crate::client::Client::open) offers a request it has just read (its reply
//! written, here into a buffer), and after the session and publishing, as a driver task hands
//! it over; with a throwaway [`PairingCore`] and an answer that
//! is ready at once, each to a framed User Confirmation Reply; each reply's Command Complete
//! comes back the same way and completes it. Nothing reaches the kernel or the store; of the
//! user's agent, only what the next paragraph says runs.
//!
//! Why: the first time a process runs a piece of code it pays for bringing that code in
//! (page faults, from flash on a board whose binary is not in the page cache; cache and TLB
//! misses; under an emulator, translating it). Without the rehearsal the first real pairing
//! request paid all of that between the kernel's event and our reply, while the peer waits.
//! In the kernel tier's benchmark (TCG) the first answer of a fresh agent took about four
//! times as long as later ones; the rehearsal moves that cost to start-up. What it cannot
//! cover is the user's own agent code: it makes the agent's answer to a confirmation (the
//! boxed future that will call it) and drops it unpolled, so only the agent's own lines are
//! new to the first request. Timed in the benchmark's VM, making that future for the first
//! time cost the first reply 0.1 to 0.4 ms. A user whose agent can answer without side
//! effects gives the service one to ask
//! ([`PairingService::with_rehearsal_agent`](super::PairingService::with_rehearsal_agent)):
//! its answer is then polled too.
//!
//! Why two: code runs differently in a connection that has carried a request before. Its
//! maps and queues have held an entry (an insert into an empty B-tree map allocates its root;
//! one into an emptied map does not), and the allocator serves sizes it has seen from its
//! caches. A real agent's first request meets that state, since start-up's commands came
//! first; a rehearsal of one request on a fresh driver took the other branches. Timed in
//! the benchmark's VM, with one rehearsed request the first real reply still spent 0.2 to
//! 0.6 ms submitting its reply command (about 0.03 ms in later replies); with two, about
//! 0.03 ms.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use bluez_mgmt_protocol::event::UserConfirmRequest;
use bluez_mgmt_protocol::{Address, AddressInfo, AddressType, ControllerIndex, Event, EventFrame};

use super::core::{Answer, CoreConfig, PairingCore, Question};
use super::service::{guarded, service_filter, unwoken, AgentCalls, Asked, Hot, Inline};
use super::Controllers;
use crate::agent::{Peer, YesNoRequest};

/// What the rehearsal does with the agent's answer to a made-up confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AgentRehearsal {
    /// Makes it and drops it unpolled: the code that starts the user's agent (and an
    /// allocation of its size) runs, not one line of the agent's own.
    MakeOnly,
    /// Polls it once, then drops it: an agent given for this
    /// ([`PairingService::with_rehearsal_agent`](super::PairingService::with_rehearsal_agent)),
    /// which answers without side effects.
    Poll,
}

/// How many requests the rehearsal answers.
const REQUESTS: usize = 2;

/// Runs the rehearsal (see the module docs). Returns whether it went the whole way: each
/// request's reply framed, and its completion handed back to the core.
pub(crate) fn rehearse_answer_path(
    answer_timeout: Duration,
    agent: &dyn AgentCalls,
    rehearsal: AgentRehearsal,
) -> bool {
    let peer = Peer::new(
        ControllerIndex::NONE,
        AddressInfo {
            address: Address([0x01, 0x00, 0x00, 0x00, 0x00, 0xc0]),
            address_type: AddressType::LE_RANDOM,
        },
    );
    let question = Question::ConfirmValue(123_456);
    // Whether the agent answers confirmations at once (then the requests below take the
    // early write, as its real ones will); asked only of an agent given to be asked.
    let at_once = rehearsal == AgentRehearsal::Poll
        && question
            .yes_no()
            .and_then(|r| agent.answer_at_once(&peer, r))
            .is_some();
    let mut answer = agent.ask(peer, question);
    if let AgentRehearsal::Poll = rehearsal {
        let waker = unwoken();
        let _ = Pin::new(&mut answer).poll(&mut Context::from_waker(&waker));
    }
    drop(answer);
    // Two requests from two peers, one after the other, through one throwaway driver and
    // core (see the module docs for why two).
    let request = |peer: u8| {
        EventFrame {
            index: ControllerIndex(0),
            event: Event::UserConfirmRequest(UserConfirmRequest {
                address: AddressInfo {
                    address: Address([peer, 0x00, 0x00, 0x00, 0x00, 0xc0]),
                    address_type: AddressType::LE_RANDOM,
                },
                confirm_hint: Default::default(),
                value: 123_456,
            }),
        }
        .encode()
    };
    let (Ok(first), Ok(second)) = (request(0x01), request(0x02)) else {
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
        agent: Arc::new(Accepts { at_once }),
    });
    let mut settled = 0;
    let (submitted, written_early) = crate::client::rehearse_event_path(
        &[first, second],
        service_filter(&Controllers::All),
        inline,
        || {
            settled += hot
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .settle_replies();
        },
    );
    // Each request went both ways a driver hands one over (see rehearse_event_path).
    submitted == REQUESTS && written_early == REQUESTS && settled == 2 * REQUESTS
}

/// The rehearsal's own agent: accepts, at once if `at_once`, or else through an answer
/// that is ready when polled.
struct Accepts {
    at_once: bool,
}

impl AgentCalls for Accepts {
    fn ask(&self, _: Peer, _: Question) -> Asked {
        guarded(Box::pin(std::future::ready(Answer::Bool(true))))
    }

    fn answer_at_once(&self, _: &Peer, _: YesNoRequest) -> Option<Answer> {
        self.at_once.then_some(Answer::Bool(true))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// An agent that records being made, polled and asked at once.
    #[derive(Default)]
    struct Recording {
        at_once: Option<bool>,
        made: AtomicUsize,
        polled: Arc<AtomicBool>,
        asked_at_once: AtomicUsize,
    }

    impl AgentCalls for Recording {
        fn ask(&self, _: Peer, question: Question) -> Asked {
            assert!(matches!(question, Question::ConfirmValue(_)));
            self.made.fetch_add(1, Ordering::SeqCst);
            let polled = self.polled.clone();
            guarded(Box::pin(async move {
                polled.store(true, Ordering::SeqCst);
                Answer::Bool(false)
            }))
        }

        fn answer_at_once(&self, _: &Peer, _: YesNoRequest) -> Option<Answer> {
            self.asked_at_once.fetch_add(1, Ordering::SeqCst);
            self.at_once.map(Answer::Bool)
        }
    }

    #[test]
    fn the_rehearsal_asks_the_agent_only_when_given_one_to_ask() {
        // (how, the agent's answer at once) -> (times made, polled, times asked at once)
        let table = [
            (AgentRehearsal::MakeOnly, None, (1, false, 0)),
            (AgentRehearsal::MakeOnly, Some(true), (1, false, 0)),
            (AgentRehearsal::Poll, None, (1, true, 1)),
            (AgentRehearsal::Poll, Some(false), (1, true, 1)),
        ];
        for (rehearsal, at_once, expected) in table {
            let agent = Recording {
                at_once,
                ..Recording::default()
            };
            let whole = rehearse_answer_path(Duration::from_secs(30), &agent, rehearsal);
            assert!(whole, "{rehearsal:?}, {at_once:?}: went the whole way");
            assert_eq!(
                (
                    agent.made.load(Ordering::SeqCst),
                    agent.polled.load(Ordering::SeqCst),
                    agent.asked_at_once.load(Ordering::SeqCst)
                ),
                expected,
                "{rehearsal:?}, {at_once:?}: the real agent's answer is made once, polled and \
                 asked at once only when it was given to be asked"
            );
        }
    }
}
