//! Agents and the pairing services that run them: what a
//! [`ScriptedAgent`](bluez_mgmt::agent::ScriptedAgent) is expected to hear, a service on one
//! controller, that controller's address.

use std::sync::Arc;

use bluez_mgmt::agent::{Agent, Call, KeyKind, KeyNotice, Peer};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
use bluez_mgmt::protocol::{Address, ControllerIndex, EventCode, IoCapability, Opcode, Status};
use bluez_mgmt::transport::ScriptedTransport;

use super::frames::{complete_params, HCI0};

/// A numeric comparison as the agent hears it: the value, then the authenticated, persistent
/// key of `kind`.
pub fn confirmed_then_keyed(peer: &Peer, value: u32, kind: KeyKind) -> [Call; 2] {
    [
        Call::ConfirmValue {
            peer: peer.clone(),
            value,
        },
        Call::Completed {
            peer: peer.clone(),
            key: KeyNotice {
                kind,
                authenticated: true,
                persistent: true,
            },
        },
    ]
}

/// A pairing service answering on `index` alone with `agent`; it registers the agent's IO
/// capability only with `register_io_capability` (a pairing started by Pair Device carries
/// its own).
pub fn service_on<A: Agent>(
    client: &Client,
    index: ControllerIndex,
    agent: A,
    register_io_capability: bool,
) -> PairingService<A> {
    PairingService::new(
        client.clone(),
        agent,
        ServiceConfig {
            controllers: Controllers::Only(vec![index]),
            register_io_capability,
            ..ServiceConfig::default()
        },
    )
}

/// The address of controller `index` (Read Controller Information).
pub async fn controller_address(client: &Client, index: ControllerIndex) -> Address {
    client
        .controller(index)
        .info()
        .await
        .expect("Read Info")
        .address
}

/// One confirmation as a DisplayYesNo service on hci0 meets it: Set IO Capability as the
/// service sends it at start, a User Confirmation Request from `peer` (address and type, wire
/// order) with `hint` and `value`, then `reply` (User Confirmation Reply or its negative), which
/// the service must write for it, and its completion.
pub fn one_confirmation(
    peer: [u8; 7],
    hint: u8,
    value: u32,
    reply: Opcode,
) -> Arc<ScriptedTransport> {
    one_confirmation_completed(peer, hint, value, reply, Status::SUCCESS)
}

/// [`one_confirmation`], the reply completed with `status`.
pub fn one_confirmation_completed(
    peer: [u8; 7],
    hint: u8,
    value: u32,
    reply: Opcode,
    status: Status,
) -> Arc<ScriptedTransport> {
    let io = [IoCapability::DISPLAY_YES_NO.0];
    let request = [&peer[..], &[hint], &value.to_le_bytes()].concat();
    Arc::new(
        ScriptedTransport::builder()
            .write_command(HCI0, Opcode::SET_IO_CAPABILITY, &io)
            .read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &complete_params(Opcode::SET_IO_CAPABILITY, Status::SUCCESS, &[]),
            )
            .read_event(HCI0, EventCode::USER_CONFIRM_REQUEST, &request)
            .write_command(HCI0, reply, &peer)
            .read_event(
                HCI0,
                EventCode::COMMAND_COMPLETE,
                &complete_params(reply, status, &peer),
            )
            .build()
            .stay_open(),
    )
}

/// Waits until `script` has played its last step (polling every 5 ms, 10 s at most), then
/// says whether it was played as written.
pub async fn script_played(script: &ScriptedTransport) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !script.is_done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    script.check_done()
}
