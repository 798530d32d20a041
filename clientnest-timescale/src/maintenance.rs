//! [`AnalyticsMaintenance`] and the adapter's own upkeep: compression, retention, sizes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::Result;
use clientnest_core::analytics::AnalyticsMaintenance;
use clientnest_core::model::Period;

use sqlx::AssertSqlSafe;

use crate::config::Flavour;
use crate::error::map_sqlx;
use crate::read::ceil_hour;
use crate::schema::{HOURLY_ROLLUPS, TABLE_NAMES};
use crate::store::{Detected, TimescaleStore, finish};

/// The size of one analytics table on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableSize {
    /// The table (`engagement`, ...).
    pub table: &'static str,
    /// Bytes of the table with its indexes and TOAST (every chunk, compressed or not).
    pub total_bytes: i64,
    /// TimescaleDB: what compression did to the compressed chunks; `None` in the plain flavour
    /// or when no chunk is compressed.
    pub compression: Option<CompressionSize>,
}

/// Bytes of the compressed chunks of a hypertable before and after compression
/// (`hypertable_compression_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionSize {
    /// Chunks compressed.
    pub compressed_chunks: i64,
    /// Their total bytes before compression.
    pub before_bytes: i64,
    /// Their total bytes after.
    pub after_bytes: i64,
}

/// Plain: recompute the hourly rollups over a window. `$1` start, `$2` end.
const PLAIN_REFRESH: &str = r#"SELECT "{schema}".clientnest_refresh_rollups($1, $2)"#;

/// Plain: the retention function. `$1` the horizon.
const PLAIN_DROP_BEFORE: &str = r#"SELECT "{schema}".clientnest_drop_before($1)"#;

/// TimescaleDB: rows of one table older than `$1` (counted before their chunks go).
const COUNT_BEFORE: &str = r#"SELECT count(*) FROM "{schema}".{table} WHERE time < $1"#;

/// TimescaleDB: drop the chunks wholly older than `$1`.
const DROP_CHUNKS: &str =
    r#"SELECT count(*) FROM {ext}.drop_chunks('"{schema}".{table}', older_than => $1::timestamptz)"#;

/// TimescaleDB: delete what is left older than `$1` (in the chunk holding `$1`).
const DELETE_BEFORE: &str = r#"DELETE FROM "{schema}".{table} WHERE time < $1"#;

/// TimescaleDB: compress every chunk wholly older than `$1` not compressed yet.
const COMPRESS_BEFORE: &str = r#"
SELECT count({ext}.compress_chunk(c, if_not_compressed => true))
FROM {ext}.show_chunks('"{schema}".{table}', older_than => $1::timestamptz) AS c
WHERE NOT EXISTS (
    SELECT 1 FROM timescaledb_information.chunks ch
    WHERE ch.is_compressed AND format('%I.%I', ch.chunk_schema, ch.chunk_name)::regclass = c
)"#;

/// TimescaleDB: total bytes and compression stats of one hypertable.
const TS_SIZES: &str = r#"
SELECT (SELECT total_bytes FROM {ext}.hypertable_detailed_size('"{schema}".{table}')) AS total_bytes,
       s.number_compressed_chunks::bigint AS compressed_chunks,
       s.before_compression_total_bytes AS before_bytes,
       s.after_compression_total_bytes AS after_bytes
FROM (SELECT 1) one LEFT JOIN {ext}.hypertable_compression_stats('"{schema}".{table}') s ON true"#;

/// Plain: total bytes of one table.
const PLAIN_SIZE: &str = r#"SELECT pg_total_relation_size('"{schema}".{table}') AS total_bytes"#;

impl TimescaleStore {
    fn ts_sql(&self, template: &str, table: &str, d: &Detected) -> AssertSqlSafe<String> {
        AssertSqlSafe(self.sql(template).0.replace("{table}", table).replace("{ext}", &d.ext))
    }

    /// TimescaleDB: refresh each continuous aggregate from the beginning up to the end of the
    /// hour holding the last instant before `end`, but never into the current (hot) hour, which
    /// stays live as the refresh policies leave it. Only invalidated or never materialised hours
    /// are recomputed, so this is cheap when little changed, and no hour below the watermark is
    /// left unmaterialised. `CALL` outside any transaction, as TimescaleDB requires.
    async fn refresh_caggs(&self, d: &Detected, end: DateTime<Utc>) -> Result<()> {
        let end = ceil_hour(end).format("%Y-%m-%d %H:%M:%S+00");
        for cagg in HOURLY_ROLLUPS {
            let call = format!(
                "CALL {ext}.refresh_continuous_aggregate('\"{schema}\".{cagg}', NULL, \
                 least('{end}'::timestamptz, {ext}.time_bucket(INTERVAL '1 hour', now())))",
                ext = d.ext,
                schema = self.schema(),
            );
            sqlx::raw_sql(AssertSqlSafe(call)).execute(self.pool()).await.map_err(map_sqlx)?;
        }
        Ok(())
    }

    /// Compress every chunk whose rows are all older than `before` (TimescaleDB; the plain
    /// flavour has nothing to compress and returns 0). Returns the chunks newly compressed.
    /// Compressed chunks still take inserts, re-sent rows and deletes.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached, [`Error::Backend`](clientnest_core::Error::Backend) when compression fails.
    pub async fn compress_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let d = self.detected().await?;
        if d.flavour == Flavour::Plain {
            return Ok(0);
        }
        let mut total = 0i64;
        for table in TABLE_NAMES {
            let n: i64 = sqlx::query_scalar(self.ts_sql(COMPRESS_BEFORE, table, &d))
                .bind(before)
                .fetch_one(self.pool())
                .await
                .map_err(map_sqlx)?;
            total += n;
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// Apply the configured retention now: [`drop_before`](AnalyticsMaintenance::drop_before)
    /// `now - retention`. TimescaleDB also runs it in the background (a retention policy per
    /// table); the plain flavour has no scheduler, so call this from a periodic job.
    ///
    /// # Errors
    ///
    /// As [`drop_before`](AnalyticsMaintenance::drop_before).
    pub async fn drop_expired(&self) -> Result<u64> {
        let horizon = chrono::Duration::from_std(self.config().retention()).unwrap_or(chrono::Duration::MAX);
        let before = Utc::now().checked_sub_signed(horizon).unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.drop_before(before).await
    }

    /// Bytes on disk per analytics table, and for TimescaleDB what compression saved.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached.
    pub async fn table_sizes(&self) -> Result<Vec<TableSize>> {
        use sqlx::Row;
        let d = self.detected().await?;
        let mut out = Vec::with_capacity(TABLE_NAMES.len());
        for table in TABLE_NAMES {
            let (template, ts) = match d.flavour {
                Flavour::TimescaleDb => (TS_SIZES, true),
                Flavour::Plain => (PLAIN_SIZE, false),
            };
            let row = sqlx::query(self.ts_sql(template, table, &d)).fetch_one(self.pool()).await.map_err(map_sqlx)?;
            let total_bytes: Option<i64> = row.try_get("total_bytes").map_err(map_sqlx)?;
            let compression = if ts {
                let chunks: Option<i64> = row.try_get("compressed_chunks").map_err(map_sqlx)?;
                let before: Option<i64> = row.try_get("before_bytes").map_err(map_sqlx)?;
                let after: Option<i64> = row.try_get("after_bytes").map_err(map_sqlx)?;
                match (chunks, before, after) {
                    (Some(c), Some(b), Some(a)) if c > 0 => {
                        Some(CompressionSize { compressed_chunks: c, before_bytes: b, after_bytes: a })
                    }
                    _ => None,
                }
            } else {
                None
            };
            out.push(TableSize { table, total_bytes: total_bytes.unwrap_or(0), compression });
        }
        Ok(out)
    }
}

#[async_trait]
impl AnalyticsMaintenance for TimescaleStore {
    async fn refresh_rollups(&self, window: Period) -> Result<()> {
        let d = self.detected().await?;
        match d.flavour {
            Flavour::TimescaleDb => self.refresh_caggs(&d, window.end).await,
            Flavour::Plain => {
                sqlx::query(self.sql(PLAIN_REFRESH))
                    .bind(window.start)
                    .bind(window.end)
                    .execute(self.pool())
                    .await
                    .map_err(map_sqlx)?;
                Ok(())
            }
        }
    }

    async fn drop_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let d = self.detected().await?;
        match d.flavour {
            Flavour::Plain => {
                let n: i64 = sqlx::query_scalar(self.sql(PLAIN_DROP_BEFORE))
                    .bind(before)
                    .fetch_one(self.pool())
                    .await
                    .map_err(map_sqlx)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            Flavour::TimescaleDb => {
                let mut tx = self.begin().await?;
                let outcome = async {
                    let mut total = 0i64;
                    for table in TABLE_NAMES {
                        let n: i64 = sqlx::query_scalar(self.ts_sql(COUNT_BEFORE, table, &d))
                            .bind(before)
                            .fetch_one(&mut *tx)
                            .await?;
                        total += n;
                        sqlx::query(self.ts_sql(DROP_CHUNKS, table, &d)).bind(before).execute(&mut *tx).await?;
                        sqlx::query(self.ts_sql(DELETE_BEFORE, table, &d)).bind(before).execute(&mut *tx).await?;
                    }
                    Ok(total)
                }
                .await
                .map_err(map_sqlx);
                let total = finish(tx, outcome).await?;
                // The rollups must forget the dropped rows too.
                self.refresh_caggs(&d, before).await?;
                Ok(u64::try_from(total).unwrap_or(0))
            }
        }
    }
}
