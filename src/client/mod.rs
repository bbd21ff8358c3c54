//! The async client: a tokio driver around the sans-IO session, `Client` and `Controller`.
