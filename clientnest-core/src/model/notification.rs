//! Notifications (`notifications`), owned by a user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{NotificationType, Priority};
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{NotificationId, UserId};
use crate::validate as v;

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Id.
    pub id: NotificationId,
    /// Recipient.
    pub user_id: UserId,
    /// Type (the seed's `type` column).
    pub kind: NotificationType,
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
    /// Data for the client.
    pub data: serde_json::Value,
    /// Whether it was read.
    pub is_read: bool,
    /// Priority.
    pub priority: Priority,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was read.
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification to send.
#[derive(Debug, Clone, Validate)]
pub struct NewNotification {
    /// Type.
    pub kind: NotificationType,
    /// Title, at most 200 characters.
    #[validate(length(max = 200), custom(function = "v::required_line"))]
    pub title: String,
    /// Message.
    #[validate(length(max = 100_000), custom(function = "v::no_nul"))]
    pub message: String,
    /// Data (default `{}`).
    #[validate(custom(function = "v::json"))]
    pub data: serde_json::Value,
    /// Priority (default `medium`).
    pub priority: Priority,
}

impl NewNotification {
    /// A medium-priority notification without data.
    pub fn new(kind: NotificationType, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            message: message.into(),
            data: serde_json::json!({}),
            priority: Priority::Medium,
        }
    }

    /// The notification for `user` to store, after validation: a new id, unread, created at
    /// `now` (truncated to microseconds).
    pub fn into_record(self, user: UserId, now: DateTime<Utc>) -> Result<Notification, Error> {
        v::check(&self)?;
        Ok(Notification {
            id: NotificationId::new(),
            user_id: user,
            kind: self.kind,
            title: self.title,
            message: self.message,
            data: self.data,
            is_read: false,
            priority: self.priority,
            created_at: to_micros(now),
            read_at: None,
        })
    }
}

impl Notification {
    /// Mark it read at `now`: `read_at` is set on the first read only, a second mark changes
    /// nothing. Whether this call changed it.
    pub fn mark_read(&mut self, now: DateTime<Utc>) -> bool {
        if self.is_read {
            return false;
        }
        self.is_read = true;
        self.read_at = Some(to_micros(now));
        true
    }
}

/// Filter for listing a user's notifications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only unread ones.
    pub unread_only: bool,
}
