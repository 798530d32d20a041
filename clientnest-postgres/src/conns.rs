//! [`Conns`]: the connections a [`PgStore`](crate::PgStore) runs its calls on, handed out and
//! taken back without a round trip; [`Tx`], a transaction on one of them.
//!
//! sqlx's pool pings every connection it takes back (`PoolConnection::return_to_pool` sends
//! `/* SQLx ping */` and waits for the answer, unconditionally in sqlx 0.9), so a one-statement
//! call costs two round trips of the server's and the client's time where one does the work.
//! These connections are opened through the store's sqlx pool (its connect options, its
//! `after_connect` hook, its acquire timeout), then detached from it and kept here, at most
//! the pool's `max_connections` of them:
//!
//! * a call that ends (its statement succeeded, or the server refused it) gives its connection
//!   back at once, with no round trip;
//! * a call that fails with a transport or protocol error, or that is dropped before it ends
//!   (a cancelled future, a transaction never committed), closes its connection instead: the
//!   server rolls back whatever it left open, and no later call inherits a connection in an
//!   unknown state (what sqlx's ping on release guards against);
//! * a connection older than the pool's `max_lifetime`, or idle longer than its `idle_timeout`,
//!   is closed when it is next taken; with `test_before_acquire` it is pinged first.
//!
//! The sqlx pool itself stays for [`PgStore::pool`](crate::PgStore::pool) (your own queries,
//! migrations, the replica router's primary reads): detached connections do not count against
//! its `max_connections`, so the two never wait for each other.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The store's own connections (see the module docs). Cheap to clone: clones share them.
#[derive(Clone)]
pub(crate) struct Conns {
    inner: Arc<Inner>,
}

struct Inner {
    opener: PgPool,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    max: u32,
    acquire_timeout: Duration,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    test_before_acquire: bool,
}

/// A connection waiting to be taken.
struct Idle {
    conn: PgConnection,
    opened: Instant,
    since: Instant,
}

impl Conns {
    /// Connections opened through `opener`, with its limits (`max_connections`,
    /// `acquire_timeout`, `max_lifetime`, `idle_timeout`, `test_before_acquire`).
    pub(crate) fn new(opener: PgPool) -> Self {
        let options = opener.options();
        let max = options.get_max_connections().max(1);
        let inner = Inner {
            max,
            acquire_timeout: options.get_acquire_timeout(),
            max_lifetime: options.get_max_lifetime(),
            idle_timeout: options.get_idle_timeout(),
            test_before_acquire: options.get_test_before_acquire(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max as usize)),
            opener,
        };
        Self { inner: Arc::new(inner) }
    }

    /// The sqlx pool the connections are opened through.
    pub(crate) fn opener(&self) -> &PgPool {
        &self.inner.opener
    }

    /// How many connections are open: in use, plus idle.
    pub(crate) fn size(&self) -> usize {
        self.in_use() + self.idle()
    }

    /// How many connections wait to be taken.
    pub(crate) fn idle(&self) -> usize {
        self.inner.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    fn in_use(&self) -> usize {
        (self.inner.max as usize).saturating_sub(self.inner.permits.available_permits())
    }

    /// Open `count` connections now (at most `max_connections`) and keep them idle.
    ///
    /// # Errors
    ///
    /// The first connection error.
    pub(crate) async fn warm(&self, count: u32) -> sqlx::Result<()> {
        let mut leases = Vec::new();
        for _ in 0..count.min(self.inner.max) {
            leases.push(self.acquire().await?);
        }
        for lease in leases {
            lease.release(None);
        }
        Ok(())
    }

    /// Take a connection: an idle one (the most recently used), else a new one; waiting at most
    /// the pool's `acquire_timeout` for one to be free and opened.
    ///
    /// # Errors
    ///
    /// [`sqlx::Error::PoolTimedOut`] past the timeout, [`sqlx::Error::PoolClosed`] after
    /// [`close`](Self::close), or the error opening a connection.
    pub(crate) async fn acquire(&self) -> sqlx::Result<Lease> {
        let deadline = Instant::now() + self.inner.acquire_timeout;
        let permit =
            match tokio::time::timeout(self.inner.acquire_timeout, Arc::clone(&self.inner.permits).acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            };
        while let Some(idle) = self.take_idle() {
            if self.inner.expired(&idle) {
                close_quietly(idle.conn);
                continue;
            }
            let mut conn = idle.conn;
            if self.inner.test_before_acquire {
                // Within the acquire timeout: a server that stopped answering fails the ping.
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, conn.ping()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => continue,
                    Err(_) => return Err(sqlx::Error::PoolTimedOut),
                }
            }
            return Ok(Lease { conn, opened: idle.opened, inner: Arc::clone(&self.inner), _permit: permit });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let conn = match tokio::time::timeout(left, self.inner.opener.acquire()).await {
            Ok(conn) => conn?.detach(),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        Ok(Lease { conn, opened: Instant::now(), inner: Arc::clone(&self.inner), _permit: permit })
    }

    fn take_idle(&self) -> Option<Idle> {
        self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// Close every idle connection and the sqlx pool, after waiting for connections in use to
    /// come back (as `PgPool::close` does); later calls fail with `PoolClosed`.
    pub(crate) async fn close(&self) {
        // Taking every permit waits for the leases out; closing refuses later acquires.
        let all = self.inner.permits.acquire_many(self.inner.max).await;
        self.inner.permits.close();
        drop(all);
        let idle = std::mem::take(&mut *self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for idle in idle {
            let _ = idle.conn.close().await;
        }
        self.inner.opener.close().await;
    }
}

impl Inner {
    /// Past its lifetime, or idle for too long.
    fn expired(&self, idle: &Idle) -> bool {
        self.max_lifetime.is_some_and(|max| idle.opened.elapsed() >= max)
            || self.idle_timeout.is_some_and(|max| idle.since.elapsed() >= max)
    }
}

impl fmt::Debug for Conns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conns")
            .field("size", &self.size())
            .field("idle", &self.idle())
            .field("max", &self.inner.max)
            .finish()
    }
}

/// Close a connection without waiting for the server's answer: in the background when a
/// runtime runs, else by dropping it (the server sees the socket close).
fn close_quietly(conn: PgConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = conn.close().await;
        });
    }
}

/// Whether a call that failed with `e` may have left its connection unusable: anything but
/// the server's refusal of the statement, or a row or column the caller did not find or
/// decode. Such a connection is closed, not given back. A refusal that ends the session
/// breaks it too: a connection exception (class `08`), or the server ending the session
/// (`57P01` terminated by an administrator, `57P02` crash shutdown, `57P03` cannot connect
/// now), after which the server closes the socket.
fn breaks_connection(e: &sqlx::Error) -> bool {
    if let sqlx::Error::Database(db) = e {
        return db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"));
    }
    !matches!(
        e,
        sqlx::Error::RowNotFound
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::TypeNotFound { .. }
    )
}

/// A connection taken from [`Conns`]. [`release`](Self::release) gives it back; dropped
/// without that (a cancelled call), it is closed. Derefs to the connection, so `&mut *lease`
/// is an executor.
pub(crate) struct Lease {
    conn: PgConnection,
    opened: Instant,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// Give the connection back after its call, which failed with `error` if any: kept unless
    /// the error [may have broken it](breaks_connection) or the pool is closed.
    pub(crate) fn release(self, error: Option<&sqlx::Error>) {
        let Lease { conn, opened, inner, _permit: permit } = self;
        if error.is_some_and(breaks_connection) || inner.permits.is_closed() {
            close_quietly(conn);
            return;
        }
        // Back in the list before the permit is: a waiter woken by it finds the connection.
        inner.idle.lock().unwrap_or_else(PoisonError::into_inner).push(Idle { conn, opened, since: Instant::now() });
        drop(permit);
    }
}

impl Deref for Lease {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A transaction on a [`Lease`]: begun by [`Tx::begin`], ended by [`commit`](Self::commit) or
/// [`rollback`](Self::rollback). Dropped before either, its connection is closed and the
/// server rolls it back. Derefs to the connection, so `&mut *tx` is an executor.
pub(crate) struct Tx {
    lease: Lease,
}

impl Tx {
    /// Begin a transaction on `lease` with `begin` (`BEGIN`, or a statement starting with it),
    /// sent as a simple query.
    ///
    /// # Errors
    ///
    /// The error of `begin`; the connection is closed then.
    pub(crate) async fn begin(mut lease: Lease, begin: &'static str) -> sqlx::Result<Tx> {
        // On an error the lease is dropped, so the connection is closed: part of `begin` may
        // have run (a `BEGIN` whose next statement failed).
        lease.execute(begin).await?;
        Ok(Tx { lease })
    }

    /// Commit, and give the connection back.
    ///
    /// # Errors
    ///
    /// The error of `COMMIT` (the transaction is over either way).
    pub(crate) async fn commit(self) -> sqlx::Result<()> {
        self.end("COMMIT").await
    }

    /// Roll back, and give the connection back.
    ///
    /// # Errors
    ///
    /// The error of `ROLLBACK` (the connection is closed then).
    pub(crate) async fn rollback(self) -> sqlx::Result<()> {
        self.end("ROLLBACK").await
    }

    async fn end(mut self, statement: &'static str) -> sqlx::Result<()> {
        // A failed `ROLLBACK` may leave the transaction open: the connection is closed then.
        match self.lease.execute(statement).await {
            Ok(_) => {
                self.lease.release(None);
                Ok(())
            }
            Err(e) if statement == "COMMIT" => {
                // A refused commit ends the transaction too (the server rolled it back).
                self.lease.release(Some(&e));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

impl Deref for Tx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.lease
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.lease
    }
}
