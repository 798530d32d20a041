//! Hostile input: keys and payloads that could break out of a key pattern or a Cluster hash tag
//! round-trip exactly and never reach another key; oversize values and empty keys are refused.

use std::collections::HashSet;

use chrono::Duration;

use super::{assert_validation, secs, unique, unique_queue, worker};
use crate::conformance::Harness;
use crate::ids::UserId;
use crate::model::{CacheKey, MAX_VALUE_BYTES, NewJob, NewSession, Quota};
use crate::ports::*;
use crate::validate::rule;

/// Fragments that mean something to a key pattern, a hash tag, a glob, Lua or a terminal.
const HOSTILE: &[&str] = &[
    "a:b",
    "a",
    ":b",
    "a:",
    ":",
    "::",
    "{a}:b",
    "{a}",
    "{",
    "}",
    "}{",
    "a}:{b",
    "{}",
    "{{a}}",
    "*",
    "a*",
    "*:*",
    "?",
    "[a-z]",
    "with space",
    " ",
    "new\nline",
    "\r\n",
    "tab\t",
    "nul\0byte",
    "ünïcødé ✓ 🚀",
    "temp:a",
    "session:x",
    "queue:q",
    "rate:r",
    "user:1",
    "api:/x",
    "\\",
    "\\:",
    "\"quoted\"",
    "'",
    "%s%n",
    "$1",
    "-- comment",
];

/// Every hostile fragment, both after and before a run-unique part (so braces also come first).
fn hostile_keys(run: &str) -> Vec<String> {
    HOSTILE.iter().flat_map(|k| [format!("{run}{k}"), format!("{k}{run}")]).collect()
}

/// A payload of every byte value, not valid UTF-8, of `len` bytes.
fn binary_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from((i * 31 + 7) % 256).unwrap_or(0)).collect()
}

/// Temp keys with separators, braces, globs, newlines, NUL and unicode each keep their own
/// value; deleting one touches no other; keys of exactly 1024 bytes work.
pub async fn hostile_temp_keys_round_trip_without_collision<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let run = unique("");
    let mut keys = hostile_keys(&run);
    keys.push(format!("{run}{}", "é".repeat((1024 - run.len()) / 2)));
    keys.push(format!("{run}{}", "x".repeat(1024 - run.len())));
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len(), "the test keys are distinct");
    for (i, key) in keys.iter().enumerate() {
        h.store.put_temp(key, format!("value {i}").into_bytes(), secs(60)).await.expect("put a hostile key");
    }
    for (i, key) in keys.iter().enumerate() {
        let value = h.store.get_temp(key).await.expect("get a hostile key");
        assert_eq!(value, Some(format!("value {i}").into_bytes()), "key {key:?} keeps its own value");
    }
    let victim = format!("{run}a");
    assert!(h.store.delete_temp(&victim).await.expect("delete"), "delete one key");
    for (i, key) in keys.iter().enumerate().filter(|(_, k)| **k != victim) {
        let value = h.store.get_temp(key).await.expect("get");
        assert_eq!(value, Some(format!("value {i}").into_bytes()), "deleting {victim:?} left {key:?} alone");
    }
    let taken = h.store.take_temp(&format!("{run}{{a}}:b")).await.expect("take");
    assert!(taken.is_some(), "a braced key is taken");
    assert!(h.store.get_temp(&format!("{run}a:b")).await.expect("get").is_some(), "its look-alike stays");
}

/// Cache ids with hostile fragments each keep their own value, across namespaces, and a load
/// lock never reaches a value or another key's lock.
pub async fn hostile_cache_keys_round_trip_without_collision<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let run = unique("");
    let mut keys = Vec::new();
    for id in hostile_keys(&run) {
        for namespace in ["conformance", "conformance_x", "user", "api"] {
            keys.push(CacheKey::new(namespace, id.clone()).expect("a valid cache key"));
        }
    }
    for (i, key) in keys.iter().enumerate() {
        h.store.set_bytes(key, format!("value {i}").into_bytes(), secs(60)).await.expect("set a hostile key");
    }
    for (i, key) in keys.iter().enumerate() {
        let value = h.store.get_bytes(key).await.expect("get a hostile key");
        assert_eq!(value, Some(format!("value {i}").into_bytes()), "key {key:?} keeps its own value");
    }

    let base = CacheKey::new("conformance", format!("{run}k")).expect("key");
    let look_alike = CacheKey::new("conformance", format!("{run}k:lock")).expect("key");
    h.store.set_bytes(&look_alike, b"not a lock".to_vec(), secs(60)).await.expect("set");
    let token = h.store.try_lock(&base, secs(60)).await.expect("try_lock").expect("a free lock");
    assert!(h.store.try_lock(&look_alike, secs(60)).await.expect("try_lock").is_some(), "locks are per key");
    assert_eq!(h.store.get_bytes(&look_alike).await.expect("get"), Some(b"not a lock".to_vec()), "values untouched");
    assert_eq!(h.store.get_bytes(&base).await.expect("get"), None, "a lock is not a value");
    h.store.unlock(&base, &token).await.expect("unlock");
}

/// Hostile subjects are limited independently of each other.
pub async fn hostile_rate_subjects_do_not_collide<S: RateLimiter + ?Sized + 'static>(h: &Harness<S>) {
    let run = unique("");
    let quota = Quota::per(1, Duration::hours(1));
    let subjects = hostile_keys(&run);
    for subject in &subjects {
        let d = h.store.check_rate(subject, &quota).await.expect("check a hostile subject");
        assert!(d.allowed, "subject {subject:?} has its own budget (no other subject reached it)");
    }
    for subject in &subjects {
        let d = h.store.check_rate(subject, &quota).await.expect("check again");
        assert!(!d.allowed, "subject {subject:?} spent its own budget");
    }
}

/// Empty, binary (non-UTF-8), punctuation and 1 MB payloads round-trip exactly through the
/// cache, temp data and jobs; a temp value of exactly 8 MiB is accepted.
pub async fn hostile_payloads_round_trip<S: Cache + JobQueue + TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let payloads = [
        Vec::new(),
        vec![0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80],
        b"{a}:b *\r\n\0\"'\\ -- end".to_vec(),
        "ünïcødé ✓ 🚀".as_bytes().to_vec(),
        binary_payload(1024 * 1024),
    ];
    let q = unique_queue("payloads");
    for (i, payload) in payloads.iter().enumerate() {
        let key = CacheKey::new("conformance", unique(&format!("payload-{i}"))).expect("key");
        h.store.set_bytes(&key, payload.clone(), secs(60)).await.expect("set");
        let cached = h.store.get_bytes(&key).await.expect("get");
        assert!(cached.as_ref() == Some(payload), "payload {i} round-trips through the cache");

        let temp = unique(&format!("payload-{i}"));
        h.store.put_temp(&temp, payload.clone(), secs(60)).await.expect("put");
        let taken = h.store.take_temp(&temp).await.expect("take");
        assert!(taken.as_ref() == Some(payload), "payload {i} round-trips through temp data");

        h.store.enqueue(&q, NewJob::new(payload.clone())).await.expect("enqueue");
        let r = h.store.reserve(&q, &worker(), secs(30)).await.expect("reserve").expect("a job");
        assert!(&r.job.payload == payload, "payload {i} round-trips through the queue");
        h.store.ack(&q, &r.lease).await.expect("ack");
    }

    let largest = unique("largest");
    let max = binary_payload(MAX_VALUE_BYTES);
    h.store.put_temp(&largest, max.clone(), secs(60)).await.expect("a value of exactly 8 MiB");
    let read = h.store.take_temp(&largest).await.expect("take");
    assert!(read.as_ref() == Some(&max), "an 8 MiB value round-trips");
}

/// Session permissions follow the grammar of [`permission`](crate::validate::permission):
/// those that do round-trip exactly, in order, duplicates too; separators, braces, globs,
/// spaces, line breaks, unicode, quotes, upper case and malformed segments are each refused
/// with `permission_grammar` on `permissions`, and store no session.
pub async fn hostile_session_permissions_round_trip<S: SessionStore + ?Sized + 'static>(h: &Harness<S>) {
    let longest = format!("{}:{}", "a".repeat(50), "b".repeat(49));
    let permissions: Vec<String> = ["posts:write", "posts:read", "team:settings:billing:edit", "a", "x9_y"]
        .iter()
        .map(|p| (*p).to_owned())
        .chain([longest, "posts:write".to_owned()])
        .collect();
    let new = NewSession { user_id: UserId::new(), permissions: permissions.clone(), ttl: secs(60) };
    let created = h.store.create_session(new).await.expect("create");
    assert_eq!(created.permissions, permissions, "permissions are kept exactly, in order, duplicates too");
    let read = h.store.get_session(&created.id).await.expect("get").expect("live");
    assert_eq!(read.permissions, permissions, "and read back exactly");
    let touched = h.store.touch_session(&created.id, secs(60)).await.expect("touch").expect("live");
    assert_eq!(touched.permissions, permissions, "and kept by a touch");

    let user = UserId::new();
    let hostile = [
        "{team}:admin",
        "*",
        "posts:*",
        "a b",
        "line\nbreak",
        "posts:write\r\n",
        "ünï 🚀",
        "\"q\"",
        "\\",
        "a|b",
        "|",
        "Posts:Write",
        "posts:",
        ":write",
        "posts::write",
        "1posts",
        "posts:-write",
        "posts.write",
        "a:b:c:d:e",
        " posts:write",
        "posts:write ",
        "posts\u{202e}:write",
        "nul\0",
    ];
    let too_long = format!("{}:{}", "a".repeat(50), "b".repeat(50));
    for bad in hostile.iter().map(|p| (*p).to_owned()).chain([too_long]) {
        let new = NewSession { user_id: user, permissions: vec!["posts:read".to_owned(), bad.clone()], ttl: secs(60) };
        match h.store.create_session(new).await {
            Err(e) if e.validation().is_some_and(|v| v.has("permissions", rule::PERMISSION_GRAMMAR)) => {}
            other => panic!("permission {bad:?}: expected permission_grammar on `permissions`, got {other:?}"),
        }
    }
    assert_eq!(h.store.revoke_user_sessions(user).await.expect("revoke"), 0, "the refused sessions stored nothing");
}

/// The same string used as a session id, cache id, temp key and rate subject names four
/// separate things.
pub async fn keyspaces_are_separate<S: SessionStore + Cache + RateLimiter + TempStore + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let session = h
        .store
        .create_session(NewSession { user_id: UserId::new(), permissions: vec![], ttl: secs(60) })
        .await
        .expect("create");
    let name = session.id.expose().to_owned();
    let cache_key = CacheKey::new("session", name.clone()).expect("key");
    h.store.set_bytes(&cache_key, b"cache".to_vec(), secs(60)).await.expect("set");
    h.store.put_temp(&name, b"temp".to_vec(), secs(60)).await.expect("put");
    h.store.put_temp(&format!("session:{name}"), b"temp 2".to_vec(), secs(60)).await.expect("put");
    assert!(h.store.check_rate(&name, &Quota::per(1, secs(60))).await.expect("check").allowed, "a fresh subject");

    assert_eq!(h.store.get_session(&session.id).await.expect("get"), Some(session.clone()), "the session is intact");
    assert_eq!(h.store.get_bytes(&cache_key).await.expect("get"), Some(b"cache".to_vec()), "the cache entry");
    assert_eq!(h.store.get_temp(&name).await.expect("get"), Some(b"temp".to_vec()), "the temp value");

    assert!(h.store.delete_temp(&name).await.expect("delete temp"), "delete the temp value");
    assert!(h.store.delete_temp(&format!("session:{name}")).await.expect("delete temp"), "and the other");
    assert!(h.store.delete(&cache_key).await.expect("delete cache"), "delete the cache entry");
    assert_eq!(h.store.get_session(&session.id).await.expect("get"), Some(session), "the session survives them");
}

/// Values over 8 MiB and empty or over-long keys and subjects are refused with `Validation`.
pub async fn oversize_values_and_empty_keys_rejected<
    S: Cache + JobQueue + RateLimiter + TempStore + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let oversize = vec![1u8; MAX_VALUE_BYTES + 1];
    let key = unique("oversize");
    assert_validation(h.store.put_temp(&key, oversize.clone(), secs(60)).await, "a temp value over 8 MiB");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), None, "nothing stored");
    let cache_key = CacheKey::new("conformance", key.clone()).expect("key");
    assert_validation(h.store.set_bytes(&cache_key, oversize.clone(), secs(60)).await, "a cache value over 8 MiB");
    assert_eq!(h.store.get_bytes(&cache_key).await.expect("get"), None, "nothing cached");
    let q = unique_queue("oversize");
    assert_validation(h.store.enqueue(&q, NewJob::new(oversize)).await, "a job payload over 8 MiB");
    assert_eq!(h.store.counts(&q).await.expect("counts"), Default::default(), "nothing enqueued");

    assert_validation(h.store.put_temp("", b"v".to_vec(), secs(60)).await, "an empty temp key");
    assert_validation(CacheKey::new("conformance", ""), "an empty cache id");
    assert_validation(h.store.check_rate("", &Quota::per(1, secs(1))).await, "an empty subject");
    let multibyte = "é".repeat(513);
    assert_validation(h.store.put_temp(&multibyte, b"v".to_vec(), secs(60)).await, "a key of 1026 bytes in 513 chars");
    assert_validation(CacheKey::new("conformance", multibyte), "a cache id of 1026 bytes");
    let exact = format!("{key}{}", "x".repeat(1024 - key.len()));
    h.store.put_temp(&exact, b"v".to_vec(), secs(60)).await.expect("a key of exactly 1024 bytes");
}
