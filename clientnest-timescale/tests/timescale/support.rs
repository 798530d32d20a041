//! Test support: a store on a fresh schema of one server, dropped by [`TestStore::drop`].

use chrono::{DateTime, Utc};
use clientnest_testkit::services;
use clientnest_timescale::{Flavour, TimescaleConfig, TimescaleStore};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Which server a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// Plain PostgreSQL (`DATABASE_URL`).
    Plain,
    /// TimescaleDB (`TIMESCALE_URL`).
    Timescale,
}

impl Server {
    fn url(self) -> Option<String> {
        match self {
            Server::Plain => services::database_url(),
            Server::Timescale => services::timescale_url(),
        }
    }
}

/// A store on a fresh schema.
pub(crate) struct TestStore {
    pub(crate) store: TimescaleStore,
    pub(crate) schema: String,
}

impl TestStore {
    /// The pool, for raw SQL.
    pub(crate) fn pool(&self) -> &PgPool {
        self.store.pool()
    }

    /// Another store on the same schema and pool, for concurrency tests.
    pub(crate) fn twin(&self, config: TimescaleConfig) -> TimescaleStore {
        TimescaleStore::from_pool(self.pool().clone(), config.with_schema(self.schema.clone()).unwrap())
    }

    /// Drop the schema and everything in it.
    pub(crate) async fn drop(self) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema)))
            .execute(self.pool())
            .await
            .unwrap_or_else(|e| panic!("drop schema {}: {e}", self.schema));
        self.store.close().await;
    }
}

/// A fresh schema name.
pub(crate) fn schema_name() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// A pool on `server`, or `None` (said loudly) when it is not configured.
pub(crate) async fn pool(server: Server) -> Option<PgPool> {
    let url = server.url()?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {server:?}: {e}"));
    Some(pool)
}

/// A store with `config` on a fresh schema of `server`, not migrated.
pub(crate) async fn unmigrated(server: Server, config: TimescaleConfig) -> Option<TestStore> {
    let pool = pool(server).await?;
    let schema = schema_name();
    let store = TimescaleStore::from_pool(pool, config.with_schema(schema.clone()).unwrap());
    Some(TestStore { store, schema })
}

/// A migrated store with `config` on a fresh schema of `server`.
pub(crate) async fn with_config(server: Server, config: TimescaleConfig) -> Option<TestStore> {
    let t = unmigrated(server, config).await?;
    t.store.migrate().await.unwrap_or_else(|e| panic!("migrate on {server:?}: {e:?}"));
    Some(t)
}

/// A migrated store of the server's own flavour.
pub(crate) async fn store(server: Server) -> Option<TestStore> {
    with_config(server, TimescaleConfig::new()).await
}

/// Every store a flavour-independent test runs on: plain PostgreSQL, TimescaleDB, and Plain
/// forced on the TimescaleDB server. Servers not configured are skipped (loudly).
pub(crate) async fn every_store() -> Vec<(String, TestStore)> {
    let mut out = Vec::new();
    if let Some(t) = store(Server::Plain).await {
        out.push(("plain".to_owned(), t));
    }
    if let Some(t) = store(Server::Timescale).await {
        assert_eq!(t.store.flavour().await.unwrap(), Flavour::TimescaleDb);
        out.push(("timescaledb".to_owned(), t));
    }
    if let Some(t) = with_config(Server::Timescale, TimescaleConfig::new().with_flavour(Flavour::Plain)).await {
        out.push(("plain on the timescaledb server".to_owned(), t));
    }
    out
}

/// An RFC 3339 time.
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
}
