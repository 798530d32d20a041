//! The S3 server of `scripts/s3` (`S3_ENDPOINT`) checks signatures: a correctly signed put is
//! stored and reads back; a put signed with a wrong secret, an expired presigned URL, a presigned
//! URL whose signature was altered and an unsigned request are all refused with 403. Without
//! that, the presigned-URL and credential tests of the media store would prove nothing.

use std::time::Duration;

use clientnest_testkit::services::{self, S3Settings};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStoreExt, PutPayload};

/// A client of the test bucket signing with `secret`, without retries (a refusal is final).
fn store(s: &S3Settings, secret: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(&s.endpoint)
        .with_bucket_name(&s.bucket)
        .with_region(&s.region)
        .with_access_key_id(&s.access_key_id)
        .with_secret_access_key(secret)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .build()
        .expect("an S3 client for the test server")
}

/// A key of its own per test run, so runs and parallel tests do not meet.
fn unique(name: &str) -> Path {
    Path::from(format!("server-test/{}/{name}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn server_accepts_right_signature_and_refuses_wrong_secret() {
    let Some(s) = services::s3_settings() else { return };
    let good = store(&s, &s.secret_access_key);
    let bad = store(&s, &format!("{}-wrong", s.secret_access_key));

    // (a) The right credentials: stored and read back.
    let path = unique("right.txt");
    good.put(&path, PutPayload::from_static(b"signed right")).await.expect("a correctly signed put");
    let body = good.get(&path).await.expect("get").bytes().await.expect("body");
    assert_eq!(&body[..], b"signed right");

    // (b) A wrong secret: refused, and nothing stored.
    let refused = unique("wrong-secret.txt");
    let err =
        bad.put(&refused, PutPayload::from_static(b"must not land")).await.expect_err("a put with a wrong secret");
    let shown = err.to_string();
    assert!(
        matches!(err, object_store::Error::PermissionDenied { .. }) && shown.contains("SignatureDoesNotMatch"),
        "expected 403 SignatureDoesNotMatch, got: {shown}"
    );
    match good.head(&refused).await {
        Err(object_store::Error::NotFound { .. }) => {}
        other => panic!("the refused put must store nothing, head gave {other:?}"),
    }
    // A read with the wrong secret is refused too.
    let err = bad.get(&path).await.expect_err("a get with a wrong secret");
    assert!(matches!(err, object_store::Error::PermissionDenied { .. }), "{err}");

    good.delete(&path).await.expect("cleanup");
}

#[tokio::test]
async fn server_checks_presigned_urls() {
    let Some(s) = services::s3_settings() else { return };
    let good = store(&s, &s.secret_access_key);
    let http = reqwest::Client::new();
    let path = unique("presigned.txt");
    good.put(&path, PutPayload::from_static(b"presigned body")).await.expect("put");

    // (c) A fresh presigned GET works without any other credentials.
    let url = good.signed_url(Method::GET, &path, Duration::from_secs(60)).await.expect("sign");
    let resp = http.get(url.clone()).send().await.expect("GET presigned");
    assert_eq!(resp.status(), 200, "a fresh presigned URL must work");
    assert_eq!(&resp.bytes().await.expect("body")[..], b"presigned body");

    // The same URL with its signature altered (last hex digit changed) is refused.
    let mut altered = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "X-Amz-Signature" {
                let (head, last) = v.split_at(v.len() - 1);
                format!("{head}{}", if last == "0" { "1" } else { "0" })
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == "X-Amz-Signature"), "no signature in {url}");
    altered.query_pairs_mut().clear().extend_pairs(pairs);
    assert_ne!(altered, url);
    let resp = http.get(altered).send().await.expect("GET altered");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 403, "an altered signature must be refused: {body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");

    // The path changed under a valid signature: refused as well.
    let mut other = url.clone();
    other.set_path(&format!("{}-other", url.path()));
    let resp = http.get(other).send().await.expect("GET other path");
    assert_eq!(resp.status(), 403, "a signature for another key must be refused");

    // No signature at all: refused.
    let mut unsigned = url.clone();
    unsigned.set_query(None);
    let resp = http.get(unsigned).send().await.expect("GET unsigned");
    assert_eq!(resp.status(), 403, "an unsigned request must be refused");

    // An expired presigned URL (1 s, used after 3 s) is refused.
    let short = good.signed_url(Method::GET, &path, Duration::from_secs(1)).await.expect("sign");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resp = http.get(short).send().await.expect("GET expired");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 403, "an expired presigned URL must be refused: {body}");
    assert!(body.contains("expired"), "{body}");

    good.delete(&path).await.expect("cleanup");
}
