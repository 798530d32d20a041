//! Domain types: per aggregate the stored record, the validated input and a patch.

mod ai_usage;
mod automation;
mod billing;
mod cache;
mod choices;
mod comment;
mod job;
mod notification;
mod post;
mod rate;
mod schedule;
mod session;
mod social_account;
mod team;
mod template;
mod user;
mod webhook;

pub use ai_usage::{AiUsage, AiUsageTotal, NewAiUsage, Period};
pub use automation::{Action, Automation, AutomationUpdate, EngagementMetric, NewAutomation, Trigger};
pub use billing::{Billing, BillingUpdate, NewBilling};
pub use cache::CacheKey;
pub use choices::{
    ActionType, BillingStatus, CommentStatus, FeatureType, MediaType, MemberStatus, NotificationType, PlanType,
    Platform, PlatformLimits, PostStatus, Priority, ResponseStatus, ScheduleStatus, Sentiment, TeamRole, TriggerType,
    UnknownChoice,
};
pub use comment::{
    Comment, CommentUpdate, InboxFilter, IngestReport, NewComment, NewResponse, Response, SENT_CANNOT_FAIL,
    check_ingest,
};
pub use job::{
    DeadJob, Enqueued, Job, JobFailOutcome, JobLease, LEASE_LOST, MAX_BATCH_PAYLOAD_BYTES, MAX_JOB_ERROR_CHARS, NewJob,
    QueueCounts, QueueName, Reserved, check_jobs, check_visibility, clip_error,
};
pub use notification::{NewNotification, Notification, NotificationFilter};
pub use post::{
    Dimensions, ImportedPost, MAX_MEDIA, NewPost, NewPostMedia, Post, PostFilter, PostMedia, PostUpdate, PostWithMedia,
    check_import, check_platform_fit, detach_from, import_records, platform_fit,
};
pub use rate::{Quota, RateDecision, gcra};
pub use schedule::{
    Claim, ClaimRequest, ClaimToken, FailOutcome, GAVE_UP, INACTIVE_ACCOUNT, LAPSED_OUT_OF_ATTEMPTS,
    MAX_SCHEDULES_PER_POST, NewPostSchedule, NewSchedule, PostPublishing, PublishingAccount, Recovered, Resolution,
    RetryPolicy, Schedule, ScheduleFilter, ScheduledPost, WorkerId, check_batch, check_batch_len, check_lease,
    check_platform_post_id, later, platforms_to_fit,
};
pub use session::{MAX_VALUE_BYTES, NewSession, Session, SessionId, check_key, check_ttl, check_value};
pub use social_account::{NewSocialAccount, SocialAccount, SocialAccountUpdate};
pub use team::{NewTeam, NewTeamMember, OWNER_NOT_REMOVABLE, Team, TeamMember, TeamMemberUpdate, TeamUpdate};
pub use template::{NewTemplate, Template, TemplateFilter, TemplateUpdate};
pub use user::{NewUser, User, UserUpdate};
pub use webhook::{NewWebhook, Webhook, WebhookUpdate};
