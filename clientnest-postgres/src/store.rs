//! [`PgStore`]: every repository port of ClientNest on one PostgreSQL pool.

use std::fmt;

use chrono::{DateTime, Utc};
use clientnest_core::Result;
use clientnest_core::clock::{SharedClock, system_clock, to_micros};
use clientnest_core::crypto::KeyRing;
use clientnest_core::validate::HostPolicy;
use sqlx::{PgPool, Postgres, Transaction};

use crate::config::PgConfig;
use crate::error::map_sqlx;
use crate::secrets::Sealer;

/// A transaction on the store's pool.
pub(crate) type Tx = Transaction<'static, Postgres>;

/// Every repository port of `clientnest-core` on PostgreSQL (so `PgStore: Repositories`).
///
/// Cheap to clone: clones share the pool, the key ring and the clock. Build it with
/// [`PgStore::connect`] from a [`PgConfig`], or with [`PgStore::from_pool`] around a pool you
/// already have; apply the schema with [`PgStore::migrate`] (or [`migrate`](crate::migrate)).
///
/// * Every call validates its input with the core rules first, then runs SQL; writes touching
///   several rows run in one transaction (or one statement).
/// * Time comes from the store's clock ([`PgStore::with_clock`]), passed to SQL as a
///   parameter, so a [`ManualClock`](clientnest_core::clock::ManualClock) drives it in tests.
/// * Tokens and webhook secrets are sealed with the [`KeyRing`] (see [`crate::secrets`]).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    sealer: Sealer,
    clock: SharedClock,
    hosts: HostPolicy,
}

impl PgStore {
    /// Connect a pool with `config` and build a store on the system clock.
    ///
    /// Connections are opened lazily up to `max_connections`; this call opens one to check that
    /// the server answers.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](clientnest_core::Error::Validation) for a malformed URL,
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached in `acquire_timeout`.
    pub async fn connect(config: &PgConfig, keys: KeyRing) -> Result<Self> {
        let options = config.connect_options()?;
        let pool = config.pool_options().connect_with(options).await.map_err(map_sqlx)?;
        Ok(Self::from_pool(pool, keys))
    }

    /// A store on an existing pool, on the system clock.
    pub fn from_pool(pool: PgPool, keys: KeyRing) -> Self {
        Self { pool, sealer: Sealer::new(keys), clock: system_clock(), hosts: HostPolicy::default() }
    }

    /// Judge webhook endpoints and avatar URLs by `policy` (default
    /// [`HostPolicy::PublicOnly`]: private, loopback and link-local hosts are refused); tests
    /// and development that deliver to `http://localhost` pass [`HostPolicy::AllowPrivate`].
    pub fn with_host_policy(mut self, policy: HostPolicy) -> Self {
        self.hosts = policy;
        self
    }

    /// The policy webhook endpoints and avatar URLs are judged by.
    pub fn host_policy(&self) -> HostPolicy {
        self.hosts
    }

    /// Read time from `clock` instead (a manual clock in tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Apply the embedded migrations (see [`MIGRATOR`](crate::MIGRATOR)).
    ///
    /// # Errors
    ///
    /// As [`migrate`](crate::migrate).
    pub async fn migrate(&self) -> Result<()> {
        crate::migrate(&self.pool).await
    }

    /// The pool, for health checks, metrics or your own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The clock the store reads for every time it sets (creation, change, claim, expiry).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Close the pool: wait for connections in use to come back, then close them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The current time, microsecond precision.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        to_micros(self.clock.now())
    }

    /// The sealer that encrypts the token and secret columns before they are written.
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Start a transaction on a pooled connection; its errors go through `map_sqlx`.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        self.pool.begin().await.map_err(map_sqlx)
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("key_id", &self.sealer.primary_key_id())
            .field("clock", &self.clock)
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// Commit a transaction; its errors go through `map_sqlx`, as every query's do.
pub(crate) async fn commit(tx: Tx) -> Result<()> {
    tx.commit().await.map_err(map_sqlx)
}

/// End a transaction by its outcome: commit when `outcome` is `Ok`, roll back (and wait for the
/// rollback) when it is an error, so the rows it locked are free when the call returns.
///
/// Dropping a transaction is not enough: sqlx only queues the `ROLLBACK`, which reaches the
/// server when the connection goes back to the pool, in a background task. Until then the
/// locks stay, and a worker claiming right after a refusal would skip the row (`SKIP
/// LOCKED`). Every transaction runs its work as `let outcome = async { ... }.await;` and ends
/// with `finish(tx, outcome).await`.
pub(crate) async fn finish<T>(tx: Tx, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(value) => commit(tx).await.map(|()| value),
        Err(e) => {
            // The refusal is the error to report; a failed rollback closes the connection.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}
