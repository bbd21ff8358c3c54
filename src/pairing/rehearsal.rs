//! A rehearsal of the answer path, run once when a [`PairingService`](super::PairingService)
//! starts: two made-up User Confirmation Requests, from two peers, go one after the other
//! through a throwaway copy of the client's event path into the service's own inline
//! answering code, each twice: offered early, as the driver thread of
//! [`Client::open`](crate::client::Client::open) offers a request it has just read, and after
//! the session and publishing, as a driver task hands it over; with a throwaway
//! [`PairingCore`] and an answer that is ready at once, each to a framed User Confirmation
//! Reply; each reply's Command Complete comes back the same way and completes it. Then the
//! keys such a pairing hands out (two CSRKs, an LTK, a link key; all zeros) go the same way,
//! decoded and queued for the service as real ones are, and are read out and dropped.
//! Nothing reaches the kernel or the store; of the user's agent, only what the next paragraph
//! says runs.
//!
//! It runs what the first real pairing will run, branch for branch: the early replies are
//! written with the driver thread's own writer, into a socket pair made for the rehearsal
//! (and read back from its other end); the requests come on a controller the service
//! serves; the throwaway core is told whether to accept authorization for our own pairings
//! as the real one is.
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
//!
//! Why the same writer and the same branches: a branch never taken costs as much as a function
//! never run. Counted by callgrind in the benchmark's VM (`mgmtctl pair`), the first real
//! reply's early path ran only 16 instructions the rehearsal had not (a controller check on a
//! served index where the rehearsal used none, and the thread's write of an early reply,
//! which the rehearsal made into a buffer); traced there, those alone put the initiator's
//! first reply at 90 to 120 us from `read` to `sendto`; with them rehearsed, 25 to 38 us,
//! the C floor's 21 to 33. The keys: their decoding (about 750 instructions, on the driver
//! thread, while the kernel finishes the pairing) was the next code the first pairing ran
//! for the first time; rehearsed, the library agent's first request -> complete went from
//! 2.50 to 2.20 ms in that VM (the floor's 2.12 and 2.17; `mgmtctl`'s stayed at 3.1, its own
//! code after the reply being new too).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Context;

use bluez_mgmt_protocol::event::{
    NewLinkKey, NewLongTermKey, NewSignatureResolvingKey, UserConfirmRequest,
};
use bluez_mgmt_protocol::keys::{
    CsrkInfo, CsrkType, LinkKey, LinkKeyInfo, LinkKeyType, LongTermKey, LongTermKeyInfo,
    LongTermKeyType, SignatureResolvingKey,
};
use bluez_mgmt_protocol::{Address, AddressInfo, AddressType, ControllerIndex, Event, EventFrame};

use super::core::{Answer, CoreConfig, PairingCore, Question};
use super::service::{
    guarded, service_filter, unwoken, AgentCalls, Asked, Hot, Inline, InlineReplies, ServiceConfig,
};
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

/// How many key events follow them ([`made_up_keys`]).
const KEYS: usize = 4;

/// Runs the rehearsal (see the module docs). Returns whether it went the whole way: each
/// request's reply framed, and its completion handed back to the core.
pub(crate) fn rehearse_answer_path(
    config: &ServiceConfig,
    agent: &dyn AgentCalls,
    rehearsal: AgentRehearsal,
) -> bool {
    // A controller the service serves, so that its checks take the branches a real
    // request's take.
    let index = match &config.controllers {
        Controllers::Only(v) => v.first().copied().unwrap_or(ControllerIndex(0)),
        Controllers::All => ControllerIndex(0),
    };
    // The agent is asked about a made-up peer on no controller, which a rehearsal agent can
    // tell from a real one.
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
            index,
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
    // Then the first peer's keys, as an LE Secure Connections pairing that derives a link key
    // hands them out: decoded and queued for the service's task as real ones are, then read
    // out of the throwaway subscription and dropped.
    let mut frames = vec![first, second];
    for event in made_up_keys(Address([0x01, 0x00, 0x00, 0x00, 0x00, 0xc0])) {
        match (EventFrame { index, event }).encode() {
            Ok(frame) => frames.push(frame),
            Err(_) => return false,
        }
    }
    let core = PairingCore::new(CoreConfig {
        controllers: config.controllers.clone(),
        answer_timeout: config.answer_timeout,
        auto_accept_initiated: config.auto_accept_initiated,
        io_capability: None,
        store: false,
        load_bonds: false,
        power_on: false,
    });
    let hot = Arc::new(Mutex::new(Hot::new(core, Some(unwoken()))));
    let replies = Arc::new(InlineReplies::default());
    let inline = Arc::new(Inline {
        hot,
        agent: Arc::new(Accepts { at_once }),
        replies: replies.clone(),
        // No one reads the throwaway service's reports.
        reports: Arc::default(),
    });
    let rehearsed =
        crate::client::rehearse_event_path(&frames, service_filter(&config.controllers), inline);
    // Each frame went both ways a driver hands one over (see rehearse_event_path): each
    // request answered, its reply settled, each key queued.
    rehearsed.submitted == REQUESTS
        && rehearsed.written_early == REQUESTS
        && replies.all_settled_well()
        && rehearsed.queued == 2 * KEYS
}

/// The keys an LE Secure Connections pairing with `peer` (LE random) hands out when it also
/// derives a link key, in the kernel's order: the peer's and our CSRK, the LTK, the link key.
/// Made up: every key is zeros.
fn made_up_keys(peer: Address) -> [Event; KEYS] {
    let le = AddressInfo {
        address: peer,
        address_type: AddressType::LE_RANDOM,
    };
    let csrk = |csrk_type| {
        Event::NewSignatureResolvingKey(NewSignatureResolvingKey {
            store_hint: true,
            key: CsrkInfo {
                address: le.clone(),
                csrk_type,
                value: SignatureResolvingKey::new([0; 16]),
            },
        })
    };
    [
        csrk(CsrkType::REMOTE_AUTHENTICATED),
        csrk(CsrkType::LOCAL_AUTHENTICATED),
        Event::NewLongTermKey(NewLongTermKey {
            store_hint: true,
            key: LongTermKeyInfo {
                address: le.clone(),
                key_type: LongTermKeyType::AUTHENTICATED_P256,
                central: 0,
                encryption_size: 16,
                ediv: 0,
                rand: 0,
                value: LongTermKey::new([0; 16]),
            },
        }),
        Event::NewLinkKey(NewLinkKey {
            store_hint: true,
            key: LinkKeyInfo {
                address: AddressInfo {
                    address: peer,
                    address_type: AddressType::BR_EDR,
                },
                key_type: LinkKeyType::AUTHENTICATED_P256,
                value: LinkKey::new([0; 16]),
                pin_length: 0,
            },
        }),
    ]
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
            let whole = rehearse_answer_path(&ServiceConfig::default(), &agent, rehearsal);
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

    #[test]
    fn the_rehearsal_asks_on_a_controller_the_service_serves() {
        // (controllers served, auto-accept for our own pairings) -> went the whole way
        let only = |v: &[u16]| Controllers::Only(v.iter().map(|&i| ControllerIndex(i)).collect());
        let table = [
            (Controllers::All, true, true),
            (only(&[3]), true, true),
            (only(&[3]), false, true),
            (only(&[5, 2]), true, true),
            // A service that serves nothing answers nothing, made-up requests included.
            (only(&[]), true, false),
        ];
        for (controllers, auto_accept_initiated, expected) in table {
            let config = ServiceConfig {
                controllers: controllers.clone(),
                auto_accept_initiated,
                ..ServiceConfig::default()
            };
            let agent = Recording::default();
            assert_eq!(
                rehearse_answer_path(&config, &agent, AgentRehearsal::MakeOnly),
                expected,
                "{controllers:?}, auto-accept {auto_accept_initiated}"
            );
        }
    }
}
