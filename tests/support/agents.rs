//! Agents and the pairing services that run them: what a
//! [`ScriptedAgent`](bluez_mgmt::agent::ScriptedAgent) is expected to hear, a service on one
//! controller, that controller's address.

use bluez_mgmt::agent::{Agent, Call, KeyKind, KeyNotice, Peer};
use bluez_mgmt::client::Client;
use bluez_mgmt::pairing::{Controllers, PairingService, ServiceConfig};
use bluez_mgmt::protocol::{Address, ControllerIndex};

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
