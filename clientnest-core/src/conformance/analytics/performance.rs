//! Service performance: requests, errors and p50/p95/p99 per endpoint per minute or hour (UTC),
//! exactly as PostgreSQL's `percentile_cont` computes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::validate::rule;

/// Requests of the performance tests in the hour starting at `hour`: on `api`, `GET /posts`
/// answers 1 to 100 ms in the first minute (five 503s, one 200 counting 3 errors), 10 and
/// 30 ms in the second; `POST /posts` 7 ms and `worker` 2 ms in the first minute.
async fn seed<S: AnalyticsWriter + ?Sized>(s: &S, hour: DateTime<Utc>, api: &str, worker: &str) {
    let ms = StdDuration::from_millis;
    let mut rows = Vec::new();
    for i in 1..=100u64 {
        let time = hour + Duration::milliseconds(i64::try_from(i * 500).unwrap_or(0));
        let status = if i % 20 == 0 { 503 } else { 200 };
        let mut r = Performance::new(api, "GET /posts", time, ms(i), status);
        if i == 7 {
            r.error_count = 3;
        }
        rows.push(r);
    }
    let second = hour + Duration::minutes(1);
    rows.push(Performance::new(api, "GET /posts", second, ms(30), 200));
    rows.push(Performance::new(api, "GET /posts", second + Duration::seconds(59), ms(10), 200));
    rows.push(Performance::new(api, "POST /posts", hour + Duration::seconds(10), ms(7), 201));
    rows.push(Performance::new(worker, "jobs.run", hour + Duration::seconds(20), ms(2), 200));
    // The hour before: outside every range below.
    rows.push(Performance::new(api, "GET /posts", hour - Duration::microseconds(1), ms(999), 500));
    s.append_performance(rows).await.expect("append");
}

/// A bucket of the expected rows.
#[allow(clippy::too_many_arguments)]
fn bucket(
    start: DateTime<Utc>,
    service: &str,
    endpoint: &str,
    requests: u64,
    errors: i64,
    p50_us: f64,
    p95_us: f64,
    p99_us: f64,
) -> PerformanceBucket {
    PerformanceBucket {
        bucket: start,
        service_name: service.to_owned(),
        endpoint: endpoint.to_owned(),
        requests,
        errors,
        p50_us,
        p95_us,
        p99_us,
    }
}

/// Per minute: 1..=100 ms gives p50 = 50,500 us, p95 = 95,000 plus 0.05 of 1,000 and p99 =
/// 99,000 plus 0.01 of 1,000, computed as PostgreSQL does (`lo + (hi - lo) * fraction` where
/// the position is `p * (n - 1)`); errors are summed from `error_count`; rows are ordered by
/// bucket, service, endpoint.
pub async fn performance_percentiles_per_minute<S: AnalyticsWriter + PerformanceReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let hour = random_hour();
    let (api, worker) = (unique("api"), unique("worker"));
    seed(s, hour, &api, &worker).await;
    let q =
        PerformanceQuery { range: period(hour, hour + Duration::minutes(2)), bucket: Bucket::Minute, service: None };
    let mut got = s.service_performance(q).await.expect("per minute");
    got.retain(|b| b.service_name == api || b.service_name == worker);
    let second = hour + Duration::minutes(1);
    let expected = vec![
        // 100 values 1,000..=100,000: positions 0.5 * 99 = 49.5, 0.95 * 99, 0.99 * 99.
        bucket(
            hour,
            &api,
            "GET /posts",
            100,
            8,
            50_500.0,
            95_000.0 + 1_000.0 * (0.95 * 99.0 - 94.0),
            99_000.0 + 1_000.0 * (0.99 * 99.0 - 98.0),
        ),
        bucket(hour, &api, "POST /posts", 1, 0, 7_000.0, 7_000.0, 7_000.0),
        bucket(hour, &worker, "jobs.run", 1, 0, 2_000.0, 2_000.0, 2_000.0),
        // Two values 10,000 and 30,000: position p * 1.
        bucket(second, &api, "GET /posts", 2, 0, 20_000.0, 10_000.0 + 20_000.0 * 0.95, 10_000.0 + 20_000.0 * 0.99),
    ];
    // `api-...` sorts before `worker-...`.
    assert_eq!(got, expected);
    assert!((got[0].p95_us - 95_050.0).abs() < 1e-6 && (got[0].p99_us - 99_010.0).abs() < 1e-6);
}

/// Per hour, the two minutes merge (102 requests: p50 between 49 and 50 ms); the service
/// filter keeps one service; a day, week or month bucket is refused.
pub async fn performance_per_hour_and_service_filter<S: AnalyticsWriter + PerformanceReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let hour = random_hour();
    let (api, worker) = (unique("api"), unique("worker"));
    seed(s, hour, &api, &worker).await;
    let range = period(hour + Duration::minutes(5), hour + Duration::minutes(6));
    let q = PerformanceQuery { range, bucket: Bucket::Hour, service: Some(api.clone()) };
    let got = s.service_performance(q).await.expect("per hour");
    // Sorted: 1..=10 ms, 10, 11..=30, 30, 31..=100: index i >= 32 holds i - 1 ms.
    assert_eq!(
        got,
        vec![
            bucket(
                hour,
                &api,
                "GET /posts",
                102,
                8,
                49_500.0,
                94_000.0 + 1_000.0 * (0.95 * 101.0 - 95.0),
                98_000.0 + 1_000.0 * (0.99 * 101.0 - 99.0),
            ),
            bucket(hour, &api, "POST /posts", 1, 0, 7_000.0, 7_000.0, 7_000.0),
        ]
    );
    let only_worker = PerformanceQuery { range, bucket: Bucket::Hour, service: Some(worker.clone()) };
    let w = s.service_performance(only_worker).await.expect("worker");
    assert_eq!(w, vec![bucket(hour, &worker, "jobs.run", 1, 0, 2_000.0, 2_000.0, 2_000.0)]);
    let nobody = PerformanceQuery { range, bucket: Bucket::Hour, service: Some(unique("none")) };
    assert!(s.service_performance(nobody).await.expect("unknown service").is_empty());
    for wide in [Bucket::Day, Bucket::Week, Bucket::Month] {
        let q = PerformanceQuery { range, bucket: wide, service: None };
        invalid(s.service_performance(q).await, "bucket", rule::RANGE);
    }
}
