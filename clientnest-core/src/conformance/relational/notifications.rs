//! Notifications, owned by users: unread counts, marking read (once), marking all read, the
//! unread filter, field rules and the recipient reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{NotificationId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// A notification keeps its fields and starts unread.
pub async fn notifications_notify_and_list<S: UserRepository + NotificationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let u = user(h).await;
    let mut input = NewNotification::new(NotificationType::PostFailed, "Post failed", "X said no");
    input.priority = Priority::High;
    input.data = serde_json::json!({ "post_id": "p1" });
    let n = h.store.notify(u.id, input).await.expect("notify");
    assert_eq!((n.user_id, n.kind, n.priority), (u.id, NotificationType::PostFailed, Priority::High));
    assert_eq!((n.title.as_str(), n.message.as_str()), ("Post failed", "X said no"));
    assert_eq!(n.data, serde_json::json!({ "post_id": "p1" }));
    assert_eq!((n.is_read, n.read_at, n.created_at), (false, None, now(h)));
    tick(h).await;
    let second = h.store.notify(u.id, new_notification("Second")).await.expect("notify");
    let listed = h.store.list_notifications(u.id, NotificationFilter::default(), all()).await.expect("list");
    assert_eq!(listed.items, vec![second, n]);
}

/// `unread_count`, `mark_read` (sets `read_at` once), `mark_all_read` (returns how many changed)
/// and the unread filter.
pub async fn notifications_unread_and_mark_read<S: UserRepository + NotificationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let u = user(h).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        tick(h).await;
        ids.push(h.store.notify(u.id, new_notification(&format!("n{i}"))).await.expect("notify").id);
    }
    assert_eq!(h.store.unread_count(u.id).await.expect("count"), 4);

    h.time.advance(Duration::minutes(1)).await;
    let read_at = now(h);
    let read = h.store.mark_read(u.id, ids[1]).await.expect("mark read");
    assert_eq!((read.is_read, read.read_at), (true, Some(read_at)));
    assert_eq!(h.store.unread_count(u.id).await.expect("count"), 3);
    h.time.advance(Duration::minutes(1)).await;
    let again = h.store.mark_read(u.id, ids[1]).await.expect("mark read again");
    assert_eq!(again.read_at, Some(read_at), "marking read again keeps the first read time");
    assert_eq!(h.store.unread_count(u.id).await.expect("count"), 3);

    let unread = NotificationFilter { unread_only: true };
    let listed: Vec<NotificationId> =
        h.store.list_notifications(u.id, unread, all()).await.expect("list").items.into_iter().map(|n| n.id).collect();
    assert_eq!(listed, vec![ids[3], ids[2], ids[0]]);

    assert_eq!(h.store.mark_all_read(u.id).await.expect("mark all"), 3);
    assert_eq!(h.store.unread_count(u.id).await.expect("count"), 0);
    assert_eq!(h.store.mark_all_read(u.id).await.expect("mark all"), 0, "nothing left to change");
    let everything = h.store.list_notifications(u.id, NotificationFilter::default(), all()).await.expect("list").items;
    assert!(everything.iter().all(|n| n.is_read));
    let first = everything.iter().find(|n| n.id == ids[1]).expect("n1");
    assert_eq!(first.read_at, Some(read_at), "mark_all_read leaves read ones alone");
    let others: Vec<_> = everything.iter().filter(|n| n.id != ids[1]).collect();
    assert!(others.iter().all(|n| n.read_at == Some(now(h))));
    assert!(h.store.list_notifications(u.id, unread, all()).await.expect("list").items.is_empty());

    h.store.delete_notification(u.id, ids[0]).await.expect("delete");
    not_found(h.store.mark_read(u.id, ids[0]).await, Entity::Notification);
    not_found(h.store.delete_notification(u.id, ids[0]).await, Entity::Notification);
    not_found(h.store.mark_read(u.id, NotificationId::new()).await, Entity::Notification);
}

/// Field rules and `fk_notifications_user`, with nothing stored.
pub async fn notifications_rules_and_references<S: UserRepository + NotificationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let u = user(h).await;
    let cases: Vec<(NewNotification, &str, &str)> = vec![
        (new_notification(&repeat('t', 201)), "title", rule::MAX_LENGTH),
        (new_notification(" "), "title", rule::REQUIRED),
        (NewNotification { message: "\0".to_owned(), ..new_notification("ok") }, "message", rule::NUL_BYTE),
        (
            NewNotification { data: serde_json::json!({ "a": ["\0"] }), ..new_notification("ok") },
            "data",
            rule::NUL_BYTE,
        ),
    ];
    for (input, field, broken) in cases {
        invalid(h.store.notify(u.id, input).await, field, broken);
    }
    missing(
        h.store.notify(UserId::new(), new_notification("Hello")).await,
        Entity::Notification,
        Entity::User,
        constraint::FK_NOTIFICATIONS_USER,
    );
    assert_eq!(h.store.unread_count(u.id).await.expect("count"), 0, "nothing stored");
    h.store.notify(u.id, new_notification(&repeat('😀', 200))).await.expect("200 characters fit");
}
