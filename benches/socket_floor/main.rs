//! The C floor's answer on the library's socket alone: [`MgmtSocket`] on tokio's
//! current_thread runtime (built as `examples/minimal_agent` builds its own), reading every
//! frame and answering each User Confirmation Request for its controller with yes at once, as
//! `benches/floor/mgmt_floor.c` does; no session, client or pairing service. `benches/run`
//! measures it as `socket`: between the floor and the library agent, what tokio's wake-up and
//! the socket's read cost before any of the library's layers.
//!
//! ```text
//! socket_floor INDEX              answer on controller INDEX until killed ("ready" once open)
//! socket_floor INDEX ADDR TYPE    Pair Device (DisplayYesNo) from INDEX with ADDR of address
//!                                 type TYPE (1: LE public), answering; exit with its status
//! ```

use std::process::ExitCode;

use bluez_mgmt::protocol::{Address, EventCode, IoCapability, Opcode};
use bluez_mgmt::socket::MgmtSocket;

/// A command frame: opcode, controller index, parameter length, parameters.
fn command(opcode: Opcode, index: u16, params: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(6 + params.len());
    frame.extend_from_slice(&opcode.0.to_le_bytes());
    frame.extend_from_slice(&index.to_le_bytes());
    frame.extend_from_slice(&(params.len() as u16).to_le_bytes());
    frame.extend_from_slice(params);
    frame
}

fn u16_at(frame: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([frame[at], frame[at + 1]])
}

/// Answers `index`'s confirmation requests; with `pair`, first sends Pair Device with those
/// parameters and returns its status once it completes.
async fn run(index: u16, pair: Option<[u8; 8]>) -> std::io::Result<u8> {
    let socket = MgmtSocket::open().map_err(std::io::Error::other)?;
    match pair {
        Some(params) => {
            socket
                .send(&command(Opcode::PAIR_DEVICE, index, &params))
                .await?
        }
        None => println!("ready"),
    }
    loop {
        let frame = socket.recv().await?;
        if frame.len() < 6 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let (event, from) = (EventCode(u16_at(&frame, 0)), u16_at(&frame, 2));
        if event == EventCode::USER_CONFIRM_REQUEST && from == index && frame.len() >= 6 + 7 {
            // The reply carries the request's address and type: answer at once.
            socket
                .send(&command(Opcode::USER_CONFIRM_REPLY, index, &frame[6..13]))
                .await?;
        } else if pair.is_some()
            && (event == EventCode::COMMAND_COMPLETE || event == EventCode::COMMAND_STATUS)
            && frame.len() >= 9
            && Opcode(u16_at(&frame, 6)) == Opcode::PAIR_DEVICE
        {
            return Ok(frame[8]);
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || {
        eprintln!("usage: socket_floor INDEX [ADDR TYPE]");
        ExitCode::from(2)
    };
    let Some(index) = args.first().and_then(|s| s.parse::<u16>().ok()) else {
        return usage();
    };
    let pair = match &args[1..] {
        [] => None,
        [address, kind] => match (address.parse::<Address>(), kind.parse::<u8>()) {
            (Ok(a), Ok(t)) => {
                let mut params = [0; 8];
                params[..6].copy_from_slice(&a.0);
                params[6] = t;
                params[7] = IoCapability::DISPLAY_YES_NO.0;
                Some(params)
            }
            _ => return usage(),
        },
        _ => return usage(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("socket_floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(index, pair)) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("socket_floor: {e}");
            ExitCode::FAILURE
        }
    }
}
