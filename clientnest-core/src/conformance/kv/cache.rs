//! The cache: bytes with TTLs, typed access, get-or-load without stampede, API keys, load locks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

use super::{assert_validation, ms, secs, unique};
use crate::cache::CacheExt;
use crate::conformance::Harness;
use crate::ids::UserId;
use crate::model::{CacheKey, MAX_VALUE_BYTES};
use crate::ports::*;

/// A fresh key in the `conformance` namespace.
fn fresh_key(label: &str) -> CacheKey {
    CacheKey::new("conformance", unique(label)).expect("a valid cache key")
}

/// Set, get, overwrite, delete; an empty value is a value, not a miss.
pub async fn cache_set_get_delete<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("bytes");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "a fresh key misses");
    h.store.set_bytes(&key, b"one".to_vec(), secs(60)).await.expect("set");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"one".to_vec()), "reads back what was set");
    h.store.set_bytes(&key, b"two".to_vec(), secs(60)).await.expect("overwrite");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"two".to_vec()), "set replaces the value");

    assert!(h.store.delete(&key).await.expect("delete"), "deleting a cached key reports it existed");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "a deleted key misses");
    assert!(!h.store.delete(&key).await.expect("delete again"), "a second delete finds nothing");

    h.store.set_bytes(&key, Vec::new(), secs(60)).await.expect("set an empty value");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(Vec::new()), "an empty value is a hit");
}

/// An entry expires after its TTL; setting again restarts the TTL.
pub async fn cache_entry_expires<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let (short, renewed) = (fresh_key("short"), fresh_key("renewed"));
    h.store.set_bytes(&short, b"short".to_vec(), secs(1)).await.expect("set short");
    h.store.set_bytes(&renewed, b"old".to_vec(), secs(1)).await.expect("set renewed");
    h.store.set_bytes(&renewed, b"new".to_vec(), secs(60)).await.expect("set renewed again, longer");
    h.time.advance(ms(1100)).await;

    assert_eq!(h.store.get_bytes(&short).await.expect("get"), None, "an expired entry is never returned");
    assert!(!h.store.delete(&short).await.expect("delete"), "deleting an expired entry finds nothing");
    let kept = h.store.get_bytes(&renewed).await.expect("get");
    assert_eq!(kept, Some(b"new".to_vec()), "setting again replaced the TTL");
}

/// A cached profile, for typed access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    followers: u64,
    tags: Vec<String>,
}

/// Typed set/get through `CacheExt`; a value of another type reads as a miss.
pub async fn cache_typed_get_set<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = CacheKey::user(UserId::new());
    let ada =
        Profile { name: "Ada 🚀".to_owned(), followers: 1815, tags: vec!["math".to_owned(), "{x}:y".to_owned()] };
    h.store.set(&key, &ada, secs(60)).await.expect("typed set");
    let read: Option<Profile> = h.store.get(&key).await.expect("typed get");
    assert_eq!(read, Some(ada), "a typed value reads back equal");
    let wrong: Option<u64> = h.store.get(&key).await.expect("get as another type");
    assert_eq!(wrong, None, "a value that does not decode as the asked type is a miss");
    assert_validation(h.store.set(&key, &1u8, Duration::zero()).await, "typed set with a zero ttl");
}

/// Of 8 concurrent callers that miss, exactly one runs the loader; all get its value, and
/// later callers are served from the cache.
pub async fn cache_get_or_load_runs_loader_once<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("stampede");
    let calls = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, key, calls, barrier) =
            (Arc::clone(&h.store), key.clone(), Arc::clone(&calls), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .get_or_load(&key, secs(60), move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Ok(Some("loaded".to_owned()))
                })
                .await
        }));
    }
    for task in tasks {
        let value = task.await.expect("the caller task").expect("get_or_load");
        assert_eq!(value.as_deref(), Some("loaded"), "every caller gets the loaded value");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the loader ran exactly once");

    let counter = Arc::clone(&calls);
    let later = h
        .store
        .get_or_load(&key, secs(60), move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Some("reloaded".to_owned()))
        })
        .await
        .expect("get_or_load again");
    assert_eq!(later.as_deref(), Some("loaded"), "a later caller is served from the cache");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "without running the loader");
}

/// A loader's `None` is returned but not cached: the next caller loads again.
pub async fn cache_get_or_load_none_is_not_cached<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("none");
    let first: Option<u32> = h.store.get_or_load(&key, secs(60), || async { Ok(None) }).await.expect("load none");
    assert_eq!(first, None, "the loader's None is returned");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "None is not cached");
    let second = h.store.get_or_load(&key, secs(60), || async { Ok(Some(7u32)) }).await.expect("load some");
    assert_eq!(second, Some(7), "the next caller loads again");
    let cached: Option<u32> = h.store.get(&key).await.expect("typed get");
    assert_eq!(cached, Some(7), "a loaded value is cached");
}

/// `CacheKey::api` folds the parameters in whatever their order; other parameters give
/// another entry.
pub async fn cache_api_key_params_order_insensitive<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let endpoint = format!("/v1/{}/posts", unique("team"));
    let forward = CacheKey::api(&endpoint, &[("page", "2"), ("status", "published")]).expect("an api key");
    let backward = CacheKey::api(&endpoint, &[("status", "published"), ("page", "2")]).expect("an api key");
    let other = CacheKey::api(&endpoint, &[("page", "3"), ("status", "published")]).expect("an api key");
    let swapped = CacheKey::api(&endpoint, &[("page", "published"), ("status", "2")]).expect("an api key");
    assert_eq!(forward, backward, "parameter order does not matter");
    assert_ne!(forward, other, "another value is another key");
    assert_ne!(forward, swapped, "values are bound to their names");

    h.store.set_bytes(&forward, b"page two".to_vec(), secs(60)).await.expect("set");
    let hit = h.store.get_bytes(&backward).await.expect("get");
    assert_eq!(hit, Some(b"page two".to_vec()), "the same parameters in another order hit");
    assert_eq!(h.store.get_bytes(&other).await.expect("get"), None, "other parameters miss");
    assert_eq!(h.store.get_bytes(&swapped).await.expect("get"), None, "swapped values miss");
}

/// A load lock is taken once, released only by its own token, and lives apart from the value.
pub async fn cache_lock_token_semantics<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("lock");
    let first = h.store.try_lock(&key, secs(60)).await.expect("try_lock").expect("a free lock is taken");
    assert!(!first.is_empty(), "the token is not empty");
    assert_eq!(h.store.try_lock(&key, secs(60)).await.expect("try_lock"), None, "a held lock is refused");

    h.store.unlock(&key, "not-the-token").await.expect("unlock with a wrong token");
    assert_eq!(h.store.try_lock(&key, secs(60)).await.expect("try_lock"), None, "a wrong token releases nothing");
    h.store.unlock(&key, &first).await.expect("unlock");
    let second = h.store.try_lock(&key, secs(60)).await.expect("try_lock").expect("a released lock is taken again");
    assert_ne!(second, first, "every taking has a fresh token");
    h.store.unlock(&key, &first).await.expect("unlock with a stale token");
    assert_eq!(h.store.try_lock(&key, secs(60)).await.expect("try_lock"), None, "a stale token releases nothing");

    let other = fresh_key("other");
    assert!(h.store.try_lock(&other, secs(60)).await.expect("try_lock").is_some(), "locks are per key");

    assert!(!h.store.delete(&key).await.expect("delete"), "a lock is not a cached value");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "a lock does not show as a value");
    h.store.set_bytes(&key, b"value".to_vec(), secs(60)).await.expect("set while locked");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"value".to_vec()), "values ignore the lock");
    assert!(h.store.delete(&key).await.expect("delete"), "deleting the value");
    assert_eq!(h.store.try_lock(&key, secs(60)).await.expect("try_lock"), None, "deleting a value keeps the lock");
    h.store.unlock(&key, &second).await.expect("unlock");
    assert!(h.store.try_lock(&key, secs(60)).await.expect("try_lock").is_some(), "free after its own unlock");
}

/// A lock not released expires after its TTL (a crashed loader does not block forever).
pub async fn cache_lock_expires<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("lock-ttl");
    let stale = h.store.try_lock(&key, secs(1)).await.expect("try_lock").expect("taken");
    h.time.advance(ms(1100)).await;
    let fresh = h.store.try_lock(&key, secs(60)).await.expect("try_lock").expect("an expired lock is free");
    assert_ne!(fresh, stale, "a fresh token");
    h.store.unlock(&key, &stale).await.expect("unlock with the expired token");
    assert_eq!(h.store.try_lock(&key, secs(60)).await.expect("try_lock"), None, "the expired token frees nothing");
}

/// Bad TTLs, oversize values and malformed keys are refused with `Validation`, storing nothing.
pub async fn cache_invalid_input_rejected<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = fresh_key("invalid");
    for ttl in [Duration::zero(), ms(-5), Duration::days(367)] {
        assert_validation(h.store.set_bytes(&key, b"v".to_vec(), ttl).await, "set with a ttl outside 1 ms to 366 days");
        assert_validation(h.store.try_lock(&key, ttl).await, "try_lock with a ttl outside 1 ms to 366 days");
    }
    let oversize = vec![0u8; MAX_VALUE_BYTES + 1];
    assert_validation(h.store.set_bytes(&key, oversize, secs(60)).await, "a value over 8 MiB");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "refused sets stored nothing");
    assert!(h.store.try_lock(&key, secs(60)).await.expect("try_lock").is_some(), "refused locks took nothing");

    assert_validation(CacheKey::new("conformance", ""), "an empty id");
    assert_validation(CacheKey::new("conformance", "x".repeat(1025)), "an id over 1024 bytes");
    assert_validation(CacheKey::new("", "x"), "an empty namespace");
    assert_validation(CacheKey::new("Bad:NS", "x"), "a namespace outside [a-z0-9_]");
    assert_validation(CacheKey::api("", &[("a", "b")]), "an empty endpoint");
}
