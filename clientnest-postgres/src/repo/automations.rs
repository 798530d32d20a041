//! Automations (`automations`): the typed trigger and action are stored as the seed's
//! `trigger_type` + `trigger_config` and `action_type` + `action_config`.
//!
//! Every column is named here once per form: the column list ([`automation_columns!`]), the
//! binder ([`bind_automation`]) and the row mapping (`Db<Automation>`).

use async_trait::async_trait;
use clientnest_core::ids::{AutomationId, TeamId, UserId};
use clientnest_core::model::{Action, Automation, AutomationUpdate, NewAutomation, Trigger, TriggerType};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::AutomationRepository;
use clientnest_core::{Entity, Result};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};

use super::members::{Acting, active_member, refusal};
use super::{Db, PgQuery, choice_column, owned_row, record};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

/// The columns of `automations`, in the order [`bind_automation`] binds them.
macro_rules! automation_columns {
    () => {
        "id, user_id, team_id, name, description, trigger_type, trigger_config, action_type, action_config, \
         is_active, created_at, updated_at"
    };
}

/// The placeholders of [`automation_columns!`]: `$1` id ... `$12` updated_at.
macro_rules! automation_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"
    };
}

/// Bind every column of an automation, `$1` to `$12` in [`automation_columns!`] order.
fn bind_automation(q: PgQuery, a: &Automation) -> PgQuery {
    q.bind(a.id.0)
        .bind(a.user_id.0)
        .bind(a.team_id.0)
        .bind(a.name.clone())
        .bind(a.description.clone())
        .bind(a.trigger.kind().as_str())
        .bind(a.trigger.config())
        .bind(a.action.kind().as_str())
        .bind(a.action.config())
        .bind(a.is_active)
        .bind(a.created_at)
        .bind(a.updated_at)
}

/// A stored config its type does not accept, as a decode error of `column`.
fn bad_config(column: &'static str, e: clientnest_core::Error) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) }
}

impl FromRow<'_, PgRow> for Db<Automation> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        let trigger = Trigger::from_parts(choice_column(row, "trigger_type")?, row.try_get("trigger_config")?)
            .map_err(|e| bad_config("trigger_config", e))?;
        let action = Action::from_parts(choice_column(row, "action_type")?, row.try_get("action_config")?)
            .map_err(|e| bad_config("action_config", e))?;
        Ok(Db(Automation {
            id: AutomationId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            trigger,
            action,
            is_active: row.try_get("is_active")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }
}

/// The automation core built (`$1`-`$12`, [`bind_automation`]), only if its user `$2` is an
/// active member of its team `$3` (membership and user rows locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO automations (",
    automation_columns!(),
    ")\nSELECT ",
    automation_values!(),
    "\nWHERE ",
    active_member!("$3", "$2"),
    "\nRETURNING *"
);

/// A team's automations: `$1` team, `$2`/`$3` the keyset bound, `$4` rows to fetch.
const LIST: &str = r#"
SELECT * FROM automations
WHERE team_id = $1 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// The active automations of team `$1` with trigger type `$2`, oldest first.
const ACTIVE: &str = r#"
SELECT * FROM automations
WHERE team_id = $1 AND trigger_type = $2 AND is_active
ORDER BY created_at, id"#;

/// Automation `$1` of team `$2`.
const GET: &str = "SELECT * FROM automations WHERE id = $1 AND team_id = $2";

/// Automation `$1` of team `$2`, locked.
const LOCK: &str = "SELECT * FROM automations WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// Store the automation core changed: `$1`-`$12` ([`bind_automation`]); `$1` is also the row's
/// id.
const SAVE: &str = concat!(
    "UPDATE automations SET (",
    automation_columns!(),
    ") = ROW(",
    automation_values!(),
    ")\nWHERE id = $1 RETURNING *"
);

#[async_trait]
impl AutomationRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_automation(&self, team: TeamId, automation: NewAutomation) -> Result<Automation> {
        let _write = self.write_mark();
        let built = automation.into_record(team, self.now())?;
        let row = bind_automation(sqlx::query(INSERT), &built).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self.exec(), team, built.user_id, Acting::AUTOMATION).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_automation(&self, team: TeamId, id: AutomationId) -> Result<Automation> {
        owned_row::<Db<Automation>>(self.exec(), GET, id.0, team.0, Entity::Automation, id).await.map(Db::into_inner)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_automations(&self, team: TeamId, page: PageRequest) -> Result<Page<Automation>> {
        self.keyed_page(LIST, team.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_automation(&self, team: TeamId, id: AutomationId, update: AutomationUpdate) -> Result<Automation> {
        let _write = self.write_mark();
        update.check()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let mut automation =
                owned_row::<Db<Automation>>(&mut *tx, LOCK, id.0, team.0, Entity::Automation, id).await?.into_inner();
            update.apply(&mut automation, now);
            let row = bind_automation(sqlx::query(SAVE), &automation).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            record(&row)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_automation(&self, team: TeamId, id: AutomationId) -> Result<()> {
        let _write = self.write_mark();
        self.delete_owned(
            "DELETE FROM automations WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::Automation,
            id,
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn active_automations(&self, team: TeamId, trigger: TriggerType) -> Result<Vec<Automation>> {
        let rows =
            sqlx::query(ACTIVE).bind(team.0).bind(trigger.as_str()).fetch_all(self.exec()).await.map_err(map_sqlx)?;
        rows.iter().map(record).collect()
    }
}
