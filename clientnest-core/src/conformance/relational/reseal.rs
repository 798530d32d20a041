//! The re-seal sweep ([`SecretReseal`]): paged in id order, resumable from a saved cursor,
//! idempotent, and it changes no data. Registered by
//! [`reseal_conformance!`](crate::reseal_conformance), not by
//! [`relational_conformance!`](crate::relational_conformance): the sweep is an optional ability,
//! apart from [`Repositories`]. A backend whose sweep needs a setup of its own calls
//! [`reseal_sweep_pages_and_resumes`] itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::error::Error;
use crate::model::*;
use crate::ports::*;

/// Run a sweep from `from` to its end in pages of `limit`, adding up the progress.
pub async fn sweep<S: SecretReseal + ?Sized>(store: &S, from: ResealCursor, limit: u32) -> ResealProgress {
    let mut total = ResealProgress::default();
    let mut at = Some(from);
    let mut pages = 0;
    while let Some(cursor) = at {
        let page = store.reseal_secrets(cursor, limit).await.expect("a re-seal page");
        assert!(page.scanned <= u64::from(limit), "a page visits at most `limit` rows");
        total.scanned += page.scanned;
        total.resealed += page.resealed;
        total.unreadable += page.unreadable;
        at = page.next;
        pages += 1;
        assert!(pages < 10_000, "the sweep ends");
    }
    total
}

/// A sweep over a fresh store in pages of 2, interrupted after its first page and resumed
/// from the cursor's text form, visits every account and webhook exactly once, reads nothing
/// as unreadable and changes no data; a second sweep re-seals nothing; bad limits and cursors
/// are refused.
pub async fn reseal_sweep_pages_and_resumes<
    S: UserRepository + TeamRepository + SocialAccountRepository + WebhookRepository + SecretReseal + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let owner = user(h).await;
    let t = team(h, &owner).await;
    let mut accounts = Vec::new();
    for platform in [Platform::Facebook, Platform::Instagram, Platform::Twitter] {
        accounts.push(h.store.connect_account(t.id, new_account(owner.id, platform)).await.expect("connect"));
    }
    let mut hooks = Vec::new();
    for event in ["comment.created", "mention"] {
        hooks.push(h.store.create_webhook(owner.id, new_webhook(Platform::Facebook, event)).await.expect("webhook"));
    }

    // The first page, then an interruption: only the cursor's text survives.
    let first = h.store.reseal_secrets(ResealCursor::start(), 2).await.expect("first page");
    assert_eq!(first.scanned, 2, "a full first page");
    let saved = first.next.expect("more to do").to_string();
    assert!(saved.starts_with("social_accounts:"), "{saved}");
    let resumed: ResealCursor = saved.parse().expect("the cursor parses back");
    assert_eq!(Some(resumed), first.next);
    let rest = sweep(&*h.store, resumed, 2).await;
    assert_eq!(first.scanned + rest.scanned, 5, "three accounts and two webhooks, each once");
    assert_eq!(first.unreadable + rest.unreadable, 0);

    // Nothing changed but (maybe) the ciphertext.
    for a in &accounts {
        assert_eq!(&h.store.get_account(t.id, a.id).await.expect("account"), a, "the account reads the same");
    }
    for w in &hooks {
        assert_eq!(&h.store.get_webhook(owner.id, w.id).await.expect("webhook"), w, "the webhook reads the same");
    }

    // Idempotent: a second sweep (in pages of one) re-seals nothing and sees the same rows.
    let again = sweep(&*h.store, ResealCursor::start(), 1).await;
    assert_eq!((again.scanned, again.resealed, again.unreadable), (5, 0, 0));

    // Each cursor names a table and the last id done in it.
    let page = h.store.reseal_secrets(ResealCursor::at(ResealTable::Webhooks, None), 1000).await.expect("webhooks");
    assert_eq!((page.scanned, page.next), (2, None), "the last table ends the sweep");
    let ids: HashSet<_> = hooks.iter().map(|w| w.id.0).collect();
    let last = ids.iter().max().copied();
    let after_last = h.store.reseal_secrets(ResealCursor::at(ResealTable::Webhooks, last), 10).await.expect("past");
    assert_eq!((after_last.scanned, after_last.next), (0, None));

    for limit in [0, MAX_RESEAL_PAGE + 1] {
        match h.store.reseal_secrets(ResealCursor::start(), limit).await {
            Err(Error::Validation(v)) => assert!(v.has("limit", "range"), "{v}"),
            other => panic!("limit {limit}: {other:?}"),
        }
    }
    for bad in ["", "users", "webhooks:", "webhooks:not-a-uuid", "social_accounts:1:2"] {
        assert!(matches!(bad.parse::<ResealCursor>(), Err(Error::Validation(_))), "{bad:?}");
    }
    assert_eq!("webhooks".parse::<ResealCursor>().expect("parse"), ResealCursor::at(ResealTable::Webhooks, None));
}
