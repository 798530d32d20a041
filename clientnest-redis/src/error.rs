//! Mapping redis-rs errors onto the one ClientNest error.
//!
//! Connection refused, reset or dropped, timeouts, and a Cluster that is down, failing over or
//! still loading give [`Error::Unavailable`] (retryable); anything else gives
//! [`Error::Backend`] with the redis error kept as the source. Lost leases are reported by the
//! scripts as a status in their reply and become [`Error::InvalidState`] in the queue code.

use clientnest_core::Error;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Convert a redis error.
pub(crate) fn map(e: RedisError) -> Error {
    if is_unavailable(&e) { Error::unavailable(e) } else { Error::backend(e) }
}

/// Whether the error means Redis could not be reached or could not serve the call now.
pub(crate) fn is_unavailable(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
        return true;
    }
    matches!(
        e.kind(),
        ErrorKind::ClusterConnectionNotFound
            | ErrorKind::Server(
                ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::BusyLoading
                    | ServerErrorKind::ReadOnly
            )
    )
}

/// A reply of an unexpected shape (a script and its caller out of step).
pub(crate) fn bad_reply(what: &str) -> Error {
    Error::backend(format!("unexpected reply from Redis: {what}"))
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn connection_failures_are_retryable() {
        for kind in [io::ErrorKind::ConnectionRefused, io::ErrorKind::ConnectionReset, io::ErrorKind::TimedOut] {
            let e = RedisError::from(io::Error::new(kind, "down"));
            assert!(map(e).is_retryable(), "{kind:?}");
        }
    }

    #[test]
    fn other_errors_are_backend_errors_with_their_source() {
        let e = RedisError::from((ErrorKind::UnexpectedReturnType, "bad type"));
        let mapped = map(e);
        assert!(matches!(mapped, Error::Backend { .. }));
        assert!(std::error::Error::source(&mapped).is_some());
    }
}
