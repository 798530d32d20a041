//! Read replicas: which pool a lag-tolerant read runs on, replica health, and read-your-writes.
//!
//! A `Router` holds the primary pool and one pool per replica. Lag-tolerant reads (the list
//! and paging calls named in [`PgStore`](crate::PgStore)'s docs) ask it for a replica; every
//! other call uses the primary directly and never comes here.
//!
//! * **Health** is cached per replica and refreshed at most every `replica_check_interval`
//!   (default 1 s), in a background task, so a read adds no round trip for it: one refresh
//!   reads `pg_current_wal_lsn()` on the primary and `pg_is_in_recovery()`,
//!   `pg_last_wal_replay_lsn()` on each replica. The primary's positions are kept with the time
//!   they were read; a replica's lag is the age of the newest of them its replay position has
//!   reached (0 when it has reached the current one), so an idle primary never makes a replica
//!   look late, and a replica whose replay stopped grows late by the clock. A replica that is
//!   not a standby, cannot be reached, or lags more than `replica_lag_bound` (or whose lag is
//!   not known yet) is skipped, with a `tracing::warn!` per check, until a check finds it fit.
//! * **A replica failing a read** (connection refused or lost, pool timeout, shutdown, recovery
//!   conflict, database not replayed yet) is marked down with a warning and the read runs again
//!   on the primary: reads are safe to repeat.
//! * **Read-your-writes** is per session (a [`PgStore`](crate::PgStore) and its clones; a new
//!   one from `PgStore::session`). A write marks the session when it returns. The next
//!   lag-tolerant read of a marked session reads the primary's `pg_current_wal_insert_lsn()`
//!   (one round trip, which covers every write that returned before it) and keeps it as the
//!   session's required position; a replica serves the session's reads only once its replay
//!   position has reached it: at once when its last known position has, else after polling it
//!   (every 5 ms) for at most `read_your_writes_wait` (default 200 ms), else the read goes to
//!   the primary. The *insert* position, not `pg_current_wal_lsn()` (the position written out
//!   of the WAL buffers): a commit with `synchronous_commit = off` returns before its WAL
//!   record is written, so the written position may not cover it yet, and a replica that has
//!   replayed all the written WAL would serve the session's read without its write. (Such a
//!   commit reaches the replicas once the WAL writer has written it, within three times
//!   `wal_writer_delay` at worst; until then the session's reads wait and may go to the
//!   primary.)
//! * **A replica's known replay position** is the last one read from it (by a check, or by
//!   a read polling it), never the highest ever read: a replica restarted, cloned again or
//!   replaced behind the same address may be behind what it reported before, and is only
//!   trusted with what it reports now. A replica marked down or not a standby has none.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clientnest_core::Result;
use sqlx::PgPool;

use crate::error::{is_unavailable_code, map_sqlx};
use crate::exec::PoolExec;

/// How many primary positions are kept to date replay positions.
const MAX_SAMPLES: usize = 256;
/// The pause between two polls of a replica's replay position while a read waits for it.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// The longest a health check waits for one server.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The primary's current WAL position (written out of its WAL buffers), in bytes from `0/0`:
/// the position a replica can reach, kept with its time to date replay positions.
const PRIMARY_LSN: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8";
/// The end of the WAL the primary has inserted, in bytes from `0/0`: past the commit record of
/// every transaction that has returned, even one whose record is not written yet
/// (`synchronous_commit = off`), so a session's reads wait for it. Not a health sample: on an
/// idle primary it may sit just past a page header, where no replay position ever lands.
const SESSION_LSN: &str = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8";
/// Whether a server is a standby, and the WAL position it has replayed (`NULL` on a primary).
const REPLAY_LSN: &str = "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8";

/// What the last check (or a failed read) found of a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaState {
    /// Not checked yet.
    Unchecked,
    /// Serving lag-tolerant reads: its replay is `lag` behind the primary (an upper bound, to
    /// the precision of the checks).
    Ready {
        /// How far behind the primary its replay was at the check.
        lag: Duration,
    },
    /// Skipped: behind the primary by more than the bound, or by an amount not known yet
    /// (`None`: the primary's positions kept do not reach back far enough).
    Lagging {
        /// How far behind, when known.
        lag: Option<Duration>,
    },
    /// Skipped: the server answers but is not in recovery (not a standby, or promoted).
    NotStandby,
    /// Skipped: it could not be reached, or failed a read (the message names no URL).
    Down {
        /// What failed.
        reason: String,
    },
}

/// One replica's state, as [`PgStore::check_replicas`](crate::PgStore::check_replicas) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaStatus {
    /// `host:port/database` of the replica (no user or password).
    pub name: String,
    /// What the last check found.
    pub state: ReplicaState,
    /// The WAL position it had replayed (bytes from `0/0`) when last asked (by a check, or by a
    /// read waiting for it), when known.
    pub replay_lsn: Option<i64>,
}

/// Where the lag-tolerant reads of a store went, counted since it was built (shared by its
/// clones and sessions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStats {
    /// Served by a replica.
    pub replica: u64,
    /// Served by the primary: no replica fit, or none had replayed the session's writes in time.
    pub primary: u64,
    /// Of those, reads that a replica failed and the primary then served.
    pub fallbacks: u64,
}

/// The read-your-writes state of one session: shared by a store's clones, fresh for
/// `PgStore::session`.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// A write returned since the session last read the primary's position.
    wrote: AtomicBool,
    /// The primary position the session's replica reads must have been replayed to.
    required: AtomicI64,
}

/// Marks its session as having written when dropped: the first line of every write, so the
/// mark lands after the write returned (committed, failed or cancelled alike).
pub(crate) struct WriteMark<'a>(&'a Session);

impl Drop for WriteMark<'_> {
    fn drop(&mut self) {
        self.0.wrote.store(true, Ordering::Release);
    }
}

impl Session {
    /// The guard that marks this session when the write it is held across returns.
    pub(crate) fn write_mark(&self) -> WriteMark<'_> {
        WriteMark(self)
    }
}

/// Settings the router takes from [`PgConfig`](crate::PgConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouterSettings {
    pub(crate) lag_bound: Duration,
    pub(crate) ryw_wait: Duration,
    pub(crate) check_interval: Duration,
}

/// The connections a replica's reads run on (its checks run on their pool), and what is known
/// of it.
struct Replica {
    name: String,
    exec: PoolExec,
    health: Mutex<Health>,
}

/// What is known of a replica: the state its last check (or failed read) found, and the replay
/// position it last reported.
#[derive(Debug, Clone)]
struct Health {
    state: ReplicaState,
    /// The replay position last read from the replica, as it was (not the highest ever read:
    /// after a restart the replica may be behind it); `None` when down or not a standby.
    replay_lsn: Option<i64>,
}

impl Replica {
    fn health(&self) -> Health {
        self.health.lock().map(|h| h.clone()).unwrap_or(Health { state: ReplicaState::Unchecked, replay_lsn: None })
    }

    /// Record what a check (or a failed read) found: the state and the replay position it read,
    /// replacing the previous ones.
    fn set_state(&self, state: ReplicaState, replay_lsn: Option<i64>) {
        if let Ok(mut h) = self.health.lock() {
            h.state = state;
            h.replay_lsn = replay_lsn;
        }
    }

    /// Record a replay position a read just polled. It replaces the known one, lower or not: a
    /// replica's replay only goes back when the replica did (a restart), and then what it
    /// reports now is what its reads see.
    fn saw_replay(&self, lsn: i64) {
        if let Ok(mut h) = self.health.lock() {
            h.replay_lsn = Some(lsn);
        }
    }

    fn ready(&self) -> Option<Option<i64>> {
        let h = self.health();
        matches!(h.state, ReplicaState::Ready { .. }).then_some(h.replay_lsn)
    }
}

/// The primary's pool and connections, the replicas, and the shared bookkeeping of the reads.
pub(crate) struct Router {
    primary: PoolExec,
    replicas: Vec<Replica>,
    settings: RouterSettings,
    /// The primary's positions with when they were read, oldest first.
    samples: Mutex<VecDeque<(Instant, i64)>>,
    last_check: Mutex<Option<Instant>>,
    checking: AtomicBool,
    next: AtomicUsize,
    replica_reads: AtomicU64,
    primary_reads: AtomicU64,
    fallbacks: AtomicU64,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.replicas.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("Router").field("replicas", &names).field("settings", &self.settings).finish()
    }
}

/// `host:port/database` of a pool's server.
pub(crate) fn pool_name(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or(""))
}

/// Whether a replica's failure of a read means "try the primary": the replica is unreachable,
/// shutting down or overloaded, cancelled the read for a recovery conflict, or does not have the
/// database yet.
fn replica_trouble(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            is_unavailable_code(&code) || code == "3D000" || code == "25006"
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

impl Router {
    /// A router over the store's connections to the primary (`primary`) and `replicas`' pools;
    /// the replicas' reads run on connections of their own, plainly or behind PgBouncer as the
    /// primary's do. Health and WAL positions are read on the pools.
    pub(crate) fn new(primary: PoolExec, replicas: Vec<PgPool>, settings: RouterSettings) -> Self {
        let replicas = replicas
            .into_iter()
            .map(|pool| Replica {
                name: pool_name(&pool),
                exec: PoolExec::new(pool, primary.bounced()),
                health: Mutex::new(Health { state: ReplicaState::Unchecked, replay_lsn: None }),
            })
            .collect();
        Self {
            primary,
            replicas,
            settings,
            samples: Mutex::new(VecDeque::new()),
            last_check: Mutex::new(None),
            checking: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            replica_reads: AtomicU64::new(0),
            primary_reads: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> ReadStats {
        ReadStats {
            replica: self.replica_reads.load(Ordering::Relaxed),
            primary: self.primary_reads.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn statuses(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|r| {
                let h = r.health();
                ReplicaStatus { name: r.name.clone(), state: h.state, replay_lsn: h.replay_lsn }
            })
            .collect()
    }

    /// Run a lag-tolerant read: on a fit replica when there is one, else (or when the replica
    /// fails it) on the primary.
    pub(crate) async fn read<T, F, Fut>(self: &Arc<Self>, session: &Session, op: F) -> Result<T>
    where
        F: Fn(PoolExec) -> Fut,
        Fut: Future<Output = sqlx::Result<T>>,
    {
        self.refresh_in_background();
        if let Some(i) = self.pick(session).await {
            let replica = &self.replicas[i];
            match op(replica.exec.clone()).await {
                Ok(value) => {
                    self.replica_reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(e) if replica_trouble(&e) => {
                    tracing::warn!(replica = %replica.name, error = %e, "replica failed a read; reading the primary");
                    replica.set_state(ReplicaState::Down { reason: e.to_string() }, None);
                    self.fallbacks.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(map_sqlx(e)),
            }
        }
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        op(self.primary.clone()).await.map_err(map_sqlx)
    }

    /// The replica for a read of `session`, or `None` for the primary.
    async fn pick(&self, session: &Session) -> Option<usize> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let ready: Vec<(usize, Option<i64>)> =
            (0..n).map(|k| (start + k) % n).filter_map(|i| self.replicas[i].ready().map(|lsn| (i, lsn))).collect();
        if ready.is_empty() {
            return None;
        }
        if session.wrote.swap(false, Ordering::AcqRel) {
            match self.session_lsn().await {
                Ok(lsn) => {
                    session.required.fetch_max(lsn, Ordering::AcqRel);
                }
                Err(e) => {
                    session.wrote.store(true, Ordering::Release);
                    tracing::debug!(error = %e, "could not read the primary's WAL position; reading the primary");
                    return None;
                }
            }
        }
        let required = session.required.load(Ordering::Acquire);
        if let Some(&(i, _)) = ready.iter().find(|(_, lsn)| lsn.is_some_and(|l| l >= required)) {
            return Some(i);
        }
        // No replica is known to have replayed the session's writes: wait for one, bounded.
        let (i, _) = ready[0];
        let replica = &self.replicas[i];
        let deadline = Instant::now() + self.settings.ryw_wait;
        loop {
            match replay_position(replica.exec.pool()).await {
                Ok((true, Some(lsn))) => {
                    replica.saw_replay(lsn);
                    if lsn >= required {
                        return Some(i);
                    }
                }
                Ok(_) => return None,
                Err(e) => {
                    tracing::warn!(replica = %replica.name, error = %e, "replica failed a check; reading the primary");
                    replica.set_state(ReplicaState::Down { reason: e.to_string() }, None);
                    return None;
                }
            }
            if Instant::now() + POLL_EVERY > deadline {
                tracing::debug!(replica = %replica.name, "replica has not replayed this session's writes in time; reading the primary");
                return None;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The primary position a session's reads must wait for after its writes: the end of the
    /// WAL inserted (see [`SESSION_LSN`]), read on the primary.
    async fn session_lsn(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar(SESSION_LSN).fetch_one(self.primary.pool()).await
    }

    /// The primary's current position, kept as a sample too.
    async fn primary_lsn(&self) -> sqlx::Result<i64> {
        let lsn: i64 = sqlx::query_scalar(PRIMARY_LSN).fetch_one(self.primary.pool()).await?;
        if let Ok(mut samples) = self.samples.lock() {
            samples.push_back((Instant::now(), lsn));
            while samples.len() > MAX_SAMPLES {
                samples.pop_front();
            }
        }
        Ok(lsn)
    }

    /// How far behind a replay position is: 0 when it has reached `current`, else the age of
    /// the newest kept primary position it has reached; `None` when it reached none of them.
    fn lag_of(&self, replay: i64, current: i64, now: Instant) -> Option<Duration> {
        if replay >= current {
            return Some(Duration::ZERO);
        }
        let samples = self.samples.lock().ok()?;
        samples.iter().rev().find(|(_, lsn)| *lsn <= replay).map(|(at, _)| now.saturating_duration_since(*at))
    }

    /// Start a check in the background when the last one is older than the interval (at most
    /// one at a time).
    fn refresh_in_background(self: &Arc<Self>) {
        let due = self
            .last_check
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= self.settings.check_interval))
            .unwrap_or(false);
        if !due || self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let router = Arc::clone(self);
        tokio::spawn(async move {
            router.check().await;
            router.checking.store(false, Ordering::Release);
        });
    }

    /// Check every replica now: the primary's position, then each replica's.
    pub(crate) async fn check(&self) -> Vec<ReplicaStatus> {
        if let Ok(mut at) = self.last_check.lock() {
            *at = Some(Instant::now());
        }
        let current = match tokio::time::timeout(CHECK_TIMEOUT, self.primary_lsn()).await {
            Ok(Ok(lsn)) => Some(lsn),
            _ => None,
        };
        for replica in &self.replicas {
            let state = match tokio::time::timeout(CHECK_TIMEOUT, replay_position(replica.exec.pool())).await {
                Err(_) => (ReplicaState::Down { reason: "health check timed out".to_owned() }, None),
                Ok(Err(e)) => (ReplicaState::Down { reason: e.to_string() }, None),
                Ok(Ok((false, _) | (true, None))) => (ReplicaState::NotStandby, None),
                Ok(Ok((true, Some(replay)))) => {
                    let lag = match current {
                        Some(c) => match self.lag_of(replay, c, Instant::now()) {
                            Some(lag) => Some(lag),
                            None => self.time_to_replay(replica, c).await,
                        },
                        None => None,
                    };
                    match lag {
                        Some(lag) if lag <= self.settings.lag_bound => (ReplicaState::Ready { lag }, Some(replay)),
                        lag => (ReplicaState::Lagging { lag }, Some(replay)),
                    }
                }
            };
            match &state.0 {
                ReplicaState::Ready { .. } | ReplicaState::Unchecked => {}
                ReplicaState::Lagging { lag } => tracing::warn!(
                    replica = %replica.name, lag_ms = lag.map(|l| l.as_millis() as u64),
                    bound_ms = self.settings.lag_bound.as_millis() as u64,
                    "replica lags past the bound (or its lag is not known yet); its reads go to the primary"
                ),
                ReplicaState::NotStandby => {
                    tracing::warn!(replica = %replica.name, "replica is not a standby; its reads go to the primary")
                }
                ReplicaState::Down { reason } => {
                    tracing::warn!(replica = %replica.name, %reason, "replica is down; its reads go to the primary")
                }
            }
            replica.set_state(state.0, state.1);
        }
        self.statuses()
    }
}

impl Router {
    /// How long `replica` takes to replay up to `target` (a position the primary had at the
    /// start of this check), when no kept position dates its replay: polled every 20 ms for at
    /// most the lag bound; `None` when it did not get there in that time.
    async fn time_to_replay(&self, replica: &Replica, target: i64) -> Option<Duration> {
        let started = Instant::now();
        loop {
            match replay_position(replica.exec.pool()).await {
                Ok((true, Some(lsn))) if lsn >= target => return Some(started.elapsed()),
                Ok((true, Some(_))) => {}
                _ => return None,
            }
            if started.elapsed() >= self.settings.lag_bound {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether the server of `pool` is in recovery, and its replay position.
async fn replay_position(pool: &PgPool) -> sqlx::Result<(bool, Option<i64>)> {
    sqlx::query_as(REPLAY_LSN).fetch_one(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_marks_its_session_when_it_returns() {
        let session = Session::default();
        {
            let _mark = session.write_mark();
            assert!(!session.wrote.load(Ordering::Acquire), "not while the write runs");
        }
        assert!(session.wrote.load(Ordering::Acquire));
    }

    /// A replica on a pool that never connects, checked and found ready at `lsn`.
    fn replica_ready_at(lsn: i64) -> Replica {
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy_with(sqlx::postgres::PgConnectOptions::new());
        let replica = Replica {
            name: pool_name(&pool),
            exec: PoolExec::new(pool, false),
            health: Mutex::new(Health { state: ReplicaState::Unchecked, replay_lsn: None }),
        };
        replica.set_state(ReplicaState::Ready { lag: Duration::ZERO }, Some(lsn));
        replica
    }

    #[tokio::test]
    async fn a_replicas_known_replay_position_is_the_last_one_read_not_the_highest() {
        let replica = replica_ready_at(100);
        replica.saw_replay(150);
        assert_eq!(replica.ready(), Some(Some(150)));
        // Restarted behind what it reported: the next check's position is what counts.
        replica.set_state(ReplicaState::Ready { lag: Duration::ZERO }, Some(120));
        assert_eq!(replica.ready(), Some(Some(120)));
        replica.saw_replay(110);
        assert_eq!(replica.ready(), Some(Some(110)));
        // Down: no position survives it.
        replica.set_state(ReplicaState::Down { reason: "gone".to_owned() }, None);
        assert_eq!(replica.health().replay_lsn, None);
        replica.set_state(ReplicaState::Ready { lag: Duration::ZERO }, Some(90));
        assert_eq!(replica.ready(), Some(Some(90)));
    }

    #[test]
    fn replica_trouble_is_about_reaching_the_replica() {
        assert!(replica_trouble(&sqlx::Error::PoolTimedOut));
        assert!(replica_trouble(&sqlx::Error::Io(std::io::Error::other("refused"))));
        assert!(!replica_trouble(&sqlx::Error::RowNotFound));
    }
}
