//! Notifications: owned by users, read once (`read_at` set on the first read only).

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc};
use crate::constraint::FK_NOTIFICATIONS_USER;
use crate::error::{Entity, Error, Result};
use crate::ids::{NotificationId, UserId};
use crate::model::{NewNotification, Notification, NotificationFilter};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::NotificationRepository;

impl Tables {
    fn user_notification_mut(&mut self, user: UserId, id: NotificationId) -> Result<&mut Notification> {
        self.notifications
            .get_mut(&id)
            .filter(|n| n.user_id == user)
            .ok_or_else(|| Error::not_found(Entity::Notification, id))
    }
}

#[async_trait]
impl NotificationRepository for MemoryStore {
    async fn notify(&self, user: UserId, notification: NewNotification) -> Result<Notification> {
        let row = notification.into_record(user, self.now())?;
        let mut t = self.tables();
        t.require_user(user, Entity::Notification, FK_NOTIFICATIONS_USER)?;
        t.notifications.insert(row.id, row.clone());
        Ok(row)
    }

    async fn list_notifications(
        &self,
        user: UserId,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        page.check()?;
        let t = self.tables();
        let rows = t.notifications.values().filter(|n| n.user_id == user && (!filter.unread_only || !n.is_read));
        Ok(page_desc(rows, &page, Notification::cursor))
    }

    async fn unread_count(&self, user: UserId) -> Result<u64> {
        let t = self.tables();
        Ok(t.notifications.values().filter(|n| n.user_id == user && !n.is_read).count() as u64)
    }

    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Notification> {
        let now = self.now();
        let mut t = self.tables();
        let n = t.user_notification_mut(user, id)?;
        n.mark_read(now);
        Ok(n.clone())
    }

    async fn mark_all_read(&self, user: UserId) -> Result<u64> {
        let now = self.now();
        let mut t = self.tables();
        let mine = t.notifications.values_mut().filter(|n| n.user_id == user);
        Ok(mine.map(|n| u64::from(n.mark_read(now))).sum())
    }

    async fn delete_notification(&self, user: UserId, id: NotificationId) -> Result<()> {
        let mut t = self.tables();
        t.user_notification_mut(user, id)?;
        t.notifications.remove(&id);
        Ok(())
    }
}
