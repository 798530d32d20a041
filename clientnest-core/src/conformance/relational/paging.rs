//! Keyset paging: the stable `created_at DESC, id DESC` order, pages without gaps or repeats
//! (also while rows are inserted), limits, cursors, and every list operation paged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::ids::NotificationId;
use crate::model::*;
use crate::page::{Cursor, PageRequest};
use crate::ports::*;
use crate::validate::rule;

/// Pages of any size give the same rows as one big page, in `created_at DESC, id DESC` order,
/// rows with equal times included; the last page has no cursor.
pub async fn paging_stable_order_without_gaps<S: UserRepository + NotificationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let u = user(h).await;
    let mut keys = Vec::new();
    for i in 0..23 {
        if i % 3 == 0 {
            tick(h).await; // groups of three rows share a creation time
        }
        let n = h.store.notify(u.id, new_notification(&format!("n{i}"))).await.expect("notify");
        keys.push((n.created_at, n.id.as_uuid()));
    }
    keys.sort();
    keys.reverse();
    let expected: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
    let store = &*h.store;
    for limit in [1, 4, 7, 22, 23, 24, 500] {
        let got: Vec<Uuid> =
            all_pages(limit, move |p| store.list_notifications(u.id, NotificationFilter::default(), p))
                .await
                .into_iter()
                .map(|n| n.id.as_uuid())
                .collect();
        assert_eq!(got, expected, "limit {limit}: every row once, in order");
    }
    let exact = h.store.list_notifications(u.id, NotificationFilter::default(), PageRequest::first(23)).await;
    assert_eq!(exact.expect("page").next, None, "a page holding the last row has no cursor");
}

/// While rows are inserted between page fetches and by concurrent tasks, every row that existed
/// before paging started is seen exactly once and no row is seen twice.
pub async fn paging_with_concurrent_inserts<S: UserRepository + NotificationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let u = user(h).await;
    let mut initial = HashSet::new();
    for i in 0..40 {
        if i % 4 == 0 {
            tick(h).await;
        }
        initial.insert(h.store.notify(u.id, new_notification(&format!("before {i}"))).await.expect("notify").id);
    }
    let writer = {
        let store = Arc::clone(&h.store);
        tokio::spawn(async move {
            for i in 0..60 {
                store.notify(u.id, new_notification(&format!("during {i}"))).await.expect("notify");
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen: HashMap<NotificationId, u32> = HashMap::new();
    let mut request = PageRequest::first(6);
    let mut round = 0;
    loop {
        let page = h.store.list_notifications(u.id, NotificationFilter::default(), request).await.expect("page");
        for n in &page.items {
            *seen.entry(n.id).or_default() += 1;
        }
        // Inserts between page fetches, some after time moved on.
        let mut between = Vec::new();
        for j in 0..3 {
            let store = Arc::clone(&h.store);
            between.push(tokio::spawn(async move {
                store.notify(u.id, new_notification(&format!("between {round}.{j}"))).await.expect("notify")
            }));
        }
        for t in between {
            t.await.expect("insert task");
        }
        if round % 2 == 0 {
            tick(h).await;
        }
        round += 1;
        match page.next {
            Some(cursor) => request = PageRequest::after(6, cursor),
            None => break,
        }
        assert!(round < 1000, "paging does not end");
    }
    writer.await.expect("writer task");
    for id in &initial {
        assert_eq!(seen.get(id).copied(), Some(1), "row {id} that existed at the start is seen exactly once");
    }
    assert!(seen.values().all(|n| *n == 1), "no row is seen twice");
}

/// Limits outside 1..=500 are refused on every list operation (`limit`, `range`).
pub async fn paging_invalid_limits_rejected<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let (t, u) = (team.id, owner.id);
    let s = &*h.store;
    for limit in [0, PageRequest::MAX_LIMIT + 1] {
        let p = PageRequest::first(limit);
        invalid(s.teams_of_user(u, p).await, "limit", rule::RANGE);
        invalid(s.list_members(t, p).await, "limit", rule::RANGE);
        invalid(s.list_accounts(t, p).await, "limit", rule::RANGE);
        invalid(s.list_posts(t, PostFilter::default(), p).await, "limit", rule::RANGE);
        invalid(s.feed(t, p).await, "limit", rule::RANGE);
        invalid(s.inbox(t, InboxFilter::default(), p).await, "limit", rule::RANGE);
        invalid(s.list_templates(t, TemplateFilter::default(), p).await, "limit", rule::RANGE);
        invalid(s.list_public_templates(p).await, "limit", rule::RANGE);
        invalid(s.list_schedules(t, ScheduleFilter::default(), p).await, "limit", rule::RANGE);
        invalid(s.list_automations(t, p).await, "limit", rule::RANGE);
        invalid(s.list_webhooks(u, p).await, "limit", rule::RANGE);
        invalid(s.list_ai_usage(t, p).await, "limit", rule::RANGE);
        invalid(s.list_billing(t, p).await, "limit", rule::RANGE);
        invalid(s.list_notifications(u, NotificationFilter::default(), p).await, "limit", rule::RANGE);
    }
    s.list_notifications(u, NotificationFilter::default(), PageRequest::first(PageRequest::MAX_LIMIT))
        .await
        .expect("500 is allowed");
}

/// A cursor survives `encode`/`decode` and continues the list where it stopped; garbage tokens
/// are refused with the `cursor` rule.
pub async fn paging_cursor_round_trip<S: UserRepository + TeamRepository + TemplateRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    for _ in 0..5 {
        tick(h).await;
        h.store.create_template(team.id, new_template(owner.id, "promo", false)).await.expect("create");
    }
    let first = h.store.list_templates(team.id, TemplateFilter::default(), page(2)).await.expect("page");
    let cursor = first.next.expect("more pages");
    assert_eq!(cursor, Cursor::after(first.items[1].created_at, first.items[1].id));
    let token = cursor.encode();
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "URL-safe token");
    let decoded = Cursor::decode(&token).expect("decode");
    assert_eq!(decoded, cursor);
    let direct = h.store.list_templates(team.id, TemplateFilter::default(), PageRequest::after(2, cursor)).await;
    let via_token = h.store.list_templates(team.id, TemplateFilter::default(), PageRequest::after(2, decoded)).await;
    assert_eq!(direct.expect("page"), via_token.expect("page"));
    for bad in ["", "not a cursor", "AAAA", &token[..token.len() - 2]] {
        invalid(Cursor::decode(bad), "cursor", rule::CURSOR);
    }
}

/// Every list operation pages through its rows two at a time, newest first, without gaps.
pub async fn paging_every_list_operation<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let (t, u) = (team.id, owner.id);
    let s = &*h.store;
    let acct = account(h, t, u, Platform::Twitter).await;
    let mut want: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for i in 0..5 {
        tick(h).await;
        let m = member(h, t, TeamRole::Viewer).await;
        let membership = s.membership(t, m.id).await.expect("membership").expect("member");
        want.entry("members").or_default().push(membership.id.as_uuid());
        want.entry("accounts").or_default().push(account(h, t, u, Platform::LinkedIn).await.id.as_uuid());
        let p = post(h, t, u, Platform::Twitter).await.post;
        want.entry("posts").or_default().push(p.id.as_uuid());
        let c = comment(h, t, new_comment(acct.id, &format!("p{i}"))).await;
        want.entry("inbox").or_default().push(c.id.as_uuid());
        let tpl = s.create_template(t, new_template(u, "promo", false)).await.expect("template");
        want.entry("templates").or_default().push(tpl.id.as_uuid());
        let sch = schedule(h, t, u, p.id, acct.id).await;
        want.entry("schedules").or_default().push(sch.id.as_uuid());
        let auto = s.create_automation(t, new_automation(u)).await.expect("automation");
        want.entry("automations").or_default().push(auto.id.as_uuid());
        let hook = s.create_webhook(u, new_webhook(Platform::Twitter, "mention")).await.expect("webhook");
        want.entry("webhooks").or_default().push(hook.id.as_uuid());
        let usage = new_usage(u, FeatureType::ContentGeneration, 10, Decimal::ONE);
        want.entry("ai_usage").or_default().push(s.record_ai_usage(t, usage).await.expect("usage").id.as_uuid());
        let bill = s.create_billing(t, new_billing(BillingStatus::Cancelled, now(h))).await.expect("billing");
        want.entry("billing").or_default().push(bill.id.as_uuid());
        let note = s.notify(u, new_notification("paged")).await.expect("notify");
        want.entry("notifications").or_default().push(note.id.as_uuid());
    }
    let accounts = want.get_mut("accounts").expect("accounts");
    accounts.insert(0, acct.id.as_uuid());
    let owner_membership = s.membership(t, u).await.expect("membership").expect("owner");
    want.get_mut("members").expect("members").insert(0, owner_membership.id.as_uuid());
    for ids in want.values_mut() {
        ids.reverse();
    }

    let got: [(&str, Vec<Uuid>); 11] = [
        ("members", all_pages(2, move |p| s.list_members(t, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        ("accounts", all_pages(2, move |p| s.list_accounts(t, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        (
            "posts",
            all_pages(2, move |p| s.list_posts(t, PostFilter::default(), p))
                .await
                .iter()
                .map(|x| x.id.as_uuid())
                .collect(),
        ),
        (
            "inbox",
            all_pages(2, move |p| s.inbox(t, InboxFilter::default(), p)).await.iter().map(|x| x.id.as_uuid()).collect(),
        ),
        (
            "templates",
            all_pages(2, move |p| s.list_templates(t, TemplateFilter::default(), p))
                .await
                .iter()
                .map(|x| x.id.as_uuid())
                .collect(),
        ),
        (
            "schedules",
            all_pages(2, move |p| s.list_schedules(t, ScheduleFilter::default(), p))
                .await
                .iter()
                .map(|x| x.id.as_uuid())
                .collect(),
        ),
        ("automations", all_pages(2, move |p| s.list_automations(t, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        ("webhooks", all_pages(2, move |p| s.list_webhooks(u, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        ("ai_usage", all_pages(2, move |p| s.list_ai_usage(t, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        ("billing", all_pages(2, move |p| s.list_billing(t, p)).await.iter().map(|x| x.id.as_uuid()).collect()),
        (
            "notifications",
            all_pages(2, move |p| s.list_notifications(u, NotificationFilter::default(), p))
                .await
                .iter()
                .map(|x| x.id.as_uuid())
                .collect(),
        ),
    ];
    for (name, ids) in got {
        assert_eq!(&ids, want.get(name).expect("expected rows"), "{name}: newest first over pages of two");
    }
}
