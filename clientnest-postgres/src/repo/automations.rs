//! Automations (`automations`): the typed trigger and action are stored as the seed's
//! `trigger_type` + `trigger_config` and `action_type` + `action_config`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::ids::{AutomationId, TeamId, UserId};
use clientnest_core::model::{Action, Automation, AutomationUpdate, NewAutomation, Trigger, TriggerType};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::AutomationRepository;
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::members::{Acting, active_member, refusal};
use super::{choice, owned_row};
use crate::error::{corrupt, map_sqlx};
use crate::store::{PgStore, commit};

/// An `automations` row.
#[derive(sqlx::FromRow)]
struct AutomationRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    name: String,
    description: String,
    trigger_type: String,
    trigger_config: serde_json::Value,
    action_type: String,
    action_config: serde_json::Value,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AutomationRow> for Automation {
    type Error = Error;
    fn try_from(r: AutomationRow) -> Result<Self> {
        let trigger = Trigger::from_parts(choice(&r.trigger_type)?, r.trigger_config).map_err(corrupt)?;
        let action = Action::from_parts(choice(&r.action_type)?, r.action_config).map_err(corrupt)?;
        Ok(Automation {
            id: AutomationId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            name: r.name,
            description: r.description,
            trigger,
            action,
            is_active: r.is_active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn cursor(a: &Automation) -> Cursor {
    Cursor::after(a.created_at, a.id)
}

/// The row, only if its user `$2` is an active member of the team `$3` (membership and user rows
/// locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO automations (id, user_id, team_id, name, description, trigger_type, \
       trigger_config, action_type, action_config, is_active, created_at, updated_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 WHERE ",
    active_member!("$3", "$2"),
    " RETURNING *"
);

const LIST: &str = "SELECT * FROM automations WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const ACTIVE: &str = "SELECT * FROM automations WHERE team_id = $1 AND trigger_type = $2 AND is_active \
     ORDER BY created_at, id";

const SAVE: &str = "UPDATE automations SET name = $2, description = $3, trigger_type = $4, trigger_config = $5, \
     action_type = $6, action_config = $7, is_active = $8, updated_at = $9 WHERE id = $1 RETURNING *";

#[async_trait]
impl AutomationRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_automation(&self, team: TeamId, automation: NewAutomation) -> Result<Automation> {
        automation.check()?;
        let row: Option<AutomationRow> = sqlx::query_as(INSERT)
            .bind(AutomationId::new().0)
            .bind(automation.user_id.0)
            .bind(team.0)
            .bind(&automation.name)
            .bind(&automation.description)
            .bind(automation.trigger.kind().as_str())
            .bind(automation.trigger.config())
            .bind(automation.action.kind().as_str())
            .bind(automation.action.config())
            .bind(automation.is_active)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(refusal(self.pool(), team, automation.user_id, Acting::AUTOMATION).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_automation(&self, team: TeamId, id: AutomationId) -> Result<Automation> {
        owned_row::<AutomationRow>(
            self.pool(),
            "SELECT * FROM automations WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::Automation,
            id,
        )
        .await?
        .try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_automations(&self, team: TeamId, page: PageRequest) -> Result<Page<Automation>> {
        self.fetch_page::<AutomationRow, _>(LIST, team.0, &page, Automation::try_from, cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_automation(&self, team: TeamId, id: AutomationId, update: AutomationUpdate) -> Result<Automation> {
        update.check()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: AutomationRow = owned_row(
            &mut *tx,
            "SELECT * FROM automations WHERE id = $1 AND team_id = $2 FOR UPDATE",
            id.0,
            team.0,
            Entity::Automation,
            id,
        )
        .await?;
        let mut automation: Automation = row.try_into()?;
        update.apply(&mut automation, now);
        let row: AutomationRow = sqlx::query_as(SAVE)
            .bind(automation.id.0)
            .bind(&automation.name)
            .bind(&automation.description)
            .bind(automation.trigger.kind().as_str())
            .bind(automation.trigger.config())
            .bind(automation.action.kind().as_str())
            .bind(automation.action.config())
            .bind(automation.is_active)
            .bind(automation.updated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_automation(&self, team: TeamId, id: AutomationId) -> Result<()> {
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
        let rows: Vec<AutomationRow> = sqlx::query_as(ACTIVE)
            .bind(team.0)
            .bind(trigger.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        rows.into_iter().map(Automation::try_from).collect()
    }
}
