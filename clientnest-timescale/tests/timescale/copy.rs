//! COPY ingest: hostile strings round-trip exactly, a bad row refuses the whole batch, a large
//! batch goes through in bounded COPY statements.

use std::time::Duration;

use chrono::Duration as Span;
use clientnest_core::Error;
use clientnest_core::analytics::{
    AnalyticsWriter, Bucket, EngagementCounter, EngagementReader, EngagementSnapshot, Event, Metric, Performance,
    PerformanceQuery, PerformanceReader,
};
use clientnest_core::ids::{PostId, TeamId, UserId};
use clientnest_core::model::{Period, Platform};
use clientnest_timescale::TimescaleConfig;
use futures::TryStreamExt;
use serde_json::json;

use crate::support::{Server, at, every_store, with_config};

/// Strings that would break a naive COPY stream or array literal.
fn hostile() -> Vec<&'static str> {
    vec![
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "back\\slash",
        "\\N",
        "\\.",
        "ends with backslash\\",
        "quote \" and 'single'",
        "{braces},commas",
        "NULL",
        "ünïcødé 🚀 中文",
        "",
    ]
}

#[tokio::test]
async fn hostile_strings_round_trip_exactly() {
    for (name, t) in every_store().await {
        let team = TeamId::new();
        let time = at("2026-11-02T10:00:00.123456Z");
        // Free text travels in JSON (any string) and in one-line columns (no control chars).
        let data: serde_json::Map<String, serde_json::Value> =
            hostile().iter().enumerate().map(|(i, s)| (format!("k{i} {s}"), json!(s))).collect();
        let mut event = Event::new(team, "hostile \\N {x}, \"q\"", time);
        event.event_data = serde_json::Value::Object(data.clone());
        event.user_agent = Some("Mozilla/5.0 \\N \\t \"quoted\" {a,b} ünï 🚀 \\".to_owned());
        event.session_id = Some("\\.".to_owned());
        event.ip_address = Some("2001:db8::1".parse().unwrap());
        event.user_id = Some(UserId::new());
        event.platform = Some(Platform::TikTok);
        t.store.append_events(vec![event.clone()]).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));

        let mut metric = Metric::new(team, "tags \\ test", -1.5e-300, time);
        metric.tags = vec![
            "{a}".to_owned(),
            "b,c".to_owned(),
            "\"quoted\"".to_owned(),
            "back\\slash".to_owned(),
            "NULL".to_owned(),
            "\\N".to_owned(),
            "ünï 🚀".to_owned(),
        ];
        metric.dimensions = json!({"nested": {"tab": "a\tb", "nl": "c\nd"}, "list": ["\\N", null, 1.5]});
        t.store.append_metrics(vec![metric.clone()]).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));

        let row: (String, serde_json::Value, Option<String>, Option<String>, Option<String>, Option<String>) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT event_type, event_data, user_agent, session_id, host(ip_address), platform FROM \"{}\".events",
                t.schema
            )))
            .fetch_one(t.pool())
            .await
            .unwrap();
        assert_eq!(row.0, event.event_type, "{name}");
        assert_eq!(row.1, event.event_data, "{name}");
        assert_eq!(row.2, event.user_agent, "{name}");
        assert_eq!(row.3, event.session_id, "{name}");
        assert_eq!(row.4.as_deref(), Some("2001:db8::1"), "{name}");
        assert_eq!(row.5.as_deref(), Some("tiktok"), "{name}");

        let (name_back, value, dims, tags): (String, f64, serde_json::Value, Vec<String>) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT metric_name, metric_value, dimensions, tags FROM \"{}\".metrics",
                t.schema
            )))
            .fetch_one(t.pool())
            .await
            .unwrap();
        assert_eq!(name_back, metric.metric_name, "{name}");
        assert_eq!(value.to_bits(), metric.metric_value.to_bits(), "{name}");
        assert_eq!(dims, metric.dimensions, "{name}");
        assert_eq!(tags, metric.tags, "{name}");

        // Engagement's extra counters come back through the export stream.
        let post = PostId::new();
        let mut snap =
            EngagementSnapshot::new(team, post, Platform::YouTube, time, time).with(EngagementCounter::Views, 7);
        snap.extra = json!({"saves \\N {x},\"y\"": 3, "ünï 🚀": 0});
        t.store.append_engagement(vec![snap.clone()]).await.unwrap();
        let range = Period::new(time, time + Span::seconds(1)).unwrap();
        let back: Vec<EngagementSnapshot> =
            t.store.engagement_snapshots(team, range, Some(post)).try_collect().await.unwrap();
        assert_eq!(back, [snap], "{name}");
        t.drop().await;
    }
}

async fn count(t: &crate::support::TestStore, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM \"{}\".{table}", t.schema)))
        .fetch_one(t.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bad_row_refuses_the_batch_and_writes_nothing() {
    for (name, t) in every_store().await {
        let team = TeamId::new();
        let time = at("2026-11-02T10:00:00Z");
        let good = Performance::new("api", "GET /posts", time, Duration::from_millis(5), 200);
        let bad = Performance::new("api", "GET /posts", time, Duration::from_millis(5), 42);
        let err = t.store.append_performance(vec![good.clone(), good.clone(), bad]).await.unwrap_err();
        let Error::Validation(v) = &err else { panic!("{name}: {err:?}") };
        assert!(v.0.iter().any(|f| f.field == "rows[2].status_code"), "{name}: {v:?}");
        assert_eq!(count(&t, "performance").await, 0, "{name}");

        let post = PostId::new();
        let snap = |likes| {
            EngagementSnapshot::new(team, post, Platform::Facebook, time, time).with(EngagementCounter::Likes, likes)
        };
        let err = t.store.append_engagement(vec![snap(1), snap(-1)]).await.unwrap_err();
        assert!(matches!(&err, Error::Validation(v) if v.0[0].field.starts_with("rows[1].counts")), "{name}: {err:?}");
        let mut nul = Event::new(team, "x", time);
        nul.event_data = json!({"a": "nul \u{0}"});
        assert!(matches!(
            t.store.append_events(vec![Event::new(team, "ok", time), nul]).await,
            Err(Error::Validation(_))
        ));
        assert_eq!(count(&t, "engagement").await + count(&t, "events").await, 0, "{name}");
        assert_eq!(t.store.append_events(Vec::new()).await.unwrap(), 0);
        t.drop().await;
    }
}

#[tokio::test]
async fn a_large_batch_goes_through_in_bounded_copy_statements() {
    for server in [Server::Plain, Server::Timescale] {
        let Some(t) = with_config(server, TimescaleConfig::new().with_copy_chunk_rows(4_096)).await else { continue };
        let start = at("2026-11-01T00:00:00Z");
        let rows: Vec<Performance> = (0..50_000i64)
            .map(|i| {
                Performance::new(
                    if i % 2 == 0 { "api" } else { "worker" },
                    format!("GET /r/{}", i % 10),
                    start + Span::seconds(i * 3),
                    Duration::from_micros(u64::try_from(i % 1000).unwrap() + 1),
                    if i % 100 == 0 { 503 } else { 200 },
                )
            })
            .collect();
        assert_eq!(t.store.append_performance(rows).await.unwrap(), 50_000, "{server:?}");
        assert_eq!(count(&t, "performance").await, 50_000, "{server:?}");
        let range = Period::new(start, start + Span::seconds(150_000)).unwrap();
        let buckets =
            t.store.service_performance(PerformanceQuery { range, bucket: Bucket::Hour, service: None }).await.unwrap();
        assert_eq!(buckets.iter().map(|b| b.requests).sum::<u64>(), 50_000);
        assert_eq!(buckets.iter().map(|b| b.errors).sum::<i64>(), 500);
        t.drop().await;
    }
}
