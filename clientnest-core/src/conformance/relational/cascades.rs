//! Cascading deletes, as the seed's ERD: user, team, social account and post. Rows that go are
//! `NotFound` and absent from every list and global look-up; rows of others stay.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::error::Entity;
use crate::ids::ScheduleId;
use crate::model::*;
use crate::ports::*;

/// Claim everything due in the next two days and return the ids.
async fn claim_all<S: ScheduleRepository + ?Sized>(h: &Harness<S>) -> Vec<ScheduleId> {
    h.time.advance(Duration::days(2)).await;
    let w = WorkerId::unique("cascade");
    h.store
        .claim_due(&w, ClaimRequest::new(1000, Duration::minutes(5)))
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.schedule.id)
        .collect()
}

/// Deleting a user removes the teams they own with everything in them, their memberships and
/// rows in other teams (posts, schedules, templates, automations, AI usage, responses, accounts
/// with their comments), their webhooks and notifications; other users' rows stay.
pub async fn cascade_delete_user<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let w = world(h).await;
    let u = w.owner.id;
    let s = &*h.store;
    let teammate = member(h, w.team.id, TeamRole::Editor).await;

    // Another team, owned by V, where U is a member and authored rows.
    let v = user(h).await;
    let other = team(h, &v).await;
    s.add_member(other.id, NewTeamMember::new(u, TeamRole::Editor)).await.expect("join");
    let v_account = account(h, other.id, v.id, Platform::Twitter).await;
    let u_account = account(h, other.id, u, Platform::Facebook).await;
    let v_post = post(h, other.id, v.id, Platform::Twitter).await.post;
    let mut u_post = new_post_for(u, Platform::Instagram);
    u_post.media.push(media(MediaType::Video));
    let u_post = s.create_post(other.id, u_post).await.expect("U's post").post;
    let v_schedule = schedule(h, other.id, v.id, v_post.id, v_account.id).await;
    // U schedules V's post on another of V's accounts (one live schedule per post and account).
    let v_second_account = account(h, other.id, v.id, Platform::Twitter).await;
    let u_schedule = schedule(h, other.id, u, v_post.id, v_second_account.id).await;
    let v_comment = comment(h, other.id, new_comment(v_account.id, "vc")).await;
    let u_account_comment = comment(h, other.id, new_comment(u_account.id, "uc")).await;
    let v_response = s.draft_response(other.id, new_response(v_comment.id, v.id)).await.expect("V's response");
    let u_response = s.draft_response(other.id, new_response(v_comment.id, u)).await.expect("U's response");
    let v_template = s.create_template(other.id, new_template(v.id, "promo", true)).await.expect("template");
    let u_template = s.create_template(other.id, new_template(u, "promo", true)).await.expect("template");
    let v_automation = s.create_automation(other.id, new_automation(v.id)).await.expect("automation");
    let u_automation = s.create_automation(other.id, new_automation(u)).await.expect("automation");
    let f = FeatureType::ResponseGeneration;
    let v_usage = s.record_ai_usage(other.id, new_usage(v.id, f, 10, Decimal::ONE)).await.expect("usage");
    s.record_ai_usage(other.id, new_usage(u, f, 20, Decimal::ONE)).await.expect("usage");
    let v_hook = s.create_webhook(v.id, new_webhook(Platform::Twitter, "comment.created")).await.expect("webhook");
    let v_note = s.notify(v.id, new_notification("V's")).await.expect("notify");

    s.delete_user(u).await.expect("delete user");

    not_found(s.get_user(u).await, Entity::User);
    s.get_user(teammate.id).await.expect("the teammate stays");
    s.get_user(v.id).await.expect("V stays");
    // The team U owned, and everything in it.
    not_found(s.get_team(w.team.id).await, Entity::Team);
    assert!(s.teams_of_user(teammate.id, all()).await.expect("teams").items.is_empty(), "memberships of it go");
    gone(s.get_account(w.team.id, w.account.id).await);
    gone(s.get_post(w.team.id, w.post.id).await);
    gone(s.get_post(w.team.id, w.published.post.id).await);
    gone(s.get_schedule(w.team.id, w.schedule.id).await);
    gone(s.get_comment(w.team.id, w.comment.id).await);
    gone(s.get_template(w.team.id, w.template.id).await);
    gone(s.get_automation(w.team.id, w.automation.id).await);
    gone(s.get_billing(w.team.id, w.billing.id).await);
    // U's rows in V's team.
    assert_eq!(s.membership(other.id, u).await.expect("membership"), None);
    let members: Vec<_> =
        s.list_members(other.id, all()).await.expect("members").items.into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, vec![v.id]);
    not_found(s.get_post(other.id, u_post.id).await, Entity::Post);
    not_found(s.get_schedule(other.id, u_schedule.id).await, Entity::Schedule);
    not_found(s.get_template(other.id, u_template.id).await, Entity::Template);
    not_found(s.get_automation(other.id, u_automation.id).await, Entity::Automation);
    not_found(s.get_account(other.id, u_account.id).await, Entity::SocialAccount);
    not_found(s.get_comment(other.id, u_account_comment.id).await, Entity::Comment);
    not_found(s.mark_response_sent(other.id, u_response.id).await, Entity::Response);
    assert_eq!(s.responses_to(other.id, v_comment.id).await.expect("responses"), vec![v_response]);
    let usage: Vec<_> = s.list_ai_usage(other.id, all()).await.expect("usage").items;
    assert_eq!(usage, vec![v_usage]);
    // V's rows stay.
    assert_eq!(s.get_post(other.id, v_post.id).await.expect("V's post").post.id, v_post.id);
    assert_eq!(s.get_schedule(other.id, v_schedule.id).await.expect("V's schedule"), v_schedule);
    assert_eq!(s.get_template(other.id, v_template.id).await.expect("V's template"), v_template);
    assert_eq!(s.get_automation(other.id, v_automation.id).await.expect("V's automation"), v_automation);
    assert_eq!(s.get_comment(other.id, v_comment.id).await.expect("V's comment"), v_comment);
    // U's webhooks and notifications.
    not_found(s.get_webhook(u, w.webhook.id).await, Entity::Webhook);
    not_found(s.mark_read(u, w.notification.id).await, Entity::Notification);
    let hooks: Vec<_> = s.webhooks_for_event(Platform::Twitter, "comment.created").await.expect("hooks");
    assert_eq!(hooks, vec![v_hook]);
    assert_eq!(
        s.list_notifications(v.id, NotificationFilter::default(), all()).await.expect("list").items,
        vec![v_note]
    );
    // Global look-ups.
    let public: Vec<_> =
        s.list_public_templates(all()).await.expect("public").items.into_iter().map(|t| t.id).collect();
    assert_eq!(public, vec![v_template.id]);
    assert_eq!(claim_all(h).await, vec![v_schedule.id], "only V's schedule is left to claim");
    let mut again = new_user();
    again.email = w.owner.email.clone();
    s.create_user(again).await.expect("the email is free again");
}

/// Deleting a team removes its memberships, accounts, posts, schedules, comments, templates,
/// automations, billing and AI usage; its users, their webhooks and notifications and their
/// other teams stay.
pub async fn cascade_delete_team<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let w = world(h).await;
    let s = &*h.store;
    let teammate = member(h, w.team.id, TeamRole::Admin).await;
    let mut expiring = new_account(w.owner.id, Platform::LinkedIn);
    expiring.token_expires = Some(now(h) + Duration::hours(1));
    s.connect_account(w.team.id, expiring).await.expect("connect");
    let kept_team = team(h, &w.owner).await;
    let kept_post = post(h, kept_team.id, w.owner.id, Platform::Instagram).await;

    s.delete_team(w.team.id).await.expect("delete team");

    not_found(s.get_team(w.team.id).await, Entity::Team);
    s.get_user(w.owner.id).await.expect("the owner stays");
    s.get_user(teammate.id).await.expect("the member stays");
    assert!(s.teams_of_user(teammate.id, all()).await.expect("teams").items.is_empty());
    let owner_teams: Vec<_> =
        s.teams_of_user(w.owner.id, all()).await.expect("teams").items.into_iter().map(|t| t.id).collect();
    assert_eq!(owner_teams, vec![kept_team.id]);
    gone(s.get_account(w.team.id, w.account.id).await);
    gone(s.get_post(w.team.id, w.post.id).await);
    gone(s.get_post(w.team.id, w.published.post.id).await);
    gone(s.get_schedule(w.team.id, w.schedule.id).await);
    gone(s.get_comment(w.team.id, w.comment.id).await);
    gone(s.get_template(w.team.id, w.template.id).await);
    gone(s.get_automation(w.team.id, w.automation.id).await);
    gone(s.get_billing(w.team.id, w.billing.id).await);
    assert_eq!(s.get_post(kept_team.id, kept_post.post.id).await.expect("other team's post"), kept_post);
    assert_eq!(s.get_webhook(w.owner.id, w.webhook.id).await.expect("webhook stays"), w.webhook);
    assert_eq!(s.unread_count(w.owner.id).await.expect("count"), 1, "the notification stays");
    // Global look-ups no longer see the team's rows.
    assert!(s.list_public_templates(all()).await.expect("public").items.is_empty());
    assert!(s.accounts_expiring_before(now(h) + Duration::days(365), 100).await.expect("expiring").is_empty());
    assert!(claim_all(h).await.is_empty(), "the team's schedules are gone");
    // The billing row went, so its subscription id is free again.
    let mut reuse = new_billing(BillingStatus::Active, now(h));
    reuse.subscription_id = w.billing.subscription_id.clone();
    s.create_billing(kept_team.id, reuse).await.expect("the subscription id is free again");
}

/// Deleting an account removes its comments with their responses and its schedules; the posts
/// and other accounts' rows stay.
pub async fn cascade_delete_account<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let w = world(h).await;
    let s = &*h.store;
    let (t, u) = (w.team.id, w.owner.id);
    let second = account(h, t, u, Platform::Twitter).await;
    let kept_comment = comment(h, t, new_comment(second.id, "kept")).await;
    let kept_response = s.send_response(t, new_response(kept_comment.id, u)).await.expect("send");
    let kept_schedule = schedule(h, t, u, w.post.id, second.id).await;

    s.delete_account(t, w.account.id).await.expect("delete account");

    not_found(s.get_account(t, w.account.id).await, Entity::SocialAccount);
    not_found(s.get_comment(t, w.comment.id).await, Entity::Comment);
    not_found(s.responses_to(t, w.comment.id).await, Entity::Comment);
    not_found(s.mark_response_sent(t, w.response.id).await, Entity::Response);
    not_found(s.get_schedule(t, w.schedule.id).await, Entity::Schedule);
    let inbox: Vec<_> = s.inbox(t, InboxFilter::default(), all()).await.expect("inbox").items;
    assert_eq!(inbox.into_iter().map(|c| c.id).collect::<Vec<_>>(), vec![kept_comment.id]);
    assert_eq!(s.responses_to(t, kept_comment.id).await.expect("responses"), vec![kept_response]);
    let schedules: Vec<_> = s.list_schedules(t, ScheduleFilter::default(), all()).await.expect("list").items;
    assert_eq!(schedules, vec![kept_schedule.clone()]);
    s.get_post(t, w.post.id).await.expect("the post stays");
    assert_eq!(claim_all(h).await, vec![kept_schedule.id]);
}

/// Deleting a post removes its media and schedules; other posts keep theirs.
pub async fn cascade_delete_post<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let w = world(h).await;
    let s = &*h.store;
    let (t, u) = (w.team.id, w.owner.id);
    let kept = post(h, t, u, Platform::Twitter).await;
    let kept_schedule = schedule(h, t, u, kept.post.id, w.account.id).await;
    let kept = s.get_post(t, kept.post.id).await.expect("the scheduled post");

    s.delete_post(t, w.post.id).await.expect("delete post");
    s.delete_post(t, w.published.post.id).await.expect("delete post with media");

    not_found(s.get_post(t, w.post.id).await, Entity::Post);
    not_found(s.get_post(t, w.published.post.id).await, Entity::Post);
    not_found(s.get_schedule(t, w.schedule.id).await, Entity::Schedule);
    assert!(s.feed(t, all()).await.expect("feed").items.is_empty(), "the published post and its media are gone");
    let posts: Vec<_> = s.list_posts(t, PostFilter::default(), all()).await.expect("list").items;
    assert_eq!(posts, vec![kept.post.clone()]);
    assert_eq!(s.get_post(t, kept.post.id).await.expect("kept"), kept);
    let schedules: Vec<_> = s.list_schedules(t, ScheduleFilter::default(), all()).await.expect("list").items;
    assert_eq!(schedules, vec![kept_schedule.clone()]);
    assert_eq!(claim_all(h).await, vec![kept_schedule.id]);
    s.get_account(t, w.account.id).await.expect("the account stays");
    s.get_comment(t, w.comment.id).await.expect("comments stay");
}
