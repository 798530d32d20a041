//! Social accounts: connect is an upsert on (platform, platform id, team) that keeps the stored
//! refresh token when none is given; delete cascades to comments and schedules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{MemoryStore, Tables, page_desc, stored};
use crate::constraint::{FK_SOCIAL_ACCOUNTS_TEAM, FK_SOCIAL_ACCOUNTS_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{SocialAccountId, TeamId};
use crate::model::{NewSocialAccount, SocialAccount, SocialAccountUpdate, check_batch};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::SocialAccountRepository;

impl Tables {
    /// An account of the team, or `NotFound`.
    pub(super) fn team_account(&self, team: TeamId, id: SocialAccountId) -> Result<&SocialAccount> {
        self.accounts.get(&id).filter(|a| a.team_id == team).ok_or_else(|| Error::not_found(Entity::SocialAccount, id))
    }

    fn team_account_mut(&mut self, team: TeamId, id: SocialAccountId) -> Result<&mut SocialAccount> {
        self.accounts
            .get_mut(&id)
            .filter(|a| a.team_id == team)
            .ok_or_else(|| Error::not_found(Entity::SocialAccount, id))
    }
}

#[async_trait]
impl SocialAccountRepository for MemoryStore {
    async fn connect_account(&self, team: TeamId, account: NewSocialAccount) -> Result<SocialAccount> {
        let row = account.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_team(team, Entity::SocialAccount, FK_SOCIAL_ACCOUNTS_TEAM)?;
        t.require_user(row.user_id, Entity::SocialAccount, FK_SOCIAL_ACCOUNTS_USER)?;
        t.require_member(team, row.user_id, Entity::SocialAccount)?;
        let key = (row.platform, row.platform_id.clone(), team);
        if let Some(id) = t.account_keys.get(&key).copied() {
            let stored = t.team_account_mut(team, id)?;
            stored.reconnect(row);
            return Ok(stored.clone());
        }
        t.account_keys.insert(key, row.id);
        t.accounts.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_account(&self, team: TeamId, id: SocialAccountId) -> Result<SocialAccount> {
        self.tables().team_account(team, id).cloned()
    }

    async fn list_accounts(&self, team: TeamId, page: PageRequest) -> Result<Page<SocialAccount>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.accounts.values().filter(|a| a.team_id == team), &page, SocialAccount::cursor))
    }

    async fn update_account(
        &self,
        team: TeamId,
        id: SocialAccountId,
        update: SocialAccountUpdate,
    ) -> Result<SocialAccount> {
        update.check()?;
        let now = self.now();
        let mut t = self.tables();
        let account = t.team_account_mut(team, id)?;
        update.apply(account, now);
        Ok(account.clone())
    }

    async fn delete_account(&self, team: TeamId, id: SocialAccountId) -> Result<()> {
        let mut t = self.tables();
        t.team_account(team, id)?;
        t.remove_accounts(&[id].into());
        Ok(())
    }

    async fn accounts_expiring_before(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<SocialAccount>> {
        check_batch(limit)?;
        let before = stored(before);
        let t = self.tables();
        let mut due: Vec<(DateTime<Utc>, &SocialAccount)> = t
            .accounts
            .values()
            .filter(|a| a.is_active)
            .filter_map(|a| a.token_expires.filter(|e| *e < before).map(|e| (e, a)))
            .collect();
        due.sort_unstable_by_key(|(e, a)| (*e, a.id));
        Ok(due.into_iter().take(limit as usize).map(|(_, a)| a.clone()).collect())
    }
}
