//! Users: creation defaults, the case-insensitive email rule, field checks and updates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::error::Entity;
use crate::ids::UserId;
use crate::model::*;
use crate::ports::*;
use crate::secret::PasswordHash;
use crate::validate::rule;
use crate::{constraint, model};

/// A new user gets the seed's defaults, the clock's time, and is found by id and by email in
/// any case.
pub async fn users_create_get_and_find_by_email<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let mut input = new_user();
    input.timezone = "Europe/Paris".to_owned();
    input.avatar_url = Some("https://cdn.example.com/ada.png".to_owned());
    input.preferences = serde_json::json!({ "theme": "dark" });
    let email = input.email.clone();
    let u = h.store.create_user(input).await.expect("create user");
    assert_eq!(u.email, email);
    assert_eq!(u.password_hash, password_hash());
    assert_eq!((u.first_name.as_str(), u.last_name.as_str()), ("Ada", "Lovelace"));
    assert_eq!(u.timezone, "Europe/Paris");
    assert_eq!(u.avatar_url.as_deref(), Some("https://cdn.example.com/ada.png"));
    assert_eq!(u.preferences, serde_json::json!({ "theme": "dark" }));
    assert!(u.is_active, "users are active by default");
    assert!(!u.email_verified, "emails are unverified by default");
    assert_eq!(u.last_login, None);
    assert_eq!(u.created_at, now(h));
    assert_eq!(u.updated_at, u.created_at);

    assert_eq!(h.store.get_user(u.id).await.expect("get user"), u);
    let upper = email.to_uppercase();
    assert_eq!(h.store.find_user_by_email(&upper).await.expect("find by email"), Some(u.clone()));
    assert_eq!(h.store.find_user_by_email(&unique_email()).await.expect("find unknown"), None);
}

/// `uq_users_email` holds regardless of case, on create and on update, and a refused call
/// changes nothing.
pub async fn users_email_unique_regardless_of_case<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let first = user(h).await;
    let mut same = new_user();
    same.email = first.email.to_uppercase();
    conflict(h.store.create_user(same).await, Entity::User, constraint::UQ_USERS_EMAIL);

    let second = user(h).await;
    let update = UserUpdate { email: Some(first.email.to_uppercase()), ..UserUpdate::default() };
    conflict(h.store.update_user(second.id, update).await, Entity::User, constraint::UQ_USERS_EMAIL);
    assert_eq!(h.store.get_user(second.id).await.expect("get"), second, "a refused update changes nothing");

    // A user may change the case of their own email.
    let own = UserUpdate { email: Some(first.email.to_uppercase()), ..UserUpdate::default() };
    let changed = h.store.update_user(first.id, own).await.expect("own email in another case");
    assert_eq!(changed.email, first.email.to_uppercase());

    // Once a user changed email, the old one is free again.
    let moved = UserUpdate { email: Some(unique_email()), ..UserUpdate::default() };
    h.store.update_user(second.id, moved).await.expect("change email");
    let mut reuse = new_user();
    reuse.email = second.email.clone();
    h.store.create_user(reuse).await.expect("a released email can be taken");
}

/// `chk_users_email_format` on create and on update; nothing is stored.
pub async fn users_email_format_checked<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    for bad in ["no-at.example.com", "a@b.c", "two words@example.com", "a@example"] {
        let mut input = new_user();
        input.email = bad.to_owned();
        invalid(h.store.create_user(input).await, "email", rule::EMAIL);
        assert_eq!(h.store.find_user_by_email(bad).await.expect("find"), None, "{bad} was not stored");
    }
    let u = user(h).await;
    let update = UserUpdate { email: Some("broken".to_owned()), ..UserUpdate::default() };
    invalid(h.store.update_user(u.id, update).await, "email", rule::EMAIL);
    assert_eq!(h.store.get_user(u.id).await.expect("get"), u);
}

/// Lengths count characters, and every other field rule names its field; nothing is stored.
pub async fn users_field_rules<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let cases: Vec<Case<NewUser>> = vec![
        (|u| u.first_name = repeat('a', 51), "first_name", rule::MAX_LENGTH),
        (|u| u.last_name = repeat('é', 51), "last_name", rule::MAX_LENGTH),
        (|u| u.first_name = "  ".to_owned(), "first_name", rule::REQUIRED),
        (|u| u.last_name = "Love\0lace".to_owned(), "last_name", rule::NUL_BYTE),
        (|u| u.avatar_url = Some("ftp://cdn.example.com/a.png".to_owned()), "avatar_url", rule::URL),
        (|u| u.avatar_url = Some("not a url".to_owned()), "avatar_url", rule::URL),
        (|u| u.timezone = "Mars/Olympus".to_owned(), "timezone", rule::TIMEZONE),
        (|u| u.timezone = "+02:00".to_owned(), "timezone", rule::TIMEZONE),
        (|u| u.email = format!("{}@example.com", repeat('a', 250)), "email", rule::MAX_LENGTH),
        (|u| u.password_hash = PasswordHash::from_phc("plaintext"), "password_hash", rule::PASSWORD_HASH),
        (|u| u.preferences = serde_json::json!({ "k": "a\0b" }), "preferences", rule::NUL_BYTE),
    ];
    for (break_it, field, broken) in cases {
        let mut input = new_user();
        break_it(&mut input);
        let email = input.email.clone();
        invalid(h.store.create_user(input).await, field, broken);
        assert_eq!(h.store.find_user_by_email(&email).await.expect("find"), None, "nothing stored ({field})");
    }

    let mut emoji = new_user();
    emoji.first_name = repeat('😀', 50);
    let u = h.store.create_user(emoji).await.expect("50 characters fit, whatever their byte length");
    assert_eq!(u.first_name.chars().count(), 50);
}

/// Updates are checked too: sign-in times outside 1900..=9999, long names, bad zones.
pub async fn users_update_rules<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let u = user(h).await;
    let cases: Vec<(UserUpdate, &str, &str)> = vec![
        (UserUpdate { last_login: Some(year(10_000)), ..UserUpdate::default() }, "last_login", rule::TIME_RANGE),
        (UserUpdate { last_login: Some(year(1800)), ..UserUpdate::default() }, "last_login", rule::TIME_RANGE),
        (UserUpdate { first_name: Some(repeat('x', 51)), ..UserUpdate::default() }, "first_name", rule::MAX_LENGTH),
        (
            UserUpdate { timezone: Some("Europe/Atlantis".to_owned()), ..UserUpdate::default() },
            "timezone",
            rule::TIMEZONE,
        ),
        (
            UserUpdate { avatar_url: Some(Some("javascript:alert(1)".to_owned())), ..UserUpdate::default() },
            "avatar_url",
            rule::URL,
        ),
    ];
    for (update, field, broken) in cases {
        invalid(h.store.update_user(u.id, update).await, field, broken);
    }
    assert_eq!(h.store.get_user(u.id).await.expect("get"), u, "refused updates change nothing");

    // Validation comes before the existence check.
    let bad = UserUpdate { email: Some("broken".to_owned()), ..UserUpdate::default() };
    invalid(h.store.update_user(UserId::new(), bad).await, "email", rule::EMAIL);
}

/// An update changes the given fields only, clears with `Some(None)` and stamps `updated_at`.
pub async fn users_update_applies_patch<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let mut input = new_user();
    input.avatar_url = Some("https://cdn.example.com/a.png".to_owned());
    let u = h.store.create_user(input).await.expect("create");
    h.time.advance(Duration::minutes(5)).await;
    let login = now(h) - Duration::seconds(30);
    let update = UserUpdate {
        first_name: Some("Augusta".to_owned()),
        avatar_url: Some(None),
        email_verified: Some(true),
        is_active: Some(false),
        last_login: Some(login),
        preferences: Some(serde_json::json!({ "lang": "en" })),
        ..UserUpdate::default()
    };
    let changed = h.store.update_user(u.id, update).await.expect("update");
    assert_eq!(changed.first_name, "Augusta");
    assert_eq!(changed.last_name, u.last_name, "untouched fields stay");
    assert_eq!(changed.email, u.email);
    assert_eq!(changed.avatar_url, None);
    assert!(changed.email_verified);
    assert!(!changed.is_active);
    assert_eq!(changed.last_login, Some(login));
    assert_eq!(changed.preferences, serde_json::json!({ "lang": "en" }));
    assert_eq!(changed.created_at, u.created_at);
    assert_eq!(changed.updated_at, now(h));
    assert_eq!(h.store.get_user(u.id).await.expect("get"), changed);
}

/// Unknown ids are `NotFound` for get, update and delete; a deleted user is gone and their email
/// is free.
pub async fn users_not_found_and_delete<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let unknown = UserId::new();
    not_found(h.store.get_user(unknown).await, Entity::User);
    not_found(h.store.update_user(unknown, UserUpdate::default()).await, Entity::User);
    not_found(h.store.delete_user(unknown).await, Entity::User);

    let u = user(h).await;
    h.store.delete_user(u.id).await.expect("delete");
    not_found(h.store.get_user(u.id).await, Entity::User);
    assert_eq!(h.store.find_user_by_email(&u.email).await.expect("find"), None);
    not_found(h.store.delete_user(u.id).await, Entity::User);
    let mut again = new_user();
    again.email = u.email.clone();
    h.store.create_user(again).await.expect("the email of a deleted user is free");
}

/// Concurrent sign-ups with one email: exactly one wins, the others get `uq_users_email`.
pub async fn users_concurrent_same_email<S: UserRepository + ?Sized + 'static>(h: &Harness<S>) {
    let email = unique_email();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&h.store);
        let mut input = new_user();
        input.email = if i % 2 == 0 { email.clone() } else { email.to_uppercase() };
        tasks.push(tokio::spawn(async move { store.create_user(input).await }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => created += 1,
            Err(e) => conflict::<model::User>(Err(e), Entity::User, constraint::UQ_USERS_EMAIL),
        }
    }
    assert_eq!(created, 1, "exactly one sign-up wins");
}
