//! LE advertising instances built from typed advertising data ([`AdData`]): what the
//! controller supports, adding an instance (Add Advertising, or Add Extended Advertising
//! Parameters then Data when intervals, TX power or `extended` are asked for), removing one.
//!
//! Sizes are checked before any data is sent: the AD structures must fit their length octets,
//! and the encoded blocks must fit the room the kernel reports for the instance's flags (Get
//! Advertising Size Information, and the Add Extended Advertising Parameters reply). Data that
//! does not fit is refused with [`AdvertisingError::TooLong`], saying which block, its length
//! and the limit.

use std::fmt;

use crate::protocol::ad::{AdData, AdTooLong};
use crate::protocol::command::{
    AddAdvertising, AddExtAdvData, AddExtAdvParams, AdvertisingData, GetAdvertisingSizeInfo,
    ReadAdvertisingFeatures, ReadAdvertisingFeaturesReply, RemoveAdvertising,
};
use crate::protocol::AdvertisingFlags;

use super::{Controller, Error};

/// An advertising instance to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The instance number, 1 to the controller's maximum; adding it again replaces it.
    pub instance: u8,
    /// The advertising data (the kernel adds Flags, TX power, name or appearance when
    /// [`Advertisement::flags`] asks for them).
    pub data: AdData,
    /// The scan response data.
    pub scan_response: AdData,
    /// Connectable, discoverable, which fields the kernel adds, secondary PHY.
    pub flags: AdvertisingFlags,
    /// Seconds per turn when instances rotate (0: the kernel's default).
    pub duration: u16,
    /// Seconds until the kernel removes the instance (0: never).
    pub timeout: u16,
    /// Minimum and maximum advertising interval, units of 0.625 ms (extended parameters).
    pub interval: Option<(u32, u32)>,
    /// Requested TX power, dBm (extended parameters).
    pub tx_power: Option<i8>,
    /// Use Add Extended Advertising Parameters and Data even without intervals or TX power.
    pub extended: bool,
}

impl Advertisement {
    /// Instance `instance` advertising `data`, no scan response, no flags.
    pub fn new(instance: u8, data: AdData) -> Advertisement {
        Advertisement {
            instance,
            data,
            scan_response: AdData::new(),
            flags: AdvertisingFlags::empty(),
            duration: 0,
            timeout: 0,
            interval: None,
            tx_power: None,
            extended: false,
        }
    }

    fn uses_extended(&self) -> bool {
        self.extended || self.interval.is_some() || self.tx_power.is_some()
    }

    /// The flags with the PARAM_* bits for the parameters set (extended form).
    fn extended_flags(&self) -> AdvertisingFlags {
        let mut f = self.flags;
        f.set(AdvertisingFlags::PARAM_DURATION, self.duration != 0);
        f.set(AdvertisingFlags::PARAM_TIMEOUT, self.timeout != 0);
        f.set(AdvertisingFlags::PARAM_INTERVALS, self.interval.is_some());
        f.set(AdvertisingFlags::PARAM_TX_POWER, self.tx_power.is_some());
        f.set(
            AdvertisingFlags::PARAM_SCAN_RSP,
            !self.scan_response.is_empty(),
        );
        f
    }
}

/// What the kernel made of an added instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedAdvertisement {
    /// The instance.
    pub instance: u8,
    /// The TX power the controller chose (extended form only).
    pub tx_power: Option<i8>,
}

/// Why an instance was not added.
#[derive(Debug)]
#[non_exhaustive]
pub enum AdvertisingError {
    /// An AD structure is longer than its length octet allows.
    Structure(AdTooLong),
    /// A block does not fit the room the kernel has for it; nothing was sent.
    TooLong {
        /// `advertising data` or `scan response`.
        block: &'static str,
        /// Its encoded length.
        len: usize,
        /// The room for it.
        max: u8,
    },
    /// The kernel refused a command.
    Mgmt(Error),
}

impl fmt::Display for AdvertisingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvertisingError::Structure(e) => e.fmt(f),
            AdvertisingError::TooLong { block, len, max } => write!(
                f,
                "the {block} takes {len} octets; the controller has room for {max} with these flags (not sent)"
            ),
            AdvertisingError::Mgmt(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AdvertisingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdvertisingError::Structure(e) => Some(e),
            AdvertisingError::Mgmt(e) => Some(e),
            AdvertisingError::TooLong { .. } => None,
        }
    }
}

impl From<Error> for AdvertisingError {
    fn from(e: Error) -> Self {
        AdvertisingError::Mgmt(e)
    }
}

impl From<AdTooLong> for AdvertisingError {
    fn from(e: AdTooLong) -> Self {
        AdvertisingError::Structure(e)
    }
}

fn check(block: &'static str, bytes: &[u8], max: u8) -> Result<(), AdvertisingError> {
    if bytes.len() > usize::from(max) {
        return Err(AdvertisingError::TooLong {
            block,
            len: bytes.len(),
            max,
        });
    }
    Ok(())
}

impl Controller {
    /// Read Advertising Features: supported flags, data lengths, instances.
    pub async fn advertising_features(&self) -> Result<ReadAdvertisingFeaturesReply, Error> {
        self.client()
            .call(self.index(), &ReadAdvertisingFeatures {})
            .await
    }

    /// Adds (or replaces) an advertising instance: Add Advertising, or Add Extended
    /// Advertising Parameters then Data when intervals, TX power or `extended` are asked for.
    /// The data is checked against the room the kernel reports (Get Advertising Size
    /// Information, and the parameters' reply) before it is sent; data that does not fit is
    /// refused with [`AdvertisingError::TooLong`].
    pub async fn advertise(
        &self,
        ad: &Advertisement,
    ) -> Result<AddedAdvertisement, AdvertisingError> {
        let data = AdvertisingData {
            adv_data: ad.data.to_bytes()?,
            scan_rsp: ad.scan_response.to_bytes()?,
        };
        let client = self.client();
        let index = self.index();
        let room = client
            .call(
                index,
                &GetAdvertisingSizeInfo {
                    instance: ad.instance,
                    flags: ad.flags,
                },
            )
            .await?;
        check("advertising data", &data.adv_data, room.max_adv_data_len)?;
        check("scan response", &data.scan_rsp, room.max_scan_rsp_len)?;
        if !ad.uses_extended() {
            let reply = client
                .call(
                    index,
                    &AddAdvertising {
                        instance: ad.instance,
                        flags: ad.flags,
                        duration: ad.duration,
                        timeout: ad.timeout,
                        data,
                    },
                )
                .await?;
            return Ok(AddedAdvertisement {
                instance: reply.instance,
                tx_power: None,
            });
        }
        let (min_interval, max_interval) = ad.interval.unwrap_or((0, 0));
        let params = client
            .call(
                index,
                &AddExtAdvParams {
                    instance: ad.instance,
                    flags: ad.extended_flags(),
                    duration: ad.duration,
                    timeout: ad.timeout,
                    min_interval,
                    max_interval,
                    tx_power: ad.tx_power.unwrap_or(0),
                },
            )
            .await?;
        let fits = check("advertising data", &data.adv_data, params.max_adv_data_len)
            .and_then(|()| check("scan response", &data.scan_rsp, params.max_scan_rsp_len));
        if let Err(e) = fits {
            // The parameters made an instance without data: take it away again.
            let _ = self.remove_advertising(params.instance).await;
            return Err(e);
        }
        let reply = client
            .call(
                index,
                &AddExtAdvData {
                    instance: params.instance,
                    data,
                },
            )
            .await?;
        Ok(AddedAdvertisement {
            instance: reply.instance,
            tx_power: Some(params.tx_power),
        })
    }

    /// Remove Advertising; instance 0 removes every instance. Returns the instance.
    pub async fn remove_advertising(&self, instance: u8) -> Result<u8, Error> {
        self.client()
            .call(self.index(), &RemoveAdvertising { instance })
            .await
            .map(|r| r.instance)
    }
}
