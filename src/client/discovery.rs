//! Device discovery as a stream: one item per device with everything learned so far, updated
//! as more advertising reports, scan responses and inquiry results arrive.
//!
//! [`Controller::discover`] subscribes to Device Found and Discovering *before* it starts
//! discovery (Start Discovery, or Start Service Discovery when an RSSI threshold or service
//! UUIDs are given, so the kernel filters), so no report is missed. The kernel ends a
//! discovery round by itself (about 10 s for LE, inquiry length for BR/EDR); [`Discovery`]
//! starts the next round when it sees Discovering go off, as bluetoothd does, until
//! [`Discovery::stop`] or drop.
//!
//! A BR/EDR inquiry result whose name the kernel does not know comes with the Confirm Name
//! flag; the kernel resolves the name (Remote Name Request, once the inquiry is over) only if
//! user space answers Confirm Name with `name_known` 0. [`Discovery`] answers every such
//! report, as bluetoothd's `device_found_callback` does: `name_known` is 1 when a complete
//! name was heard (in this report or an earlier one), else 0. The resolved name arrives as a
//! later Device Found carrying it, merged into the device's item like any other report.

use std::collections::HashMap;

use crate::protocol::ad::{AdData, AdStructure, MalformedAd};
use crate::protocol::command::{ConfirmName, StartDiscovery, StartServiceDiscovery, StopDiscovery};
use crate::protocol::wire::List16;
use crate::protocol::{
    AddressInfo, ControllerIndex, DeviceFoundFlags, DiscoveryType, Event, EventCode, Uuid128,
};

use super::{Client, Controller, Error, EventFilter, Subscription, SubscriptionError};

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// Transports and address types: [`DiscoveryType::BREDR`], [`DiscoveryType::LE`] or
    /// [`DiscoveryType::INTERLEAVED`] (both).
    pub types: DiscoveryType,
    /// Report only devices at least this strong (dBm), filtered by the kernel.
    pub rssi_threshold: Option<i8>,
    /// Report only devices advertising one of these services, filtered by the kernel.
    pub uuids: Vec<Uuid128>,
}

impl Default for DiscoveryOptions {
    /// Both transports, no filter.
    fn default() -> Self {
        DiscoveryOptions {
            types: DiscoveryType::INTERLEAVED,
            rssi_threshold: None,
            uuids: Vec::new(),
        }
    }
}

impl DiscoveryOptions {
    /// The command that starts a round: Start Service Discovery when a filter is set.
    fn start(
        &self,
        client: &Client,
        index: ControllerIndex,
    ) -> super::ReplyFuture<crate::protocol::AnyReply> {
        if self.rssi_threshold.is_none() && self.uuids.is_empty() {
            client.start_any(
                index,
                &StartDiscovery {
                    address_types: self.types,
                }
                .into(),
                None,
            )
        } else {
            client.start_any(
                index,
                &StartServiceDiscovery {
                    address_types: self.types,
                    // 127: no RSSI filter (doc/mgmt-protocol.rst).
                    rssi_threshold: self.rssi_threshold.unwrap_or(127),
                    uuids: List16(self.uuids.clone()),
                }
                .into(),
                None,
            )
        }
    }
}

/// A device discovery found, with everything learned about it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDevice {
    /// Its address and address type.
    pub address: AddressInfo,
    /// The last signal strength reported, dBm (127: not available).
    pub rssi: i8,
    /// The flags of the last report.
    pub flags: DeviceFoundFlags,
    /// Every AD structure heard so far, the newest of each type (advertising data and scan
    /// response merged).
    pub ad: AdData,
    /// How many reports were merged.
    pub reports: u32,
    /// The last report whose data did not parse (its well-formed structures are merged).
    pub malformed: Option<MalformedAd>,
    /// What the last Confirm Name sent for this device said: `Some(false)` asked the kernel
    /// to resolve the name, `Some(true)` told it the name is known; `None` when no report
    /// asked for one.
    pub name_confirmed: Option<bool>,
}

impl FoundDevice {
    /// The name heard (complete, else shortened).
    pub fn name(&self) -> Option<String> {
        self.ad.name()
    }
}

/// A running discovery: [`Discovery::next`] yields a device each time something new is
/// heard about it.
#[derive(Debug)]
pub struct Discovery {
    client: Client,
    index: ControllerIndex,
    options: DiscoveryOptions,
    events: Subscription,
    devices: HashMap<AddressInfo, FoundDevice>,
    stopped: bool,
}

impl Controller {
    /// Starts discovery, subscribed to Device Found and Discovering before the start command
    /// (Start Service Discovery when `options` filter), so no report is missed. Rounds the
    /// kernel ends are started again until [`Discovery::stop`] or drop.
    pub async fn discover(&self, options: DiscoveryOptions) -> Result<Discovery, Error> {
        let client = self.client().clone();
        let events = client.subscribe(
            EventFilter::all()
                .controller(self.index())
                .code(EventCode::DEVICE_FOUND)
                .code(EventCode::DISCOVERING),
        );
        options.start(&client, self.index()).await?;
        Ok(Discovery {
            client,
            index: self.index(),
            options,
            events,
            devices: HashMap::new(),
            stopped: false,
        })
    }
}

impl Discovery {
    /// The next update: the device just heard, with everything known about it. `Err` for a
    /// failed restart or a lagging subscription (the discovery goes on); `None` when the
    /// client closed.
    pub async fn next(&mut self) -> Option<Result<FoundDevice, Error>> {
        loop {
            let item = self.events.recv().await?;
            match item {
                Ok((_, Event::DeviceFound(found))) => {
                    let parsed = AdData::parse(&found.eir);
                    let entry = self
                        .devices
                        .entry(found.address.clone())
                        .or_insert_with(|| FoundDevice {
                            address: found.address,
                            rssi: found.rssi,
                            flags: found.flags,
                            ad: AdData::new(),
                            reports: 0,
                            malformed: None,
                            name_confirmed: None,
                        });
                    entry.rssi = found.rssi;
                    entry.flags = found.flags;
                    entry.reports += 1;
                    match parsed {
                        Ok(ad) => entry.ad.merge(&ad),
                        Err(e) => {
                            entry.ad.merge(&e.parsed);
                            entry.malformed = Some(e);
                        }
                    }
                    if found.flags.contains(DeviceFoundFlags::CONFIRM_NAME) {
                        let name_known = entry
                            .ad
                            .0
                            .iter()
                            .any(|s| matches!(s, AdStructure::CompleteName(_)));
                        entry.name_confirmed = Some(name_known);
                        let confirm = ConfirmName {
                            address: entry.address.clone(),
                            name_known,
                        };
                        // Refused when the kernel already ended the round (nothing to resolve
                        // then): not an error of the discovery.
                        if let Err(e) = self.client.call(self.index, &confirm).await {
                            tracing::debug!(device = %entry.address, error = %e, "Confirm Name refused");
                        }
                    }
                    return Some(Ok(entry.clone()));
                }
                Ok((_, Event::Discovering(d))) if !d.discovering && !self.stopped => {
                    // The kernel ended the round: start the next one. Busy means someone
                    // else's discovery is running, which reports to us too.
                    if let Err(e) = self.options.start(&self.client, self.index).await {
                        if e.status() != Some(crate::protocol::Status::BUSY) {
                            return Some(Err(e));
                        }
                    }
                }
                Ok(_) => {}
                Err(SubscriptionError::Lagged(n)) => {
                    tracing::warn!(missed = n, "discovery fell behind the kernel's reports");
                }
                Err(SubscriptionError::Malformed(m)) => {
                    tracing::debug!(error = %m.error, "malformed event during discovery");
                }
            }
        }
    }

    /// Every device heard so far.
    pub fn devices(&self) -> impl Iterator<Item = &FoundDevice> {
        self.devices.values()
    }

    /// Stops discovery (Stop Discovery). Rejected (with the kernel's status) when the kernel
    /// already ended the round and none is running.
    pub async fn stop(mut self) -> Result<(), Error> {
        self.stopped = true;
        self.client
            .call(
                self.index,
                &StopDiscovery {
                    address_types: self.options.types,
                },
            )
            .await
            .map(|_| ())
    }
}
