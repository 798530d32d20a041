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
    /// The rejected value.
    pub value: String,
}

macro_rules! choices {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $s)] $variant),+
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
    PlanType { /** Free. */ Free = "free", /** Starter. */ Starter = "starter", /** Professional. */ Professional = "professional", /** Business. */ Business = "business", /** Enterprise. */ Enterprise = "enterprise" }
}

choices! {
    /// A member's role in a team.
    TeamRole { /** Owner. */ Owner = "owner", /** Admin. */ Admin = "admin", /** Editor. */ Editor = "editor", /** Viewer. */ Viewer = "viewer" }
}

choices! {
    /// A membership's status. The seed has a free `status` column defaulting to `active`; we
    /// name its values.
    MemberStatus { /** Active. */ Active = "active", /** Invited, not yet accepted. */ Invited = "invited", /** Suspended. */ Suspended = "suspended" }
}

choices! {
    /// A social platform. The seed's value for X is `twitter`.
    Platform { /** Facebook. */ Facebook = "facebook", /** Instagram. */ Instagram = "instagram", /** X (Twitter). */ Twitter = "twitter", /** LinkedIn. */ LinkedIn = "linkedin", /** TikTok. */ TikTok = "tiktok", /** YouTube. */ YouTube = "youtube", /** Pinterest. */ Pinterest = "pinterest" }
}

choices! {
    /// A post's status.
    PostStatus { /** Draft. */ Draft = "draft", /** Scheduled. */ Scheduled = "scheduled", /** Published. */ Published = "published", /** Failed. */ Failed = "failed" }
}

choices! {
    /// A media item's kind.
    MediaType { /** Image. */ Image = "image", /** Video. */ Video = "video", /** GIF. */ Gif = "gif" }
}

choices! {
    /// A comment's sentiment.
    Sentiment { /** Positive. */ Positive = "positive", /** Negative. */ Negative = "negative", /** Neutral. */ Neutral = "neutral" }
}

choices! {
    /// A comment's or notification's priority.
    Priority { /** High. */ High = "high", /** Medium. */ Medium = "medium", /** Low. */ Low = "low" }
}

choices! {
    /// A comment's triage status.
    CommentStatus { /** New. */ New = "new", /** Replied. */ Replied = "replied", /** Ignored. */ Ignored = "ignored", /** Flagged. */ Flagged = "flagged" }
}

choices! {
    /// A response's status.
    ResponseStatus { /** Draft. */ Draft = "draft", /** Sent. */ Sent = "sent", /** Failed. */ Failed = "failed" }
}

choices! {
    /// A schedule's status.
    ScheduleStatus { /** Pending (due at `scheduled_time` or `next_attempt_at`). */ Pending = "pending", /** Claimed by a worker under a lease, not yet sent to the platform. */ Processing = "processing", /** Claimed, and the worker has marked that it is calling the platform now (addition to the seed). */ Publishing = "publishing", /** A publishing claim lapsed: the post may or may not have gone out. Never claimed again automatically; a reconciler or a person resolves it (addition to the seed). */ OutcomeUnknown = "outcome_unknown", /** Published. */ Completed = "completed", /** Failed for good. */ Failed = "failed", /** Cancelled. */ Cancelled = "cancelled" }
}

choices! {
    /// What starts an automation.
    TriggerType { /** A comment arrived. */ CommentReceived = "comment_received", /** A mention was detected. */ MentionDetected = "mention_detected", /** A time of day or cron. */ ScheduleTime = "schedule_time", /** A metric crossed a threshold. */ EngagementThreshold = "engagement_threshold" }
}

choices! {
    /// What an automation does.
    ActionType { /** Reply automatically. */ AutoReply = "auto_reply", /** Notify users. */ SendNotification = "send_notification", /** Create a post. */ CreatePost = "create_post", /** Tag a user. */ TagUser = "tag_user" }
}

choices! {
    /// An AI feature that used tokens.
    FeatureType { /** Content generation. */ ContentGeneration = "content_generation", /** Sentiment analysis. */ SentimentAnalysis = "sentiment_analysis", /** Response generation. */ ResponseGeneration = "response_generation", /** Content optimization. */ ContentOptimization = "content_optimization" }
}

choices! {
    /// A subscription's billing status.
    BillingStatus { /** Active. */ Active = "active", /** Past due. */ PastDue = "past_due", /** Cancelled. */ Cancelled = "cancelled", /** Unpaid. */ Unpaid = "unpaid" }
}

choices! {
    /// A notification's type.
    NotificationType { /** A new comment. */ Comment = "comment", /** A mention. */ Mention = "mention", /** A post was published. */ PostPublished = "post_published", /** A post failed. */ PostFailed = "post_failed", /** Billing. */ Billing = "billing", /** System. */ System = "system" }
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
