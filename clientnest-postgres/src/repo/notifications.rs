//! Notifications (`notifications`), owned by users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::ids::{NotificationId, UserId};
use clientnest_core::model::{NewNotification, Notification, NotificationFilter};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::NotificationRepository;
use clientnest_core::{Entity, Error, Result, validate};
use uuid::Uuid;

use super::{Keyset, choice, page_of};
use crate::error::map_sqlx;
use crate::store::PgStore;

/// A `notifications` row.
#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    title: String,
    message: String,
    data: serde_json::Value,
    is_read: bool,
    priority: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = Error;
    fn try_from(r: NotificationRow) -> Result<Self> {
        Ok(Notification {
            id: NotificationId(r.id),
            user_id: UserId(r.user_id),
            kind: choice(&r.kind)?,
            title: r.title,
            message: r.message,
            data: r.data,
            is_read: r.is_read,
            priority: choice(&r.priority)?,
            created_at: r.created_at,
            read_at: r.read_at,
        })
    }
}

fn cursor(n: &Notification) -> Cursor {
    Cursor::after(n.created_at, n.id)
}

const INSERT: &str = "INSERT INTO notifications (id, user_id, type, title, message, data, is_read, priority, \
       created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, NULL) RETURNING *";

const LIST: &str = "SELECT * FROM notifications WHERE user_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const LIST_UNREAD: &str = "SELECT * FROM notifications WHERE user_id = $1 AND NOT is_read \
     AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4";

/// `read_at` is set only when the notification was unread (the right side sees the old row).
const MARK_READ: &str = "UPDATE notifications SET is_read = true, read_at = CASE WHEN is_read THEN read_at ELSE $3 END \
     WHERE id = $1 AND user_id = $2 RETURNING *";

#[async_trait]
impl NotificationRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn notify(&self, user: UserId, notification: NewNotification) -> Result<Notification> {
        validate::check(&notification)?;
        let row: NotificationRow = sqlx::query_as(INSERT)
            .bind(NotificationId::new().0)
            .bind(user.0)
            .bind(notification.kind.as_str())
            .bind(&notification.title)
            .bind(&notification.message)
            .bind(&notification.data)
            .bind(notification.priority.as_str())
            .bind(self.now())
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn list_notifications(
        &self,
        user: UserId,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        let k = Keyset::of(&page)?;
        let sql = if filter.unread_only { LIST_UNREAD } else { LIST };
        let rows: Vec<NotificationRow> = sqlx::query_as(sql)
            .bind(user.0)
            .bind(k.at)
            .bind(k.id)
            .bind(k.fetch)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        page_of(rows, &page, Notification::try_from, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn unread_count(&self, user: UserId) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND NOT is_read")
            .bind(user.0)
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(count.unsigned_abs())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Notification> {
        let row: Option<NotificationRow> = sqlx::query_as(MARK_READ)
            .bind(id.0)
            .bind(user.0)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::Notification, id))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn mark_all_read(&self, user: UserId) -> Result<u64> {
        let done =
            sqlx::query("UPDATE notifications SET is_read = true, read_at = $2 WHERE user_id = $1 AND NOT is_read")
                .bind(user.0)
                .bind(self.now())
                .execute(self.pool())
                .await
                .map_err(map_sqlx)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn delete_notification(&self, user: UserId, id: NotificationId) -> Result<()> {
        self.delete_owned(
            "DELETE FROM notifications WHERE id = $1 AND user_id = $2",
            id.0,
            user.0,
            Entity::Notification,
            id,
        )
        .await
    }
}
