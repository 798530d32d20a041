//! The writer: every table round-trips through its reader, a batch with one bad row is refused
//! whole (naming `rows[i].field`), re-sent rows replace the stored ones, empty batches are `Ok(0)`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use chrono::{Duration, Timelike};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{PostId, TeamId, UserId};
use crate::model::{FeatureType, Platform};
use crate::validate::rule;

use EngagementCounter::*;

/// One row of each table, written and read back: the snapshot field by field (times cut to
/// microseconds), the others through their rollups.
pub async fn analytics_rows_round_trip<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let user = UserId::new();
    let post = PostId::new();
    // 2026-11-02 10:15:30.123456789 UTC: the nanoseconds beyond the microsecond are cut.
    let t = at(2026, 11, 2, 10, 15) + Duration::nanoseconds(30_123_456_789);
    let cut = at(2026, 11, 2, 10, 15) + Duration::microseconds(30_123_456);
    let day = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, Tz::UTC);

    let mut snapshot = snap(
        team,
        post,
        Platform::LinkedIn,
        t - Duration::hours(2),
        t,
        &[(Likes, 1), (Comments, 2), (Shares, 3), (Views, 4), (Reach, 5), (Impressions, 6)],
    );
    snapshot.extra = serde_json::json!({ "saves": 12, "clicks": 0 });
    assert_eq!(s.append_engagement(vec![snapshot.clone()]).await.expect("append engagement"), 1);
    let read = snapshots(s, team, period(at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0)), None).await;
    let mut expected = snapshot.clone();
    expected.time = cut;
    expected.published_at = cut - Duration::hours(2);
    assert_eq!(read, vec![expected]);
    assert_eq!(read[0].time.nanosecond(), 123_456_000);

    let mut event = Event::new(team, "post_published", t);
    event.user_id = Some(user);
    event.platform = Some(Platform::Instagram);
    event.event_data = serde_json::json!({ "post": post.to_string() });
    event.session_id = Some("session-1".to_owned());
    event.ip_address = Some("203.0.113.7".parse().expect("an address"));
    event.user_agent = Some("ClientNest/1.0".to_owned());
    assert_eq!(s.append_events(vec![event]).await.expect("append events"), 1);
    let counts = s.event_counts(day).await.expect("event counts");
    assert_eq!(
        counts,
        vec![EventCount {
            bucket: at(2026, 11, 2, 0, 0),
            event_type: "post_published".to_owned(),
            platform: Some(Platform::Instagram),
            count: 1,
        }]
    );
    let users = s.distinct_users(day).await.expect("distinct users");
    assert_eq!(users, vec![DistinctUsers { bucket: at(2026, 11, 2, 0, 0), users: 1 }]);

    let mut metric = Metric::new(team, "followers", 1234.5, t);
    metric.dimensions = serde_json::json!({ "platform": "instagram" });
    metric.tags = vec!["organic".to_owned()];
    metric.user_id = Some(user);
    assert_eq!(s.append_metrics(vec![metric]).await.expect("append metrics"), 1);
    let query = MetricQuery { metric_name: "followers".to_owned(), dimensions: serde_json::json!({}) };
    let buckets = s.metric_rollup(day, query).await.expect("metric rollup");
    assert_eq!(
        buckets,
        vec![MetricBucket {
            bucket: at(2026, 11, 2, 0, 0),
            samples: 1,
            min: 1234.5,
            max: 1234.5,
            sum: 1234.5,
            last: 1234.5
        }]
    );

    let hour = random_hour();
    let service = unique("api");
    // 1.5007 ms is stored as 1500 whole microseconds; a 503 counts one error.
    let mut request = Performance::new(&service, "GET /posts", hour, StdDuration::from_nanos(1_500_700), 503);
    request.memory_usage = Some(64 << 20);
    request.cpu_usage = Some(12.5);
    assert_eq!(s.append_performance(vec![request]).await.expect("append performance"), 1);
    let perf = s
        .service_performance(PerformanceQuery {
            range: period(hour, hour + Duration::hours(1)),
            bucket: Bucket::Hour,
            service: Some(service.clone()),
        })
        .await
        .expect("service performance");
    assert_eq!(
        perf,
        vec![PerformanceBucket {
            bucket: hour,
            service_name: service,
            endpoint: "GET /posts".to_owned(),
            requests: 1,
            errors: 1,
            p50_us: 1500.0,
            p95_us: 1500.0,
            p99_us: 1500.0,
        }]
    );

    let ai = AiMetric {
        id: uuid::Uuid::now_v7(),
        time: t,
        user_id: user,
        team_id: team,
        feature_type: FeatureType::SentimentAnalysis,
        tokens_used: 321,
        cost: Decimal::new(123, 4),
        model_used: "gpt-4o-mini".to_owned(),
        response_time: StdDuration::from_micros(250_000),
        success_rate: 1.0,
    };
    assert_eq!(s.append_ai_metrics(vec![ai]).await.expect("append ai metrics"), 1);
    let ai_read = s.ai_rollup(day).await.expect("ai rollup");
    assert_eq!(
        ai_read,
        vec![AiBucket {
            bucket: at(2026, 11, 2, 0, 0),
            feature_type: FeatureType::SentimentAnalysis,
            model_used: "gpt-4o-mini".to_owned(),
            requests: 1,
            tokens: 321,
            cost: Decimal::new(123, 4),
            success_rate: 1.0,
            mean_response_us: 250_000.0,
        }]
    );

    let mut cost = Cost::new(team, "ai", Decimal::new(42, 1), "USD", "2026-11", t);
    cost.user_id = Some(user);
    assert_eq!(s.append_costs(vec![cost]).await.expect("append costs"), 1);
    let totals = s.cost_totals(team, period(at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0))).await.expect("cost totals");
    assert_eq!(
        totals,
        vec![CostTotal {
            billing_period: "2026-11".to_owned(),
            service_type: "ai".to_owned(),
            currency: "USD".to_owned(),
            amount: Decimal::new(42, 1),
            entries: 1,
        }]
    );
}

/// A batch holding one bad row is refused whole, naming `rows[i].field`, and nothing of it is
/// stored: negative likes, a NaN metric, status 42, a bad currency, an empty event type, a NUL
/// in JSON, zero tokens.
pub async fn analytics_bad_row_refuses_batch<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let t = at(2026, 11, 2, 12, 0);
    let day = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, Tz::UTC);

    let good = snap(team, post, Platform::Instagram, t, t, &[(Likes, 3)]);
    let bad = snap(team, post, Platform::Instagram, t, t + Duration::minutes(5), &[(Likes, -1)]);
    invalid(s.append_engagement(vec![good.clone(), bad]).await, "rows[1].counts", rule::RANGE);
    let mut bad_extra = good.clone();
    bad_extra.extra = serde_json::json!({ "saves": -2 });
    invalid(s.append_engagement(vec![bad_extra, good.clone()]).await, "rows[0].extra", rule::FORMAT);
    assert!(snapshots(s, team, all_time(), None).await.is_empty(), "no snapshot stored");

    let metric = Metric::new(team, "followers", 10.0, t);
    let nan = Metric::new(team, "followers", f64::NAN, t + Duration::minutes(1));
    invalid(s.append_metrics(vec![metric.clone(), nan]).await, "rows[1].metric_value", rule::RANGE);
    let infinite = Metric::new(team, "followers", f64::INFINITY, t + Duration::minutes(2));
    invalid(s.append_metrics(vec![infinite, metric]).await, "rows[0].metric_value", rule::RANGE);
    let query = MetricQuery { metric_name: "followers".to_owned(), dimensions: serde_json::json!({}) };
    assert!(s.metric_rollup(day, query).await.expect("metric rollup").is_empty(), "no metric stored");

    let hour = random_hour();
    let service = unique("api");
    let ok = Performance::new(&service, "GET /", hour, StdDuration::from_millis(5), 200);
    let odd = Performance::new(&service, "GET /", hour, StdDuration::from_millis(5), 42);
    invalid(s.append_performance(vec![ok.clone(), odd]).await, "rows[1].status_code", rule::RANGE);
    let slow = Performance::new(&service, "GET /", hour, StdDuration::from_secs(86_401), 200);
    invalid(s.append_performance(vec![ok, slow]).await, "rows[1].response_time", rule::RANGE);
    let perf = s
        .service_performance(PerformanceQuery {
            range: period(hour, hour + Duration::hours(1)),
            bucket: Bucket::Hour,
            service: Some(service),
        })
        .await
        .expect("performance");
    assert!(perf.is_empty(), "no request stored");

    let cost = Cost::new(team, "ai", Decimal::ONE, "USD", "2026-11", t);
    let euro = Cost::new(team, "ai", Decimal::ONE, "EURO", "2026-11", t);
    invalid(s.append_costs(vec![cost.clone(), euro]).await, "rows[1].currency", rule::CURRENCY);
    let negative = Cost::new(team, "ai", Decimal::new(-1, 2), "USD", "2026-11", t);
    invalid(s.append_costs(vec![negative, cost]).await, "rows[0].cost_amount", rule::RANGE);
    assert!(s.cost_totals(team, all_time()).await.expect("costs").is_empty(), "no cost stored");

    let event = Event::new(team, "login", t);
    let blank = Event::new(team, "", t);
    invalid(s.append_events(vec![event.clone(), blank]).await, "rows[1].event_type", rule::REQUIRED);
    let mut nul = Event::new(team, "login", t);
    nul.event_data = serde_json::json!({ "note": "a\u{0}b" });
    invalid(s.append_events(vec![event.clone(), event.clone(), nul]).await, "rows[2].event_data", rule::NUL_BYTE);
    let mut not_object = Event::new(team, "login", t);
    not_object.event_data = serde_json::json!([1, 2]);
    invalid(s.append_events(vec![not_object]).await, "rows[0].event_data", rule::FORMAT);
    let mut ancient = Event::new(team, "login", t);
    ancient.time = at(1899, 12, 31, 23, 0);
    invalid(s.append_events(vec![event, ancient]).await, "rows[1].time", rule::TIME_RANGE);
    assert!(s.event_counts(day).await.expect("events").is_empty(), "no event stored");

    let ai = |tokens: i32| AiMetric {
        id: uuid::Uuid::now_v7(),
        time: t,
        user_id: UserId::new(),
        team_id: team,
        feature_type: FeatureType::ContentGeneration,
        tokens_used: tokens,
        cost: Decimal::ZERO,
        model_used: "gpt-4o".to_owned(),
        response_time: StdDuration::from_millis(10),
        success_rate: 1.0,
    };
    invalid(s.append_ai_metrics(vec![ai(5), ai(0)]).await, "rows[1].tokens_used", rule::RANGE);
    let mut rate = ai(5);
    rate.success_rate = 1.5;
    invalid(s.append_ai_metrics(vec![rate]).await, "rows[0].success_rate", rule::RANGE);
    assert!(s.ai_rollup(day).await.expect("ai").is_empty(), "no ai metric stored");
}

/// A re-sent row replaces the stored one: a snapshot with the same (post, platform, time) and
/// new counts, a metric sample of the same series and instant, an event with the same id; in
/// one batch the later row wins. Empty batches are `Ok(0)`.
pub async fn analytics_resent_rows_replace<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let t = at(2026, 11, 2, 12, 0);
    let day = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, Tz::UTC);

    let first = snap(team, post, Platform::Instagram, t, t, &[(Likes, 3), (Views, 30)]);
    s.append_engagement(vec![first]).await.expect("first snapshot");
    let corrected = snap(team, post, Platform::Instagram, t, t, &[(Likes, 4)]);
    assert_eq!(s.append_engagement(vec![corrected.clone()]).await.expect("re-sent snapshot"), 1);
    assert_eq!(snapshots(s, team, all_time(), None).await, vec![corrected]);

    let later = t + Duration::hours(1);
    let a = snap(team, post, Platform::Instagram, t, later, &[(Likes, 7)]);
    let b = snap(team, post, Platform::Instagram, t, later, &[(Likes, 9), (Shares, 1)]);
    assert_eq!(s.append_engagement(vec![a, b.clone()]).await.expect("two rows, one key"), 2);
    let read = snapshots(s, team, all_time(), Some(post)).await;
    assert_eq!(read.len(), 2);
    assert_eq!(read[1], b, "the later row of the batch wins");

    let mut m1 = Metric::new(team, "followers", 10.0, t);
    m1.dimensions = serde_json::json!({ "platform": "instagram", "account": "a1" });
    let mut m2 = Metric::new(team, "followers", 12.0, t);
    m2.dimensions = serde_json::json!({ "account": "a1", "platform": "instagram" });
    s.append_metrics(vec![m1]).await.expect("first sample");
    s.append_metrics(vec![m2]).await.expect("corrected sample, keys in another order");
    let mut other_series = Metric::new(team, "followers", 5.0, t);
    other_series.dimensions = serde_json::json!({ "account": "a2", "platform": "instagram" });
    s.append_metrics(vec![other_series]).await.expect("another series at the same instant");
    let query = MetricQuery { metric_name: "followers".to_owned(), dimensions: serde_json::json!({}) };
    let m = s.metric_rollup(day, query).await.expect("metric rollup");
    assert_eq!(
        m,
        vec![MetricBucket { bucket: at(2026, 11, 2, 0, 0), samples: 2, min: 5.0, max: 12.0, sum: 17.0, last: 12.0 }]
    );

    let event = Event::new(team, "login", t);
    let mut same = event.clone();
    same.event_type = "logout".to_owned();
    s.append_events(vec![event.clone(), event]).await.expect("an event sent twice");
    s.append_events(vec![same]).await.expect("the same event corrected");
    let counts = s.event_counts(day).await.expect("event counts");
    assert_eq!(
        counts,
        vec![EventCount { bucket: at(2026, 11, 2, 0, 0), event_type: "logout".to_owned(), platform: None, count: 1 }]
    );

    let cost = Cost::new(team, "ai", Decimal::ONE, "USD", "2026-11", t);
    let mut resent = cost.clone();
    resent.cost_amount = Decimal::new(25, 1);
    s.append_costs(vec![cost, resent]).await.expect("a cost and its correction");
    let totals = s.cost_totals(team, all_time()).await.expect("cost totals");
    assert_eq!((totals.len(), totals[0].amount, totals[0].entries), (1, Decimal::new(25, 1), 1));

    assert_eq!(s.append_events(Vec::new()).await.expect("no events"), 0);
    assert_eq!(s.append_metrics(Vec::new()).await.expect("no metrics"), 0);
    assert_eq!(s.append_performance(Vec::new()).await.expect("no requests"), 0);
    assert_eq!(s.append_engagement(Vec::new()).await.expect("no snapshots"), 0);
    assert_eq!(s.append_ai_metrics(Vec::new()).await.expect("no ai metrics"), 0);
    assert_eq!(s.append_costs(Vec::new()).await.expect("no costs"), 0);
}
