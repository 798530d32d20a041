//! [`PoolExec`]: what the repositories run their statements on outside a transaction. Directly
//! on the pool, or, behind PgBouncer's transaction pooling, each statement in a transaction
//! of its own.
//!
//! # Why a transaction per statement behind PgBouncer
//!
//! sqlx runs a statement with arguments in two protocol syncs. First Parse and Describe, then
//! Bind and Execute. PgBouncer in `pool_mode = transaction` may hand the server connection to
//! another client between them, unless a transaction is open. So the Bind could reach a
//! server that never saw the Parse: it fails, or, with unnamed statements, binds another
//! client's statement. Inside `BEGIN ... COMMIT` the server connection is the client's until
//! the commit.
//!
//! sqlx also names its statements (`sqlx_s_<n>`), numbered per client connection and, with
//! the statement cache off, never closed, while a PgBouncer server connection serves many
//! clients in turn. Every transaction therefore starts with `BEGIN; DEALLOCATE ALL` (one
//! simple query, one round trip): whatever an earlier client left on that server connection
//! is gone, and the names this client creates are new to it until the commit.

use std::fmt;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::{FutureExt, future::BoxFuture};
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres, SqlStr, Transaction};

/// How every transaction starts behind PgBouncer's transaction pooling (see the module docs).
const BOUNCED_BEGIN: &str = "BEGIN; DEALLOCATE ALL";

/// A pool and how to run statements on it: plainly, or each in a transaction of its own
/// behind PgBouncer. Cheap to clone (the pool is shared). `&PoolExec` is a sqlx
/// [`Executor`], so a repository writes `.fetch_all(self.exec())` as it would with a pool.
#[derive(Clone)]
pub(crate) struct PoolExec {
    pool: PgPool,
    bounced: bool,
}

impl PoolExec {
    /// Run on `pool`; `bounced` when it connects through PgBouncer in transaction pooling.
    pub(crate) fn new(pool: PgPool, bounced: bool) -> Self {
        Self { pool, bounced }
    }

    /// The pool.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether statements run in a transaction each (behind PgBouncer).
    pub(crate) fn bounced(&self) -> bool {
        self.bounced
    }

    /// Start a transaction on a pooled connection (behind PgBouncer, with `DEALLOCATE ALL`).
    pub(crate) async fn begin(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        if self.bounced { self.pool.begin_with(BOUNCED_BEGIN).await } else { self.pool.begin().await }
    }

    /// A transaction of its own for one statement, behind PgBouncer.
    async fn begin_bounced(pool: PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
        pool.begin_with(BOUNCED_BEGIN).await
    }
}

/// End a statement's own transaction: commit when the statement succeeded, roll back (and wait
/// for the rollback) when it failed. The statement's error is the one reported.
async fn end<T>(tx: Transaction<'static, Postgres>, outcome: sqlx::Result<T>) -> sqlx::Result<T> {
    match outcome {
        Ok(value) => tx.commit().await.map(|()| value),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

impl fmt::Debug for PoolExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolExec").field("pool_size", &self.pool.size()).field("bounced", &self.bounced).finish()
    }
}

impl<'c> Executor<'c> for &'c PoolExec {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, sqlx::Result<Either<PgQueryResult, PgRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.bounced {
            return self.pool.fetch_many(query);
        }
        // Collected inside the transaction: the rows are all read before it commits.
        let pool = self.pool.clone();
        let rows = async move {
            let mut tx = PoolExec::begin_bounced(pool).await?;
            let outcome = tx.fetch_many(query).try_collect().await;
            end(tx, outcome).await
        };
        stream::once(rows).map_ok(|rows: Vec<_>| stream::iter(rows.into_iter().map(Ok))).try_flatten().boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, sqlx::Result<Option<PgRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.bounced {
            return self.pool.fetch_optional(query);
        }
        let pool = self.pool.clone();
        async move {
            let mut tx = PoolExec::begin_bounced(pool).await?;
            let outcome = tx.fetch_optional(query).await;
            end(tx, outcome).await
        }
        .boxed()
    }

    fn prepare_with<'e>(self, sql: SqlStr, parameters: &'e [PgTypeInfo]) -> BoxFuture<'e, sqlx::Result<PgStatement>>
    where
        'c: 'e,
    {
        if !self.bounced {
            return self.pool.prepare_with(sql, parameters);
        }
        let pool = self.pool.clone();
        async move {
            let mut tx = PoolExec::begin_bounced(pool).await?;
            let outcome = tx.prepare_with(sql, parameters).await;
            end(tx, outcome).await
        }
        .boxed()
    }

    // Part of the trait because sqlx's `macros` feature turns on its `offline` feature.
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, sqlx::Result<Describe<Postgres>>>
    where
        'c: 'e,
    {
        if !self.bounced {
            return self.pool.describe(sql);
        }
        let pool = self.pool.clone();
        async move {
            let mut tx = PoolExec::begin_bounced(pool).await?;
            let outcome = tx.describe(sql).await;
            end(tx, outcome).await
        }
        .boxed()
    }
}
