//! Billing: subscription periods per team, `subscription_id` unique, at most one active record
//! per team.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc, stored};
use crate::constraint::{FK_BILLING_TEAM, UQ_BILLING_SUBSCRIPTION_ID, UQ_BILLING_TEAM_ACTIVE};
use crate::error::{Entity, Error, Result};
use crate::ids::{BillingId, TeamId};
use crate::model::{Billing, BillingStatus, BillingUpdate, NewBilling};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::BillingRepository;
use crate::validate;

fn billing_cursor(b: &Billing) -> Cursor {
    Cursor::after(b.created_at, b.id)
}

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
        billing.check()?;
        let now = self.now();
        let mut t = self.tables();
        t.require_team(team, Entity::Billing, FK_BILLING_TEAM)?;
        if t.billing.values().any(|b| b.subscription_id == billing.subscription_id) {
            return Err(Error::Conflict { entity: Entity::Billing, rule: UQ_BILLING_SUBSCRIPTION_ID });
        }
        if billing.status == BillingStatus::Active && t.active_billing(team, None).is_some() {
            return Err(Error::Conflict { entity: Entity::Billing, rule: UQ_BILLING_TEAM_ACTIVE });
        }
        let row = Billing {
            id: BillingId::new(),
            team_id: team,
            subscription_id: billing.subscription_id,
            plan_type: billing.plan_type,
            amount: billing.amount,
            currency: billing.currency,
            status: billing.status,
            period_start: stored(billing.period_start),
            period_end: stored(billing.period_end),
            created_at: now,
            updated_at: now,
            next_billing: stored(billing.next_billing),
        };
        t.billing.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing> {
        self.tables().team_billing(team, id).cloned()
    }

    async fn update_billing(&self, team: TeamId, id: BillingId, mut update: BillingUpdate) -> Result<Billing> {
        validate::check(&update)?;
        update.period_start = update.period_start.map(stored);
        update.period_end = update.period_end.map(stored);
        update.next_billing = update.next_billing.map(stored);
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
        Ok(page_desc(t.billing.values().filter(|b| b.team_id == team), &page, billing_cursor))
    }
}
