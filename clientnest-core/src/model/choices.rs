//! Every `choices=` list of the seed as an enum whose string form is the seed's value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The string given is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}")]
pub struct UnknownChoice {
    /// The enum's name.
    pub kind: &'static str,
    /// The rejected string, exactly as given (matching is case-sensitive).
    pub value: String,
}

macro_rules! choices {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = concat!(" Stored as `", $s, "`.")] #[serde(rename = $s)] $variant),+
        }

        impl $name {
            /// Every value, in the seed's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The seed's string for this value.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownChoice;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(UnknownChoice { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }
    };
}

choices! {
    /// A team's plan (`teams.plan_type`, also `billing.plan_type`).
    PlanType {
        Free = "free",
        Starter = "starter",
        Professional = "professional",
        Business = "business",
        Enterprise = "enterprise",
    }
}

choices! {
    /// A member's role in a team.
    TeamRole {
        /// The team's owner: one per team, from its creation; cannot be removed.
        Owner = "owner",
        /// Notified by a `send_notification` action that lists no users.
        Admin = "admin",
        Editor = "editor",
        Viewer = "viewer",
    }
}

choices! {
    /// A membership's status. The seed has a free `status` column defaulting to `active`; we
    /// name its values.
    MemberStatus {
        /// The default for a new membership.
        Active = "active",
        /// Invited, not yet accepted.
        Invited = "invited",
        Suspended = "suspended",
    }
}

choices! {
    /// A social platform. The seed's value for X is `twitter`.
    Platform {
        /// Posts of up to 63,206 characters and 0 to 10 media.
        Facebook = "facebook",
        /// Posts of up to 2,200 characters and 1 to 10 media.
        Instagram = "instagram",
        /// X (Twitter): posts of up to 280 characters and 0 to 4 media.
        Twitter = "twitter",
        /// Posts of up to 3,000 characters and 0 to 9 media.
        LinkedIn = "linkedin",
        /// Posts of up to 2,200 characters and 1 to 35 media.
        TikTok = "tiktok",
        /// Exactly one video, with a description of up to 5,000 characters.
        YouTube = "youtube",
        /// Posts of up to 500 characters and 1 to 5 media.
        Pinterest = "pinterest",
    }
}

choices! {
    /// A post's status.
    PostStatus {
        /// The default for a new post; also where it returns when its last live schedule is
        /// cancelled.
        Draft = "draft",
        /// Following its schedules: set while any of them is live.
        Scheduled = "scheduled",
        /// Gone out; reaching it first sets `published_at`.
        Published = "published",
        /// Following its schedules: set when none is live and one has failed.
        Failed = "failed",
    }
}

choices! {
    /// A media item's kind.
    MediaType {
        Image = "image",
        /// The only kind YouTube takes (exactly one per post).
        Video = "video",
        Gif = "gif",
    }
}

choices! {
    /// A comment's sentiment.
    Sentiment {
        Positive = "positive",
        Negative = "negative",
        Neutral = "neutral",
    }
}

choices! {
    /// A comment's or notification's priority.
    Priority {
        High = "high",
        /// The default for comments and notifications.
        Medium = "medium",
        Low = "low",
    }
}

choices! {
    /// A comment's triage status.
    CommentStatus {
        /// Every ingested comment starts here.
        New = "new",
        /// Set, with `replied_at`, when a response to it is sent.
        Replied = "replied",
        Ignored = "ignored",
        Flagged = "flagged",
    }
}

choices! {
    /// A response's status.
    ResponseStatus {
        /// Recorded, not sent; `sent_at` is `None`.
        Draft = "draft",
        /// Sent at `sent_at`; never becomes `failed`.
        Sent = "sent",
        /// Sending failed; only an unsent response can fail.
        Failed = "failed",
    }
}

choices! {
    /// A schedule's status.
    ScheduleStatus {
        /// Pending (due at `scheduled_time` or `next_attempt_at`).
        Pending = "pending",
        /// Claimed by a worker under a lease, not yet sent to the platform.
        Processing = "processing",
        /// Claimed, and the worker has marked that it is calling the platform now (addition to
        /// the seed).
        Publishing = "publishing",
        /// A publishing claim lapsed: the post may or may not have gone out. Never claimed again
        /// automatically; a reconciler or a person resolves it (addition to the seed).
        OutcomeUnknown = "outcome_unknown",
        /// Published: the post went out and `platform_post_id` is set.
        Completed = "completed",
        /// Failed for good: attempts used up, or given up on; never claimed again.
        Failed = "failed",
        /// Cancelled while pending; never claimed again.
        Cancelled = "cancelled",
    }
}

choices! {
    /// What starts an automation: the seed's `trigger_type`.
    TriggerType {
        /// A comment arrived; configured by [`Trigger::CommentReceived`](super::Trigger::CommentReceived).
        CommentReceived = "comment_received",
        /// The team's name or a keyword was mentioned; configured by
        /// [`Trigger::MentionDetected`](super::Trigger::MentionDetected).
        MentionDetected = "mention_detected",
        /// A five-field cron in an IANA zone; configured by [`Trigger::ScheduleTime`](super::Trigger::ScheduleTime).
        ScheduleTime = "schedule_time",
        /// A post's metric crossed a threshold within 1 to 8784 hours; configured by
        /// [`Trigger::EngagementThreshold`](super::Trigger::EngagementThreshold).
        EngagementThreshold = "engagement_threshold",
    }
}

choices! {
    /// What an automation does: the seed's `action_type`.
    ActionType {
        /// Reply with a template, a fixed text or AI; configured by
        /// [`Action::AutoReply`](super::Action::AutoReply).
        AutoReply = "auto_reply",
        /// Notify the listed users, or the team's admins; configured by
        /// [`Action::SendNotification`](super::Action::SendNotification).
        SendNotification = "send_notification",
        /// Create a post from a template; configured by [`Action::CreatePost`](super::Action::CreatePost).
        CreatePost = "create_post",
        /// Tag one user on the triggering item; configured by [`Action::TagUser`](super::Action::TagUser).
        TagUser = "tag_user",
    }
}

choices! {
    /// An AI feature that used tokens; usage totals are ordered by its stored string.
    FeatureType {
        ContentGeneration = "content_generation",
        SentimentAnalysis = "sentiment_analysis",
        ResponseGeneration = "response_generation",
        ContentOptimization = "content_optimization",
    }
}

choices! {
    /// A subscription's billing status.
    BillingStatus {
        /// A team has at most one `active` record.
        Active = "active",
        PastDue = "past_due",
        Cancelled = "cancelled",
        Unpaid = "unpaid",
    }
}

choices! {
    /// A notification's type.
    NotificationType {
        /// A new comment arrived on one of the team's accounts.
        Comment = "comment",
        /// The team or one of its accounts was mentioned.
        Mention = "mention",
        PostPublished = "post_published",
        PostFailed = "post_failed",
        Billing = "billing",
        System = "system",
    }
}

/// What a platform accepts in one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLimits {
    /// Maximum text length in characters (for YouTube, the description).
    pub max_text_chars: usize,
    /// Minimum number of media items.
    pub min_media: usize,
    /// Maximum number of media items.
    pub max_media: usize,
    /// Whether every media item must be a video.
    pub video_only: bool,
}

impl Platform {
    /// The platform's limits for one post.
    pub const fn limits(self) -> PlatformLimits {
        let (max_text_chars, min_media, max_media, video_only) = match self {
            Platform::Twitter => (280, 0, 4, false),
            Platform::Facebook => (63_206, 0, 10, false),
            Platform::Instagram => (2_200, 1, 10, false),
            Platform::LinkedIn => (3_000, 0, 9, false),
            Platform::TikTok => (2_200, 1, 35, false),
            Platform::YouTube => (5_000, 1, 1, true),
            Platform::Pinterest => (500, 1, 5, false),
        };
        PlatformLimits { max_text_chars, min_media, max_media, video_only }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(*p));
        }
        assert_eq!(BillingStatus::PastDue.as_str(), "past_due");
        assert_eq!(serde_json::to_string(&TriggerType::CommentReceived).ok().as_deref(), Some("\"comment_received\""));
        assert!("Twitter".parse::<Platform>().is_err());
    }
}
