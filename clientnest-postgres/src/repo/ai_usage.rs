//! AI usage records (`ai_usage`) and their totals per feature.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::ids::{AiUsageId, TeamId, UserId};
use clientnest_core::model::{AiUsage, AiUsageTotal, NewAiUsage, Period};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::AiUsageRepository;
use clientnest_core::{Error, Result, validate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::members::{Acting, active_member, refusal};
use super::{choice, clamp_time};
use crate::error::map_sqlx;
use crate::store::PgStore;

/// An `ai_usage` row.
#[derive(sqlx::FromRow)]
struct UsageRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    feature_type: String,
    tokens_used: i32,
    cost: Decimal,
    model_used: String,
    request_data: serde_json::Value,
    response_data: serde_json::Value,
    created_at: DateTime<Utc>,
    metadata: serde_json::Value,
}

impl TryFrom<UsageRow> for AiUsage {
    type Error = Error;
    fn try_from(r: UsageRow) -> Result<Self> {
        Ok(AiUsage {
            id: AiUsageId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            feature_type: choice(&r.feature_type)?,
            tokens_used: r.tokens_used,
            cost: r.cost,
            model_used: r.model_used,
            request_data: r.request_data,
            response_data: r.response_data,
            created_at: r.created_at,
            metadata: r.metadata,
        })
    }
}

/// One feature's totals.
#[derive(sqlx::FromRow)]
struct TotalRow {
    feature_type: String,
    requests: i64,
    tokens: i64,
    cost: Decimal,
}

fn cursor(u: &AiUsage) -> Cursor {
    Cursor::after(u.created_at, u.id)
}

/// The row, only if its user `$2` is an active member of the team `$3` (membership and user rows
/// locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO ai_usage (id, user_id, team_id, feature_type, tokens_used, cost, model_used, \
       request_data, response_data, created_at, metadata) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE ",
    active_member!("$3", "$2"),
    " RETURNING *"
);

const LIST: &str = "SELECT * FROM ai_usage WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

/// Totals per feature in `[start, end)`, in the feature's string order (byte order).
const TOTALS: &str = "SELECT feature_type, count(*) AS requests, sum(tokens_used)::int8 AS tokens, sum(cost) AS cost \
     FROM ai_usage WHERE team_id = $1 AND created_at >= $2 AND created_at < $3 \
     GROUP BY feature_type ORDER BY feature_type COLLATE \"C\"";

#[async_trait]
impl AiUsageRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn record_ai_usage(&self, team: TeamId, usage: NewAiUsage) -> Result<AiUsage> {
        validate::check(&usage)?;
        let row: Option<UsageRow> = sqlx::query_as(INSERT)
            .bind(AiUsageId::new().0)
            .bind(usage.user_id.0)
            .bind(team.0)
            .bind(usage.feature_type.as_str())
            .bind(usage.tokens_used)
            .bind(usage.cost)
            .bind(&usage.model_used)
            .bind(&usage.request_data)
            .bind(&usage.response_data)
            .bind(self.now())
            .bind(&usage.metadata)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(refusal(self.pool(), team, usage.user_id, Acting::AI_USAGE).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_ai_usage(&self, team: TeamId, page: PageRequest) -> Result<Page<AiUsage>> {
        self.fetch_page::<UsageRow, _>(LIST, team.0, &page, AiUsage::try_from, cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn ai_usage_totals(&self, team: TeamId, period: Period) -> Result<Vec<AiUsageTotal>> {
        let rows: Vec<TotalRow> = sqlx::query_as(TOTALS)
            .bind(team.0)
            .bind(clamp_time(to_micros(period.start)))
            .bind(clamp_time(to_micros(period.end)))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        rows.into_iter()
            .map(|r| {
                Ok(AiUsageTotal {
                    feature_type: choice(&r.feature_type)?,
                    requests: r.requests,
                    tokens: r.tokens,
                    cost: r.cost,
                })
            })
            .collect()
    }
}
