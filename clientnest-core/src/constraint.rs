//! The names of every unique rule and reference (foreign key), shared by all backends: a
//! PostgreSQL constraint and the in-memory check carry the same name, so errors match.

/// `users`: email unique regardless of case (`lower(email)`).
pub const UQ_USERS_EMAIL: &str = "uq_users_email";
/// `team_members`: one membership per (user, team).
pub const UQ_TEAM_MEMBERS_USER_TEAM: &str = "uq_team_members_user_team";
/// `social_accounts`: unique (platform, platform_id, team).
pub const UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM: &str = "uq_social_accounts_platform_account_team";
/// `comments`: unique (account, platform comment id).
pub const UQ_COMMENTS_ACCOUNT_PLATFORM_ID: &str = "uq_comments_account_platform_id";
/// `billing`: `subscription_id` unique.
pub const UQ_BILLING_SUBSCRIPTION_ID: &str = "uq_billing_subscription_id";
/// `billing`: at most one `active` record per team (partial unique index).
pub const UQ_BILLING_TEAM_ACTIVE: &str = "uq_billing_team_active";
/// `schedules`: at most one live schedule (pending, processing, publishing, outcome_unknown)
/// per (post, account) (partial unique index), so a double click publishes once.
pub const UQ_SCHEDULES_POST_ACCOUNT_LIVE: &str = "uq_schedules_post_account_live";

/// `teams.owner_id` → `users`.
pub const FK_TEAMS_OWNER: &str = "fk_teams_owner";
/// `team_members.user_id` → `users`.
pub const FK_TEAM_MEMBERS_USER: &str = "fk_team_members_user";
/// `team_members.team_id` → `teams`.
pub const FK_TEAM_MEMBERS_TEAM: &str = "fk_team_members_team";
/// `social_accounts.user_id` → `users`.
pub const FK_SOCIAL_ACCOUNTS_USER: &str = "fk_social_accounts_user";
/// `social_accounts.team_id` → `teams`.
pub const FK_SOCIAL_ACCOUNTS_TEAM: &str = "fk_social_accounts_team";
/// `posts.user_id` → `users`.
pub const FK_POSTS_USER: &str = "fk_posts_user";
/// `posts.team_id` → `teams`.
pub const FK_POSTS_TEAM: &str = "fk_posts_team";
/// `post_media.post_id` → `posts`.
pub const FK_POST_MEDIA_POST: &str = "fk_post_media_post";
/// `comments.account_id` → `social_accounts` (of the same team).
pub const FK_COMMENTS_ACCOUNT: &str = "fk_comments_account";
/// `responses.comment_id` → `comments` (of the same team).
pub const FK_RESPONSES_COMMENT: &str = "fk_responses_comment";
/// `responses.user_id` → `users`.
pub const FK_RESPONSES_USER: &str = "fk_responses_user";
/// `templates.user_id` → `users`.
pub const FK_TEMPLATES_USER: &str = "fk_templates_user";
/// `templates.team_id` → `teams`.
pub const FK_TEMPLATES_TEAM: &str = "fk_templates_team";
/// `schedules.user_id` → `users`.
pub const FK_SCHEDULES_USER: &str = "fk_schedules_user";
/// `schedules.team_id` → `teams`.
pub const FK_SCHEDULES_TEAM: &str = "fk_schedules_team";
/// `schedules.post_id` → `posts` (of the same team).
pub const FK_SCHEDULES_POST: &str = "fk_schedules_post";
/// `schedules.social_account_id` → `social_accounts` (of the same team).
pub const FK_SCHEDULES_SOCIAL_ACCOUNT: &str = "fk_schedules_social_account";
/// `automations.user_id` → `users`.
pub const FK_AUTOMATIONS_USER: &str = "fk_automations_user";
/// `automations.team_id` → `teams`.
pub const FK_AUTOMATIONS_TEAM: &str = "fk_automations_team";
/// `webhooks.user_id` → `users`.
pub const FK_WEBHOOKS_USER: &str = "fk_webhooks_user";
/// `ai_usage.user_id` → `users`.
pub const FK_AI_USAGE_USER: &str = "fk_ai_usage_user";
/// `ai_usage.team_id` → `teams`.
pub const FK_AI_USAGE_TEAM: &str = "fk_ai_usage_team";
/// `billing.team_id` → `teams`.
pub const FK_BILLING_TEAM: &str = "fk_billing_team";
/// `notifications.user_id` → `users`.
pub const FK_NOTIFICATIONS_USER: &str = "fk_notifications_user";

/// Largest batch for bulk calls (`ingest_comments`, `import_posts`).
pub const MAX_BATCH: usize = 10_000;
