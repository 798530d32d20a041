//! Upkeep and limits: retention (`drop_before`), refreshing rollups changes no read, late rows
//! show after a refresh, too many buckets are refused, extreme storable times work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{PostId, TeamId, UserId};
use crate::model::{FeatureType, Platform};
use crate::validate::rule;

use EngagementCounter::*;

fn ai(team: TeamId, time: DateTime<Utc>, tokens: i32) -> AiMetric {
    AiMetric {
        id: uuid::Uuid::now_v7(),
        time,
        user_id: UserId::new(),
        team_id: team,
        feature_type: FeatureType::ResponseGeneration,
        tokens_used: tokens,
        cost: Decimal::new(i64::from(tokens), 4),
        model_used: "gpt-4o".to_owned(),
        response_time: StdDuration::from_millis(5),
        success_rate: 1.0,
    }
}

/// One row of each table at `time` for `team` (performance under `service`).
async fn one_of_each<S: AnalyticsWriter + ?Sized>(
    s: &S,
    team: TeamId,
    post: PostId,
    service: &str,
    time: DateTime<Utc>,
) {
    s.append_events(vec![Event::new(team, "login", time)]).await.expect("event");
    s.append_metrics(vec![Metric::new(team, "followers", 1.0, time)]).await.expect("metric");
    s.append_performance(vec![Performance::new(service, "GET /", time, StdDuration::from_millis(1), 200)])
        .await
        .expect("performance");
    s.append_engagement(vec![snap(team, post, Platform::Instagram, time, time, &[(Likes, 1)])])
        .await
        .expect("snapshot");
    s.append_ai_metrics(vec![ai(team, time, 10)]).await.expect("ai");
    s.append_costs(vec![Cost::new(team, "ai", Decimal::ONE, "USD", "1900-01", time)]).await.expect("cost");
}

/// `drop_before(t)` deletes the rows with `time < t` from all six tables (a row at `t` stays),
/// reporting them (or 0 where the backend drops whole chunks). Runs on the first second of
/// 1900, before every other test's rows, so it drops nothing of theirs on a shared database.
pub async fn maintenance_drop_before_removes_old_rows<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let service = unique("retention");
    let old = at(1900, 1, 1, 0, 0);
    let cut = old + Duration::seconds(1);
    let kept = old + Duration::seconds(2);
    one_of_each(s, team, post, &service, old).await;
    one_of_each(s, team, post, &service, cut).await;
    one_of_each(s, team, post, &service, kept).await;

    let dropped = s.drop_before(cut).await.expect("drop before");
    assert!(dropped == 6 || dropped == 0, "six old rows dropped (or 0 reported by chunk drops), got {dropped}");

    let r = rollup(team, old, old + Duration::minutes(1), Bucket::Minute, Tz::UTC);
    let minute = old;
    assert_eq!(s.event_counts(r).await.expect("events")[0].count, 2);
    let metrics = s
        .metric_rollup(r, MetricQuery { metric_name: "followers".to_owned(), dimensions: serde_json::json!({}) })
        .await
        .expect("metrics");
    assert_eq!(metrics[0].samples, 2);
    let perf = s
        .service_performance(PerformanceQuery { range: r.range, bucket: Bucket::Minute, service: Some(service) })
        .await
        .expect("performance");
    assert_eq!((perf.len(), perf[0].requests), (1, 2));
    let times: Vec<_> = snapshots(s, team, all_time(), None).await.into_iter().map(|x| x.time).collect();
    assert_eq!(times, vec![cut, kept]);
    let ai_rows = s.ai_rollup(r).await.expect("ai");
    assert_eq!((ai_rows.len(), ai_rows[0].bucket, ai_rows[0].requests), (1, minute, 2));
    let costs = s.cost_totals(team, all_time()).await.expect("costs");
    assert_eq!(costs[0].entries, 2);
}

/// Refreshing the pre-aggregated rollups changes no read; a late row written into a refreshed
/// window shows after the next refresh.
pub async fn maintenance_refresh_keeps_reads_and_shows_late_rows<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let ig = Platform::Instagram;
    let published = at(2026, 11, 2, 8, 0);
    s.append_engagement(vec![
        snap(team, post, ig, published, at(2026, 11, 2, 9, 0), &[(Likes, 4)]),
        snap(team, post, ig, published, at(2026, 11, 3, 9, 0), &[(Likes, 9)]),
    ])
    .await
    .expect("snapshots");
    s.append_ai_metrics(vec![ai(team, at(2026, 11, 2, 9, 0), 10), ai(team, at(2026, 11, 3, 9, 0), 20)])
        .await
        .expect("ai");
    let r = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 4, 0, 0), Bucket::Day, Tz::UTC);
    let team_before = s.team_engagement(r).await.expect("team engagement");
    let ai_before = s.ai_rollup(r).await.expect("ai rollup");
    let window = period(at(2026, 10, 1, 0, 0), at(2026, 12, 1, 0, 0));
    s.refresh_rollups(window).await.expect("refresh");
    assert_eq!(s.team_engagement(r).await.expect("after refresh"), team_before);
    assert_eq!(s.ai_rollup(r).await.expect("after refresh"), ai_before);
    assert_eq!(team_before[1].latest.get(Likes), Some(9));

    // Late rows into the refreshed window.
    s.append_engagement(vec![snap(team, post, ig, published, at(2026, 11, 2, 20, 0), &[(Likes, 6)])])
        .await
        .expect("late snapshot");
    s.append_ai_metrics(vec![ai(team, at(2026, 11, 2, 20, 0), 5)]).await.expect("late ai row");
    s.refresh_rollups(window).await.expect("refresh again");
    let team_after = s.team_engagement(r).await.expect("team engagement");
    assert_eq!(
        team_after.iter().map(|p| (p.latest.get(Likes), p.gained.get(Likes))).collect::<Vec<_>>(),
        vec![(Some(6), Some(6)), (Some(9), Some(3))]
    );
    let ai_after = s.ai_rollup(r).await.expect("ai rollup");
    assert_eq!(ai_after.iter().map(|b| (b.requests, b.tokens)).collect::<Vec<_>>(), vec![(2, 15), (1, 20)]);
}

/// A rollup of more than `MAX_BUCKETS` buckets is refused (`range`) by every reader; the
/// largest allowed one works.
pub async fn maintenance_too_many_buckets_refused<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let start = at(2026, 1, 1, 0, 0);
    let minutes = i64::try_from(MAX_BUCKETS).expect("fits");
    let wide = rollup(team, start, start + Duration::minutes(minutes + 1), Bucket::Minute, Tz::UTC);
    let post = PostSeries { post: PostId::new(), platform: None };
    let metric = MetricQuery { metric_name: "followers".to_owned(), dimensions: serde_json::json!({}) };
    invalid(s.post_engagement(wide, post).await, "range", rule::RANGE);
    invalid(s.team_engagement(wide).await, "range", rule::RANGE);
    invalid(s.ai_rollup(wide).await, "range", rule::RANGE);
    invalid(s.event_counts(wide).await, "range", rule::RANGE);
    invalid(s.distinct_users(wide).await, "range", rule::RANGE);
    invalid(s.metric_rollup(wide, metric).await, "range", rule::RANGE);
    let perf = PerformanceQuery { range: wide.range, bucket: Bucket::Minute, service: Some(unique("none")) };
    invalid(s.service_performance(perf).await, "range", rule::RANGE);
    let widest = rollup(team, start, start + Duration::minutes(minutes), Bucket::Minute, Tz::UTC);
    assert_eq!(s.distinct_users(widest).await.expect("the largest rollup").len(), MAX_BUCKETS);
}

/// Rows in 1900 and 9999 round-trip, and rollups over them (also in a zone) do not fail.
pub async fn maintenance_extreme_times_round_trip<S: Analytics + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let first = at(1900, 1, 1, 0, 0) + Duration::seconds(3);
    let last_day = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999));
    let last = Utc.from_utc_datetime(&last_day.expect("9999-12-31"));
    let ig = Platform::Instagram;
    let rows =
        vec![snap(team, post, ig, first, first, &[(Likes, 1)]), snap(team, post, ig, first, last, &[(Likes, 2)])];
    s.append_engagement(rows.clone()).await.expect("extreme snapshots");
    assert_eq!(snapshots(s, team, all_time(), None).await, rows);
    s.append_events(vec![Event::new(team, "login", first), Event::new(team, "login", last)]).await.expect("events");
    s.append_ai_metrics(vec![ai(team, first, 1), ai(team, last, 2)]).await.expect("ai");

    let end_day = rollup(team, last - Duration::hours(1), last, Bucket::Day, chrono_tz::Pacific::Kiritimati);
    let days = s.post_engagement(end_day, PostSeries { post, platform: None }).await.expect("9999 in Kiritimati");
    assert_eq!(days.last().map(|p| p.latest.get(Likes)), Some(Some(2)));
    let month = rollup(team, last - Duration::days(2), last, Bucket::Month, Tz::UTC);
    let counts = s.event_counts(month).await.expect("events in 9999");
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 1);
    let ai_rows = s.ai_rollup(month).await.expect("ai in 9999");
    assert_eq!(ai_rows.iter().map(|b| b.tokens).sum::<i64>(), 2);

    let start = rollup(team, first, first + Duration::days(1), Bucket::Week, chrono_tz::Europe::Berlin);
    let team_rows = s.team_engagement(start).await.expect("1900 in Berlin");
    assert_eq!(team_rows.iter().filter_map(|p| p.gained.get(Likes)).sum::<i64>(), 1);
    let users = s.distinct_users(start).await.expect("1900 users");
    assert!(!users.is_empty());
}
