//! BR/EDR legacy (PIN code) pairing between btvirt's two kernel controllers, both with Secure
//! Simple Pairing off (Set SSP 0 before power on), each answered by our agent runner's
//! `request_pin_code` over one MGMT client.
//!
//! Bumble 0.0.236's link manager has no legacy pairing (no PIN Code Request at all), so the
//! peer here is the second kernel. btvirt's btdev emulates it faithfully enough for the
//! kernel's side: PIN Code Request on both hosts in turn, Authentication Failure when the two
//! PINs differ, and on success a Link Key Notification of type Combination (0x00) on both.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluez_mgmt::agent::{Agent, Peer, PinCode};
use bluez_mgmt::client::{Client, EventFilter};
use bluez_mgmt::pairing::PairError;
use bluez_mgmt::protocol::event::Event;
use bluez_mgmt::protocol::keys::LinkKeyType;
use bluez_mgmt::protocol::{AddressInfo, AddressType, IoCapability, Status};

use super::support::{controller_address, prepare_pairing, service_on, Btvirt, Capture};

/// Answers every PIN Code Request with its PIN and remembers the `secure` flags it was given.
#[derive(Clone)]
struct PinAgent {
    pin: &'static str,
    asked: Arc<Mutex<Vec<bool>>>,
}

impl Agent for PinAgent {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }
    async fn request_pin_code(&self, _peer: &Peer, secure: bool) -> Option<PinCode> {
        self.asked.lock().unwrap().push(secure);
        Some(PinCode::new(self.pin.as_bytes()).expect("a valid PIN"))
    }
}

/// What one side's MGMT events showed.
#[derive(Debug, Default)]
struct Side {
    pin_requests: Vec<bool>,
    link_keys: Vec<LinkKeyType>,
    auth_failed: Vec<Status>,
}

/// hci0 pairs with hci1 over BR/EDR; hci0's agent answers `pin0`, hci1's `pin1`.
///
/// Authentication Failed goes to every MGMT socket except the one whose Pair Device failed
/// (`mgmt_auth_failed` skips it and completes the command with the status instead), so it is
/// watched from a second socket. That socket is left out of the recorded scenario (`capture`
/// set) to keep the fixture to one socket.
async fn pin_pairing(
    virt: &Btvirt,
    pin0: &'static str,
    pin1: &'static str,
    capture: Option<&str>,
) -> (Result<(), PairError>, [Side; 2], [Vec<bool>; 2]) {
    let [a, b] = virt.indexes;
    let observer = match capture {
        None => Some(Client::open().await.expect("observer client")),
        Some(_) => None,
    };
    let mut observed = observer.as_ref().map(|o| o.subscribe(EventFilter::all()));
    let capture = capture.map(Capture::start);
    let client = Client::open().await.expect("MGMT client");
    let mut events = client.subscribe(EventFilter::all());
    let agents = [pin0, pin1].map(|pin| PinAgent {
        pin,
        asked: Arc::default(),
    });
    let initiator = service_on(&client, a, agents[0].clone(), false);
    let responder = service_on(&client, b, agents[1].clone(), false);
    let ta = initiator.start().await.expect("initiator runner");
    let tb = responder.start().await.expect("responder runner");
    let b_address = controller_address(&client, b).await;
    let a_address = controller_address(&client, a).await;
    let target = Peer::new(a, AddressInfo::new(b_address, AddressType::BR_EDR));
    let result = initiator
        .pair(
            &target,
            IoCapability::DISPLAY_YES_NO,
            Duration::from_secs(30),
        )
        .await;
    let mut sides = [Side::default(), Side::default()];
    while let Ok(Some(item)) =
        tokio::time::timeout(Duration::from_millis(1500), events.recv()).await
    {
        let Ok((index, event)) = item else { continue };
        let Some(n) = [a, b].iter().position(|i| *i == index) else {
            continue;
        };
        match event {
            Event::PinCodeRequest(e) => sides[n].pin_requests.push(e.secure),
            Event::NewLinkKey(e) => sides[n].link_keys.push(e.key.key_type),
            Event::AuthenticationFailed(e) => sides[n].auth_failed.push(e.status),
            _ => {}
        }
    }
    if let Some(observed) = observed.as_mut() {
        while let Ok(Some(item)) =
            tokio::time::timeout(Duration::from_millis(200), observed.recv()).await
        {
            if let Ok((index, Event::AuthenticationFailed(e))) = item {
                if let Some(n) = [a, b].iter().position(|i| *i == index) {
                    sides[n].auth_failed.push(e.status);
                }
            }
        }
    }
    for (idx, addr) in [(a, b_address), (b, a_address)] {
        let _ = initiator
            .unpair(
                &Peer::new(idx, AddressInfo::new(addr, AddressType::BR_EDR)),
                true,
            )
            .await;
    }
    // The services go after their last call (unpairing goes through them).
    ta.abort();
    tb.abort();
    drop(client);
    if let Some(c) = capture {
        c.finish();
    }
    let asked = agents.map(|g| g.asked.lock().unwrap().clone());
    (result, sides, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bredr_legacy_pin_pairing() {
    let virt = Btvirt::start().await;
    {
        let client = Client::open().await.expect("MGMT client");
        for idx in virt.indexes {
            let c = client.controller(idx);
            c.power(false).await.expect("power off");
            let settings = prepare_pairing(&client, idx, false, None).await;
            println!("hci{} settings with SSP off: {settings:?}", idx.0);
            c.power(true).await.expect("power on");
        }
    }

    // The same 4-digit PIN on both sides: Combination link key on both.
    let (result, sides, asked) =
        pin_pairing(&virt, "7291", "7291", Some("pairing_bredr_legacy_pin")).await;
    println!("PIN 7291 / 7291: Pair Device {result:?}, events {sides:?}, agents asked {asked:?}");
    result.expect("PIN pairing succeeds");
    for (n, side) in sides.iter().enumerate() {
        assert_eq!(
            side.pin_requests.len(),
            1,
            "hci side {n}: one PIN Code Request"
        );
        assert_eq!(
            asked[n], side.pin_requests,
            "side {n}: the agent got the request's secure flag"
        );
        assert_eq!(
            side.link_keys,
            [LinkKeyType::COMBINATION],
            "side {n}: New Link Key of type Combination"
        );
        assert!(side.auth_failed.is_empty());
    }

    // Different PINs: Authentication Failed, no keys.
    let (result, sides, asked) = pin_pairing(&virt, "7291", "1111", None).await;
    println!("PIN 7291 / 1111: Pair Device {result:?}, events {sides:?}, agents asked {asked:?}");
    assert_eq!(
        result,
        Err(PairError::Status(Status::AUTHENTICATION_FAILED)),
        "a wrong PIN fails the pairing"
    );
    assert!(sides.iter().all(|s| s.link_keys.is_empty()), "no keys");
    assert_eq!(
        sides[0].auth_failed,
        [Status::AUTHENTICATION_FAILED],
        "Authentication Failed on the initiator (seen from a second socket)"
    );
    assert_eq!(asked[1].len(), 1, "the responder was asked for its PIN");
}
