//! The six analytics tables in memory: [`MemoryAnalytics`] implements every port of
//! [`analytics::ports`](crate::analytics::ports) with the same keys, checks and rollup rules as
//! the SQL backends.
//!
//! Rows are kept by their key (see the table in [`rows`](crate::analytics::rows)), so a re-sent
//! row replaces the stored one. Rollups aggregate in a loop as far as the last value or sum per
//! bucket and finish with the core functions of [`rollups`](crate::analytics::rollups), as
//! every backend does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::analytics::{
    AiBucket, AiMetric, AiMetricsReader, AiSums, AnalyticsMaintenance, AnalyticsWriter, BestTimeCell, BestTimeQuery,
    Bucket, Buckets, Cost, CostReader, CostTotal, DistinctUsers, EarlyEngagement, EngagementCounts, EngagementPoint,
    EngagementReader, EngagementSnapshot, Event, EventCount, EventReader, Metric, MetricBucket, MetricQuery,
    MetricReader, Performance, PerformanceBucket, PerformanceQuery, PerformanceReader, PostSeries, Rollup, SeriesLast,
    TeamEngagementPoint, best_time_grid, check_batch, distinct_users_filled, engagement_points, percentile_cont,
    team_engagement_points,
};
use crate::error::{Error, Result};
use crate::ids::{PostId, TeamId, UserId};
use crate::model::{Period, Platform};
use crate::validate::rule;

/// The key of an engagement snapshot: `(team_id, post_id, platform, time)`.
type EngagementKey = (TeamId, PostId, Platform, DateTime<Utc>);

/// The key of a metric sample: `(team_id, metric_name, dimensions, time)`, the dimensions in
/// their canonical text (keys sorted), as `jsonb` compares them.
type MetricKey = (TeamId, String, String, DateTime<Utc>);

/// The six tables, each keyed as its SQL table is.
#[derive(Debug, Default)]
struct Tables {
    events: HashMap<(DateTime<Utc>, Uuid), Event>,
    metrics: HashMap<MetricKey, Metric>,
    performance: HashMap<(DateTime<Utc>, Uuid), Performance>,
    engagement: BTreeMap<EngagementKey, EngagementSnapshot>,
    ai_metrics: HashMap<(DateTime<Utc>, Uuid), AiMetric>,
    costs: HashMap<(DateTime<Utc>, Uuid), Cost>,
}

/// Every analytics port in memory: the six tables behind one lock, so each batch is atomic.
///
/// Clones share the same tables. Nothing is pre-aggregated, so
/// [`refresh_rollups`](AnalyticsMaintenance::refresh_rollups) has nothing to do.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use clientnest_core::analytics::{AnalyticsWriter, Event, EventReader, Bucket, Rollup};
/// use clientnest_core::ids::TeamId;
/// use clientnest_core::memory::MemoryAnalytics;
/// use clientnest_core::model::Period;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let analytics = MemoryAnalytics::new();
/// let team = TeamId::new();
/// let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
/// assert_eq!(analytics.append_events(vec![Event::new(team, "login", at)]).await?, 1);
/// let day = Period::new(at, at + chrono::Duration::hours(1))?;
/// let counts = analytics.event_counts(Rollup::new(team, day, Bucket::Day)).await?;
/// assert_eq!(counts[0].count, 1);
/// # Ok::<(), clientnest_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryAnalytics {
    tables: Arc<Mutex<Tables>>,
}

impl MemoryAnalytics {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tables, locked. A poisoned lock is recovered: every write checks its whole batch
    /// before it changes anything, so a panic never leaves half a batch behind.
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Check a batch whole, then store each row under its key (a later row replaces an earlier
    /// one with the same key); the batch's length.
    fn append<R: crate::analytics::AnalyticsRow, K>(
        &self,
        rows: Vec<R>,
        table: impl FnOnce(&mut Tables) -> &mut HashMap<K, R>,
        key: impl Fn(&R) -> K,
    ) -> Result<u64>
    where
        K: std::hash::Hash + Eq,
    {
        let rows = check_batch(rows)?;
        let n = rows.len() as u64;
        let mut t = self.tables();
        let map = table(&mut t);
        for row in rows {
            map.insert(key(&row), row);
        }
        Ok(n)
    }
}

/// Canonical text of a JSON value: object keys sorted at every level, so two `jsonb`-equal
/// dimensions give the same key.
fn canonical(v: &serde_json::Value) -> String {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => {
                let by_key: BTreeMap<&String, serde_json::Value> = o.iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(by_key.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Whether two JSON numbers are equal as numbers (`1` and `1.0` are, as in `jsonb`).
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
    }
}

/// PostgreSQL's `stored @> query` on JSON: objects contain every key of the query with a
/// contained value, arrays contain every element of the query array in some element, scalars
/// are equal.
fn json_contains(stored: &serde_json::Value, query: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (stored, query) {
        (J::Object(s), J::Object(q)) => q.iter().all(|(k, qv)| s.get(k).is_some_and(|sv| json_contains(sv, qv))),
        (J::Array(s), J::Array(q)) => q.iter().all(|qv| s.iter().any(|sv| json_contains(sv, qv))),
        (J::Number(a), J::Number(b)) => same_number(a, b),
        (J::Object(_) | J::Array(_), _) | (_, J::Object(_) | J::Array(_)) => false,
        (a, b) => a == b,
    }
}

/// Per counter, the value of the latest snapshot (in time order) that reported it.
fn last_reported<'a>(snapshots: impl IntoIterator<Item = &'a EngagementSnapshot>) -> EngagementCounts {
    let mut last = EngagementCounts::default();
    for s in snapshots {
        for (k, v) in s.counts.0.iter().enumerate() {
            if v.is_some() {
                last.0[k] = *v;
            }
        }
    }
    last
}

/// The series' last values per bucket (and before the first bucket), as a backend aggregates
/// engagement. `snapshots` are the team's rows already filtered, in key order (so in time
/// order within a series).
fn series_last<'a>(buckets: &Buckets, snapshots: impl IntoIterator<Item = &'a EngagementSnapshot>) -> Vec<SeriesLast> {
    let mut groups: BTreeMap<(PostId, Platform, Option<usize>), Vec<&EngagementSnapshot>> = BTreeMap::new();
    for s in snapshots {
        let bucket = if s.time < buckets.first() {
            None
        } else {
            match buckets.index_of(s.time) {
                Some(i) => Some(i),
                None => continue,
            }
        };
        groups.entry((s.post_id, s.platform, bucket)).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|((post_id, platform, bucket), mut rows)| {
            rows.sort_by_key(|s| s.time);
            SeriesLast { post_id, platform, bucket, last: last_reported(rows) }
        })
        .collect()
}

/// A performance rollup's buckets: minutes or hours in UTC, anything else refused.
fn performance_buckets(query: &PerformanceQuery) -> Result<Buckets> {
    if !matches!(query.bucket, Bucket::Minute | Bucket::Hour) {
        return Err(Error::invalid("bucket", rule::RANGE, "service performance is rolled up per minute or per hour"));
    }
    Buckets::new(&Rollup::new(TeamId::new(), query.range, query.bucket))
}

/// A duration in whole microseconds, saturating (rows hold at most a day).
fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait]
impl AnalyticsWriter for MemoryAnalytics {
    async fn append_events(&self, rows: Vec<Event>) -> Result<u64> {
        self.append(rows, |t| &mut t.events, |r| (r.time, r.id))
    }

    async fn append_metrics(&self, rows: Vec<Metric>) -> Result<u64> {
        self.append(rows, |t| &mut t.metrics, |r| (r.team_id, r.metric_name.clone(), canonical(&r.dimensions), r.time))
    }

    async fn append_performance(&self, rows: Vec<Performance>) -> Result<u64> {
        self.append(rows, |t| &mut t.performance, |r| (r.time, r.id))
    }

    async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> Result<u64> {
        let rows = check_batch(rows)?;
        let n = rows.len() as u64;
        let mut t = self.tables();
        for row in rows {
            t.engagement.insert((row.team_id, row.post_id, row.platform, row.time), row);
        }
        Ok(n)
    }

    async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> Result<u64> {
        self.append(rows, |t| &mut t.ai_metrics, |r| (r.time, r.id))
    }

    async fn append_costs(&self, rows: Vec<Cost>) -> Result<u64> {
        self.append(rows, |t| &mut t.costs, |r| (r.time, r.id))
    }
}

#[async_trait]
impl EngagementReader for MemoryAnalytics {
    async fn post_engagement(&self, rollup: Rollup, series: PostSeries) -> Result<Vec<EngagementPoint>> {
        let buckets = Buckets::new(&rollup)?;
        let last = {
            let t = self.tables();
            let rows = t.engagement.values().filter(|s| {
                s.team_id == rollup.team
                    && s.post_id == series.post
                    && series.platform.is_none_or(|p| p == s.platform)
                    && s.time < buckets.end()
            });
            series_last(&buckets, rows)
        };
        Ok(engagement_points(&buckets, last))
    }

    async fn team_engagement(&self, rollup: Rollup) -> Result<Vec<TeamEngagementPoint>> {
        let buckets = Buckets::new(&rollup)?;
        let last = {
            let t = self.tables();
            series_last(&buckets, t.engagement.values().filter(|s| s.team_id == rollup.team && s.time < buckets.end()))
        };
        Ok(team_engagement_points(&buckets, last))
    }

    async fn best_time_to_post(&self, query: BestTimeQuery) -> Result<Vec<BestTimeCell>> {
        query.check()?;
        let early = {
            let t = self.tables();
            let mut series: BTreeMap<(PostId, Platform), Vec<&EngagementSnapshot>> = BTreeMap::new();
            for s in t.engagement.values().filter(|s| s.team_id == query.team) {
                if query.platform.is_none_or(|p| p == s.platform) {
                    series.entry((s.post_id, s.platform)).or_default().push(s);
                }
            }
            let mut early = Vec::new();
            for ((post_id, platform), mut rows) in series {
                let Some(published_at) = rows.iter().map(|s| s.published_at).min() else { continue };
                if !query.published.contains(published_at) {
                    continue;
                }
                rows.sort_by_key(|s| s.time);
                let window_end = published_at + query.window();
                let gained = rows
                    .iter()
                    .filter(|s| published_at <= s.time && s.time <= window_end)
                    .filter_map(|s| s.counts.get(query.counter))
                    .next_back();
                early.push(EarlyEngagement { post_id, platform, published_at, gained });
            }
            early
        };
        Ok(best_time_grid(query.zone, early))
    }

    fn engagement_snapshots(
        &self,
        team: TeamId,
        range: Period,
        post: Option<PostId>,
    ) -> BoxStream<'_, Result<EngagementSnapshot>> {
        let mut rows: Vec<EngagementSnapshot> = self
            .tables()
            .engagement
            .values()
            .filter(|s| s.team_id == team && range.contains(s.time) && post.is_none_or(|p| p == s.post_id))
            .cloned()
            .collect();
        rows.sort_by(|a, b| (a.time, a.post_id, a.platform.as_str()).cmp(&(b.time, b.post_id, b.platform.as_str())));
        stream::iter(rows.into_iter().map(Ok)).boxed()
    }
}

#[async_trait]
impl PerformanceReader for MemoryAnalytics {
    async fn service_performance(&self, query: PerformanceQuery) -> Result<Vec<PerformanceBucket>> {
        let buckets = performance_buckets(&query)?;
        let mut groups: BTreeMap<(usize, String, String), (Vec<i64>, i64)> = BTreeMap::new();
        {
            let t = self.tables();
            for r in t.performance.values() {
                if query.service.as_ref().is_some_and(|s| *s != r.service_name) {
                    continue;
                }
                let Some(i) = buckets.index_of(r.time) else { continue };
                let g = groups.entry((i, r.service_name.clone(), r.endpoint.clone())).or_default();
                g.0.push(micros(r.response_time));
                g.1 = g.1.saturating_add(i64::from(r.error_count));
            }
        }
        Ok(groups
            .into_iter()
            .map(|((i, service_name, endpoint), (mut times, errors))| {
                times.sort_unstable();
                let p = |q: f64| percentile_cont(&times, q).unwrap_or(0.0);
                PerformanceBucket {
                    bucket: buckets.starts()[i],
                    service_name,
                    endpoint,
                    requests: times.len() as u64,
                    errors,
                    p50_us: p(0.5),
                    p95_us: p(0.95),
                    p99_us: p(0.99),
                }
            })
            .collect())
    }
}

#[async_trait]
impl AiMetricsReader for MemoryAnalytics {
    async fn ai_rollup(&self, rollup: Rollup) -> Result<Vec<AiBucket>> {
        let buckets = Buckets::new(&rollup)?;
        let mut groups: BTreeMap<(usize, &'static str, String), AiSums> = BTreeMap::new();
        {
            let t = self.tables();
            for r in t.ai_metrics.values().filter(|r| r.team_id == rollup.team) {
                let Some(i) = buckets.index_of(r.time) else { continue };
                let sums = groups.entry((i, r.feature_type.as_str(), r.model_used.clone())).or_insert_with(|| AiSums {
                    bucket: i,
                    feature_type: r.feature_type,
                    model_used: r.model_used.clone(),
                    requests: 0,
                    tokens: 0,
                    cost: Decimal::ZERO,
                    success_sum: 0.0,
                    response_us_sum: 0,
                });
                sums.requests += 1;
                sums.tokens = sums.tokens.saturating_add(i64::from(r.tokens_used));
                sums.cost += r.cost;
                sums.success_sum += r.success_rate;
                sums.response_us_sum = sums.response_us_sum.saturating_add(micros(r.response_time));
            }
        }
        Ok(groups.into_values().map(|s| s.finish(&buckets)).collect())
    }
}

#[async_trait]
impl CostReader for MemoryAnalytics {
    async fn cost_totals(&self, team: TeamId, range: Period) -> Result<Vec<CostTotal>> {
        let mut groups: BTreeMap<(String, String, String), (Decimal, u64)> = BTreeMap::new();
        {
            let t = self.tables();
            for c in t.costs.values().filter(|c| c.team_id == team && range.contains(c.time)) {
                let g = groups
                    .entry((c.billing_period.clone(), c.service_type.clone(), c.currency.clone()))
                    .or_insert((Decimal::ZERO, 0));
                g.0 += c.cost_amount;
                g.1 += 1;
            }
        }
        Ok(groups
            .into_iter()
            .map(|((billing_period, service_type, currency), (amount, entries))| CostTotal {
                billing_period,
                service_type,
                currency,
                amount,
                entries,
            })
            .collect())
    }
}

#[async_trait]
impl EventReader for MemoryAnalytics {
    async fn event_counts(&self, rollup: Rollup) -> Result<Vec<EventCount>> {
        let buckets = Buckets::new(&rollup)?;
        // Platforms in their stored strings' order, `None` first.
        let mut groups: BTreeMap<(usize, String, Option<&'static str>), (Option<Platform>, u64)> = BTreeMap::new();
        {
            let t = self.tables();
            for e in t.events.values().filter(|e| e.team_id == rollup.team) {
                let Some(i) = buckets.index_of(e.time) else { continue };
                let g = groups
                    .entry((i, e.event_type.clone(), e.platform.map(Platform::as_str)))
                    .or_insert((e.platform, 0));
                g.1 += 1;
            }
        }
        Ok(groups
            .into_iter()
            .map(|((i, event_type, _), (platform, count))| EventCount {
                bucket: buckets.starts()[i],
                event_type,
                platform,
                count,
            })
            .collect())
    }

    async fn distinct_users(&self, rollup: Rollup) -> Result<Vec<DistinctUsers>> {
        let buckets = Buckets::new(&rollup)?;
        let mut users: BTreeMap<usize, BTreeSet<UserId>> = BTreeMap::new();
        {
            let t = self.tables();
            for e in t.events.values().filter(|e| e.team_id == rollup.team) {
                if let (Some(i), Some(user)) = (buckets.index_of(e.time), e.user_id) {
                    users.entry(i).or_default().insert(user);
                }
            }
        }
        Ok(distinct_users_filled(&buckets, users.into_iter().map(|(i, set)| (i, set.len() as u64))))
    }
}

#[async_trait]
impl MetricReader for MemoryAnalytics {
    async fn metric_rollup(&self, rollup: Rollup, query: MetricQuery) -> Result<Vec<MetricBucket>> {
        let buckets = Buckets::new(&rollup)?;
        // Per bucket: samples, min, max, sum, and (time, value) of the last sample.
        let mut groups: BTreeMap<usize, (u64, f64, f64, f64, (DateTime<Utc>, f64))> = BTreeMap::new();
        {
            let t = self.tables();
            let mut rows: Vec<&Metric> = t
                .metrics
                .values()
                .filter(|m| {
                    m.team_id == rollup.team
                        && m.metric_name == query.metric_name
                        && json_contains(&m.dimensions, &query.dimensions)
                })
                .collect();
            // A fixed order, so the floating-point sum does not depend on the map's.
            rows.sort_by(|a, b| a.time.cmp(&b.time).then(a.metric_value.total_cmp(&b.metric_value)));
            for m in rows {
                let Some(i) = buckets.index_of(m.time) else { continue };
                let v = m.metric_value;
                let g = groups.entry(i).or_insert((0, v, v, 0.0, (m.time, v)));
                g.0 += 1;
                g.1 = g.1.min(v);
                g.2 = g.2.max(v);
                g.3 += v;
                // Rows come by time, then value: the last one seen is the latest, the largest
                // value among samples at that instant.
                g.4 = (m.time, v);
            }
        }
        Ok(groups
            .into_iter()
            .map(|(i, (samples, min, max, sum, (_, last)))| MetricBucket {
                bucket: buckets.starts()[i],
                samples,
                min,
                max,
                sum,
                last,
            })
            .collect())
    }
}

#[async_trait]
impl AnalyticsMaintenance for MemoryAnalytics {
    async fn refresh_rollups(&self, _window: Period) -> Result<()> {
        Ok(())
    }

    async fn drop_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut t = self.tables();
        let mut dropped = 0u64;
        macro_rules! retain {
            ($table:ident) => {{
                let n = t.$table.len();
                t.$table.retain(|_, r| r.time >= before);
                dropped += (n - t.$table.len()) as u64;
            }};
        }
        retain!(events);
        retain!(metrics);
        retain!(performance);
        retain!(engagement);
        retain!(ai_metrics);
        retain!(costs);
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn containment_follows_jsonb() {
        let stored = serde_json::json!({ "a": 1, "b": { "c": [1, 2, { "d": "x" }] } });
        assert!(json_contains(&stored, &serde_json::json!({})));
        assert!(json_contains(&stored, &serde_json::json!({ "a": 1.0 })));
        assert!(json_contains(&stored, &serde_json::json!({ "b": { "c": [{ "d": "x" }, 2] } })));
        assert!(!json_contains(&stored, &serde_json::json!({ "b": { "c": [3] } })));
        assert!(!json_contains(&stored, &serde_json::json!({ "a": "1" })));
        assert!(!json_contains(&stored, &serde_json::json!([])));
        assert_eq!(canonical(&serde_json::json!({ "b": 1, "a": { "d": 2, "c": 3 } })), r#"{"a":{"c":3,"d":2},"b":1}"#);
    }

    #[tokio::test]
    async fn drop_before_counts_the_rows_it_drops() {
        let a = MemoryAnalytics::new();
        let team = TeamId::new();
        let t = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).single().unwrap_or_else(|| panic!("a time"));
        let events = vec![Event::new(team, "a", t), Event::new(team, "b", t + Duration::hours(1))];
        a.append_events(events).await.unwrap_or_else(|e| panic!("{e}"));
        let metrics = vec![Metric::new(team, "m", 1.0, t), Metric::new(team, "m", 2.0, t - Duration::days(1))];
        a.append_metrics(metrics).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.drop_before(t + Duration::minutes(1)).await.unwrap_or_else(|e| panic!("{e}")), 3);
        assert_eq!(a.drop_before(t + Duration::minutes(1)).await.unwrap_or_else(|e| panic!("{e}")), 0);
        assert_eq!(a.tables().events.len(), 1);
    }
}
