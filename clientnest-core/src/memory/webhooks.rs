//! Webhooks: owned by users and reached through them; the delivery worker looks them up by
//! platform and event across users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::{MemoryStore, Tables, oldest_first, page_desc};
use crate::constraint::FK_WEBHOOKS_USER;
use crate::error::{Entity, Error, Result};
use crate::ids::{UserId, WebhookId};
use crate::model::{NewWebhook, Platform, Webhook, WebhookUpdate};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::{ResealCursor, ResealProgress, ResealTable, SecretReseal, WebhookRepository, check_reseal_limit};

impl Tables {
    fn user_webhook(&self, user: UserId, id: WebhookId) -> Result<&Webhook> {
        self.webhooks.get(&id).filter(|w| w.user_id == user).ok_or_else(|| Error::not_found(Entity::Webhook, id))
    }

    fn user_webhook_mut(&mut self, user: UserId, id: WebhookId) -> Result<&mut Webhook> {
        self.webhooks.get_mut(&id).filter(|w| w.user_id == user).ok_or_else(|| Error::not_found(Entity::Webhook, id))
    }
}

#[async_trait]
impl WebhookRepository for MemoryStore {
    async fn create_webhook(&self, user: UserId, webhook: NewWebhook) -> Result<Webhook> {
        let row = webhook.into_record(user, self.host_policy(), self.now())?;
        let mut t = self.tables();
        t.require_user(user, Entity::Webhook, FK_WEBHOOKS_USER)?;
        t.webhooks.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_webhook(&self, user: UserId, id: WebhookId) -> Result<Webhook> {
        self.tables().user_webhook(user, id).cloned()
    }

    async fn list_webhooks(&self, user: UserId, page: PageRequest) -> Result<Page<Webhook>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.webhooks.values().filter(|w| w.user_id == user), &page, Webhook::cursor))
    }

    async fn update_webhook(&self, user: UserId, id: WebhookId, update: WebhookUpdate) -> Result<Webhook> {
        update.check(self.host_policy())?;
        let now = self.now();
        let mut t = self.tables();
        let webhook = t.user_webhook_mut(user, id)?;
        update.apply(webhook, now);
        Ok(webhook.clone())
    }

    async fn delete_webhook(&self, user: UserId, id: WebhookId) -> Result<()> {
        let mut t = self.tables();
        t.user_webhook(user, id)?;
        t.webhooks.remove(&id);
        Ok(())
    }

    async fn webhooks_for_event(&self, platform: Platform, event_type: &str) -> Result<Vec<Webhook>> {
        let t = self.tables();
        let rows = t.webhooks.values().filter(|w| w.is_active && w.platform == platform && w.event_type == event_type);
        Ok(oldest_first(rows, |w| (w.created_at, w.id.as_uuid())))
    }

    async fn record_webhook_triggered(&self, id: WebhookId, at: DateTime<Utc>) -> Result<()> {
        let at = Webhook::triggered_at(at)?;
        let mut t = self.tables();
        let webhook = t.webhooks.get_mut(&id).ok_or_else(|| Error::not_found(Entity::Webhook, id))?;
        webhook.last_triggered = Some(at);
        Ok(())
    }
}

/// The ids of one re-seal page: those after `after`, in id order, at most `limit`.
fn reseal_page(ids: impl Iterator<Item = Uuid>, after: Option<Uuid>, limit: u32) -> Vec<Uuid> {
    let mut page: Vec<Uuid> = ids.filter(|id| after.is_none_or(|a| *id > a)).collect();
    page.sort_unstable();
    page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    page
}

/// The in-memory store keeps OAuth tokens and webhook secrets as plaintext [`Secret`]s in the
/// process (no ciphertext, no key ring), so there is nothing to re-encrypt: a page visits the
/// rows in the same order and with the same cursors as the PostgreSQL sweep, counts them as
/// scanned, and reports none resealed or unreadable.
///
/// [`Secret`]: crate::secret::Secret
#[async_trait]
impl SecretReseal for MemoryStore {
    async fn reseal_secrets(&self, from: ResealCursor, limit: u32) -> Result<ResealProgress> {
        check_reseal_limit(limit)?;
        let t = self.tables();
        let page = match from.table() {
            ResealTable::SocialAccounts => reseal_page(t.accounts.keys().map(|id| id.0), from.after(), limit),
            ResealTable::Webhooks => reseal_page(t.webhooks.keys().map(|id| id.0), from.after(), limit),
        };
        let scanned = page.len() as u64;
        Ok(ResealProgress {
            scanned,
            resealed: 0,
            unreadable: 0,
            next: ResealCursor::after_page(from.table(), scanned, limit, page.last().copied()),
        })
    }
}
