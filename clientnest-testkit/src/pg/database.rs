//! One test's database: a copy of the template, a pool on it, dropped with the pool.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgPool};

use super::names::test_database_name;
use super::template::{PgTemplate, drop_database};
use super::url::with_database;

/// How long a test waits for a connection of its pool (a hang guard under heavy load).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// A test's own database, copied from a [`PgTemplate`], and a pool on it. Cloning the pool is
/// fine: the database is dropped when the last handle to the pool goes, not when this value
/// does, so a store built on [`pool`](Self::pool) may outlive it.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pool: PgPool,
    name: String,
    url: String,
    schema: String,
}

impl TestDatabase {
    /// Copy `template` and open a pool of at most `max_connections` on the copy (one connection
    /// opened at once, each setting its `search_path` when it connects).
    pub(crate) async fn create(template: &PgTemplate, max_connections: u32) -> Result<TestDatabase, sqlx::Error> {
        let name = test_database_name();
        let mut admin = template.admin().connect().await?;
        let created = admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {} STRATEGY WAL_LOG", template.name())))
            .await;
        let _ = admin.close().await;
        created?;
        // From here on the guard drops the database, whatever happens next.
        let guard = Arc::new(DropGuard { admin_url: template.admin_url().to_owned(), name: name.clone() });
        let sync = if template.synchronous_commit() { "on" } else { "off" };
        let options = template.admin().clone().database(&name).options([("synchronous_commit", sync)]);
        let search_path = format!("SET search_path TO {}", template.schema());
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                // The pool's options own the guard: it goes with the pool's last handle.
                let _guard = Arc::clone(&guard);
                let sql = search_path.clone();
                Box::pin(async move {
                    conn.execute(AssertSqlSafe(sql)).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let url = with_database(template.admin_url(), &name)
            .ok_or_else(|| sqlx::Error::Configuration("the admin URL has no scheme".into()))?;
        Ok(TestDatabase { pool, name, url, schema: template.schema().to_owned() })
    }

    /// The pool on this database (its connections use [`schema`](Self::schema)).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's name (`cn_test_<unix seconds>_<uuid>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL of this database, for clients that connect on their own (set their search path
    /// to [`schema`](Self::schema)).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema holding the migrated tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }
}

/// Drops a test database when the last handle to its pool goes (best effort: what it misses,
/// the next run's sweep drops).
#[derive(Debug)]
struct DropGuard {
    admin_url: String,
    name: String,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: this may run inside a test's runtime,
        // which cannot block on a future, or after it has shut down.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let _ = drop_database(&mut conn, &name).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}
