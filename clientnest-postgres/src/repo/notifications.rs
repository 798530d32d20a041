//! Notifications (`notifications`), owned by users; read once ([`Notification::mark_read`]).

use async_trait::async_trait;
use clientnest_core::ids::{NotificationId, UserId};
use clientnest_core::model::{NewNotification, Notification, NotificationFilter};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::NotificationRepository;
use clientnest_core::{Entity, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Db, RowQuery, choice_column, from_columns, keyset_list, owned_row};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

impl sqlx::FromRow<'_, PgRow> for Db<Notification> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, Notification {
            title, message, data, is_read, created_at, read_at;
            id: NotificationId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            kind: choice_column(row, "type")?,
            priority: choice_column(row, "priority")?,
        })))
    }
}

/// The columns of `notifications`, in the order [`bind_notification`] binds them as `$1` to
/// `$10`.
macro_rules! columns {
    () => {
        "id, user_id, type, title, message, data, is_read, priority, created_at, read_at"
    };
}

/// Bind every column of `n` as `$1` (id) to `$10` (read time), in the order of `columns!`.
fn bind_notification<'q, O>(q: RowQuery<'q, O>, n: &'q Notification) -> RowQuery<'q, O> {
    q.bind(n.id.0)
        .bind(n.user_id.0)
        .bind(n.kind.as_str())
        .bind(&n.title)
        .bind(&n.message)
        .bind(&n.data)
        .bind(n.is_read)
        .bind(n.priority.as_str())
        .bind(n.created_at)
        .bind(n.read_at)
}

/// `$1`..`$10`: the notification, as [`bind_notification`] binds it.
const INSERT: &str = concat!(
    "INSERT INTO notifications (",
    columns!(),
    ")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     RETURNING *"
);

/// `$1`..`$10`: the notification, as [`bind_notification`] binds it (the row is found by `$1`).
const SAVE: &str = concat!(
    "UPDATE notifications SET (",
    columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     WHERE id = $1
     RETURNING *"
);

/// `$1` id, `$2` user; the row stays locked until the transaction ends.
const LOCK: &str = "SELECT * FROM notifications WHERE id = $1 AND user_id = $2 FOR UPDATE";

/// `$1` user, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST: &str = keyset_list!("notifications", "user_id");

/// As [`LIST`], unread ones only.
const LIST_UNREAD: &str = keyset_list!("notifications", "user_id", "AND NOT is_read");

/// `$1` user.
const UNREAD_COUNT: &str = "SELECT count(*) FROM notifications WHERE user_id = $1 AND NOT is_read";

/// `$1` user, `$2` now: [`Notification::mark_read`] on every unread one, as one statement (a
/// read one keeps its `read_at`).
const MARK_ALL_READ: &str = "
    UPDATE notifications SET is_read = true, read_at = $2
    WHERE user_id = $1 AND NOT is_read";

#[async_trait]
impl NotificationRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn notify(&self, user: UserId, notification: NewNotification) -> Result<Notification> {
        let _write = self.write_mark();
        let notification = notification.into_record(user, self.now())?;
        let row: Db<Notification> =
            bind_notification(sqlx::query_as(INSERT), &notification).fetch_one(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.into_inner())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn list_notifications(
        &self,
        user: UserId,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        self.keyed_page(if filter.unread_only { LIST_UNREAD } else { LIST }, user.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn unread_count(&self, user: UserId) -> Result<u64> {
        let count: i64 = self
            .read(|pool| async move { sqlx::query_scalar(UNREAD_COUNT).bind(user.0).fetch_one(&pool).await })
            .await?;
        Ok(count.unsigned_abs())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Notification> {
        let _write = self.write_mark();
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<Notification> = owned_row(&mut *tx, LOCK, id.0, user.0, Entity::Notification, id).await?;
            let mut notification = row.into_inner();
            if !notification.mark_read(now) {
                return Ok(notification);
            }
            let saved: Db<Notification> =
                bind_notification(sqlx::query_as(SAVE), &notification).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok(saved.into_inner())
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn mark_all_read(&self, user: UserId) -> Result<u64> {
        let _write = self.write_mark();
        let done =
            sqlx::query(MARK_ALL_READ).bind(user.0).bind(self.now()).execute(self.exec()).await.map_err(map_sqlx)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn delete_notification(&self, user: UserId, id: NotificationId) -> Result<()> {
        let _write = self.write_mark();
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
