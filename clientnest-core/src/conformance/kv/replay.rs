//! Set-if-absent temporary values and the webhook replay guard built on them.

use std::sync::Arc;

use super::{assert_validation, secs, slack, unique};
use crate::conformance::Harness;
use crate::crypto::{generate_webhook_secret, sign_webhook, verify_webhook_once};
use crate::error::{CryptoFailure, Error};
use crate::ports::*;

/// `put_temp_if_absent` stores only into an empty (or expired) key, exactly once among
/// concurrent callers, and checks its input like `put_temp`.
pub async fn temp_put_if_absent_once<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let key = unique("once");
    assert!(h.store.put_temp_if_absent(&key, b"first".to_vec(), secs(1)).await.expect("put"), "an empty key");
    assert!(!h.store.put_temp_if_absent(&key, b"second".to_vec(), secs(60)).await.expect("put"), "present");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(b"first".to_vec()), "the first value stays");
    h.time.advance(secs(1) + secs(1) + slack(h)).await;
    assert!(h.store.put_temp_if_absent(&key, b"third".to_vec(), secs(60)).await.expect("put"), "an expired key");
    assert_eq!(h.store.get_temp(&key).await.expect("get"), Some(b"third".to_vec()));

    let race = unique("race");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&h.store);
            let race = race.clone();
            tokio::spawn(async move { store.put_temp_if_absent(&race, vec![i], secs(60)).await.expect("put") })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.expect("task"));
    }
    assert_eq!(won, 1, "exactly one concurrent caller stores");

    assert_validation(h.store.put_temp_if_absent("", b"x".to_vec(), secs(60)).await, "an empty key");
    assert_validation(h.store.put_temp_if_absent(&unique("ttl"), b"x".to_vec(), secs(0)).await, "a zero TTL");
}

/// A valid webhook signature is accepted once; the same delivery again (or concurrently) is
/// refused as a replay; a different delivery, and a forged one, are unaffected by the guard.
pub async fn webhook_replay_refused<S: TempStore + ?Sized + 'static>(h: &Harness<S>) {
    let secret = generate_webhook_secret();
    let now = chrono::Utc::now().timestamp();
    let payload = format!("{{\"delivery\":\"{}\"}}", unique("d"));
    let header = sign_webhook(&secret, now, payload.as_bytes());
    verify_webhook_once(&*h.store, &secret, &header, payload.as_bytes(), now, 300).await.expect("first delivery");
    match verify_webhook_once(&*h.store, &secret, &header, payload.as_bytes(), now + 1, 300).await {
        Err(Error::Crypto(CryptoFailure::SignatureReplayed)) => {}
        other => panic!("a replay inside the window: {other:?}"),
    }

    // A forged header is refused as a mismatch and records nothing.
    let other_payload = format!("{{\"delivery\":\"{}\"}}", unique("e"));
    let forged = header.clone();
    match verify_webhook_once(&*h.store, &secret, &forged, other_payload.as_bytes(), now, 300).await {
        Err(Error::Crypto(CryptoFailure::SignatureMismatch)) => {}
        other => panic!("a forged delivery: {other:?}"),
    }
    let genuine = sign_webhook(&secret, now, other_payload.as_bytes());
    verify_webhook_once(&*h.store, &secret, &genuine, other_payload.as_bytes(), now, 300).await.expect("another");

    // Of concurrent deliveries of one signature, one is accepted.
    let third = format!("{{\"delivery\":\"{}\"}}", unique("f"));
    let header = sign_webhook(&secret, now, third.as_bytes());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, secret, header, third) = (Arc::clone(&h.store), secret.clone(), header.clone(), third.clone());
            tokio::spawn(
                async move { verify_webhook_once(&*store, &secret, &header, third.as_bytes(), now, 300).await },
            )
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => accepted += 1,
            Err(Error::Crypto(CryptoFailure::SignatureReplayed)) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(accepted, 1, "one concurrent delivery accepted");
    // The tolerance cap holds here too, before the store is touched.
    assert_validation(verify_webhook_once(&*h.store, &secret, &header, third.as_bytes(), now, 601).await, "cap");
}
