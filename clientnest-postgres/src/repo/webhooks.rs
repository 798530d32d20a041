//! Webhooks (`webhooks`), owned by users; the signing secret is sealed with the key ring.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::ids::{UserId, WebhookId};
use clientnest_core::model::{NewWebhook, Platform, Webhook, WebhookUpdate};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::{
    ResealCursor, ResealProgress, ResealTable, SecretReseal, WebhookRepository, check_reseal_limit,
};
use clientnest_core::validate::{self, rule};
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::{choice, found, owned_row};
use crate::error::map_sqlx;
use crate::secrets::{ResealTally, SealedColumn, Sealer};
use crate::store::{PgStore, commit};

/// A `webhooks` row, secret still sealed.
#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    user_id: Uuid,
    platform: String,
    event_type: String,
    endpoint_url: String,
    secret_key_enc: String,
    is_active: bool,
    last_triggered: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl WebhookRow {
    /// The webhook with its secret opened.
    fn open(self, sealer: &Sealer) -> Result<Webhook> {
        Ok(Webhook {
            id: WebhookId(self.id),
            user_id: UserId(self.user_id),
            platform: choice(&self.platform)?,
            event_type: self.event_type,
            endpoint_url: self.endpoint_url,
            secret_key: sealer.open(SealedColumn::WebhookSecret, self.id, &self.secret_key_enc)?,
            is_active: self.is_active,
            last_triggered: self.last_triggered,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn cursor(w: &Webhook) -> Cursor {
    Cursor::after(w.created_at, w.id)
}

const INSERT: &str = "INSERT INTO webhooks (id, user_id, platform, event_type, endpoint_url, secret_key_enc, \
       is_active, last_triggered, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, true, NULL, $7, $7) RETURNING *";

const LIST: &str = "SELECT * FROM webhooks WHERE user_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const FOR_EVENT: &str = "SELECT * FROM webhooks WHERE is_active AND platform = $1 AND event_type = $2 \
     ORDER BY created_at, id";

const SAVE: &str = "UPDATE webhooks SET event_type = $2, endpoint_url = $3, secret_key_enc = $4, is_active = $5, \
     updated_at = $6 WHERE id = $1 RETURNING *";

#[async_trait]
impl WebhookRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn create_webhook(&self, user: UserId, webhook: NewWebhook) -> Result<Webhook> {
        webhook.check(self.host_policy())?;
        let id = WebhookId::new().0;
        let sealed = self.sealer().seal(SealedColumn::WebhookSecret, id, &webhook.secret_key)?;
        let row: WebhookRow = sqlx::query_as(INSERT)
            .bind(id)
            .bind(user.0)
            .bind(webhook.platform.as_str())
            .bind(&webhook.event_type)
            .bind(&webhook.endpoint_url)
            .bind(sealed)
            .bind(self.now())
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.open(self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn get_webhook(&self, user: UserId, id: WebhookId) -> Result<Webhook> {
        owned_row::<WebhookRow>(
            self.pool(),
            "SELECT * FROM webhooks WHERE id = $1 AND user_id = $2",
            id.0,
            user.0,
            Entity::Webhook,
            id,
        )
        .await?
        .open(self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn list_webhooks(&self, user: UserId, page: PageRequest) -> Result<Page<Webhook>> {
        self.fetch_page::<WebhookRow, _>(LIST, user.0, &page, |r| r.open(self.sealer()), cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn update_webhook(&self, user: UserId, id: WebhookId, update: WebhookUpdate) -> Result<Webhook> {
        update.check(self.host_policy())?;
        let now = self.now();
        let sealer = self.sealer();
        let mut tx = self.begin().await?;
        let row: WebhookRow = owned_row(
            &mut *tx,
            "SELECT * FROM webhooks WHERE id = $1 AND user_id = $2 FOR UPDATE",
            id.0,
            user.0,
            Entity::Webhook,
            id,
        )
        .await?;
        let mut webhook = row.open(sealer)?;
        update.apply(&mut webhook, now);
        let sealed = sealer.seal(SealedColumn::WebhookSecret, id.0, &webhook.secret_key)?;
        let row: WebhookRow = sqlx::query_as(SAVE)
            .bind(id.0)
            .bind(&webhook.event_type)
            .bind(&webhook.endpoint_url)
            .bind(sealed)
            .bind(webhook.is_active)
            .bind(webhook.updated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        row.open(sealer)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn delete_webhook(&self, user: UserId, id: WebhookId) -> Result<()> {
        self.delete_owned("DELETE FROM webhooks WHERE id = $1 AND user_id = $2", id.0, user.0, Entity::Webhook, id)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn webhooks_for_event(&self, platform: Platform, event_type: &str) -> Result<Vec<Webhook>> {
        if event_type.contains('\0') {
            // No stored event type holds a NUL (PostgreSQL text cannot).
            return Ok(Vec::new());
        }
        let rows: Vec<WebhookRow> = sqlx::query_as(FOR_EVENT)
            .bind(platform.as_str())
            .bind(event_type)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        rows.into_iter().map(|r| r.open(self.sealer())).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn record_webhook_triggered(&self, id: WebhookId, at: DateTime<Utc>) -> Result<()> {
        if validate::storable_time(&at).is_err() {
            return Err(Error::invalid("at", rule::TIME_RANGE, "must be between the years 1900 and 9999"));
        }
        let done = sqlx::query("UPDATE webhooks SET last_triggered = $2 WHERE id = $1")
            .bind(id.0)
            .bind(to_micros(at))
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::Webhook, id)
    }
}

/// One page of the re-seal sweep in `webhooks`: up to `limit` rows with an id after `after`, in
/// id order, locked until the commit; the secrets not under the primary key are re-sealed (no
/// other column changes).
async fn reseal_page(store: &PgStore, after: Option<Uuid>, limit: u32) -> Result<ResealTally> {
    let sealer = store.sealer();
    let mut tx = store.begin().await?;
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, secret_key_enc FROM webhooks WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2 FOR UPDATE",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(map_sqlx)?;
    let mut tally = ResealTally::default();
    for (id, secret) in rows {
        let outcome = if sealer.needs_rotation(&secret) {
            match sealer.reseal(SealedColumn::WebhookSecret, id, &secret) {
                Ok(resealed) => {
                    sqlx::query("UPDATE webhooks SET secret_key_enc = $2 WHERE id = $1")
                        .bind(id)
                        .bind(resealed)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_sqlx)?;
                    Ok(true)
                }
                Err(e) => Err(e),
            }
        } else {
            Ok(false)
        };
        tally.count(id, outcome)?;
    }
    commit(tx).await?;
    Ok(tally)
}

/// The re-seal sweep on PostgreSQL: `social_accounts` (both tokens), then `webhooks`, each page
/// one transaction (see [`crate::secrets`]).
#[async_trait]
impl SecretReseal for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(table = from.table().as_str(), limit))]
    async fn reseal_secrets(&self, from: ResealCursor, limit: u32) -> Result<ResealProgress> {
        check_reseal_limit(limit)?;
        let tally = match from.table() {
            ResealTable::SocialAccounts => super::social_accounts::reseal_page(self, from.after(), limit).await?,
            ResealTable::Webhooks => reseal_page(self, from.after(), limit).await?,
            _ => return Err(Error::invalid("cursor", rule::CURSOR, "a table this adapter does not re-seal")),
        };
        Ok(tally.progress(from.table(), limit))
    }
}
