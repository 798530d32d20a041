//! Notifications (`notifications`), owned by a user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{NotificationType, Priority};
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
}

/// Filter for listing a user's notifications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only unread ones.
    pub unread_only: bool,
}
