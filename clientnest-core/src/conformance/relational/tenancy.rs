//! Tenant isolation: through team B, nothing of team A can be read, listed, changed, deleted,
//! triaged, counted, cancelled or referenced; user-owned webhooks and notifications are
//! isolated between users. Every refusal is `NotFound` (or `MissingReference` for ids inside an
//! input), so existence never leaks, and A's rows stay as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::model::*;
use crate::ports::*;

/// Memberships: team B cannot see, change or remove team A's members.
pub async fn tenancy_members<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (b_owner, b) = owned_team(h).await;
    let a_editor = member(h, a.team.id, TeamRole::Editor).await;
    let s = &*h.store;
    assert_eq!(s.membership(b.id, a.owner.id).await.expect("membership"), None);
    assert_eq!(s.membership(b.id, a_editor.id).await.expect("membership"), None);
    let members: Vec<_> =
        s.list_members(b.id, all()).await.expect("members").items.into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, vec![b_owner.id]);
    let promote = TeamMemberUpdate { role: Some(TeamRole::Admin), ..TeamMemberUpdate::default() };
    not_found(s.update_member(b.id, a_editor.id, promote).await, Entity::TeamMember);
    not_found(s.remove_member(b.id, a_editor.id).await, Entity::TeamMember);
    let kept = s.membership(a.team.id, a_editor.id).await.expect("membership").expect("still a member");
    assert_eq!(kept.role, TeamRole::Editor);
}

/// Accounts and posts of team A are invisible and untouchable through team B.
pub async fn tenancy_accounts_and_posts<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (_, b) = owned_team(h).await;
    let s = &*h.store;
    not_found(s.get_account(b.id, a.account.id).await, Entity::SocialAccount);
    let rename = SocialAccountUpdate { username: Some("hijacked".to_owned()), ..SocialAccountUpdate::default() };
    not_found(s.update_account(b.id, a.account.id, rename).await, Entity::SocialAccount);
    not_found(s.delete_account(b.id, a.account.id).await, Entity::SocialAccount);
    assert!(s.list_accounts(b.id, all()).await.expect("list").items.is_empty());
    assert_eq!(s.get_account(a.team.id, a.account.id).await.expect("get"), a.account);

    for post in [a.post.id, a.published.post.id] {
        not_found(s.get_post(b.id, post).await, Entity::Post);
        let edit = PostUpdate { content: Some("hijacked".to_owned()), ..PostUpdate::default() };
        not_found(s.update_post(b.id, post, edit).await, Entity::Post);
        not_found(s.delete_post(b.id, post).await, Entity::Post);
    }
    assert!(s.list_posts(b.id, PostFilter::default(), all()).await.expect("list").items.is_empty());
    assert!(s.feed(b.id, all()).await.expect("feed").items.is_empty());
    assert_eq!(s.get_post(a.team.id, a.post.id).await.expect("get").post, a.post);
    assert_eq!(s.get_post(a.team.id, a.published.post.id).await.expect("get"), a.published);
}

/// Comments and responses of team A: no get, triage, inbox, responses, drafting, sending,
/// marking or ingesting on A's accounts through team B.
pub async fn tenancy_comments_and_responses<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (b_owner, b) = owned_team(h).await;
    let s = &*h.store;
    not_found(s.get_comment(b.id, a.comment.id).await, Entity::Comment);
    let triage = CommentUpdate { status: Some(CommentStatus::Ignored), ..CommentUpdate::default() };
    not_found(s.update_comment(b.id, a.comment.id, triage).await, Entity::Comment);
    assert!(s.inbox(b.id, InboxFilter::default(), all()).await.expect("inbox").items.is_empty());
    let by_account = InboxFilter { account_id: Some(a.account.id), ..InboxFilter::default() };
    assert!(s.inbox(b.id, by_account, all()).await.expect("inbox").items.is_empty());
    not_found(s.responses_to(b.id, a.comment.id).await, Entity::Comment);
    missing(
        s.draft_response(b.id, new_response(a.comment.id, b_owner.id)).await,
        Entity::Response,
        Entity::Comment,
        constraint::FK_RESPONSES_COMMENT,
    );
    missing(
        s.send_response(b.id, new_response(a.comment.id, b_owner.id)).await,
        Entity::Response,
        Entity::Comment,
        constraint::FK_RESPONSES_COMMENT,
    );
    not_found(s.mark_response_sent(b.id, a.response.id).await, Entity::Response);
    not_found(s.mark_response_failed(b.id, a.response.id).await, Entity::Response);
    missing(
        s.ingest_comments(b.id, vec![new_comment(a.account.id, "sneaky")]).await,
        Entity::Comment,
        Entity::SocialAccount,
        constraint::FK_COMMENTS_ACCOUNT,
    );

    assert_eq!(s.get_comment(a.team.id, a.comment.id).await.expect("get"), a.comment);
    assert_eq!(s.responses_to(a.team.id, a.comment.id).await.expect("responses"), vec![a.response.clone()]);
    assert!(find_comment(h, a.team.id, a.account.id, "sneaky").await.is_none());
}

/// Schedules of team A: no get, list, cancel through team B, and team B cannot schedule A's
/// posts or use A's accounts.
pub async fn tenancy_schedules<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (b_owner, b) = owned_team(h).await;
    let s = &*h.store;
    not_found(s.get_schedule(b.id, a.schedule.id).await, Entity::Schedule);
    not_found(s.cancel_schedule(b.id, a.schedule.id).await, Entity::Schedule);
    let of_post = ScheduleFilter { post_id: Some(a.post.id), ..ScheduleFilter::default() };
    assert!(s.list_schedules(b.id, of_post, all()).await.expect("list").items.is_empty());
    assert!(s.list_schedules(b.id, ScheduleFilter::default(), all()).await.expect("list").items.is_empty());

    let b_account = account(h, b.id, b_owner.id, Platform::Twitter).await;
    let b_post = post(h, b.id, b_owner.id, Platform::Twitter).await.post;
    let at = now(h) + Duration::hours(2);
    missing(
        s.create_schedule(b.id, new_schedule(b_owner.id, a.post.id, b_account.id, at)).await,
        Entity::Schedule,
        Entity::Post,
        constraint::FK_SCHEDULES_POST,
    );
    missing(
        s.create_schedule(b.id, new_schedule(b_owner.id, b_post.id, a.account.id, at)).await,
        Entity::Schedule,
        Entity::SocialAccount,
        constraint::FK_SCHEDULES_SOCIAL_ACCOUNT,
    );
    assert_eq!(s.get_schedule(a.team.id, a.schedule.id).await.expect("get"), a.schedule);
    assert!(s.list_schedules(b.id, ScheduleFilter::default(), all()).await.expect("list").items.is_empty());
}

/// Templates and automations of team A: no get, list, update, delete, use counting or trigger
/// look-up through team B.
pub async fn tenancy_templates_and_automations<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (_, b) = owned_team(h).await;
    let s = &*h.store;
    not_found(s.get_template(b.id, a.template.id).await, Entity::Template);
    let rename = TemplateUpdate { name: Some("hijacked".to_owned()), ..TemplateUpdate::default() };
    not_found(s.update_template(b.id, a.template.id, rename).await, Entity::Template);
    not_found(s.delete_template(b.id, a.template.id).await, Entity::Template);
    not_found(s.record_template_use(b.id, a.template.id).await, Entity::Template);
    assert!(s.list_templates(b.id, TemplateFilter::default(), all()).await.expect("list").items.is_empty());
    assert_eq!(s.get_template(a.team.id, a.template.id).await.expect("get"), a.template);

    not_found(s.get_automation(b.id, a.automation.id).await, Entity::Automation);
    let off = AutomationUpdate { is_active: Some(false), ..AutomationUpdate::default() };
    not_found(s.update_automation(b.id, a.automation.id, off).await, Entity::Automation);
    not_found(s.delete_automation(b.id, a.automation.id).await, Entity::Automation);
    assert!(s.list_automations(b.id, all()).await.expect("list").items.is_empty());
    assert!(s.active_automations(b.id, TriggerType::CommentReceived).await.expect("active").is_empty());
    assert_eq!(s.get_automation(a.team.id, a.automation.id).await.expect("get"), a.automation);
}

/// Billing and AI usage of team A: no get, update, list, active subscription or totals through
/// team B.
pub async fn tenancy_billing_and_ai_usage<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (_, b) = owned_team(h).await;
    let s = &*h.store;
    not_found(s.get_billing(b.id, a.billing.id).await, Entity::Billing);
    let cancel = BillingUpdate { status: Some(BillingStatus::Cancelled), ..BillingUpdate::default() };
    not_found(s.update_billing(b.id, a.billing.id, cancel).await, Entity::Billing);
    assert!(s.list_billing(b.id, all()).await.expect("list").items.is_empty());
    assert_eq!(s.active_subscription(b.id).await.expect("active"), None);
    assert_eq!(s.get_billing(a.team.id, a.billing.id).await.expect("get"), a.billing);
    // Team A's active record does not block team B's.
    s.create_billing(b.id, new_billing(BillingStatus::Active, now(h))).await.expect("B's own subscription");

    assert!(s.list_ai_usage(b.id, all()).await.expect("list").items.is_empty());
    let period = Period::new(now(h) - Duration::days(1), now(h) + Duration::days(1)).expect("period");
    assert!(s.ai_usage_totals(b.id, period).await.expect("totals").is_empty());
    let totals = s.ai_usage_totals(a.team.id, period).await.expect("totals");
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].requests, totals[0].tokens), (1, i64::from(a.usage.tokens_used)));
    assert_eq!(totals[0].cost.normalize(), Decimal::new(25, 3));
}

/// Webhooks are reached through their user only.
pub async fn tenancy_webhooks_between_users<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let other = user(h).await;
    let s = &*h.store;
    not_found(s.get_webhook(other.id, a.webhook.id).await, Entity::Webhook);
    let off = WebhookUpdate { is_active: Some(false), ..WebhookUpdate::default() };
    not_found(s.update_webhook(other.id, a.webhook.id, off).await, Entity::Webhook);
    not_found(s.delete_webhook(other.id, a.webhook.id).await, Entity::Webhook);
    assert!(s.list_webhooks(other.id, all()).await.expect("list").items.is_empty());
    assert_eq!(s.get_webhook(a.owner.id, a.webhook.id).await.expect("get"), a.webhook);
}

/// Notifications are reached through their user only; marking all read touches only one's own.
pub async fn tenancy_notifications_between_users<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let other = user(h).await;
    let s = &*h.store;
    not_found(s.mark_read(other.id, a.notification.id).await, Entity::Notification);
    not_found(s.delete_notification(other.id, a.notification.id).await, Entity::Notification);
    assert!(s.list_notifications(other.id, NotificationFilter::default(), all()).await.expect("list").items.is_empty());
    assert_eq!(s.unread_count(other.id).await.expect("count"), 0);
    s.notify(other.id, new_notification("Mine")).await.expect("notify");
    assert_eq!(s.mark_all_read(other.id).await.expect("mark all"), 1);
    assert_eq!(s.unread_count(a.owner.id).await.expect("count"), 1, "another user's mark_all_read leaves mine");
    let mine = s.list_notifications(a.owner.id, NotificationFilter::default(), all()).await.expect("list").items;
    assert_eq!(mine, vec![a.notification]);
}

/// Comments, responses and post media carry the `team_id` of the team the call went through
/// (the parent's team), on every write path: create, import, attach, ingest, draft, send and
/// mark. Every row a team reads (inbox, responses, feed, posts with media) is that team's own,
/// and team B reaches none of team A's children, not even with A's ids inside its inputs.
pub async fn tenancy_child_rows_carry_their_team<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (b_owner, b) = owned_team(h).await;
    let s = &*h.store;
    let team = a.team.id;
    assert_eq!((a.comment.team_id, a.response.team_id), (team, team));
    assert!(a.published.media.iter().all(|m| m.team_id == team), "{:?}", a.published.media);

    // B's own rows, through every write path.
    let b_account = account(h, b.id, b_owner.id, Platform::Instagram).await;
    let mut published = NewPost::draft(b_owner.id, "B's published post");
    published.status = PostStatus::Published;
    published.platforms = vec![Platform::Instagram];
    published.media = vec![media(MediaType::Image)];
    let created = s.create_post(b.id, published.clone()).await.expect("create post");
    assert!(created.media.iter().all(|m| m.team_id == b.id && m.post_id == created.post.id));
    let attached = s.attach_media(b.id, created.post.id, media(MediaType::Image)).await.expect("attach");
    assert_eq!(attached.team_id, b.id);
    let imported = ImportedPost { post: published, created_at: now(h) - Duration::days(1) };
    assert_eq!(s.import_posts(b.id, vec![imported]).await.expect("import"), 1);
    let feed = s.feed(b.id, all()).await.expect("feed").items;
    assert_eq!(feed.len(), 2, "the created and the imported post");
    for p in &feed {
        assert_eq!(p.post.team_id, b.id);
        assert!(!p.media.is_empty() && p.media.iter().all(|m| m.team_id == b.id), "{:?}", p.media);
    }
    let b_comment = comment(h, b.id, new_comment(b_account.id, &format!("b-{}", unique()))).await;
    assert_eq!(b_comment.team_id, b.id);
    let drafted = s.draft_response(b.id, new_response(b_comment.id, b_owner.id)).await.expect("draft");
    let sent = s.send_response(b.id, new_response(b_comment.id, b_owner.id)).await.expect("send");
    let marked = s.mark_response_sent(b.id, drafted.id).await.expect("mark sent");
    assert_eq!((drafted.team_id, sent.team_id, marked.team_id), (b.id, b.id, b.id));
    let responses = s.responses_to(b.id, b_comment.id).await.expect("responses");
    assert_eq!(responses.len(), 2);
    assert!(responses.iter().all(|r| r.team_id == b.id && r.comment_id == b_comment.id));

    // Every read of B holds B's rows only; A's children stay out of reach through B.
    let inbox = s.inbox(b.id, InboxFilter::default(), all()).await.expect("inbox").items;
    assert_eq!(inbox.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b_comment.id]);
    assert!(inbox.iter().all(|c| c.team_id == b.id));
    let a_media = a.published.media[0].id;
    not_found(s.detach_media(b.id, a.published.post.id, a_media).await, Entity::PostMedia);
    not_found(s.detach_media(b.id, created.post.id, a_media).await, Entity::PostMedia);
    not_found(s.attach_media(b.id, a.published.post.id, media(MediaType::Image)).await, Entity::Post);
    not_found(s.responses_to(b.id, a.comment.id).await, Entity::Comment);
    not_found(s.mark_response_sent(b.id, a.response.id).await, Entity::Response);

    // And A's rows are as they were, still A's.
    assert_eq!(s.get_post(team, a.published.post.id).await.expect("get"), a.published);
    assert_eq!(s.get_comment(team, a.comment.id).await.expect("get"), a.comment);
    assert_eq!(s.responses_to(team, a.comment.id).await.expect("responses"), vec![a.response.clone()]);
    let a_inbox = s.inbox(team, InboxFilter::default(), all()).await.expect("inbox").items;
    assert!(a_inbox.iter().all(|c| c.team_id == team) && a_inbox.iter().any(|c| c.id == a.comment.id));
}
