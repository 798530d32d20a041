//! The analytics conformance suite of core on plain PostgreSQL (`DATABASE_URL`) and on
//! TimescaleDB (`TIMESCALE_URL`), each test on a fresh schema; and the agreement of `ai_usage`
//! (in memory) with `ai_metrics` (here).
//!
//! The macros' tests cannot drop their schema at the end, so each factory first drops the
//! conformance schemas of earlier runs (named `c_<unix seconds>_<random>`, older than ten
//! minutes).

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryStore;
use clientnest_timescale::{TimescaleConfig, TimescaleStore};
use sqlx::PgPool;

use crate::support::{Server, pool};

/// Drop conformance schemas older than ten minutes (left by earlier runs).
async fn drop_stale_schemas(pool: &PgPool) {
    let now = chrono::Utc::now().timestamp();
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace
         WHERE nspname ~ '^c_[0-9]+_[0-9a-f]+$' AND split_part(nspname, '_', 2)::bigint < $1",
    )
    .bind(now - 600)
    .fetch_all(pool)
    .await
    .unwrap();
    for schema in stale {
        // Another factory may be dropping it too.
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
            .execute(pool)
            .await;
    }
}

/// A migrated store on a fresh schema of `server`, or `None` (said loudly) to skip.
async fn migrated(server: Server) -> Option<TimescaleStore> {
    let pool = pool(server).await?;
    drop_stale_schemas(&pool).await;
    let schema = format!("c_{}_{}", chrono::Utc::now().timestamp(), &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let store = TimescaleStore::from_pool(pool, TimescaleConfig::new().with_schema(schema).unwrap());
    store.migrate().await.unwrap_or_else(|e| panic!("migrate on {server:?}: {e:?}"));
    Some(store)
}

async fn harness(server: Server) -> Option<Harness<TimescaleStore>> {
    Some(Harness { store: Arc::new(migrated(server).await?), time: TimeControl::Real })
}

mod plain {
    use super::*;

    async fn harness() -> Option<Harness<TimescaleStore>> {
        super::harness(Server::Plain).await
    }

    clientnest_core::analytics_conformance!(harness);
}

mod timescaledb {
    use super::*;

    async fn harness() -> Option<Harness<TimescaleStore>> {
        super::harness(Server::Timescale).await
    }

    clientnest_core::analytics_conformance!(harness);
}

#[tokio::test]
async fn ai_usage_in_memory_and_ai_metrics_here_agree() {
    for server in [Server::Plain, Server::Timescale] {
        let Some(analytics) = migrated(server).await else { continue };
        let clock = ManualClock::starting_now();
        let store = MemoryStore::with_clock(Arc::new(clock.clone()));
        let repos = Harness { store: Arc::new(store), time: TimeControl::Manual(clock) };
        clientnest_core::conformance::analytics::ai_usage_and_ai_metrics_agree(&repos, &analytics).await;
    }
}
