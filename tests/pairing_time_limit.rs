//! The agent's time limit through the real client and pairing service, on every wire (the
//! script, the socket code as a task, the driver thread): a question the agent does not answer
//! in time gets the negative reply when its limit has passed, and not before. The service's
//! inline path hands the request to the core before reading the clock and stamps it once the
//! reply (if any) is written; this checks that the stamp gives the question its limit.

use std::sync::Arc;
use std::time::Duration;

use bluez_mgmt::agent::ScriptedAgent;
use bluez_mgmt::pairing::{Controllers, PairingService, Report, ServiceConfig};
use bluez_mgmt::protocol::{IoCapability, Opcode};
use bluez_mgmt::transport::ScriptedTransport;

mod support;
use support::{on_every_wire, one_confirmation, script_played, Wire, HCI0};

/// How long the agent may take.
const LIMIT: Duration = Duration::from_millis(300);

/// An LE public peer's address and type (wire order).
const PEER: [u8; 7] = [0x01, 0x00, 0x00, 0x00, 0xBB, 0x00, 0x01];

/// A User Confirmation Request (confirm hint 0, value 42), and the negative reply we must
/// write for it (see `one_confirmation`).
fn script() -> Arc<ScriptedTransport> {
    one_confirmation(PEER, 0, 42, Opcode::USER_CONFIRM_NEG_REPLY)
}

on_every_wire!(an_unanswered_question_gets_the_negative_reply_at_its_limit);

async fn an_unanswered_question_gets_the_negative_reply_at_its_limit(wire: Wire) {
    let script = script();
    // Would say yes, a minute too late.
    let agent = ScriptedAgent::new(IoCapability::DISPLAY_YES_NO)
        .then_confirm(true)
        .delayed(Duration::from_secs(60));
    let client = wire.client(&script);
    let service = PairingService::new(
        client,
        agent.clone(),
        ServiceConfig {
            controllers: Controllers::Only(vec![HCI0]),
            answer_timeout: LIMIT,
            ..ServiceConfig::default()
        },
    );
    let mut reports = service.reports();
    service
        .start()
        .await
        .expect("Set IO Capability as scripted");
    agent.wait_for_calls(1, Duration::from_secs(10)).await;
    let asked = std::time::Instant::now();
    let timed_out = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match reports.recv().await {
                Ok(Report::TimedOut { .. }) => return,
                Ok(_) => {}
                Err(e) => panic!("report stream ended: {e:?}"),
            }
        }
    })
    .await;
    assert!(timed_out.is_ok(), "the question never timed out");
    assert!(
        asked.elapsed() >= LIMIT - Duration::from_millis(50),
        "timed out {:?} after the agent was asked, before its limit of {LIMIT:?}",
        asked.elapsed()
    );
    script_played(&script)
        .await
        .expect("the negative reply written");
}
