//! AI usage: records per team, and totals per feature over a half-open period.

use std::collections::BTreeMap;

use async_trait::async_trait;

use rust_decimal::Decimal;

use super::store::{MemoryStore, page_desc, stored};
use crate::constraint::{FK_AI_USAGE_TEAM, FK_AI_USAGE_USER};
use crate::error::{Entity, Result};
use crate::ids::TeamId;
use crate::model::{AiUsage, AiUsageTotal, NewAiUsage, Period};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::AiUsageRepository;

/// Add one record to its feature's total.
fn add(total: &mut AiUsageTotal, u: &AiUsage) {
    total.requests += 1;
    total.tokens += i64::from(u.tokens_used);
    total.cost += u.cost;
}

#[async_trait]
impl AiUsageRepository for MemoryStore {
    async fn record_ai_usage(&self, team: TeamId, usage: NewAiUsage) -> Result<AiUsage> {
        let row = usage.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_team(team, Entity::AiUsage, FK_AI_USAGE_TEAM)?;
        t.require_user(row.user_id, Entity::AiUsage, FK_AI_USAGE_USER)?;
        t.require_member(team, row.user_id, Entity::AiUsage)?;
        t.ai_usage.insert(row.id, row.clone());
        Ok(row)
    }

    async fn list_ai_usage(&self, team: TeamId, page: PageRequest) -> Result<Page<AiUsage>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.ai_usage.values().filter(|u| u.team_id == team), &page, AiUsage::cursor))
    }

    async fn ai_usage_totals(&self, team: TeamId, period: Period) -> Result<Vec<AiUsageTotal>> {
        let (start, end) = (stored(period.start), stored(period.end));
        let t = self.tables();
        let mut totals: BTreeMap<&'static str, AiUsageTotal> = BTreeMap::new();
        for u in t.ai_usage.values().filter(|u| u.team_id == team && start <= u.created_at && u.created_at < end) {
            let total = totals.entry(u.feature_type.as_str()).or_insert_with(|| AiUsageTotal {
                feature_type: u.feature_type,
                requests: 0,
                tokens: 0,
                cost: Decimal::ZERO,
            });
            add(total, u);
        }
        Ok(totals.into_values().collect())
    }
}
