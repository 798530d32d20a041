//! Acting users belong to the team: the `user_id` of every team-owned input (post author,
//! importer, schedule creator, template and automation author, connecting user of a social
//! account, AI usage, response author) must be an active member of that team (membership
//! `status = active` and user `is_active`) when the write happens. Otherwise the write is refused
//! with `NotAMember { entity, user }` and nothing at all is written. Reference checks come first
//! (the team, then the user must exist: `MissingReference`), membership after them, state and
//! platform checks last.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// Every row of a team that an acting-user write could add or change, as the lists return them.
#[derive(Debug, PartialEq)]
struct Census {
    posts: Vec<Post>,
    accounts: Vec<SocialAccount>,
    templates: Vec<Template>,
    automations: Vec<Automation>,
    usage: Vec<AiUsage>,
    schedules: Vec<Schedule>,
    comments: Vec<Comment>,
    responses: Vec<Response>,
}

/// The team's rows now (responses: those of every comment in the inbox).
async fn census<S: Repositories + ?Sized>(h: &Harness<S>, team: TeamId) -> Census {
    let s = &*h.store;
    let comments = s.inbox(team, InboxFilter::default(), all()).await.expect("inbox").items;
    let mut responses = Vec::new();
    for c in &comments {
        responses.extend(s.responses_to(team, c.id).await.expect("responses"));
    }
    Census {
        posts: s.list_posts(team, PostFilter::default(), all()).await.expect("posts").items,
        accounts: s.list_accounts(team, all()).await.expect("accounts").items,
        templates: s.list_templates(team, TemplateFilter::default(), all()).await.expect("templates").items,
        automations: s.list_automations(team, all()).await.expect("automations").items,
        usage: s.list_ai_usage(team, all()).await.expect("ai usage").items,
        schedules: s.list_schedules(team, ScheduleFilter::default(), all()).await.expect("schedules").items,
        comments,
        responses,
    }
}

/// A write with an acting user, by name (for messages).
type Write = (&'static str, Entity, crate::error::Result<()>);

/// Every team-owned write whose input names an acting user, by `user` in the world's team:
/// create and import a post, connect a new account and reconnect the world's one, create a
/// template, an automation, a schedule of the world's post on its account, record AI usage,
/// draft and send a response to the world's comment.
async fn write_as<S: Repositories + ?Sized>(h: &Harness<S>, w: &World, user: UserId) -> Vec<Write> {
    let s = &*h.store;
    let team = w.team.id;
    let mut reconnect = new_account(user, w.account.platform);
    reconnect.platform_id = w.account.platform_id.clone();
    reconnect.access_token = crate::secret::Secret::new("stolen-access-token");
    let imported = ImportedPost { post: new_post_for(user, Platform::Twitter), created_at: now(h) - Duration::days(1) };
    let at = now(h) + Duration::hours(2);
    let usage = new_usage(user, FeatureType::ContentGeneration, 10, Decimal::new(1, 2));
    vec![
        ("create_post", Entity::Post, s.create_post(team, new_post_for(user, Platform::Twitter)).await.map(drop)),
        ("import_posts", Entity::Post, s.import_posts(team, vec![imported]).await.map(drop)),
        (
            "connect_account",
            Entity::SocialAccount,
            s.connect_account(team, new_account(user, Platform::LinkedIn)).await.map(drop),
        ),
        ("connect_account (reconnect)", Entity::SocialAccount, s.connect_account(team, reconnect).await.map(drop)),
        (
            "create_template",
            Entity::Template,
            s.create_template(team, new_template(user, "promo", false)).await.map(drop),
        ),
        ("create_automation", Entity::Automation, s.create_automation(team, new_automation(user)).await.map(drop)),
        ("record_ai_usage", Entity::AiUsage, s.record_ai_usage(team, usage).await.map(drop)),
        (
            "create_schedule",
            Entity::Schedule,
            s.create_schedule(team, new_schedule(user, w.published.post.id, w.account.id, at)).await.map(drop),
        ),
        ("draft_response", Entity::Response, s.draft_response(team, new_response(w.comment.id, user)).await.map(drop)),
        ("send_response", Entity::Response, s.send_response(team, new_response(w.comment.id, user)).await.map(drop)),
    ]
}

/// Assert every write was refused with `NotAMember` naming its entity and `user`.
#[track_caller]
fn all_refused(writes: Vec<Write>, user: UserId) {
    for (name, entity, result) in writes {
        match result {
            Err(crate::Error::NotAMember { entity: e, user: u }) if e == entity && u == user.to_string() => {}
            other => panic!("{name}: expected NotAMember {{ entity: {entity}, user: {user} }}, got {other:?}"),
        }
    }
}

/// Assert every write succeeded.
#[track_caller]
fn all_allowed(writes: Vec<Write>) {
    for (name, _, result) in writes {
        if let Err(e) = result {
            panic!("{name}: an active member may write, got {e:?}");
        }
    }
}

/// The story of the defect: a user of team B tries to author rows in team A. Every write is
/// `NotAMember` and team A is unchanged; deleting B's user then removes nothing of team A.
pub async fn membership_outsider_refused_and_deleting_them_keeps_other_teams<S: Repositories + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let a = world(h).await;
    let (b_owner, b) = owned_team(h).await;
    let before = census(h, a.team.id).await;
    all_refused(write_as(h, &a, b_owner.id).await, b_owner.id);
    assert_eq!(census(h, a.team.id).await, before, "a refused write stores nothing in team A");
    let comment = h.store.get_comment(a.team.id, a.comment.id).await.expect("comment");
    assert_eq!(comment.status, CommentStatus::New, "a refused send does not mark the comment replied");

    h.store.delete_user(b_owner.id).await.expect("delete B's user");
    gone(h.store.get_team(b.id).await);
    assert_eq!(census(h, a.team.id).await, before, "deleting B's user removes nothing of team A");
    let s = &*h.store;
    s.get_team(a.team.id).await.expect("team A stays");
    s.get_post(a.team.id, a.post.id).await.expect("A's post stays");
    s.get_post(a.team.id, a.published.post.id).await.expect("A's published post stays");
    s.get_schedule(a.team.id, a.schedule.id).await.expect("A's schedule stays");
    s.get_billing(a.team.id, a.billing.id).await.expect("A's billing stays");
    s.get_webhook(a.owner.id, a.webhook.id).await.expect("A's owner's webhook stays");
    let members: Vec<UserId> =
        s.list_members(a.team.id, all()).await.expect("members").items.into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, vec![a.owner.id]);
}

/// An active member may write everything; once removed, every write is `NotAMember` and nothing
/// is stored. Rows written while a member stay.
pub async fn membership_removed_member_refused<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let editor = member(h, a.team.id, TeamRole::Editor).await;
    all_allowed(write_as(h, &a, editor.id).await);
    let before = census(h, a.team.id).await;
    assert!(before.posts.iter().any(|p| p.user_id == editor.id), "the member's posts are stored");

    h.store.remove_member(a.team.id, editor.id).await.expect("remove member");
    all_refused(write_as(h, &a, editor.id).await, editor.id);
    assert_eq!(census(h, a.team.id).await, before, "a removed member's writes store nothing");
}

/// Only an `active` membership counts: `invited` and `suspended` members are refused until
/// their status becomes `active` again.
pub async fn membership_status_must_be_active<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let s = &*h.store;
    let invited = user(h).await;
    let mut invitation = NewTeamMember::new(invited.id, TeamRole::Editor);
    invitation.status = MemberStatus::Invited;
    s.add_member(a.team.id, invitation).await.expect("invite");
    let before = census(h, a.team.id).await;
    all_refused(write_as(h, &a, invited.id).await, invited.id);
    assert_eq!(census(h, a.team.id).await, before, "an invited member's writes store nothing");

    let accept = TeamMemberUpdate { status: Some(MemberStatus::Active), ..TeamMemberUpdate::default() };
    s.update_member(a.team.id, invited.id, accept.clone()).await.expect("accept");
    all_allowed(write_as(h, &a, invited.id).await);

    let suspend = TeamMemberUpdate { status: Some(MemberStatus::Suspended), ..TeamMemberUpdate::default() };
    s.update_member(a.team.id, invited.id, suspend).await.expect("suspend");
    let before = census(h, a.team.id).await;
    all_refused(write_as(h, &a, invited.id).await, invited.id);
    assert_eq!(census(h, a.team.id).await, before, "a suspended member's writes store nothing");

    s.update_member(a.team.id, invited.id, accept).await.expect("reinstate");
    s.create_post(a.team.id, new_post_for(invited.id, Platform::Twitter)).await.expect("active again");
}

/// A deactivated user (`is_active = false`) is not an active member of any team, not even of
/// the team they own, until reactivated.
pub async fn membership_deactivated_user_refused<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let s = &*h.store;
    let editor = member(h, a.team.id, TeamRole::Editor).await;
    let off = UserUpdate { is_active: Some(false), ..UserUpdate::default() };
    s.update_user(editor.id, off.clone()).await.expect("deactivate member");
    s.update_user(a.owner.id, off).await.expect("deactivate owner");
    let before = census(h, a.team.id).await;
    all_refused(write_as(h, &a, editor.id).await, editor.id);
    all_refused(write_as(h, &a, a.owner.id).await, a.owner.id);
    assert_eq!(census(h, a.team.id).await, before, "a deactivated user's writes store nothing");

    let on = UserUpdate { is_active: Some(true), ..UserUpdate::default() };
    s.update_user(editor.id, on).await.expect("reactivate");
    all_allowed(write_as(h, &a, editor.id).await);
}

/// The order of checks is the same in every backend: validation, then the team and the user
/// must exist (`MissingReference`), then membership (`NotAMember`); for a schedule the post and
/// account references come before membership, and the account's state and the platform fit
/// after it.
pub async fn membership_checked_after_references<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (outsider, _) = owned_team(h).await;
    let s = &*h.store;
    let team = a.team.id;
    let before = census(h, team).await;

    // Validation first, even for an outsider.
    invalid(s.create_post(team, NewPost::draft(outsider.id, "")).await, "content", rule::REQUIRED);
    let mut nameless = new_template(outsider.id, "promo", false);
    nameless.name = String::new();
    invalid(s.create_template(team, nameless).await, "name", rule::REQUIRED);

    // A missing team or user is a missing reference, not a membership problem.
    let ghost = UserId::new();
    missing(
        s.create_post(TeamId::new(), new_post_for(outsider.id, Platform::Twitter)).await,
        Entity::Post,
        Entity::Team,
        constraint::FK_POSTS_TEAM,
    );
    missing(
        s.create_post(team, new_post_for(ghost, Platform::Twitter)).await,
        Entity::Post,
        Entity::User,
        constraint::FK_POSTS_USER,
    );
    missing(
        s.connect_account(team, new_account(ghost, Platform::LinkedIn)).await,
        Entity::SocialAccount,
        Entity::User,
        constraint::FK_SOCIAL_ACCOUNTS_USER,
    );
    let mut reconnect = new_account(ghost, a.account.platform);
    reconnect.platform_id = a.account.platform_id.clone();
    missing(
        s.connect_account(team, reconnect).await,
        Entity::SocialAccount,
        Entity::User,
        constraint::FK_SOCIAL_ACCOUNTS_USER,
    );
    missing(
        s.create_template(team, new_template(ghost, "promo", false)).await,
        Entity::Template,
        Entity::User,
        constraint::FK_TEMPLATES_USER,
    );
    missing(
        s.create_automation(team, new_automation(ghost)).await,
        Entity::Automation,
        Entity::User,
        constraint::FK_AUTOMATIONS_USER,
    );
    missing(
        s.record_ai_usage(team, new_usage(ghost, FeatureType::ContentGeneration, 1, Decimal::ZERO)).await,
        Entity::AiUsage,
        Entity::User,
        constraint::FK_AI_USAGE_USER,
    );
    missing(
        s.draft_response(team, new_response(a.comment.id, ghost)).await,
        Entity::Response,
        Entity::User,
        constraint::FK_RESPONSES_USER,
    );
    let at = now(h) + Duration::hours(2);
    missing(
        s.create_schedule(team, new_schedule(ghost, a.post.id, a.account.id, at)).await,
        Entity::Schedule,
        Entity::User,
        constraint::FK_SCHEDULES_USER,
    );

    // The comment, post and account of an outsider's write are references too: checked first.
    missing(
        s.send_response(team, new_response(crate::ids::CommentId::new(), outsider.id)).await,
        Entity::Response,
        Entity::Comment,
        constraint::FK_RESPONSES_COMMENT,
    );
    missing(
        s.create_schedule(team, new_schedule(outsider.id, crate::ids::PostId::new(), a.account.id, at)).await,
        Entity::Schedule,
        Entity::Post,
        constraint::FK_SCHEDULES_POST,
    );

    // Membership before the account's state: an outsider on an inactive account is NotAMember.
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    s.update_account(team, a.account.id, off).await.expect("deactivate account");
    let before = Census { accounts: census(h, team).await.accounts, ..before };
    match s.create_schedule(team, new_schedule(outsider.id, a.post.id, a.account.id, at)).await {
        Err(crate::Error::NotAMember { entity: Entity::Schedule, user }) if user == outsider.id.to_string() => {}
        other => panic!("expected NotAMember on the schedule, got {other:?}"),
    }
    invalid_state(
        s.create_schedule(team, new_schedule(a.owner.id, a.post.id, a.account.id, at)).await,
        Entity::SocialAccount,
    );
    assert_eq!(census(h, team).await, before, "refused writes store nothing");
}

/// `import_posts` is all or nothing: one author who is not an active member refuses the whole
/// batch with `NotAMember` naming the first such author in input order; a missing author is
/// `MissingReference` even when an earlier author is not a member (references first).
pub async fn membership_import_all_or_nothing<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (outsider, _) = owned_team(h).await;
    let (second, _) = owned_team(h).await;
    let editor = member(h, a.team.id, TeamRole::Editor).await;
    let s = &*h.store;
    let base = now(h) - Duration::days(10);
    let by = |user: UserId, i: i64| ImportedPost {
        post: new_post_for(user, Platform::Twitter),
        created_at: base + Duration::days(i),
    };
    let before = census(h, a.team.id).await;

    let batch = vec![by(a.owner.id, 0), by(editor.id, 1), by(outsider.id, 2), by(second.id, 3)];
    match s.import_posts(a.team.id, batch).await {
        Err(crate::Error::NotAMember { entity: Entity::Post, user }) if user == outsider.id.to_string() => {}
        other => panic!("expected NotAMember naming the first outsider, got {other:?}"),
    }
    let batch = vec![by(a.owner.id, 0), by(outsider.id, 1), by(UserId::new(), 2)];
    missing(s.import_posts(a.team.id, batch).await, Entity::Post, Entity::User, constraint::FK_POSTS_USER);
    assert_eq!(census(h, a.team.id).await, before, "a refused import stores nothing");

    s.remove_member(a.team.id, editor.id).await.expect("remove member");
    match s.import_posts(a.team.id, vec![by(a.owner.id, 0), by(editor.id, 1)]).await {
        Err(crate::Error::NotAMember { entity: Entity::Post, user }) if user == editor.id.to_string() => {}
        other => panic!("expected NotAMember naming the removed member, got {other:?}"),
    }
    assert_eq!(census(h, a.team.id).await, before, "a refused import stores nothing");

    let joined = member(h, a.team.id, TeamRole::Viewer).await;
    let batch = vec![by(a.owner.id, 0), by(joined.id, 1), by(joined.id, 2)];
    assert_eq!(s.import_posts(a.team.id, batch).await.expect("members import"), 3);
    let authors: Vec<UserId> = s
        .list_posts(a.team.id, PostFilter::default(), all())
        .await
        .expect("posts")
        .items
        .into_iter()
        .filter(|p| p.created_at <= base + Duration::days(2))
        .map(|p| p.user_id)
        .collect();
    assert_eq!(authors, vec![joined.id, joined.id, a.owner.id]);
}

/// Reconnecting a team's account is a write by the connecting user: an active member may, and
/// the account keeps its original `user_id`; an outsider's reconnect changes nothing (tokens
/// included).
pub async fn membership_reconnect_by_member_only<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let a = world(h).await;
    let (outsider, _) = owned_team(h).await;
    let editor = member(h, a.team.id, TeamRole::Editor).await;
    let s = &*h.store;
    let again = |user: UserId, token: &str| {
        let mut input = new_account(user, a.account.platform);
        input.platform_id = a.account.platform_id.clone();
        input.access_token = crate::secret::Secret::new(token);
        input
    };
    match s.connect_account(a.team.id, again(outsider.id, "outsider-token")).await {
        Err(crate::Error::NotAMember { entity: Entity::SocialAccount, user }) if user == outsider.id.to_string() => {}
        other => panic!("expected NotAMember, got {other:?}"),
    }
    let kept = s.get_account(a.team.id, a.account.id).await.expect("account");
    assert_eq!(kept, a.account, "a refused reconnect changes nothing");

    let renewed = s.connect_account(a.team.id, again(editor.id, "editor-token")).await.expect("member reconnects");
    assert_eq!(renewed.id, a.account.id);
    assert_eq!(renewed.user_id, a.owner.id, "reconnect keeps the connecting user of the first connect");
    assert_eq!(renewed.access_token.expose(), "editor-token");
}
