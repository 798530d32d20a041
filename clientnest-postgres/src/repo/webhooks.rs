//! Webhooks (`webhooks`), owned by users; the signing secret is sealed with the key ring.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::ids::{UserId, WebhookId};
use clientnest_core::model::{NewWebhook, Platform, Webhook, WebhookUpdate};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::WebhookRepository;
use clientnest_core::secret::Secret;
use clientnest_core::{Entity, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::sealed::{Sealed, SealedRecord, sweep_page};
use super::{Db, RowQuery, choice_column, found, from_columns, keyset_list, owned_row};
use crate::error::map_sqlx;
use crate::secrets::{SealedColumn, Sealer};
use crate::store::{PgStore, finish};

impl sqlx::FromRow<'_, PgRow> for Db<Sealed<Webhook>> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(Sealed(from_columns!(row, Webhook {
            event_type, endpoint_url, is_active, last_triggered, created_at, updated_at;
            id: WebhookId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            platform: choice_column(row, "platform")?,
            secret_key: Secret::new(row.try_get::<String, _>("secret_key_enc")?),
        }))))
    }
}

/// The columns of `webhooks`, in the order the binder binds them as `$1` to `$10`.
macro_rules! columns {
    () => {
        "id, user_id, platform, event_type, endpoint_url, secret_key_enc, is_active, last_triggered, \
         created_at, updated_at"
    };
}

impl SealedRecord for Webhook {
    const SWEEP: &'static str = sweep_page!("webhooks");
    const SAVE: &'static str = SAVE;

    fn row_id(&self) -> Uuid {
        self.id.0
    }

    fn seal(&self, sealer: &Sealer) -> Result<Sealed<Self>> {
        let secret = sealer.seal(SealedColumn::WebhookSecret, self.id.0, &self.secret_key)?;
        Ok(Sealed(Webhook { secret_key: Secret::new(secret), ..self.clone() }))
    }

    fn open(sealed: Sealed<Self>, sealer: &Sealer) -> Result<Self> {
        let mut w = sealed.0;
        w.secret_key = sealer.open(SealedColumn::WebhookSecret, w.id.0, w.secret_key.expose())?;
        Ok(w)
    }

    fn reseal(sealed: &mut Sealed<Self>, sealer: &Sealer) -> Result<bool> {
        let w = &mut sealed.0;
        if !sealer.needs_rotation(w.secret_key.expose()) {
            return Ok(false);
        }
        w.secret_key = Secret::new(sealer.reseal(SealedColumn::WebhookSecret, w.id.0, w.secret_key.expose())?);
        Ok(true)
    }

    /// `$1` (id) to `$10` (updated at), in the order of `columns!`.
    fn bind<'q, O>(q: RowQuery<'q, O>, sealed: &'q Sealed<Self>) -> RowQuery<'q, O> {
        let w = &sealed.0;
        q.bind(w.id.0)
            .bind(w.user_id.0)
            .bind(w.platform.as_str())
            .bind(&w.event_type)
            .bind(&w.endpoint_url)
            .bind(w.secret_key.expose())
            .bind(w.is_active)
            .bind(w.last_triggered)
            .bind(w.created_at)
            .bind(w.updated_at)
    }
}

/// `$1`..`$10`: the sealed webhook, as its binder binds it.
const INSERT: &str = concat!(
    "INSERT INTO webhooks (",
    columns!(),
    ")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     RETURNING *"
);

/// `$1`..`$10`: the sealed webhook, as its binder binds it (the row is found by `$1`).
const SAVE: &str = concat!(
    "UPDATE webhooks SET (",
    columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     WHERE id = $1
     RETURNING *"
);

/// `$1` id, `$2` user.
const GET: &str = "SELECT * FROM webhooks WHERE id = $1 AND user_id = $2";

/// `$1` id, `$2` user; the row stays locked until the transaction ends.
const LOCK: &str = "SELECT * FROM webhooks WHERE id = $1 AND user_id = $2 FOR UPDATE";

/// `$1` user, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST: &str = keyset_list!("webhooks", "user_id");

/// `$1` platform, `$2` event type: the active webhooks, oldest first.
const FOR_EVENT: &str = "
    SELECT * FROM webhooks
    WHERE is_active AND platform = $1 AND event_type = $2
    ORDER BY created_at, id";

/// `$1` id, `$2` delivery time.
const TRIGGERED: &str = "UPDATE webhooks SET last_triggered = $2 WHERE id = $1";

#[async_trait]
impl WebhookRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn create_webhook(&self, user: UserId, webhook: NewWebhook) -> Result<Webhook> {
        let _write = self.write_mark();
        let webhook = webhook.into_record(user, self.host_policy(), self.now())?;
        let sealed = webhook.seal(self.sealer())?;
        let row: Db<Sealed<Webhook>> =
            Webhook::bind(sqlx::query_as(INSERT), &sealed).fetch_one(self.exec()).await.map_err(map_sqlx)?;
        Webhook::open(row.into_inner(), self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn get_webhook(&self, user: UserId, id: WebhookId) -> Result<Webhook> {
        let row: Db<Sealed<Webhook>> = owned_row(self.exec(), GET, id.0, user.0, Entity::Webhook, id).await?;
        Webhook::open(row.into_inner(), self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn list_webhooks(&self, user: UserId, page: PageRequest) -> Result<Page<Webhook>> {
        self.sealed_page(LIST, user.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn update_webhook(&self, user: UserId, id: WebhookId, update: WebhookUpdate) -> Result<Webhook> {
        let _write = self.write_mark();
        update.check(self.host_policy())?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<Sealed<Webhook>> = owned_row(&mut *tx, LOCK, id.0, user.0, Entity::Webhook, id).await?;
            let mut webhook = Webhook::open(row.into_inner(), self.sealer())?;
            update.apply(&mut webhook, now);
            self.save_sealed(&mut tx, &webhook).await
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn delete_webhook(&self, user: UserId, id: WebhookId) -> Result<()> {
        let _write = self.write_mark();
        self.delete_owned("DELETE FROM webhooks WHERE id = $1 AND user_id = $2", id.0, user.0, Entity::Webhook, id)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn webhooks_for_event(&self, platform: Platform, event_type: &str) -> Result<Vec<Webhook>> {
        if event_type.contains('\0') {
            // No stored event type holds a NUL (PostgreSQL text cannot).
            return Ok(Vec::new());
        }
        let rows: Vec<Db<Sealed<Webhook>>> = sqlx::query_as(FOR_EVENT)
            .bind(platform.as_str())
            .bind(event_type)
            .fetch_all(self.exec())
            .await
            .map_err(map_sqlx)?;
        self.open_all(rows)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn record_webhook_triggered(&self, id: WebhookId, at: DateTime<Utc>) -> Result<()> {
        let _write = self.write_mark();
        let at = Webhook::triggered_at(at)?;
        let done = sqlx::query(TRIGGERED).bind(id.0).bind(at).execute(self.exec()).await.map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::Webhook, id)
    }
}
