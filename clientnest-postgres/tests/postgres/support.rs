//! Test support: every test gets a database of its own, copied from the template of this
//! crate's migrations (migrated once per run, see `clientnest_testkit::pg`), with a small pool
//! whose connections use the migrated schema, and a store on a manual clock. The database is
//! dropped when the store's pool goes.

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_postgres::PgStore;
use clientnest_testkit::pg::{PgTemplate, TestDatabase};
use clientnest_testkit::services;
use sqlx::PgPool;
use tokio::sync::OnceCell;

pub(crate) use clientnest_testkit::fixtures::keys;

/// The schema the migrations run in: not `public`, so a test of the search path sees it is
/// honoured rather than defaulted.
const SCHEMA: &str = "clientnest_test";

/// A test's database and a store on it.
pub(crate) struct TestDb {
    /// The store, on `clock`.
    pub(crate) store: PgStore,
    /// The store's clock.
    pub(crate) clock: ManualClock,
    /// The schema holding the tables (the pool's search path).
    pub(crate) schema: String,
    database: TestDatabase,
}

impl TestDb {
    /// A fresh database with a pool of at most `max` connections; `None` to skip.
    pub(crate) async fn with_pool_size(max: u32) -> Option<TestDb> {
        let template = template().await?;
        let database = template.database(max).await.expect("copy the template database");
        let clock = ManualClock::starting_now();
        let store = PgStore::from_pool(database.pool().clone(), keys()).with_clock(Arc::new(clock.clone()));
        Some(TestDb { store, clock, schema: database.schema().to_owned(), database })
    }

    /// A fresh database with the default test pool (5 connections).
    pub(crate) async fn new() -> Option<TestDb> {
        Self::with_pool_size(5).await
    }

    /// The store's pool, for raw SQL.
    pub(crate) fn pool(&self) -> &PgPool {
        self.store.pool()
    }

    /// The test's database: cloning it keeps the database (its pool) alive.
    pub(crate) fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// The URL of this test's database, for stores built from a `PgConfig` (with the search
    /// path set to `schema`).
    pub(crate) fn url(&self) -> &str {
        self.database.url()
    }
}

/// The template of this crate's migrations on the server of `DATABASE_URL`, prepared once per
/// test process; `None` (said loudly) when `DATABASE_URL` is not set.
async fn template() -> Option<&'static PgTemplate> {
    static TEMPLATE: OnceCell<PgTemplate> = OnceCell::const_new();
    let url = services::database_url()?;
    let template = TEMPLATE
        .get_or_init(|| async {
            let template = PgTemplate::prepare(&url, &clientnest_postgres::MIGRATOR, SCHEMA).await;
            // Commits need not wait for the WAL flush: what other sessions see is the same, and
            // the suite's many small transactions (the crash test's 20,000 schedules) no longer
            // queue on fsync.
            template.expect("prepare the template database").with_synchronous_commit(false)
        })
        .await;
    Some(template)
}
