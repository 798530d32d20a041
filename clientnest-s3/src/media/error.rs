//! `object_store` errors as ClientNest errors.

use clientnest_core::error::{Entity, Error, store};
use clientnest_core::media::MediaKey;

/// `NotFound` for the key; a connection failure or timeout as the retryable `Unavailable`;
/// anything else as `Backend`, with its source kept.
pub(crate) fn from_store(e: object_store::Error, key: Option<&MediaKey>) -> Error {
    match e {
        object_store::Error::NotFound { .. } => match key {
            Some(k) => Error::not_found(Entity::Media, k),
            None => Error::backend(store::OBJECT_STORE, e),
        },
        other if is_transient(&other) => Error::unavailable(store::OBJECT_STORE, other),
        other => Error::backend(store::OBJECT_STORE, other),
    }
}

/// Whether a failure is the store being unreachable (refused, reset or timed-out connections),
/// judged from the error chain.
fn is_transient(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut | NotConnected) {
                return true;
            }
        }
        let text = err.to_string();
        if text.contains("error sending request")
            || text.contains("operation timed out")
            || text.contains("Connection refused")
        {
            return true;
        }
        cur = err.source();
    }
    false
}
