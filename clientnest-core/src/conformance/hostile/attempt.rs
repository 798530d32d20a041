//! Carrying a case out: build the hostile input (creating what it needs first), make the call,
//! and compare what was stored with what was given.

use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::clock::to_micros;
use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::*;
use crate::page::{Cursor, PageRequest};
use crate::ports::Repositories;
use crate::secret::Secret;

use super::fixture::{new_account, new_user, password_hash};
use super::{Fixture, Target};

/// How a call that succeeded compares with its input: `Err` says what differs.
pub(super) type Compared = Result<(), String>;

/// A case's input, built and ready to send.
pub(super) enum Prepared {
    User(NewUser),
    LastLogin(UserId, DateTime<Utc>),
    Team(NewTeam),
    Account(NewSocialAccount),
    Post(NewPost),
    Import(Vec<ImportedPost>),
    Comments(Vec<NewComment>),
    Template(NewTemplate),
    Schedule(NewSchedule),
    Billing(NewBilling),
    AiUsage(NewAiUsage),
    Notification(NewNotification),
    Webhook(NewWebhook),
    UserChange(UserUpdate),
    WebhookChange(WebhookId, WebhookUpdate),
    FindEmail { stored: UserId, query: String, found: bool },
    TemplateCategory(String),
    CursorToken(String),
    CursorAt(i64),
    PageLimit(u32),
    ForeignPost(PostId),
}

fn edited<T>(mut value: T, edit: &(dyn Fn(&mut T) + Send + Sync)) -> T {
    edit(&mut value);
    value
}

/// A unique marker, so rows written by different cases never look alike.
fn marker(what: &str) -> String {
    format!("{what}-{}", Uuid::new_v4().simple())
}

/// A valid post in the fixture's team (a draft for no platform).
pub(super) fn base_post(fx: &Fixture) -> NewPost {
    NewPost::draft(fx.user, marker("post"))
}

fn base_comment(fx: &Fixture) -> NewComment {
    NewComment::new(fx.account, marker("comment"), "a comment", "Mallory", "author-1")
}

fn base_template(fx: &Fixture) -> NewTemplate {
    NewTemplate {
        user_id: fx.user,
        name: marker("template"),
        description: String::new(),
        content: "Template text".to_owned(),
        category: "hostile".to_owned(),
        hashtags: Vec::new(),
        is_public: false,
    }
}

fn base_billing(fx: &Fixture) -> NewBilling {
    let start = fx.now();
    NewBilling {
        subscription_id: marker("sub"),
        plan_type: PlanType::Business,
        amount: Decimal::new(4900, 2),
        currency: "USD".to_owned(),
        status: BillingStatus::Cancelled,
        period_start: start,
        period_end: start + Duration::days(30),
        next_billing: start + Duration::days(30),
    }
}

fn base_usage(fx: &Fixture) -> NewAiUsage {
    NewAiUsage {
        user_id: fx.user,
        feature_type: FeatureType::ContentGeneration,
        tokens_used: 10,
        cost: Decimal::new(12, 3),
        model_used: "model".to_owned(),
        request_data: serde_json::json!({}),
        response_data: serde_json::json!({}),
        metadata: serde_json::json!({}),
    }
}

fn base_webhook() -> NewWebhook {
    NewWebhook {
        platform: Platform::Facebook,
        event_type: marker("event"),
        endpoint_url: "https://hooks.example.com/in".to_owned(),
        secret_key: Secret::new(marker("whsec")),
    }
}

/// Build a case's input, creating the rows it needs (before the census is taken).
pub(super) async fn prepare<S: Repositories + ?Sized>(
    store: &S,
    fx: &Fixture,
    target: &Target,
) -> Result<Prepared, String> {
    let setup = |e: Error| format!("setting up the case failed: {e:?}");
    Ok(match target {
        Target::User(edit) => Prepared::User(edited(new_user(), edit.as_ref())),
        Target::LastLogin(at) => Prepared::LastLogin(store.create_user(new_user()).await.map_err(setup)?.id, *at),
        Target::Team(edit) => Prepared::Team(edited(NewTeam::new("Team", fx.user, PlanType::Free), edit.as_ref())),
        Target::Account(edit) => Prepared::Account(edited(new_account(fx.user), edit.as_ref())),
        Target::Post(edit) => Prepared::Post(edited(base_post(fx), edit.as_ref())),
        Target::Import(edit) => {
            let at = fx.now() - Duration::days(3);
            let first = ImportedPost { post: base_post(fx), created_at: at };
            let second = edited(ImportedPost { post: base_post(fx), created_at: at }, edit.as_ref());
            Prepared::Import(vec![first, second])
        }
        Target::Comments(edit) => Prepared::Comments(vec![base_comment(fx), edited(base_comment(fx), edit.as_ref())]),
        Target::Template(edit) => Prepared::Template(edited(base_template(fx), edit.as_ref())),
        Target::Schedule(edit) => {
            let mut post = base_post(fx);
            post.platforms = vec![Platform::Facebook];
            let post = store.create_post(fx.team, post).await.map_err(setup)?.post.id;
            let at = fx.now() + Duration::days(1);
            let schedule = NewSchedule {
                user_id: fx.user,
                post_id: post,
                social_account_id: fx.account,
                scheduled_time: at,
                timezone: "Europe/Paris".to_owned(),
            };
            Prepared::Schedule(edited(schedule, edit.as_ref()))
        }
        Target::Billing(edit) => Prepared::Billing(edited(base_billing(fx), edit.as_ref())),
        Target::AiUsage(edit) => Prepared::AiUsage(edited(base_usage(fx), edit.as_ref())),
        Target::Notification(edit) => Prepared::Notification(edited(
            NewNotification::new(NotificationType::System, marker("title"), "message"),
            edit.as_ref(),
        )),
        Target::Webhook(edit) => Prepared::Webhook(edited(base_webhook(), edit.as_ref())),
        Target::UserChange(edit) => Prepared::UserChange(edited(UserUpdate::default(), edit.as_ref())),
        Target::WebhookChange(edit) => {
            let id = store.create_webhook(fx.user, base_webhook()).await.map_err(setup)?.id;
            Prepared::WebhookChange(id, edited(WebhookUpdate::default(), edit.as_ref()))
        }
        Target::FindEmail { stored, query, found } => {
            let user = NewUser::new(stored.clone(), password_hash(), "Find", "Me");
            let stored = store.create_user(user).await.map_err(setup)?.id;
            Prepared::FindEmail { stored, query: query.clone(), found: *found }
        }
        Target::TemplateCategory(c) => Prepared::TemplateCategory(c.clone()),
        Target::CursorToken(t) => Prepared::CursorToken(t.clone()),
        Target::CursorAt(micros) => Prepared::CursorAt(*micros),
        Target::PageLimit(n) => Prepared::PageLimit(*n),
        Target::ForeignPost(id) => Prepared::ForeignPost(id.map_or(fx.other_post, PostId)),
    })
}

/// Make the call. `Err` is the backend's refusal; `Ok` holds the comparison of what was stored.
pub(super) async fn run<S: Repositories + ?Sized>(store: &S, fx: &Fixture, input: Prepared) -> Result<Compared> {
    match input {
        Prepared::User(u) => user(store, u).await,
        Prepared::LastLogin(id, at) => last_login(store, id, at).await,
        Prepared::Team(t) => team(store, fx, t).await,
        Prepared::Account(a) => account(store, fx, a).await,
        Prepared::Post(p) => post(store, fx, p).await,
        Prepared::Import(posts) => import(store, fx, posts).await,
        Prepared::Comments(c) => comments(store, fx, c).await,
        Prepared::Template(t) => template(store, fx, t).await,
        Prepared::Schedule(s) => schedule(store, fx, s).await,
        Prepared::Billing(b) => billing(store, fx, b).await,
        Prepared::AiUsage(u) => ai_usage(store, fx, u).await,
        Prepared::Notification(n) => notification(store, fx, n).await,
        Prepared::Webhook(w) => webhook(store, fx, w).await,
        Prepared::UserChange(u) => user_change(store, fx, u).await,
        Prepared::WebhookChange(id, w) => webhook_change(store, fx, id, w).await,
        Prepared::FindEmail { stored, query, found } => find_email(store, stored, &query, found).await,
        Prepared::TemplateCategory(c) => template_category(store, fx, c).await,
        Prepared::CursorToken(t) => cursor_token(store, fx, &t).await,
        Prepared::CursorAt(micros) => cursor_at(store, fx, micros).await,
        Prepared::PageLimit(n) => {
            store.list_posts(fx.team, PostFilter::default(), PageRequest::first(n)).await.map(|_| Ok(()))
        }
        Prepared::ForeignPost(id) => {
            store.get_post(fx.team, id).await.map(|p| Err(format!("another team's post was visible: {:?}", p.post.id)))
        }
    }
}

/// The email of the user a case tries to create, to prove a refusal stored no user.
pub(super) fn new_user_email(input: &Prepared) -> Option<String> {
    match input {
        Prepared::User(u) => Some(u.email.clone()),
        _ => None,
    }
}

/// `Ok` when no user has `email` (or there is none to look for).
pub(super) async fn no_user_with<S: Repositories + ?Sized>(store: &S, email: Option<&str>) -> Result<(), String> {
    let Some(email) = email else { return Ok(()) };
    match store.find_user_by_email(email).await {
        Ok(None) => Ok(()),
        Ok(Some(u)) => Err(format!("the call was refused but the user {} was stored", u.id)),
        Err(e) => Err(format!("looking for the refused user failed: {e:?}")),
    }
}

/// `Ok` when `e` is a validation error on `field` under `rule`.
pub(super) fn expect_rejection(e: &Error, field: &str, rule: &str) -> Result<(), String> {
    match e.validation() {
        Some(v) if v.has(field, rule) => Ok(()),
        _ => Err(format!("expected a validation error on `{field}` ({rule}), got {e:?}")),
    }
}

/// Collects the differences between what was stored and what was given.
#[derive(Default)]
struct Diff(Vec<String>);

impl Diff {
    fn same<T: PartialEq + Debug>(&mut self, what: &str, got: &T, want: &T) -> &mut Self {
        if got != want {
            let show = |v: &T| {
                let s = format!("{v:?}");
                if s.len() > 200 { format!("{}... ({} bytes)", &s[..s.floor_char_boundary(200)], s.len()) } else { s }
            };
            self.0.push(format!("{what}: stored {}, given {}", show(got), show(want)));
        }
        self
    }

    fn finish(&self) -> Compared {
        if self.0.is_empty() { Ok(()) } else { Err(self.0.join("; ")) }
    }
}

async fn user<S: Repositories + ?Sized>(store: &S, u: NewUser) -> Result<Compared> {
    let created = store.create_user(u.clone()).await?;
    let got = store.get_user(created.id).await?;
    let found = store.find_user_by_email(&u.email.to_uppercase()).await?.map(|f| f.id);
    Ok(Diff::default()
        .same("get_user", &got, &created)
        .same("email", &got.email, &u.email)
        .same("find_user_by_email (upper case)", &found, &Some(created.id))
        .same("password_hash", &got.password_hash, &u.password_hash)
        .same("first_name", &got.first_name, &u.first_name)
        .same("last_name", &got.last_name, &u.last_name)
        .same("avatar_url", &got.avatar_url, &u.avatar_url)
        .same("timezone", &got.timezone, &u.timezone)
        .same("preferences", &got.preferences, &u.preferences)
        .finish())
}

async fn last_login<S: Repositories + ?Sized>(store: &S, id: UserId, at: DateTime<Utc>) -> Result<Compared> {
    let update = UserUpdate { last_login: Some(at), ..UserUpdate::default() };
    let updated = store.update_user(id, update).await?;
    let got = store.get_user(id).await?;
    Ok(Diff::default()
        .same("get_user", &got, &updated)
        .same("last_login", &got.last_login, &Some(to_micros(at)))
        .finish())
}

async fn team<S: Repositories + ?Sized>(store: &S, fx: &Fixture, t: NewTeam) -> Result<Compared> {
    let (created, owner) = store.create_team(t.clone()).await?;
    let got = store.get_team(created.id).await?;
    let member = store.membership(created.id, fx.user).await?;
    Ok(Diff::default()
        .same("get_team", &got, &created)
        .same("owner membership", &member, &Some(owner.clone()))
        .same("owner role", &owner.role, &TeamRole::Owner)
        .same("name", &got.name, &t.name)
        .same("settings", &got.settings, &t.settings)
        .same("billing_info", &got.billing_info, &t.billing_info)
        .finish())
}

async fn account<S: Repositories + ?Sized>(store: &S, fx: &Fixture, a: NewSocialAccount) -> Result<Compared> {
    let created = store.connect_account(fx.team, a.clone()).await?;
    let got = store.get_account(fx.team, created.id).await?;
    Ok(Diff::default()
        .same("get_account", &got, &created)
        .same("platform_id", &got.platform_id, &a.platform_id)
        .same("username", &got.username, &a.username)
        .same("access_token", &got.access_token.expose(), &a.access_token.expose())
        .same(
            "refresh_token",
            &got.refresh_token.as_ref().map(Secret::expose),
            &a.refresh_token.as_ref().map(Secret::expose),
        )
        .same("token_expires", &got.token_expires, &a.token_expires.map(to_micros))
        .same("permissions", &got.permissions, &a.permissions)
        .finish())
}

/// Compare a stored post and its media with the input.
fn post_diff(d: &mut Diff, got: &PostWithMedia, p: &NewPost) {
    let post = &got.post;
    d.same("title", &post.title, &p.title)
        .same("content", &post.content, &p.content)
        .same("hashtags", &post.hashtags, &p.hashtags)
        .same("status", &post.status, &p.status)
        .same("scheduled_at", &post.scheduled_at, &p.scheduled_at.map(to_micros))
        .same("ai_generated", &post.ai_generated, &p.ai_generated)
        .same("ai_prompt", &post.ai_prompt, &p.ai_prompt)
        .same("metadata", &post.metadata, &p.metadata)
        .same("platforms", &post.platforms, &p.platforms)
        .same("media count", &got.media.len(), &p.media.len());
    for (i, (m, want)) in got.media.iter().zip(&p.media).enumerate() {
        d.same(&format!("media[{i}].media_type"), &m.media_type, &want.media_type)
            .same(&format!("media[{i}].file_url"), &m.file_url, &want.file_url)
            .same(&format!("media[{i}].file_size"), &m.file_size, &want.file_size)
            .same(&format!("media[{i}].dimensions"), &m.dimensions, &want.dimensions)
            .same(&format!("media[{i}].alt_text"), &m.alt_text, &want.alt_text)
            .same(&format!("media[{i}].order_index"), &m.order_index, &i32::try_from(i).unwrap_or(i32::MAX));
    }
}

async fn post<S: Repositories + ?Sized>(store: &S, fx: &Fixture, p: NewPost) -> Result<Compared> {
    let created = store.create_post(fx.team, p.clone()).await?;
    let got = store.get_post(fx.team, created.post.id).await?;
    let mut d = Diff::default();
    d.same("get_post", &got, &created);
    post_diff(&mut d, &got, &p);
    Ok(d.finish())
}

/// Every post of the fixture's team (the census keeps the team small).
async fn team_posts<S: Repositories + ?Sized>(store: &S, fx: &Fixture) -> Result<Vec<Post>> {
    let page = store.list_posts(fx.team, PostFilter::default(), PageRequest::first(PageRequest::MAX_LIMIT)).await?;
    Ok(page.items)
}

async fn import<S: Repositories + ?Sized>(store: &S, fx: &Fixture, posts: Vec<ImportedPost>) -> Result<Compared> {
    let n = store.import_posts(fx.team, posts.clone()).await?;
    let mut d = Diff::default();
    d.same("imported count", &n, &2);
    let stored = team_posts(store, fx).await?;
    for want in &posts {
        let Some(found) = stored.iter().find(|p| p.content == want.post.content) else {
            d.0.push(format!("imported post `{}` not found", want.post.content.chars().take(40).collect::<String>()));
            continue;
        };
        let got = store.get_post(fx.team, found.id).await?;
        post_diff(&mut d, &got, &want.post);
        d.same("created_at", &got.post.created_at, &to_micros(want.created_at));
        for m in &got.media {
            d.same("media created_at", &m.created_at, &got.post.created_at);
        }
    }
    Ok(d.finish())
}

async fn comments<S: Repositories + ?Sized>(store: &S, fx: &Fixture, batch: Vec<NewComment>) -> Result<Compared> {
    let report = store.ingest_comments(fx.team, batch.clone()).await?;
    let filter = InboxFilter { account_id: Some(fx.account), ..InboxFilter::default() };
    let inbox = store.inbox(fx.team, filter, PageRequest::first(PageRequest::MAX_LIMIT)).await?.items;
    let mut d = Diff::default();
    d.same("inserted", &report.inserted, &2).same("duplicates", &report.duplicates, &0);
    for want in &batch {
        let Some(got) = inbox.iter().find(|c| c.platform_id == want.platform_id) else {
            d.0.push(format!("comment `{}` not found", want.platform_id.chars().take(40).collect::<String>()));
            continue;
        };
        d.same("get_comment", &store.get_comment(fx.team, got.id).await?, got)
            .same("content", &got.content, &want.content)
            .same("author_name", &got.author_name, &want.author_name)
            .same("author_id", &got.author_id, &want.author_id)
            .same("sentiment", &got.sentiment, &want.sentiment)
            .same("priority", &got.priority, &want.priority)
            .same("metadata", &got.metadata, &want.metadata);
    }
    Ok(d.finish())
}

async fn template<S: Repositories + ?Sized>(store: &S, fx: &Fixture, t: NewTemplate) -> Result<Compared> {
    let created = store.create_template(fx.team, t.clone()).await?;
    let got = store.get_template(fx.team, created.id).await?;
    let filter = TemplateFilter { category: Some(t.category.clone()) };
    let listed = store.list_templates(fx.team, filter, PageRequest::first(PageRequest::MAX_LIMIT)).await?.items;
    let mut d = Diff::default();
    d.same("get_template", &got, &created)
        .same("name", &got.name, &t.name)
        .same("description", &got.description, &t.description)
        .same("content", &got.content, &t.content)
        .same("category", &got.category, &t.category)
        .same("hashtags", &got.hashtags, &t.hashtags)
        .same("listed by its category", &listed.iter().any(|x| x.id == created.id), &true)
        .same("only its category listed", &listed.iter().all(|x| x.category == t.category), &true);
    Ok(d.finish())
}

async fn schedule<S: Repositories + ?Sized>(store: &S, fx: &Fixture, s: NewSchedule) -> Result<Compared> {
    let created = store.create_schedule(fx.team, s.clone()).await?;
    let got = store.get_schedule(fx.team, created.id).await?;
    let post = store.get_post(fx.team, s.post_id).await?.post;
    Ok(Diff::default()
        .same("get_schedule", &got, &created)
        .same("scheduled_time", &got.scheduled_time, &to_micros(s.scheduled_time))
        .same("next_attempt_at", &got.next_attempt_at, &to_micros(s.scheduled_time))
        .same("timezone", &got.timezone, &s.timezone)
        .same("post status", &post.status, &PostStatus::Scheduled)
        .same("post scheduled_at", &post.scheduled_at, &Some(to_micros(s.scheduled_time)))
        .finish())
}

async fn billing<S: Repositories + ?Sized>(store: &S, fx: &Fixture, b: NewBilling) -> Result<Compared> {
    let created = store.create_billing(fx.team, b.clone()).await?;
    let got = store.get_billing(fx.team, created.id).await?;
    Ok(Diff::default()
        .same("get_billing", &got, &created)
        .same("subscription_id", &got.subscription_id, &b.subscription_id)
        .same("amount", &got.amount, &b.amount)
        .same("currency", &got.currency, &b.currency)
        .same("period_start", &got.period_start, &to_micros(b.period_start))
        .same("period_end", &got.period_end, &to_micros(b.period_end))
        .same("next_billing", &got.next_billing, &to_micros(b.next_billing))
        .finish())
}

async fn ai_usage<S: Repositories + ?Sized>(store: &S, fx: &Fixture, u: NewAiUsage) -> Result<Compared> {
    let created = store.record_ai_usage(fx.team, u.clone()).await?;
    let listed = store.list_ai_usage(fx.team, PageRequest::first(PageRequest::MAX_LIMIT)).await?.items;
    let got = listed.into_iter().find(|x| x.id == created.id);
    let Some(got) = got else { return Ok(Err("the recorded usage is not listed".to_owned())) };
    Ok(Diff::default()
        .same("listed", &got, &created)
        .same("tokens_used", &got.tokens_used, &u.tokens_used)
        .same("cost", &got.cost, &u.cost)
        .same("model_used", &got.model_used, &u.model_used)
        .same("request_data", &got.request_data, &u.request_data)
        .same("response_data", &got.response_data, &u.response_data)
        .same("metadata", &got.metadata, &u.metadata)
        .finish())
}

async fn notification<S: Repositories + ?Sized>(store: &S, fx: &Fixture, n: NewNotification) -> Result<Compared> {
    let created = store.notify(fx.user, n.clone()).await?;
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let listed = store.list_notifications(fx.user, NotificationFilter::default(), page).await?.items;
    let Some(got) = listed.into_iter().find(|x| x.id == created.id) else {
        return Ok(Err("the notification is not listed".to_owned()));
    };
    Ok(Diff::default()
        .same("listed", &got, &created)
        .same("title", &got.title, &n.title)
        .same("message", &got.message, &n.message)
        .same("data", &got.data, &n.data)
        .finish())
}

async fn webhook<S: Repositories + ?Sized>(store: &S, fx: &Fixture, w: NewWebhook) -> Result<Compared> {
    let created = store.create_webhook(fx.user, w.clone()).await?;
    let got = store.get_webhook(fx.user, created.id).await?;
    let for_event = store.webhooks_for_event(w.platform, &w.event_type).await?;
    let ids: Vec<WebhookId> = for_event.iter().filter(|x| x.user_id == fx.user).map(|x| x.id).collect();
    Ok(Diff::default()
        .same("get_webhook", &got, &created)
        .same("event_type", &got.event_type, &w.event_type)
        .same("endpoint_url", &got.endpoint_url, &w.endpoint_url)
        .same("secret_key", &got.secret_key.expose(), &w.secret_key.expose())
        .same("webhooks_for_event", &ids, &vec![created.id])
        .finish())
}

async fn user_change<S: Repositories + ?Sized>(store: &S, fx: &Fixture, u: UserUpdate) -> Result<Compared> {
    let updated = store.update_user(fx.user, u.clone()).await?;
    let got = store.get_user(fx.user).await?;
    let mut d = Diff::default();
    d.same("get_user", &got, &updated);
    if let Some(avatar) = &u.avatar_url {
        d.same("avatar_url", &got.avatar_url, avatar);
    }
    if let Some(first) = &u.first_name {
        d.same("first_name", &got.first_name, first);
    }
    if let Some(last) = &u.last_name {
        d.same("last_name", &got.last_name, last);
    }
    Ok(d.finish())
}

async fn webhook_change<S: Repositories + ?Sized>(
    store: &S,
    fx: &Fixture,
    id: WebhookId,
    w: WebhookUpdate,
) -> Result<Compared> {
    let updated = store.update_webhook(fx.user, id, w.clone()).await?;
    let got = store.get_webhook(fx.user, id).await?;
    let mut d = Diff::default();
    d.same("get_webhook", &got, &updated);
    if let Some(url) = &w.endpoint_url {
        d.same("endpoint_url", &got.endpoint_url, url);
    }
    if let Some(event) = &w.event_type {
        d.same("event_type", &got.event_type, event);
    }
    Ok(d.finish())
}

async fn find_email<S: Repositories + ?Sized>(store: &S, stored: UserId, query: &str, found: bool) -> Result<Compared> {
    let got = store.find_user_by_email(query).await?.map(|u| u.id);
    Ok(Diff::default().same("found", &got, &found.then_some(stored)).finish())
}

async fn template_category<S: Repositories + ?Sized>(store: &S, fx: &Fixture, category: String) -> Result<Compared> {
    let filter = TemplateFilter { category: Some(category) };
    let page = store.list_templates(fx.team, filter, PageRequest::first(PageRequest::MAX_LIMIT)).await?;
    let ids: Vec<TemplateId> = page.items.iter().map(|t| t.id).collect();
    Ok(Diff::default().same("templates of that category", &ids, &Vec::new()).finish())
}

async fn cursor_token<S: Repositories + ?Sized>(store: &S, fx: &Fixture, token: &str) -> Result<Compared> {
    let cursor = Cursor::decode(token)?;
    store.list_posts(fx.team, PostFilter::default(), PageRequest::after(PageRequest::MAX_LIMIT, cursor)).await?;
    Ok(Ok(()))
}

async fn cursor_at<S: Repositories + ?Sized>(store: &S, fx: &Fixture, micros: i64) -> Result<Compared> {
    let Some(at) = DateTime::<Utc>::from_timestamp_micros(micros) else {
        return Ok(Err(format!("{micros} µs is not a time: a case to fix")));
    };
    let cursor = Cursor::after(at, Uuid::max());
    let page = PageRequest::after(PageRequest::MAX_LIMIT, cursor);
    let got: Vec<PostId> =
        store.list_posts(fx.team, PostFilter::default(), page).await?.items.iter().map(|p| p.id).collect();
    let want: Vec<PostId> =
        team_posts(store, fx).await?.iter().filter(|p| cursor.is_before(p.created_at, p.id.0)).map(|p| p.id).collect();
    Ok(Diff::default().same("posts after the cursor", &got, &want).finish())
}
