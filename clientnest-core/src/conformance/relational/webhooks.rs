//! Webhooks, owned by users: create with a secret, field rules, updates, the delivery worker's
//! look-up by event and the trigger time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{UserId, WebhookId};
use crate::model::*;
use crate::ports::*;
use crate::secret::Secret;
use crate::validate::rule;

/// Create, get, list, update (secret rotation) and delete a webhook.
pub async fn webhooks_crud<S: UserRepository + WebhookRepository + ?Sized + 'static>(h: &Harness<S>) {
    let u = user(h).await;
    let input = new_webhook(Platform::Instagram, "comment.created");
    let secret = input.secret_key.clone();
    let w = h.store.create_webhook(u.id, input).await.expect("create");
    assert_eq!((w.user_id, w.platform, w.event_type.as_str()), (u.id, Platform::Instagram, "comment.created"));
    assert_eq!(w.endpoint_url, "https://hooks.example.com/clientnest");
    assert_eq!(w.secret_key, secret, "the secret reads back as given");
    assert!(w.is_active);
    assert_eq!((w.last_triggered, w.created_at, w.updated_at), (None, now(h), now(h)));
    assert_eq!(h.store.get_webhook(u.id, w.id).await.expect("get"), w);
    tick(h).await;
    let second = h.store.create_webhook(u.id, new_webhook(Platform::Twitter, "mention")).await.expect("create");
    let listed: Vec<WebhookId> =
        h.store.list_webhooks(u.id, all()).await.expect("list").items.into_iter().map(|w| w.id).collect();
    assert_eq!(listed, vec![second.id, w.id]);

    h.time.advance(Duration::minutes(1)).await;
    let update = WebhookUpdate {
        endpoint_url: Some("https://hooks.example.com/v2".to_owned()),
        secret_key: Some(Secret::new("whsec_rotated_0123456789abcdefghijkl")),
        is_active: Some(false),
        ..WebhookUpdate::default()
    };
    let changed = h.store.update_webhook(u.id, w.id, update).await.expect("update");
    assert_eq!(changed.endpoint_url, "https://hooks.example.com/v2");
    assert_eq!(changed.secret_key, Secret::new("whsec_rotated_0123456789abcdefghijkl"));
    assert!(!changed.is_active);
    assert_eq!((changed.event_type.as_str(), changed.created_at), ("comment.created", w.created_at));
    assert_eq!(changed.updated_at, now(h));
    let bad = WebhookUpdate { endpoint_url: Some("ftp://x.example.com".to_owned()), ..WebhookUpdate::default() };
    invalid(h.store.update_webhook(u.id, w.id, bad).await, "endpoint_url", rule::URL);
    assert_eq!(h.store.get_webhook(u.id, w.id).await.expect("get"), changed);

    h.store.delete_webhook(u.id, w.id).await.expect("delete");
    not_found(h.store.get_webhook(u.id, w.id).await, Entity::Webhook);
    not_found(h.store.update_webhook(u.id, w.id, WebhookUpdate::default()).await, Entity::Webhook);
    not_found(h.store.delete_webhook(u.id, w.id).await, Entity::Webhook);
}

/// Field rules and the owner reference (`fk_webhooks_user`), with nothing stored.
pub async fn webhooks_rules_and_references<S: UserRepository + WebhookRepository + ?Sized + 'static>(h: &Harness<S>) {
    let u = user(h).await;
    let cases: Vec<Case<NewWebhook>> = vec![
        (|w| w.endpoint_url = "ftp://hooks.example.com".to_owned(), "endpoint_url", rule::URL),
        (|w| w.endpoint_url = "https://hooks.example.com/a b".to_owned(), "endpoint_url", rule::URL),
        (|w| w.event_type = repeat('e', 51), "event_type", rule::MAX_LENGTH),
        (|w| w.event_type = "a\0".to_owned(), "event_type", rule::NUL_BYTE),
        (|w| w.secret_key = Secret::new(""), "secret_key", rule::REQUIRED),
        (|w| w.secret_key = Secret::new(repeat('s', 101)), "secret_key", rule::MAX_LENGTH),
    ];
    for (break_it, field, broken) in cases {
        let mut input = new_webhook(Platform::Facebook, "comment.created");
        break_it(&mut input);
        invalid(h.store.create_webhook(u.id, input).await, field, broken);
    }
    missing(
        h.store.create_webhook(UserId::new(), new_webhook(Platform::Facebook, "comment.created")).await,
        Entity::Webhook,
        Entity::User,
        constraint::FK_WEBHOOKS_USER,
    );
    assert!(h.store.list_webhooks(u.id, all()).await.expect("list").items.is_empty(), "nothing stored");
}

/// `webhooks_for_event`: active webhooks of every user for a platform's event, oldest first;
/// `record_webhook_triggered` stores the delivery time.
pub async fn webhooks_for_event_and_triggered<S: UserRepository + WebhookRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (a, b) = (user(h).await, user(h).await);
    let create = |user: UserId, platform: Platform, event: &'static str| {
        let store = &*h.store;
        async move { store.create_webhook(user, new_webhook(platform, event)).await.expect("create") }
    };
    let first = create(a.id, Platform::Instagram, "comment.created").await;
    tick(h).await;
    let second = create(b.id, Platform::Instagram, "comment.created").await;
    tick(h).await;
    let inactive = create(a.id, Platform::Instagram, "comment.created").await;
    let off = WebhookUpdate { is_active: Some(false), ..WebhookUpdate::default() };
    h.store.update_webhook(a.id, inactive.id, off).await.expect("deactivate");
    create(a.id, Platform::Facebook, "comment.created").await;
    create(b.id, Platform::Instagram, "mention").await;

    let ids = |v: Vec<Webhook>| v.into_iter().map(|w| w.id).collect::<Vec<WebhookId>>();
    let got = h.store.webhooks_for_event(Platform::Instagram, "comment.created").await.expect("for event");
    assert_eq!(ids(got), vec![first.id, second.id]);
    let got = h.store.webhooks_for_event(Platform::Twitter, "comment.created").await.expect("for event");
    assert!(got.is_empty());

    let at = now(h) - Duration::seconds(5);
    h.store.record_webhook_triggered(second.id, at).await.expect("record");
    assert_eq!(h.store.get_webhook(b.id, second.id).await.expect("get").last_triggered, Some(at));
    assert_eq!(h.store.get_webhook(a.id, first.id).await.expect("get").last_triggered, None);
    not_found(h.store.record_webhook_triggered(WebhookId::new(), at).await, Entity::Webhook);
}
