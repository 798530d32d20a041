//! What the analytics readers return, and the rules that turn aggregated rows into it.
//!
//! Backends aggregate (SQL `GROUP BY`, continuous aggregates, or a loop in memory) only as far
//! as the last value or sum per bucket; the rules a user sees (gains from cumulative counters,
//! gap filling, percentiles, the best-time grid) are the functions of this module, so every
//! backend gives the same numbers.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::buckets::Buckets;
use super::rows::{EngagementCounter, EngagementCounts};
use crate::error::Error;
use crate::ids::{PostId, TeamId};
use crate::model::{FeatureType, Period, Platform};
use crate::validate::rule;

// ---------------------------------------------------------------------------------------------
// Engagement over time
// ---------------------------------------------------------------------------------------------

/// What an engagement history covers: one post, on one platform or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostSeries {
    /// The post.
    pub post: PostId,
    /// One platform, or `None` for every platform the post has snapshots on.
    pub platform: Option<Platform>,
}

/// The last reported value of each counter within one bucket of one series (what a backend
/// aggregates to): `bucket` is the bucket index, or `None` for "before the first bucket" (the
/// last values before the range, from which the first gain is counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLast {
    /// The post.
    pub post_id: PostId,
    /// The platform.
    pub platform: Platform,
    /// Index into [`Buckets::starts`], or `None` for the values before the range.
    pub bucket: Option<usize>,
    /// Per counter, the value of the latest snapshot in the bucket that reported it.
    pub last: EngagementCounts,
}

/// One bucket of one post's engagement on one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementPoint {
    /// The post.
    pub post_id: PostId,
    /// The platform.
    pub platform: Platform,
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// Per counter, the latest known value at the bucket's end (carried forward through buckets
    /// without a snapshot; `None` until the counter is first reported).
    pub latest: EngagementCounts,
    /// Per counter, the change over the bucket: the latest value minus the one known before
    /// the bucket (zero before the counter's first report). Negative when the counter dropped
    /// (a deleted like); `Some(0)` in a bucket without a report; `None` until first reported.
    pub gained: EngagementCounts,
}

/// One bucket of a team's engagement on one platform, summed over its posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamEngagementPoint {
    /// The platform.
    pub platform: Platform,
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// Per counter, the sum of the posts' latest values (`None` when no post reported it yet).
    pub latest: EngagementCounts,
    /// Per counter, the sum of the posts' gains over the bucket (`None` when no post reported it yet).
    pub gained: EngagementCounts,
}

fn add(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.saturating_add(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Every bucket of every series in `rows`, gap-filled, ordered by platform then post then bucket.
pub fn engagement_points(buckets: &Buckets, rows: impl IntoIterator<Item = SeriesLast>) -> Vec<EngagementPoint> {
    let mut series: BTreeMap<(Platform, PostId), (EngagementCounts, BTreeMap<usize, EngagementCounts>)> =
        BTreeMap::new();
    for row in rows {
        let entry = series.entry((row.platform, row.post_id)).or_default();
        match row.bucket {
            None => entry.0 = row.last,
            Some(i) if i < buckets.len() => {
                entry.1.insert(i, row.last);
            }
            Some(_) => {}
        }
    }
    let mut out = Vec::with_capacity(series.len() * buckets.len());
    for ((platform, post_id), (before, by_bucket)) in series {
        if by_bucket.is_empty() && before == EngagementCounts::default() {
            continue;
        }
        let mut known = before;
        for (i, start) in buckets.starts().iter().enumerate() {
            let reported = by_bucket.get(&i).copied().unwrap_or_default();
            let mut latest = known;
            let mut gained = EngagementCounts::default();
            for c in EngagementCounter::ALL {
                let k = c.index();
                match (reported.0[k], known.0[k]) {
                    (Some(now), prev) => {
                        latest.0[k] = Some(now);
                        gained.0[k] = Some(now.saturating_sub(prev.unwrap_or(0)));
                    }
                    (None, Some(_)) => gained.0[k] = Some(0),
                    (None, None) => {}
                }
            }
            known = latest;
            out.push(EngagementPoint { post_id, platform, bucket: *start, latest, gained });
        }
    }
    out
}

/// [`engagement_points`] summed over posts: one gap-filled row per platform and bucket.
pub fn team_engagement_points(
    buckets: &Buckets,
    rows: impl IntoIterator<Item = SeriesLast>,
) -> Vec<TeamEngagementPoint> {
    let mut sums: BTreeMap<(Platform, usize), (EngagementCounts, EngagementCounts)> = BTreeMap::new();
    for p in engagement_points(buckets, rows) {
        let i = buckets.index_of(p.bucket).unwrap_or(0);
        let e = sums.entry((p.platform, i)).or_default();
        for k in 0..6 {
            e.0.0[k] = add(e.0.0[k], p.latest.0[k]);
            e.1.0[k] = add(e.1.0[k], p.gained.0[k]);
        }
    }
    sums.into_iter()
        .map(|((platform, i), (latest, gained))| TeamEngagementPoint {
            platform,
            bucket: buckets.starts()[i],
            latest,
            gained,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Best time to post
// ---------------------------------------------------------------------------------------------

/// Longest early-engagement window of a best-time query: 30 days.
pub const MAX_BEST_TIME_WINDOW_HOURS: u32 = 720;

/// Which posts a best-time grid looks at and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestTimeQuery {
    /// The team.
    pub team: TeamId,
    /// Posts published in this range count.
    pub published: Period,
    /// Engagement counted in the first `window_hours` after publishing, 1 to 720.
    pub window_hours: u32,
    /// The counter ranked.
    pub counter: EngagementCounter,
    /// One platform, or `None` for all.
    pub platform: Option<Platform>,
    /// The zone weekdays and hours are read in.
    pub zone: Tz,
}

impl BestTimeQuery {
    /// Refuse a window outside 1 to [`MAX_BEST_TIME_WINDOW_HOURS`].
    pub fn check(&self) -> Result<(), Error> {
        if (1..=MAX_BEST_TIME_WINDOW_HOURS).contains(&self.window_hours) {
            Ok(())
        } else {
            Err(Error::invalid("window_hours", rule::RANGE, "must be 1 to 720 hours"))
        }
    }

    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::hours(i64::from(self.window_hours))
    }
}

/// What a backend finds for one (post, platform) of a best-time query: when it was published
/// (the earliest `published_at` among its snapshots) and the last reported value of the counter
/// at or before `published_at + window` (`None` when it was not reported in the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyEngagement {
    /// The post.
    pub post_id: PostId,
    /// The platform.
    pub platform: Platform,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// The counter's value at the end of the window (the engagement gained since publication).
    pub gained: Option<i64>,
}

/// One cell of the best-time grid: posts published on `weekday` at `hour` (local).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestTimeCell {
    /// Day of the week, 0 = Monday to 6 = Sunday.
    pub weekday: u8,
    /// Hour of the day, 0 to 23.
    pub hour: u8,
    /// Posts (per platform) published in this slot with the counter reported in the window.
    pub posts: u64,
    /// Their summed engagement in the window.
    pub total_gained: i64,
    /// `total_gained / posts`, or `None` for an empty cell.
    pub mean_gained: Option<f64>,
}

/// The full 7 x 24 grid (Monday 00h first, row-major by weekday), every cell present.
pub fn best_time_grid(zone: Tz, rows: impl IntoIterator<Item = EarlyEngagement>) -> Vec<BestTimeCell> {
    let mut grid: Vec<BestTimeCell> = (0..7u8)
        .flat_map(|weekday| {
            (0..24u8).map(move |hour| BestTimeCell { weekday, hour, posts: 0, total_gained: 0, mean_gained: None })
        })
        .collect();
    for row in rows {
        let Some(gained) = row.gained else { continue };
        let local = row.published_at.with_timezone(&zone);
        let cell = &mut grid[local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize];
        cell.posts += 1;
        cell.total_gained = cell.total_gained.saturating_add(gained);
    }
    for cell in &mut grid {
        if cell.posts > 0 {
            cell.mean_gained = Some(cell.total_gained as f64 / cell.posts as f64);
        }
    }
    grid
}

// ---------------------------------------------------------------------------------------------
// Service performance
// ---------------------------------------------------------------------------------------------

/// Which requests a performance rollup covers. Buckets are cut in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceQuery {
    /// The time range (widened to whole buckets).
    pub range: Period,
    /// [`Bucket::Minute`](super::Bucket::Minute) or [`Bucket::Hour`](super::Bucket::Hour).
    pub bucket: super::Bucket,
    /// One service, or `None` for all.
    pub service: Option<String>,
}

/// Requests of one endpoint in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceBucket {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// The service.
    pub service_name: String,
    /// The endpoint.
    pub endpoint: String,
    /// Requests.
    pub requests: u64,
    /// Sum of the requests' `error_count`.
    pub errors: i64,
    /// Median response time in microseconds (`percentile_cont(0.5)`).
    pub p50_us: f64,
    /// 95th percentile in microseconds (`percentile_cont(0.95)`).
    pub p95_us: f64,
    /// 99th percentile in microseconds (`percentile_cont(0.99)`).
    pub p99_us: f64,
}

/// The continuous percentile of sorted values, exactly as PostgreSQL's `percentile_cont`
/// computes it (0-based position `p * (n - 1)`, then `lo + (hi - lo) * fraction` in `f64`, the
/// same operations in the same order, so every backend gets the same bits); `None` for no
/// values or a `p` that is not a number. `p` outside 0 to 1 is clamped (PostgreSQL refuses it).
pub fn percentile_cont(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() || p.is_nan() {
        return None;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor(), pos.ceil());
    let first = *sorted.get(lo as usize)? as f64;
    let second = *sorted.get(hi as usize)? as f64;
    if hi == lo {
        return Some(first);
    }
    Some(first + (second - first) * (pos - lo))
}

// ---------------------------------------------------------------------------------------------
// AI, costs, events, metrics
// ---------------------------------------------------------------------------------------------

/// AI requests of one feature and model in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiBucket {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// The feature.
    pub feature_type: FeatureType,
    /// The model.
    pub model_used: String,
    /// Rows (requests).
    pub requests: u64,
    /// Sum of `tokens_used`.
    pub tokens: i64,
    /// Sum of `cost`.
    pub cost: Decimal,
    /// Mean of `success_rate` (sum / requests).
    pub success_rate: f64,
    /// Mean response time in microseconds (sum / requests).
    pub mean_response_us: f64,
}

/// The sums a backend aggregates an AI bucket to; [`AiSums::finish`] derives the means.
#[derive(Debug, Clone, PartialEq)]
pub struct AiSums {
    /// Bucket index.
    pub bucket: usize,
    /// The feature.
    pub feature_type: FeatureType,
    /// The model.
    pub model_used: String,
    /// Rows.
    pub requests: i64,
    /// Sum of tokens.
    pub tokens: i64,
    /// Sum of cost.
    pub cost: Decimal,
    /// Sum of success rates.
    pub success_sum: f64,
    /// Sum of response times in microseconds.
    pub response_us_sum: i64,
}

impl AiSums {
    /// The bucket these sums make.
    pub fn finish(self, buckets: &Buckets) -> AiBucket {
        let n = self.requests.max(1) as f64;
        AiBucket {
            bucket: buckets.starts()[self.bucket.min(buckets.len() - 1)],
            feature_type: self.feature_type,
            model_used: self.model_used,
            requests: u64::try_from(self.requests).unwrap_or(0),
            tokens: self.tokens,
            cost: self.cost,
            success_rate: self.success_sum / n,
            mean_response_us: self.response_us_sum as f64 / n,
        }
    }
}

/// Costs of one billing period, service type and currency (never summed across currencies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostTotal {
    /// The billing period's label.
    pub billing_period: String,
    /// The service type.
    pub service_type: String,
    /// The currency.
    pub currency: String,
    /// Sum of `cost_amount`.
    pub amount: Decimal,
    /// Entries summed.
    pub entries: u64,
}

/// Events of one type and platform in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCount {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// The event type.
    pub event_type: String,
    /// The platform (`None` for events without one).
    pub platform: Option<Platform>,
    /// Events.
    pub count: u64,
}

/// Distinct users with at least one event in a bucket (gap-filled: every bucket present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctUsers {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// Distinct non-null `user_id`s.
    pub users: u64,
}

/// Every bucket with its distinct-user count, zero where a backend found none.
pub fn distinct_users_filled(buckets: &Buckets, counts: impl IntoIterator<Item = (usize, u64)>) -> Vec<DistinctUsers> {
    let mut users = vec![0u64; buckets.len()];
    for (i, n) in counts {
        if let Some(slot) = users.get_mut(i) {
            *slot = n;
        }
    }
    buckets.starts().iter().zip(users).map(|(bucket, users)| DistinctUsers { bucket: *bucket, users }).collect()
}

/// Which samples a metric rollup covers.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// The series name.
    pub metric_name: String,
    /// Only samples whose dimensions contain this JSON object (`{}` for all).
    pub dimensions: serde_json::Value,
}

/// The samples of one metric in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricBucket {
    /// The bucket's start.
    pub bucket: DateTime<Utc>,
    /// Samples.
    pub samples: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of values (exact for whole numbers below 2^53; otherwise backends may differ in the
    /// last bits, since floating-point sums depend on order).
    pub sum: f64,
    /// The value of the latest sample (the greatest value among samples at that same instant).
    pub last: f64,
}

// ---------------------------------------------------------------------------------------------
// The order readers return rows in
// ---------------------------------------------------------------------------------------------

/// The order a reader returns its rows in, as the port docs state it; one rule for every
/// backend (choices compare by their stored name, `None` first, not by declaration order).
pub trait PortOrder {
    /// The key rows are sorted by.
    type Key<'a>: Ord
    where
        Self: 'a;

    /// This row's key.
    fn order_key(&self) -> Self::Key<'_>;
}

/// Sort rows into the order their port documents.
pub fn sort_in_port_order<T: PortOrder>(rows: &mut [T]) {
    rows.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

impl PortOrder for PerformanceBucket {
    type Key<'a> = (DateTime<Utc>, &'a str, &'a str);
    fn order_key(&self) -> Self::Key<'_> {
        (self.bucket, &self.service_name, &self.endpoint)
    }
}

impl PortOrder for AiBucket {
    type Key<'a> = (DateTime<Utc>, &'static str, &'a str);
    fn order_key(&self) -> Self::Key<'_> {
        (self.bucket, self.feature_type.as_str(), &self.model_used)
    }
}

impl PortOrder for CostTotal {
    type Key<'a> = (&'a str, &'a str, &'a str);
    fn order_key(&self) -> Self::Key<'_> {
        (&self.billing_period, &self.service_type, &self.currency)
    }
}

impl PortOrder for EventCount {
    type Key<'a> = (DateTime<Utc>, &'a str, Option<&'static str>);
    fn order_key(&self) -> Self::Key<'_> {
        (self.bucket, &self.event_type, self.platform.map(Platform::as_str))
    }
}

impl PortOrder for MetricBucket {
    type Key<'a> = DateTime<Utc>;
    fn order_key(&self) -> Self::Key<'_> {
        self.bucket
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::analytics::{Bucket, Rollup};

    use EngagementCounter::*;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).single().unwrap_or_else(|| panic!("a valid time"))
    }

    fn days(from: u32, to: u32) -> Buckets {
        let range = Period::new(at(from, 0), at(to, 0)).unwrap_or_else(|e| panic!("{e}"));
        Buckets::new(&Rollup::new(TeamId::new(), range, Bucket::Day)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn last(post: PostId, bucket: Option<usize>, pairs: &[(EngagementCounter, i64)]) -> SeriesLast {
        let last = pairs.iter().fold(EngagementCounts::default(), |c, (k, v)| c.with(*k, *v));
        SeriesLast { post_id: post, platform: Platform::Instagram, bucket, last }
    }

    #[test]
    fn percentile_cont_matches_postgresql() {
        // Values PostgreSQL 15 returns for `percentile_cont(p) WITHIN GROUP (ORDER BY x)`.
        let four = [1, 2, 3, 4];
        assert_eq!(percentile_cont(&four, 0.5), Some(2.5));
        assert_eq!(percentile_cont(&four, 0.25), Some(1.75));
        assert_eq!(percentile_cont(&four, 0.95), Some(3.849_999_999_999_999_6));
        assert_eq!(percentile_cont(&four, 0.99), Some(3.969_999_999_999_999_8));
        assert_eq!(percentile_cont(&four, 0.0), Some(1.0));
        assert_eq!(percentile_cont(&four, 1.0), Some(4.0));
        // PostgreSQL gives 6.3 and 0.7000000000000001; counting from a 1-based position
        // (`1 + p * (n - 1)`) gives 6.299999999999999 and 0.7000000000000006.
        assert_eq!(percentile_cont(&[0, 7], 0.9), Some(6.3));
        assert_eq!(percentile_cont(&[0, 7], 0.1), Some(0.700_000_000_000_000_1));
        assert_eq!(percentile_cont(&[42], 0.99), Some(42.0));
        assert_eq!(percentile_cont(&[], 0.5), None);
        assert_eq!(percentile_cont(&four, f64::NAN), None);
        assert_eq!(percentile_cont(&four, 1.5), Some(4.0), "clamped, never out of bounds");
        assert_eq!(percentile_cont(&four, -1.0), Some(1.0));
        assert_eq!(percentile_cont(&[i64::MAX, i64::MAX], 0.5), Some(i64::MAX as f64));
    }

    #[test]
    fn engagement_points_edge_cases() {
        let b = days(2, 5);
        let post = PostId::new();
        // Only values before the range: carried through every bucket with gain 0.
        let carried = engagement_points(&b, [last(post, None, &[(Likes, 5)])]);
        assert_eq!(carried.len(), 3);
        assert!(carried.iter().all(|p| p.latest.get(Likes) == Some(5) && p.gained.get(Likes) == Some(0)));
        assert!(carried.iter().all(|p| p.latest.get(Views).is_none() && p.gained.get(Views).is_none()));
        // A series with nothing reported at all is left out.
        assert!(engagement_points(&b, [last(post, None, &[])]).is_empty());
        // A bucket index past the end is ignored; a drop is a negative gain; first report counts
        // from zero.
        let rows = [
            last(post, Some(0), &[(Likes, 10)]),
            last(post, Some(2), &[(Likes, 4), (Views, 3)]),
            last(post, Some(9), &[(Likes, 1000)]),
        ];
        let got = engagement_points(&b, rows);
        let likes: Vec<_> = got.iter().map(|p| (p.latest.get(Likes), p.gained.get(Likes))).collect();
        assert_eq!(likes, [(Some(10), Some(10)), (Some(10), Some(0)), (Some(4), Some(-6))]);
        let views: Vec<_> = got.iter().map(|p| p.gained.get(Views)).collect();
        assert_eq!(views, [None, None, Some(3)]);
        // Saturating, never overflowing.
        let extreme =
            engagement_points(&b, [last(post, None, &[(Likes, i64::MAX)]), last(post, Some(0), &[(Likes, 0)])]);
        assert_eq!(extreme[0].gained.get(Likes), Some(-i64::MAX));
    }

    #[test]
    fn team_points_sum_only_reported_posts() {
        let b = days(2, 4);
        let (one, two) = (PostId::new(), PostId::new());
        let got = team_engagement_points(&b, [last(one, Some(0), &[(Likes, 3)]), last(two, Some(1), &[(Likes, 4)])]);
        let likes: Vec<_> = got.iter().map(|p| (p.latest.get(Likes), p.gained.get(Likes))).collect();
        assert_eq!(likes, [(Some(3), Some(3)), (Some(7), Some(4))]);
    }

    #[test]
    fn best_time_grid_cells() {
        let early = |published_at, gained| EarlyEngagement {
            post_id: PostId::new(),
            platform: Platform::Facebook,
            published_at,
            gained,
        };
        // Monday 2026-11-02 23:00 UTC is Tuesday 00:00 in Berlin.
        let rows = [early(at(2, 23), Some(10)), early(at(2, 23), Some(5)), early(at(3, 9), None)];
        let grid = best_time_grid(chrono_tz::Europe::Berlin, rows);
        assert_eq!(grid.len(), 168);
        assert_eq!((grid[0].weekday, grid[0].hour, grid[167].weekday, grid[167].hour), (0, 0, 6, 23));
        let tuesday = grid[24];
        assert_eq!((tuesday.weekday, tuesday.hour, tuesday.posts, tuesday.total_gained), (1, 0, 2, 15));
        assert_eq!(tuesday.mean_gained, Some(7.5));
        assert_eq!(grid.iter().map(|c| c.posts).sum::<u64>(), 2, "a post without the counter is not counted");
        assert!(grid.iter().filter(|c| c.posts == 0).all(|c| c.mean_gained.is_none() && c.total_gained == 0));
        let utc = best_time_grid(Tz::UTC, [early(at(2, 23), Some(1))]);
        assert_eq!(utc[23].posts, 1);
    }

    #[test]
    fn distinct_users_fill_every_bucket() {
        let b = days(2, 5);
        let got = distinct_users_filled(&b, [(2, 4), (7, 9)]);
        assert_eq!(got.iter().map(|d| d.users).collect::<Vec<_>>(), [0, 0, 4]);
    }
}
