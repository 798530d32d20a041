//! [`AnalyticsWriter`] by COPY.
//!
//! A batch is checked whole first ([`check_batch`]); a refused batch writes nothing. Then:
//!
//! - **fast path**: when no two rows of the batch share a key, the rows are COPYed straight into
//!   the table, in COPY statements of at most
//!   [`copy_chunk_rows`](crate::TimescaleConfig::with_copy_chunk_rows) rows, all in one
//!   transaction, the encoded text sent to the server in pieces of at most [`SEND_BYTES`];
//! - **staging path**: when the batch repeats a key, or the fast path hits a unique violation (a
//!   re-sent row), the transaction is rolled back and the batch is COPYed (in the same chunks)
//!   into a temporary staging table with its input order, then merged with
//!   `INSERT .. SELECT DISTINCT ON (key) .. ORDER BY key, ord DESC .. ON CONFLICT (key) DO UPDATE`:
//!   the later of two rows with one key wins, and a stored row is replaced.

use std::collections::HashSet;
use std::hash::Hash;

use async_trait::async_trait;
use clientnest_core::Result;
use clientnest_core::analytics::{
    AiMetric, AnalyticsRow, AnalyticsWriter, Cost, EngagementCounter, EngagementSnapshot, Event, Metric, Performance,
    check_batch,
};
use sqlx::{AssertSqlSafe, PgConnection};

use crate::copy::CopyBuf;
use crate::error::{is_unique_violation, map_sqlx};
use crate::store::{TimescaleStore, finish};

/// The most encoded bytes held before they are sent to the server (1 MiB).
pub const SEND_BYTES: usize = 1 << 20;

/// A row the writer can COPY: its columns, its key and its COPY text encoding.
pub(crate) trait CopyRow: AnalyticsRow {
    /// Every column, in encoding order.
    const COLUMNS: &'static [&'static str];
    /// The key columns (see the key table of `clientnest_core::analytics::rows`).
    const KEY: &'static [&'static str];
    /// The key's value, to spot rows repeating a key inside one batch.
    type Key: Hash + Eq;
    /// The row's key.
    fn key(&self) -> Self::Key;
    /// Encode the row's columns, in [`CopyRow::COLUMNS`] order, and end the row.
    fn encode(&self, out: &mut CopyBuf);
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl CopyRow for Event {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "time",
        "team_id",
        "user_id",
        "event_type",
        "event_data",
        "platform",
        "session_id",
        "ip_address",
        "user_agent",
    ];
    const KEY: &'static [&'static str] = &["time", "id"];
    type Key = (i64, uuid::Uuid);

    fn key(&self) -> Self::Key {
        (self.time.timestamp_micros(), self.id)
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.plain(self.id);
        out.time(self.time);
        out.plain(self.team_id.as_uuid());
        out.opt_plain(self.user_id.map(|u| u.as_uuid()));
        out.text(&self.event_type);
        out.json(&self.event_data);
        out.opt_text(self.platform.map(|p| p.as_str()));
        out.opt_text(self.session_id.as_deref());
        out.opt_plain(self.ip_address);
        out.opt_text(self.user_agent.as_deref());
        out.end_row();
    }
}

impl CopyRow for Metric {
    const COLUMNS: &'static [&'static str] =
        &["time", "team_id", "user_id", "metric_name", "metric_value", "dimensions", "tags"];
    const KEY: &'static [&'static str] = &["team_id", "metric_name", "dimensions", "time"];
    type Key = (uuid::Uuid, String, String, i64);

    fn key(&self) -> Self::Key {
        // serde_json objects keep sorted keys, so equal objects give equal text; the database's
        // jsonb equality is the final word (a miss here is caught as a unique violation).
        (self.team_id.as_uuid(), self.metric_name.clone(), self.dimensions.to_string(), self.time.timestamp_micros())
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.time(self.time);
        out.plain(self.team_id.as_uuid());
        out.opt_plain(self.user_id.map(|u| u.as_uuid()));
        out.text(&self.metric_name);
        out.plain(self.metric_value);
        out.json(&self.dimensions);
        out.text_array(&self.tags);
        out.end_row();
    }
}

impl CopyRow for Performance {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "time",
        "service_name",
        "endpoint",
        "response_time",
        "status_code",
        "error_count",
        "memory_usage",
        "cpu_usage",
    ];
    const KEY: &'static [&'static str] = &["time", "id"];
    type Key = (i64, uuid::Uuid);

    fn key(&self) -> Self::Key {
        (self.time.timestamp_micros(), self.id)
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.plain(self.id);
        out.time(self.time);
        out.text(&self.service_name);
        out.text(&self.endpoint);
        out.plain(micros(self.response_time));
        out.plain(self.status_code);
        out.plain(self.error_count);
        out.opt_plain(self.memory_usage);
        out.opt_plain(self.cpu_usage);
        out.end_row();
    }
}

impl CopyRow for EngagementSnapshot {
    const COLUMNS: &'static [&'static str] = &[
        "time",
        "team_id",
        "post_id",
        "platform",
        "published_at",
        "likes",
        "comments",
        "shares",
        "views",
        "reach",
        "impressions",
        "extra",
    ];
    const KEY: &'static [&'static str] = &["team_id", "post_id", "platform", "time"];
    type Key = (uuid::Uuid, uuid::Uuid, &'static str, i64);

    fn key(&self) -> Self::Key {
        (self.team_id.as_uuid(), self.post_id.as_uuid(), self.platform.as_str(), self.time.timestamp_micros())
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.time(self.time);
        out.plain(self.team_id.as_uuid());
        out.plain(self.post_id.as_uuid());
        out.text(self.platform.as_str());
        out.time(self.published_at);
        for c in EngagementCounter::ALL {
            out.opt_plain(self.counts.get(c));
        }
        out.json(&self.extra);
        out.end_row();
    }
}

impl CopyRow for AiMetric {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "time",
        "user_id",
        "team_id",
        "feature_type",
        "tokens_used",
        "cost",
        "model_used",
        "response_time",
        "success_rate",
    ];
    const KEY: &'static [&'static str] = &["time", "id"];
    type Key = (i64, uuid::Uuid);

    fn key(&self) -> Self::Key {
        (self.time.timestamp_micros(), self.id)
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.plain(self.id);
        out.time(self.time);
        out.plain(self.user_id.as_uuid());
        out.plain(self.team_id.as_uuid());
        out.text(self.feature_type.as_str());
        out.plain(self.tokens_used);
        out.plain(self.cost);
        out.text(&self.model_used);
        out.plain(micros(self.response_time));
        out.plain(self.success_rate);
        out.end_row();
    }
}

impl CopyRow for Cost {
    const COLUMNS: &'static [&'static str] =
        &["id", "time", "user_id", "team_id", "service_type", "cost_amount", "currency", "billing_period"];
    const KEY: &'static [&'static str] = &["time", "id"];
    type Key = (i64, uuid::Uuid);

    fn key(&self) -> Self::Key {
        (self.time.timestamp_micros(), self.id)
    }

    fn encode(&self, out: &mut CopyBuf) {
        out.plain(self.id);
        out.time(self.time);
        out.opt_plain(self.user_id.map(|u| u.as_uuid()));
        out.plain(self.team_id.as_uuid());
        out.text(&self.service_type);
        out.plain(self.cost_amount);
        out.text(&self.currency);
        out.text(&self.billing_period);
        out.end_row();
    }
}

/// The statements of one table's write paths.
struct WriteSql {
    copy: String,
    create_stage: AssertSqlSafe<String>,
    copy_stage: String,
    merge: AssertSqlSafe<String>,
}

/// `COPY "{schema}".<table> (<cols>) FROM STDIN` (text format, tab-separated, `\N` NULL).
const COPY: &str = r#"COPY "{schema}".{table} ({columns}) FROM STDIN"#;

/// A staging table of the table's columns plus the input order, dropped at commit.
const CREATE_STAGE: &str = r#"
CREATE TEMP TABLE clientnest_stage_{table} (LIKE "{schema}".{table} INCLUDING DEFAULTS, clientnest_ord bigserial)
ON COMMIT DROP"#;

/// `COPY` into the staging table (its `clientnest_ord` counts up in input order).
const COPY_STAGE: &str = r#"COPY clientnest_stage_{table} ({columns}) FROM STDIN"#;

/// The merge: the last staged row per key, inserted or replacing the stored one.
const MERGE: &str = r#"
INSERT INTO "{schema}".{table} ({columns})
SELECT DISTINCT ON ({key}) {columns}
FROM clientnest_stage_{table}
ORDER BY {key}, clientnest_ord DESC
ON CONFLICT ({key}) DO UPDATE SET {updates}"#;

impl TimescaleStore {
    fn write_sql<R: CopyRow>(&self) -> WriteSql {
        let columns = R::COLUMNS.join(", ");
        let key = R::KEY.join(", ");
        let updates = R::COLUMNS
            .iter()
            .filter(|c| !R::KEY.contains(c))
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let fill = |t: &str| {
            self.sql(t)
                .0
                .replace("{table}", R::TABLE)
                .replace("{columns}", &columns)
                .replace("{key}", &key)
                .replace("{updates}", &updates)
        };
        WriteSql {
            copy: fill(COPY),
            create_stage: AssertSqlSafe(fill(CREATE_STAGE)),
            copy_stage: fill(COPY_STAGE),
            merge: AssertSqlSafe(fill(MERGE)),
        }
    }

    /// Check `rows`, then write them by the fast or the staging path (see the module docs).
    #[tracing::instrument(skip_all, fields(store = "timescaledb", table = R::TABLE, rows = rows.len()))]
    async fn append<R: CopyRow>(&self, rows: Vec<R>) -> Result<u64> {
        let rows = check_batch(rows)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let n = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        let sql = self.write_sql::<R>();
        let chunk = self.config().copy_chunk_rows();
        if !repeats_a_key(&rows) {
            let mut tx = self.begin().await?;
            match copy_chunks(&mut tx, &sql.copy, &rows, chunk).await {
                Ok(()) => return tx.commit().await.map_err(map_sqlx).map(|()| n),
                Err(e) => {
                    let _ = tx.rollback().await;
                    if !is_unique_violation(&e) {
                        return Err(map_sqlx(e));
                    }
                    tracing::debug!(table = R::TABLE, "a key is stored already: merging through the staging table");
                }
            }
        }
        let mut tx = self.begin().await?;
        let outcome = async {
            sqlx::query(sql.create_stage).execute(&mut *tx).await?;
            copy_chunks(&mut tx, &sql.copy_stage, &rows, chunk).await?;
            sqlx::query(sql.merge).execute(&mut *tx).await?;
            Ok(())
        }
        .await
        .map_err(map_sqlx);
        finish(tx, outcome).await.map(|()| n)
    }
}

/// Whether two rows of `rows` share a key.
fn repeats_a_key<R: CopyRow>(rows: &[R]) -> bool {
    let mut seen = HashSet::with_capacity(rows.len());
    !rows.iter().all(|r| seen.insert(r.key()))
}

/// COPY `rows` with `statement`, one statement per `chunk` rows, sending at most
/// [`SEND_BYTES`] of encoded text at a time.
async fn copy_chunks<R: CopyRow>(
    conn: &mut PgConnection,
    statement: &str,
    rows: &[R],
    chunk: usize,
) -> Result<(), sqlx::Error> {
    let mut buf = CopyBuf::new();
    for part in rows.chunks(chunk) {
        let mut copy = conn.copy_in_raw(statement).await?;
        for row in part {
            row.encode(&mut buf);
            if buf.len() >= SEND_BYTES {
                copy.send(buf.bytes()).await?;
                buf.clear();
            }
        }
        if buf.len() > 0 {
            copy.send(buf.bytes()).await?;
            buf.clear();
        }
        copy.finish().await?;
    }
    Ok(())
}

#[async_trait]
impl AnalyticsWriter for TimescaleStore {
    async fn append_events(&self, rows: Vec<Event>) -> Result<u64> {
        self.append(rows).await
    }

    async fn append_metrics(&self, rows: Vec<Metric>) -> Result<u64> {
        self.append(rows).await
    }

    async fn append_performance(&self, rows: Vec<Performance>) -> Result<u64> {
        self.append(rows).await
    }

    async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> Result<u64> {
        self.append(rows).await
    }

    async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> Result<u64> {
        self.append(rows).await
    }

    async fn append_costs(&self, rows: Vec<Cost>) -> Result<u64> {
        self.append(rows).await
    }
}
