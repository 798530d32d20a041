//! The analytics ports: one writer and one small reader per concern.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use super::buckets::Rollup;
use super::rollups::{
    AiBucket, BestTimeCell, BestTimeQuery, CostTotal, DistinctUsers, EngagementPoint, EventCount, MetricBucket,
    MetricQuery, PerformanceBucket, PerformanceQuery, PostSeries, TeamEngagementPoint,
};
use super::rows::{AiMetric, Cost, EngagementSnapshot, Event, Metric, Performance};
use crate::error::Result;
use crate::ids::{PostId, TeamId};
use crate::model::Period;

/// Appends rows to the six analytics tables, a batch at a time.
///
/// Every backend checks the whole batch first ([`check_batch`](super::check_batch)) and writes
/// nothing when a row is refused. A row whose key is already stored replaces it (see the key
/// table in [`rows`](super::rows)); within one batch, the later of two rows with the same key
/// wins. Each call returns the number of rows in the batch.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AnalyticsWriter: Send + Sync {
    /// Append product events.
    async fn append_events(&self, rows: Vec<Event>) -> Result<u64>;
    /// Append metric samples.
    async fn append_metrics(&self, rows: Vec<Metric>) -> Result<u64>;
    /// Append request timings.
    async fn append_performance(&self, rows: Vec<Performance>) -> Result<u64>;
    /// Append engagement snapshots.
    async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> Result<u64>;
    /// Append AI request metrics.
    async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> Result<u64>;
    /// Append cost entries.
    async fn append_costs(&self, rows: Vec<Cost>) -> Result<u64>;
}

/// Reads engagement: per-post history, team totals, best time to post, raw snapshots.
#[async_trait]
pub trait EngagementReader: Send + Sync {
    /// One post's counters per bucket (gap-filled), per platform.
    async fn post_engagement(&self, rollup: Rollup, series: PostSeries) -> Result<Vec<EngagementPoint>>;

    /// The team's counters per bucket (gap-filled), per platform, summed over its posts.
    async fn team_engagement(&self, rollup: Rollup) -> Result<Vec<TeamEngagementPoint>>;

    /// The 7 x 24 grid of engagement gained early, by local weekday and hour of publication.
    async fn best_time_to_post(&self, query: BestTimeQuery) -> Result<Vec<BestTimeCell>>;

    /// The team's raw snapshots with `time` in `range`, oldest first (then by post and
    /// platform), optionally of one post, streamed (for export).
    fn engagement_snapshots(
        &self,
        team: TeamId,
        range: Period,
        post: Option<PostId>,
    ) -> BoxStream<'_, Result<EngagementSnapshot>>;
}

/// Reads service performance (not team-owned).
#[async_trait]
pub trait PerformanceReader: Send + Sync {
    /// Requests, errors and p50/p95/p99 per endpoint per minute or hour, ordered by bucket,
    /// service, endpoint; buckets without requests are absent.
    async fn service_performance(&self, query: PerformanceQuery) -> Result<Vec<PerformanceBucket>>;
}

/// Reads AI usage metrics.
#[async_trait]
pub trait AiMetricsReader: Send + Sync {
    /// Tokens, cost, success rate and mean response time per bucket, feature and model,
    /// ordered by bucket, feature, model; empty buckets are absent.
    async fn ai_rollup(&self, rollup: Rollup) -> Result<Vec<AiBucket>>;
}

/// Reads costs.
#[async_trait]
pub trait CostReader: Send + Sync {
    /// Costs with `time` in `range` per billing period, service type and currency, ordered by
    /// those three.
    async fn cost_totals(&self, team: TeamId, range: Period) -> Result<Vec<CostTotal>>;
}

/// Reads product events.
#[async_trait]
pub trait EventReader: Send + Sync {
    /// Events per bucket, type and platform, ordered by bucket, type, platform (`None` first);
    /// empty buckets are absent.
    async fn event_counts(&self, rollup: Rollup) -> Result<Vec<EventCount>>;

    /// Distinct users per bucket, every bucket present.
    async fn distinct_users(&self, rollup: Rollup) -> Result<Vec<DistinctUsers>>;
}

/// Reads open metric series.
#[async_trait]
pub trait MetricReader: Send + Sync {
    /// Count, min, max, sum and last value per bucket of one series, ordered by bucket; empty
    /// buckets are absent.
    async fn metric_rollup(&self, rollup: Rollup, query: MetricQuery) -> Result<Vec<MetricBucket>>;
}

/// Upkeep of a backend's pre-aggregated rollups.
#[async_trait]
pub trait AnalyticsMaintenance: Send + Sync {
    /// Bring the pre-aggregated rollups up to date for rows with `time` in `window`, so late
    /// rows (older than the live, not yet materialised part) show in reads. Readers always see
    /// rows newer than what was last refreshed without a refresh. A no-op where nothing is
    /// pre-aggregated (memory).
    async fn refresh_rollups(&self, window: Period) -> Result<()>;

    /// Delete rows older than `before` from every analytics table (retention), returning how
    /// many were dropped where the backend can tell (chunk drops count 0 rows).
    async fn drop_before(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Every analytics port, for code that wants one bound.
pub trait Analytics:
    AnalyticsWriter
    + EngagementReader
    + PerformanceReader
    + AiMetricsReader
    + CostReader
    + EventReader
    + MetricReader
    + AnalyticsMaintenance
{
}

impl<T> Analytics for T where
    T: AnalyticsWriter
        + EngagementReader
        + PerformanceReader
        + AiMetricsReader
        + CostReader
        + EventReader
        + MetricReader
        + AnalyticsMaintenance
{
}
