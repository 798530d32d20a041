//! Ports: the traits every backend implements.

mod kv;
mod relational;

pub use kv::{
    Cache, DeadLetterRetention, JobQueue, KvStores, MAX_MOVED_PER_CALL, RateLimiter, SessionStore, TempStore,
};
pub use relational::{
    AiUsageRepository, AutomationRepository, BillingRepository, CommentRepository, NotificationRepository,
    PostRepository, Repositories, ScheduleRepository, SocialAccountRepository, TeamRepository, TemplateRepository,
    UserRepository, WebhookRepository,
};

#[cfg(feature = "mock")]
pub use kv::{MockCache, MockJobQueue, MockRateLimiter, MockSessionStore, MockTempStore};
#[cfg(feature = "mock")]
pub use relational::{
    MockAiUsageRepository, MockAutomationRepository, MockBillingRepository, MockCommentRepository,
    MockNotificationRepository, MockPostRepository, MockScheduleRepository, MockSocialAccountRepository,
    MockTeamRepository, MockTemplateRepository, MockUserRepository, MockWebhookRepository,
};
