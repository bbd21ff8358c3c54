//! [`ClientLink`]: the runner's [`PairingLink`] over the MGMT [`Client`].
//!
//! Maps the pairing events (User Confirmation Request, User Passkey Request, Passkey Notify,
//! PIN Code Request, Authentication Failed, New Link Key, New Long Term Key, Device
//! Disconnected) to [`PairingEvent`]s and the runner's replies to the reply commands. A
//! command the kernel answers with a status other than Success gives that status; only a
//! failure to carry the command is a [`LinkError`].

use bluez_mgmt_protocol::command::{
    CancelPairDevice, PairDevice, PinCodeNegativeReply, PinCodeReply, ReadIndexList,
    SetIoCapability, UnpairDevice, UserConfirmNegativeReply, UserConfirmReply,
    UserPasskeyNegativeReply, UserPasskeyReply,
};
use bluez_mgmt_protocol::event::{ConfirmHint, Event};
use bluez_mgmt_protocol::{Command, ControllerIndex, EventCode, IoCapability, Status};
use tokio::sync::mpsc;

use super::runner::{LinkError, PairingEvent, PairingLink, PairingReply};
use super::{KeyKind, KeyNotice, Peer};
use crate::client::{Client, EventFilter, SubscriptionError};

/// The event codes the runner needs.
const PAIRING_EVENTS: [EventCode; 8] = [
    EventCode::NEW_LINK_KEY,
    EventCode::NEW_LONG_TERM_KEY,
    EventCode::DEVICE_DISCONNECTED,
    EventCode::PIN_CODE_REQUEST,
    EventCode::USER_CONFIRM_REQUEST,
    EventCode::USER_PASSKEY_REQUEST,
    EventCode::AUTHENTICATION_FAILED,
    EventCode::PASSKEY_NOTIFY,
];

/// A [`PairingLink`] over a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientLink {
    client: Client,
}

impl ClientLink {
    /// A link using `client` (clones share its connection).
    pub fn new(client: Client) -> ClientLink {
        ClientLink { client }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn status<C: Command>(
        &self,
        index: ControllerIndex,
        cmd: &C,
    ) -> Result<Status, LinkError> {
        match self.client.call(index, cmd).await {
            Ok(_) => Ok(Status::SUCCESS),
            Err(e) => match e.status() {
                Some(s) => Ok(s),
                None => Err(LinkError::new(e)),
            },
        }
    }
}

/// The runner's view of one MGMT event, if it is a pairing event.
pub fn pairing_event(index: ControllerIndex, event: &Event) -> Option<PairingEvent> {
    let peer = |a: &bluez_mgmt_protocol::AddressInfo| Peer::new(index, a.clone());
    Some(match event {
        Event::UserConfirmRequest(e) => PairingEvent::UserConfirmRequest {
            peer: peer(&e.address),
            confirm_hint: e.confirm_hint == ConfirmHint::AUTHORIZATION_ONLY,
            value: e.value,
        },
        Event::UserPasskeyRequest(e) => PairingEvent::UserPasskeyRequest {
            peer: peer(&e.address),
        },
        Event::PasskeyNotify(e) => PairingEvent::PasskeyNotify {
            peer: peer(&e.address),
            passkey: e.passkey,
            entered: e.entered,
        },
        Event::PinCodeRequest(e) => PairingEvent::PinCodeRequest {
            peer: peer(&e.address),
            secure: e.secure,
        },
        Event::AuthenticationFailed(e) => PairingEvent::AuthenticationFailed {
            peer: peer(&e.address),
            status: e.status,
        },
        Event::NewLinkKey(e) => PairingEvent::NewKey {
            peer: peer(&e.key.address),
            key: KeyNotice {
                kind: KeyKind::LinkKey,
                authenticated: e.key.key_type.is_authenticated(),
                persistent: e.store_hint,
            },
        },
        Event::NewLongTermKey(e) => PairingEvent::NewKey {
            peer: peer(&e.key.address),
            key: KeyNotice {
                kind: KeyKind::LongTermKey,
                authenticated: e.key.key_type.is_authenticated(),
                persistent: e.store_hint,
            },
        },
        Event::DeviceDisconnected(e) => PairingEvent::DeviceDisconnected {
            peer: peer(&e.address),
        },
        _ => return None,
    })
}

impl PairingLink for ClientLink {
    async fn controllers(&self) -> Result<Vec<ControllerIndex>, LinkError> {
        self.client
            .call(ControllerIndex::NONE, &ReadIndexList {})
            .await
            .map(|r| r.indexes.0)
            .map_err(LinkError::new)
    }

    async fn set_io_capability(
        &self,
        index: ControllerIndex,
        io: IoCapability,
    ) -> Result<Status, LinkError> {
        self.status(index, &SetIoCapability { io_capability: io })
            .await
    }

    fn subscribe(&self) -> mpsc::Receiver<PairingEvent> {
        let filter = PAIRING_EVENTS
            .into_iter()
            .fold(EventFilter::all(), EventFilter::code);
        let mut sub = self.client.subscribe(filter);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Some(item) = sub.recv().await {
                match item {
                    Ok((index, event)) => {
                        if let Some(e) = pairing_event(index, &event) {
                            if tx.send(e).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(SubscriptionError::Lagged(n)) => {
                        tracing::warn!(missed = n, "agent runner fell behind the event stream");
                    }
                    Err(e) => tracing::warn!(error = %e, "pairing event not usable"),
                }
            }
        });
        rx
    }

    async fn reply(&self, reply: PairingReply) -> Result<Status, LinkError> {
        match reply {
            PairingReply::UserConfirm { peer, accept: true } => {
                self.status(
                    peer.index,
                    &UserConfirmReply {
                        address: peer.address,
                    },
                )
                .await
            }
            PairingReply::UserConfirm {
                peer,
                accept: false,
            } => {
                self.status(
                    peer.index,
                    &UserConfirmNegativeReply {
                        address: peer.address,
                    },
                )
                .await
            }
            PairingReply::UserPasskey {
                peer,
                passkey: Some(passkey),
            } => {
                self.status(
                    peer.index,
                    &UserPasskeyReply {
                        address: peer.address,
                        passkey,
                    },
                )
                .await
            }
            PairingReply::UserPasskey {
                peer,
                passkey: None,
            } => {
                self.status(
                    peer.index,
                    &UserPasskeyNegativeReply {
                        address: peer.address,
                    },
                )
                .await
            }
            PairingReply::PinCode {
                peer,
                pin: Some(pin),
            } => {
                self.status(peer.index, &PinCodeReply::new(peer.address, pin.as_bytes()))
                    .await
            }
            PairingReply::PinCode { peer, pin: None } => {
                self.status(
                    peer.index,
                    &PinCodeNegativeReply {
                        address: peer.address,
                    },
                )
                .await
            }
        }
    }

    async fn pair_device(&self, peer: &Peer, io: IoCapability) -> Result<Status, LinkError> {
        self.status(
            peer.index,
            &PairDevice {
                address: peer.address.clone(),
                io_capability: io,
            },
        )
        .await
    }

    async fn cancel_pair_device(&self, peer: &Peer) -> Result<Status, LinkError> {
        self.status(
            peer.index,
            &CancelPairDevice {
                address: peer.address.clone(),
            },
        )
        .await
    }

    async fn unpair_device(&self, peer: &Peer, disconnect: bool) -> Result<Status, LinkError> {
        self.status(
            peer.index,
            &UnpairDevice {
                address: peer.address.clone(),
                disconnect,
            },
        )
        .await
    }
}
