//! Ports: the traits every backend implements.

mod kv;
mod relational;
mod reseal;

pub use kv::{
    Cache, DeadLetterRetention, JobQueue, KvStores, MAX_MOVED_PER_CALL, RateLimiter, SessionStore, TempStore,
};
pub use relational::{
    AiUsageRepository, AutomationRepository, BillingRepository, CommentRepository, NotificationRepository,
    PostRepository, Repositories, ScheduleRepository, SocialAccountRepository, TeamRepository, TemplateRepository,
    UserRepository, WebhookRepository,
};
pub use reseal::{MAX_RESEAL_PAGE, ResealCursor, ResealProgress, ResealTable, SecretReseal, check_reseal_limit};

#[cfg(feature = "mock")]
pub use kv::{MockCache, MockJobQueue, MockRateLimiter, MockSessionStore, MockTempStore};
#[cfg(feature = "mock")]
pub use relational::{
    MockAiUsageRepository, MockAutomationRepository, MockBillingRepository, MockCommentRepository,
    MockNotificationRepository, MockPostRepository, MockScheduleRepository, MockSocialAccountRepository,
    MockTeamRepository, MockTemplateRepository, MockUserRepository, MockWebhookRepository,
};
#[cfg(feature = "mock")]
pub use reseal::MockSecretReseal;
