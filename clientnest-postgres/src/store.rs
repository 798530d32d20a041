//! [`PgStore`]: every repository port of ClientNest on one PostgreSQL pool.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clientnest_core::Result;
use clientnest_core::clock::{SharedClock, system_clock, to_micros};
use clientnest_core::crypto::KeyRing;
use clientnest_core::validate::HostPolicy;
use sqlx::PgPool;

use crate::config::PgConfig;
use crate::error::map_sqlx;
use crate::exec::PoolExec;
use crate::replica::{ReadStats, ReplicaStatus, Router, RouterSettings, Session, WriteMark};
use crate::secrets::Sealer;

pub(crate) use crate::conns::Tx;

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
///
/// # Read replicas
///
/// With replicas configured ([`PgConfig::with_replica`], or [`PgStore::with_replica_pools`]),
/// the lag-tolerant reads below run on a replica that is up, a standby, and no further behind
/// than `replica_lag_bound`; every other call, every write and every read inside a transaction
/// runs on the primary. A replica that is down or lagging is skipped with a `tracing::warn!`
/// and the read runs on the primary; a replica that fails a read (connection lost, shutdown,
/// recovery conflict) is marked down and the read runs again on the primary. Health is
/// checked in the background every `replica_check_interval`, so a read adds no round trip for
/// it (see [`PgStore::check_replicas`], [`PgStore::read_stats`]).
///
/// | port | on a replica (lag-tolerant) | on the primary |
/// | --- | --- | --- |
/// | posts | `feed`, `list_posts` | `get_post`, writes |
/// | comments | `inbox`, `responses_to` | `get_comment`, writes, `ingest_comments` |
/// | teams | `teams_of_user`, `list_members` | `get_team`, `membership` (access decisions), writes |
/// | social accounts | `list_accounts` | `get_account`, `accounts_expiring_before` (token refresh), writes |
/// | templates | `list_templates`, `list_public_templates` | `get_template`, writes |
/// | schedules | `list_schedules` | `get_schedule`, `claim_due`, `unknown_outcomes`, every transition |
/// | automations | `list_automations` | `get_automation`, `active_automations` (what fires), writes |
/// | webhooks | `list_webhooks` | `get_webhook`, `webhooks_for_event` (what is delivered), writes |
/// | AI usage | `list_ai_usage`, `ai_usage_totals` | `record_ai_usage` |
/// | billing | `list_billing` | `get_billing`, `active_subscription` (entitlements), writes |
/// | notifications | `list_notifications`, `unread_count` | writes |
/// | users | — | `get_user`, `find_user_by_email` (log-in), writes |
///
/// The rule: pages and counts a person looks at go to a replica; a read whose answer decides
/// what the system does next (access, entitlements, what to publish, fire or deliver, a record
/// about to be edited) goes to the primary.
///
/// **Read-your-writes**: a store and its clones form one session; after a write of the session
/// returns, its next lag-tolerant reads run on a replica only once that replica has replayed
/// the primary's WAL position read after the write (`pg_current_wal_insert_lsn()`, one round trip on
/// the first such read), waiting at most `read_your_writes_wait`, else on the primary. Use
/// [`PgStore::session`] for a session of its own (per request or per user), so other sessions'
/// writes do not hold its reads back. Reads that overlap a write of the same session (started
/// before it returned) may or may not see it.
#[derive(Clone)]
pub struct PgStore {
    exec: PoolExec,
    sealer: Sealer,
    clock: SharedClock,
    hosts: HostPolicy,
    router: Option<Arc<Router>>,
    session: Arc<Session>,
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
    /// Replicas are connected lazily and checked once before this returns: one that is down
    /// then is skipped (with a warning) until a later check finds it fit.
    pub async fn connect(config: &PgConfig, keys: KeyRing) -> Result<Self> {
        let options = config.connect_options()?;
        let replica_options = config.replica_connect_options()?;
        // The store keeps its connections itself (see `from_pool`): the sqlx pool keeps none idle.
        let pool = config.pool_options().min_connections(0).connect_with(options).await.map_err(map_sqlx)?;
        let store = Self::from_pool(pool, keys).with_pgbouncer_transaction_mode(config.pgbouncer_transaction_mode);
        store.exec.conns().warm(config.min_connections).await.map_err(map_sqlx)?;
        if replica_options.is_empty() {
            return Ok(store);
        }
        let replicas = replica_options.into_iter().map(|o| config.pool_options().connect_lazy_with(o)).collect();
        Ok(store.with_replica_pools(replicas, config).await)
    }

    /// A store on an existing pool, on the system clock.
    ///
    /// The store runs its calls on connections of its own, at most the pool's `max_connections`,
    /// opened through `pool` (its connect options and `after_connect` hook) and then detached
    /// from it, so that a call gives its connection back without the round trip sqlx's pool
    /// spends pinging every connection it takes back. A call that fails with a transport error,
    /// or is dropped before it ends, closes its connection instead. The pool's
    /// `acquire_timeout`, `max_lifetime`, `idle_timeout` and `test_before_acquire` apply to them;
    /// its `min_connections` stay idle in the pool, for [`pool`](Self::pool)'s users
    /// ([`PgStore::connect`] sets it to 0 and opens `min_connections` of the store's own).
    pub fn from_pool(pool: PgPool, keys: KeyRing) -> Self {
        Self {
            exec: PoolExec::new(pool, false),
            sealer: Sealer::new(keys),
            clock: system_clock(),
            hosts: HostPolicy::default(),
            router: None,
            session: Arc::new(Session::default()),
        }
    }

    /// Route the lag-tolerant reads to these replica pools (replacing any), with the lag
    /// bound, read-your-writes wait and check interval of `config` (its URLs are not used);
    /// checks them once before it returns.
    pub async fn with_replica_pools(mut self, replicas: Vec<PgPool>, config: &PgConfig) -> Self {
        if replicas.is_empty() {
            self.router = None;
            return self;
        }
        let settings = RouterSettings {
            lag_bound: config.replica_lag_bound,
            ryw_wait: config.read_your_writes_wait,
            check_interval: config.replica_check_interval,
        };
        let router = Arc::new(Router::new(self.exec.clone(), replicas, settings));
        router.check().await;
        self.router = Some(router);
        self
    }

    /// The same store (pools, replicas, key ring, clock) as a session of its own for
    /// read-your-writes: its lag-tolerant reads wait only for its own writes (and those of its
    /// clones), not for this store's. Cheap.
    pub fn session(&self) -> Self {
        Self { session: Arc::new(Session::default()), ..self.clone() }
    }

    /// Check every replica now (instead of waiting for the next background check) and report
    /// what was found; empty without replicas.
    pub async fn check_replicas(&self) -> Vec<ReplicaStatus> {
        match &self.router {
            Some(router) => router.check().await,
            None => Vec::new(),
        }
    }

    /// What the last check found of each replica, without checking; empty without replicas.
    pub fn replica_statuses(&self) -> Vec<ReplicaStatus> {
        self.router.as_ref().map(|r| r.statuses()).unwrap_or_default()
    }

    /// Where this store's lag-tolerant reads went so far (all zero without replicas: those
    /// reads are not counted then).
    pub fn read_stats(&self) -> ReadStats {
        self.router.as_ref().map(|r| r.stats()).unwrap_or_default()
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
        crate::migrate(self.exec.pool()).await
    }

    /// The pool the store opens its connections through, for health checks or your own
    /// queries (its connections are not the store's: see [`from_pool`](Self::from_pool)).
    pub fn pool(&self) -> &PgPool {
        self.exec.pool()
    }

    /// Run every statement outside a transaction in a transaction of its own, and start every
    /// transaction with `DEALLOCATE ALL`, as PgBouncer's `pool_mode = transaction` needs (see
    /// [`PgConfig::with_pgbouncer_transaction_mode`], which [`PgStore::connect`] applies
    /// itself). For a store [built on your own pool](Self::from_pool): that pool must have
    /// sqlx's statement cache off (`statement_cache_capacity(0)`).
    pub fn with_pgbouncer_transaction_mode(mut self, on: bool) -> Self {
        self.exec = self.exec.bouncing(on);
        self
    }

    /// What the repositories run statements on outside a transaction.
    pub(crate) fn exec(&self) -> &PoolExec {
        &self.exec
    }

    /// The clock the store reads for every time it sets (creation, change, claim, expiry).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Close the store's connections and the pool: wait for connections in use to come back,
    /// then close them all; later calls fail with the retryable `Unavailable`.
    pub async fn close(&self) {
        self.exec.conns().close().await;
    }

    /// The current time, microsecond precision.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        to_micros(self.clock.now())
    }

    /// The sealer that encrypts the token and secret columns before they are written.
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Held across a write (its first line): when dropped, marks the session as having written,
    /// for read-your-writes.
    pub(crate) fn write_mark(&self) -> WriteMark<'_> {
        self.session.write_mark()
    }

    /// Run a lag-tolerant read: `op` gets a replica's pool when one fits (see the type's docs),
    /// else the primary's; a replica's connection failure reruns it on the primary, so `op`
    /// must be a read.
    pub(crate) async fn read<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(PoolExec) -> Fut,
        Fut: Future<Output = sqlx::Result<T>>,
    {
        match &self.router {
            Some(router) => router.read(&self.session, op).await,
            None => op(self.exec.clone()).await.map_err(map_sqlx),
        }
    }

    /// Start a transaction on a pooled connection; its errors go through `map_sqlx`.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        self.exec.begin().await.map_err(map_sqlx)
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("connections", self.exec.conns())
            .field("pgbouncer_transaction_mode", &self.exec.bounced())
            .field("key_id", &self.sealer.primary_key_id())
            .field("clock", &self.clock)
            .field("hosts", &self.hosts)
            .field("replicas", &self.router)
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
