//! The tokio client over a scripted transport (h2 style): the exact bytes the client writes and
//! the exact bytes it reads, through the script itself and through the kernel transport over a
//! socket whose far end plays the script.
//!
//! Frames come from the documented layout (doc/mgmt-protocol.rst) unless a capture is named.

use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use bluez_mgmt::agent::{Agent, Peer};
use bluez_mgmt::client::{Client, ErrorKind, EventFilter, SubscriptionError};
use bluez_mgmt::protocol::command::{
    Discoverable, ReadInfo, ReadVersion, SecureConnectionsMode, SetPowered,
};
use bluez_mgmt::protocol::{
    ControllerIndex, Event, EventCode, IoCapability, Opcode, Settings, Status,
};
use bluez_mgmt::transport::ScriptedTransport;
use std::sync::Arc;

mod support;
use support::{
    command_complete, command_status, complete_params, on_every_wire, script_played, service_on,
    Exchange, Wire, HCI0, HCI1, NONE,
};

/// A client over `script` through `wire`; the script, to check it was played to the end.
fn started(wire: Wire, script: ScriptedTransport) -> (Client, Arc<ScriptedTransport>) {
    let script = Arc::new(script);
    (wire.client(&script), script)
}

// Every test but the mismatch's (a scripted transport's own error) runs through both wires.
on_every_wire!(
    typed_call_writes_and_reads_exact_bytes,
    status_failure_is_a_typed_error,
    permission_denied_names_the_capability,
    confirm_reply_overtakes_pair_device,
    timeout_then_late_reply_is_discarded,
    dropped_call_leaves_a_tombstone,
    controller_removed_mid_command,
    unwanted_events_are_dropped_but_tracked_ones_count,
    subscriptions_filter_and_report_malformed_events,
    slow_subscriber_is_told_it_lagged,
    end_of_transport_closes_the_client,
    controller_name_io_capability_and_settings,
    last_handle_gone_ends_subscriptions,
    agent_calls_the_client_while_it_is_asked,
);

async fn typed_call_writes_and_reads_exact_bytes(wire: Wire) {
    // Read Version and its reply as in fixtures/le-sc-numeric-comparison.btsnoop.
    let script = ScriptedTransport::builder()
        .write([0x01, 0x00, 0xff, 0xff, 0x00, 0x00])
        .read([
            0x01, 0x00, 0xff, 0xff, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x16, 0x00,
        ])
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let v = client.call(NONE, &ReadVersion {}).await.unwrap();
    assert_eq!((v.version, v.revision), (1, 22));
    script.check_done().unwrap();
}

async fn status_failure_is_a_typed_error(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::SET_DISCOVERABLE, &[0x01, 0x00, 0x00])
        .read_event(
            HCI0,
            EventCode::COMMAND_STATUS,
            &[0x06, 0x00, Status::REJECTED.0],
        )
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let err = client
        .controller(HCI0)
        .discoverable(Discoverable::GENERAL, 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Status {
            opcode: Opcode::SET_DISCOVERABLE,
            index: HCI0,
            status: Status::REJECTED
        }
    );
    assert_eq!(err.status(), Some(Status::REJECTED));
    assert!(
        err.to_string().ends_with("on hci0 failed: Rejected"),
        "{err}"
    );
    script.check_done().unwrap();
}

async fn permission_denied_names_the_capability(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::SET_POWERED, &[0x01])
        .read_event(
            HCI0,
            EventCode::COMMAND_STATUS,
            &[0x05, 0x00, Status::PERMISSION_DENIED.0],
        )
        .build()
        .stay_open();
    let (client, _script) = started(wire, script);
    let err = client.controller(HCI0).power(true).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
}

/// Pair Device pending; the kernel asks for a confirmation; the User Confirmation Reply goes
/// out and is answered while Pair Device is still pending. Bytes as in
/// fixtures/le-sc-numeric-comparison.btsnoop (cookie 1).
async fn confirm_reply_overtakes_pair_device(wire: Wire) {
    let peer = [0x02, 0x00, 0x00, 0x00, 0xbb, 0xc0, 0x02];
    let pair = [&peer[..], &[0x01]].concat();
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::PAIR_DEVICE, &pair)
        // Device Connected (0x000B): address, flags 8, EIR length 0.
        .read_event(
            HCI0,
            EventCode::DEVICE_CONNECTED,
            &[&peer[..], &[0x08, 0, 0, 0, 0, 0]].concat(),
        )
        // User Confirmation Request (0x000F): address, hint 0, value 0x0009acb2.
        .read_event(
            HCI0,
            EventCode::USER_CONFIRM_REQUEST,
            &[&peer[..], &[0x00, 0xb2, 0xac, 0x09, 0x00]].concat(),
        )
        .exchange(HCI0, Opcode::USER_CONFIRM_REPLY, &peer, &peer)
        .read(command_complete(HCI0, Opcode::PAIR_DEVICE, &peer))
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let mut requests = client.subscribe(EventFilter::all().code(EventCode::USER_CONFIRM_REQUEST));
    let pairing = client.submit_raw(
        HCI0,
        Opcode::PAIR_DEVICE,
        pair.clone(),
        Some(Duration::from_secs(60)),
    );
    let (index, event) = requests.recv().await.unwrap().unwrap();
    assert_eq!(index, HCI0);
    assert_eq!(event.code(), EventCode::USER_CONFIRM_REQUEST);
    let confirm = client
        .submit_raw(HCI0, Opcode::USER_CONFIRM_REPLY, peer.to_vec(), None)
        .await
        .unwrap();
    assert_eq!(confirm.params, peer.to_vec());
    let paired = pairing.await.unwrap();
    assert_eq!(paired.params, peer.to_vec());
    script.check_done().unwrap();
}

async fn timeout_then_late_reply_is_discarded(wire: Wire) {
    let info_fail = complete_params(Opcode::READ_INFO, Status::NOT_POWERED, &[]);
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::READ_INFO, &[])
        // Nothing comes for the first Read Info until the second is written.
        .write_command(HCI0, Opcode::READ_INFO, &[])
        // The late reply to the first, then the reply to the second.
        .read_event(
            HCI0,
            EventCode::COMMAND_COMPLETE,
            &complete_params(Opcode::READ_INFO, Status::BUSY, &[]),
        )
        .read_event(HCI0, EventCode::COMMAND_COMPLETE, &info_fail)
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let err = client
        .call_with_timeout(HCI0, &ReadInfo {}, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Timeout {
            opcode: Opcode::READ_INFO,
            index: HCI0
        }
    );
    let err = client.call(HCI0, &ReadInfo {}).await.unwrap_err();
    assert_eq!(err.status(), Some(Status::NOT_POWERED), "{err}");
    script.check_done().unwrap();
}

async fn dropped_call_leaves_a_tombstone(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::SET_POWERED, &[0x01])
        .exchange(HCI0, Opcode::SET_POWERED, &[0x00], &[0x01, 0, 0, 0])
        .read(command_complete(
            HCI0,
            Opcode::SET_POWERED,
            &[0x00, 0, 0, 0],
        ))
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let first = client.start(HCI0, &SetPowered { powered: true }, None);
    // Give the driver the chance to send it, then give up on it.
    while script.writes_done() < 1 {
        tokio::task::yield_now().await;
    }
    drop(first);
    let settings = client
        .call(HCI0, &SetPowered { powered: false })
        .await
        .unwrap();
    assert_eq!(
        settings,
        Settings::empty(),
        "the first reply (powered) was not taken"
    );
    script.check_done().unwrap();
}

async fn controller_removed_mid_command(wire: Wire) {
    let script = ScriptedTransport::builder()
        .exchange(NONE, Opcode::READ_INDEX_LIST, &[], &[2, 0, 0, 0, 1, 0])
        .write_command(HCI1, Opcode::READ_INFO, &[])
        .read_event(HCI1, EventCode::INDEX_REMOVED, &[])
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let list = client
        .call(NONE, &bluez_mgmt::protocol::command::ReadIndexList {})
        .await
        .unwrap();
    assert_eq!(list.indexes.0, vec![HCI0, HCI1]);
    let err = client.controller(HCI1).info().await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::ControllerRemoved {
            opcode: Opcode::READ_INFO,
            index: HCI1
        }
    );
    assert_eq!(
        err.to_string(),
        "controller hci1 was removed while Read Controller Information was pending"
    );
    script.check_done().unwrap();
}

/// An event that no subscriber wants is dropped before it is decoded, but not one the session
/// tracks itself: an Index Added nobody subscribed to still makes the kernel's Invalid Index
/// for that controller's command read as the controller removed. Events on a controller
/// nobody watches (a malformed one among them) reach no one; the watched one's arrive.
async fn unwanted_events_are_dropped_but_tracked_ones_count(wire: Wire) {
    let hci2 = ControllerIndex(2);
    let script = ScriptedTransport::builder()
        .write_command(NONE, Opcode::READ_VERSION, &[])
        .read_event(hci2, EventCode::INDEX_ADDED, &[])
        .read_event(HCI1, EventCode::NEW_SETTINGS, &[0x01, 0, 0, 0])
        .read_event(HCI1, EventCode::NEW_SETTINGS, &[0x00])
        .read_event(HCI0, EventCode::NEW_SETTINGS, &[0x01, 0, 0, 0])
        .read_event(HCI1, EventCode::INDEX_REMOVED, &[])
        .read(command_complete(NONE, Opcode::READ_VERSION, &[1, 22, 0]))
        .write_command(hci2, Opcode::READ_INFO, &[])
        .read(command_status(
            hci2,
            Opcode::READ_INFO,
            Status::INVALID_INDEX,
        ))
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let mut hci0 = client.subscribe(EventFilter::all().controller(HCI0));
    client.call(NONE, &ReadVersion {}).await.unwrap();

    match hci0.try_recv() {
        Some(Ok((HCI0, Event::NewSettings(ev)))) => {
            assert_eq!(ev.current_settings, Settings::POWERED)
        }
        other => panic!("{other:?}"),
    }
    assert!(hci0.try_recv().is_none(), "only hci0's event");

    let err = client.controller(hci2).info().await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::ControllerRemoved {
            opcode: Opcode::READ_INFO,
            index: hci2
        },
        "{err}"
    );
    script.check_done().unwrap();
}

async fn subscriptions_filter_and_report_malformed_events(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(NONE, Opcode::READ_VERSION, &[])
        // New Settings for hci0 and hci1, an unknown event, a short New Settings.
        .read_event(HCI0, EventCode::NEW_SETTINGS, &[0x01, 0, 0, 0])
        .read_event(HCI1, EventCode::NEW_SETTINGS, &[0x00, 0, 0, 0])
        .read_event(HCI1, EventCode(0x7777), &[0xab])
        .read_event(HCI1, EventCode::NEW_SETTINGS, &[0x00])
        .read(command_complete(NONE, Opcode::READ_VERSION, &[1, 22, 0]))
        .build()
        .stay_open();
    let (client, _script) = started(wire, script);
    let mut all = client.subscribe(EventFilter::all());
    let mut hci1_settings = client.subscribe(
        EventFilter::all()
            .controller(HCI1)
            .code(EventCode::NEW_SETTINGS),
    );
    client.call(NONE, &ReadVersion {}).await.unwrap();

    let mut seen = Vec::new();
    while let Some(item) = all.try_recv() {
        seen.push(item);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        matches!(&seen[2], Ok((HCI1, Event::Unknown { code, .. })) if *code == EventCode(0x7777))
    );
    match &seen[3] {
        Err(SubscriptionError::Malformed(m)) => {
            assert_eq!(m.index(), Some(HCI1));
            assert_eq!(m.error.field(), "current_settings");
        }
        other => panic!("{other:?}"),
    }

    match hci1_settings.try_recv() {
        Some(Ok((HCI1, Event::NewSettings(ev)))) => {
            assert_eq!(ev.current_settings, Settings::empty())
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        hci1_settings.try_recv(),
        Some(Err(SubscriptionError::Malformed(_)))
    ));
    assert!(hci1_settings.try_recv().is_none());
}

async fn slow_subscriber_is_told_it_lagged(wire: Wire) {
    let n = bluez_mgmt::client::EVENT_BUFFER + 76;
    let mut b = ScriptedTransport::builder().write_command(NONE, Opcode::READ_VERSION, &[]);
    for i in 0..n {
        b = b.read_event(HCI0, EventCode::NEW_SETTINGS, &[(i % 2) as u8, 0, 0, 0]);
    }
    let script = b
        .read(command_complete(NONE, Opcode::READ_VERSION, &[1, 22, 0]))
        .build()
        .stay_open();
    let (client, _script) = started(wire, script);
    let mut slow = client.subscribe(EventFilter::all());
    client.call(NONE, &ReadVersion {}).await.unwrap();
    assert_eq!(slow.recv().await, Some(Err(SubscriptionError::Lagged(76))));
    let mut rest = 0;
    while let Some(Ok(_)) = slow.try_recv() {
        rest += 1;
    }
    assert_eq!(rest, bluez_mgmt::client::EVENT_BUFFER);
}

#[tokio::test]
async fn script_mismatch_fails_the_call_with_a_diff() {
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::SET_POWERED, &[0x01])
        .build()
        .stay_open();
    let (client, script) = started(Wire::Script, script);
    let err = client.controller(HCI0).power(false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    let text = err.to_string();
    assert!(
        text.contains("expected: hci0 Set Powered (0x0005) SetPowered { powered: true }"),
        "{text}"
    );
    assert!(
        text.contains("actual:   hci0 Set Powered (0x0005) SetPowered { powered: false }"),
        "{text}"
    );
    assert!(script.mismatch().is_some());
}

async fn end_of_transport_closes_the_client(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(HCI0, Opcode::READ_INFO, &[])
        .build();
    let (client, _script) = started(wire, script);
    let mut events = client.subscribe(EventFilter::all());
    let err = client.controller(HCI0).info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert_eq!(events.recv().await, None);
    let err = client.controller(HCI0).info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    // The script has no more frames: the transport says so; the socket's far end closes.
    let reason = match wire {
        Wire::Script => "no more frames",
        Wire::Socket | Wire::Thread => "the MGMT socket was shut down",
    };
    assert!(err.to_string().contains(reason), "{err}");
}

async fn controller_name_io_capability_and_settings(wire: Wire) {
    // Set Local Name (0x000F): name (249 octets, NUL padded) then short name (11 octets);
    // the reply repeats both (documented layout, doc/mgmt-protocol.rst).
    let mut names = vec![0u8; 260];
    names[..7].copy_from_slice(b"kitchen");
    names[249..252].copy_from_slice(b"kit");
    let script = ScriptedTransport::builder()
        .exchange(HCI0, Opcode::SET_LOCAL_NAME, &names, &names)
        // Set IO Capability (0x0018) KeyboardDisplay (0x04): no return parameters.
        .exchange(HCI0, Opcode::SET_IO_CAPABILITY, &[0x04], &[])
        // Set Secure Connections (0x002D) Only (0x02): current settings back.
        .exchange(HCI0, Opcode::SET_SECURE_CONN, &[0x02], &[0x01, 0x0a, 0, 0])
        // Set BR/EDR (0x002A) off, but the reply is cut short: a decode error.
        .exchange(HCI0, Opcode::SET_BREDR, &[0x00], &[0x01])
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let c = client.controller(HCI0);
    let (name, short) = c.name("kitchen", "kit").await.unwrap();
    assert_eq!(
        (name.to_string(), short.to_string()),
        ("kitchen".into(), "kit".into())
    );
    c.io_capability(bluez_mgmt::protocol::IoCapability(0x04))
        .await
        .unwrap();
    let s = c
        .secure_connections(SecureConnectionsMode::ONLY)
        .await
        .unwrap();
    assert_eq!(s, Settings::POWERED | Settings::SECURE_CONN | Settings::LE);
    let err = c.bredr(false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    script.check_done().unwrap();
}

/// A socket that cannot raise its send MTU (here a Unix socket; a kernel before 5.16) keeps
/// the kernel's 1,028 octets: a longer command fails before anything is written, with the
/// limit in its message, and the connection goes on.
#[tokio::test]
async fn a_command_longer_than_the_socket_takes_is_refused_before_it_is_written() {
    for wire in [Wire::Socket, Wire::Thread] {
        refused_before_written(wire).await;
    }
}

async fn refused_before_written(wire: Wire) {
    let script = ScriptedTransport::builder()
        .write_command(NONE, Opcode::READ_VERSION, &[])
        .read(command_complete(NONE, Opcode::READ_VERSION, &[1, 22, 0]))
        .build()
        .stay_open();
    let (client, script) = started(wire, script);
    let err = client
        .submit_raw(HCI0, Opcode::LOAD_LONG_TERM_KEYS, vec![0; 1_023], None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        err.to_string().contains(
            "a frame of 1029 bytes is longer than the MGMT socket's send MTU (1028 bytes)"
        ),
        "{wire:?}: {err}"
    );
    let v = client.call(NONE, &ReadVersion {}).await.unwrap();
    assert_eq!((v.version, v.revision), (1, 22));
    script.check_done().unwrap();
}

#[test]
fn setting_names_round_trip() {
    use bluez_mgmt::client::Setting;
    for s in Setting::ALL {
        assert_eq!(Setting::from_name(s.name()), Some(s));
        // Every setting's name is also the settings mask's name for its bit.
        assert_eq!(Settings::from_flag_name(s.name()), Some(s.flag()), "{s}");
    }
    assert_eq!(
        Setting::from_name("secure_connections"),
        Some(Setting::SecureConnections)
    );
    assert_eq!(Setting::from_name("nope"), None);
}

/// When the last handle goes, the driver ends, and every subscription with it: a driver
/// thread is woken from its `read` to end (here by shutting its socket down for reading),
/// and no frame has to come first.
async fn last_handle_gone_ends_subscriptions(wire: Wire) {
    let (client, _script) = started(wire, ScriptedTransport::builder().build().stay_open());
    let mut events = client.subscribe(EventFilter::all());
    drop(client);
    let end = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the subscription ends once no handle is left");
    assert!(end.is_none(), "{end:?}");
}

/// An agent that asks the kernel something (Read Version) before it answers a comparison.
struct AsksFirst(Client);

impl Agent for AsksFirst {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }

    async fn confirm_value(&self, _peer: &Peer, _value: u32) -> bool {
        self.0.call(NONE, &ReadVersion {}).await.is_ok()
    }
}

/// An agent's method that calls the client while it is asked: on a driver thread its first
/// poll runs on the thread (which holds the driver's lock), so the call is queued there and
/// written once the request is handled, never waited for under the lock. The call is answered
/// and the agent's answer written, in order.
async fn agent_calls_the_client_while_it_is_asked(wire: Wire) {
    let peer = [0x01, 0x00, 0x00, 0x00, 0xBB, 0x00, 0x01];
    let request = [&peer[..], &[0], &123_456u32.to_le_bytes()].concat();
    let io = [IoCapability::DISPLAY_YES_NO.0];
    // Read Version's reply as in fixtures/le-sc-numeric-comparison.btsnoop.
    let version = [0x01, 0x16, 0x00];
    let script = Arc::new(
        ScriptedTransport::builder()
            .exchange(HCI0, Opcode::SET_IO_CAPABILITY, &io, &[])
            .read_event(HCI0, EventCode::USER_CONFIRM_REQUEST, &request)
            .exchange(NONE, Opcode::READ_VERSION, &[], &version)
            .exchange(HCI0, Opcode::USER_CONFIRM_REPLY, &peer, &peer)
            .build()
            .stay_open(),
    );
    // A deadlock would block this test's runtime in the lock, where no timer fires: a
    // watchdog thread ends the process instead of letting the test hang.
    let (done, watched) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = watched.recv_timeout(Duration::from_secs(20)) {
            eprintln!("agent_calls_the_client_while_it_is_asked: deadlocked ({wire:?})");
            std::process::exit(101);
        }
    });
    let client = wire.client(&script);
    let service = service_on(&client, HCI0, AsksFirst(client.clone()), true);
    service
        .start()
        .await
        .expect("Set IO Capability as scripted");
    let played = tokio::time::timeout(Duration::from_secs(10), script_played(&script)).await;
    played
        .expect("the agent's call is not waited for under the driver's lock")
        .unwrap();
    let _ = done.send(());
}
