//! The data layer measures itself: [`Measured`] wraps any repository or key-value port and
//! records each call's latency and outcome as a [`Performance`] row, through a
//! [`BufferedWriter`], off the caller's path.
//!
//! Every call gives one row: `service_name` (default [`DEFAULT_SERVICE`]), `endpoint`
//! `<port>.<method>` (`posts.create_post`, `sessions.get_session`), `time` when the call
//! started (from the decorator's clock), `response_time` the call's wall time (at most
//! [`MAX_RESPONSE_TIME`]), `status_code` from the outcome and `error_count` 1 for any error.
//! The row goes in with [`BufferedWriter::try_record`]: recording never waits and never fails
//! the call; when the buffer is full the row is dropped and counted in its stats.
//!
//! | outcome | `status_code` | why |
//! |---|---|---|
//! | `Ok` | 200 | |
//! | [`Validation`](Error::Validation) | 400 | the input breaks a rule |
//! | [`NotAMember`](Error::NotAMember) | 403 | the acting user may not write in the team |
//! | [`NotFound`](Error::NotFound) | 404 | no such record, or another team's |
//! | [`Conflict`](Error::Conflict), [`MissingReference`](Error::MissingReference), [`InvalidState`](Error::InvalidState), [`StaleClaim`](Error::StaleClaim) | 409 | the input is well formed but clashes with what is stored (a unique rule, a missing parent, a state, a claim) |
//! | [`Unavailable`](Error::Unavailable) | 503 | the store is down or timed out (retryable) |
//! | [`OutcomeUnknown`](Error::OutcomeUnknown) | 504 | the store's reply was lost |
//! | [`Backend`](Error::Backend), [`Crypto`](Error::Crypto) | 500 | the store failed, or stored secrets do not decrypt: a fault on the server's side |
//!
//! ```
//! use std::sync::Arc;
//! use clientnest_core::analytics::{AnalyticsWriter, BufferConfig, BufferedWriter, Measured};
//! use clientnest_core::memory::MemoryStore;
//! use clientnest_core::prelude::*;
//! # use async_trait::async_trait;
//! # use clientnest_core::analytics::*;
//! # struct Backend;
//! # #[async_trait]
//! # impl AnalyticsWriter for Backend {
//! #     async fn append_events(&self, rows: Vec<Event>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_metrics(&self, rows: Vec<Metric>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_performance(&self, rows: Vec<Performance>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_costs(&self, rows: Vec<Cost>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let backend: Arc<dyn AnalyticsWriter> = Arc::new(Backend);
//! let buffer = BufferedWriter::spawn(backend, BufferConfig::default());
//! let store = Measured::new(MemoryStore::new(), buffer.clone()).with_service_name("api")?;
//! assert!(store.get_user(UserId::new()).await.is_err()); // recorded as users.get_user, 404
//! buffer.shutdown().await;
//! assert_eq!(buffer.stats().written, 1);
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::buffer::BufferedWriter;
use super::rows::{AnalyticsRow, MAX_RESPONSE_TIME, Performance};
use crate::clock::{SharedClock, system_clock};
use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::*;
use crate::page::{Page, PageRequest};
use crate::ports::*;

/// The `service_name` of the rows by default: `clientnest`.
pub const DEFAULT_SERVICE: &str = "clientnest";

/// The status a call's outcome is recorded with (the table in the [module docs](self)).
pub fn status_code<T>(outcome: &Result<T>) -> u16 {
    match outcome {
        Ok(_) => 200,
        Err(e) => error_status(e),
    }
}

/// The status an error is recorded with (the table in the [module docs](self)).
pub fn error_status(error: &Error) -> u16 {
    match error {
        Error::Validation(_) => 400,
        Error::NotAMember { .. } => 403,
        Error::NotFound { .. } => 404,
        Error::Conflict { .. }
        | Error::MissingReference { .. }
        | Error::InvalidState { .. }
        | Error::StaleClaim { .. } => 409,
        Error::Unavailable { .. } => 503,
        Error::OutcomeUnknown { .. } => 504,
        Error::Backend { .. } | Error::Crypto(_) => 500,
    }
}

/// A port wrapped so that each call is recorded as a [`Performance`] row; see the
/// [module docs](self). It implements every port `R` implements of
/// [`Repositories`] and [`KvStores`], so `Measured<MemoryStore>` is a `Repositories`.
pub struct Measured<R> {
    inner: R,
    sink: BufferedWriter,
    service: String,
    clock: SharedClock,
}

impl<R> fmt::Debug for Measured<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Measured").field("service", &self.service).field("sink", &self.sink).finish_non_exhaustive()
    }
}

impl<R> Measured<R> {
    /// Wrap `inner`, recording into `sink` as [`DEFAULT_SERVICE`] on the system clock.
    pub fn new(inner: R, sink: BufferedWriter) -> Self {
        Self { inner, sink, service: DEFAULT_SERVICE.to_owned(), clock: system_clock() }
    }

    /// Record as `name` (1 to 100 characters, one line, no surrounding whitespace: the rule of
    /// [`Performance::service_name`]); a name breaking it is a `Validation` error.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let probe = Performance::new(name.clone(), "probe", Utc::now(), Duration::ZERO, 200);
        probe.checked()?;
        self.service = name;
        Ok(self)
    }

    /// Take the rows' `time` (when a call started) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The wrapped port.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The wrapped port, unwrapped.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The buffer the rows go to.
    pub fn sink(&self) -> &BufferedWriter {
        &self.sink
    }

    /// The service name the rows carry.
    pub fn service_name(&self) -> &str {
        &self.service
    }

    fn start(&self) -> (DateTime<Utc>, Instant) {
        (self.clock.now(), Instant::now())
    }

    fn record<T>(&self, endpoint: &'static str, (time, started): (DateTime<Utc>, Instant), outcome: &Result<T>) {
        let took = started.elapsed().min(MAX_RESPONSE_TIME);
        let mut row = Performance::new(self.service.as_str(), endpoint, time, took, status_code(outcome));
        row.error_count = i32::from(outcome.is_err());
        if let Err(e) = self.sink.try_record(row) {
            tracing::debug!(endpoint, error = %e, "performance row not recorded");
        }
    }
}

/// `impl Trait for Measured<R>` for each listed trait, one line per method: each call is
/// timed, delegated to the inner port by its fully qualified name, and recorded as
/// `<port>.<method>`.
macro_rules! measured {
    ($($trait:ident $port:literal { $(fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)+ })+) => {$(
        #[async_trait]
        impl<R: $trait> $trait for Measured<R> {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    let started = self.start();
                    let outcome = <R as $trait>::$method(&self.inner $(, $arg)*).await;
                    self.record(concat!($port, ".", stringify!($method)), started, &outcome);
                    outcome
                }
            )+
        }
    )+};
}

measured! {
    UserRepository "users" {
        fn create_user(&self, user: NewUser) -> Result<User>;
        fn get_user(&self, id: UserId) -> Result<User>;
        fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
        fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User>;
        fn delete_user(&self, id: UserId) -> Result<()>;
    }
    TeamRepository "teams" {
        fn create_team(&self, team: NewTeam) -> Result<(Team, TeamMember)>;
        fn get_team(&self, id: TeamId) -> Result<Team>;
        fn update_team(&self, id: TeamId, update: TeamUpdate) -> Result<Team>;
        fn delete_team(&self, id: TeamId) -> Result<()>;
        fn teams_of_user(&self, user: UserId, page: PageRequest) -> Result<Page<Team>>;
        fn add_member(&self, team: TeamId, member: NewTeamMember) -> Result<TeamMember>;
        fn membership(&self, team: TeamId, user: UserId) -> Result<Option<TeamMember>>;
        fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<TeamMember>>;
        fn update_member(&self, team: TeamId, user: UserId, update: TeamMemberUpdate) -> Result<TeamMember>;
        fn remove_member(&self, team: TeamId, user: UserId) -> Result<()>;
    }
    SocialAccountRepository "accounts" {
        fn connect_account(&self, team: TeamId, account: NewSocialAccount) -> Result<SocialAccount>;
        fn get_account(&self, team: TeamId, id: SocialAccountId) -> Result<SocialAccount>;
        fn list_accounts(&self, team: TeamId, page: PageRequest) -> Result<Page<SocialAccount>>;
        fn update_account(&self, team: TeamId, id: SocialAccountId, update: SocialAccountUpdate) -> Result<SocialAccount>;
        fn delete_account(&self, team: TeamId, id: SocialAccountId) -> Result<()>;
        fn accounts_expiring_before(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<SocialAccount>>;
    }
    PostRepository "posts" {
        fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia>;
        fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64>;
        fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia>;
        fn update_post(&self, team: TeamId, id: PostId, update: PostUpdate) -> Result<Post>;
        fn delete_post(&self, team: TeamId, id: PostId) -> Result<()>;
        fn list_posts(&self, team: TeamId, filter: PostFilter, page: PageRequest) -> Result<Page<Post>>;
        fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>>;
        fn attach_media(&self, team: TeamId, post: PostId, media: NewPostMedia) -> Result<PostMedia>;
        fn detach_media(&self, team: TeamId, post: PostId, media: PostMediaId) -> Result<PostMedia>;
    }
    CommentRepository "comments" {
        fn ingest_comments(&self, team: TeamId, comments: Vec<NewComment>) -> Result<IngestReport>;
        fn get_comment(&self, team: TeamId, id: CommentId) -> Result<Comment>;
        fn inbox(&self, team: TeamId, filter: InboxFilter, page: PageRequest) -> Result<Page<Comment>>;
        fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment>;
        fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response>;
        fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response>;
        fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response>;
        fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response>;
        fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>>;
    }
    TemplateRepository "templates" {
        fn create_template(&self, team: TeamId, template: NewTemplate) -> Result<Template>;
        fn get_template(&self, team: TeamId, id: TemplateId) -> Result<Template>;
        fn list_templates(&self, team: TeamId, filter: TemplateFilter, page: PageRequest) -> Result<Page<Template>>;
        fn list_public_templates(&self, page: PageRequest) -> Result<Page<Template>>;
        fn update_template(&self, team: TeamId, id: TemplateId, update: TemplateUpdate) -> Result<Template>;
        fn delete_template(&self, team: TeamId, id: TemplateId) -> Result<()>;
        fn record_template_use(&self, team: TeamId, id: TemplateId) -> Result<i32>;
    }
    ScheduleRepository "schedules" {
        fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule>;
        fn create_post_with_schedules(&self, team: TeamId, post: NewPost, schedules: Vec<NewPostSchedule>) -> Result<ScheduledPost>;
        fn get_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule>;
        fn list_schedules(&self, team: TeamId, filter: ScheduleFilter, page: PageRequest) -> Result<Page<Schedule>>;
        fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule>;
        fn claim_due(&self, worker: &WorkerId, request: ClaimRequest) -> Result<Vec<Claim>>;
        fn renew_lease(&self, claim: &ClaimToken, lease: ChronoDuration) -> Result<Schedule>;
        fn mark_publishing(&self, claim: &ClaimToken) -> Result<Schedule>;
        fn complete(&self, claim: &ClaimToken, platform_post_id: &str) -> Result<Schedule>;
        fn fail(&self, claim: &ClaimToken, error: &str, policy: RetryPolicy) -> Result<FailOutcome>;
        fn release(&self, claim: &ClaimToken) -> Result<Schedule>;
        fn recover_expired(&self, policy: RetryPolicy) -> Result<Recovered>;
        fn unknown_outcomes(&self, limit: u32) -> Result<Vec<Schedule>>;
        fn resolve_outcome(&self, team: TeamId, id: ScheduleId, resolution: Resolution) -> Result<Schedule>;
    }
    AutomationRepository "automations" {
        fn create_automation(&self, team: TeamId, automation: NewAutomation) -> Result<Automation>;
        fn get_automation(&self, team: TeamId, id: AutomationId) -> Result<Automation>;
        fn list_automations(&self, team: TeamId, page: PageRequest) -> Result<Page<Automation>>;
        fn update_automation(&self, team: TeamId, id: AutomationId, update: AutomationUpdate) -> Result<Automation>;
        fn delete_automation(&self, team: TeamId, id: AutomationId) -> Result<()>;
        fn active_automations(&self, team: TeamId, trigger: TriggerType) -> Result<Vec<Automation>>;
    }
    WebhookRepository "webhooks" {
        fn create_webhook(&self, user: UserId, webhook: NewWebhook) -> Result<Webhook>;
        fn get_webhook(&self, user: UserId, id: WebhookId) -> Result<Webhook>;
        fn list_webhooks(&self, user: UserId, page: PageRequest) -> Result<Page<Webhook>>;
        fn update_webhook(&self, user: UserId, id: WebhookId, update: WebhookUpdate) -> Result<Webhook>;
        fn delete_webhook(&self, user: UserId, id: WebhookId) -> Result<()>;
        fn webhooks_for_event(&self, platform: Platform, event_type: &str) -> Result<Vec<Webhook>>;
        fn record_webhook_triggered(&self, id: WebhookId, at: DateTime<Utc>) -> Result<()>;
    }
    AiUsageRepository "ai_usage" {
        fn record_ai_usage(&self, team: TeamId, usage: NewAiUsage) -> Result<AiUsage>;
        fn list_ai_usage(&self, team: TeamId, page: PageRequest) -> Result<Page<AiUsage>>;
        fn ai_usage_totals(&self, team: TeamId, period: Period) -> Result<Vec<AiUsageTotal>>;
    }
    BillingRepository "billing" {
        fn create_billing(&self, team: TeamId, billing: NewBilling) -> Result<Billing>;
        fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing>;
        fn update_billing(&self, team: TeamId, id: BillingId, update: BillingUpdate) -> Result<Billing>;
        fn active_subscription(&self, team: TeamId) -> Result<Option<Billing>>;
        fn list_billing(&self, team: TeamId, page: PageRequest) -> Result<Page<Billing>>;
    }
    NotificationRepository "notifications" {
        fn notify(&self, user: UserId, notification: NewNotification) -> Result<Notification>;
        fn list_notifications(&self, user: UserId, filter: NotificationFilter, page: PageRequest) -> Result<Page<Notification>>;
        fn unread_count(&self, user: UserId) -> Result<u64>;
        fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Notification>;
        fn mark_all_read(&self, user: UserId) -> Result<u64>;
        fn delete_notification(&self, user: UserId, id: NotificationId) -> Result<()>;
    }
    SessionStore "sessions" {
        fn create_session(&self, session: NewSession) -> Result<Session>;
        fn get_session(&self, id: &SessionId) -> Result<Option<Session>>;
        fn touch_session(&self, id: &SessionId, ttl: ChronoDuration) -> Result<Option<Session>>;
        fn delete_session(&self, id: &SessionId) -> Result<bool>;
        fn revoke_user_sessions(&self, user: UserId) -> Result<u64>;
    }
    Cache "cache" {
        fn get_bytes(&self, key: &CacheKey) -> Result<Option<Vec<u8>>>;
        fn set_bytes(&self, key: &CacheKey, value: Vec<u8>, ttl: ChronoDuration) -> Result<()>;
        fn delete(&self, key: &CacheKey) -> Result<bool>;
        fn generation(&self, key: &CacheKey) -> Result<u64>;
        fn set_bytes_if_generation(&self, key: &CacheKey, value: Vec<u8>, ttl: ChronoDuration, generation: u64) -> Result<bool>;
        fn try_lock(&self, key: &CacheKey, ttl: ChronoDuration) -> Result<Option<String>>;
        fn unlock(&self, key: &CacheKey, token: &str) -> Result<()>;
    }
    JobQueue "queue" {
        fn enqueue(&self, queue: &QueueName, job: NewJob) -> Result<Enqueued>;
        fn enqueue_batch(&self, queue: &QueueName, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>>;
        fn reserve(&self, queue: &QueueName, worker: &WorkerId, visibility: ChronoDuration) -> Result<Option<Reserved>>;
        fn reserve_batch(&self, queue: &QueueName, worker: &WorkerId, max: u32, visibility: ChronoDuration) -> Result<Vec<Reserved>>;
        fn ack(&self, queue: &QueueName, lease: &JobLease) -> Result<()>;
        fn ack_batch(&self, queue: &QueueName, leases: &[JobLease]) -> Result<Vec<bool>>;
        fn ack_and_reserve(&self, queue: &QueueName, lease: &JobLease, worker: &WorkerId, visibility: ChronoDuration) -> Result<Option<Reserved>>;
        fn fail(&self, queue: &QueueName, lease: &JobLease, error: &str) -> Result<JobFailOutcome>;
        fn extend(&self, queue: &QueueName, lease: &JobLease, visibility: ChronoDuration) -> Result<JobLease>;
        fn requeue_expired(&self, queue: &QueueName) -> Result<u64>;
        fn dead_letters(&self, queue: &QueueName, limit: u32) -> Result<Vec<DeadJob>>;
        fn replay_dead(&self, queue: &QueueName, id: JobId) -> Result<()>;
        fn counts(&self, queue: &QueueName) -> Result<QueueCounts>;
    }
    RateLimiter "rate_limiter" {
        fn check_rate(&self, subject: &str, quota: &Quota) -> Result<RateDecision>;
    }
    TempStore "temp" {
        fn put_temp(&self, key: &str, value: Vec<u8>, ttl: ChronoDuration) -> Result<()>;
        fn get_temp(&self, key: &str) -> Result<Option<Vec<u8>>>;
        fn take_temp(&self, key: &str) -> Result<Option<Vec<u8>>>;
        fn put_temp_if_absent(&self, key: &str, value: Vec<u8>, ttl: ChronoDuration) -> Result<bool>;
        fn delete_temp(&self, key: &str) -> Result<bool>;
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::analytics::buffer::testing::Recording;
    use crate::analytics::buffer::{AnyRow, BufferConfig};
    use crate::clock::{Clock, ManualClock};
    use crate::crypto::hash_password;
    use crate::error::{Entity, ValidationErrors, store};
    use crate::memory::{MemoryKv, MemoryStore};
    use crate::secret::Secret;

    fn measured<R>(inner: R, config: BufferConfig) -> (Arc<Recording>, Measured<R>) {
        let backend = Arc::new(Recording::default());
        let buffer = BufferedWriter::spawn(backend.clone(), config);
        (backend, Measured::new(inner, buffer))
    }

    /// `(endpoint, status, error_count, service)` of every recorded row, in order.
    fn recorded(backend: &Recording) -> Vec<(String, u16, i32, String)> {
        backend
            .rows()
            .into_iter()
            .map(|row| match row {
                AnyRow::Performance(p) => (p.endpoint, p.status_code, p.error_count, p.service_name),
                other => panic!("not a performance row: {other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn each_call_is_one_row_with_its_endpoint_and_status() {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single().unwrap_or_default());
        let (backend, store) = measured(MemoryStore::new(), BufferConfig::default());
        let store = store.with_clock(Arc::new(clock.clone()));
        let hash = hash_password(&Secret::new("measured password")).unwrap_or_else(|e| panic!("{e}"));
        let ada = store
            .create_user(NewUser::new("ada@example.com", hash.clone(), "Ada", "Lovelace"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.get_user(UserId::new()).await.is_err());
        let again = store.create_user(NewUser::new("ADA@example.com", hash.clone(), "A", "L")).await;
        assert!(matches!(again, Err(Error::Conflict { .. })));
        let bad = store.create_user(NewUser::new("not an email", hash, "A", "L")).await;
        assert!(matches!(bad, Err(Error::Validation(_))));
        let (team, _) = store
            .create_team(NewTeam::new("Analytical", ada.id, PlanType::Starter))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store.get_team(team.id).await.unwrap_or_else(|e| panic!("{e}"));
        let missing = store.get_post(team.id, PostId::new()).await;
        assert!(matches!(missing, Err(Error::NotFound { .. })));
        store.sink().flush().await;

        let svc = DEFAULT_SERVICE.to_owned();
        let row = |endpoint: &str, status, errors| (endpoint.to_owned(), status, errors, svc.clone());
        assert_eq!(
            recorded(&backend),
            [
                row("users.create_user", 200, 0),
                row("users.get_user", 404, 1),
                row("users.create_user", 409, 1),
                row("users.create_user", 400, 1),
                row("teams.create_team", 200, 0),
                row("teams.get_team", 200, 0),
                row("posts.get_post", 404, 1),
            ]
        );
        for row in backend.rows() {
            let AnyRow::Performance(p) = row else { panic!("not a performance row") };
            assert_eq!(p.time, clock.now(), "the call's start, from the decorator's clock");
            assert!(p.response_time <= MAX_RESPONSE_TIME);
        }
    }

    #[tokio::test]
    async fn key_value_ports_are_measured_too() {
        let (backend, kv) = measured(MemoryKv::new(), BufferConfig::default());
        let kv = kv.with_service_name("worker").unwrap_or_else(|e| panic!("{e}"));
        kv.put_temp("upload:1", b"bytes".to_vec(), ChronoDuration::minutes(5)).await.unwrap_or_else(|e| panic!("{e}"));
        let got = kv.take_temp("upload:1").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.as_deref(), Some(&b"bytes"[..]));
        assert!(kv.put_temp("", Vec::new(), ChronoDuration::minutes(5)).await.is_err());
        kv.sink().shutdown().await;
        let rows: Vec<_> = recorded(&backend).into_iter().map(|(e, s, _, svc)| (e, s, svc)).collect();
        let w = "worker".to_owned();
        assert_eq!(
            rows,
            [
                ("temp.put_temp".to_owned(), 200, w.clone()),
                ("temp.take_temp".to_owned(), 200, w.clone()),
                ("temp.put_temp".to_owned(), 400, w),
            ]
        );
    }

    #[tokio::test]
    async fn a_full_or_closed_buffer_never_fails_the_call() {
        let (backend, store) = measured(MemoryStore::new(), BufferConfig::default().with_capacity(1));
        let gate = backend.hold().await;
        for _ in 0..3 {
            assert!(matches!(store.get_user(UserId::new()).await, Err(Error::NotFound { .. })));
        }
        assert_eq!(store.sink().stats().dropped, 2, "rows past the capacity are dropped, the calls go on");
        drop(gate);
        store.sink().shutdown().await;
        assert!(matches!(store.get_user(UserId::new()).await, Err(Error::NotFound { .. })), "after shutdown too");
        assert_eq!(recorded(&backend).len(), 1);
    }

    #[tokio::test]
    async fn a_service_name_breaking_the_column_rule_is_refused() {
        let (_, store) = measured(MemoryStore::new(), BufferConfig::default());
        assert_eq!(store.service_name(), DEFAULT_SERVICE);
        let store = store.with_service_name("api").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.service_name(), "api");
        for bad in ["", " api", "two\nlines", &"x".repeat(101)] {
            let (_, store) = measured(MemoryStore::new(), BufferConfig::default());
            let err = store.with_service_name(bad).err().unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(err.validation().is_some_and(|v| v.0.iter().all(|f| f.field == "service_name")), "{err}");
        }
    }

    #[test]
    fn every_error_has_its_status() {
        let cases = [
            (Error::Validation(ValidationErrors::default()), 400),
            (Error::NotAMember { entity: Entity::Post, user: "u".into() }, 403),
            (Error::not_found(Entity::Post, 1), 404),
            (Error::Conflict { entity: Entity::User, rule: "uq_users_email" }, 409),
            (Error::MissingReference { entity: Entity::Post, references: Entity::Team, rule: "fk_posts_team" }, 409),
            (Error::InvalidState { entity: Entity::Schedule, id: "s".into(), reason: "done" }, 409),
            (Error::StaleClaim { entity: Entity::Schedule, id: "s".into() }, 409),
            (Error::unavailable(store::POSTGRES, "down"), 503),
            (Error::outcome_unknown(store::REDIS, "lost"), 504),
            (Error::backend(store::POSTGRES, "broken"), 500),
            (Error::Crypto(crate::error::CryptoFailure::AuthenticationFailed), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error_status(&error), status, "{error}");
        }
        assert_eq!(status_code(&Ok::<_, Error>(())), 200);
        assert_eq!(status_code::<()>(&Err(Error::not_found(Entity::User, 1))), 404);
    }
}
