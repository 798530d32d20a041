//! Sessions: create, read, sliding expiry, delete, revoke per user, expiry, validation.

use std::collections::HashSet;

use chrono::Duration;

use super::{assert_validation, ms, secs};
use crate::conformance::Harness;
use crate::ids::UserId;
use crate::model::{NewSession, SessionId};
use crate::ports::*;

/// A session of `user` with two permissions.
fn new_session(user: UserId, ttl: Duration) -> NewSession {
    NewSession { user_id: user, permissions: vec!["posts:read".to_owned(), "posts:write".to_owned()], ttl }
}

/// A created session has the seed's fields and reads back exactly (times to the microsecond);
/// an unknown id reads as `None`.
pub async fn session_create_get_round_trip<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let user = UserId::new();
    let ttl = Duration::minutes(30);
    let created = h.store.create_session(new_session(user, ttl)).await.expect("create a session");
    assert_eq!(created.user_id, user, "the session's user");
    assert_eq!(created.permissions, vec!["posts:read".to_owned(), "posts:write".to_owned()], "permissions in order");
    assert_eq!(created.last_activity, created.created_at, "last activity starts at creation");
    assert_eq!(created.expires_at - created.created_at, ttl, "expires_at = created_at + ttl");
    assert!(SessionId::parse(created.id.expose()).is_ok(), "the id is a well-formed session id");

    let read = h.store.get_session(&created.id).await.expect("get the session");
    assert_eq!(read, Some(created), "a session reads back exactly as created");
    let unknown = h.store.get_session(&SessionId::generate()).await.expect("get an unknown session");
    assert_eq!(unknown, None, "an unknown id has no session");
}

/// Every create makes a new id; none overwrites another session.
pub async fn session_ids_are_unique<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let user = UserId::new();
    let mut ids = HashSet::new();
    for _ in 0..64 {
        let s = h.store.create_session(new_session(user, secs(600))).await.expect("create a session");
        assert!(ids.insert(s.id), "session ids must never repeat");
    }
    let revoked = h.store.revoke_user_sessions(user).await.expect("revoke");
    assert_eq!(revoked, 64, "all 64 sessions exist side by side");
}

/// Touching records activity and pushes the expiry to now + ttl: a touched session outlives its
/// first expiry, then dies ttl after the touch.
pub async fn session_touch_slides_expiry<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let ttl = secs(1);
    let created = h.store.create_session(new_session(UserId::new(), ttl)).await.expect("create a session");
    h.time.advance(ms(500)).await;

    let touched = h.store.touch_session(&created.id, ttl).await.expect("touch").expect("a live session is touched");
    assert!(touched.last_activity >= created.created_at + ms(500), "touch records the activity time");
    assert_eq!(touched.expires_at - touched.last_activity, ttl, "expires_at = last_activity + ttl after a touch");
    assert_eq!(touched.created_at, created.created_at, "touch keeps created_at");
    assert_eq!(touched.permissions, created.permissions, "touch keeps the permissions");
    assert_eq!(touched.user_id, created.user_id, "touch keeps the user");

    h.time.advance(ms(700)).await;
    let read = h.store.get_session(&created.id).await.expect("get");
    assert_eq!(read, Some(touched), "past its first expiry, the touched session lives on unchanged");

    h.time.advance(ms(450)).await;
    assert_eq!(h.store.get_session(&created.id).await.expect("get"), None, "dead ttl after the last touch");
    let again = h.store.touch_session(&created.id, ttl).await.expect("touch an expired session");
    assert_eq!(again, None, "an expired session cannot be touched back to life");
}

/// An expired session is gone for every operation, and revoking does not count it.
pub async fn session_expires<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let user = UserId::new();
    let short = h.store.create_session(new_session(user, secs(1))).await.expect("create a short session");
    let long = h.store.create_session(new_session(user, secs(600))).await.expect("create a long session");
    h.time.advance(ms(1100)).await;

    assert_eq!(h.store.get_session(&short.id).await.expect("get"), None, "an expired session is never returned");
    assert_eq!(h.store.touch_session(&short.id, secs(60)).await.expect("touch"), None, "nor touched");
    assert!(!h.store.delete_session(&short.id).await.expect("delete"), "deleting an expired session finds nothing");
    assert_eq!(h.store.get_session(&long.id).await.expect("get"), Some(long), "the other session lives");
    let revoked = h.store.revoke_user_sessions(user).await.expect("revoke");
    assert_eq!(revoked, 1, "revoking counts live sessions only");
}

/// Deleting ends one session and says whether it existed.
pub async fn session_delete<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let user = UserId::new();
    let a = h.store.create_session(new_session(user, secs(600))).await.expect("create a");
    let b = h.store.create_session(new_session(user, secs(600))).await.expect("create b");

    assert!(h.store.delete_session(&a.id).await.expect("delete a"), "deleting a live session reports it existed");
    assert_eq!(h.store.get_session(&a.id).await.expect("get a"), None, "a deleted session is gone");
    assert!(!h.store.delete_session(&a.id).await.expect("delete a again"), "a second delete finds nothing");
    assert_eq!(
        h.store.touch_session(&a.id, secs(60)).await.expect("touch a"),
        None,
        "a deleted session is not touched"
    );
    assert_eq!(h.store.get_session(&b.id).await.expect("get b"), Some(b), "the user's other session is untouched");
    assert_eq!(h.store.revoke_user_sessions(user).await.expect("revoke"), 1, "only the other session remained");
}

/// Revoking ends every session of one user, and only theirs.
pub async fn session_revoke_user_sessions<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let mut adas = Vec::new();
    for _ in 0..3 {
        adas.push(h.store.create_session(new_session(ada, secs(600))).await.expect("create ada's session"));
    }
    let bobs = h.store.create_session(new_session(bob, secs(600))).await.expect("create bob's session");

    assert_eq!(h.store.revoke_user_sessions(ada).await.expect("revoke ada"), 3, "all three of ada's sessions");
    for s in &adas {
        assert_eq!(h.store.get_session(&s.id).await.expect("get"), None, "a revoked session is gone");
    }
    assert_eq!(h.store.get_session(&bobs.id).await.expect("get bob's"), Some(bobs), "other users are untouched");
    assert_eq!(h.store.revoke_user_sessions(ada).await.expect("revoke ada again"), 0, "nothing left to revoke");
    assert_eq!(h.store.revoke_user_sessions(UserId::new()).await.expect("revoke a stranger"), 0, "unknown user");

    let fresh = h.store.create_session(new_session(ada, secs(600))).await.expect("sign in again");
    assert!(h.store.get_session(&fresh.id).await.expect("get").is_some(), "a new session after revoking works");
    assert_eq!(h.store.revoke_user_sessions(ada).await.expect("revoke"), 1, "the new session is indexed too");
}

/// Bad lifetimes and permissions are refused with `Validation`, before anything is stored or
/// changed.
pub async fn session_invalid_input_rejected<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let user = UserId::new();
    for ttl in [Duration::zero(), secs(-1), Duration::days(367)] {
        assert_validation(h.store.create_session(new_session(user, ttl)).await, "a ttl outside 1 ms to 366 days");
    }
    let bad_permissions = [
        vec![String::new()],
        vec!["x".repeat(101)],
        vec!["nul\0inside".to_owned()],
        vec!["posts:write\n".to_owned()],
        vec!["Posts:Write".to_owned()],
        (0..201).map(|i| format!("p{i}")).collect(),
    ];
    for permissions in bad_permissions {
        let session = NewSession { user_id: user, permissions, ttl: secs(60) };
        assert_validation(h.store.create_session(session).await, "bad permissions");
    }

    let live = h.store.create_session(new_session(user, secs(60))).await.expect("create a valid session");
    assert_validation(h.store.touch_session(&live.id, Duration::zero()).await, "touch with a zero ttl");
    assert_validation(h.store.touch_session(&SessionId::generate(), ms(0)).await, "validation comes first");
    assert_eq!(h.store.get_session(&live.id).await.expect("get"), Some(live), "a refused touch changes nothing");
    assert_eq!(h.store.revoke_user_sessions(user).await.expect("revoke"), 1, "refused creates stored nothing");
}
