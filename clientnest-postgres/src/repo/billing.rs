//! Billing (`billing`): subscription ids are unique and a team has at most one `active` record
//! (the partial unique index `uq_billing_team_active`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::ids::{BillingId, TeamId};
use clientnest_core::model::{Billing, BillingUpdate, NewBilling};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::BillingRepository;
use clientnest_core::{Entity, Error, Result, validate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{choice, owned_row};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit};

/// A `billing` row.
#[derive(sqlx::FromRow)]
struct BillingRow {
    id: Uuid,
    team_id: Uuid,
    subscription_id: String,
    plan_type: String,
    amount: Decimal,
    currency: String,
    status: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    next_billing: DateTime<Utc>,
}

impl TryFrom<BillingRow> for Billing {
    type Error = Error;
    fn try_from(r: BillingRow) -> Result<Self> {
        Ok(Billing {
            id: BillingId(r.id),
            team_id: TeamId(r.team_id),
            subscription_id: r.subscription_id,
            plan_type: choice(&r.plan_type)?,
            amount: r.amount,
            currency: r.currency,
            status: choice(&r.status)?,
            period_start: r.period_start,
            period_end: r.period_end,
            created_at: r.created_at,
            updated_at: r.updated_at,
            next_billing: r.next_billing,
        })
    }
}

fn cursor(b: &Billing) -> Cursor {
    Cursor::after(b.created_at, b.id)
}

const INSERT: &str = "INSERT INTO billing (id, team_id, subscription_id, plan_type, amount, currency, status, \
       period_start, period_end, created_at, updated_at, next_billing) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING *";

const LIST: &str = "SELECT * FROM billing WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const SAVE: &str = "UPDATE billing SET plan_type = $2, amount = $3, status = $4, period_start = $5, \
     period_end = $6, next_billing = $7, updated_at = $8 WHERE id = $1 RETURNING *";

#[async_trait]
impl BillingRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_billing(&self, team: TeamId, billing: NewBilling) -> Result<Billing> {
        billing.check()?;
        let row: BillingRow = sqlx::query_as(INSERT)
            .bind(BillingId::new().0)
            .bind(team.0)
            .bind(&billing.subscription_id)
            .bind(billing.plan_type.as_str())
            .bind(billing.amount)
            .bind(&billing.currency)
            .bind(billing.status.as_str())
            .bind(to_micros(billing.period_start))
            .bind(to_micros(billing.period_end))
            .bind(self.now())
            .bind(to_micros(billing.next_billing))
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing> {
        owned_row::<BillingRow>(
            self.pool(),
            "SELECT * FROM billing WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::Billing,
            id,
        )
        .await?
        .try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_billing(&self, team: TeamId, id: BillingId, mut update: BillingUpdate) -> Result<Billing> {
        validate::check(&update)?;
        update.period_start = update.period_start.map(to_micros);
        update.period_end = update.period_end.map(to_micros);
        update.next_billing = update.next_billing.map(to_micros);
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: BillingRow = owned_row(
            &mut *tx,
            "SELECT * FROM billing WHERE id = $1 AND team_id = $2 FOR UPDATE",
            id.0,
            team.0,
            Entity::Billing,
            id,
        )
        .await?;
        let mut billing: Billing = row.try_into()?;
        update.apply(&mut billing, now)?;
        let row: BillingRow = sqlx::query_as(SAVE)
            .bind(id.0)
            .bind(billing.plan_type.as_str())
            .bind(billing.amount)
            .bind(billing.status.as_str())
            .bind(billing.period_start)
            .bind(billing.period_end)
            .bind(billing.next_billing)
            .bind(billing.updated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn active_subscription(&self, team: TeamId) -> Result<Option<Billing>> {
        let row: Option<BillingRow> = sqlx::query_as("SELECT * FROM billing WHERE team_id = $1 AND status = 'active'")
            .bind(team.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.map(Billing::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_billing(&self, team: TeamId, page: PageRequest) -> Result<Page<Billing>> {
        self.fetch_page::<BillingRow, _>(LIST, team.0, &page, Billing::try_from, cursor).await
    }
}
