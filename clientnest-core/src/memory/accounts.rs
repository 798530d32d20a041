//! Social accounts: connect is an upsert on (platform, platform id, team) that keeps the stored
//! refresh token when none is given; delete cascades to comments and schedules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{MemoryStore, Tables, page_desc, stored};
use crate::constraint::{FK_SOCIAL_ACCOUNTS_TEAM, FK_SOCIAL_ACCOUNTS_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{SocialAccountId, TeamId};
use crate::model::{NewSocialAccount, SocialAccount, SocialAccountUpdate, check_batch};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::SocialAccountRepository;

fn account_cursor(a: &SocialAccount) -> Cursor {
    Cursor::after(a.created_at, a.id)
}

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

    /// Reconnect a stored account: keep id, creation time and user; replace the rest.
    fn reconnect(&mut self, id: SocialAccountId, input: NewSocialAccount, now: DateTime<Utc>) -> Result<SocialAccount> {
        let a = self.accounts.get_mut(&id).ok_or_else(|| Error::not_found(Entity::SocialAccount, id))?;
        a.username = input.username;
        a.access_token = input.access_token;
        if let Some(refresh) = input.refresh_token {
            a.refresh_token = Some(refresh);
        }
        a.token_expires = input.token_expires;
        a.permissions = input.permissions;
        a.is_active = true;
        a.updated_at = now;
        Ok(a.clone())
    }
}

#[async_trait]
impl SocialAccountRepository for MemoryStore {
    async fn connect_account(&self, team: TeamId, mut account: NewSocialAccount) -> Result<SocialAccount> {
        account.check()?;
        account.token_expires = account.token_expires.map(stored);
        let now = self.now();
        let mut t = self.tables();
        t.require_team(team, Entity::SocialAccount, FK_SOCIAL_ACCOUNTS_TEAM)?;
        t.require_user(account.user_id, Entity::SocialAccount, FK_SOCIAL_ACCOUNTS_USER)?;
        t.require_member(team, account.user_id, Entity::SocialAccount)?;
        let key = (account.platform, account.platform_id.clone(), team);
        if let Some(id) = t.account_keys.get(&key).copied() {
            return t.reconnect(id, account, now);
        }
        let row = SocialAccount {
            id: SocialAccountId::new(),
            user_id: account.user_id,
            team_id: team,
            platform: account.platform,
            platform_id: account.platform_id,
            username: account.username,
            access_token: account.access_token,
            refresh_token: account.refresh_token,
            token_expires: account.token_expires,
            permissions: account.permissions,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
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
        Ok(page_desc(t.accounts.values().filter(|a| a.team_id == team), &page, account_cursor))
    }

    async fn update_account(
        &self,
        team: TeamId,
        id: SocialAccountId,
        mut update: SocialAccountUpdate,
    ) -> Result<SocialAccount> {
        update.check()?;
        update.token_expires = update.token_expires.map(|t| t.map(stored));
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
