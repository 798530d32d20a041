//! Repository ports: one small trait per aggregate. Every team-owned record is reached through
//! its team, every user-owned one (webhooks, notifications) through its user.
//!
//! Acting users belong to the team: the `user_id` of a team-owned input (`NewPost`,
//! `ImportedPost`, `NewSocialAccount`, `NewTemplate`, `NewAutomation`, `NewSchedule`,
//! `NewAiUsage`, `NewResponse`) must be an active member of the team (membership `active`, user
//! `is_active`) when the write happens, else [`Error::NotAMember`](crate::Error::NotAMember) and
//! nothing is written. A missing team or user is `MissingReference`, checked first.

use async_trait::async_trait;
use chrono::Utc;
use chrono::{DateTime, Duration};

use crate::error::Result;
use crate::ids::*;
use crate::model::*;
use crate::page::{Page, PageRequest};

/// Users (`users`): accounts of people, reached by id or by email.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Create a user. Email is unique regardless of case (`uq_users_email`).
    async fn create_user(&self, user: NewUser) -> Result<User>;
    /// A user by id; `NotFound` when there is none.
    async fn get_user(&self, id: UserId) -> Result<User>;
    /// A user by email, regardless of case.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Change a user (checked first; email still unique regardless of case, `uq_users_email`);
    /// `updated_at` becomes now. `NotFound` when there is none.
    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User>;
    /// Delete a user and, by cascade, everything the user owns (teams they own included).
    async fn delete_user(&self, id: UserId) -> Result<()>;
}

/// Teams and their memberships (`teams`, `team_members`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TeamRepository: Send + Sync {
    /// Create a team and its owner's `owner` membership atomically.
    async fn create_team(&self, team: NewTeam) -> Result<(Team, TeamMember)>;
    /// A team by id; `NotFound` when there is none.
    async fn get_team(&self, id: TeamId) -> Result<Team>;
    /// Change a team (checked first); `updated_at` becomes now. `NotFound` when there is none.
    async fn update_team(&self, id: TeamId, update: TeamUpdate) -> Result<Team>;
    /// Delete a team and everything in it.
    async fn delete_team(&self, id: TeamId) -> Result<()>;
    /// The teams a user is a member of, newest first.
    async fn teams_of_user(&self, user: UserId, page: PageRequest) -> Result<Page<Team>>;
    /// Add a member (`uq_team_members_user_team`).
    async fn add_member(&self, team: TeamId, member: NewTeamMember) -> Result<TeamMember>;
    /// A user's membership, if any.
    async fn membership(&self, team: TeamId, user: UserId) -> Result<Option<TeamMember>>;
    /// The team's members, newest first (by `joined_at`).
    async fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<TeamMember>>;
    /// Change a membership (checked first); `NotFound` when the user is not a member.
    async fn update_member(&self, team: TeamId, user: UserId, update: TeamMemberUpdate) -> Result<TeamMember>;
    /// Remove a member. The team's owner cannot be removed.
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()>;
}

/// Connected social accounts (`social_accounts`), reached through their team.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SocialAccountRepository: Send + Sync {
    /// Connect an account, or reconnect it (same platform, platform id and team): the tokens,
    /// handle, expiry and scopes are replaced and the account is active again, but a missing
    /// refresh token keeps the stored one. The connecting user must be an active member, also
    /// on a reconnect (which keeps the first connecting user as `user_id`).
    async fn connect_account(&self, team: TeamId, account: NewSocialAccount) -> Result<SocialAccount>;
    /// An account of the team; `NotFound` when missing or in another team.
    async fn get_account(&self, team: TeamId, id: SocialAccountId) -> Result<SocialAccount>;
    /// The team's accounts, newest first.
    async fn list_accounts(&self, team: TeamId, page: PageRequest) -> Result<Page<SocialAccount>>;
    /// Change an account (checked first, tokens included); `updated_at` becomes now.
    async fn update_account(
        &self,
        team: TeamId,
        id: SocialAccountId,
        update: SocialAccountUpdate,
    ) -> Result<SocialAccount>;
    /// Delete an account (its comments go with it).
    async fn delete_account(&self, team: TeamId, id: SocialAccountId) -> Result<()>;
    /// Active accounts, across teams, whose token expires before `before` (for the refresher),
    /// soonest first; at most `limit`.
    async fn accounts_expiring_before(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<SocialAccount>>;
}

/// Posts and their media (`posts`, `post_media`), reached through their team.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PostRepository: Send + Sync {
    /// Create a post with its media in one step. The author must be an active member.
    async fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia>;
    /// Bulk path: many posts with their media, for imports and seeding. All or nothing: every
    /// author must exist and be an active member (else the first failing author's error).
    async fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64>;
    /// A post of the team with its media.
    async fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia>;
    /// Change a post; its text must still fit its platforms with its media.
    async fn update_post(&self, team: TeamId, id: PostId, update: PostUpdate) -> Result<Post>;
    /// Delete a post (media and schedules go with it).
    async fn delete_post(&self, team: TeamId, id: PostId) -> Result<()>;
    /// The team's posts, newest first.
    async fn list_posts(&self, team: TeamId, filter: PostFilter, page: PageRequest) -> Result<Page<Post>>;
    /// The team feed: published posts, newest first, with their media.
    async fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>>;
    /// Append one media item to a post of the team, at the next `order_index` (the item count),
    /// and return it as stored; its `created_at` and the post's `updated_at` become now.
    ///
    /// The input's field rules are checked first ([`NewPostMedia::check`]: errors name the bare
    /// field, e.g. `content_hash`), then, with the post locked: `NotFound` (`posts`) when the post
    /// is not the team's; at most [`MAX_MEDIA`] items (`media`, `max_length`); the post's text
    /// and new media set must fit its platforms and its live schedules' (`media`,
    /// `platform_media_count` / `platform_media_kind`). Concurrent attaches to one post are
    /// serialised, so each gets its own `order_index`. Nothing is written on error.
    async fn attach_media(&self, team: TeamId, post: PostId, media: NewPostMedia) -> Result<PostMedia>;
    /// Remove one media item from a post of the team and return it as it was stored (so the
    /// caller can delete its object); the remaining items are renumbered 0..n-1 in their order
    /// and the post's `updated_at` becomes now, in the same transaction. `NotFound`
    /// (`post_media`) when the item is not that post's or the post is not the team's; the post's
    /// text and remaining media must still fit its platforms and live schedules (e.g. the one
    /// video of a YouTube post cannot be detached), else a validation error on `media`.
    async fn detach_media(&self, team: TeamId, post: PostId, media: PostMediaId) -> Result<PostMedia>;
}

/// Comments and responses (`comments`, `responses`), reached through their account's team.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CommentRepository: Send + Sync {
    /// Ingest a batch; comments already stored (same account and platform id) are skipped.
    /// Every account must belong to the team, else nothing is stored.
    async fn ingest_comments(&self, team: TeamId, comments: Vec<NewComment>) -> Result<IngestReport>;
    /// A comment of the team; `NotFound` when missing or in another team.
    async fn get_comment(&self, team: TeamId, id: CommentId) -> Result<Comment>;
    /// The inbox: the team's comments matching the filter, newest first.
    async fn inbox(&self, team: TeamId, filter: InboxFilter, page: PageRequest) -> Result<Page<Comment>>;
    /// Triage a comment: sentiment, priority, status or metadata ([`CommentUpdate`]).
    async fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment>;
    /// Save a draft response. Its author must be an active member.
    async fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response>;
    /// Record a response as sent now; its comment becomes `replied` in the same step. Its
    /// author must be an active member.
    async fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response>;
    /// Mark a draft response sent (its comment becomes `replied`).
    async fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response>;
    /// Mark an unsent response failed; a sent one is `InvalidState`
    /// ([`SENT_CANNOT_FAIL`](crate::model::SENT_CANNOT_FAIL)).
    async fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response>;
    /// A comment's responses, newest first.
    async fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>>;
}

/// Content templates (`templates`), reached through their team; public ones readable by all.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TemplateRepository: Send + Sync {
    /// Create a template. Its author must be an active member.
    async fn create_template(&self, team: TeamId, template: NewTemplate) -> Result<Template>;
    /// A template of the team; `NotFound` when missing or in another team.
    async fn get_template(&self, team: TeamId, id: TemplateId) -> Result<Template>;
    /// The team's templates, newest first.
    async fn list_templates(&self, team: TeamId, filter: TemplateFilter, page: PageRequest) -> Result<Page<Template>>;
    /// Public templates of every team, newest first.
    async fn list_public_templates(&self, page: PageRequest) -> Result<Page<Template>>;
    /// Change a template (checked first); `updated_at` becomes now.
    async fn update_template(&self, team: TeamId, id: TemplateId, update: TemplateUpdate) -> Result<Template>;
    /// Delete a template of the team; `NotFound` when missing or in another team.
    async fn delete_template(&self, team: TeamId, id: TemplateId) -> Result<()>;
    /// Count one use, atomically; returns the new count.
    async fn record_template_use(&self, team: TeamId, id: TemplateId) -> Result<i32>;
}

/// Publishing schedules and the workers' claim protocol.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ScheduleRepository: Send + Sync {
    /// Schedule a post on one of the team's accounts. The post must fit the account's
    /// platform; a draft post becomes `scheduled`.
    async fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule>;
    /// Create a post with its media and its schedules in one transaction: all or nothing. The
    /// post is checked as by `create_post` (its author an active member), then each schedule,
    /// in order, as by `create_schedule` with the post's author as the scheduling user
    /// ([`ScheduledPost::build`]); a second schedule on one account is `Conflict`
    /// (`uq_schedules_post_account_live`). On any refusal neither the post nor any schedule is
    /// stored. With schedules the post comes back `scheduled` (at the earliest time); with none
    /// this is `create_post`.
    async fn create_post_with_schedules(
        &self,
        team: TeamId,
        post: NewPost,
        schedules: Vec<NewPostSchedule>,
    ) -> Result<ScheduledPost>;
    /// A schedule of the team; `NotFound` when missing or in another team.
    async fn get_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule>;
    /// The team's schedules, newest first.
    async fn list_schedules(&self, team: TeamId, filter: ScheduleFilter, page: PageRequest) -> Result<Page<Schedule>>;
    /// Cancel a pending schedule (else `InvalidState`). The post follows its schedules
    /// ([`PostPublishing::follow`](crate::model::PostPublishing::follow)).
    async fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule>;
    /// First recover lapsed claims (as [`recover_expired`](Self::recover_expired) under
    /// `request.policy`), then claim up to `request.limit` due schedules (pending, due now,
    /// account active), oldest due first, for `worker` until now + `request.lease`. Each due
    /// schedule goes to exactly one claimer; each claim has its own token and counts as an
    /// attempt. A worker loop that only calls this makes progress.
    async fn claim_due(&self, worker: &WorkerId, request: ClaimRequest) -> Result<Vec<Claim>>;
    /// Extend the claim's lease to now + `lease`. A stale token is `StaleClaim`.
    async fn renew_lease(&self, claim: &ClaimToken, lease: Duration) -> Result<Schedule>;
    /// The publish boundary, persisted: call it just before calling the platform (with
    /// `claim.idempotency_key()`). From here a lapsed claim becomes `outcome_unknown`, never
    /// `pending`. Refused as `StaleClaim` once the lease has lapsed.
    async fn mark_publishing(&self, claim: &ClaimToken) -> Result<Schedule>;
    /// Complete a claim with the platform's post id; the post becomes `published`. A stale
    /// token is `StaleClaim`, an unknown schedule `NotFound`.
    async fn complete(&self, claim: &ClaimToken, platform_post_id: &str) -> Result<Schedule>;
    /// Report a definite failure: back to pending after a backoff, or `failed` for good once
    /// the claims reach the policy's attempts. The error is kept.
    async fn fail(&self, claim: &ClaimToken, error: &str, policy: RetryPolicy) -> Result<FailOutcome>;
    /// Give an unstarted claim back (graceful shutdown): pending, due now, the attempt not
    /// counted. Refused (`InvalidState`) after the publish mark.
    async fn release(&self, claim: &ClaimToken) -> Result<Schedule>;
    /// Recover lapsed claims (lease end `<= now`): before the publish mark back to pending (or
    /// `failed` once the claims reach `policy.max_attempts`), after it `outcome_unknown`.
    async fn recover_expired(&self, policy: RetryPolicy) -> Result<Recovered>;
    /// Up to `limit` (1 to 1,000) schedules in `outcome_unknown` across every team, longest
    /// unresolved first (`updated_at ASC, id ASC`), for a reconciler. A person sees a team's
    /// with `list_schedules` filtered on the status.
    async fn unknown_outcomes(&self, limit: u32) -> Result<Vec<Schedule>>;
    /// Resolve a schedule in `outcome_unknown` (else `InvalidState`); the post follows.
    async fn resolve_outcome(&self, team: TeamId, id: ScheduleId, resolution: Resolution) -> Result<Schedule>;
}

/// Automations (`automations`), reached through their team.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AutomationRepository: Send + Sync {
    /// Create an automation. Its author must be an active member.
    async fn create_automation(&self, team: TeamId, automation: NewAutomation) -> Result<Automation>;
    /// An automation of the team; `NotFound` when missing or in another team.
    async fn get_automation(&self, team: TeamId, id: AutomationId) -> Result<Automation>;
    /// The team's automations, newest first.
    async fn list_automations(&self, team: TeamId, page: PageRequest) -> Result<Page<Automation>>;
    /// Change an automation (checked first, trigger and action included); `updated_at` becomes
    /// now.
    async fn update_automation(&self, team: TeamId, id: AutomationId, update: AutomationUpdate) -> Result<Automation>;
    /// Delete an automation of the team; `NotFound` when missing or in another team.
    async fn delete_automation(&self, team: TeamId, id: AutomationId) -> Result<()>;
    /// The team's active automations for a trigger type.
    async fn active_automations(&self, team: TeamId, trigger: TriggerType) -> Result<Vec<Automation>>;
}

/// Webhooks (`webhooks`), owned by users and reached through them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Register a webhook for the user: active, never triggered; secret and endpoint host checked.
    async fn create_webhook(&self, user: UserId, webhook: NewWebhook) -> Result<Webhook>;
    /// A webhook of the user; `NotFound` when missing or another user's.
    async fn get_webhook(&self, user: UserId, id: WebhookId) -> Result<Webhook>;
    /// The user's webhooks, newest first.
    async fn list_webhooks(&self, user: UserId, page: PageRequest) -> Result<Page<Webhook>>;
    /// Change a webhook (checked first, secret and endpoint host included).
    async fn update_webhook(&self, user: UserId, id: WebhookId, update: WebhookUpdate) -> Result<Webhook>;
    /// Delete a webhook of the user; `NotFound` when missing or another user's.
    async fn delete_webhook(&self, user: UserId, id: WebhookId) -> Result<()>;
    /// Active webhooks, across users, for a platform's event (for the delivery worker).
    async fn webhooks_for_event(&self, platform: Platform, event_type: &str) -> Result<Vec<Webhook>>;
    /// Record a delivery at `at` (truncated to microseconds, years 1900 to 9999) as
    /// `last_triggered`; `NotFound` for an unknown webhook.
    async fn record_webhook_triggered(&self, id: WebhookId, at: DateTime<Utc>) -> Result<()>;
}

/// AI usage (`ai_usage`): append-only records, reached through the team billed.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AiUsageRepository: Send + Sync {
    /// Record a usage. Its user must be an active member.
    async fn record_ai_usage(&self, team: TeamId, usage: NewAiUsage) -> Result<AiUsage>;
    /// The team's usage records, newest first.
    async fn list_ai_usage(&self, team: TeamId, page: PageRequest) -> Result<Page<AiUsage>>;
    /// Totals per feature over a half-open period, ordered by the feature's string; features
    /// without use are left out; the period is in UTC.
    async fn ai_usage_totals(&self, team: TeamId, period: Period) -> Result<Vec<AiUsageTotal>>;
}

/// Billing (`billing`): a team's subscription periods, at most one `active` at a time.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BillingRepository: Send + Sync {
    /// Record a subscription period (`uq_billing_subscription_id`, `uq_billing_team_active`).
    async fn create_billing(&self, team: TeamId, billing: NewBilling) -> Result<Billing>;
    /// A billing record of the team; `NotFound` when missing or in another team.
    async fn get_billing(&self, team: TeamId, id: BillingId) -> Result<Billing>;
    /// Change a billing record; the period must still end after it starts, and a second `active`
    /// record of the team is `Conflict` (`uq_billing_team_active`).
    async fn update_billing(&self, team: TeamId, id: BillingId, update: BillingUpdate) -> Result<Billing>;
    /// The team's active subscription, if any.
    async fn active_subscription(&self, team: TeamId) -> Result<Option<Billing>>;
    /// The team's billing records, newest first.
    async fn list_billing(&self, team: TeamId, page: PageRequest) -> Result<Page<Billing>>;
}

/// Notifications (`notifications`), owned by users and reached through them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Send a notification to a user: unread, created now.
    async fn notify(&self, user: UserId, notification: NewNotification) -> Result<Notification>;
    /// The user's notifications, newest first.
    async fn list_notifications(
        &self,
        user: UserId,
        filter: NotificationFilter,
        page: PageRequest,
    ) -> Result<Page<Notification>>;
    /// How many of the user's notifications are unread (0 when none, or no such user).
    async fn unread_count(&self, user: UserId) -> Result<u64>;
    /// Mark one read (idempotent).
    async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Notification>;
    /// Mark all read; returns how many changed.
    async fn mark_all_read(&self, user: UserId) -> Result<u64>;
    /// Delete one of the user's notifications; `NotFound` when missing or another user's.
    async fn delete_notification(&self, user: UserId, id: NotificationId) -> Result<()>;
}

/// Every repository port at once: what a full relational backend implements.
pub trait Repositories:
    UserRepository
    + TeamRepository
    + SocialAccountRepository
    + PostRepository
    + CommentRepository
    + TemplateRepository
    + ScheduleRepository
    + AutomationRepository
    + WebhookRepository
    + AiUsageRepository
    + BillingRepository
    + NotificationRepository
{
}

impl<T> Repositories for T where
    T: UserRepository
        + TeamRepository
        + SocialAccountRepository
        + PostRepository
        + CommentRepository
        + TemplateRepository
        + ScheduleRepository
        + AutomationRepository
        + WebhookRepository
        + AiUsageRepository
        + BillingRepository
        + NotificationRepository
{
}
