//! Built-in agents, one per IO capability, driven by plain callbacks.
//!
//! Callbacks are ordinary (blocking) closures: the agent runs each on Tokio's blocking pool,
//! so a callback that waits for a user never stalls other pairings. A callback that panics
//! makes the request fail like a panicking agent (the service sends a negative reply).

use std::sync::Arc;

use bluez_mgmt_protocol::IoCapability;

use super::{Agent, Peer, YesNoRequest};

type ConfirmFn = Arc<dyn Fn(&Peer, Option<u32>) -> bool + Send + Sync>;
type PeerFn = Arc<dyn Fn(&Peer) + Send + Sync>;
type DisplayFn = Arc<dyn Fn(&Peer, u32, u8) + Send + Sync>;
type PasskeyFn = Arc<dyn Fn(&Peer) -> Option<u32> + Send + Sync>;

/// Runs a blocking callback off the async workers; re-raises its panic in the caller.
async fn off_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static, dropped: R) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => dropped,
    }
}

/// NoInputNoOutput: accepts Just Works authorization, refuses everything else (it cannot
/// show or take a number). Like bluez_peripheral's `NoIoAgent`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInputNoOutput;

impl Agent for NoInputNoOutput {
    fn io_capability(&self) -> IoCapability {
        IoCapability::NO_INPUT_NO_OUTPUT
    }

    async fn authorize(&self, _peer: &Peer) -> bool {
        true
    }

    fn answer_at_once(&self, _peer: &Peer, request: YesNoRequest) -> Option<bool> {
        // What the methods answer, known before any request: accept Just Works, refuse a
        // comparison it cannot show.
        Some(request == YesNoRequest::Authorize)
    }
}

/// DisplayYesNo: one callback decides confirmations (`Some(value)` for Numeric Comparison,
/// `None` for Just Works authorization), another hears cancellations. Like bluez_peripheral's
/// `YesNoAgent`.
#[derive(Clone)]
pub struct YesNo {
    confirm: ConfirmFn,
    cancel: PeerFn,
}

impl YesNo {
    /// An agent from its two callbacks.
    pub fn new(
        confirm: impl Fn(&Peer, Option<u32>) -> bool + Send + Sync + 'static,
        cancel: impl Fn(&Peer) + Send + Sync + 'static,
    ) -> YesNo {
        YesNo {
            confirm: Arc::new(confirm),
            cancel: Arc::new(cancel),
        }
    }

    async fn ask(&self, peer: &Peer, value: Option<u32>) -> bool {
        let (f, p) = (self.confirm.clone(), peer.clone());
        off_thread(move || f(&p, value), false).await
    }
}

impl Agent for YesNo {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_YES_NO
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.ask(peer, Some(value)).await
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        self.ask(peer, None).await
    }

    fn cancelled(&self, peer: &Peer) {
        (self.cancel)(peer)
    }
}

/// DisplayOnly: shows passkeys through a callback. It cannot refuse anything it is shown, so
/// Just Works authorization is accepted unless [`DisplayOnly::refuse_just_works`] is set; the
/// kernel also passes a value to confirm when both sides are DisplayOnly over BR/EDR (the
/// specification's model there is Just Works): it is displayed and accepted on the same
/// terms.
#[derive(Clone)]
pub struct DisplayOnly {
    display: DisplayFn,
    accept_just_works: bool,
}

impl DisplayOnly {
    /// An agent that calls `display(peer, passkey, keypresses_entered)`.
    pub fn new(display: impl Fn(&Peer, u32, u8) + Send + Sync + 'static) -> DisplayOnly {
        DisplayOnly {
            display: Arc::new(display),
            accept_just_works: true,
        }
    }

    /// Refuse unauthenticated (Just Works) pairings.
    pub fn refuse_just_works(mut self) -> DisplayOnly {
        self.accept_just_works = false;
        self
    }
}

impl Agent for DisplayOnly {
    fn io_capability(&self) -> IoCapability {
        IoCapability::DISPLAY_ONLY
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        let (f, p) = (self.display.clone(), peer.clone());
        off_thread(move || f(&p, passkey, entered), ()).await
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        self.display_passkey(peer, value, 0).await;
        self.accept_just_works
    }

    async fn authorize(&self, _peer: &Peer) -> bool {
        self.accept_just_works
    }

    fn answer_at_once(&self, _peer: &Peer, request: YesNoRequest) -> Option<bool> {
        // A comparison is shown first (the display callback), so only Just Works is known.
        (request == YesNoRequest::Authorize).then_some(self.accept_just_works)
    }
}

/// KeyboardOnly: asks a callback for the passkey shown on the peer. Just Works authorization
/// is accepted unless [`KeyboardOnly::refuse_just_works`] is set.
#[derive(Clone)]
pub struct KeyboardOnly {
    passkey: PasskeyFn,
    accept_just_works: bool,
}

impl KeyboardOnly {
    /// An agent whose `passkey(peer)` returns the typed passkey, or `None` to refuse.
    pub fn new(passkey: impl Fn(&Peer) -> Option<u32> + Send + Sync + 'static) -> KeyboardOnly {
        KeyboardOnly {
            passkey: Arc::new(passkey),
            accept_just_works: true,
        }
    }

    /// Refuse unauthenticated (Just Works) pairings.
    pub fn refuse_just_works(mut self) -> KeyboardOnly {
        self.accept_just_works = false;
        self
    }
}

impl Agent for KeyboardOnly {
    fn io_capability(&self) -> IoCapability {
        IoCapability::KEYBOARD_ONLY
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        let (f, p) = (self.passkey.clone(), peer.clone());
        off_thread(move || f(&p), None).await
    }

    async fn authorize(&self, _peer: &Peer) -> bool {
        self.accept_just_works
    }

    fn answer_at_once(&self, _peer: &Peer, request: YesNoRequest) -> Option<bool> {
        // It has no display: a comparison is refused, as the default `confirm_value` does.
        Some(request == YesNoRequest::Authorize && self.accept_just_works)
    }
}

/// KeyboardDisplay: display, passkey and confirmation callbacks (the confirmation callback
/// gets `None` for Just Works authorization).
#[derive(Clone)]
pub struct KeyboardDisplay {
    display: DisplayFn,
    passkey: PasskeyFn,
    confirm: ConfirmFn,
}

impl KeyboardDisplay {
    /// An agent from its three callbacks.
    pub fn new(
        display: impl Fn(&Peer, u32, u8) + Send + Sync + 'static,
        passkey: impl Fn(&Peer) -> Option<u32> + Send + Sync + 'static,
        confirm: impl Fn(&Peer, Option<u32>) -> bool + Send + Sync + 'static,
    ) -> KeyboardDisplay {
        KeyboardDisplay {
            display: Arc::new(display),
            passkey: Arc::new(passkey),
            confirm: Arc::new(confirm),
        }
    }
}

impl Agent for KeyboardDisplay {
    fn io_capability(&self) -> IoCapability {
        IoCapability::KEYBOARD_DISPLAY
    }

    async fn display_passkey(&self, peer: &Peer, passkey: u32, entered: u8) {
        let (f, p) = (self.display.clone(), peer.clone());
        off_thread(move || f(&p, passkey, entered), ()).await
    }

    async fn request_passkey(&self, peer: &Peer) -> Option<u32> {
        let (f, p) = (self.passkey.clone(), peer.clone());
        off_thread(move || f(&p), None).await
    }

    async fn confirm_value(&self, peer: &Peer, value: u32) -> bool {
        let (f, p) = (self.confirm.clone(), peer.clone());
        off_thread(move || f(&p, Some(value)), false).await
    }

    async fn authorize(&self, peer: &Peer) -> bool {
        let (f, p) = (self.confirm.clone(), peer.clone());
        off_thread(move || f(&p, None), false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluez_mgmt_protocol::{Address, AddressInfo, AddressType, ControllerIndex};
    use std::sync::Mutex;

    fn peer() -> Peer {
        Peer::new(
            ControllerIndex(0),
            AddressInfo::new(Address([1, 2, 3, 4, 5, 6]), AddressType::LE_PUBLIC),
        )
    }

    #[tokio::test]
    async fn defaults_refuse() {
        let a = NoInputNoOutput;
        assert!(a.authorize(&peer()).await);
        assert!(!a.confirm_value(&peer(), 1).await);
        assert_eq!(a.request_passkey(&peer()).await, None);
        assert_eq!(a.request_pin_code(&peer(), false).await, None);
    }

    #[tokio::test]
    async fn yes_no_passes_value_and_cancel() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let cancelled = Arc::new(Mutex::new(0));
        let c = cancelled.clone();
        let a = YesNo::new(
            move |_, v| {
                s.lock().unwrap().push(v);
                v == Some(123_456)
            },
            move |_| *c.lock().unwrap() += 1,
        );
        assert_eq!(a.io_capability(), IoCapability::DISPLAY_YES_NO);
        assert!(a.confirm_value(&peer(), 123_456).await);
        assert!(!a.confirm_value(&peer(), 1).await);
        assert!(!a.authorize(&peer()).await);
        a.cancelled(&peer());
        assert_eq!(*seen.lock().unwrap(), vec![Some(123_456), Some(1), None]);
        assert_eq!(*cancelled.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn display_and_keyboard() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let s = shown.clone();
        let d = DisplayOnly::new(move |_, p, e| s.lock().unwrap().push((p, e)));
        d.display_passkey(&peer(), 42, 3).await;
        assert!(d.authorize(&peer()).await);
        assert!(!d.clone().refuse_just_works().authorize(&peer()).await);
        assert_eq!(*shown.lock().unwrap(), vec![(42, 3)]);

        let k = KeyboardOnly::new(|_| Some(654_321));
        assert_eq!(k.request_passkey(&peer()).await, Some(654_321));
        assert!(!k.confirm_value(&peer(), 1).await);
    }

    /// An agent's answers at once to a comparison and to Just Works; each one it gives is
    /// checked to be what its method answers (the service skips the method for it).
    async fn answers_at_once<A: Agent>(agent: &A) -> [Option<bool>; 2] {
        let requests = [YesNoRequest::ConfirmValue(123_456), YesNoRequest::Authorize];
        let mut answers = [None; 2];
        for (request, answer) in requests.into_iter().zip(&mut answers) {
            *answer = agent.answer_at_once(&peer(), request);
            let Some(at_once) = *answer else { continue };
            let by_method = match request {
                YesNoRequest::ConfirmValue(v) => agent.confirm_value(&peer(), v).await,
                YesNoRequest::Authorize => agent.authorize(&peer()).await,
            };
            assert_eq!(at_once, by_method, "{request:?}");
        }
        answers
    }

    #[tokio::test]
    async fn answers_at_once_are_the_methods_answers_and_skip_no_callback() {
        let called = Arc::new(Mutex::new(0));
        let count = |c: &Arc<Mutex<u32>>| {
            let c = c.clone();
            move || *c.lock().unwrap() += 1
        };
        let (shown, typed, asked) = (count(&called), count(&called), count(&called));
        let display = DisplayOnly::new(move |_, _, _| shown());
        let keyboard = KeyboardOnly::new(move |_| {
            typed();
            None
        });
        let yes_no = YesNo::new(
            move |_, _| {
                asked();
                true
            },
            |_| {},
        );
        // (agent, its answers at once, what they should be): [comparison, Just Works],
        // `None` where the answer needs a callback first.
        let table = [
            (
                "NoInputNoOutput",
                answers_at_once(&NoInputNoOutput).await,
                [Some(false), Some(true)],
            ),
            (
                "KeyboardOnly",
                answers_at_once(&keyboard).await,
                [Some(false), Some(true)],
            ),
            (
                "KeyboardOnly refusing Just Works",
                answers_at_once(&keyboard.clone().refuse_just_works()).await,
                [Some(false), Some(false)],
            ),
            (
                "DisplayOnly",
                answers_at_once(&display).await,
                [None, Some(true)],
            ),
            (
                "DisplayOnly refusing Just Works",
                answers_at_once(&display.clone().refuse_just_works()).await,
                [None, Some(false)],
            ),
            ("YesNo", answers_at_once(&yes_no).await, [None, None]),
            (
                "KeyboardDisplay",
                answers_at_once(&KeyboardDisplay::new(|_, _, _| {}, |_| None, |_, _| true)).await,
                [None, None],
            ),
        ];
        for (name, got, want) in table {
            assert_eq!(got, want, "{name}");
        }
        // The methods behind the answers at once called no callback.
        assert_eq!(*called.lock().unwrap(), 0);
    }

    #[tokio::test]
    #[should_panic(expected = "user fell over")]
    async fn callback_panic_reaches_the_caller() {
        let k = KeyboardOnly::new(|_| panic!("user fell over"));
        let _ = k.request_passkey(&peer()).await;
    }
}
