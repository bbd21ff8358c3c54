//! The sans-IO session with explicit time: matching, queueing, the reply lane, timeouts,
//! tombstones, unknown and malformed events, and controllers removed mid-command.
//!
//! Frames are built from the documented layout (doc/mgmt-protocol.rst: header code, index,
//! length; Command Complete = opcode, status, return parameters); where a frame is copied
//! from a capture, the capture is named.

use std::time::{Duration, Instant};

use bluez_mgmt::protocol::{ControllerIndex, Event, EventCode, Opcode, Status};
use bluez_mgmt::session::{
    CommandReply, Lane, RequestError, RequestId, Session, SessionEvent, Transmit,
};

mod support;
use support::{command, command_status, complete, frame, HCI0, HCI1, NONE};

/// The status a request failed with, if it failed with one.
fn failed_status(r: &Result<CommandReply, RequestError>) -> Option<Status> {
    match r {
        Err(RequestError::Status { status, .. }) => Some(*status),
        _ => None,
    }
}

fn transmits(s: &mut Session) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.poll_transmit().map(|t: Transmit| t.frame)).collect()
}

fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn completed(s: &mut Session) -> Vec<(RequestId, Result<CommandReply, RequestError>)> {
    events(s)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Completed { id, result } => Some((id, result)),
            _ => None,
        })
        .collect()
}

/// The address block of the Pair Device in fixtures/le-sc-numeric-comparison.btsnoop:
/// 02:00:00:00:bb:c0... as wire bytes, LE random address type 0x02.
const PEER: [u8; 7] = [0x02, 0x00, 0x00, 0x00, 0xbb, 0xc0, 0x02];

fn pair_params() -> Vec<u8> {
    // Pair Device: address (7) and IO capability 0x01 (DisplayYesNo), as in
    // fixtures/le-sc-numeric-comparison.btsnoop.
    let mut p = PEER.to_vec();
    p.push(0x01);
    p
}

#[test]
fn read_version_round_trip() {
    let mut s = Session::new();
    let id = s.submit_raw(NONE, Opcode::READ_VERSION, &[], None).unwrap();
    // Read Version as every capture in fixtures/ starts: 01 00 ff ff 00 00.
    assert_eq!(
        transmits(&mut s),
        vec![vec![0x01, 0x00, 0xff, 0xff, 0x00, 0x00]]
    );
    assert!(s.is_pending(id));
    // Its Command Complete from fixtures/le-sc-numeric-comparison.btsnoop: MGMT 1.22.
    s.handle_frame(&[
        0x01, 0x00, 0xff, 0xff, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x16, 0x00,
    ]);
    let done = completed(&mut s);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, id);
    let reply = done[0].1.as_ref().unwrap();
    assert_eq!(reply.params, vec![0x01, 0x16, 0x00]);
    let typed = reply
        .decode::<bluez_mgmt::protocol::command::ReadVersion>()
        .unwrap();
    assert_eq!((typed.version, typed.revision), (1, 22));
    assert!(!s.is_pending(id));
}

#[test]
fn ordinary_commands_go_one_at_a_time() {
    let mut s = Session::new();
    let a = s.submit_raw(HCI0, Opcode::SET_POWERED, &[1], None).unwrap();
    let b = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    let c = s.submit_raw(HCI1, Opcode::READ_INFO, &[], None).unwrap();
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI0, Opcode::SET_POWERED, &[1])]
    );
    // A reply for a command that is only queued matches nothing of ours: it is passed on.
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::NOT_POWERED, &[]));
    assert!(matches!(
        events(&mut s)[..],
        [SessionEvent::Event {
            event: Event::CommandComplete(_),
            ..
        }]
    ));
    assert!(s.is_pending(b));
    s.handle_frame(&complete(
        HCI0,
        Opcode::SET_POWERED,
        Status::SUCCESS,
        &[0x01, 0, 0, 0],
    ));
    assert_eq!(completed(&mut s)[0].0, a);
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI0, Opcode::READ_INFO, &[])]
    );
    s.handle_frame(&command_status(
        HCI0,
        Opcode::READ_INFO,
        Status::NOT_POWERED,
    ));
    let done = completed(&mut s);
    assert_eq!(done[0].0, b);
    assert_eq!(
        done[0].1,
        Err(RequestError::Status {
            opcode: Opcode::READ_INFO,
            index: HCI0,
            status: Status::NOT_POWERED,
            params: vec![]
        })
    );
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI1, Opcode::READ_INFO, &[])]
    );
    assert!(s.is_pending(c));
}

#[test]
fn failure_is_a_value_naming_opcode_index_and_status() {
    let mut s = Session::new();
    s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    transmits(&mut s);
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::REJECTED, &[]));
    let err = completed(&mut s).remove(0).1.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Read Controller Information on hci0 failed: Rejected"
    );
    assert_eq!((err.opcode(), err.index()), (Opcode::READ_INFO, HCI0));
}

#[test]
fn command_status_success_is_early_and_does_not_end() {
    let mut s = Session::new();
    let id = s
        .submit_raw(HCI0, Opcode::PAIR_DEVICE, &pair_params(), None)
        .unwrap();
    transmits(&mut s);
    s.handle_frame(&command_status(HCI0, Opcode::PAIR_DEVICE, Status::SUCCESS));
    assert_eq!(events(&mut s), vec![SessionEvent::Accepted { id }]);
    assert!(s.is_pending(id));
    s.handle_frame(&command_status(HCI0, Opcode::PAIR_DEVICE, Status::BUSY));
    let done = completed(&mut s);
    assert_eq!(failed_status(&done[0].1), Some(Status::BUSY));
    assert!(!s.is_pending(id));
}

/// Pair Device pending, the kernel asks for confirmation, the User Confirmation Reply
/// overtakes Pair Device and is answered first; an ordinary command waits behind Pair Device.
/// Frame order and contents as in fixtures/le-sc-numeric-comparison.btsnoop.
/// How a command reaches the kernel: submitted to the session, which transmits it, or
/// written by the caller and then recorded ([`Session::submit_written`]; the driver thread's
/// early reply).
#[derive(Debug, Clone, Copy)]
enum Sent {
    Submitted,
    Written,
}

/// Sends a command on HCI0 the way `sent` says; its request.
fn send(s: &mut Session, sent: Sent, opcode: Opcode, params: &[u8]) -> RequestId {
    match sent {
        Sent::Submitted => {
            let id = s.submit_raw(HCI0, opcode, params, None).unwrap();
            assert_eq!(transmits(s), vec![command(HCI0, opcode, params)]);
            id
        }
        Sent::Written => {
            let id = s.submit_written(HCI0, opcode, None);
            assert!(transmits(s).is_empty(), "{opcode}: written already");
            id
        }
    }
}

/// Either way a command is sent, its reply is matched to it, a pairing reply overtakes a
/// pending Pair Device, and Pair Device holds the ordinary lane until it is answered.
#[test]
fn pairing_reply_overtakes_pending_pair_device() {
    assert_eq!(Lane::of(Opcode::PAIR_DEVICE), Lane::Ordinary);
    assert_eq!(Lane::of(Opcode::USER_CONFIRM_REPLY), Lane::Reply);
    for sent in [Sent::Submitted, Sent::Written] {
        let mut s = Session::new();
        let pair = send(&mut s, sent, Opcode::PAIR_DEVICE, &pair_params());
        let unpair = s
            .submit_raw(
                HCI0,
                Opcode::UNPAIR_DEVICE,
                &[&PEER[..], &[0x01]].concat(),
                None,
            )
            .unwrap();
        assert!(
            transmits(&mut s).is_empty(),
            "{sent:?}: Unpair waits behind Pair Device"
        );
        // User Confirmation Request (0x000F): address, confirm hint 0, value 0x0009acb2.
        s.handle_frame(&frame(
            0x000F,
            HCI0,
            &[&PEER[..], &[0x00, 0xb2, 0xac, 0x09, 0x00]].concat(),
        ));
        assert!(matches!(
            events(&mut s)[..],
            [SessionEvent::Event { index: HCI0, .. }]
        ));
        let confirm = send(&mut s, sent, Opcode::USER_CONFIRM_REPLY, &PEER);
        s.handle_frame(&complete(
            HCI0,
            Opcode::USER_CONFIRM_REPLY,
            Status::SUCCESS,
            &PEER,
        ));
        let done = completed(&mut s);
        assert_eq!(done.len(), 1, "{sent:?}");
        assert_eq!(done[0].0, confirm);
        assert_eq!(done[0].1.as_ref().unwrap().params, PEER.to_vec());
        assert!(s.is_pending(pair));
        s.handle_frame(&complete(HCI0, Opcode::PAIR_DEVICE, Status::SUCCESS, &PEER));
        assert_eq!(completed(&mut s)[0].0, pair, "{sent:?}");
        assert_eq!(
            transmits(&mut s),
            vec![command(
                HCI0,
                Opcode::UNPAIR_DEVICE,
                &[&PEER[..], &[0x01]].concat()
            )]
        );
        assert!(s.is_pending(unpair));
    }
}

/// A command the caller builds itself (the driver thread's early reply) is framed as
/// `submit_raw` frames it, and refused where `submit_raw` refuses it.
#[test]
fn a_command_encoded_by_the_caller_is_framed_as_a_submitted_one() {
    let mut frame = vec![0xee; 3];
    Session::encode_command(HCI0, Opcode::USER_CONFIRM_REPLY, &PEER, &mut frame).unwrap();
    assert_eq!(frame, command(HCI0, Opcode::USER_CONFIRM_REPLY, &PEER));
    // Longer than a command frame: refused.
    assert!(Session::encode_command(HCI0, Opcode::PAIR_DEVICE, &[0; 65_536], &mut frame).is_err());
}

#[test]
fn timeout_fails_request_and_late_reply_hits_tombstone() {
    let t0 = Instant::now();
    let mut s = Session::new();
    let first = s
        .submit_raw(
            HCI0,
            Opcode::READ_INFO,
            &[],
            Some(t0 + Duration::from_secs(2)),
        )
        .unwrap();
    let queued = s
        .submit_raw(
            HCI1,
            Opcode::SET_POWERED,
            &[1],
            Some(t0 + Duration::from_secs(1)),
        )
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(transmits(&mut s).len(), 1);
    // The queued request expires first, unsent.
    s.handle_timeout(t0 + Duration::from_millis(999));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(t0 + Duration::from_secs(1));
    let done = completed(&mut s);
    assert_eq!(done[0].0, queued);
    assert_eq!(
        done[0].1,
        Err(RequestError::Timeout {
            opcode: Opcode::SET_POWERED,
            index: HCI1
        })
    );
    assert!(
        transmits(&mut s).is_empty(),
        "a timed-out queued command is never sent"
    );
    s.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(completed(&mut s)[0].0, first);
    assert_eq!(s.poll_timeout(), None);
    // The next Read Info goes out at once: the tombstone does not hold the lane.
    let second = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI0, Opcode::READ_INFO, &[])]
    );
    // The reply to the first request arrives late: it is dropped, not given to the second.
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::BUSY, &[]));
    assert!(events(&mut s).is_empty());
    assert!(s.is_pending(second));
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::NOT_POWERED, &[]));
    let done = completed(&mut s);
    assert_eq!(done[0].0, second);
    assert_eq!(failed_status(&done[0].1), Some(Status::NOT_POWERED));
}

#[test]
fn cancel_drops_queued_and_buries_sent() {
    let mut s = Session::new();
    let sent = s.submit_raw(HCI0, Opcode::SET_POWERED, &[1], None).unwrap();
    let queued = s.submit_raw(HCI0, Opcode::SET_POWERED, &[0], None).unwrap();
    let after = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    transmits(&mut s);
    assert!(s.cancel(queued));
    assert!(!s.cancel(queued));
    assert!(s.cancel(sent));
    // The lane is free: Read Info goes out, the cancelled Set Powered (off) never does.
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI0, Opcode::READ_INFO, &[])]
    );
    s.handle_frame(&complete(
        HCI0,
        Opcode::SET_POWERED,
        Status::SUCCESS,
        &[1, 0, 0, 0],
    ));
    assert!(
        events(&mut s).is_empty(),
        "the reply to a cancelled request is dropped"
    );
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::NOT_POWERED, &[]));
    assert_eq!(completed(&mut s)[0].0, after);
}

#[test]
fn unknown_event_is_an_event() {
    let mut s = Session::new();
    s.handle_frame(&frame(0x7777, HCI0, &[1, 2, 3]));
    match &events(&mut s)[..] {
        [SessionEvent::Event {
            index,
            event: Event::Unknown { code, params },
        }] => {
            assert_eq!(*index, HCI0);
            assert_eq!(*code, EventCode(0x7777));
            assert_eq!(params.0, vec![1, 2, 3]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_events_mid_stream_do_not_stop_the_session() {
    let mut s = Session::new();
    let id = s.submit_raw(HCI0, Opcode::SET_POWERED, &[1], None).unwrap();
    transmits(&mut s);
    // New Settings (0x0006) needs 4 octets of settings; this one has 3.
    let short = frame(EventCode::NEW_SETTINGS.0, HCI0, &[0x01, 0x02, 0x03]);
    s.handle_frame(&short);
    // A header whose length disagrees with the bytes.
    s.handle_frame(&[0x06, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01]);
    // A Command Complete too short to name its opcode and status.
    s.handle_frame(&frame(EventCode::COMMAND_COMPLETE.0, HCI0, &[0x05]));
    // Then a good New Settings and the reply.
    s.handle_frame(&frame(
        EventCode::NEW_SETTINGS.0,
        HCI0,
        &[0x01, 0x00, 0x00, 0x00],
    ));
    s.handle_frame(&complete(
        HCI0,
        Opcode::SET_POWERED,
        Status::SUCCESS,
        &[1, 0, 0, 0],
    ));
    let evs = events(&mut s);
    assert_eq!(evs.len(), 5, "{evs:?}");
    match &evs[0] {
        SessionEvent::Malformed { frame, error } => {
            assert_eq!(frame, &short);
            assert_eq!(error.field(), "current_settings");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(evs[1], SessionEvent::Malformed { .. }));
    assert!(matches!(evs[2], SessionEvent::Malformed { .. }));
    assert!(matches!(
        evs[3],
        SessionEvent::Event {
            event: Event::NewSettings(_),
            ..
        }
    ));
    assert!(matches!(&evs[4], SessionEvent::Completed { id: done, result: Ok(_) } if *done == id));
}

#[test]
fn reply_that_does_not_decode_fails_only_its_request() {
    let mut s = Session::new();
    let id = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    transmits(&mut s);
    // A successful Read Info reply must be 280 octets; this one has 2. The session matches
    // it by opcode anyway and the caller's decode reports the problem.
    s.handle_frame(&complete(HCI0, Opcode::READ_INFO, Status::SUCCESS, &[1, 2]));
    let done = completed(&mut s);
    assert_eq!(done[0].0, id);
    let reply = done[0].1.as_ref().unwrap();
    let err = reply
        .decode::<bluez_mgmt::protocol::command::ReadInfo>()
        .unwrap_err();
    assert_eq!(err.field(), "address");
}

/// Read Index List reply from fixtures/btvirt-kernel-kernel-le-sc-passkey.btsnoop: two
/// controllers, hci0 and hci1.
fn index_list_two() -> Vec<u8> {
    complete(
        NONE,
        Opcode::READ_INDEX_LIST,
        Status::SUCCESS,
        &[0x02, 0x00, 0x00, 0x00, 0x01, 0x00],
    )
}

/// A session that has read the controller list (hci0 and hci1).
fn two_controllers() -> Session {
    let mut s = Session::new();
    s.submit_raw(NONE, Opcode::READ_INDEX_LIST, &[], None)
        .unwrap();
    transmits(&mut s);
    s.handle_frame(&index_list_two());
    s
}

#[test]
fn index_removed_fails_pending_and_queued_requests_on_that_controller() {
    let mut s = two_controllers();
    events(&mut s);
    assert_eq!(s.controllers().collect::<Vec<_>>(), vec![HCI0, HCI1]);

    let pair = s
        .submit_raw(HCI1, Opcode::PAIR_DEVICE, &pair_params(), None)
        .unwrap();
    let info1 = s.submit_raw(HCI1, Opcode::READ_INFO, &[], None).unwrap();
    let info0 = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    assert_eq!(transmits(&mut s).len(), 1);
    // Index Removed (0x0005) for hci1.
    s.handle_frame(&frame(EventCode::INDEX_REMOVED.0, HCI1, &[]));
    let evs = events(&mut s);
    let failures: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Completed { id, result: Err(e) } => Some((*id, e.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            (
                pair,
                RequestError::ControllerRemoved {
                    opcode: Opcode::PAIR_DEVICE,
                    index: HCI1
                }
            ),
            (
                info1,
                RequestError::ControllerRemoved {
                    opcode: Opcode::READ_INFO,
                    index: HCI1
                }
            ),
        ]
    );
    assert_eq!(
        failures[1].1.to_string(),
        "controller hci1 was removed while Read Controller Information was pending"
    );
    assert_eq!(
        failures[0].1.to_string(),
        format!(
            "controller hci1 was removed while {} was pending",
            Opcode::PAIR_DEVICE
        )
    );
    assert!(evs
        .iter()
        .any(|e| matches!(e, SessionEvent::Event { index: HCI1, .. })));
    // hci0's request goes out now.
    assert_eq!(
        transmits(&mut s),
        vec![command(HCI0, Opcode::READ_INFO, &[])]
    );
    assert!(s.is_pending(info0));
    assert_eq!(s.controllers().collect::<Vec<_>>(), vec![HCI0]);
}

#[test]
fn invalid_index_for_a_known_controller_means_removed() {
    let mut s = two_controllers();
    let pair = s
        .submit_raw(HCI1, Opcode::PAIR_DEVICE, &pair_params(), None)
        .unwrap();
    transmits(&mut s);
    events(&mut s);
    // The kernel completes a removed controller's pending Pair Device with Invalid Index
    // (and the address) just before Index Removed.
    s.handle_frame(&complete(
        HCI1,
        Opcode::PAIR_DEVICE,
        Status::INVALID_INDEX,
        &PEER,
    ));
    let done = completed(&mut s);
    assert_eq!(
        done,
        vec![(
            pair,
            Err(RequestError::ControllerRemoved {
                opcode: Opcode::PAIR_DEVICE,
                index: HCI1
            })
        )]
    );
    // For a controller never seen, Invalid Index is just a status.
    let unknown = ControllerIndex(7);
    s.submit_raw(unknown, Opcode::READ_INFO, &[], None).unwrap();
    transmits(&mut s);
    s.handle_frame(&command_status(
        unknown,
        Opcode::READ_INFO,
        Status::INVALID_INDEX,
    ));
    assert_eq!(
        failed_status(&completed(&mut s)[0].1),
        Some(Status::INVALID_INDEX)
    );
}

#[test]
fn same_opcode_on_two_controllers_matches_by_index() {
    let mut s = Session::new();
    // Two reply-lane commands to different controllers are both in flight.
    let a = s
        .submit_raw(HCI0, Opcode::USER_CONFIRM_REPLY, &PEER, None)
        .unwrap();
    let b = s
        .submit_raw(HCI1, Opcode::USER_CONFIRM_REPLY, &PEER, None)
        .unwrap();
    assert_eq!(transmits(&mut s).len(), 2);
    s.handle_frame(&complete(
        HCI1,
        Opcode::USER_CONFIRM_REPLY,
        Status::SUCCESS,
        &PEER,
    ));
    assert_eq!(completed(&mut s)[0].0, b);
    s.handle_frame(&complete(
        HCI0,
        Opcode::USER_CONFIRM_REPLY,
        Status::SUCCESS,
        &PEER,
    ));
    assert_eq!(completed(&mut s)[0].0, a);
}

#[test]
fn close_fails_everything() {
    let mut s = Session::new();
    let a = s
        .submit_raw(HCI0, Opcode::SET_DISCOVERABLE, &[1, 0, 0], None)
        .unwrap();
    let b = s.submit_raw(HCI0, Opcode::READ_INFO, &[], None).unwrap();
    s.close();
    let done = completed(&mut s);
    assert_eq!(done.iter().map(|d| d.0).collect::<Vec<_>>(), vec![a, b]);
    assert!(done
        .iter()
        .all(|d| matches!(d.1, Err(RequestError::Closed { .. }))));
    assert!(s.poll_transmit().is_none());
}

mod properties {
    //! Model-based checks over random interleavings of submissions, replies, cancellations and
    //! timeouts, and arbitrary bytes fed as frames.

    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[derive(Debug, Clone)]
    enum Op {
        /// Submit opcode number `op` (0..4 ordinary, 4..6 reply lane) to controller `index`.
        Submit { op: u8, index: u16, timeout: bool },
        /// The kernel answers the `n`th (modulo) sent, unanswered command.
        Answer { n: usize, fail: bool },
        /// The caller abandons the `n`th (modulo) live request.
        Cancel { n: usize },
        /// Time passes by one second.
        Tick,
    }

    const OPCODES: [Opcode; 6] = [
        Opcode::READ_INFO,
        Opcode::SET_POWERED,
        Opcode::SET_DISCOVERABLE,
        Opcode::PAIR_DEVICE,
        Opcode::USER_CONFIRM_REPLY,
        Opcode::USER_PASSKEY_REPLY,
    ];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, 0u16..2, any::<bool>()).prop_map(|(op, index, timeout)| Op::Submit {
                op,
                index,
                timeout
            }),
            (any::<usize>(), any::<bool>()).prop_map(|(n, fail)| Op::Answer { n, fail }),
            any::<usize>().prop_map(|n| Op::Cancel { n }),
            Just(Op::Tick),
        ]
    }

    proptest! {
        #[test]
        fn replies_match_oldest_and_one_ordinary_in_flight(ops in proptest::collection::vec(op(), 0..60)) {
            let t0 = Instant::now();
            let mut now = t0;
            let mut s = Session::new();
            // Sent commands not yet answered by the kernel, in send order (id, key, lane).
            let mut sent: Vec<(RequestId, (ControllerIndex, Opcode), Lane)> = Vec::new();
            let mut live: Vec<RequestId> = Vec::new();
            let mut abandoned: HashSet<RequestId> = HashSet::new();
            let mut keys = std::collections::HashMap::new();
            for op in ops {
                // The request the last answer must end (None: it hit a tombstone).
                let mut expect_end: Option<RequestId> = None;
                let mut answered = false;
                match op {
                    Op::Submit { op, index, timeout } => {
                        let opcode = OPCODES[usize::from(op)];
                        let index = ControllerIndex(index);
                        let deadline = timeout.then(|| now + Duration::from_secs(2));
                        let id = s.submit_raw(index, opcode, &[], deadline).unwrap();
                        keys.insert(id, (index, opcode));
                        live.push(id);
                    }
                    Op::Answer { n, fail } => {
                        if sent.is_empty() { continue; }
                        answered = true;
                        let (id, key, _) = sent.remove(n % sent.len());
                        let status_code = if fail { Status::BUSY } else { Status::SUCCESS };
                        s.handle_frame(&complete(key.0, key.1, status_code, &[]));
                        // The reply ends the oldest sent command with that key (MGMT has no
                        // sequence numbers), which may not be `id`: keep the model in step.
                        let oldest = std::iter::once(id)
                            .chain(sent.iter().filter(|e| e.1 == key).map(|e| e.0))
                            .min()
                            .unwrap();
                        if oldest != id {
                            let pos = sent.iter().position(|e| e.0 == oldest).unwrap();
                            let entry = sent.remove(pos);
                            sent.push((id, key, entry.2));
                        }
                        expect_end = live.contains(&oldest).then_some(oldest);
                    }
                    Op::Cancel { n } => {
                        if live.is_empty() { continue; }
                        let id = live.remove(n % live.len());
                        prop_assert!(s.cancel(id));
                        abandoned.insert(id);
                    }
                    Op::Tick => {
                        now += Duration::from_secs(1);
                        s.handle_timeout(now);
                    }
                }
                while let Some(ev) = s.poll_event() {
                    if let SessionEvent::Completed { id, .. } = ev {
                        if answered {
                            prop_assert_eq!(Some(id), expect_end.take(), "the reply ended the wrong request");
                        }
                        prop_assert!(!abandoned.contains(&id), "an abandoned request was reported");
                        prop_assert!(live.contains(&id), "{:?} ended twice", id);
                        live.retain(|l| *l != id);
                    }
                }
                while let Some(t) = s.poll_transmit() {
                    let key = keys[&t.id];
                    let lane = Lane::of(key.1);
                    if lane == Lane::Ordinary {
                        let busy = sent.iter().any(|e| {
                            e.2 == Lane::Ordinary && live.contains(&e.0) && e.0 != t.id
                        });
                        prop_assert!(!busy, "a second ordinary command went out: {:?}", key);
                    }
                    sent.push((t.id, key, lane));
                }
                prop_assert_eq!(expect_end, None, "the reply ended nothing");
                for id in &live {
                    prop_assert!(s.is_pending(*id));
                }
            }
        }

        #[test]
        fn arbitrary_frames_never_panic_and_lose_nothing(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 0..40)
        ) {
            let mut s = Session::new();
            let id = s.submit_raw(HCI0, Opcode(0x7000), &[], None).unwrap();
            for f in &frames {
                s.handle_frame(f);
            }
            let reported = std::iter::from_fn(|| s.poll_event()).count();
            // Every frame is reported (event, malformed item or a request's end) unless it was
            // a Command Status with Success or the reply to our request.
            prop_assert!(reported <= frames.len());
            // Our request ends only through a frame naming opcode 0x7000 on hci0.
            let named = frames.iter().any(|f| f.len() >= 9 && f[2..4] == [0, 0] && f[6..8] == [0x00, 0x70]);
            if !named { prop_assert!(s.is_pending(id)); }
        }
    }
}
