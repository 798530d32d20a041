//! AI usage records (`ai_usage`) and their totals per feature.

use async_trait::async_trait;
use clientnest_core::Result;
use clientnest_core::clock::to_micros;
use clientnest_core::ids::{AiUsageId, TeamId, UserId};
use clientnest_core::model::{AiUsage, AiUsageTotal, NewAiUsage, Period};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::AiUsageRepository;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::members::{Acting, active_member, refusal};
use super::{Db, RowQuery, choice_column, clamp_time, from_columns, keyset_list};
use crate::error::map_sqlx;
use crate::store::PgStore;

impl sqlx::FromRow<'_, PgRow> for Db<AiUsage> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, AiUsage {
            tokens_used, cost, model_used, request_data, response_data, created_at, metadata;
            id: AiUsageId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            feature_type: choice_column(row, "feature_type")?,
        })))
    }
}

/// One feature's totals (`feature_type`, `requests`, `tokens`, `cost`).
impl sqlx::FromRow<'_, PgRow> for Db<AiUsageTotal> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, AiUsageTotal {
            requests, tokens, cost;
            feature_type: choice_column(row, "feature_type")?,
        })))
    }
}

/// Bind every column of `u` as `$1` (id) to `$11` (metadata), in the order of [`INSERT`]'s
/// column list.
fn bind_usage<'q, O>(q: RowQuery<'q, O>, u: &'q AiUsage) -> RowQuery<'q, O> {
    q.bind(u.id.0)
        .bind(u.user_id.0)
        .bind(u.team_id.0)
        .bind(u.feature_type.as_str())
        .bind(u.tokens_used)
        .bind(u.cost)
        .bind(&u.model_used)
        .bind(&u.request_data)
        .bind(&u.response_data)
        .bind(u.created_at)
        .bind(&u.metadata)
}

/// `$1`..`$11`: the record, as [`bind_usage`] binds it (`$2` user, `$3` team); stored only if
/// the user is an active member of the team (membership and user rows locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO ai_usage (id, user_id, team_id, feature_type, tokens_used, cost, model_used,
       request_data, response_data, created_at, metadata)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
     WHERE ",
    active_member!("$3", "$2"),
    "
     RETURNING *"
);

/// `$1` team, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST: &str = keyset_list!("ai_usage", "team_id");

/// `$1` team, `$2` start (inclusive), `$3` end (exclusive): totals per feature, in the
/// feature's string order (byte order).
const TOTALS: &str = r#"
    SELECT feature_type, count(*) AS requests, sum(tokens_used)::int8 AS tokens, sum(cost) AS cost
    FROM ai_usage
    WHERE team_id = $1 AND created_at >= $2 AND created_at < $3
    GROUP BY feature_type
    ORDER BY feature_type COLLATE "C""#;

#[async_trait]
impl AiUsageRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn record_ai_usage(&self, team: TeamId, usage: NewAiUsage) -> Result<AiUsage> {
        let _write = self.write_mark();
        let usage = usage.into_record(team, self.now())?;
        let row: Option<Db<AiUsage>> =
            bind_usage(sqlx::query_as(INSERT), &usage).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        match row {
            Some(row) => Ok(row.into_inner()),
            None => Err(refusal(self.exec(), team, usage.user_id, Acting::AI_USAGE).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_ai_usage(&self, team: TeamId, page: PageRequest) -> Result<Page<AiUsage>> {
        self.keyed_page(LIST, team.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn ai_usage_totals(&self, team: TeamId, period: Period) -> Result<Vec<AiUsageTotal>> {
        let (start, end) = (clamp_time(to_micros(period.start)), clamp_time(to_micros(period.end)));
        let rows: Vec<Db<AiUsageTotal>> = self
            .read(
                |pool| async move { sqlx::query_as(TOTALS).bind(team.0).bind(start).bind(end).fetch_all(&pool).await },
            )
            .await?;
        Ok(rows.into_iter().map(Db::into_inner).collect())
    }
}
