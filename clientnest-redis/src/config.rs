//! Connection settings: where Redis is, the key prefix, and the timeouts.

use std::fmt;
use std::time::Duration;

use clientnest_core::Error;
use clientnest_core::ports::DeadLetterRetention;
use clientnest_core::validate::rule;

/// The default key prefix: `cn`, so keys read `{cn:<kind>:<id>}` (a Cluster hash tag).
pub const DEFAULT_PREFIX: &str = "cn";

/// How to reach Redis and how to name keys.
///
/// Build it from [`Default`] and the `with_*` methods:
///
/// ```
/// use std::time::Duration;
/// use clientnest_redis::RedisConfig;
///
/// let config = RedisConfig::default()
///     .with_urls(["redis://127.0.0.1:6379"])
///     .with_key_prefix("myapp")
///     .with_response_timeout(Duration::from_secs(2));
/// assert_eq!(config.key_prefix(), "myapp");
/// ```
///
/// `Debug` hides any password in the URLs.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    urls: Vec<String>,
    key_prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    reconnect_retries: usize,
    allow_eviction: bool,
    dead_letters: DeadLetterRetention,
}

impl Default for RedisConfig {
    /// `redis://127.0.0.1:6379`, prefix `cn`, 2 s to connect, 5 s per response, 6 reconnect tries,
    /// an evicting `maxmemory-policy` refused.
    fn default() -> Self {
        Self {
            urls: vec!["redis://127.0.0.1:6379".to_owned()],
            key_prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            reconnect_retries: 6,
            allow_eviction: false,
            dead_letters: DeadLetterRetention::default(),
        }
    }
}

impl RedisConfig {
    /// The defaults with one server URL (a single node, or one seed node of a Cluster).
    pub fn new(url: impl Into<String>) -> Self {
        Self::default().with_urls([url])
    }

    /// The server URLs: one for a single node, any reachable nodes (seeds) for a Cluster.
    pub fn with_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// Comma-separated URLs, as in `REDIS_CLUSTER_URLS` (blank items are skipped).
    pub fn with_url_list(self, list: &str) -> Self {
        self.with_urls(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The prefix of every key: 1 to 64 characters `[A-Za-z0-9_.-]` (default `cn`).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long to wait for a connection to open.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the answer to one command or script.
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a lost single-node connection is reopened (with backoff) before a call
    /// fails with [`Error::Unavailable`]; on a Cluster, how many times the Cluster client re-sends
    /// a call that is safe to run twice (a read, an idempotent write). Calls that are not safe to
    /// run twice are never re-sent after a timeout or a dropped connection, whatever this says
    /// (see [`RedisKv`](crate::RedisKv) for the list).
    pub fn with_reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// Whether to connect to a server whose `maxmemory-policy` may evict keys (anything but
    /// `noeviction`: `allkeys-*` evicts queue and index keys, `volatile-*` evicts live sessions,
    /// the session index and idempotency keys, which all carry a TTL). Off by default: then
    /// [`RedisKv::connect`](crate::RedisKv::connect) fails with an [`UnsafeEvictionPolicy`]
    /// error (see its docs). Turn it on only when losing jobs, sessions or revocations under
    /// memory pressure is acceptable, e.g. a Redis used only as a cache.
    ///
    /// [`UnsafeEvictionPolicy`]: crate::UnsafeEvictionPolicy
    pub fn with_eviction_allowed(mut self, allowed: bool) -> Self {
        self.allow_eviction = allowed;
        self
    }

    /// How long and how many dead letters each queue keeps (default 7 days, 10,000 per queue;
    /// see [`DeadLetterRetention`] for the rules, the same as the in-memory queue's). Checked
    /// by [`check`](Self::check).
    pub fn with_dead_letter_retention(mut self, retention: DeadLetterRetention) -> Self {
        self.dead_letters = retention;
        self
    }

    /// The dead-letter retention.
    pub fn dead_letter_retention(&self) -> DeadLetterRetention {
        self.dead_letters
    }

    /// Whether an evicting `maxmemory-policy` is accepted at connect.
    pub fn eviction_allowed(&self) -> bool {
        self.allow_eviction
    }

    /// The server URLs: one for a single node, seeds for a Cluster (default
    /// `redis://127.0.0.1:6379`).
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The prefix of every key: 1 to 64 characters `[A-Za-z0-9_.-]` (default `cn`).
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long to wait for a connection to open (default 2 s).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long to wait for the answer to one command or script (default 5 s).
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// How many times a lost connection is reopened, or a safe call re-sent on a Cluster (default
    /// 6).
    pub fn reconnect_retries(&self) -> usize {
        self.reconnect_retries
    }

    /// Check the settings: at least one URL, a well-formed prefix, non-zero timeouts, a valid
    /// dead-letter retention.
    pub fn check(&self) -> Result<(), Error> {
        if self.urls.is_empty() {
            return Err(Error::invalid("urls", rule::REQUIRED, "at least one Redis URL is needed"));
        }
        check_prefix(&self.key_prefix)?;
        self.dead_letters.check()?;
        if self.connect_timeout.is_zero() || self.response_timeout.is_zero() {
            return Err(Error::invalid("timeout", rule::RANGE, "timeouts must be longer than zero"));
        }
        Ok(())
    }
}

/// A key prefix is 1 to 64 characters `[A-Za-z0-9_.-]`, so it never holds a hash-tag brace or
/// the `:` separator.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), Error> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("key_prefix", rule::FORMAT, "must be 1 to 64 characters [A-Za-z0-9_.-]"))
    }
}

/// A URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| redact(u)).collect();
        f.debug_struct("RedisConfig")
            .field("urls", &urls)
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .field("allow_eviction", &self.allow_eviction)
            .field("dead_letters", &self.dead_letters)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let c = RedisConfig::default().with_urls(["redis://user:s3cret@host:6379/0", "redis://:pw@other:1"]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("pw@"), "{shown}");
        assert!(shown.contains("redis://user:***@host:6379/0"), "{shown}");
    }

    #[test]
    fn url_lists_split_on_commas() {
        let c = RedisConfig::default().with_url_list("redis://a:1, redis://b:2,,");
        assert_eq!(c.urls(), ["redis://a:1", "redis://b:2"]);
    }

    #[test]
    fn prefixes_with_braces_or_colons_are_refused() {
        for bad in ["", "a{b", "a}b", "a:b", "a b", &"x".repeat(65)] {
            assert!(RedisConfig::default().with_key_prefix(bad).check().is_err(), "{bad:?}");
        }
        assert!(RedisConfig::default().with_key_prefix("test-1.x_y").check().is_ok());
        assert!(RedisConfig::default().with_urls(Vec::<String>::new()).check().is_err());
    }
}
