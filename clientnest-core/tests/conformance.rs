//! The conformance suite run against the in-memory backends: one test binary for the crate,
//! one module per suite, each in `tests/conformance/` (a test crate's root looks for its modules
//! beside it, hence the `#[path]`).
#![cfg(feature = "conformance")]

#[path = "conformance/kv.rs"]
mod kv;

#[path = "conformance/hostile.rs"]
mod hostile;

#[path = "conformance/relational.rs"]
mod relational;

#[path = "conformance/analytics.rs"]
mod analytics;

#[path = "conformance/dashmap_sessions.rs"]
mod dashmap_sessions;

#[path = "conformance/registered.rs"]
mod registered;

#[path = "conformance/media.rs"]
mod media;

#[path = "conformance/media_service.rs"]
mod media_service;
