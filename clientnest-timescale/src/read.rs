//! Every analytics reader.
//!
//! Bucket edges come from core: each reader builds [`Buckets::new`] in Rust and passes
//! `buckets.boundaries()` (the starts and the end) as a `timestamptz[]`; SQL assigns a row to
//! bucket `width_bucket(time, $boundaries) - 1` and reads only `time >= first AND time < end`
//! (engagement also reads before `first`: `width_bucket` gives those rows bucket `-1`, "before
//! the range"). SQL aggregates only as far as core's inputs (last values, sums, counts,
//! `percentile_cont` on the microsecond `bigint`), and core's functions finish, so both
//! flavours and the memory backend give the same numbers.
//!
//! Engagement and AI rollups read the hourly rollups (`clientnest_engagement_hourly` /
//! `clientnest_ai_metrics_hourly`: a continuous aggregate with real-time aggregation, or the
//! plain flavour's materialised table below its watermark plus raw rows above) when every
//! boundary is a whole UTC hour ([`Buckets::on_whole_hours`]), and the raw tables otherwise
//! (a Kathmandu day starts at :15). Engagement on TimescaleDB names the continuous aggregate
//! directly rather than through the function (so its watermark is planned as a constant), and
//! looks the values before the range up per series (`ENGAGEMENT_LAST`).

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::Error;
use clientnest_core::Result;
use clientnest_core::analytics::{
    AiBucket, AiMetricsReader, AiSums, BestTimeCell, BestTimeQuery, Bucket, Buckets, CostReader, CostTotal,
    DistinctUsers, EarlyEngagement, EngagementCounts, EngagementPoint, EngagementReader, EngagementSnapshot,
    EventCount, EventReader, MetricBucket, MetricQuery, MetricReader, PerformanceBucket, PerformanceQuery,
    PerformanceReader, PostSeries, Rollup, SeriesLast, TeamEngagementPoint, best_time_grid, distinct_users_filled,
    engagement_points, sort_in_port_order, team_engagement_points,
};
use clientnest_core::ids::{PostId, TeamId};
use clientnest_core::model::{FeatureType, Period, Platform};
use clientnest_core::validate::rule;
use futures::StreamExt;
use futures::stream::BoxStream;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

use crate::config::Flavour;
use crate::error::{corrupt, map_sqlx};
use crate::store::TimescaleStore;

/// The last reported value of each counter per series and bucket, and before the range.
/// `$1` team, `$2` boundaries, `$3` end, `$4` post or NULL, `$5` platform or NULL, `$6` first.
///
/// A template over two row sources with the columns `post_id, platform, t, likes, ..,
/// impressions`: `{range}`, the team's rows in `[$6, $3)`, grouped per bucket; and `{before}`,
/// the team's rows before `$6`, from which only the last reported value of each counter per
/// series is wanted. Those are found per series (a skip scan over the series' key, then one
/// backward index probe per counter, stopping at the first report) instead of aggregating the
/// team's whole history; the numbers are the same.
const ENGAGEMENT_LAST: &str = r#"
WITH RECURSIVE series AS ({series})
SELECT r.post_id, r.platform, width_bucket(r.t, $2::timestamptz[]) - 1 AS bucket,
       (array_agg(r.likes ORDER BY r.t DESC) FILTER (WHERE r.likes IS NOT NULL))[1] AS likes,
       (array_agg(r.comments ORDER BY r.t DESC) FILTER (WHERE r.comments IS NOT NULL))[1] AS comments,
       (array_agg(r.shares ORDER BY r.t DESC) FILTER (WHERE r.shares IS NOT NULL))[1] AS shares,
       (array_agg(r.views ORDER BY r.t DESC) FILTER (WHERE r.views IS NOT NULL))[1] AS views,
       (array_agg(r.reach ORDER BY r.t DESC) FILTER (WHERE r.reach IS NOT NULL))[1] AS reach,
       (array_agg(r.impressions ORDER BY r.t DESC) FILTER (WHERE r.impressions IS NOT NULL))[1] AS impressions
FROM {range} r
WHERE ($4::uuid IS NULL OR r.post_id = $4) AND ($5::text IS NULL OR r.platform = $5)
GROUP BY r.post_id, r.platform, bucket
UNION ALL
SELECT s.post_id, s.platform, -1 AS bucket,
       (SELECT b.likes FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.likes IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS likes,
       (SELECT b.comments FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.comments IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS comments,
       (SELECT b.shares FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.shares IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS shares,
       (SELECT b.views FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.views IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS views,
       (SELECT b.reach FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.reach IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS reach,
       (SELECT b.impressions FROM {before} b WHERE b.post_id = s.post_id AND b.platform = s.platform
        AND b.impressions IS NOT NULL ORDER BY b.t DESC LIMIT 1) AS impressions
FROM series s"#;

/// [`ENGAGEMENT_LAST`]'s series over the raw table: a skip scan along the key, one index
/// probe per series.
const SERIES_SKIP_SCAN: &str = r#"
    (SELECT b.post_id, b.platform FROM {before} b
     WHERE ($4::uuid IS NULL OR b.post_id = $4) AND ($5::text IS NULL OR b.platform = $5)
     ORDER BY b.post_id, b.platform LIMIT 1)
    UNION ALL
    SELECT n.post_id, n.platform
    FROM series s, LATERAL (
        SELECT b.post_id, b.platform FROM {before} b
        WHERE (b.post_id, b.platform) > (s.post_id, s.platform)
          AND ($4::uuid IS NULL OR b.post_id = $4) AND ($5::text IS NULL OR b.platform = $5)
        ORDER BY b.post_id, b.platform LIMIT 1) n
"#;

/// [`ENGAGEMENT_LAST`]'s series over an hourly rollup (whose view or function hides the key's
/// order from the planner, so a skip scan would sort per step): one pass over its rows.
const SERIES_DISTINCT: &str = r#"
    SELECT DISTINCT b.post_id, b.platform FROM {before} b
    WHERE ($4::uuid IS NULL OR b.post_id = $4) AND ($5::text IS NULL OR b.platform = $5)
"#;

/// The plain flavour's hourly path: one pass over the rollup function's rows (whole history),
/// which measured faster there than the per-series probes of [`ENGAGEMENT_LAST`] (the planner
/// does not keep the rollup key's order through the function's `UNION ALL`). Same parameters.
const ENGAGEMENT_LAST_PLAIN_HOURLY: &str = r#"
SELECT post_id, platform, width_bucket(hour, $2::timestamptz[]) - 1 AS bucket,
       (array_agg(likes ORDER BY hour DESC) FILTER (WHERE likes IS NOT NULL))[1] AS likes,
       (array_agg(comments ORDER BY hour DESC) FILTER (WHERE comments IS NOT NULL))[1] AS comments,
       (array_agg(shares ORDER BY hour DESC) FILTER (WHERE shares IS NOT NULL))[1] AS shares,
       (array_agg(views ORDER BY hour DESC) FILTER (WHERE views IS NOT NULL))[1] AS views,
       (array_agg(reach ORDER BY hour DESC) FILTER (WHERE reach IS NOT NULL))[1] AS reach,
       (array_agg(impressions ORDER BY hour DESC) FILTER (WHERE impressions IS NOT NULL))[1] AS impressions
FROM "{schema}".clientnest_engagement_hourly($1, '-infinity', $3)
WHERE ($4::uuid IS NULL OR post_id = $4) AND ($5::text IS NULL OR platform = $5)
GROUP BY post_id, platform, bucket"#;

/// The columns every row source of [`ENGAGEMENT_LAST`] selects, `{t}` its time column.
const ENGAGEMENT_SOURCE_COLUMNS: &str =
    "post_id, platform, {t} AS t, likes, comments, shares, views, reach, impressions";

/// Per (post, platform) of the team first published in `[$2, $3)` (optionally on platform
/// `$4`): the publication and the last reported `{counter}` within `$5` hours of it.
const BEST_TIME: &str = r#"
WITH series AS (
    SELECT post_id, platform, min(published_at) AS published_at
    FROM "{schema}".engagement
    WHERE team_id = $1 AND ($4::text IS NULL OR platform = $4)
    GROUP BY post_id, platform
    HAVING min(published_at) >= $2 AND min(published_at) < $3
)
SELECT s.post_id, s.platform, s.published_at,
       (SELECT e.{counter} FROM "{schema}".engagement e
        WHERE e.team_id = $1 AND e.post_id = s.post_id AND e.platform = s.platform
          AND e.time >= s.published_at AND e.time <= s.published_at + make_interval(hours => $5)
          AND e.{counter} IS NOT NULL
        ORDER BY e.time DESC LIMIT 1) AS gained
FROM series s"#;

/// The export: the team's snapshots in `[$2, $3)`, oldest first, then by post and platform
/// (core's order of platforms, `$5`), of one post `$4` or all (NULL).
pub(crate) const SNAPSHOTS: &str = r#"
SELECT time, team_id, post_id, platform, published_at, likes, comments, shares, views, reach, impressions, extra
FROM "{schema}".engagement
WHERE team_id = $1 AND time >= $2 AND time < $3 AND ($4::uuid IS NULL OR post_id = $4)
ORDER BY time, post_id, array_position($5::text[], platform)"#;

/// Requests per bucket, service and endpoint with their percentiles. `$1` boundaries, `$2`
/// first, `$3` end, `$4` service or NULL.
const PERFORMANCE: &str = r#"
SELECT width_bucket(time, $1::timestamptz[]) - 1 AS bucket, service_name, endpoint,
       count(*) AS requests, sum(error_count)::bigint AS errors,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY response_time) AS pct
FROM "{schema}".performance
WHERE time >= $2 AND time < $3 AND ($4::text IS NULL OR service_name = $4)
GROUP BY 1, 2, 3"#;

/// AI sums per bucket, feature and model from the raw table. `$1` team, `$2` boundaries, `$3`
/// first, `$4` end.
const AI_RAW: &str = r#"
SELECT width_bucket(time, $2::timestamptz[]) - 1 AS bucket, feature_type, model_used,
       count(*) AS requests, sum(tokens_used)::bigint AS tokens, sum(cost) AS cost,
       sum(success_rate) AS success_sum, sum(response_time)::bigint AS response_us_sum
FROM "{schema}".ai_metrics
WHERE team_id = $1 AND time >= $3 AND time < $4
GROUP BY 1, 2, 3"#;

/// The same from the hourly rollup. Same parameters.
const AI_HOURLY: &str = r#"
SELECT width_bucket(hour, $2::timestamptz[]) - 1 AS bucket, feature_type, model_used,
       sum(requests)::bigint AS requests, sum(tokens)::bigint AS tokens, sum(cost) AS cost,
       sum(success_sum) AS success_sum, sum(response_us_sum)::bigint AS response_us_sum
FROM "{schema}".clientnest_ai_metrics_hourly($1, $3, $4)
GROUP BY 1, 2, 3"#;

/// Costs per period, service type and currency. `$1` team, `$2` start, `$3` end.
const COSTS: &str = r#"
SELECT billing_period, service_type, currency, sum(cost_amount) AS amount, count(*) AS entries
FROM "{schema}".costs
WHERE team_id = $1 AND time >= $2 AND time < $3
GROUP BY 1, 2, 3"#;

/// Events per bucket, type and platform. `$1` team, `$2` boundaries, `$3` first, `$4` end.
const EVENTS: &str = r#"
SELECT width_bucket(time, $2::timestamptz[]) - 1 AS bucket, event_type, platform, count(*) AS n
FROM "{schema}".events
WHERE team_id = $1 AND time >= $3 AND time < $4
GROUP BY 1, 2, 3"#;

/// Distinct users per bucket. Same parameters.
const DISTINCT_USERS: &str = r#"
SELECT width_bucket(time, $2::timestamptz[]) - 1 AS bucket, count(DISTINCT user_id) AS n
FROM "{schema}".events
WHERE team_id = $1 AND time >= $3 AND time < $4
GROUP BY 1"#;

/// One series' samples per bucket. `$1` team, `$2` boundaries, `$3` first, `$4` end, `$5`
/// metric name, `$6` dimensions contained (`@>`).
const METRICS: &str = r#"
SELECT width_bucket(time, $2::timestamptz[]) - 1 AS bucket, count(*) AS samples,
       min(metric_value) AS min, max(metric_value) AS max, sum(metric_value) AS sum,
       (array_agg(metric_value ORDER BY time DESC, metric_value DESC))[1] AS last
FROM "{schema}".metrics
WHERE team_id = $1 AND metric_name = $5 AND dimensions @> $6 AND time >= $3 AND time < $4
GROUP BY 1"#;

/// [`ENGAGEMENT_LAST`] over the raw table, or over the hourly rollup when the boundaries are
/// on whole hours: TimescaleDB's continuous aggregate is named directly (so the planner sees its
/// watermark as a constant; through a SQL function it is re-evaluated per row); the plain
/// flavour's hourly path is [`ENGAGEMENT_LAST_PLAIN_HOURLY`].
fn engagement_last_sql(hourly: bool, flavour: Flavour) -> String {
    let columns = |t: &str| ENGAGEMENT_SOURCE_COLUMNS.replace("{t}", t);
    let (before, range) = match (hourly, flavour) {
        (false, _) => {
            let c = columns("time");
            (
                format!(r#"(SELECT {c} FROM "{{schema}}".engagement WHERE team_id = $1 AND time < $6)"#),
                format!(r#"(SELECT {c} FROM "{{schema}}".engagement WHERE team_id = $1 AND time >= $6 AND time < $3)"#),
            )
        }
        (true, Flavour::TimescaleDb) => {
            let c = columns("hour");
            (
                format!(r#"(SELECT {c} FROM "{{schema}}".engagement_hourly WHERE team_id = $1 AND hour < $6)"#),
                format!(
                    r#"(SELECT {c} FROM "{{schema}}".engagement_hourly WHERE team_id = $1 AND hour >= $6 AND hour < $3)"#
                ),
            )
        }
        (true, Flavour::Plain) => return ENGAGEMENT_LAST_PLAIN_HOURLY.to_owned(),
    };
    let series = if hourly { SERIES_DISTINCT } else { SERIES_SKIP_SCAN };
    ENGAGEMENT_LAST.replace("{series}", series).replace("{before}", &before).replace("{range}", &range)
}

/// A stored choice parsed into its enum, or a corrupt-row error naming `column`.
fn choice<T: FromStr>(row: &PgRow, column: &'static str) -> Result<T> {
    let text: String = row.try_get(column).map_err(map_sqlx)?;
    text.parse().map_err(|_| corrupt(column, text))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    column: &'static str,
) -> Result<T> {
    row.try_get(column).map_err(map_sqlx)
}

/// A bucket index from SQL: `Some(i)` for bucket `i`, `None` for "before the range" (`-1`).
fn bucket_index(row: &PgRow) -> Result<Option<usize>> {
    let b: i32 = get(row, "bucket")?;
    Ok(usize::try_from(b).ok())
}

impl TimescaleStore {
    /// A team rollup's query with its first four parameters bound: `$1` the team, `$2` the
    /// bucket boundaries, `$3` the first bucket's start, `$4` the last bucket's end.
    fn team_buckets_query(
        &self,
        template: &str,
        team: TeamId,
        buckets: &Buckets,
    ) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
        sqlx::query(self.sql(template))
            .bind(team.as_uuid())
            .bind(buckets.boundaries())
            .bind(buckets.first())
            .bind(buckets.end())
    }
}

/// A bucket index that must be inside the range.
fn in_range_bucket(row: &PgRow, buckets: &Buckets) -> Result<usize> {
    match bucket_index(row)? {
        Some(i) if i < buckets.len() => Ok(i),
        _ => Err(corrupt("bucket", "a row outside the rollup's range")),
    }
}

fn counts(row: &PgRow) -> Result<EngagementCounts> {
    let mut c = EngagementCounts::default();
    for counter in clientnest_core::analytics::EngagementCounter::ALL {
        c.0[counter.index()] = row.try_get::<Option<i64>, _>(counter.as_str()).map_err(map_sqlx)?;
    }
    Ok(c)
}

fn snapshot(row: &PgRow) -> Result<EngagementSnapshot> {
    Ok(EngagementSnapshot {
        time: get(row, "time")?,
        team_id: TeamId::from(get::<uuid::Uuid>(row, "team_id")?),
        post_id: PostId::from(get::<uuid::Uuid>(row, "post_id")?),
        platform: choice(row, "platform")?,
        published_at: get(row, "published_at")?,
        counts: counts(row)?,
        extra: get(row, "extra")?,
    })
}

/// The core order of platforms, for SQL's `array_position`.
fn platform_order() -> Vec<&'static str> {
    Platform::ALL.iter().map(|p| p.as_str()).collect()
}

impl TimescaleStore {
    /// The last values per series and bucket (and before the range) of the team's engagement.
    async fn engagement_last(
        &self,
        buckets: &Buckets,
        team: TeamId,
        post: Option<PostId>,
        platform: Option<Platform>,
    ) -> Result<Vec<SeriesLast>> {
        let sql = engagement_last_sql(buckets.on_whole_hours(), self.detected().await?.flavour);
        let rows = sqlx::query(self.sql(&sql))
            .bind(team.as_uuid())
            .bind(buckets.boundaries())
            .bind(buckets.end())
            .bind(post.map(|p| p.as_uuid()))
            .bind(platform.map(|p| p.as_str()))
            .bind(buckets.first())
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(SeriesLast {
                    post_id: PostId::from(get::<uuid::Uuid>(row, "post_id")?),
                    platform: choice(row, "platform")?,
                    bucket: bucket_index(row)?,
                    last: counts(row)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl EngagementReader for TimescaleStore {
    async fn post_engagement(&self, rollup: Rollup, series: PostSeries) -> Result<Vec<EngagementPoint>> {
        let buckets = Buckets::new(&rollup)?;
        let last = self.engagement_last(&buckets, rollup.team, Some(series.post), series.platform).await?;
        Ok(engagement_points(&buckets, last))
    }

    async fn team_engagement(&self, rollup: Rollup) -> Result<Vec<TeamEngagementPoint>> {
        let buckets = Buckets::new(&rollup)?;
        let last = self.engagement_last(&buckets, rollup.team, None, None).await?;
        Ok(team_engagement_points(&buckets, last))
    }

    async fn best_time_to_post(&self, query: BestTimeQuery) -> Result<Vec<BestTimeCell>> {
        query.check()?;
        let sql = AssertSqlSafe(self.sql(BEST_TIME).0.replace("{counter}", query.counter.as_str()));
        let rows = sqlx::query(sql)
            .bind(query.team.as_uuid())
            .bind(query.published.start)
            .bind(query.published.end)
            .bind(query.platform.map(|p| p.as_str()))
            .bind(i32::try_from(query.window_hours).unwrap_or(i32::MAX))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let early = rows
            .iter()
            .map(|row| {
                Ok(EarlyEngagement {
                    post_id: PostId::from(get::<uuid::Uuid>(row, "post_id")?),
                    platform: choice(row, "platform")?,
                    published_at: get(row, "published_at")?,
                    gained: get(row, "gained")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(best_time_grid(query.zone, early))
    }

    fn engagement_snapshots(
        &self,
        team: TeamId,
        range: Period,
        post: Option<PostId>,
    ) -> BoxStream<'_, Result<EngagementSnapshot>> {
        sqlx::query(self.snapshots_sql())
            .bind(team.as_uuid())
            .bind(range.start)
            .bind(range.end)
            .bind(post.map(|p| p.as_uuid()))
            .bind(platform_order())
            .fetch(self.pool())
            .map(|row| row.map_err(map_sqlx).and_then(|row| snapshot(&row)))
            .boxed()
    }
}

#[async_trait]
impl PerformanceReader for TimescaleStore {
    async fn service_performance(&self, query: PerformanceQuery) -> Result<Vec<PerformanceBucket>> {
        if !matches!(query.bucket, Bucket::Minute | Bucket::Hour) {
            return Err(Error::invalid("bucket", rule::RANGE, "service performance is per minute or per hour"));
        }
        let buckets = Buckets::new(&Rollup::new(TeamId::from(uuid::Uuid::nil()), query.range, query.bucket))?;
        let rows = sqlx::query(self.sql(PERFORMANCE))
            .bind(buckets.boundaries())
            .bind(buckets.first())
            .bind(buckets.end())
            .bind(query.service.as_deref())
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut out = rows
            .iter()
            .map(|row| {
                let pct: Vec<f64> = get(row, "pct")?;
                let [p50, p95, p99] = pct[..] else { return Err(corrupt("pct", format!("{pct:?}"))) };
                Ok(PerformanceBucket {
                    bucket: buckets.starts()[in_range_bucket(row, &buckets)?],
                    service_name: get(row, "service_name")?,
                    endpoint: get(row, "endpoint")?,
                    requests: u64::try_from(get::<i64>(row, "requests")?).unwrap_or(0),
                    errors: get(row, "errors")?,
                    p50_us: p50,
                    p95_us: p95,
                    p99_us: p99,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_in_port_order(&mut out);
        Ok(out)
    }
}

#[async_trait]
impl AiMetricsReader for TimescaleStore {
    async fn ai_rollup(&self, rollup: Rollup) -> Result<Vec<AiBucket>> {
        let buckets = Buckets::new(&rollup)?;
        let template = if buckets.on_whole_hours() { AI_HOURLY } else { AI_RAW };
        let rows =
            self.team_buckets_query(template, rollup.team, &buckets).fetch_all(self.pool()).await.map_err(map_sqlx)?;
        let sums = rows
            .iter()
            .map(|row| {
                Ok(AiSums {
                    bucket: in_range_bucket(row, &buckets)?,
                    feature_type: choice::<FeatureType>(row, "feature_type")?,
                    model_used: get(row, "model_used")?,
                    requests: get(row, "requests")?,
                    tokens: get(row, "tokens")?,
                    cost: get::<Decimal>(row, "cost")?.normalize(),
                    success_sum: get(row, "success_sum")?,
                    response_us_sum: get(row, "response_us_sum")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out: Vec<AiBucket> = sums.into_iter().map(|s| s.finish(&buckets)).collect();
        sort_in_port_order(&mut out);
        Ok(out)
    }
}

#[async_trait]
impl CostReader for TimescaleStore {
    async fn cost_totals(&self, team: TeamId, range: Period) -> Result<Vec<CostTotal>> {
        let rows = sqlx::query(self.sql(COSTS))
            .bind(team.as_uuid())
            .bind(range.start)
            .bind(range.end)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok(CostTotal {
                    billing_period: get(row, "billing_period")?,
                    service_type: get(row, "service_type")?,
                    currency: get(row, "currency")?,
                    amount: get::<Decimal>(row, "amount")?.normalize(),
                    entries: u64::try_from(get::<i64>(row, "entries")?).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_in_port_order(&mut out);
        Ok(out)
    }
}

#[async_trait]
impl EventReader for TimescaleStore {
    async fn event_counts(&self, rollup: Rollup) -> Result<Vec<EventCount>> {
        let buckets = Buckets::new(&rollup)?;
        let rows =
            self.team_buckets_query(EVENTS, rollup.team, &buckets).fetch_all(self.pool()).await.map_err(map_sqlx)?;
        let mut out = rows
            .iter()
            .map(|row| {
                let platform: Option<String> = get(row, "platform")?;
                let platform = match platform {
                    Some(p) => Some(p.parse::<Platform>().map_err(|_| corrupt("platform", p))?),
                    None => None,
                };
                Ok(EventCount {
                    bucket: buckets.starts()[in_range_bucket(row, &buckets)?],
                    event_type: get(row, "event_type")?,
                    platform,
                    count: u64::try_from(get::<i64>(row, "n")?).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Platforms by their stored name, `None` first, as the port orders them.
        out.sort_by(|a, b| {
            (a.bucket, &a.event_type, a.platform.map(|p| p.as_str())).cmp(&(
                b.bucket,
                &b.event_type,
                b.platform.map(|p| p.as_str()),
            ))
        });
        Ok(out)
    }

    async fn distinct_users(&self, rollup: Rollup) -> Result<Vec<DistinctUsers>> {
        let buckets = Buckets::new(&rollup)?;
        let rows = self
            .team_buckets_query(DISTINCT_USERS, rollup.team, &buckets)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let counts = rows
            .iter()
            .map(|row| Ok((in_range_bucket(row, &buckets)?, u64::try_from(get::<i64>(row, "n")?).unwrap_or(0))))
            .collect::<Result<Vec<_>>>()?;
        Ok(distinct_users_filled(&buckets, counts))
    }
}

#[async_trait]
impl MetricReader for TimescaleStore {
    async fn metric_rollup(&self, rollup: Rollup, query: MetricQuery) -> Result<Vec<MetricBucket>> {
        let buckets = Buckets::new(&rollup)?;
        let rows = self
            .team_buckets_query(METRICS, rollup.team, &buckets)
            .bind(&query.metric_name)
            .bind(&query.dimensions)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok(MetricBucket {
                    bucket: buckets.starts()[in_range_bucket(row, &buckets)?],
                    samples: u64::try_from(get::<i64>(row, "samples")?).unwrap_or(0),
                    min: get(row, "min")?,
                    max: get(row, "max")?,
                    sum: get(row, "sum")?,
                    last: get(row, "last")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_in_port_order(&mut out);
        Ok(out)
    }
}

/// The end of the UTC hour holding the last instant before `t` (`t` itself on a whole hour).
pub(crate) fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let floored = secs - secs.rem_euclid(3600);
    let whole = floored == secs && t.timestamp_subsec_nanos() == 0;
    let end = if whole { secs } else { floored + 3600 };
    DateTime::from_timestamp(end, 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_hour_rounds_up_to_whole_hours() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(ceil_hour(t("2026-11-02T10:00:00Z")), t("2026-11-02T10:00:00Z"));
        assert_eq!(ceil_hour(t("2026-11-02T10:00:00.000001Z")), t("2026-11-02T11:00:00Z"));
        assert_eq!(ceil_hour(t("1900-01-01T00:59:59Z")), t("1900-01-01T01:00:00Z"));
    }
}
