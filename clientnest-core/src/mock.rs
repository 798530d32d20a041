//! `mockall` mocks of every port, for unit tests of code that uses ClientNest.
//!
//! Each port trait `FooRepository` has a `MockFooRepository` with `expect_<method>()`.
//! Prefer the in-memory backends when you want real behaviour; use a mock to force an outcome
//! (an outage, a conflict) or to assert a call was made.
//!
//! ```
//! use clientnest_core::mock::MockRateLimiter;
//! use clientnest_core::prelude::*;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut limiter = MockRateLimiter::new();
//! limiter
//!     .expect_check_rate()
//!     .withf(|subject, _quota| subject == "user-42")
//!     .times(1)
//!     .returning(|_, quota| {
//!         Ok(RateDecision {
//!             allowed: false,
//!             limit: quota.burst,
//!             remaining: 0,
//!             reset_after: chrono::Duration::seconds(1),
//!             retry_after: Some(chrono::Duration::milliseconds(250)),
//!         })
//!     });
//!
//! // Code under test sees a refusal without any backend running.
//! let limiter: &dyn RateLimiter = &limiter;
//! let decision = limiter.check_rate("user-42", &Quota::per(10, chrono::Duration::seconds(1))).await?;
//! assert!(!decision.allowed);
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```

pub use crate::ports::{
    MockAiUsageRepository, MockAutomationRepository, MockBillingRepository, MockCache, MockCommentRepository,
    MockJobQueue, MockNotificationRepository, MockPostRepository, MockRateLimiter, MockScheduleRepository,
    MockSessionStore, MockSocialAccountRepository, MockTeamRepository, MockTempStore, MockTemplateRepository,
    MockUserRepository, MockWebhookRepository,
};
