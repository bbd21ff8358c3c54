//! The association-model predictor: which pairing method two IO capabilities lead to, and
//! which MGMT requests the Linux kernel then raises on each side.
//!
//! Two layers, both pure functions:
//!
//! - [`association_model`] is the Bluetooth Core Specification's answer (v5.x):
//!   - LE legacy pairing and LE Secure Connections: Vol 3 Part H, section 2.3.5.1,
//!     Tables 2.6 (legacy: OOB only when both sides have OOB data, otherwise Just Works when
//!     neither side sets MITM, otherwise the IO capability table), 2.7 (Secure Connections: OOB
//!     when either side has OOB data) and 2.8 (the IO capability mapping; rows are the
//!     responder, columns the initiator).
//!   - BR/EDR Secure Simple Pairing: Vol 3 Part C, section 5.2.2.6, Table 5.7. SSP has no
//!     KeyboardDisplay capability on the air (HCI IO_Capability is 0..=3); a host with
//!     KeyboardDisplay reports DisplayYesNo, which is what Linux does, so it is mapped so here.
//! - [`kernel_pairing`] is what a Linux kernel (6.1, `net/bluetooth/smp.c` and
//!   `hci_event.c`) does when both ends are Linux kernels driven over MGMT, the initiator
//!   through Pair Device: which MGMT event each side's user space receives (User Confirmation
//!   Request with `confirm_hint` 0 or 1, User Passkey Request, Passkey Notify, or nothing),
//!   whether the responder refuses outright, and whether the resulting keys are
//!   authenticated. The kernel departs from the plain table in ways agents must handle; see
//!   [`kernel_pairing`].

use bluez_mgmt_protocol::IoCapability;

/// The pairing procedure in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// BR/EDR Secure Simple Pairing (the controller's Link Manager runs it).
    BrEdrSsp,
    /// LE legacy pairing (SMP without the Secure Connections bit on both sides).
    LeLegacy,
    /// LE Secure Connections (SMP, both sides set the SC bit).
    LeSecureConnections,
}

impl Transport {
    /// The three transports, in declaration order.
    pub const ALL: [Transport; 3] = [
        Transport::LeSecureConnections,
        Transport::LeLegacy,
        Transport::BrEdrSsp,
    ];
}

/// One end of a pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The device that started pairing (sent Pairing Request / IO Capability Request first).
    Initiator,
    /// The other device.
    Responder,
}

/// Who displays and who types in Passkey Entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasskeyRoles {
    /// The initiator shows the passkey; the responder types it.
    InitiatorDisplays,
    /// The responder shows the passkey; the initiator types it.
    ResponderDisplays,
    /// Both users type the same passkey (KeyboardOnly against KeyboardOnly).
    BothType,
}

impl PasskeyRoles {
    /// The side that displays the passkey, if one does.
    pub fn who_displays(self) -> Option<Side> {
        match self {
            PasskeyRoles::InitiatorDisplays => Some(Side::Initiator),
            PasskeyRoles::ResponderDisplays => Some(Side::Responder),
            PasskeyRoles::BothType => None,
        }
    }

    /// True if `side` types the passkey.
    pub fn types(self, side: Side) -> bool {
        self.who_displays() != Some(side)
    }
}

/// The association model (pairing method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// No user check; the key is unauthenticated.
    JustWorks,
    /// Both users compare a six-digit number and confirm.
    NumericComparison,
    /// A six-digit passkey is shown on one side and typed on the other (or typed on both).
    PasskeyEntry(PasskeyRoles),
    /// Out-of-band data authenticates the pairing.
    Oob,
}

impl Method {
    /// True if the method gives MITM protection (an authenticated key).
    pub fn is_authenticated(self) -> bool {
        !matches!(self, Method::JustWorks)
    }
}

/// What one side declares in its Pairing Request/Response or IO Capability exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Declared {
    /// Its IO capability. A value the specification does not define is treated as
    /// NoInputNoOutput (it cannot be trusted to show or take anything).
    pub io: IoCapability,
    /// Its MITM-protection requirement bit.
    pub mitm: bool,
    /// True if it holds OOB data of the peer (SMP "OOB data flag"; SSP "OOB data present").
    pub oob: bool,
}

impl Declared {
    /// A side with this capability that requires MITM protection and has no OOB data.
    pub fn mitm(io: IoCapability) -> Declared {
        Declared {
            io,
            mitm: true,
            oob: false,
        }
    }
}

/// Position of a capability in the specification tables' order (DisplayOnly, DisplayYesNo,
/// KeyboardOnly, NoInputNoOutput, KeyboardDisplay); unknown values count as NoInputNoOutput.
fn table_index(io: IoCapability) -> usize {
    match io.0 {
        v @ 0..=4 => usize::from(v),
        _ => 3,
    }
}

/// The capability as SSP carries it on the air: KeyboardDisplay becomes DisplayYesNo.
fn ssp_capability(io: IoCapability) -> IoCapability {
    if io == IoCapability::KEYBOARD_DISPLAY {
        IoCapability::DISPLAY_YES_NO
    } else if io.0 > 4 {
        IoCapability::NO_INPUT_NO_OUTPUT
    } else {
        io
    }
}

/// Vol 3 Part H Table 2.8, LE legacy column of each cell: `[responder][initiator]`.
fn le_legacy_table(initiator: IoCapability, responder: IoCapability) -> Method {
    use Method::{JustWorks as JW, PasskeyEntry as PE};
    use PasskeyRoles::{BothType as B, InitiatorDisplays as I, ResponderDisplays as R};
    const T: [[Method; 5]; 5] = [
        // initiator: DisplayOnly, DisplayYesNo, KeyboardOnly, NoInputNoOutput, KeyboardDisplay
        [JW, JW, PE(R), JW, PE(R)],       // responder DisplayOnly
        [JW, JW, PE(R), JW, PE(R)],       // responder DisplayYesNo
        [PE(I), PE(I), PE(B), JW, PE(I)], // responder KeyboardOnly
        [JW, JW, JW, JW, JW],             // responder NoInputNoOutput
        [PE(I), PE(I), PE(R), JW, PE(I)], // responder KeyboardDisplay
    ];
    T[table_index(responder)][table_index(initiator)]
}

/// Vol 3 Part H Table 2.8, LE Secure Connections column of each cell.
fn le_sc_table(initiator: IoCapability, responder: IoCapability) -> Method {
    use Method::{JustWorks as JW, NumericComparison as NC, PasskeyEntry as PE};
    use PasskeyRoles::{BothType as B, InitiatorDisplays as I, ResponderDisplays as R};
    const T: [[Method; 5]; 5] = [
        [JW, JW, PE(R), JW, PE(R)],
        [JW, NC, PE(R), JW, NC],
        [PE(I), PE(I), PE(B), JW, PE(I)],
        [JW, JW, JW, JW, JW],
        [PE(I), NC, PE(R), JW, NC],
    ];
    T[table_index(responder)][table_index(initiator)]
}

/// Vol 3 Part C Table 5.7 (SSP), over the four on-air capabilities.
fn ssp_table(initiator: IoCapability, responder: IoCapability) -> Method {
    use Method::{JustWorks as JW, NumericComparison as NC, PasskeyEntry as PE};
    use PasskeyRoles::{BothType as B, InitiatorDisplays as I, ResponderDisplays as R};
    const T: [[Method; 4]; 4] = [
        // initiator: DisplayOnly, DisplayYesNo, KeyboardOnly, NoInputNoOutput
        [JW, JW, PE(R), JW],
        [JW, NC, PE(R), JW],
        [PE(I), PE(I), PE(B), JW],
        [JW, JW, JW, JW],
    ];
    let i = table_index(ssp_capability(initiator));
    let r = table_index(ssp_capability(responder));
    T[r][i]
}

/// The association model the specification prescribes for this pairing.
///
/// OOB: LE legacy uses it only when both sides have OOB data; LE Secure Connections and SSP
/// when either side has. Otherwise, when neither side sets MITM the method is Just Works;
/// otherwise the IO capability table decides.
///
/// What Linux does with the OOB rows (6.1, `smp.c`, checked by tests/kernel/oob.rs): LE
/// Secure Connections follows the rule (`sc_select_method` returns OOB when this side holds
/// the peer's data or the peer's flag says it holds ours, before any IO capability), asks
/// user space nothing, and its LTK is authenticated P-256, also between two NoInputNoOutput
/// sides. In the source, [`kernel_pairing`]'s refusal of a MITM pairing whose capabilities
/// only allow Just Works comes before the method is chosen and does not look at OOB flags;
/// the kernel tier does not test that case (it pairs NoInputNoOutput sides, which never ask
/// for MITM). LE legacy OOB never happens through
/// MGMT (the kernel takes no TK: `crate::oob::kernel::OobError::LeLegacyOobUnsupported`). For
/// BR/EDR SSP the controller applies the rule; the kernel only reports the data present.
pub fn association_model(transport: Transport, initiator: Declared, responder: Declared) -> Method {
    let oob = match transport {
        Transport::LeLegacy => initiator.oob && responder.oob,
        Transport::LeSecureConnections | Transport::BrEdrSsp => initiator.oob || responder.oob,
    };
    if oob {
        return Method::Oob;
    }
    if !initiator.mitm && !responder.mitm {
        return Method::JustWorks;
    }
    match transport {
        Transport::LeLegacy => le_legacy_table(initiator.io, responder.io),
        Transport::LeSecureConnections => le_sc_table(initiator.io, responder.io),
        Transport::BrEdrSsp => ssp_table(initiator.io, responder.io),
    }
}

/// The MGMT request a side's user space receives during one pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelRequest {
    /// Nothing: the kernel decides alone.
    None,
    /// User Confirmation Request with `confirm_hint` = 1: authorize a Just Works pairing
    /// (the value carried is meaningless).
    Authorize,
    /// User Confirmation Request with `confirm_hint` = 0: compare and confirm the value.
    ConfirmValue,
    /// User Passkey Request: type the passkey shown on the other device.
    PasskeyRequest,
    /// Passkey Notify: show this passkey to the user.
    PasskeyNotify,
}

/// How a kernel↔kernel pairing ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelOutcome {
    /// Keys are created (if every request is accepted); `authenticated` is their MITM flag.
    Paired {
        /// True for authenticated keys (MITM protection).
        authenticated: bool,
    },
    /// The responder refuses with SMP "Authentication Requirements" before any user request:
    /// the initiator asked for MITM, the responder can take part in MITM, but their
    /// capabilities only allow Just Works. Both sides see Authentication Failed.
    Refused,
}

/// The prediction for one kernel↔kernel pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelPairing {
    /// What the initiator's user space receives.
    pub initiator: KernelRequest,
    /// What the responder's user space receives.
    pub responder: KernelRequest,
    /// How it ends when every request is accepted.
    pub outcome: KernelOutcome,
}

/// The kernel's SMP method codes (`smp.c`: JUST_WORKS, JUST_CFM, REQ_PASSKEY, CFM_PASSKEY,
/// DSP_PASSKEY, OVERLAP), written out as a private enum.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Smp {
    JustWorks,
    JustConfirm,
    RequestPasskey,
    ConfirmPasskey,
    DisplayPasskey,
    Overlap,
}

/// `smp.c` `gen_method` / `sc_method`, indexed `[remote][local]`.
fn kernel_method(sc: bool, local: IoCapability, remote: IoCapability) -> Smp {
    use Smp::{
        ConfirmPasskey as CFM, DisplayPasskey as DSP, JustConfirm as JC, JustWorks as JW,
        Overlap as OV, RequestPasskey as REQ,
    };
    const GEN: [[Smp; 5]; 5] = [
        [JW, JC, REQ, JW, REQ],
        [JW, JC, REQ, JW, REQ],
        [CFM, CFM, REQ, JW, CFM],
        [JW, JC, JW, JW, JC],
        [CFM, CFM, REQ, JW, OV],
    ];
    const SC: [[Smp; 5]; 5] = [
        [JW, JC, REQ, JW, REQ],
        [JW, CFM, REQ, JW, CFM],
        [DSP, DSP, REQ, JW, DSP],
        [JW, JC, JW, JW, JC],
        [DSP, CFM, REQ, JW, CFM],
    ];
    if local.0 > 4 || remote.0 > 4 {
        return JC;
    }
    let t = if sc { &SC } else { &GEN };
    t[table_index(remote)][table_index(local)]
}

fn no_io(io: IoCapability) -> bool {
    io == IoCapability::NO_INPUT_NO_OUTPUT
}

/// What two Linux kernels do when `initiator_io`'s side sends Pair Device (with that IO
/// capability) to a side whose Set IO Capability is `responder_io`.
///
/// Kernel behaviour modelled (6.1; `smp.c`, `hci_event.c`, `mgmt.c` `pair_device`):
///
/// - LE: the initiator sets MITM in its Pairing Request unless it is NoInputNoOutput; the
///   responder echoes the initiator's authentication bits. A responder that is not
///   NoInputNoOutput, asked for MITM, refuses ([`KernelOutcome::Refused`]) when its table says
///   Just Works (e.g. DisplayOnly against DisplayOnly).
/// - Every Just Works pairing still asks each side for authorization (`confirm_hint` = 1),
///   including NoInputNoOutput sides, on both LE procedures. Over LE Secure Connections,
///   DisplayYesNo against DisplayYesNo (and KeyboardDisplay against DisplayYesNo or
///   KeyboardDisplay) is Numeric Comparison; over legacy pairing the same pairs are Just
///   Works or Passkey Entry, and KeyboardDisplay against KeyboardDisplay is Passkey Entry with
///   the initiator displaying.
/// - BR/EDR: the controller picks the model from the on-air capabilities (KeyboardDisplay
///   sent as DisplayYesNo). For a confirmation, the kernel auto-accepts without asking when
///   neither side needs MITM (or the one that does faces NoInputNoOutput) and it initiated;
///   as acceptor with an IO capability it asks for authorization (`confirm_hint` = 1); when
///   MITM is required it passes the value on (`confirm_hint` = 0), even for a Just Works
///   model such as DisplayOnly against DisplayOnly, whose key is then unauthenticated.
/// - A repeated pairing with an existing key for the peer also raises authorization
///   requests; that case is not modelled (unpair first).
///
/// The BR/EDR acceptor's authorization request follows upstream commit b25e11f978b6
/// ("Bluetooth: hci_event: Align BR/EDR JUST_WORKS paring with LE"), which 6.1.y carries;
/// older kernels auto-accept there unless one side asked for MITM.
///
/// Checked against a real kernel: the kernel tier's pairing matrix (tests/kernel/
/// pairing_matrix.rs, on the integration branch) observed exactly these requests and
/// outcomes for all 25 LE Secure Connections and 25 LE legacy cells on Linux 6.1.172. Its
/// BR/EDR peer (btvirt) is not faithful enough to check the BR/EDR cells; all 25 BR/EDR
/// cells were checked against a Bumble peer instead, with the kernel initiating and with the
/// kernel responding (request and key type; tests/kernel/pairing_bumble.rs), which also
/// checks the responder side of all 25 LE Secure Connections and LE legacy cells against
/// Bumble's SMP.
pub fn kernel_pairing(
    transport: Transport,
    initiator_io: IoCapability,
    responder_io: IoCapability,
) -> KernelPairing {
    match transport {
        Transport::BrEdrSsp => kernel_bredr(initiator_io, responder_io),
        Transport::LeLegacy | Transport::LeSecureConnections => kernel_le(
            transport == Transport::LeSecureConnections,
            initiator_io,
            responder_io,
        ),
    }
}

fn kernel_le(sc: bool, init: IoCapability, resp: IoCapability) -> KernelPairing {
    // smp_conn_security: MITM requested if the initiator's capability allows it.
    let mitm = !no_io(init);
    // smp_cmd_pairing_req: "If we need MITM check that it can be achieved".
    if mitm && !no_io(resp) {
        let m = kernel_method(sc, resp, init);
        if matches!(m, Smp::JustWorks | Smp::JustConfirm) {
            return KernelPairing {
                initiator: KernelRequest::None,
                responder: KernelRequest::None,
                outcome: KernelOutcome::Refused,
            };
        }
    }
    let method = |local: IoCapability, remote: IoCapability, initiator: bool| -> Smp {
        let mut m = if mitm {
            kernel_method(sc, local, remote)
        } else if sc {
            Smp::JustWorks
        } else {
            Smp::JustConfirm
        };
        if m == Smp::JustConfirm && (initiator || (!sc && no_io(local))) {
            m = Smp::JustWorks;
        }
        if m == Smp::Overlap {
            // The central (our initiator) confirms, the peripheral types.
            m = if initiator {
                Smp::ConfirmPasskey
            } else {
                Smp::RequestPasskey
            };
        }
        m
    };
    let request = |m: Smp| -> KernelRequest {
        match (sc, m) {
            (_, Smp::JustWorks) => KernelRequest::Authorize,
            (_, Smp::RequestPasskey) => KernelRequest::PasskeyRequest,
            (false, Smp::JustConfirm) => KernelRequest::Authorize,
            (false, Smp::ConfirmPasskey) => KernelRequest::PasskeyNotify,
            (true, Smp::JustConfirm | Smp::ConfirmPasskey) => KernelRequest::ConfirmValue,
            (_, Smp::DisplayPasskey) => KernelRequest::PasskeyNotify,
            (_, Smp::Overlap) => unreachable!("resolved above"),
        }
    };
    let mi = method(init, resp, true);
    let mr = method(resp, init, false);
    let authenticated = !matches!(mi, Smp::JustWorks | Smp::JustConfirm);
    KernelPairing {
        initiator: request(mi),
        responder: request(mr),
        outcome: KernelOutcome::Paired { authenticated },
    }
}

fn kernel_bredr(init: IoCapability, resp: IoCapability) -> KernelPairing {
    let (wi, wr) = (ssp_capability(init), ssp_capability(resp));
    // hci_io_capa_request_evt: the initiator (dedicated bonding) asks for MITM when its IO
    // allows; the acceptor (hci_get_auth_req) when both on-air capabilities allow.
    let init_mitm = !no_io(init);
    let resp_mitm = !no_io(wi) && !no_io(resp);
    let model = ssp_table(init, resp);
    // hci_user_confirm_request_evt, seen from one side.
    let confirm = |local: IoCapability,
                   remote_air: IoCapability,
                   loc_mitm: bool,
                   rem_mitm: bool,
                   initiator: bool| {
        let auto_zone = (!loc_mitm || no_io(remote_air)) && (!rem_mitm || no_io(local));
        if !auto_zone {
            KernelRequest::ConfirmValue
        } else if !initiator && !no_io(local) {
            KernelRequest::Authorize
        } else {
            KernelRequest::None
        }
    };
    let (initiator, responder) = match model {
        Method::JustWorks | Method::NumericComparison | Method::Oob => (
            confirm(init, wr, init_mitm, resp_mitm, true),
            confirm(resp, wi, resp_mitm, init_mitm, false),
        ),
        Method::PasskeyEntry(roles) => {
            let r = |side| {
                if roles.types(side) {
                    KernelRequest::PasskeyRequest
                } else {
                    KernelRequest::PasskeyNotify
                }
            };
            (r(Side::Initiator), r(Side::Responder))
        }
    };
    KernelPairing {
        initiator,
        responder,
        outcome: KernelOutcome::Paired {
            authenticated: model.is_authenticated() && (init_mitm || resp_mitm),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: [IoCapability; 5] = [
        IoCapability::DISPLAY_ONLY,
        IoCapability::DISPLAY_YES_NO,
        IoCapability::KEYBOARD_ONLY,
        IoCapability::NO_INPUT_NO_OUTPUT,
        IoCapability::KEYBOARD_DISPLAY,
    ];

    /// Decodes a cell of the tables below: JW, NC, PI (initiator displays), PR (responder
    /// displays), PB (both type), OB.
    fn cell(code: &str) -> Method {
        match code {
            "JW" => Method::JustWorks,
            "NC" => Method::NumericComparison,
            "PI" => Method::PasskeyEntry(PasskeyRoles::InitiatorDisplays),
            "PR" => Method::PasskeyEntry(PasskeyRoles::ResponderDisplays),
            "PB" => Method::PasskeyEntry(PasskeyRoles::BothType),
            "OB" => Method::Oob,
            other => panic!("bad cell {other}"),
        }
    }

    fn check(transport: Transport, table: [[&str; 5]; 5], mitm: (bool, bool)) {
        for (r, row) in table.iter().enumerate() {
            for (i, code) in row.iter().enumerate() {
                let init = Declared {
                    io: CAPS[i],
                    mitm: mitm.0,
                    oob: false,
                };
                let resp = Declared {
                    io: CAPS[r],
                    mitm: mitm.1,
                    oob: false,
                };
                assert_eq!(
                    association_model(transport, init, resp),
                    cell(code),
                    "{transport:?} initiator {:?} responder {:?} mitm {mitm:?}",
                    CAPS[i],
                    CAPS[r]
                );
            }
        }
    }

    // Rows: responder DisplayOnly, DisplayYesNo, KeyboardOnly, NoInputNoOutput,
    // KeyboardDisplay. Columns: the initiator, same order.

    /// Core v5.x Vol 3 Part H Table 2.8, "LE legacy pairing" entries.
    const LE_LEGACY: [[&str; 5]; 5] = [
        ["JW", "JW", "PR", "JW", "PR"],
        ["JW", "JW", "PR", "JW", "PR"],
        ["PI", "PI", "PB", "JW", "PI"],
        ["JW", "JW", "JW", "JW", "JW"],
        ["PI", "PI", "PR", "JW", "PI"],
    ];

    /// Core v5.x Vol 3 Part H Table 2.8, "LE Secure Connections" entries.
    const LE_SC: [[&str; 5]; 5] = [
        ["JW", "JW", "PR", "JW", "PR"],
        ["JW", "NC", "PR", "JW", "NC"],
        ["PI", "PI", "PB", "JW", "PI"],
        ["JW", "JW", "JW", "JW", "JW"],
        ["PI", "NC", "PR", "JW", "NC"],
    ];

    /// Core v5.x Vol 3 Part C Table 5.7, with KeyboardDisplay reported as DisplayYesNo
    /// (SSP has no KeyboardDisplay on the air).
    const BREDR_SSP: [[&str; 5]; 5] = [
        ["JW", "JW", "PR", "JW", "JW"],
        ["JW", "NC", "PR", "JW", "NC"],
        ["PI", "PI", "PB", "JW", "PI"],
        ["JW", "JW", "JW", "JW", "JW"],
        ["JW", "NC", "PR", "JW", "NC"],
    ];

    const ALL_JW: [[&str; 5]; 5] = [["JW"; 5]; 5];

    #[test]
    fn le_legacy_table_2_8() {
        check(Transport::LeLegacy, LE_LEGACY, (true, true));
        check(Transport::LeLegacy, LE_LEGACY, (true, false));
        check(Transport::LeLegacy, LE_LEGACY, (false, true));
    }

    #[test]
    fn le_sc_table_2_8() {
        check(Transport::LeSecureConnections, LE_SC, (true, true));
        check(Transport::LeSecureConnections, LE_SC, (false, true));
    }

    #[test]
    fn bredr_ssp_table_5_7() {
        check(Transport::BrEdrSsp, BREDR_SSP, (true, true));
        check(Transport::BrEdrSsp, BREDR_SSP, (true, false));
    }

    /// Tables 2.6/2.7: neither side sets MITM → Just Works, whatever the capabilities.
    #[test]
    fn no_mitm_is_just_works() {
        for t in Transport::ALL {
            check(t, ALL_JW, (false, false));
        }
    }

    /// Table 2.6: legacy OOB needs both flags; Table 2.7 and SSP: either flag.
    #[test]
    fn oob_rules() {
        let with = |oob| Declared {
            io: IoCapability::DISPLAY_YES_NO,
            mitm: true,
            oob,
        };
        assert_eq!(
            association_model(Transport::LeLegacy, with(true), with(false)),
            Method::JustWorks
        );
        assert_eq!(
            association_model(Transport::LeLegacy, with(true), with(true)),
            Method::Oob
        );
        for t in [Transport::LeSecureConnections, Transport::BrEdrSsp] {
            assert_eq!(association_model(t, with(false), with(true)), Method::Oob);
            assert_eq!(association_model(t, with(true), with(false)), Method::Oob);
        }
        assert_eq!(
            association_model(Transport::LeSecureConnections, with(false), with(false)),
            Method::NumericComparison
        );
    }

    #[test]
    fn unknown_capability_is_no_input_no_output() {
        let odd = Declared::mitm(IoCapability(0x09));
        let kbd = Declared::mitm(IoCapability::KEYBOARD_ONLY);
        for t in Transport::ALL {
            assert_eq!(association_model(t, odd, kbd), Method::JustWorks);
        }
    }

    /// Kernel cells: initiator request / responder request / outcome. Requests: `-` none,
    /// `A` authorize (confirm_hint 1), `V` compare value (confirm_hint 0), `Q` passkey
    /// request, `N` passkey notify. Outcome: `u` unauthenticated key, `a` authenticated key,
    /// `X` refused by the responder (Authentication Requirements).
    fn kernel_cell(code: &str) -> KernelPairing {
        let req = |c: u8| match c {
            b'-' => KernelRequest::None,
            b'A' => KernelRequest::Authorize,
            b'V' => KernelRequest::ConfirmValue,
            b'Q' => KernelRequest::PasskeyRequest,
            b'N' => KernelRequest::PasskeyNotify,
            _ => panic!("bad request code in {code}"),
        };
        let b = code.as_bytes();
        let outcome = match b[2] {
            b'u' => KernelOutcome::Paired {
                authenticated: false,
            },
            b'a' => KernelOutcome::Paired {
                authenticated: true,
            },
            b'X' => KernelOutcome::Refused,
            _ => panic!("bad outcome in {code}"),
        };
        KernelPairing {
            initiator: req(b[0]),
            responder: req(b[1]),
            outcome,
        }
    }

    fn check_kernel(transport: Transport, table: [[&str; 5]; 5]) {
        for (r, row) in table.iter().enumerate() {
            for (i, code) in row.iter().enumerate() {
                assert_eq!(
                    kernel_pairing(transport, CAPS[i], CAPS[r]),
                    kernel_cell(code),
                    "{transport:?} initiator {:?} responder {:?}",
                    CAPS[i],
                    CAPS[r]
                );
            }
        }
    }

    // Same layout: rows responder, columns initiator (DO, DYN, KO, NIO, KD).

    /// smp.c (6.1): MITM refusal in smp_cmd_pairing_req, sc_method, JUST_CFM→JUST_WORKS for
    /// the initiator, Just Works confirmation with hint 1 in smp_cmd_pairing_random.
    const KERNEL_LE_SC: [[&str; 5]; 5] = [
        ["--X", "--X", "QNa", "AAu", "QNa"],
        ["--X", "VVa", "QNa", "AAu", "VVa"],
        ["NQa", "NQa", "QQa", "AAu", "NQa"],
        ["AAu", "AAu", "AAu", "AAu", "AAu"],
        ["NQa", "VVa", "QNa", "AAu", "VVa"],
    ];

    /// smp.c (6.1) tk_request: gen_method, OVERLAP resolved by role, Just Works and
    /// JUST_CFM both raise a hint-1 confirmation.
    const KERNEL_LE_LEGACY: [[&str; 5]; 5] = [
        ["--X", "--X", "QNa", "AAu", "QNa"],
        ["--X", "--X", "QNa", "AAu", "QNa"],
        ["NQa", "NQa", "QQa", "AAu", "NQa"],
        ["AAu", "AAu", "AAu", "AAu", "AAu"],
        ["NQa", "NQa", "QNa", "AAu", "NQa"],
    ];

    /// hci_event.c (6.1) hci_io_capa_request_evt / hci_get_auth_req /
    /// hci_user_confirm_request_evt over the controller's Table 5.7 choice.
    const KERNEL_BREDR: [[&str; 5]; 5] = [
        ["VVu", "VVu", "QNa", "-Au", "VVu"],
        ["VVu", "VVa", "QNa", "-Au", "VVa"],
        ["NQa", "NQa", "QQa", "-Au", "NQa"],
        ["--u", "--u", "--u", "--u", "--u"],
        ["VVu", "VVa", "QNa", "-Au", "VVa"],
    ];

    #[test]
    fn kernel_le_secure_connections() {
        check_kernel(Transport::LeSecureConnections, KERNEL_LE_SC);
    }

    #[test]
    fn kernel_le_legacy() {
        check_kernel(Transport::LeLegacy, KERNEL_LE_LEGACY);
    }

    #[test]
    fn kernel_bredr_ssp() {
        check_kernel(Transport::BrEdrSsp, KERNEL_BREDR);
    }

    /// Where the kernel agrees with the specification: every non-refused kernel pairing's
    /// authenticated flag equals the spec method's (with the MITM bits the kernel sends).
    #[test]
    fn kernel_authentication_matches_spec_for_le() {
        for t in [Transport::LeLegacy, Transport::LeSecureConnections] {
            for i in CAPS {
                for r in CAPS {
                    let k = kernel_pairing(t, i, r);
                    let mitm = !no_io(i);
                    let spec = association_model(
                        t,
                        Declared {
                            io: i,
                            mitm,
                            oob: false,
                        },
                        Declared {
                            io: r,
                            mitm,
                            oob: false,
                        },
                    );
                    if let KernelOutcome::Paired { authenticated } = k.outcome {
                        assert_eq!(authenticated, spec.is_authenticated(), "{t:?} {i:?} {r:?}");
                    } else {
                        assert_eq!(spec, Method::JustWorks, "{t:?} {i:?} {r:?}");
                    }
                }
            }
        }
    }
}
