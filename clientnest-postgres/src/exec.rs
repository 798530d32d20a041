//! [`PoolExec`]: what the repositories run their statements on, outside a transaction and in
//! one ([`PoolExec::begin`]): a connection of the store's own [`Conns`] per statement, or,
//! behind PgBouncer's transaction pooling, each statement in a transaction of its own.
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
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres, SqlStr};

use crate::conns::{Conns, Tx};

/// How every transaction starts behind PgBouncer's transaction pooling (see the module docs).
const BOUNCED_BEGIN: &str = "BEGIN; DEALLOCATE ALL";

/// A server's connections and how to run statements on them: plainly, or each in a
/// transaction of its own behind PgBouncer. Cheap to clone (clones share the connections).
/// `&PoolExec` is a sqlx [`Executor`], so a repository writes `.fetch_all(self.exec())` as it
/// would with a pool.
#[derive(Clone)]
pub(crate) struct PoolExec {
    conns: Conns,
    bounced: bool,
}

impl PoolExec {
    /// Run on connections opened through `pool` (see [`Conns`]); `bounced` when it connects
    /// through PgBouncer in transaction pooling.
    pub(crate) fn new(pool: PgPool, bounced: bool) -> Self {
        Self { conns: Conns::new(pool), bounced }
    }

    /// The same connections, run plainly or behind PgBouncer as `bounced` says.
    pub(crate) fn bouncing(&self, bounced: bool) -> Self {
        Self { conns: self.conns.clone(), bounced }
    }

    /// The sqlx pool the connections are opened through.
    pub(crate) fn pool(&self) -> &PgPool {
        self.conns.opener()
    }

    /// The connections.
    pub(crate) fn conns(&self) -> &Conns {
        &self.conns
    }

    /// Whether statements run in a transaction each (behind PgBouncer).
    pub(crate) fn bounced(&self) -> bool {
        self.bounced
    }

    /// Start a transaction (behind PgBouncer, with `DEALLOCATE ALL`).
    pub(crate) async fn begin(&self) -> sqlx::Result<Tx> {
        Tx::begin(self.conns.acquire().await?, if self.bounced { BOUNCED_BEGIN } else { "BEGIN" }).await
    }
}

/// End a statement's own transaction: commit when the statement succeeded, roll back (and wait
/// for the rollback) when it failed. The statement's error is the one reported.
async fn end<T>(tx: Tx, outcome: sqlx::Result<T>) -> sqlx::Result<T> {
    match outcome {
        Ok(value) => tx.commit().await.map(|()| value),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Run one statement's work on a connection of `exec`: given back after it (closed after a
/// transport error), or, behind PgBouncer, in a transaction of its own.
macro_rules! on_a_connection {
    ($exec:expr, |$conn:ident| $work:expr) => {{
        let exec = $exec.clone();
        async move {
            if exec.bounced {
                let mut tx = exec.begin().await?;
                let outcome = {
                    let $conn = &mut *tx;
                    $work.await
                };
                end(tx, outcome).await
            } else {
                let mut lease = exec.conns.acquire().await?;
                let outcome = {
                    let $conn = &mut *lease;
                    $work.await
                };
                lease.release(outcome.as_ref().err());
                outcome
            }
        }
    }};
}

impl PoolExec {
    /// Run `query` and hand its rows to `each` one by one as they arrive: a caller decodes a
    /// row while the next ones are still on their way, and no `Vec` of rows is kept. Once
    /// `each` fails, the remaining rows are read and dropped, so the connection ends the
    /// statement as usual and stays in use, and `each`'s first error is returned.
    pub(crate) async fn for_each_row<'q, E>(
        &self,
        query: E,
        mut each: impl FnMut(PgRow) -> sqlx::Result<()>,
    ) -> sqlx::Result<()>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| async move {
            let mut results = conn.fetch_many(query);
            let mut failed = None;
            while let Some(result) = results.try_next().await? {
                if let (Either::Right(row), None) = (result, &failed) {
                    failed = each(row).err();
                }
            }
            failed.map_or(Ok(()), Err)
        })
        .await
    }
}

impl fmt::Debug for PoolExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolExec").field("conns", &self.conns).field("bounced", &self.bounced).finish()
    }
}

impl<'c> Executor<'c> for &'c PoolExec {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, sqlx::Result<Either<PgQueryResult, PgRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Collected on the connection: every row is read before it is given back (or before
        // the statement's transaction commits).
        let rows = on_a_connection!(self, |conn| conn.fetch_many(query).try_collect::<Vec<_>>());
        stream::once(rows).map_ok(|rows| stream::iter(rows.into_iter().map(Ok))).try_flatten().boxed()
    }

    // The rows straight into one `Vec` on the connection (the trait's default would go through
    // `fetch_many`, collecting them twice).
    fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, sqlx::Result<Vec<PgRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| conn.fetch_all(query)).boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, sqlx::Result<Option<PgRow>>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        on_a_connection!(self, |conn| conn.fetch_optional(query)).boxed()
    }

    fn prepare_with<'e>(self, sql: SqlStr, parameters: &'e [PgTypeInfo]) -> BoxFuture<'e, sqlx::Result<PgStatement>>
    where
        'c: 'e,
    {
        on_a_connection!(self, |conn| conn.prepare_with(sql, parameters)).boxed()
    }

    // Part of the trait because sqlx's `macros` feature turns on its `offline` feature.
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, sqlx::Result<Describe<Postgres>>>
    where
        'c: 'e,
    {
        on_a_connection!(self, |conn| conn.describe(sql)).boxed()
    }
}
