//! The crate's [`Client`] against a real kernel: pairing replies overtaking a pending Pair
//! Device, a controller removed mid-command, two controllers driven concurrently, a rejected
//! command as a typed error, and the driver thread ending when the last handle goes. Needs
//! the VM harness (btvirt's two controllers).

use std::time::Duration;

use bluez_mgmt::client::{Client, Controller, ErrorKind, EventFilter, Setting};
use bluez_mgmt::protocol::command::{
    Discoverable, PairDevice, ReadVersion, SecureConnectionsMode, UserConfirmReply,
};
use bluez_mgmt::protocol::{
    Address, AddressInfo, AddressType, ControllerIndex, Event, EventCode, IoCapability, Opcode,
    Settings, Status,
};

use super::support::{interrupt_and_wait, Btvirt, Capture};

/// Prepares a controller for LE Secure Connections pairing with DisplayYesNo (the steps of
/// the lab's pairing scenario).
async fn prepare(client: &Client, index: ControllerIndex, advertise: bool) {
    let c: Controller = client.controller(index);
    c.power(false).await.unwrap();
    let info = c.info().await.unwrap();
    if info.supported_settings.contains(Settings::SSP) {
        c.ssp(true).await.unwrap();
    }
    c.le(true).await.unwrap();
    c.secure_connections(SecureConnectionsMode::ON)
        .await
        .unwrap();
    c.bondable(true).await.unwrap();
    c.connectable(true).await.unwrap();
    c.io_capability(IoCapability::DISPLAY_YES_NO).await.unwrap();
    let on = c.power(true).await.unwrap();
    assert!(on.contains(Settings::POWERED), "{index}: {on:?}");
    if advertise {
        c.set(Setting::Advertising, true).await.unwrap();
    }
}

#[tokio::test]
async fn pair_device_pending_while_confirm_replies_are_answered() {
    let capture = Capture::start("client_pair_confirm");
    let virt = Btvirt::start().await;
    let [init, resp] = virt.indexes;
    let client = Client::open().await.expect("open the MGMT socket");
    prepare(&client, init, false).await;
    prepare(&client, resp, true).await;
    let resp_addr = client.controller(resp).info().await.unwrap().address;

    let mut confirms = client.subscribe(EventFilter::all().code(EventCode::USER_CONFIRM_REQUEST));
    let pair = PairDevice {
        address: AddressInfo::new(resp_addr, AddressType::LE_PUBLIC),
        io_capability: IoCapability::DISPLAY_YES_NO,
    };
    let mut pairing = Box::pin(client.start(init, &pair, Some(Duration::from_secs(60))));

    // Both sides ask for confirmation; each answer goes out while Pair Device is pending and
    // is answered by its own Command Complete.
    let mut answered = Vec::new();
    let result = loop {
        tokio::select! {
            result = &mut pairing => break result,
            item = confirms.recv() => {
                let (index, event) = item.expect("subscription open").expect("no lag");
                let Event::UserConfirmRequest(request) = event else {
                    panic!("filtered to User Confirmation Request: {event:?}");
                };
                let reply = client
                    .call_with_timeout(
                        index,
                        &UserConfirmReply { address: request.address.clone() },
                        Duration::from_secs(10),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("User Confirmation Reply on {index}: {e}"));
                assert_eq!(reply, request.address, "the reply names the peer");
                answered.push(index);
            }
        }
    };
    let reply = result.unwrap_or_else(|e| panic!("Pair Device: {e}"));
    assert_eq!(reply.address, resp_addr);
    assert!(
        answered.contains(&init),
        "the initiator's confirmation was answered while Pair Device was pending: {answered:?}"
    );
    capture.finish();
}

#[tokio::test]
async fn controller_removed_while_pair_device_is_pending() {
    let capture = Capture::start("client_controller_removed");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let client = Client::open().await.expect("open the MGMT socket");
    prepare(&client, index, false).await;
    // Pair with an LE address nobody has: the kernel keeps trying to connect.
    let nobody = PairDevice {
        address: AddressInfo::new(
            "C0:EE:00:00:00:01".parse::<Address>().unwrap(),
            AddressType::LE_PUBLIC,
        ),
        io_capability: IoCapability::DISPLAY_YES_NO,
    };
    let pairing = client.start(index, &nobody, Some(Duration::from_secs(60)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(virt); // stops btvirt: the kernel unregisters both controllers
    let err = tokio::time::timeout(Duration::from_secs(30), pairing)
        .await
        .expect("Pair Device ended")
        .expect_err("the controller went away");
    assert_eq!(
        err.kind(),
        ErrorKind::ControllerRemoved {
            opcode: Opcode::PAIR_DEVICE,
            index
        },
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("controller {index} was removed while")),
        "{err}"
    );
    capture.finish();
}

#[tokio::test]
async fn two_controllers_driven_concurrently() {
    let capture = Capture::start("client_two_controllers");
    let virt = Btvirt::start().await;
    let [a, b] = virt.indexes;
    let client = Client::open().await.expect("open the MGMT socket");
    let (ca, cb) = (client.controller(a), client.controller(b));
    let (pa, pb) = tokio::join!(ca.power(true), cb.power(true));
    assert!(pa.unwrap().contains(Settings::POWERED));
    assert!(pb.unwrap().contains(Settings::POWERED));
    let (ia, ib) = tokio::join!(ca.info(), cb.info());
    let (ia, ib) = (ia.unwrap(), ib.unwrap());
    // btvirt -l2 gives its controllers 00:AA:01:00:00:00 and 00:AA:01:01:00:01 (support.rs).
    assert_eq!(ia.address.to_string(), "00:AA:01:00:00:00");
    assert_eq!(ib.address.to_string(), "00:AA:01:01:00:01");
    let (oa, ob) = tokio::join!(ca.power(false), cb.power(false));
    assert!(!oa.unwrap().contains(Settings::POWERED));
    assert!(!ob.unwrap().contains(Settings::POWERED));
    capture.finish();
}

/// The driver thread waits in `read` and nowhere else, and an HCI socket cannot be shut down
/// to wake it: when the last handle goes, the thread is woken by the kernel's reply to a
/// Read Version it asks for, and ends, and every subscription with it (the events of other
/// tests' controllers may come first). A call with a time limit the kernel meets is answered,
/// not ended by its timer.
#[tokio::test]
async fn last_handle_gone_ends_the_driver_thread() {
    let client = Client::open().await.expect("open the MGMT socket");
    let version = client
        .call_with_timeout(
            ControllerIndex::NONE,
            &ReadVersion {},
            Duration::from_secs(5),
        )
        .await
        .expect("Read Version within its time limit");
    assert!(version.version >= 1, "{version:?}");
    let mut events = client.subscribe(EventFilter::all());
    drop(client);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the subscription ends once no handle is left"
    );
}

#[tokio::test]
async fn discoverable_while_not_connectable_is_rejected() {
    let capture = Capture::start("client_discoverable_rejected");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let client = Client::open().await.expect("open the MGMT socket");
    let c = client.controller(index);
    c.power(true).await.unwrap();
    let s = c.connectable(false).await.unwrap();
    assert!(!s.contains(Settings::CONNECTABLE));
    let err = c
        .discoverable(Discoverable::GENERAL, 0)
        .await
        .expect_err("kernel rejects it");
    assert_eq!(
        err.kind(),
        ErrorKind::Status {
            opcode: Opcode::SET_DISCOVERABLE,
            index,
            status: Status::REJECTED
        },
        "{err}"
    );
    capture.finish();
}

/// Runs the built `mgmtctl` with `args` and returns its standard output; fails on a non-zero
/// exit.
async fn mgmtctl(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .await
        .expect("run mgmtctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mgmtctl {args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn mgmtctl_info_power_set_and_monitor() {
    use tokio::io::AsyncBufReadExt;

    let capture = Capture::start("client_mgmtctl");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let n = index.0.to_string();

    let info = mgmtctl(&["info"]).await;
    assert!(info.starts_with("MGMT version 1."), "{info}");
    assert!(info.contains(&format!("{index}:\n")), "{info}");
    assert!(info.contains("address 00:AA:01:00:00:00"), "{info}");

    // A monitor that records, started before the changes it must see.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("monitor.btsnoop");
    let mut monitor = tokio::process::Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(["monitor", "--write"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mgmtctl monitor");
    // The recorder writes CTRL_OPEN (16 + 24 + 26 bytes) once the socket is open.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&file).map_or(0, |m| m.len()) < 66 {
        assert!(
            std::time::Instant::now() < deadline,
            "monitor did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let on = mgmtctl(&["power", "on", "--index", &n]).await;
    assert!(
        on.starts_with(&format!("{index}: current settings: powered")),
        "{on}"
    );
    let le = mgmtctl(&["set", "le", "on", "--index", &n]).await;
    assert!(le.contains(" le"), "{le}");
    let off = mgmtctl(&["power", "off", "--index", &n]).await;
    assert!(!off.contains("powered"), "{off}");

    // The monitor prints the New Settings the changes caused, as `decode` prints them: LE
    // switched on (btvirt's controllers start without it), then power off.
    let mut lines = tokio::io::BufReader::new(monitor.stdout.take().unwrap()).lines();
    let settings_of = |line: &str| -> Vec<String> {
        line.split(' ')
            .find_map(|w| w.strip_prefix("current_settings="))
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("monitor output; so far {seen:?}"))
            .unwrap()
            .expect("monitor still running");
        if !(line.contains(&format!(" {index} evt @")) && line.contains("New Settings")) {
            continue;
        }
        let settings = settings_of(&line);
        seen.push(line);
        if !settings.iter().any(|s| s == "powered") {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| settings_of(l).iter().any(|s| s == "le")),
        "{seen:?}"
    );

    // The recorder names its socket with the process id (the cookie in its CTRL records).
    let cookie = monitor.id().expect("monitor running");
    let status = interrupt_and_wait(&mut monitor, "mgmtctl monitor", Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");

    // Its recording replays: our socket's events, opened and closed under the pid cookie.
    let records: Vec<_> = bluez_mgmt::capture::CaptureReader::open(&file)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(matches!(
        records.first().map(|r| r.body().unwrap()),
        Some(bluez_mgmt::capture::RecordBody::ControlOpen(o)) if o.cookie == cookie
    ));
    assert!(matches!(
        records.last().map(|r| r.body().unwrap()),
        Some(bluez_mgmt::capture::RecordBody::ControlClose(c)) if c.cookie == cookie
    ));
    let events = records
        .iter()
        .filter(|r| {
            matches!(
                r.body(),
                Ok(bluez_mgmt::capture::RecordBody::ControlEvent(_))
            )
        })
        .count();
    assert!(events >= 3, "{events} events recorded");
    capture.finish();
}
