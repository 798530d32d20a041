//! Social accounts: connect and reconnect (an upsert that keeps the refresh token), references,
//! field rules, updates and the token refresher's look-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{SocialAccountId, TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::secret::Secret;
use crate::validate::rule;

/// A connected account keeps every field given, is active, and is listed and found by id.
pub async fn accounts_connect_and_get<
    S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = new_account(owner.id, Platform::LinkedIn);
    let expires = now(h) + Duration::days(60);
    input.token_expires = Some(expires);
    let platform_id = input.platform_id.clone();
    let a = h.store.connect_account(team.id, input).await.expect("connect");
    assert_eq!((a.team_id, a.user_id, a.platform), (team.id, owner.id, Platform::LinkedIn));
    assert_eq!(a.platform_id, platform_id);
    assert_eq!(a.username, "clientnest");
    assert_eq!(a.access_token, Secret::new("access-token-1"));
    assert_eq!(a.refresh_token, Some(Secret::new("refresh-token-1")));
    assert_eq!(a.token_expires, Some(expires));
    assert_eq!(a.permissions, vec!["publish".to_owned(), "read".to_owned()]);
    assert!(a.is_active);
    assert_eq!(a.created_at, now(h));
    assert_eq!(a.updated_at, a.created_at);
    assert_eq!(h.store.get_account(team.id, a.id).await.expect("get"), a);
    assert_eq!(h.store.list_accounts(team.id, all()).await.expect("list").items, vec![a]);
}

/// Reconnecting (same platform, platform id and team) is an upsert: same id, `created_at` and
/// `user_id`; new handle, tokens, expiry and scopes; active again; the stored refresh token is
/// kept when none is given and replaced when one is.
pub async fn accounts_reconnect_keeps_refresh_token<
    S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let first = account(h, team.id, owner.id, Platform::Facebook).await;
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(team.id, first.id, off).await.expect("deactivate");

    h.time.advance(Duration::hours(1)).await;
    let admin = member(h, team.id, TeamRole::Admin).await;
    let expires = now(h) + Duration::days(30);
    let again = NewSocialAccount {
        user_id: admin.id,
        platform: Platform::Facebook,
        platform_id: first.platform_id.clone(),
        username: "renamed".to_owned(),
        access_token: Secret::new("access-token-2"),
        refresh_token: None,
        token_expires: Some(expires),
        permissions: vec!["publish".to_owned()],
    };
    let second = h.store.connect_account(team.id, again.clone()).await.expect("reconnect");
    assert_eq!(second.id, first.id, "a reconnect keeps the id");
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.user_id, owner.id, "a reconnect keeps the connecting user");
    assert_eq!(second.username, "renamed");
    assert_eq!(second.access_token, Secret::new("access-token-2"));
    assert_eq!(second.refresh_token, Some(Secret::new("refresh-token-1")), "no new refresh token keeps the old");
    assert_eq!(second.token_expires, Some(expires));
    assert_eq!(second.permissions, vec!["publish".to_owned()]);
    assert!(second.is_active, "a reconnect activates the account");
    assert_eq!(second.updated_at, now(h));

    h.time.advance(Duration::minutes(1)).await;
    let third = NewSocialAccount { refresh_token: Some(Secret::new("refresh-token-3")), ..again };
    let third = h.store.connect_account(team.id, third).await.expect("reconnect again");
    assert_eq!(third.id, first.id);
    assert_eq!(third.refresh_token, Some(Secret::new("refresh-token-3")), "a new refresh token replaces the old");
    assert_eq!(h.store.get_account(team.id, first.id).await.expect("get"), third);
    assert_eq!(h.store.list_accounts(team.id, all()).await.expect("list").items.len(), 1, "still one account");
}

/// The same platform account in two teams is two accounts; the same platform id on another
/// platform is another account too.
pub async fn accounts_unique_per_platform_and_team<
    S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner_a, team_a) = owned_team(h).await;
    let (owner_b, team_b) = owned_team(h).await;
    let a = account(h, team_a.id, owner_a.id, Platform::Twitter).await;
    let mut in_b = new_account(owner_b.id, Platform::Twitter);
    in_b.platform_id = a.platform_id.clone();
    let b = h.store.connect_account(team_b.id, in_b).await.expect("same account, other team");
    assert_ne!(a.id, b.id);
    let mut other_platform = new_account(owner_a.id, Platform::TikTok);
    other_platform.platform_id = a.platform_id.clone();
    let c = h.store.connect_account(team_a.id, other_platform).await.expect("same id, other platform");
    assert_ne!(a.id, c.id);
    assert_eq!(h.store.list_accounts(team_a.id, all()).await.expect("list").items.len(), 2);
    assert_eq!(h.store.get_account(team_a.id, a.id).await.expect("get").username, a.username);
}

/// `fk_social_accounts_user` and `fk_social_accounts_team`.
pub async fn accounts_references<S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    missing(
        h.store.connect_account(team.id, new_account(UserId::new(), Platform::Twitter)).await,
        Entity::SocialAccount,
        Entity::User,
        constraint::FK_SOCIAL_ACCOUNTS_USER,
    );
    missing(
        h.store.connect_account(TeamId::new(), new_account(owner.id, Platform::Twitter)).await,
        Entity::SocialAccount,
        Entity::Team,
        constraint::FK_SOCIAL_ACCOUNTS_TEAM,
    );
    assert!(h.store.list_accounts(team.id, all()).await.expect("list").items.is_empty());
}

/// Field rules of a connection, with nothing stored.
pub async fn accounts_field_rules<S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let cases: Vec<Case<NewSocialAccount>> = vec![
        (|a| a.username = repeat('u', 101), "username", rule::MAX_LENGTH),
        (|a| a.platform_id = repeat('p', 101), "platform_id", rule::MAX_LENGTH),
        (|a| a.platform_id = "id\0".to_owned(), "platform_id", rule::NUL_BYTE),
        (|a| a.username = String::new(), "username", rule::REQUIRED),
        (|a| a.access_token = Secret::new(""), "access_token", rule::REQUIRED),
        (|a| a.access_token = Secret::new("tok\0en"), "access_token", rule::NUL_BYTE),
        (|a| a.access_token = Secret::new(repeat('t', 8193)), "access_token", rule::MAX_LENGTH),
        (|a| a.refresh_token = Some(Secret::new(" ")), "refresh_token", rule::REQUIRED),
        (|a| a.token_expires = Some(year(1800)), "token_expires", rule::TIME_RANGE),
        (|a| a.token_expires = Some(year(10_000)), "token_expires", rule::TIME_RANGE),
    ];
    for (break_it, field, broken) in cases {
        let mut input = new_account(owner.id, Platform::Instagram);
        break_it(&mut input);
        invalid(h.store.connect_account(team.id, input).await, field, broken);
    }
    // Validation comes first, even under a missing team.
    let mut both = new_account(owner.id, Platform::Instagram);
    both.username = repeat('u', 101);
    invalid(h.store.connect_account(TeamId::new(), both).await, "username", rule::MAX_LENGTH);
    assert!(h.store.list_accounts(team.id, all()).await.expect("list").items.is_empty(), "nothing stored");
}

/// Updates change the given fields (tokens, expiry, activity) and are checked; deleting removes
/// the account; unknown ids are `NotFound`.
pub async fn accounts_update_and_delete<
    S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = new_account(owner.id, Platform::YouTube);
    input.token_expires = Some(now(h) + Duration::hours(1));
    let a = h.store.connect_account(team.id, input).await.expect("connect");
    h.time.advance(Duration::minutes(3)).await;
    let update = SocialAccountUpdate {
        username: Some("new-handle".to_owned()),
        access_token: Some(Secret::new("rotated")),
        refresh_token: Some(None),
        token_expires: Some(None),
        permissions: Some(vec!["read".to_owned()]),
        is_active: Some(false),
    };
    let changed = h.store.update_account(team.id, a.id, update).await.expect("update");
    assert_eq!(changed.username, "new-handle");
    assert_eq!(changed.access_token, Secret::new("rotated"));
    assert_eq!(changed.refresh_token, None);
    assert_eq!(changed.token_expires, None);
    assert_eq!(changed.permissions, vec!["read".to_owned()]);
    assert!(!changed.is_active);
    assert_eq!(changed.updated_at, now(h));
    assert_eq!(changed.created_at, a.created_at);
    let bad = SocialAccountUpdate { access_token: Some(Secret::new("")), ..SocialAccountUpdate::default() };
    invalid(h.store.update_account(team.id, a.id, bad).await, "access_token", rule::REQUIRED);
    assert_eq!(h.store.get_account(team.id, a.id).await.expect("get"), changed);

    let unknown = SocialAccountId::new();
    not_found(h.store.get_account(team.id, unknown).await, Entity::SocialAccount);
    not_found(h.store.update_account(team.id, unknown, SocialAccountUpdate::default()).await, Entity::SocialAccount);
    not_found(h.store.delete_account(team.id, unknown).await, Entity::SocialAccount);
    h.store.delete_account(team.id, a.id).await.expect("delete");
    not_found(h.store.get_account(team.id, a.id).await, Entity::SocialAccount);
    assert!(h.store.list_accounts(team.id, all()).await.expect("list").items.is_empty());
}

/// `accounts_expiring_before`: active accounts of every team whose token expires strictly
/// before the time, soonest first, at most `limit`.
pub async fn accounts_expiring_before_order<
    S: UserRepository + TeamRepository + SocialAccountRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner_a, team_a) = owned_team(h).await;
    let (owner_b, team_b) = owned_team(h).await;
    let t0 = now(h);
    let connect = |team: TeamId, user: UserId, expires: Option<chrono::DateTime<chrono::Utc>>| {
        let mut input = new_account(user, Platform::Instagram);
        input.token_expires = expires;
        let store = &*h.store;
        async move { store.connect_account(team, input).await.expect("connect") }
    };
    let in_3h = connect(team_a.id, owner_a.id, Some(t0 + Duration::hours(3))).await;
    let in_1h = connect(team_b.id, owner_b.id, Some(t0 + Duration::hours(1))).await;
    let in_2h = connect(team_a.id, owner_a.id, Some(t0 + Duration::hours(2))).await;
    let inactive = connect(team_a.id, owner_a.id, Some(t0 + Duration::minutes(30))).await;
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(team_a.id, inactive.id, off).await.expect("deactivate");
    connect(team_a.id, owner_a.id, None).await;
    connect(team_b.id, owner_b.id, Some(t0 + Duration::hours(4))).await;
    connect(team_b.id, owner_b.id, Some(t0 + Duration::hours(5))).await;

    let before = t0 + Duration::hours(4);
    let ids = |v: Vec<SocialAccount>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let got = h.store.accounts_expiring_before(before, 100).await.expect("expiring");
    assert_eq!(ids(got), vec![in_1h.id, in_2h.id, in_3h.id], "strictly before, soonest first, active only");
    let got = h.store.accounts_expiring_before(before, 2).await.expect("expiring");
    assert_eq!(ids(got), vec![in_1h.id, in_2h.id], "at most `limit`");
    let got = h.store.accounts_expiring_before(t0, 100).await.expect("expiring");
    assert!(got.is_empty());
}
