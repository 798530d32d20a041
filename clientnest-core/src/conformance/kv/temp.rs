//! Temporary data: put, get, take once, delete, expiry, validation.

use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Barrier;

use super::{assert_validation, ms, secs, unique};
use crate::conformance::Harness;
use crate::model::MAX_VALUE_BYTES;
use crate::ports::*;

/// Put replaces, get reads without consuming, take consumes, delete says whether it existed.
pub async fn temp_put_get_take_delete<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let key = unique("otp");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), None, "a fresh key is empty");
    h.store.put_temp(&key, b"v1".to_vec(), secs(60)).await.expect("put");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(b"v1".to_vec()), "reads back what was put");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(b"v1".to_vec()), "get does not consume");
    h.store.put_temp(&key, b"v2".to_vec(), secs(60)).await.expect("put again");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(b"v2".to_vec()), "put replaces");

    assert_eq!(h.store.take_temp(&key).await.expect("take"), Some(b"v2".to_vec()), "take returns the value");
    assert_eq!(h.store.take_temp(&key).await.expect("take"), None, "once");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), None, "a taken value is gone");

    h.store.put_temp(&key, Vec::new(), secs(60)).await.expect("put an empty value");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(Vec::new()), "an empty value is a value");
    assert!(h.store.delete_temp(&key).await.expect("delete"), "deleting a present value reports it existed");
    assert!(!h.store.delete_temp(&key).await.expect("delete"), "a second delete finds nothing");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), None, "a deleted value is gone");
}

/// Of 8 concurrent takers exactly one gets the value.
pub async fn temp_take_once_concurrently<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let key = unique("one-time");
    h.store.put_temp(&key, b"secret".to_vec(), secs(60)).await.expect("put");
    let barrier = Arc::new(Barrier::new(8));
    let mut takers = Vec::new();
    for _ in 0..8 {
        let (store, key, barrier) = (Arc::clone(&h.store), key.clone(), Arc::clone(&barrier));
        takers.push(tokio::spawn(async move {
            barrier.wait().await;
            store.take_temp(&key).await.expect("take")
        }));
    }
    let mut winners = Vec::new();
    for t in takers {
        winners.extend(t.await.expect("the taker task"));
    }
    assert_eq!(winners, vec![b"secret".to_vec()], "exactly one taker gets the value");
}

/// A value expires after its TTL; putting again restarts the TTL.
pub async fn temp_expires<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let (short, renewed) = (unique("short"), unique("renewed"));
    h.store.put_temp(&short, b"short".to_vec(), secs(1)).await.expect("put");
    h.store.put_temp(&renewed, b"old".to_vec(), secs(1)).await.expect("put");
    h.store.put_temp(&renewed, b"new".to_vec(), secs(60)).await.expect("put again, longer");
    h.time.advance(ms(1100)).await;

    assert_eq!(h.store.get_temp(&short).await.expect("get"), None, "an expired value is never returned");
    assert_eq!(h.store.take_temp(&short).await.expect("take"), None, "nor taken");
    assert!(!h.store.delete_temp(&short).await.expect("delete"), "deleting an expired value finds nothing");
    assert_eq!(h.store.get_temp(&renewed).await.expect("get"), Some(b"new".to_vec()), "put again replaced the TTL");
}

/// Bad keys, TTLs and values are refused with `Validation`, storing nothing.
pub async fn temp_invalid_input_rejected<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let key = unique("invalid");
    let long = "k".repeat(1025);
    for bad in ["", long.as_str()] {
        assert_validation(h.store.put_temp(bad, b"v".to_vec(), secs(60)).await, "put with a bad key");
        assert_validation(h.store.get_temp(bad).await, "get with a bad key");
        assert_validation(h.store.take_temp(bad).await, "take with a bad key");
        assert_validation(h.store.delete_temp(bad).await, "delete with a bad key");
    }
    for ttl in [Duration::zero(), ms(-1), Duration::days(367)] {
        assert_validation(h.store.put_temp(&key, b"v".to_vec(), ttl).await, "a ttl outside 1 ms to 366 days");
    }
    assert_validation(h.store.put_temp(&key, vec![7u8; MAX_VALUE_BYTES + 1], secs(60)).await, "a value over 8 MiB");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), None, "refused puts stored nothing");
}
