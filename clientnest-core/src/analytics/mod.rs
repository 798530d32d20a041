//! Analytics: the six time-series tables of the seed (`events`, `metrics`, `performance`,
//! `engagement`, `ai_metrics`, `costs`), their writer and rollup readers.
//!
//! - [`rows`]: the row types, their keys and checks.
//! - [`buckets`]: buckets in a team's time zone, computed once for every backend.
//! - [`rollups`]: what readers return, and the rules (gains, gap filling, percentiles, the
//!   best-time grid) every backend applies the same way.
//! - [`ports`]: [`AnalyticsWriter`] and one small reader per concern.
//! - [`buffer`]: [`BufferedWriter`], a bounded, batching writer for hot paths.
//! - [`measure`]: [`Measured`], a decorator recording each port call as a `performance` row
//!   through the buffer.
//! - [`csv`]: CSV export of any rollup or raw row stream, streamed line by line.
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use clientnest_core::analytics::*;
//! use clientnest_core::ids::{PostId, TeamId};
//! use clientnest_core::model::{Period, Platform};
//!
//! let team = TeamId::new();
//! let post = PostId::new();
//! let published = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
//! let snap = |hours: i64, likes: i64| {
//!     EngagementSnapshot::new(team, post, Platform::Instagram, published, published + Duration::hours(hours))
//!         .with(EngagementCounter::Likes, likes)
//! };
//! // Cumulative likes: 10 on day one, 25 the next day, then one like deleted.
//! let rows = [snap(1, 10), snap(25, 25), snap(49, 24)];
//! let range = Period::new(published, published + Duration::days(3)).unwrap();
//! let buckets = Buckets::new(&Rollup::new(team, range, Bucket::Day)).unwrap();
//! let last = rows.iter().map(|s| SeriesLast {
//!     post_id: s.post_id,
//!     platform: s.platform,
//!     bucket: buckets.index_of(s.time),
//!     last: s.counts,
//! });
//! let gained: Vec<_> = engagement_points(&buckets, last)
//!     .iter()
//!     .map(|p| p.gained.get(EngagementCounter::Likes))
//!     .collect();
//! assert_eq!(gained, [Some(10), Some(15), Some(-1)]);
//! ```

pub mod buckets;
pub mod buffer;
pub mod csv;
pub mod measure;
pub mod ports;
pub mod rollups;
pub mod rows;

pub use self::csv::{CsvField, CsvRecord, csv_stream};
pub use buckets::{Bucket, Buckets, MAX_BUCKETS, Rollup, local_to_utc};
pub use buffer::{AnyRow, BufferClosed, BufferConfig, BufferStats, BufferedWriter, Overflow, RecordOutcome};
pub use measure::{DEFAULT_SERVICE, Measured, error_status, status_code};
pub use ports::{
    AiMetricsReader, Analytics, AnalyticsMaintenance, AnalyticsWriter, CostReader, EngagementReader, EventReader,
    MetricReader, PerformanceReader,
};
pub use rollups::{
    AiBucket, AiSums, BestTimeCell, BestTimeQuery, CostTotal, DistinctUsers, EarlyEngagement, EngagementPoint,
    EventCount, MAX_BEST_TIME_WINDOW_HOURS, MetricBucket, MetricQuery, PerformanceBucket, PerformanceQuery, PortOrder,
    PostSeries, SeriesLast, TeamEngagementPoint, best_time_grid, distinct_users_filled, engagement_points,
    percentile_cont, sort_in_port_order, team_engagement_points,
};
pub use rows::{
    AiMetric, AnalyticsRow, Cost, EngagementCounter, EngagementCounts, EngagementSnapshot, Event, MAX_DIMENSIONS_BYTES,
    MAX_JSON_DEPTH, MAX_RESPONSE_TIME, Metric, Performance, check_batch,
};

#[cfg(feature = "mock")]
pub use ports::MockAnalyticsWriter;
