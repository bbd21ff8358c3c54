//! The first MGMT commands against a real kernel: version, index list, controller
//! information, powering a controller on.

use bluez_mgmt::protocol::command::{ReadInfo, ReadVersion, SetPowered};
use bluez_mgmt::protocol::{ControllerIndex, Event, Settings};

use super::support::{Btvirt, Capture, Mgmt};

#[tokio::test]
async fn read_version() {
    let capture = Capture::start("read_version");
    let mut mgmt = Mgmt::open();
    let v = mgmt
        .call(ControllerIndex::NONE, ReadVersion {})
        .await
        .expect("Read Version");
    println!("MGMT version {}.{}", v.version, v.revision);
    // Every kernel since 3.x reports version 1; revisions only grow (6.1 says 1.22).
    assert_eq!(v.version, 1);
    assert!(v.revision >= 14, "revision {}", v.revision);
    capture.finish();
}

#[tokio::test]
async fn index_list_shows_btvirt_controllers() {
    let capture = Capture::start("index_list");
    let virt = Btvirt::start().await;
    let mut mgmt = Mgmt::open();
    let list = mgmt.index_list().await;
    println!("index list: {list:?}, btvirt: {:?}", virt.indexes);
    for i in virt.indexes {
        assert!(list.contains(&i), "{i} missing from {list:?}");
    }
    let gone = virt.indexes;
    drop(virt);
    let after = mgmt.index_list().await;
    for i in gone {
        assert!(
            !after.contains(&i),
            "{i} still listed after btvirt stopped: {after:?}"
        );
    }
    capture.finish();
}

#[tokio::test]
async fn read_controller_info() {
    let capture = Capture::start("read_controller_info");
    let virt = Btvirt::start().await;
    let mut mgmt = Mgmt::open();
    let info = mgmt
        .call(virt.indexes[0], ReadInfo {})
        .await
        .expect("Read Info");
    println!(
        "{}: address {} version {} manufacturer {} supported {:?} current {:?}",
        virt.indexes[0],
        info.address,
        info.bluetooth_version,
        info.manufacturer,
        info.supported_settings,
        info.current_settings
    );
    // btvirt's first controller; its address pattern is 00:AA:01:<n>:00:<n>.
    assert_eq!(info.address.to_string(), "00:AA:01:00:00:00");
    let second = mgmt
        .call(virt.indexes[1], ReadInfo {})
        .await
        .expect("Read Info");
    assert_eq!(second.address.to_string(), "00:AA:01:01:00:01");
    for s in [
        Settings::POWERED,
        Settings::BONDABLE,
        Settings::LE,
        Settings::BREDR,
        Settings::SSP,
    ] {
        assert!(info.supported_settings.contains(s), "{s:?} not supported");
    }
    assert!(
        !info.current_settings.contains(Settings::POWERED),
        "fresh controller is powered"
    );
    capture.finish();
}

#[tokio::test]
async fn set_powered_emits_new_settings() {
    let capture = Capture::start("set_powered");
    let virt = Btvirt::start().await;
    let index = virt.indexes[0];
    let mut mgmt = Mgmt::open();
    // The kernel sends New Settings to every MGMT socket except the one whose command caused
    // it (that one gets the Command Complete), so watch from a second socket.
    let mut observer = Mgmt::open();
    let settings = mgmt
        .call(index, SetPowered { powered: true })
        .await
        .expect("Set Powered");
    assert!(settings.contains(Settings::POWERED), "reply {settings:?}");
    let announced = observer
        .expect_event("New Settings", |i, e| match e {
            Event::NewSettings(n) if i == index => Some(n.current_settings),
            _ => None,
        })
        .await;
    assert!(
        announced.contains(Settings::POWERED),
        "New Settings {announced:?}"
    );
    assert_eq!(announced, settings, "New Settings and the reply disagree");
    let info = mgmt.call(index, ReadInfo {}).await.expect("Read Info");
    assert_eq!(
        info.current_settings, settings,
        "Read Info after Set Powered"
    );
    // The other controller was not touched.
    let other = mgmt
        .call(virt.indexes[1], ReadInfo {})
        .await
        .expect("Read Info");
    assert!(!other.current_settings.contains(Settings::POWERED));
    capture.finish();
}
