//! The library's CPU work per pairing answer, for callgrind: a real [`Client`] and
//! [`PairingService`] over a scripted transport answer `N` User Confirmation Requests in a row
//! (request, User Confirmation Reply written, its Command Complete read), with an agent that
//! accepts at once. No kernel and no store.
//!
//! ```text
//! cargo bench --bench answer_path --no-run        # then, with the binary it names:
//! valgrind --tool=callgrind BIN 1000; valgrind --tool=callgrind BIN 2000
//! ```
//!
//! Instructions per answer = (Ir at 2000 - Ir at 1000) / 1000: start-up cancels out.
//!
//! `BIN N thread` runs the client as [`Client::open`] does, its driver on a thread of its own,
//! over a `SOCK_SEQPACKET` pair whose far end (a plain thread) plays the same conversation one
//! frame at a time: there the reply is written on the driver thread's early path, and
//! `--toggle-collect='*Driver::take_early*'` counts what that path costs. `BIN N thread
//! at-once` gives the agent an answer at once ([`Agent::answer_at_once`]): the reply is then
//! written from the request's bytes before they are decoded. `foreign` puts a request on
//! controller 1 before each one, with the service serving only controller 0: what a frame no
//! subscriber wants costs is the difference from the run without it.

use std::io;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use bluez_mgmt::agent::{Agent, Peer, YesNoRequest};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::{ControllerIndex, EventCode, IoCapability, Opcode, Status};
use bluez_mgmt::transport::{BoxFuture, ScriptBuilder, ScriptedTransport, Transport};

const HCI0: ControllerIndex = ControllerIndex(0);
const HCI1: ControllerIndex = ControllerIndex(1);

/// Command Complete parameters: the opcode answered, the status, the reply.
fn complete(opcode: Opcode, reply: &[u8]) -> Vec<u8> {
    [&opcode.0.to_le_bytes()[..], &[Status::SUCCESS.0], reply].concat()
}

/// LE public address of peer `i` (wire order) and its type octet.
fn peer(i: usize) -> [u8; 7] {
    [i as u8, (i >> 8) as u8, 0x00, 0x00, 0xBB, 0x00, 0x01]
}

/// `n` times: a request, the reply we must write, its completion. (With no store and no IO
/// capability to register, the service sends nothing at start.) With `foreign`, each request
/// follows one on controller 1, which the service does not serve (as `pair --index 0` reads
/// the responder's request on the same machine): nothing is written for it.
fn script(n: usize, foreign: bool) -> ScriptedTransport {
    let mut b: ScriptBuilder = ScriptedTransport::builder();
    for i in 0..n {
        let request = [&peer(i)[..], &[0x00], &(i as u32).to_le_bytes()].concat();
        if foreign {
            b = b.read_event(HCI1, EventCode::USER_CONFIRM_REQUEST, &request);
        }
        b = b
            .read_event(HCI0, EventCode::USER_CONFIRM_REQUEST, &request)
            .write_command(HCI0, Opcode::USER_CONFIRM_REPLY, &peer(i))
            .read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &complete(Opcode::USER_CONFIRM_REPLY, &peer(i)),
            );
    }
    b.build().stay_open()
}

/// The script, with each receive waiting its turn behind the runtime's other ready tasks,
/// as a receive on the kernel's socket does until the next frame arrives: the service's task
/// runs between frames, as it does against the kernel.
struct Paced(Arc<ScriptedTransport>);

impl Transport for Paced {
    fn send<'a>(&'a self, frame: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        self.0.send(frame)
    }

    fn recv(&self) -> BoxFuture<'_, io::Result<Vec<u8>>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.recv().await
        })
    }
}

/// Accepts every comparison with an answer that is ready when polled; with `at_once`, as
/// [`Agent::answer_at_once`] too (then the reply is written from the request's bytes).
struct Accept {
    at_once: bool,
}

impl Agent for Accept {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }
    async fn confirm_value(&self, _peer: &Peer, _value: u32) -> bool {
        true
    }
    fn answer_at_once(&self, _peer: &Peer, request: YesNoRequest) -> Option<bool> {
        self.at_once
            .then_some(matches!(request, YesNoRequest::ConfirmValue(_)))
    }
}

/// The far end of a socket pair playing `script` in lockstep: each frame the script reads
/// is written, each frame it expects is read and handed to it.
fn kernel_thread(script: Arc<ScriptedTransport>, end: std::os::fd::OwnedFd) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let mut buf = vec![0u8; 1024];
        // A request on controller 0 (code, index): the only frame whose reply comes back.
        let [c0, c1] = EventCode::USER_CONFIRM_REQUEST.0.to_le_bytes();
        let [i0, i1] = HCI0.0.to_le_bytes();
        let own_request = [c0, c1, i0, i1];
        rt.block_on(async {
            loop {
                // A read step of the script is the frame to write.
                let Ok(frame) = script.recv().await else {
                    return;
                };
                if nix::unistd::write(&end, &frame).is_err() {
                    return;
                }
                // Every request's reply is read before the next frame (its completion or the
                // next request) goes.
                if frame.starts_with(&own_request) {
                    let Ok(n) = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&end), &mut buf)
                    else {
                        return;
                    };
                    if script.send(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        });
    });
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next().map(|a| a.parse()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: answer_path [N [thread] [at-once] [foreign]]");
            std::process::exit(2);
        }
    };
    let modes: Vec<String> = args.collect();
    let mode = |m: &str| modes.iter().any(|a| a == m);
    let (thread, at_once, foreign) = (mode("thread"), mode("at-once"), mode("foreign"));
    let script = Arc::new(script(n, foreign));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let client = if thread {
            use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
            let (ours, theirs) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .expect("a SOCK_SEQPACKET pair");
            kernel_thread(script.clone(), theirs);
            Client::with_control_socket(ours).expect("the socket pair's end taken")
        } else {
            Client::with_transport(Paced(script.clone()))
        };
        let service = PairingService::new(
            client,
            Accept { at_once },
            ServiceConfig {
                register_io_capability: false,
                load_bonds: false,
                power_on: false,
                controllers: if foreign {
                    Controllers::Only(vec![HCI0])
                } else {
                    Controllers::All
                },
                ..ServiceConfig::default()
            },
        );
        let mut reports = service.reports();
        let _task = service.start().await.expect("the service starts");
        // Reports the driver overwrote before this task read them count as `Lagged`; the
        // script checks every reply anyway.
        let mut answered = 0;
        while answered < n as u64 {
            match reports.recv().await {
                Ok(Report::Answered { accepted: true, .. }) => answered += 1,
                Ok(other) => panic!("unexpected report: {other:?}"),
                Err(RecvError::Lagged(missed)) => answered += missed,
                Err(RecvError::Closed) => panic!("the service stopped"),
            }
        }
        // The last reply's completion.
        while !script.is_done() {
            tokio::task::yield_now().await;
        }
    });
    if let Some(m) = script.mismatch() {
        panic!("{m}");
    }
    println!("{n} requests answered");
}
