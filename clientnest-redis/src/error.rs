//! Mapping redis-rs errors onto the one ClientNest error.
//!
//! Connection refused, reset or dropped, timeouts, and a Cluster that is down, failing over or
//! still loading give [`Error::Unavailable`] (retryable); anything else gives
//! [`Error::Backend`] with the redis error kept as the source. Lost leases are reported by the
//! scripts as a status in their reply and become [`Error::InvalidState`] in the queue code.
//!
//! A call that is not safe to send twice is mapped with [`map_once`]: when the request may have
//! reached the server (a timeout, a connection dropped or reset mid-call) it gives
//! [`Error::OutcomeUnknown`] instead of `Unavailable`; only errors that prove the server did not
//! run it ([`was_not_run`]: refused connection, MOVED, ASK, TRYAGAIN, CLUSTERDOWN, ...) stay
//! `Unavailable`.

use clientnest_core::Error;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// The error [`RedisKv::connect`](crate::RedisKv::connect) and
/// [`connect_cluster`](crate::RedisKv::connect_cluster) return, inside
/// [`Error::Backend`], when a server's `maxmemory-policy` may evict keys (anything but
/// `noeviction`) and the config did not opt in with
/// [`RedisConfig::with_eviction_allowed`](crate::RedisConfig::with_eviction_allowed). Find it
/// with `std::error::Error::source(&e).and_then(|s| s.downcast_ref::<UnsafeEvictionPolicy>())`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsafeEvictionPolicy {
    /// The policy the server reported, e.g. `allkeys-lru`.
    pub policy: String,
}

impl std::fmt::Display for UnsafeEvictionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Redis maxmemory-policy is {}: it may evict queue, session or index keys; set it to noeviction, or opt in \
             with RedisConfig::with_eviction_allowed(true)",
            self.policy
        )
    }
}

impl std::error::Error for UnsafeEvictionPolicy {}

/// The `maxmemory_policy` line of an `INFO memory` reply, if any.
pub(crate) fn eviction_policy(info: &str) -> Option<&str> {
    info.lines().find_map(|l| l.trim().strip_prefix("maxmemory_policy:"))
}

/// Convert a redis error.
pub(crate) fn map(e: RedisError) -> Error {
    if is_unavailable(&e) { Error::unavailable(e) } else { Error::backend(e) }
}

/// Convert the error of a call that was sent at most once and must not be sent again blindly.
pub(crate) fn map_once(e: RedisError) -> Error {
    if was_not_run(&e) {
        Error::unavailable(e)
    } else if is_unavailable(&e) {
        Error::OutcomeUnknown { source: Box::new(e) }
    } else {
        Error::backend(e)
    }
}

/// Whether the error proves the server did not run the call: the connection was refused, no
/// connection to the slot's node exists, or the node refused the call before running it
/// (redirects, a Cluster that is down or failing over, a server still loading).
pub(crate) fn was_not_run(e: &RedisError) -> bool {
    e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::BusyLoading
                        | ServerErrorKind::ReadOnly
                )
        )
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
    fn the_eviction_policy_is_read_from_info() {
        assert_eq!(
            eviction_policy("# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n"),
            Some("allkeys-lru")
        );
        assert_eq!(eviction_policy("used_memory:1"), None);
        let shown = UnsafeEvictionPolicy { policy: "volatile-ttl".into() }.to_string();
        assert!(shown.contains("volatile-ttl") && shown.contains("with_eviction_allowed"), "{shown}");
    }

    #[test]
    fn a_write_that_may_have_run_is_outcome_unknown() {
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::TimedOut, io::ErrorKind::BrokenPipe] {
            let e = RedisError::from(io::Error::new(kind, "lost"));
            assert!(matches!(map_once(e), Error::OutcomeUnknown { .. }), "{kind:?}");
        }
        let refused = RedisError::from(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"));
        assert!(map_once(refused).is_retryable(), "a refused connection ran nothing");
        let moved = RedisError::from((ErrorKind::Server(ServerErrorKind::Moved), "MOVED"));
        assert!(was_not_run(&moved));
        let script_error = RedisError::from((ErrorKind::UnexpectedReturnType, "bad type"));
        assert!(matches!(map_once(script_error), Error::Backend { .. }));
    }

    #[test]
    fn other_errors_are_backend_errors_with_their_source() {
        let e = RedisError::from((ErrorKind::UnexpectedReturnType, "bad type"));
        let mapped = map(e);
        assert!(matches!(mapped, Error::Backend { .. }));
        assert!(std::error::Error::source(&mapped).is_some());
    }
}
