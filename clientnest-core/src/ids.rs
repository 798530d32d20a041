//! Typed ids: one newtype over [`Uuid`] per entity, so ids of different entities never mix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id's UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type! {
    /// Id of a [`User`](crate::model::User).
    UserId,
    /// Id of a [`Team`](crate::model::Team).
    TeamId,
    /// Id of a [`TeamMember`](crate::model::TeamMember).
    TeamMemberId,
    /// Id of a [`SocialAccount`](crate::model::SocialAccount).
    SocialAccountId,
    /// Id of a [`Post`](crate::model::Post).
    PostId,
    /// Id of a [`PostMedia`](crate::model::PostMedia).
    PostMediaId,
    /// Id of a [`Comment`](crate::model::Comment).
    CommentId,
    /// Id of a [`Response`](crate::model::Response).
    ResponseId,
    /// Id of a [`Template`](crate::model::Template).
    TemplateId,
    /// Id of a [`Schedule`](crate::model::Schedule).
    ScheduleId,
    /// Id of an [`Automation`](crate::model::Automation).
    AutomationId,
    /// Id of a [`Webhook`](crate::model::Webhook).
    WebhookId,
    /// Id of an [`AiUsage`](crate::model::AiUsage) record.
    AiUsageId,
    /// Id of a [`Billing`](crate::model::Billing) record.
    BillingId,
    /// Id of a [`Notification`](crate::model::Notification).
    NotificationId,
    /// Id of a queued [`Job`](crate::model::Job).
    JobId,
    /// Id of one claim of a [`Schedule`](crate::model::Schedule): its fencing token and the idempotency key of that attempt.
    AttemptId,
}
