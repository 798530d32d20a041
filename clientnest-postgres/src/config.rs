//! Connection settings: the URL and the pool, with the seed's pool settings as defaults.

use std::fmt;
use std::time::Duration;

use clientnest_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The URL used when none is given.
pub const DEFAULT_URL: &str = "postgres://localhost:5432/clientnest";

/// How [`PgStore::connect`](crate::PgStore::connect) reaches PostgreSQL and sizes its pool.
///
/// The defaults are the seed's pool settings: at most 20 connections, at least 5 kept open,
/// each recycled after 10 minutes; plus a 5 second acquire timeout (a request waits at most
/// that long for a connection, then fails with the retryable
/// [`Error::Unavailable`](clientnest_core::Error::Unavailable)) and a 5 minute idle timeout.
///
/// `Debug` never shows the password of the URL.
///
/// ```
/// use std::time::Duration;
/// use clientnest_postgres::PgConfig;
///
/// let config = PgConfig::new("postgres://app:s3cret@db.internal/clientnest")
///     .with_max_connections(50)
///     .with_acquire_timeout(Duration::from_secs(2));
/// assert_eq!(config.max_connections, 50);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database?options`.
    pub url: String,
    /// Most connections open at once (seed: 20).
    pub max_connections: u32,
    /// Connections kept open even when idle (seed: 5).
    pub min_connections: u32,
    /// A connection is closed and replaced after this long (seed: 10 minutes); `None` keeps
    /// connections forever.
    pub max_lifetime: Option<Duration>,
    /// An idle connection above `min_connections` is closed after this long.
    pub idle_timeout: Option<Duration>,
    /// How long a call waits for a connection before failing with `Unavailable`.
    pub acquire_timeout: Duration,
    /// The schema search path set on every connection (e.g. one schema per tenant or test);
    /// `None` keeps the server's default.
    pub search_path: Option<String>,
    /// `application_name` shown in `pg_stat_activity`.
    pub application_name: String,
    /// Ping a pooled connection before handing it out (sqlx's default). Off by default here:
    /// the ping is a round trip on every call (it cost the feed 10% at one connection, see
    /// BENCHMARKS.md); with it off, a connection that died while idle fails one call with a
    /// retryable `Unavailable` and is then replaced.
    pub test_before_acquire: bool,
    /// Read replicas (`postgres://` URLs of hot standbys streaming from `url`'s server), for
    /// the lag-tolerant reads listed in [`PgStore`](crate::PgStore)'s docs; empty (the default)
    /// sends every call to `url`. Each gets a pool with this config's settings.
    pub replicas: Vec<String>,
    /// A replica whose replay is further behind the primary than this is skipped (default
    /// 5 s).
    pub replica_lag_bound: Duration,
    /// How long a lag-tolerant read after a write of the same session waits for a replica to
    /// replay that write before it reads the primary instead (default 200 ms).
    pub read_your_writes_wait: Duration,
    /// How often the replicas' health and lag are checked, in the background (default 1 s).
    pub replica_check_interval: Duration,
    /// Connections go through PgBouncer in `pool_mode = transaction` (see
    /// [`PgConfig::with_pgbouncer_transaction_mode`]). Off by default.
    pub pgbouncer_transaction_mode: bool,
}

impl Default for PgConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            max_connections: 20,
            min_connections: 5,
            max_lifetime: Some(Duration::from_secs(600)),
            idle_timeout: Some(Duration::from_secs(300)),
            acquire_timeout: Duration::from_secs(5),
            search_path: None,
            application_name: "clientnest".to_owned(),
            test_before_acquire: false,
            replicas: Vec::new(),
            replica_lag_bound: Duration::from_secs(5),
            read_your_writes_wait: Duration::from_millis(200),
            replica_check_interval: Duration::from_secs(1),
            pgbouncer_transaction_mode: false,
        }
    }
}

impl PgConfig {
    /// The default settings for a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ..Self::default() }
    }

    /// The same settings with another connection URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Set the largest pool size.
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Set how many connections stay open when idle.
    pub fn with_min_connections(mut self, min: u32) -> Self {
        self.min_connections = min;
        self
    }

    /// Set (or, with `None`, remove) the connection lifetime.
    pub fn with_max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Set (or, with `None`, remove) the idle timeout.
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Set how long a call waits for a connection.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Set the search path of every connection (a schema name, or a comma-separated list).
    pub fn with_search_path(mut self, search_path: impl Into<String>) -> Self {
        self.search_path = Some(search_path.into());
        self
    }

    /// Set the `application_name`.
    pub fn with_application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Ping pooled connections before handing them out.
    pub fn with_test_before_acquire(mut self, on: bool) -> Self {
        self.test_before_acquire = on;
        self
    }

    /// Add a read replica (a hot standby of the primary's cluster) for lag-tolerant reads.
    pub fn with_replica(mut self, url: impl Into<String>) -> Self {
        self.replicas.push(url.into());
        self
    }

    /// Set how far behind the primary a replica may be and still serve reads.
    pub fn with_replica_lag_bound(mut self, bound: Duration) -> Self {
        self.replica_lag_bound = bound;
        self
    }

    /// Set how long a read after a write waits for a replica to replay it.
    pub fn with_read_your_writes_wait(mut self, wait: Duration) -> Self {
        self.read_your_writes_wait = wait;
        self
    }

    /// Connect through PgBouncer in `pool_mode = transaction` (any version, 1.18 included).
    /// When on:
    ///
    /// * every statement [`PgStore`](crate::PgStore) runs outside a transaction runs in a
    ///   transaction of its own, and every transaction starts with `BEGIN; DEALLOCATE ALL`.
    ///   sqlx sends Parse and Bind in two protocol syncs, between which PgBouncer may switch
    ///   server connections unless a transaction is open, and it names its statements per
    ///   client connection (`sqlx_s_<n>`), which would collide on a shared server connection
    ///   (`42P05 prepared statement "sqlx_s_1" already exists`). The cost: two more round
    ///   trips per statement outside a transaction (`BEGIN`, `COMMIT`), one per transaction;
    /// * sqlx's statement cache is off (`statement_cache_capacity(0)`), since its statements
    ///   do not outlive the transaction;
    /// * `extra_float_digits` is not sent at start-up (PgBouncer 1.18 refuses unknown startup
    ///   parameters);
    /// * a [`search_path`](Self::search_path) is refused by
    ///   [`connect_options`](Self::connect_options): a session setting does not survive
    ///   transaction pooling, and PgBouncer 1.18 drops the `options` startup parameter. Set it on
    ///   the database or role instead (`ALTER DATABASE db SET search_path TO schema`).
    ///
    /// Advisory locks, `LISTEN` and session `SET`s do not survive transaction pooling either:
    /// the repositories take none of them and listen on nothing, but
    /// [`migrate`](crate::migrate) holds sqlx's session advisory lock, so run migrations
    /// against the server directly, not through PgBouncer. Other clients sharing PgBouncer's
    /// pool with prepared statements of their own lose them at each of our transactions
    /// (`DEALLOCATE ALL`): in transaction pooling they cannot rely on them anyway.
    pub fn with_pgbouncer_transaction_mode(mut self, on: bool) -> Self {
        self.pgbouncer_transaction_mode = on;
        self
    }

    /// Set how often replicas are checked.
    pub fn with_replica_check_interval(mut self, interval: Duration) -> Self {
        self.replica_check_interval = interval;
        self
    }

    /// The connect options: the URL parsed, with the search path and application name (and,
    /// in [PgBouncer mode](Self::with_pgbouncer_transaction_mode), no statement cache).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] (field `url`, rule `format`) when the URL does not parse; the
    /// message never contains the URL. [`Error::Validation`] (field `search_path`, rule
    /// `pgbouncer_transaction_mode`) for a search path in PgBouncer mode.
    pub fn connect_options(&self) -> Result<PgConnectOptions> {
        self.options_for(&self.url)
    }

    /// The connect options of each of [`replicas`](Self::replicas), as
    /// [`connect_options`](Self::connect_options) builds them for the primary.
    ///
    /// # Errors
    ///
    /// As [`connect_options`](Self::connect_options) (field `replicas`).
    pub fn replica_connect_options(&self) -> Result<Vec<PgConnectOptions>> {
        self.replicas
            .iter()
            .map(|url| {
                self.options_for(url)
                    .map_err(|_| Error::invalid("replicas", "format", "is not a valid postgres:// URL"))
            })
            .collect()
    }

    fn options_for(&self, url: &str) -> Result<PgConnectOptions> {
        let mut options: PgConnectOptions =
            url.parse().map_err(|_| Error::invalid("url", "format", "is not a valid postgres:// URL"))?;
        options = options.application_name(&self.application_name);
        if self.pgbouncer_transaction_mode {
            if self.search_path.is_some() {
                return Err(Error::invalid(
                    "search_path",
                    "pgbouncer_transaction_mode",
                    "cannot be a connection setting behind PgBouncer's transaction pooling; set it on the database or role",
                ));
            }
            options = options.statement_cache_capacity(0).extra_float_digits(None);
        }
        if let Some(path) = &self.search_path {
            options = options.options([("search_path", path.as_str())]);
        }
        Ok(options)
    }

    /// The pool options: sizes and timeouts.
    pub fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections.min(self.max_connections))
            .max_lifetime(self.max_lifetime)
            .idle_timeout(self.idle_timeout)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(self.test_before_acquire)
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("max_lifetime", &self.max_lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("search_path", &self.search_path)
            .field("application_name", &self.application_name)
            .field("test_before_acquire", &self.test_before_acquire)
            .field("replicas", &self.replicas.iter().map(|u| redact_url(u)).collect::<Vec<_>>())
            .field("replica_lag_bound", &self.replica_lag_bound)
            .field("read_your_writes_wait", &self.read_your_writes_wait)
            .field("replica_check_interval", &self.replica_check_interval)
            .field("pgbouncer_transaction_mode", &self.pgbouncer_transaction_mode)
            .finish()
    }
}

/// The URL with the password of its user info and any `password=` query value replaced by
/// `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let (head, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    format!("{head}{authority}{}", redact_query(tail))
}

/// `password=...` values of a query string replaced by `***`.
fn redact_query(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_owned();
    };
    let (path, query) = tail.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_pool_settings() {
        let c = PgConfig::default();
        assert_eq!((c.max_connections, c.min_connections), (20, 5));
        assert_eq!(c.max_lifetime, Some(Duration::from_secs(600)));
        assert_eq!(c.acquire_timeout, Duration::from_secs(5));
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact_url("postgres://app:pw@h:5432/db"), "postgres://app:***@h:5432/db");
        assert_eq!(redact_url("postgres://app@h/db"), "postgres://app@h/db");
        assert_eq!(redact_url("postgres://a:p%40ss@h/db?sslmode=require"), "postgres://a:***@h/db?sslmode=require");
        assert_eq!(redact_url("postgres://h/db?user=a&password=pw"), "postgres://h/db?user=a&password=***");
        let c = PgConfig::new("postgres://app:hunter2@db/x").with_replica("postgres://ro:swordfish@replica/x");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{c:?}").contains("swordfish"));
    }

    #[test]
    fn pgbouncer_mode_refuses_a_search_path() {
        let bouncer = PgConfig::new("postgres://app@127.0.0.1:6432/db").with_pgbouncer_transaction_mode(true);
        assert!(bouncer.connect_options().is_ok());
        let err = bouncer.with_search_path("tenant_1").connect_options().map(|_| ()).err();
        assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("search_path"));
    }

    #[test]
    fn bad_urls_are_validation_errors_without_the_url() {
        let err = PgConfig::new("postgres://nope:secret@[::1").connect_options().map(|_| ()).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("url"), "{text}");
        assert!(!text.contains("secret"));
    }
}
