//! Billing: subscription periods per team, `subscription_id` unique, at most one active record
//! per team.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc};
use crate::constraint::{FK_BILLING_TEAM, UQ_BILLING_SUBSCRIPTION_ID, UQ_BILLING_TEAM_ACTIVE};
use crate::error::{Entity, Error, Result};
use crate::ids::{BillingId, TeamId};
use crate::model::{Billing, BillingStatus, BillingUpdate, NewBilling};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::BillingRepository;
use crate::validate;

impl Tables {
    fn team_billing(&self, team: TeamId, id: BillingId) -> Result<&Billing> {
        self.billing.get(&id).filter(|b| b.team_id == team).ok_or_else(|| Error::not_found(Entity::Billing, id))
    }

    /// The team's active record other than `except`, if any.
    fn active_billing(&self, team: TeamId, except: Option<BillingId>) -> Option<&Billing> {
        self.billing.values().find(|b| b.team_id == team && b.status == BillingStatus::Active && Some(b.id) != except)
    }
}

#[async_trait]
impl BillingRepository for MemoryStore {
    async fn create_billing(&self, team: TeamId, billing: NewBilling) -> Result<Billing> {
        let row = billing.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_team(team, Entity::Billing, FK_BILLING_TEAM)?;
        if t.billing.values().any(|b| b.subscription_id == row.subscription_id) {
            return Err(Error::Conflict { entity: Entity::Billing, rule: UQ_BILLING_SUBSCRIPTION_ID });
        }
        if row.status == BillingStatus::Active && t.active_billing(team, None).is_some() {
            return Err(Error::Conflict { entity: Entity::Billing, rule: UQ_BILLING_TEAM_ACTIVE });
        }
        t.billing.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing> {
        self.tables().team_billing(team, id).cloned()
    }

    async fn update_billing(&self, team: TeamId, id: BillingId, update: BillingUpdate) -> Result<Billing> {
        validate::check(&update)?;
        let now = self.now();
        let mut t = self.tables();
        let mut next = t.team_billing(team, id)?.clone();
        update.apply(&mut next, now)?;
        if next.status == BillingStatus::Active && t.active_billing(team, Some(id)).is_some() {
            return Err(Error::Conflict { entity: Entity::Billing, rule: UQ_BILLING_TEAM_ACTIVE });
        }
        t.billing.insert(id, next.clone());
        Ok(next)
    }

    async fn active_subscription(&self, team: TeamId) -> Result<Option<Billing>> {
        Ok(self.tables().active_billing(team, None).cloned())
    }

    async fn list_billing(&self, team: TeamId, page: PageRequest) -> Result<Page<Billing>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.billing.values().filter(|b| b.team_id == team), &page, Billing::cursor))
    }
}
