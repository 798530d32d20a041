//! Secrets: webhook signing secrets have at least 32 bytes in every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::fixtures::*;
use crate::conformance::Harness;
use crate::error::Error;
use crate::model::*;
use crate::ports::*;
use crate::secret::Secret;

/// A webhook secret shorter than 32 bytes is refused on create and on update (a validation
/// error naming `secret_key`), and nothing changes.
pub async fn webhooks_short_secret_refused<S: UserRepository + WebhookRepository + ?Sized + 'static>(h: &Harness<S>) {
    let u = user(h).await;
    let short = Secret::new("s".repeat(31));
    let input = NewWebhook { secret_key: short.clone(), ..new_webhook(Platform::Instagram, "comment.created") };
    match h.store.create_webhook(u.id, input).await {
        Err(Error::Validation(v)) => assert!(v.0.iter().any(|e| e.field == "secret_key"), "{v}"),
        other => panic!("a 31-byte secret was not refused: {other:?}"),
    }
    assert!(h.store.list_webhooks(u.id, all()).await.expect("list").items.is_empty(), "nothing stored");

    let w = h.store.create_webhook(u.id, new_webhook(Platform::Instagram, "comment.created")).await.expect("create");
    let update = WebhookUpdate { secret_key: Some(short), ..WebhookUpdate::default() };
    match h.store.update_webhook(u.id, w.id, update).await {
        Err(Error::Validation(v)) => assert!(v.0.iter().any(|e| e.field == "secret_key"), "{v}"),
        other => panic!("a 31-byte secret was not refused on update: {other:?}"),
    }
    assert_eq!(h.store.get_webhook(u.id, w.id).await.expect("get"), w, "the refused update changed nothing");
    let exact = WebhookUpdate { secret_key: Some(Secret::new("s".repeat(32))), ..WebhookUpdate::default() };
    assert_eq!(h.store.update_webhook(u.id, w.id, exact).await.expect("32 bytes").secret_key.len(), 32);
}
