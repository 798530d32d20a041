//! Test support: a fresh schema per test on the server at `DATABASE_URL`, migrated, with a small
//! pool whose connections use it, a store on a manual clock, and clean-up when the store goes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clientnest_core::clock::ManualClock;
use clientnest_core::crypto::KeyRing;
use clientnest_postgres::PgStore;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// Schemas left behind by runs older than this are dropped when a run starts.
const STALE_AFTER_SECS: u64 = 3600;

/// The server's URL, or `None` (after saying so loudly) when tests should skip.
///
/// # Panics
///
/// When `DATABASE_URL` is absent and `CLIENTNEST_REQUIRE_SERVICES=1`.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CLIENTNEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("DATABASE_URL is not set but CLIENTNEST_REQUIRE_SERVICES=1: PostgreSQL is required");
            }
            eprintln!(
                "!!! DATABASE_URL is not set: SKIPPING this PostgreSQL test (set it, e.g. postgres://postgres@127.0.0.1:5432/test) !!!"
            );
            None
        }
    }
}

/// A key ring for tests (a fixed key, so failures are reproducible).
pub(crate) fn keys() -> KeyRing {
    KeyRing::new("test-key", [42u8; 32]).expect("a valid key id")
}

/// A migrated schema of one test and a store on it.
pub(crate) struct TestDb {
    /// The store, on `clock`.
    pub(crate) store: PgStore,
    /// The store's clock.
    pub(crate) clock: ManualClock,
    /// The schema's name.
    pub(crate) schema: String,
}

impl TestDb {
    /// A fresh schema, migrated, with a pool of at most `max` connections; `None` to skip.
    pub(crate) async fn with_pool_size(max: u32) -> Option<TestDb> {
        let url = database_url()?;
        sweep_stale_schemas(&url).await;
        let schema = format!("t_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&url).await.expect("connect to DATABASE_URL");
        admin.execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.expect("create the test schema");
        admin.close().await.ok();
        let pool = schema_pool(&url, &schema, max).await;
        clientnest_postgres::migrate(&pool).await.expect("migrations apply");
        let clock = ManualClock::starting_now();
        let store = PgStore::from_pool(pool, keys()).with_clock(Arc::new(clock.clone()));
        Some(TestDb { store, clock, schema })
    }

    /// A fresh schema with the default test pool (5 connections).
    pub(crate) async fn new() -> Option<TestDb> {
        Self::with_pool_size(5).await
    }

    /// The store's pool, for raw SQL.
    pub(crate) fn pool(&self) -> &PgPool {
        self.store.pool()
    }
}

/// A pool whose connections use `schema`, and which drops the schema when it is dropped.
async fn schema_pool(url: &str, schema: &str, max: u32) -> PgPool {
    let guard = Arc::new(SchemaGuard { url: url.to_owned(), schema: schema.to_owned() });
    let search_path = format!("SET search_path TO {schema}");
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(60))
        .after_connect(move |conn, _meta| {
            let _keep = Arc::clone(&guard);
            let sql = search_path.clone();
            Box::pin(async move {
                conn.execute(AssertSqlSafe(sql)).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .expect("connect a pool to DATABASE_URL")
}

/// Drops a test's schema when the last handle to its pool goes (best effort).
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let cleanup = std::thread::spawn(move || drop_schema(&url, &schema));
        cleanup.join().ok();
    }
}

/// `DROP SCHEMA ... CASCADE` on a connection of its own, from a runtime of its own.
fn drop_schema(url: &str, schema: &str) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    rt.block_on(async {
        if let Ok(mut conn) = PgConnection::connect(url).await {
            let _ = conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).await;
            let _ = conn.close().await;
        }
    });
}

/// Drop `t_<time>_...` schemas of runs that crashed long ago (once per test process).
async fn sweep_stale_schemas(url: &str) {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let Ok(mut conn) = PgConnection::connect(url).await else {
                return;
            };
            let names: Vec<String> =
                sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%\\_%'")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
            let cutoff = unix_now().saturating_sub(STALE_AFTER_SECS);
            for name in names {
                let created = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
                if created.is_some_and(|t| t < cutoff) {
                    let _ = conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).await;
                }
            }
            let _ = conn.close().await;
        })
        .await;
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
