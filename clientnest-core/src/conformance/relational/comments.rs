//! Comments and responses: batch ingest with duplicates skipped, references, the inbox filters,
//! triage, and the response life cycle that marks comments replied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{CommentId, ResponseId, SocialAccountId, TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// Ingest stores new comments with their fields and skips duplicates, already stored or repeated
/// in the batch (the first wins); the same platform id on another account is another comment.
pub async fn comments_ingest_skips_duplicates<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Instagram).await;
    let b = account(h, team.id, owner.id, Platform::Facebook).await;
    let mut first = new_comment(a.id, "c1");
    first.content = "first wins".to_owned();
    first.sentiment = Some(Sentiment::Positive);
    first.priority = Priority::High;
    first.metadata = serde_json::json!({ "lang": "en" });
    let mut repeated = new_comment(a.id, "c1");
    repeated.content = "second loses".to_owned();
    let batch = vec![first, new_comment(a.id, "c2"), repeated, new_comment(b.id, "c1")];
    let report = h.store.ingest_comments(team.id, batch.clone()).await.expect("ingest");
    assert_eq!(report, IngestReport { inserted: 3, duplicates: 1 });

    let c1 = find_comment(h, team.id, a.id, "c1").await.expect("c1 stored");
    assert_eq!(c1.content, "first wins");
    assert_eq!((c1.sentiment, c1.priority, c1.status), (Some(Sentiment::Positive), Priority::High, CommentStatus::New));
    assert_eq!(c1.metadata, serde_json::json!({ "lang": "en" }));
    assert_eq!((c1.author_name.as_str(), c1.author_id.as_str()), ("Grace", "author-1"));
    assert_eq!((c1.created_at, c1.replied_at), (now(h), None));
    assert_eq!(h.store.get_comment(team.id, c1.id).await.expect("get"), c1);

    h.time.advance(Duration::minutes(5)).await;
    let report = h.store.ingest_comments(team.id, batch).await.expect("ingest again");
    assert_eq!(report, IngestReport { inserted: 0, duplicates: 4 }, "re-ingesting is harmless");
    let again = vec![new_comment(a.id, "c2"), new_comment(a.id, "c3")];
    assert_eq!(
        h.store.ingest_comments(team.id, again).await.expect("ingest"),
        IngestReport { inserted: 1, duplicates: 1 }
    );
    assert_eq!(inbox(h, team.id, InboxFilter::default()).await.len(), 4);
    assert_eq!(find_comment(h, team.id, a.id, "c1").await.expect("c1"), c1, "a duplicate changes nothing");
    assert_eq!(
        h.store.ingest_comments(team.id, Vec::new()).await.expect("empty batch"),
        IngestReport { inserted: 0, duplicates: 0 }
    );
}

/// Every account of the batch must be the team's (`fk_comments_account`), else nothing of the
/// batch is stored.
pub async fn comments_ingest_references<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let mine = account(h, team.id, owner.id, Platform::Twitter).await;
    let theirs = account(h, other_team.id, other_owner.id, Platform::Twitter).await;
    for foreign in [theirs.id, SocialAccountId::new()] {
        let batch = vec![new_comment(mine.id, "ok"), new_comment(foreign, "foreign")];
        missing(
            h.store.ingest_comments(team.id, batch).await,
            Entity::Comment,
            Entity::SocialAccount,
            constraint::FK_COMMENTS_ACCOUNT,
        );
    }
    assert!(inbox(h, team.id, InboxFilter::default()).await.is_empty(), "nothing of the batch is stored");
    assert!(inbox(h, other_team.id, InboxFilter::default()).await.is_empty());
    missing(
        h.store.ingest_comments(TeamId::new(), vec![new_comment(mine.id, "x")]).await,
        Entity::Comment,
        Entity::SocialAccount,
        constraint::FK_COMMENTS_ACCOUNT,
    );
}

/// Field rules and the batch size, with nothing stored.
pub async fn comments_ingest_rules<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let cases: Vec<Case<NewComment>> = vec![
        (|c| c.platform_id = repeat('p', 101), "platform_id", rule::MAX_LENGTH),
        (|c| c.platform_id = String::new(), "platform_id", rule::REQUIRED),
        (|c| c.author_name = repeat('n', 101), "author_name", rule::MAX_LENGTH),
        (|c| c.author_name = "a\0".to_owned(), "author_name", rule::NUL_BYTE),
        (|c| c.content = "\0".to_owned(), "content", rule::NUL_BYTE),
        (|c| c.metadata = serde_json::json!({ "k": "\0" }), "metadata", rule::NUL_BYTE),
    ];
    for (break_it, field, broken) in cases {
        let mut bad = new_comment(a.id, "bad");
        break_it(&mut bad);
        let r = h.store.ingest_comments(team.id, vec![new_comment(a.id, "good"), bad]).await;
        match r {
            Err(crate::Error::Validation(v)) => {
                assert!(v.0.iter().any(|e| e.rule == broken && e.field.ends_with(field)), "{field}: {v}")
            }
            other => panic!("expected Validation on {field} ({broken}), got {other:?}"),
        }
    }
    let too_many: Vec<NewComment> =
        (0..=constraint::MAX_BATCH).map(|i| new_comment(a.id, &format!("bulk-{i}"))).collect();
    invalid_any(h.store.ingest_comments(team.id, too_many).await);
    assert!(inbox(h, team.id, InboxFilter::default()).await.is_empty(), "nothing stored");
}

/// The inbox filters by status, sentiment, priority and account, every set field matching,
/// newest first.
pub async fn comments_inbox_filters<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Instagram).await;
    let b = account(h, team.id, owner.id, Platform::Facebook).await;
    let spec = [
        (a.id, Some(Sentiment::Negative), Priority::High),
        (a.id, Some(Sentiment::Positive), Priority::Low),
        (b.id, Some(Sentiment::Negative), Priority::Medium),
        (b.id, None, Priority::High),
        (a.id, Some(Sentiment::Neutral), Priority::High),
    ];
    let mut stored = Vec::new();
    for (i, (acct, sentiment, priority)) in spec.into_iter().enumerate() {
        tick(h).await;
        let mut c = new_comment(acct, &format!("f{i}"));
        c.sentiment = sentiment;
        c.priority = priority;
        stored.push(comment(h, team.id, c).await);
    }
    let flagged = CommentUpdate { status: Some(CommentStatus::Flagged), ..CommentUpdate::default() };
    h.store.update_comment(team.id, stored[0].id, flagged).await.expect("flag");
    let ignored = CommentUpdate { status: Some(CommentStatus::Ignored), ..CommentUpdate::default() };
    h.store.update_comment(team.id, stored[3].id, ignored).await.expect("ignore");

    let expect = |idx: &[usize]| idx.iter().map(|i| stored[*i].id).collect::<Vec<CommentId>>();
    let ids = |v: Vec<Comment>| v.into_iter().map(|c| c.id).collect::<Vec<CommentId>>();
    let f = InboxFilter::default;
    assert_eq!(ids(inbox(h, team.id, f()).await), expect(&[4, 3, 2, 1, 0]));
    let status = InboxFilter { status: Some(CommentStatus::New), ..f() };
    assert_eq!(ids(inbox(h, team.id, status).await), expect(&[4, 2, 1]));
    let negative = InboxFilter { sentiment: Some(Sentiment::Negative), ..f() };
    assert_eq!(ids(inbox(h, team.id, negative).await), expect(&[2, 0]));
    let high = InboxFilter { priority: Some(Priority::High), ..f() };
    assert_eq!(ids(inbox(h, team.id, high).await), expect(&[4, 3, 0]));
    let on_b = InboxFilter { account_id: Some(b.id), ..f() };
    assert_eq!(ids(inbox(h, team.id, on_b).await), expect(&[3, 2]));
    let combined =
        InboxFilter { status: Some(CommentStatus::New), priority: Some(Priority::High), account_id: Some(a.id), ..f() };
    assert_eq!(ids(inbox(h, team.id, combined).await), expect(&[4]));
    let none = InboxFilter { status: Some(CommentStatus::Replied), ..f() };
    assert!(inbox(h, team.id, none).await.is_empty());
}

/// Triage changes the given fields only; unknown comments are `NotFound`.
pub async fn comments_triage<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let mut input = new_comment(a.id, "t1");
    input.sentiment = Some(Sentiment::Neutral);
    let c = comment(h, team.id, input).await;
    let update = CommentUpdate {
        sentiment: Some(None),
        priority: Some(Priority::Low),
        status: Some(CommentStatus::Ignored),
        metadata: Some(serde_json::json!({ "reviewed": true })),
    };
    let changed = h.store.update_comment(team.id, c.id, update).await.expect("triage");
    assert_eq!((changed.sentiment, changed.priority, changed.status), (None, Priority::Low, CommentStatus::Ignored));
    assert_eq!(changed.metadata, serde_json::json!({ "reviewed": true }));
    assert_eq!((changed.content.as_str(), changed.created_at), (c.content.as_str(), c.created_at));
    let bad = CommentUpdate { metadata: Some(serde_json::json!("\0")), ..CommentUpdate::default() };
    invalid(h.store.update_comment(team.id, c.id, bad).await, "metadata", rule::NUL_BYTE);
    assert_eq!(h.store.get_comment(team.id, c.id).await.expect("get"), changed);

    let unknown = CommentId::new();
    not_found(h.store.get_comment(team.id, unknown).await, Entity::Comment);
    not_found(h.store.update_comment(team.id, unknown, CommentUpdate::default()).await, Entity::Comment);
}

/// `send_response` records a sent response and marks its comment replied, in one step.
pub async fn comments_send_response_marks_replied<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Instagram).await;
    let c = comment(h, team.id, new_comment(a.id, "s1")).await;
    h.time.advance(Duration::minutes(7)).await;
    let mut input = new_response(c.id, owner.id);
    input.ai_generated = true;
    let r = h.store.send_response(team.id, input).await.expect("send");
    assert_eq!((r.comment_id, r.user_id, r.status), (c.id, owner.id, ResponseStatus::Sent));
    assert_eq!((r.content.as_str(), r.ai_generated), ("Thank you!", true));
    assert_eq!((r.sent_at, r.created_at), (Some(now(h)), now(h)));
    let replied = h.store.get_comment(team.id, c.id).await.expect("get");
    assert_eq!((replied.status, replied.replied_at), (CommentStatus::Replied, Some(now(h))));
    assert_eq!(h.store.responses_to(team.id, c.id).await.expect("responses"), vec![r]);
}

/// A draft leaves the comment alone; `mark_response_sent` sends it (keeping `sent_at` when
/// already sent); `mark_response_failed` fails a draft but not a sent response.
pub async fn comments_response_life_cycle<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Instagram).await;
    let c = comment(h, team.id, new_comment(a.id, "l1")).await;
    let draft = h.store.draft_response(team.id, new_response(c.id, owner.id)).await.expect("draft");
    assert_eq!((draft.status, draft.sent_at, draft.created_at), (ResponseStatus::Draft, None, now(h)));
    let untouched = h.store.get_comment(team.id, c.id).await.expect("get");
    assert_eq!((untouched.status, untouched.replied_at), (CommentStatus::New, None), "a draft is not a reply");

    h.time.advance(Duration::minutes(3)).await;
    let sent_at = now(h);
    let sent = h.store.mark_response_sent(team.id, draft.id).await.expect("mark sent");
    assert_eq!((sent.status, sent.sent_at), (ResponseStatus::Sent, Some(sent_at)));
    assert_eq!(sent.created_at, draft.created_at);
    let replied = h.store.get_comment(team.id, c.id).await.expect("get");
    assert_eq!((replied.status, replied.replied_at), (CommentStatus::Replied, Some(sent_at)));

    h.time.advance(Duration::minutes(3)).await;
    let again = h.store.mark_response_sent(team.id, draft.id).await.expect("mark sent again");
    assert_eq!(again.sent_at, Some(sent_at), "sent_at is kept");
    invalid_state(h.store.mark_response_failed(team.id, draft.id).await, Entity::Response);
    assert_eq!(h.store.responses_to(team.id, c.id).await.expect("responses")[0].status, ResponseStatus::Sent);

    let second = h.store.draft_response(team.id, new_response(c.id, owner.id)).await.expect("draft");
    let failed = h.store.mark_response_failed(team.id, second.id).await.expect("mark failed");
    assert_eq!((failed.status, failed.sent_at), (ResponseStatus::Failed, None));

    let unknown = ResponseId::new();
    not_found(h.store.mark_response_sent(team.id, unknown).await, Entity::Response);
    not_found(h.store.mark_response_failed(team.id, unknown).await, Entity::Response);
}

/// Responses need the team's comment (`fk_responses_comment`) and an existing user
/// (`fk_responses_user`), and valid text; refused responses change nothing.
pub async fn comments_response_references<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let theirs = account(h, other_team.id, other_owner.id, Platform::Twitter).await;
    let c = comment(h, team.id, new_comment(a.id, "r1")).await;
    let foreign = comment(h, other_team.id, new_comment(theirs.id, "r1")).await;

    for comment_id in [CommentId::new(), foreign.id] {
        missing(
            h.store.draft_response(team.id, new_response(comment_id, owner.id)).await,
            Entity::Response,
            Entity::Comment,
            constraint::FK_RESPONSES_COMMENT,
        );
        missing(
            h.store.send_response(team.id, new_response(comment_id, owner.id)).await,
            Entity::Response,
            Entity::Comment,
            constraint::FK_RESPONSES_COMMENT,
        );
    }
    missing(
        h.store.send_response(team.id, new_response(c.id, UserId::new())).await,
        Entity::Response,
        Entity::User,
        constraint::FK_RESPONSES_USER,
    );
    let mut blank = new_response(c.id, owner.id);
    blank.content = " ".to_owned();
    invalid(h.store.send_response(team.id, blank).await, "content", rule::REQUIRED);
    let mut nul = new_response(c.id, owner.id);
    nul.content = "a\0".to_owned();
    invalid(h.store.draft_response(team.id, nul).await, "content", rule::NUL_BYTE);

    assert!(h.store.responses_to(team.id, c.id).await.expect("responses").is_empty());
    let c_now = h.store.get_comment(team.id, c.id).await.expect("get");
    assert_eq!((c_now.status, c_now.replied_at), (CommentStatus::New, None), "refused sends change nothing");
    let f_now = h.store.get_comment(other_team.id, foreign.id).await.expect("get");
    assert_eq!(f_now.status, CommentStatus::New, "another team's comment is untouched");
}

/// `responses_to` lists a comment's responses newest first, and only that comment's.
pub async fn comments_responses_newest_first<
    S: UserRepository + TeamRepository + SocialAccountRepository + CommentRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let c = comment(h, team.id, new_comment(a.id, "n1")).await;
    let other = comment(h, team.id, new_comment(a.id, "n2")).await;
    let mut expected = Vec::new();
    for _ in 0..3 {
        tick(h).await;
        expected.push(h.store.draft_response(team.id, new_response(c.id, owner.id)).await.expect("draft").id);
    }
    h.store.draft_response(team.id, new_response(other.id, owner.id)).await.expect("draft");
    expected.reverse();
    let got: Vec<ResponseId> =
        h.store.responses_to(team.id, c.id).await.expect("responses").into_iter().map(|r| r.id).collect();
    assert_eq!(got, expected);
    not_found(h.store.responses_to(team.id, CommentId::new()).await, Entity::Comment);
}

/// The team's inbox matching `filter` (every page).
async fn inbox<S: CommentRepository + ?Sized>(h: &Harness<S>, team: TeamId, filter: InboxFilter) -> Vec<Comment> {
    let store = &*h.store;
    all_pages(3, move |p| store.inbox(team, filter, p)).await
}
