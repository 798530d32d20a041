//! Automations: team-scoped rules with a typed trigger and action.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, oldest_first, page_desc};
use crate::constraint::{FK_AUTOMATIONS_TEAM, FK_AUTOMATIONS_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{AutomationId, TeamId};
use crate::model::{Automation, AutomationUpdate, NewAutomation, TriggerType};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::AutomationRepository;

impl Tables {
    fn team_automation(&self, team: TeamId, id: AutomationId) -> Result<&Automation> {
        self.automations.get(&id).filter(|a| a.team_id == team).ok_or_else(|| Error::not_found(Entity::Automation, id))
    }

    fn team_automation_mut(&mut self, team: TeamId, id: AutomationId) -> Result<&mut Automation> {
        self.automations
            .get_mut(&id)
            .filter(|a| a.team_id == team)
            .ok_or_else(|| Error::not_found(Entity::Automation, id))
    }
}

#[async_trait]
impl AutomationRepository for MemoryStore {
    async fn create_automation(&self, team: TeamId, automation: NewAutomation) -> Result<Automation> {
        let row = automation.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_acting(team, row.user_id, Entity::Automation, (FK_AUTOMATIONS_TEAM, FK_AUTOMATIONS_USER))?;
        t.automations.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_automation(&self, team: TeamId, id: AutomationId) -> Result<Automation> {
        self.tables().team_automation(team, id).cloned()
    }

    async fn list_automations(&self, team: TeamId, page: PageRequest) -> Result<Page<Automation>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.automations.values().filter(|a| a.team_id == team), &page, Automation::cursor))
    }

    async fn update_automation(&self, team: TeamId, id: AutomationId, update: AutomationUpdate) -> Result<Automation> {
        update.check()?;
        let now = self.now();
        let mut t = self.tables();
        let automation = t.team_automation_mut(team, id)?;
        update.apply(automation, now);
        Ok(automation.clone())
    }

    async fn delete_automation(&self, team: TeamId, id: AutomationId) -> Result<()> {
        let mut t = self.tables();
        t.team_automation(team, id)?;
        t.automations.remove(&id);
        Ok(())
    }

    async fn active_automations(&self, team: TeamId, trigger: TriggerType) -> Result<Vec<Automation>> {
        let t = self.tables();
        let rows = t.automations.values().filter(|a| a.team_id == team && a.is_active && a.trigger.kind() == trigger);
        Ok(oldest_first(rows, |a| (a.created_at, a.id.as_uuid())))
    }
}
