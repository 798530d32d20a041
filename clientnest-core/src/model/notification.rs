//! Notifications (`notifications`), owned by a user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{NotificationType, Priority};
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{NotificationId, UserId};
use crate::validate as v;

/// A stored notification: one row of `notifications`, owned by its recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: NotificationId,
    /// The recipient; every read goes through that user.
    pub user_id: UserId,
    /// Type (the seed's `type` column).
    pub kind: NotificationType,
    /// Title: one line of 1 to 200 characters.
    pub title: String,
    /// Message body: at most 100,000 characters, no NUL; may be blank.
    pub message: String,
    /// JSON data for the client (`{}` by default); strings and keys hold no NUL.
    pub data: serde_json::Value,
    /// Whether it was read: `false` at creation, `true` after [`Notification::mark_read`].
    pub is_read: bool,
    /// Priority (`medium` by default).
    pub priority: Priority,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// When it was first read (UTC); `None` while unread; a second read keeps it.
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification to send; the recipient is given to [`NewNotification::into_record`].
#[derive(Debug, Clone, Validate)]
pub struct NewNotification {
    /// Kind of notification (the seed's `type` column).
    pub kind: NotificationType,
    /// Title, at most 200 characters.
    #[validate(length(max = 200), custom(function = "v::required_line"))]
    pub title: String,
    /// Message body: at most 100,000 characters, no NUL; may be blank.
    #[validate(length(max = 100_000), custom(function = "v::no_nul"))]
    pub message: String,
    /// JSON data for the client (default `{}`); strings and keys hold no NUL.
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
    /// `true`: only unread ones; `false`: read and unread alike.
    pub unread_only: bool,
}
