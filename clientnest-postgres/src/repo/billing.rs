//! Billing (`billing`): subscription ids are unique and a team has at most one `active` record
//! (the partial unique index `uq_billing_team_active`).

use async_trait::async_trait;
use clientnest_core::ids::{BillingId, TeamId};
use clientnest_core::model::{Billing, BillingUpdate, NewBilling};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::BillingRepository;
use clientnest_core::{Entity, Result, validate};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Db, RowQuery, choice_column, from_columns, keyset_list, owned_row};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

impl sqlx::FromRow<'_, PgRow> for Db<Billing> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, Billing {
            subscription_id, amount, currency, period_start, period_end, created_at, updated_at, next_billing;
            id: BillingId(row.try_get("id")?),
            team_id: TeamId(row.try_get("team_id")?),
            plan_type: choice_column(row, "plan_type")?,
            status: choice_column(row, "status")?,
        })))
    }
}

/// The columns of `billing`, in the order [`bind_billing`] binds them as `$1` to `$12`.
macro_rules! columns {
    () => {
        "id, team_id, subscription_id, plan_type, amount, currency, status, period_start, period_end, \
         created_at, updated_at, next_billing"
    };
}

/// Bind every column of `b` as `$1` (id) to `$12` (next charge), in the order of `columns!`.
fn bind_billing<'q, O>(q: RowQuery<'q, O>, b: &'q Billing) -> RowQuery<'q, O> {
    q.bind(b.id.0)
        .bind(b.team_id.0)
        .bind(&b.subscription_id)
        .bind(b.plan_type.as_str())
        .bind(b.amount)
        .bind(&b.currency)
        .bind(b.status.as_str())
        .bind(b.period_start)
        .bind(b.period_end)
        .bind(b.created_at)
        .bind(b.updated_at)
        .bind(b.next_billing)
}

/// `$1`..`$12`: the record, as [`bind_billing`] binds it.
const INSERT: &str = concat!(
    "INSERT INTO billing (",
    columns!(),
    ")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     RETURNING *"
);

/// `$1`..`$12`: the record, as [`bind_billing`] binds it (the row is found by `$1`).
const SAVE: &str = concat!(
    "UPDATE billing SET (",
    columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     WHERE id = $1
     RETURNING *"
);

/// `$1` id, `$2` team.
const GET: &str = "SELECT * FROM billing WHERE id = $1 AND team_id = $2";

/// `$1` id, `$2` team; the row stays locked until the transaction ends.
const LOCK: &str = "SELECT * FROM billing WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// `$1` team.
const ACTIVE: &str = "SELECT * FROM billing WHERE team_id = $1 AND status = 'active'";

/// `$1` team, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST: &str = keyset_list!("billing", "team_id");

#[async_trait]
impl BillingRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_billing(&self, team: TeamId, billing: NewBilling) -> Result<Billing> {
        let _write = self.write_mark();
        let billing = billing.into_record(team, self.now())?;
        let row: Db<Billing> =
            bind_billing(sqlx::query_as(INSERT), &billing).fetch_one(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.into_inner())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing> {
        let row: Db<Billing> = owned_row(self.exec(), GET, id.0, team.0, Entity::Billing, id).await?;
        Ok(row.into_inner())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_billing(&self, team: TeamId, id: BillingId, update: BillingUpdate) -> Result<Billing> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<Billing> = owned_row(&mut *tx, LOCK, id.0, team.0, Entity::Billing, id).await?;
            let mut billing = row.into_inner();
            update.apply(&mut billing, now)?;
            let saved: Db<Billing> =
                bind_billing(sqlx::query_as(SAVE), &billing).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok(saved.into_inner())
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn active_subscription(&self, team: TeamId) -> Result<Option<Billing>> {
        let row: Option<Db<Billing>> =
            sqlx::query_as(ACTIVE).bind(team.0).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.map(Db::into_inner))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_billing(&self, team: TeamId, page: PageRequest) -> Result<Page<Billing>> {
        self.keyed_page(LIST, team.0, &page).await
    }
}
