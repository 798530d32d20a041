//! Flavour detection, migrations (twice, concurrently) and the TimescaleDB catalog: chunk
//! intervals, real-time caggs, jobs, compression settings.

use clientnest_timescale::{Flavour, TimescaleConfig};
use futures::future::join_all;

use crate::support::{Server, store, unmigrated, with_config};

async fn applied(t: &crate::support::TestStore) -> Vec<(i32, String, String)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT version, name, flavour || ' ' || applied_at::text FROM \"{}\".clientnest_timescale_migrations ORDER BY version",
        t.schema
    )))
    .fetch_all(t.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn plain_postgres_is_detected_as_plain() {
    let Some(t) = unmigrated(Server::Plain, TimescaleConfig::new()).await else { return };
    // The plain server has the extension's files but does not preload the library.
    assert_eq!(t.store.flavour().await.unwrap(), Flavour::Plain);
    t.store.migrate().await.unwrap();
    assert_eq!(t.store.flavour().await.unwrap(), Flavour::Plain);
    t.drop().await;
}

#[tokio::test]
async fn timescaledb_is_detected_and_plain_can_be_forced_on_it() {
    let Some(t) = unmigrated(Server::Timescale, TimescaleConfig::new()).await else { return };
    assert_eq!(t.store.flavour().await.unwrap(), Flavour::TimescaleDb);
    t.drop().await;

    let Some(forced) = with_config(Server::Timescale, TimescaleConfig::new().with_flavour(Flavour::Plain)).await else {
        return;
    };
    assert_eq!(forced.store.flavour().await.unwrap(), Flavour::Plain);
    let hypertables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_schema = $1")
            .bind(&forced.schema)
            .fetch_one(forced.pool())
            .await
            .unwrap();
    assert_eq!(hypertables, 0, "a forced plain schema has ordinary tables");
    // A later store on the same schema reads the recorded flavour.
    let later = forced.twin(TimescaleConfig::new());
    assert_eq!(later.flavour().await.unwrap(), Flavour::Plain);
    later.migrate().await.unwrap();
    forced.drop().await;
}

#[tokio::test]
async fn forcing_timescaledb_on_plain_postgres_fails_and_creates_nothing() {
    let Some(t) = unmigrated(Server::Plain, TimescaleConfig::new().with_flavour(Flavour::TimescaleDb)).await else {
        return;
    };
    let err = t.store.migrate().await.unwrap_err();
    assert_eq!(err.store(), Some("timescaledb"), "{err:?}");
    let schemas: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&t.schema)
        .fetch_one(t.pool())
        .await
        .unwrap();
    assert_eq!(schemas, 0);
    t.drop().await;
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    for server in [Server::Plain, Server::Timescale] {
        let Some(t) = store(server).await else { continue };
        let first = applied(&t).await;
        assert_eq!(first.iter().map(|(v, ..)| *v).collect::<Vec<_>>(), [1, 2, 3, 4], "{server:?}");
        t.store.migrate().await.unwrap();
        assert_eq!(applied(&t).await, first, "{server:?}: nothing re-applied");
        t.drop().await;
    }
}

#[tokio::test]
async fn concurrent_migrations_apply_each_version_once() {
    for server in [Server::Plain, Server::Timescale] {
        let Some(t) = unmigrated(server, TimescaleConfig::new()).await else { continue };
        let stores: Vec<_> = (0..4).map(|_| t.twin(TimescaleConfig::new())).collect();
        let results = join_all(stores.iter().map(|s| s.migrate())).await;
        for r in results {
            r.unwrap_or_else(|e| panic!("{server:?}: {e:?}"));
        }
        assert_eq!(applied(&t).await.len(), 4, "{server:?}");
        t.drop().await;
    }
}

#[tokio::test]
async fn timescaledb_catalog_has_hypertables_caggs_jobs_and_compression() {
    let Some(t) = store(Server::Timescale).await else { return };
    let intervals: Vec<(String, String)> = sqlx::query_as(
        "SELECT hypertable_name::text, time_interval::text FROM timescaledb_information.dimensions
         WHERE hypertable_schema = $1 AND column_name = 'time' ORDER BY 1",
    )
    .bind(&t.schema)
    .fetch_all(t.pool())
    .await
    .unwrap();
    let expected: Vec<(String, String)> = [
        ("ai_metrics", "30 days"),
        ("costs", "90 days"),
        ("engagement", "7 days"),
        ("events", "7 days"),
        ("metrics", "7 days"),
        ("performance", "1 day"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(intervals, expected);

    let caggs: Vec<(String, bool)> = sqlx::query_as(
        "SELECT view_name::text, materialized_only FROM timescaledb_information.continuous_aggregates
         WHERE view_schema = $1 ORDER BY 1",
    )
    .bind(&t.schema)
    .fetch_all(t.pool())
    .await
    .unwrap();
    assert_eq!(caggs, [("ai_metrics_hourly".to_owned(), false), ("engagement_hourly".to_owned(), false)]);

    let jobs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT proc_name::text, count(*) FROM timescaledb_information.jobs
         WHERE hypertable_schema = $1 GROUP BY 1 ORDER BY 1",
    )
    .bind(&t.schema)
    .fetch_all(t.pool())
    .await
    .unwrap();
    assert_eq!(
        jobs,
        [
            ("policy_compression".to_owned(), 6),
            ("policy_refresh_continuous_aggregate".to_owned(), 2),
            ("policy_retention".to_owned(), 6)
        ]
    );
    // The refresh policies leave the current hour out.
    let end_offsets: Vec<String> = sqlx::query_scalar(
        "SELECT config->>'end_offset' FROM timescaledb_information.jobs
         WHERE hypertable_schema = $1 AND proc_name = 'policy_refresh_continuous_aggregate'",
    )
    .bind(&t.schema)
    .fetch_all(t.pool())
    .await
    .unwrap();
    assert_eq!(end_offsets, ["01:00:00", "01:00:00"]);

    let segmentby: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, s.segmentby FROM timescaledb_information.hypertable_columnstore_settings s
         JOIN pg_class c ON c.oid = s.hypertable JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1",
    )
    .bind(&t.schema)
    .fetch_all(t.pool())
    .await
    .unwrap();
    let by_table = |table: &str| -> Vec<String> {
        let (_, cols) = segmentby.iter().find(|(h, _)| h == table).unwrap_or_else(|| panic!("{table}: {segmentby:?}"));
        let mut cols: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).collect();
        cols.sort();
        cols
    };
    for table in ["events", "metrics", "engagement", "ai_metrics", "costs"] {
        assert_eq!(by_table(table), ["team_id"], "{table}: {segmentby:?}");
    }
    assert_eq!(by_table("performance"), ["endpoint", "service_name"], "{segmentby:?}");
    t.drop().await;
}
