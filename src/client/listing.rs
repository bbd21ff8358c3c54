//! Which controllers there are: the index list, every controller with its information, and
//! the one a command addresses when the user named none (the only one there is).

use core::fmt;

use crate::protocol::command::{ReadIndexList, ReadInfoReply};
use crate::protocol::ControllerIndex;

use super::{Client, Error};

/// The Bluetooth Core Specification version an HCI version number stands for (Assigned
/// Numbers, "HCI Version"): 6 is `4.0`, 13 is `5.4`. `None` for numbers not assigned yet.
pub fn core_version(hci_version: u8) -> Option<&'static str> {
    const NAMES: [&str; 15] = [
        "1.0b", "1.1", "1.2", "2.0", "2.1", "3.0", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "5.3",
        "5.4", "6.0",
    ];
    NAMES.get(usize::from(hci_version)).copied()
}

/// Why [`Client::choose_controller`] could not name one controller.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChooseControllerError {
    /// Reading the index list failed.
    Client(Error),
    /// The kernel knows no controller.
    NoController,
    /// Several controllers and none named.
    Several(Vec<ControllerIndex>),
}

impl fmt::Display for ChooseControllerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChooseControllerError::Client(e) => e.fmt(f),
            ChooseControllerError::NoController => f.write_str("no controllers"),
            ChooseControllerError::Several(list) => {
                let names: Vec<String> = list.iter().map(|i| i.to_string()).collect();
                write!(
                    f,
                    "{} controllers ({}): choose one",
                    list.len(),
                    names.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for ChooseControllerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChooseControllerError::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl Client {
    /// The controllers the kernel knows, in its order (Read Controller Index List).
    pub async fn controller_indexes(&self) -> Result<Vec<ControllerIndex>, Error> {
        Ok(self
            .call(ControllerIndex::NONE, &ReadIndexList {})
            .await?
            .indexes
            .0)
    }

    /// Every controller with its Read Controller Information, or only `index` when given.
    pub async fn controllers_info(
        &self,
        index: Option<ControllerIndex>,
    ) -> Result<Vec<(ControllerIndex, ReadInfoReply)>, Error> {
        let indexes = match index {
            Some(i) => vec![i],
            None => self.controller_indexes().await?,
        };
        let mut out = Vec::with_capacity(indexes.len());
        for i in indexes {
            out.push((i, self.controller(i).info().await?));
        }
        Ok(out)
    }

    /// `index` when given, otherwise the only controller there is; an error when there is none
    /// or there are several.
    pub async fn choose_controller(
        &self,
        index: Option<ControllerIndex>,
    ) -> Result<ControllerIndex, ChooseControllerError> {
        if let Some(i) = index {
            return Ok(i);
        }
        let list = self
            .controller_indexes()
            .await
            .map_err(ChooseControllerError::Client)?;
        match list[..] {
            [] => Err(ChooseControllerError::NoController),
            [one] => Ok(one),
            _ => Err(ChooseControllerError::Several(list)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ScriptedTransport;
    use std::sync::Arc;

    #[test]
    fn hci_versions() {
        assert_eq!(core_version(0), Some("1.0b"));
        assert_eq!(core_version(6), Some("4.0"));
        assert_eq!(core_version(13), Some("5.4"));
        assert_eq!(core_version(14), Some("6.0"));
        assert_eq!(core_version(200), None);
    }

    /// Read Controller Index List (0x0003) answered with `indexes`.
    fn index_list(indexes: &[u16]) -> ScriptedTransport {
        let mut reply = vec![0x03, 0x00, 0x00];
        reply.extend_from_slice(&(indexes.len() as u16).to_le_bytes());
        for i in indexes {
            reply.extend_from_slice(&i.to_le_bytes());
        }
        ScriptedTransport::builder()
            .write_command(ControllerIndex::NONE, crate::protocol::Opcode(0x0003), &[])
            .read_event(
                ControllerIndex::NONE,
                crate::protocol::EventCode::COMMAND_COMPLETE,
                &reply,
            )
            .build()
            .stay_open()
    }

    #[tokio::test]
    async fn choosing_a_controller() {
        // Named: no command at all.
        let script = Arc::new(ScriptedTransport::builder().build().stay_open());
        let client = Client::with_transport(script.clone());
        let named = client.choose_controller(Some(ControllerIndex(3))).await;
        assert_eq!(named.unwrap(), ControllerIndex(3));
        script.check_done().unwrap();

        for (list, expect) in [
            (&[][..], Err("no controllers")),
            (&[1][..], Ok(ControllerIndex(1))),
            (&[0, 1][..], Err("2 controllers (hci0, hci1): choose one")),
        ] {
            let script = Arc::new(index_list(list));
            let client = Client::with_transport(script.clone());
            let got = client
                .choose_controller(None)
                .await
                .map_err(|e| e.to_string());
            assert_eq!(got, expect.map_err(str::to_string), "{list:?}");
            script.check_done().unwrap();
        }
    }
}
