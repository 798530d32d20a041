//! Open metric series: count, min, max, sum and last value per bucket, for samples whose
//! dimensions contain the query's JSON object (PostgreSQL `@>`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::TeamId;

/// Containment on plain keys, nested objects and arrays; `last` is the latest sample's value,
/// the largest on a tie; other series names and teams unseen; empty buckets absent.
pub async fn metrics_rollup_with_dimension_filter<S: AnalyticsWriter + MetricReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let sample = |name: &str, value: f64, time: DateTime<Utc>, dimensions: serde_json::Value| {
        let mut m = Metric::new(team, name, value, time);
        m.dimensions = dimensions;
        m
    };
    let pro = json!({ "platform": "instagram", "account": { "id": "a1", "tier": "pro" }, "labels": ["x", "y"] });
    s.append_metrics(vec![
        sample("followers", 100.0, at(2026, 11, 2, 10, 5), pro.clone()),
        sample("followers", 90.0, at(2026, 11, 2, 10, 20), pro.clone()),
        sample(
            "followers",
            120.0,
            at(2026, 11, 2, 10, 40),
            json!({ "platform": "instagram", "account": { "id": "a2" } }),
        ),
        sample(
            "followers",
            110.0,
            at(2026, 11, 2, 10, 40),
            json!({ "platform": "instagram", "account": { "id": "a3" } }),
        ),
        sample("followers", 5.0, at(2026, 11, 2, 10, 30), json!({ "platform": "facebook" })),
        sample("followers", 130.0, at(2026, 11, 2, 11, 10), pro.clone()),
        sample("following", 999.0, at(2026, 11, 2, 10, 50), pro.clone()),
        sample("followers", 1.0, at(2026, 11, 2, 13, 0), pro.clone()),
    ])
    .await
    .expect("append");
    let mut stranger = Metric::new(TeamId::new(), "followers", 5000.0, at(2026, 11, 2, 10, 45));
    stranger.dimensions = pro;
    s.append_metrics(vec![stranger]).await.expect("another team");

    let r = rollup(team, at(2026, 11, 2, 10, 0), at(2026, 11, 2, 12, 0), Bucket::Hour, Tz::UTC);
    let read = |dimensions: serde_json::Value| {
        let query = MetricQuery { metric_name: "followers".to_owned(), dimensions };
        async move { s.metric_rollup(r, query).await.expect("metric rollup") }
    };
    let b = |hour: u32, samples: u64, min: f64, max: f64, sum: f64, last: f64| MetricBucket {
        bucket: at(2026, 11, 2, hour, 0),
        samples,
        min,
        max,
        sum,
        last,
    };
    let eleven = b(11, 1, 130.0, 130.0, 130.0, 130.0);
    assert_eq!(read(json!({})).await, vec![b(10, 5, 5.0, 120.0, 425.0, 120.0), eleven.clone()]);
    assert_eq!(
        read(json!({ "platform": "instagram" })).await,
        vec![b(10, 4, 90.0, 120.0, 420.0, 120.0), eleven.clone()]
    );
    let pro_only = vec![b(10, 2, 90.0, 100.0, 190.0, 90.0), eleven.clone()];
    assert_eq!(read(json!({ "account": { "tier": "pro" } })).await, pro_only);
    assert_eq!(read(json!({ "labels": ["y"] })).await, pro_only);
    assert_eq!(read(json!({ "platform": "instagram", "labels": ["y", "x"] })).await, pro_only);
    assert_eq!(read(json!({ "account": { "id": "a2" } })).await, vec![b(10, 1, 120.0, 120.0, 120.0, 120.0)]);
    assert!(read(json!({ "platform": "tiktok" })).await.is_empty());
    assert!(read(json!({ "labels": ["z"] })).await.is_empty());
    assert!(read(json!({ "account": { "tier": "free" } })).await.is_empty());
    assert!(read(json!({ "absent": null })).await.is_empty());
}
