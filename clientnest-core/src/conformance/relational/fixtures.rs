//! Fixtures of the relational suite: unique users and teams, inputs with sensible defaults, a
//! team holding one row of every kind, paging helpers and precise error assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::future::Future;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::clock::{Clock, to_micros};
use crate::conformance::{Harness, TimeControl};
use crate::crypto::hash_password;
use crate::error::{Entity, Error, Result};
use crate::ids::*;
use crate::model::*;
use crate::page::{Page, PageRequest};
use crate::ports::*;
use crate::secret::{PasswordHash, Secret};

/// A way to break a valid input, with the field and rule the refusal must name.
pub(super) type Case<T> = (fn(&mut T), &'static str, &'static str);

/// One argon2id hash for the whole test process: hashing is slow in debug builds.
pub(super) fn password_hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&Secret::new("conformance password")).expect("argon2id hashing")).clone()
}

/// A short random suffix, so names and emails never collide between tests.
pub(super) fn unique() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A fresh email address, `user-<unique>@example.com`, valid under `chk_users_email_format`.
pub(super) fn unique_email() -> String {
    format!("user-{}@example.com", unique())
}

/// `n` times the character `c`.
pub(super) fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// The backend's current time.
pub(super) fn now<S: ?Sized>(h: &Harness<S>) -> DateTime<Utc> {
    match &h.time {
        TimeControl::Manual(clock) => clock.now(),
        TimeControl::Real => to_micros(Utc::now()),
    }
}

/// Let one second pass, so the next row is strictly newer.
pub(super) async fn tick<S: ?Sized>(h: &Harness<S>) {
    h.time.advance(Duration::seconds(1)).await;
}

/// A UTC time at midnight on the first of January of `year`.
pub(super) fn year(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single().expect("a valid date")
}

/// A page request of `limit` rows.
pub(super) fn page(limit: u32) -> PageRequest {
    PageRequest::first(limit)
}

/// A first page large enough for every test's rows.
pub(super) fn all() -> PageRequest {
    PageRequest::first(PageRequest::MAX_LIMIT)
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// A valid user with a fresh email.
pub(super) fn new_user() -> NewUser {
    NewUser::new(unique_email(), password_hash(), "Ada", "Lovelace")
}

/// A connectable account with a fresh platform id and a refresh token.
pub(super) fn new_account(user: UserId, platform: Platform) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform,
        platform_id: format!("acct-{}", unique()),
        username: "clientnest".to_owned(),
        access_token: Secret::new("access-token-1"),
        refresh_token: Some(Secret::new("refresh-token-1")),
        token_expires: None,
        permissions: vec!["publish".to_owned(), "read".to_owned()],
    }
}

/// A media item of `kind` at a fresh `https://cdn.example.com/media/...` URL, 2048 bytes.
pub(super) fn media(kind: MediaType) -> NewPostMedia {
    NewPostMedia::new(kind, format!("https://cdn.example.com/media/{}", unique()), 2048)
}

/// The media a platform needs at least (one image, or one video for YouTube).
pub(super) fn media_for(platform: Platform) -> Vec<NewPostMedia> {
    match platform {
        Platform::YouTube => vec![media(MediaType::Video)],
        Platform::Instagram | Platform::TikTok | Platform::Pinterest => vec![media(MediaType::Image)],
        Platform::Facebook | Platform::Twitter | Platform::LinkedIn => Vec::new(),
    }
}

/// A draft post targeted at `platform`, fitting it.
pub(super) fn new_post_for(user: UserId, platform: Platform) -> NewPost {
    let mut post = NewPost::draft(user, "Hello from the conformance suite");
    post.platforms = vec![platform];
    post.media = media_for(platform);
    post
}

/// A schedule of `post` on `account` at `at`.
pub(super) fn new_schedule(user: UserId, post: PostId, account: SocialAccountId, at: DateTime<Utc>) -> NewSchedule {
    NewSchedule {
        user_id: user,
        post_id: post,
        social_account_id: account,
        scheduled_time: at,
        timezone: "Europe/Paris".to_owned(),
    }
}

/// A comment on `account` with the platform id `platform_id`.
pub(super) fn new_comment(account: SocialAccountId, platform_id: &str) -> NewComment {
    NewComment::new(account, platform_id, format!("comment {platform_id}"), "Grace", "author-1")
}

/// A response by `user` to `comment`.
pub(super) fn new_response(comment: CommentId, user: UserId) -> NewResponse {
    NewResponse { comment_id: comment, user_id: user, content: "Thank you!".to_owned(), ai_generated: false }
}

/// A template in `category`.
pub(super) fn new_template(user: UserId, category: &str, is_public: bool) -> NewTemplate {
    NewTemplate {
        user_id: user,
        name: format!("Template {}", unique()),
        description: String::new(),
        content: "Big news: {{product}} is here".to_owned(),
        category: category.to_owned(),
        hashtags: vec!["launch".to_owned()],
        is_public,
    }
}

/// An active `comment_received` automation replying with a fixed message.
pub(super) fn new_automation(user: UserId) -> NewAutomation {
    NewAutomation {
        user_id: user,
        name: format!("Automation {}", unique()),
        description: String::new(),
        trigger: Trigger::CommentReceived { platforms: Vec::new(), keywords: Vec::new(), sentiment: None },
        action: Action::AutoReply { template_id: None, message: Some("Thanks!".to_owned()), use_ai: false },
        is_active: true,
    }
}

/// A webhook for `platform`'s `event`.
pub(super) fn new_webhook(platform: Platform, event: &str) -> NewWebhook {
    NewWebhook {
        platform,
        event_type: event.to_owned(),
        endpoint_url: "https://hooks.example.com/clientnest".to_owned(),
        secret_key: Secret::new(format!("whsec_{}", unique())),
    }
}

/// A usage of `feature`.
pub(super) fn new_usage(user: UserId, feature: FeatureType, tokens: i32, cost: Decimal) -> NewAiUsage {
    NewAiUsage {
        user_id: user,
        feature_type: feature,
        tokens_used: tokens,
        cost,
        model_used: "gpt-4o".to_owned(),
        request_data: serde_json::json!({}),
        response_data: serde_json::json!({}),
        metadata: serde_json::json!({}),
    }
}

/// A 30-day subscription period starting at `start`.
pub(super) fn new_billing(status: BillingStatus, start: DateTime<Utc>) -> NewBilling {
    NewBilling {
        subscription_id: format!("sub_{}", unique()),
        plan_type: PlanType::Professional,
        amount: Decimal::new(4900, 2),
        currency: "USD".to_owned(),
        status,
        period_start: start,
        period_end: start + Duration::days(30),
        next_billing: start + Duration::days(30),
    }
}

/// A system notification titled `title`.
pub(super) fn new_notification(title: &str) -> NewNotification {
    NewNotification::new(NotificationType::System, title, "Something happened")
}

// ---------------------------------------------------------------------------------------------
// Stored rows
// ---------------------------------------------------------------------------------------------

/// A stored user from [`new_user`]: fresh email, named Ada Lovelace.
pub(super) async fn user<S: UserRepository + ?Sized>(h: &Harness<S>) -> User {
    h.store.create_user(new_user()).await.expect("create user")
}

/// A stored team owned by `owner`.
pub(super) async fn team<S: TeamRepository + ?Sized>(h: &Harness<S>, owner: &User) -> Team {
    let (team, _) = h
        .store
        .create_team(NewTeam::new(format!("Team {}", unique()), owner.id, PlanType::Starter))
        .await
        .expect("create team");
    team
}

/// A stored user and a team they own.
pub(super) async fn owned_team<S: UserRepository + TeamRepository + ?Sized>(h: &Harness<S>) -> (User, Team) {
    let owner = user(h).await;
    let team = team(h, &owner).await;
    (owner, team)
}

/// A stored user who joined `team` with `role`.
pub(super) async fn member<S: UserRepository + TeamRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    role: TeamRole,
) -> User {
    let u = user(h).await;
    h.store.add_member(team, NewTeamMember::new(u.id, role)).await.expect("add member");
    u
}

/// A stored account of `team` on `platform`.
pub(super) async fn account<S: SocialAccountRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    user: UserId,
    platform: Platform,
) -> SocialAccount {
    h.store.connect_account(team, new_account(user, platform)).await.expect("connect account")
}

/// A stored draft post of `team` fitting `platform`.
pub(super) async fn post<S: PostRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    user: UserId,
    platform: Platform,
) -> PostWithMedia {
    h.store.create_post(team, new_post_for(user, platform)).await.expect("create post")
}

/// A stored schedule of `post` on `account`, due in one hour.
pub(super) async fn schedule<S: ScheduleRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    user: UserId,
    post: PostId,
    account: SocialAccountId,
) -> Schedule {
    let at = now(h) + Duration::hours(1);
    h.store.create_schedule(team, new_schedule(user, post, account, at)).await.expect("create schedule")
}

/// Ingest one comment and return it as stored.
pub(super) async fn comment<S: CommentRepository + ?Sized>(h: &Harness<S>, team: TeamId, c: NewComment) -> Comment {
    let (account, platform_id) = (c.account_id, c.platform_id.clone());
    let report = h.store.ingest_comments(team, vec![c]).await.expect("ingest comment");
    assert_eq!(report, IngestReport { inserted: 1, duplicates: 0 }, "a new comment is inserted");
    find_comment(h, team, account, &platform_id).await.expect("the ingested comment is in the inbox")
}

/// The comment of `account` with `platform_id`, looked up in the inbox.
pub(super) async fn find_comment<S: CommentRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    account: SocialAccountId,
    platform_id: &str,
) -> Option<Comment> {
    let filter = InboxFilter { account_id: Some(account), ..InboxFilter::default() };
    let store = &*h.store;
    let rows = all_pages(PageRequest::MAX_LIMIT, move |p| store.inbox(team, filter, p)).await;
    rows.into_iter().find(|c| c.platform_id == platform_id)
}

/// One row of every team-owned kind, plus the owner's webhook and notification.
#[derive(Debug)]
pub(super) struct World {
    /// The team's owner (author of everything below).
    pub(super) owner: User,
    /// The team, owned by `owner`.
    pub(super) team: Team,
    /// An X (`twitter`) account of the team.
    pub(super) account: SocialAccount,
    /// A post for X (text only), scheduled by `schedule`.
    pub(super) post: Post,
    /// A published Instagram post with two media items.
    pub(super) published: PostWithMedia,
    /// A schedule of `post` on `account`, due in one hour.
    pub(super) schedule: Schedule,
    /// A comment on `account`.
    pub(super) comment: Comment,
    /// A draft response to `comment`.
    pub(super) response: Response,
    /// A public template of the team.
    pub(super) template: Template,
    /// An active automation of the team.
    pub(super) automation: Automation,
    /// The team's one `active` billing record.
    pub(super) billing: Billing,
    /// An AI usage record of the owner, billed to the team.
    pub(super) usage: AiUsage,
    /// The owner's webhook.
    pub(super) webhook: Webhook,
    /// The owner's notification.
    pub(super) notification: Notification,
}

/// A new owner and team with one row of every kind.
pub(super) async fn world<S: Repositories + ?Sized>(h: &Harness<S>) -> World {
    let (owner, team) = owned_team(h).await;
    let s = &*h.store;
    let account = account(h, team.id, owner.id, Platform::Twitter).await;
    let post = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let mut published = NewPost::draft(owner.id, "Published with two images");
    published.status = PostStatus::Published;
    published.platforms = vec![Platform::Instagram];
    published.media = vec![media(MediaType::Image), media(MediaType::Image)];
    let published = s.create_post(team.id, published).await.expect("create published post");
    let schedule = schedule(h, team.id, owner.id, post.id, account.id).await;
    let post = s.get_post(team.id, post.id).await.expect("the scheduled post").post;
    let comment = comment(h, team.id, new_comment(account.id, &format!("c-{}", unique()))).await;
    let response = s.draft_response(team.id, new_response(comment.id, owner.id)).await.expect("draft response");
    let template = s.create_template(team.id, new_template(owner.id, "promo", true)).await.expect("create template");
    let automation = s.create_automation(team.id, new_automation(owner.id)).await.expect("create automation");
    let billing = s.create_billing(team.id, new_billing(BillingStatus::Active, now(h))).await.expect("create billing");
    let usage = s
        .record_ai_usage(team.id, new_usage(owner.id, FeatureType::ContentGeneration, 100, Decimal::new(25, 3)))
        .await
        .expect("record ai usage");
    let webhook =
        s.create_webhook(owner.id, new_webhook(Platform::Twitter, "comment.created")).await.expect("create webhook");
    let notification = s.notify(owner.id, new_notification("Welcome")).await.expect("notify");
    World {
        owner,
        team,
        account,
        post,
        published,
        schedule,
        comment,
        response,
        template,
        automation,
        billing,
        usage,
        webhook,
        notification,
    }
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

/// Every row of a list, fetched `limit` at a time by following the cursors. Checks that every
/// page but the last is full and that the last page has no cursor.
pub(super) async fn all_pages<T, F, Fut>(limit: u32, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = fetch(request).await.expect("fetch a page");
        assert!(page.items.len() <= limit as usize, "a page holds at most `limit` rows");
        if page.next.is_some() {
            assert_eq!(page.items.len(), limit as usize, "a page with a next cursor is full");
        }
        out.extend(page.items);
        match page.next {
            Some(cursor) => request = PageRequest::after(limit, cursor),
            None => return out,
        }
        assert!(out.len() < 1_000_000, "paging does not end");
    }
}

// ---------------------------------------------------------------------------------------------
// Error assertions
// ---------------------------------------------------------------------------------------------

/// Assert a `Conflict` on `entity` under the unique rule `rule`.
#[track_caller]
pub(super) fn conflict<T: Debug>(r: Result<T>, entity: Entity, rule: &str) {
    match r {
        Err(Error::Conflict { entity: e, rule: got }) if e == entity && got == rule => {}
        other => panic!("expected Conflict {{ entity: {entity}, rule: {rule} }}, got {other:?}"),
    }
}

/// Assert a `MissingReference` from `entity` to `references` under the foreign key `rule`.
#[track_caller]
pub(super) fn missing<T: Debug>(r: Result<T>, entity: Entity, references: Entity, rule: &str) {
    match r {
        Err(Error::MissingReference { entity: e, references: to, rule: got })
            if e == entity && to == references && got == rule => {}
        other => panic!(
            "expected MissingReference {{ entity: {entity}, references: {references}, rule: {rule} }}, got {other:?}"
        ),
    }
}

/// Assert a `Validation` error naming `field` and `rule`.
#[track_caller]
pub(super) fn invalid<T: Debug>(r: Result<T>, field: &str, rule: &str) {
    match r {
        Err(Error::Validation(v)) if v.has(field, rule) => {}
        other => panic!("expected Validation on `{field}` ({rule}), got {other:?}"),
    }
}

/// Assert a `Validation` error, whatever the field.
#[track_caller]
pub(super) fn invalid_any<T: Debug>(r: Result<T>) {
    match r {
        Err(Error::Validation(_)) => {}
        other => panic!("expected a Validation error, got {other:?}"),
    }
}

/// Assert `NotFound` of `entity`.
#[track_caller]
pub(super) fn not_found<T: Debug>(r: Result<T>, entity: Entity) {
    match r {
        Err(Error::NotFound { entity: e, .. }) if e == entity => {}
        other => panic!("expected NotFound {{ entity: {entity} }}, got {other:?}"),
    }
}

/// Assert `NotFound`, whatever the entity (e.g. a row of a deleted team).
#[track_caller]
pub(super) fn gone<T: Debug>(r: Result<T>) {
    match r {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Assert `InvalidState` of `entity`.
#[track_caller]
pub(super) fn invalid_state<T: Debug>(r: Result<T>, entity: Entity) {
    match r {
        Err(Error::InvalidState { entity: e, .. }) if e == entity => {}
        other => panic!("expected InvalidState {{ entity: {entity} }}, got {other:?}"),
    }
}

/// Assert `InvalidState`, whatever the entity.
#[track_caller]
pub(super) fn invalid_state_any<T: Debug>(r: Result<T>) {
    match r {
        Err(Error::InvalidState { .. }) => {}
        other => panic!("expected InvalidState, got {other:?}"),
    }
}
