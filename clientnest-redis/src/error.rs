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
//!
//! Every [`Error::Backend`], [`Error::Unavailable`] and [`Error::OutcomeUnknown`] of this crate
//! names the store `redis`. Its source is the redis-rs error, or a [`RedisError`] for what the
//! adapter itself finds wrong (a reply of the wrong shape, a stored value that does not decode,
//! an evicting server).

use clientnest_core::Error;
use clientnest_core::error::store;
use redis::{ErrorKind, ServerErrorKind};

/// A failure the adapter itself reports, kept as the source of an [`Error::Backend`] naming
/// `redis`. Messages name what was read, never a stored value: session ids, tokens and job
/// payloads stay out of errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisError {
    /// A reply whose shape the caller does not expect (a script and its caller out of step, a
    /// server answering `PING` or `INFO` oddly).
    #[error("unexpected reply from Redis: {what}")]
    UnexpectedReply {
        /// Which reply: the command or script whose answer was not of the expected shape.
        what: &'static str,
    },
    /// A stored value that does not decode (a job or session field written by something else,
    /// or by another version of the adapter).
    #[error("corrupt stored data: {what}")]
    CorruptData {
        /// Which value: a fixed label of the field (never the stored bytes).
        what: &'static str,
    },
    /// No fresh session id was found after the adapter's bounded number of tries.
    #[error("could not find a free session id")]
    NoFreeSessionId,
    /// The server may evict keys; the connection was refused.
    #[error(transparent)]
    UnsafeEvictionPolicy(#[from] UnsafeEvictionPolicy),
}

impl From<RedisError> for Error {
    /// An [`Error::Backend`] of `redis`. The eviction refusal is kept as the source itself, so
    /// callers find it with `downcast_ref::<UnsafeEvictionPolicy>()` as documented.
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::UnsafeEvictionPolicy(policy) => Error::backend(store::REDIS, policy),
            other => Error::backend(store::REDIS, other),
        }
    }
}

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

/// Convert a redis error: `Unavailable` (retryable) for what [`is_unavailable`] lists (I/O,
/// timeouts, dropped or refused connections, a Cluster or server not ready), else `Backend`.
pub(crate) fn map(e: redis::RedisError) -> Error {
    if is_unavailable(&e) { Error::unavailable(store::REDIS, e) } else { Error::backend(store::REDIS, e) }
}

/// Convert the error of a call that was sent at most once and must not be sent again blindly.
pub(crate) fn map_once(e: redis::RedisError) -> Error {
    if was_not_run(&e) {
        Error::unavailable(store::REDIS, e)
    } else if is_unavailable(&e) {
        Error::outcome_unknown(store::REDIS, e)
    } else {
        Error::backend(store::REDIS, e)
    }
}

/// Whether the error proves the server did not run the call: the connection was refused, no
/// connection to the slot's node exists, or the node refused the call before running it
/// (redirects, a Cluster that is down or failing over, a server still loading).
pub(crate) fn was_not_run(e: &redis::RedisError) -> bool {
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
pub(crate) fn is_unavailable(e: &redis::RedisError) -> bool {
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

/// A reply of an unexpected shape: [`RedisError::UnexpectedReply`].
pub(crate) fn bad_reply(what: &'static str) -> Error {
    RedisError::UnexpectedReply { what }.into()
}

/// A stored value that does not decode: [`RedisError::CorruptData`].
pub(crate) fn bad_data(what: &'static str) -> Error {
    RedisError::CorruptData { what }.into()
}

#[cfg(test)]
mod tests {
    use std::io;

    use redis::RedisError as DriverError;

    use super::*;

    /// The adapter's own error inside a mapped one.
    fn own(e: &Error) -> Option<&RedisError> {
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<RedisError>())
    }

    #[test]
    fn the_adapters_errors_name_redis_and_stay_typed() {
        let data = bad_data("session user is not a uuid");
        assert!(matches!(data, Error::Backend { store: "redis", .. }), "{data:?}");
        assert!(matches!(own(&data), Some(RedisError::CorruptData { what: "session user is not a uuid" })));
        assert_eq!(data.to_string(), "redis error: corrupt stored data: session user is not a uuid");
        let reply = bad_reply("PING");
        assert!(matches!(own(&reply), Some(RedisError::UnexpectedReply { what: "PING" })));
        assert_eq!(reply.to_string(), "redis error: unexpected reply from Redis: PING");
        let refused = Error::from(RedisError::from(UnsafeEvictionPolicy { policy: "allkeys-lru".into() }));
        let policy = std::error::Error::source(&refused).and_then(|s| s.downcast_ref::<UnsafeEvictionPolicy>());
        assert_eq!(policy.map(|p| p.policy.as_str()), Some("allkeys-lru"), "the documented downcast works");
        assert!(refused.to_string().starts_with("redis error: Redis maxmemory-policy is allkeys-lru"), "{refused}");
        let down = map(DriverError::from(io::Error::new(io::ErrorKind::ConnectionRefused, "down")));
        assert_eq!(down.store(), Some("redis"));
        assert!(down.to_string().starts_with("redis unavailable: "), "{down}");
        let lost = map_once(DriverError::from(io::Error::new(io::ErrorKind::TimedOut, "lost")));
        assert!(matches!(lost, Error::OutcomeUnknown { store: "redis", .. }), "{lost:?}");
    }

    #[test]
    fn connection_failures_are_retryable() {
        for kind in [io::ErrorKind::ConnectionRefused, io::ErrorKind::ConnectionReset, io::ErrorKind::TimedOut] {
            let e = DriverError::from(io::Error::new(kind, "down"));
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
            let e = DriverError::from(io::Error::new(kind, "lost"));
            assert!(matches!(map_once(e), Error::OutcomeUnknown { .. }), "{kind:?}");
        }
        let refused = DriverError::from(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"));
        assert!(map_once(refused).is_retryable(), "a refused connection ran nothing");
        let moved = DriverError::from((ErrorKind::Server(ServerErrorKind::Moved), "MOVED"));
        assert!(was_not_run(&moved));
        let script_error = DriverError::from((ErrorKind::UnexpectedReturnType, "bad type"));
        assert!(matches!(map_once(script_error), Error::Backend { .. }));
    }

    #[test]
    fn other_errors_are_backend_errors_with_their_source() {
        let e = DriverError::from((ErrorKind::UnexpectedReturnType, "bad type"));
        let mapped = map(e);
        assert!(matches!(mapped, Error::Backend { .. }));
        assert!(std::error::Error::source(&mapped).is_some());
    }
}
