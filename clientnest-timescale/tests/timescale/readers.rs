//! Every reader on every flavour, with numbers worked out by hand: engagement in Berlin days
//! across DST (hourly rollup path) and in Kathmandu days (raw path), best time, percentiles,
//! AI, costs, events, metrics, the export stream's order.

use std::time::Duration as StdDuration;

use chrono::Duration;
use chrono_tz::Tz;
use clientnest_core::analytics::{
    AiMetric, AiMetricsReader, AnalyticsWriter, BestTimeQuery, Bucket, Cost, CostReader, EngagementCounter,
    EngagementReader, EngagementSnapshot, Event, EventReader, Metric, MetricQuery, MetricReader, Performance,
    PerformanceQuery, PerformanceReader, PostSeries, Rollup,
};
use clientnest_core::ids::{PostId, TeamId, UserId};
use clientnest_core::model::{FeatureType, Period, Platform};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::json;

use crate::support::{at, every_store};

fn period(a: &str, b: &str) -> Period {
    Period::new(at(a), at(b)).unwrap()
}

#[tokio::test]
async fn engagement_gains_per_local_day_on_both_paths() {
    for (name, t) in every_store().await {
        let (team, post) = (TeamId::new(), PostId::new());
        let published = at("2026-03-27T20:00:00Z");
        let snap = |time: &str| EngagementSnapshot::new(team, post, Platform::Instagram, published, at(time));
        t.store
            .append_engagement(vec![
                snap("2026-03-27T21:00:00Z").with(EngagementCounter::Likes, 5), // before the range
                snap("2026-03-28T10:00:00Z").with(EngagementCounter::Likes, 8).with(EngagementCounter::Views, 100),
                snap("2026-03-28T20:00:00Z").with(EngagementCounter::Likes, 12),
                // 29 March (23 hours in Berlin): nothing. 30 March: a like deleted.
                snap("2026-03-30T09:00:00Z").with(EngagementCounter::Likes, 11).with(EngagementCounter::Views, 150),
                // Another team's post is invisible.
                EngagementSnapshot::new(
                    TeamId::new(),
                    post,
                    Platform::Instagram,
                    published,
                    at("2026-03-28T11:00:00Z"),
                )
                .with(EngagementCounter::Likes, 1000),
            ])
            .await
            .unwrap();
        let range = period("2026-03-28T00:00:00Z", "2026-03-30T12:00:00Z");
        let berlin = Rollup::new(team, range, Bucket::Day).in_zone(chrono_tz::Europe::Berlin);
        let points = t.store.post_engagement(berlin, PostSeries { post, platform: None }).await.unwrap();
        let starts: Vec<_> = points.iter().map(|p| p.bucket).collect();
        assert_eq!(
            starts,
            [at("2026-03-27T23:00:00Z"), at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z")],
            "{name}"
        );
        let likes = |f: fn(&clientnest_core::analytics::EngagementPoint) -> Option<i64>| {
            points.iter().map(f).collect::<Vec<_>>()
        };
        assert_eq!(likes(|p| p.latest.get(EngagementCounter::Likes)), [Some(12), Some(12), Some(11)], "{name}");
        assert_eq!(likes(|p| p.gained.get(EngagementCounter::Likes)), [Some(7), Some(0), Some(-1)], "{name}");
        assert_eq!(likes(|p| p.gained.get(EngagementCounter::Views)), [Some(100), Some(0), Some(50)], "{name}");
        assert_eq!(likes(|p| p.gained.get(EngagementCounter::Shares)), [None, None, None], "{name}");

        // Kathmandu days start at :15 UTC: the raw path, same rules.
        let kathmandu = Rollup::new(team, range, Bucket::Day).in_zone(chrono_tz::Asia::Kathmandu);
        let points =
            t.store.post_engagement(kathmandu, PostSeries { post, platform: Some(Platform::Instagram) }).await.unwrap();
        assert_eq!(points[0].bucket, at("2026-03-27T18:15:00Z"), "{name}");
        // 28 March local (from 27 March 18:15Z) holds 5 and 8; 20:00Z on the 28th is 01:45 on
        // the 29th local (12); 30th: 11.
        assert_eq!(
            points.iter().map(|p| p.gained.get(EngagementCounter::Likes)).collect::<Vec<_>>(),
            [Some(8), Some(4), Some(-1)],
            "{name}"
        );
        let other =
            t.store.post_engagement(kathmandu, PostSeries { post, platform: Some(Platform::Twitter) }).await.unwrap();
        assert!(other.is_empty(), "{name}");

        // Team totals: a second post adds up.
        let post2 = PostId::new();
        t.store
            .append_engagement(vec![
                EngagementSnapshot::new(team, post2, Platform::Instagram, published, at("2026-03-28T12:00:00Z"))
                    .with(EngagementCounter::Likes, 3),
            ])
            .await
            .unwrap();
        let team_points = t.store.team_engagement(berlin).await.unwrap();
        assert_eq!(
            team_points.iter().map(|p| p.latest.get(EngagementCounter::Likes)).collect::<Vec<_>>(),
            [Some(15), Some(15), Some(14)],
            "{name}"
        );
        t.drop().await;
    }
}

#[tokio::test]
async fn best_time_to_post_counts_the_window_in_the_teams_zone() {
    for (name, t) in every_store().await {
        let team = TeamId::new();
        // Monday 2026-11-02 23:30 UTC is Tuesday 00:30 in Berlin.
        let published = at("2026-11-02T23:30:00Z");
        let (a, b) = (PostId::new(), PostId::new());
        let snap = |post, h: i64, n| {
            EngagementSnapshot::new(team, post, Platform::Facebook, published, published + Duration::hours(h))
                .with(EngagementCounter::Likes, n)
        };
        t.store.append_engagement(vec![snap(a, 1, 10), snap(a, 3, 30), snap(a, 5, 50), snap(b, 2, 6)]).await.unwrap();
        let query = BestTimeQuery {
            team,
            published: period("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            window_hours: 3,
            counter: EngagementCounter::Likes,
            platform: None,
            zone: chrono_tz::Europe::Berlin,
        };
        let grid = t.store.best_time_to_post(query).await.unwrap();
        assert_eq!(grid.len(), 168);
        let cell = grid[24]; // Tuesday 00h
        assert_eq!((cell.weekday, cell.hour, cell.posts, cell.total_gained), (1, 0, 2, 36), "{name}");
        assert_eq!(cell.mean_gained, Some(18.0));
        assert_eq!(grid.iter().map(|c| c.posts).sum::<u64>(), 2);
        assert!(t.store.best_time_to_post(BestTimeQuery { window_hours: 0, ..query }).await.is_err());
        assert!(t.store.best_time_to_post(BestTimeQuery { window_hours: 721, ..query }).await.is_err());
        t.drop().await;
    }
}

#[tokio::test]
async fn performance_percentiles_per_minute_and_service() {
    for (name, t) in every_store().await {
        let minute = at("2026-11-02T10:00:00Z");
        let rows: Vec<_> = (1..=100u64)
            .map(|ms| {
                let mut r = Performance::new(
                    "api",
                    "GET /posts",
                    minute + Duration::milliseconds(i64::try_from(ms).unwrap() * 100),
                    StdDuration::from_millis(ms),
                    200,
                );
                if ms % 25 == 0 {
                    r.error_count = 2;
                }
                r
            })
            .chain([Performance::new(
                "worker",
                "publish",
                minute + Duration::minutes(1),
                StdDuration::from_micros(7),
                500,
            )])
            .collect();
        t.store.append_performance(rows).await.unwrap();
        let range = period("2026-11-02T10:00:00Z", "2026-11-02T10:02:00Z");
        let all = t
            .store
            .service_performance(PerformanceQuery { range, bucket: Bucket::Minute, service: None })
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "{name}");
        let api = &all[0];
        assert_eq!((api.service_name.as_str(), api.requests, api.errors), ("api", 100, 8), "{name}");
        // percentile_cont over 1000..=100000 us: 1 + p * 99.
        assert_eq!((api.p50_us, api.p95_us, api.p99_us), (50_500.0, 95_050.0, 99_010.0), "{name}");
        assert_eq!((all[1].service_name.as_str(), all[1].errors, all[1].p99_us), ("worker", 1, 7.0), "{name}");
        let hour = t
            .store
            .service_performance(PerformanceQuery { range, bucket: Bucket::Hour, service: Some("worker".to_owned()) })
            .await
            .unwrap();
        assert_eq!((hour.len(), hour[0].bucket), (1, at("2026-11-02T10:00:00Z")), "{name}");
        assert!(
            t.store.service_performance(PerformanceQuery { range, bucket: Bucket::Day, service: None }).await.is_err()
        );
        t.drop().await;
    }
}

#[tokio::test]
async fn ai_rollups_per_day_and_month_on_both_paths() {
    for (name, t) in every_store().await {
        let (team, user) = (TeamId::new(), UserId::new());
        let ai = |time: &str, feature, tokens, cost: &str, ms, ok: bool| AiMetric {
            id: uuid::Uuid::now_v7(),
            time: at(time),
            user_id: user,
            team_id: team,
            feature_type: feature,
            tokens_used: tokens,
            cost: cost.parse().unwrap(),
            model_used: "gpt-x".to_owned(),
            response_time: StdDuration::from_millis(ms),
            success_rate: if ok { 1.0 } else { 0.0 },
        };
        t.store
            .append_ai_metrics(vec![
                ai("2026-11-02T09:00:00Z", FeatureType::ContentGeneration, 100, "0.0100", 200, true),
                ai("2026-11-02T21:00:00Z", FeatureType::ContentGeneration, 300, "0.0300", 400, false),
                ai("2026-11-03T01:00:00Z", FeatureType::SentimentAnalysis, 50, "0.0050", 100, true),
                ai("2026-12-01T01:00:00Z", FeatureType::ContentGeneration, 7, "1.0000", 100, true),
            ])
            .await
            .unwrap();
        let range = period("2026-11-02T00:00:00Z", "2026-11-04T00:00:00Z");
        let days = t.store.ai_rollup(Rollup::new(team, range, Bucket::Day)).await.unwrap();
        let summary: Vec<_> = days.iter().map(|b| (b.bucket, b.feature_type, b.requests, b.tokens, b.cost)).collect();
        assert_eq!(
            summary,
            [
                (at("2026-11-02T00:00:00Z"), FeatureType::ContentGeneration, 2, 400, Decimal::new(4, 2)),
                (at("2026-11-03T00:00:00Z"), FeatureType::SentimentAnalysis, 1, 50, Decimal::new(5, 3)),
            ],
            "{name}"
        );
        assert_eq!((days[0].success_rate, days[0].mean_response_us), (0.5, 300_000.0), "{name}");
        // Kathmandu (raw path): 21:00Z on 2 Nov is 02:45 on 3 Nov local.
        let kathmandu =
            t.store.ai_rollup(Rollup::new(team, range, Bucket::Day).in_zone(chrono_tz::Asia::Kathmandu)).await.unwrap();
        let summary: Vec<_> = kathmandu.iter().map(|b| (b.feature_type, b.requests, b.tokens)).collect();
        assert_eq!(
            summary,
            [
                (FeatureType::ContentGeneration, 1, 100),
                (FeatureType::ContentGeneration, 1, 300),
                (FeatureType::SentimentAnalysis, 1, 50)
            ],
            "{name}"
        );
        let months = t
            .store
            .ai_rollup(Rollup::new(team, period("2026-11-01T00:00:00Z", "2026-12-02T00:00:00Z"), Bucket::Month))
            .await
            .unwrap();
        assert_eq!(
            months.iter().map(|b| (b.bucket, b.tokens)).collect::<Vec<_>>(),
            [(at("2026-11-01T00:00:00Z"), 400), (at("2026-11-01T00:00:00Z"), 50), (at("2026-12-01T00:00:00Z"), 7)],
            "{name}"
        );
        assert!(t.store.ai_rollup(Rollup::new(TeamId::new(), range, Bucket::Day)).await.unwrap().is_empty());
        t.drop().await;
    }
}

#[tokio::test]
async fn costs_events_and_metrics() {
    for (name, t) in every_store().await {
        let team = TeamId::new();
        let time = at("2026-11-02T10:00:00Z");
        let cost = |amount: &str, currency: &str, service: &str| {
            Cost::new(team, service, amount.parse().unwrap(), currency, "2026-11", time)
        };
        t.store
            .append_costs(vec![
                cost("1.5000", "EUR", "ai"),
                cost("2.2500", "EUR", "ai"),
                cost("3.0000", "USD", "ai"),
                cost("0.1000", "EUR", "sms"),
            ])
            .await
            .unwrap();
        let totals = t.store.cost_totals(team, period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")).await.unwrap();
        let totals: Vec<_> =
            totals.iter().map(|c| (c.service_type.as_str(), c.currency.as_str(), c.amount, c.entries)).collect();
        assert_eq!(
            totals,
            [
                ("ai", "EUR", Decimal::new(375, 2), 2),
                ("ai", "USD", Decimal::new(3, 0), 1),
                ("sms", "EUR", Decimal::new(1, 1), 1)
            ],
            "{name}"
        );

        let (ada, bob) = (UserId::new(), UserId::new());
        let event = |kind: &str, user, platform, time| {
            let mut e = Event::new(team, kind, at(time));
            e.user_id = user;
            e.platform = platform;
            e
        };
        t.store
            .append_events(vec![
                event("login", Some(ada), None, "2026-11-02T08:00:00Z"),
                event("login", Some(ada), None, "2026-11-02T09:00:00Z"),
                event("post_published", Some(bob), Some(Platform::Twitter), "2026-11-02T10:00:00Z"),
                event("post_published", None, Some(Platform::Facebook), "2026-11-04T10:00:00Z"),
            ])
            .await
            .unwrap();
        let rollup = Rollup::new(team, period("2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z"), Bucket::Day);
        let counts: Vec<_> = t
            .store
            .event_counts(rollup)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.bucket.to_rfc3339(), c.event_type, c.platform, c.count))
            .collect();
        assert_eq!(
            counts,
            [
                (at("2026-11-02T00:00:00Z").to_rfc3339(), "login".to_owned(), None, 2),
                (at("2026-11-02T00:00:00Z").to_rfc3339(), "post_published".to_owned(), Some(Platform::Twitter), 1),
                (at("2026-11-04T00:00:00Z").to_rfc3339(), "post_published".to_owned(), Some(Platform::Facebook), 1),
            ],
            "{name}"
        );
        let users: Vec<_> = t.store.distinct_users(rollup).await.unwrap().iter().map(|d| d.users).collect();
        assert_eq!(users, [2, 0, 0], "{name}");

        let sample = |v: f64, minutes: i64, platform: &str| {
            let mut m = Metric::new(team, "followers", v, time + Duration::minutes(minutes));
            m.dimensions = json!({"platform": platform, "region": {"eu": true}});
            m
        };
        t.store
            .append_metrics(vec![
                sample(10.0, 0, "x"),
                sample(14.0, 10, "x"),
                sample(12.0, 20, "x"),
                sample(99.0, 20, "y"),
            ])
            .await
            .unwrap();
        let hourly = Rollup::new(team, period("2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z"), Bucket::Hour);
        let x = t
            .store
            .metric_rollup(
                hourly,
                MetricQuery { metric_name: "followers".to_owned(), dimensions: json!({"platform": "x"}) },
            )
            .await
            .unwrap();
        assert_eq!(
            x.iter().map(|b| (b.samples, b.min, b.max, b.sum, b.last)).collect::<Vec<_>>(),
            [(3, 10.0, 14.0, 36.0, 12.0)],
            "{name}"
        );
        let all = t
            .store
            .metric_rollup(
                hourly,
                MetricQuery { metric_name: "followers".to_owned(), dimensions: json!({"region": {"eu": true}}) },
            )
            .await
            .unwrap();
        assert_eq!((all[0].samples, all[0].last), (4, 99.0), "{name}: ties at the last instant take the largest");
        t.drop().await;
    }
}

#[tokio::test]
async fn the_export_streams_in_time_post_platform_order() {
    for (name, t) in every_store().await {
        let team = TeamId::new();
        let time = at("2026-11-02T10:00:00Z");
        let (p1, p2) = {
            let (a, b) = (PostId::new(), PostId::new());
            if a < b { (a, b) } else { (b, a) }
        };
        let snap = |post, platform, minutes| {
            EngagementSnapshot::new(team, post, platform, time, time + Duration::minutes(minutes))
        };
        let rows = vec![
            snap(p2, Platform::Twitter, 0),
            snap(p1, Platform::Twitter, 0),
            snap(p1, Platform::Facebook, 0),
            snap(p1, Platform::Instagram, 5),
            snap(p1, Platform::Pinterest, 60), // outside the range
        ];
        t.store.append_engagement(rows.clone()).await.unwrap();
        let range = Period::new(time, time + Duration::minutes(60)).unwrap();
        let got: Vec<_> = t.store.engagement_snapshots(team, range, None).try_collect().await.unwrap();
        let key = |s: &EngagementSnapshot| (s.time, s.post_id, s.platform);
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            [key(&rows[2]), key(&rows[1]), key(&rows[0]), key(&rows[3])],
            "{name}"
        );
        let one: Vec<_> = t.store.engagement_snapshots(team, range, Some(p2)).try_collect().await.unwrap();
        assert_eq!(one, [rows[0].clone()], "{name}");
        let _ = Tz::UTC;
        t.drop().await;
    }
}
