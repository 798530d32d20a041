//! The media conformance suite on `object_store`'s memory, on local disk and on the S3 server
//! of `scripts/test` (`S3_ENDPOINT`), where presigned URLs are fetched over HTTP with reqwest,
//! so the server's own signature checks refuse the expired and tampered ones.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use clientnest_core::conformance::media::{PresignedClient, ServedLocally, WithClient, served_locally};
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::media::{PresignMethod, UrlSigner};
use clientnest_s3::{ObjectMediaStore, S3Config};
use clientnest_testkit::services;
use url::Url;

fn signer() -> UrlSigner {
    UrlSigner::random("http://127.0.0.1:3000/media/".parse().expect("a base URL")).expect("a signer")
}

type Local = WithClient<ObjectMediaStore, ServedLocally<ObjectMediaStore>>;

mod in_memory {
    use super::*;

    async fn harness() -> Harness<Local> {
        Harness {
            store: Arc::new(served_locally(Arc::new(ObjectMediaStore::in_memory(signer())))),
            time: TimeControl::Real,
        }
    }

    clientnest_core::media_conformance!(harness);
}

mod local_disk {
    use super::*;

    async fn harness() -> Harness<Local> {
        let dir = std::env::temp_dir().join(format!("clientnest-media-{}", uuid::Uuid::new_v4()));
        let store = ObjectMediaStore::local(&dir, signer()).expect("a local store");
        Harness { store: Arc::new(served_locally(Arc::new(store))), time: TimeControl::Real }
    }

    clientnest_core::media_conformance!(harness);
}

/// Fetches presigned URLs over HTTP, as a browser or a platform's crawler would.
#[derive(Debug, Clone, Default)]
pub(crate) struct Http(reqwest::Client);

#[async_trait]
impl PresignedClient for Http {
    async fn fetch(
        &self,
        method: PresignMethod,
        url: &Url,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Vec<u8>, String> {
        let request = match (method, body) {
            (PresignMethod::Get, _) => self.0.get(url.clone()),
            (PresignMethod::Put, Some((ct, bytes))) => self.0.put(url.clone()).header("content-type", ct).body(bytes),
            (PresignMethod::Put, None) => return Err("a PUT needs a body".to_owned()),
        };
        let reply = request.send().await.map_err(|e| e.to_string())?;
        let status = reply.status();
        let body = reply.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
    }
}

/// The test server's bucket as an `S3Config`, or `None` (said loudly) without `S3_ENDPOINT`.
pub(crate) fn s3_config() -> Option<S3Config> {
    let s = services::s3_settings()?;
    Some(
        S3Config::new(s.endpoint, s.bucket)
            .with_region(s.region)
            .with_credentials(s.access_key_id, s.secret_access_key)
            .with_path_style(true),
    )
}

mod s3 {
    use super::*;

    async fn harness() -> Option<Harness<WithClient<ObjectMediaStore, Http>>> {
        let config = s3_config()?;
        // No prefix per test: every test writes under fresh team ids, which keeps parallel tests
        // and runs apart. (A prefix would also push multipart keys past s3s-fs's limit: it names
        // a metadata file after the base64 of bucket, key and upload id, in 255 bytes.)
        let store = ObjectMediaStore::s3(&config).expect("an S3 store");
        Some(Harness {
            store: Arc::new(WithClient { store: Arc::new(store), client: Http::default() }),
            time: TimeControl::Real,
        })
    }

    clientnest_core::media_conformance!(harness);
}

/// A client's presigned PUT goes straight to S3, unchecked; `MediaService::attach_uploaded`
/// reads it back through the upload checks: a real PNG is attached, an HTML file sent as
/// `image/png` is deleted and refused.
#[tokio::test]
async fn presigned_puts_on_s3_are_checked_before_they_are_attached() {
    use chrono::Duration;
    use clientnest_core::media::{MediaFormat, MediaKey, MediaPrefix, MediaService, MediaStore, sample};
    use clientnest_core::memory::MemoryStore;
    use clientnest_core::prelude::*;
    use futures::TryStreamExt;

    let Some(config) = s3_config() else { return };
    let store = Arc::new(ObjectMediaStore::s3(&config).expect("an S3 store"));
    let repos = Arc::new(MemoryStore::new());
    let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG");
    let ada = repos.create_user(NewUser::new("ada@example.com", hash, "Ada", "L")).await.expect("user");
    let (team, _) = repos.create_team(NewTeam::new("Engines", ada.id, PlanType::Starter)).await.expect("team");
    let post = repos.create_post(team.id, NewPost::draft(ada.id, "Direct upload")).await.expect("post").post.id;
    let media = MediaService::new(Arc::clone(&store), Arc::clone(&repos));
    let http = Http::default();
    let put = |bytes: Vec<u8>| {
        let (store, http) = (Arc::clone(&store), http.clone());
        async move {
            let key = MediaKey::new(team.id, post, MediaFormat::Png);
            let url =
                store.presign(team.id, &key, PresignMethod::Put, Duration::minutes(5)).await.expect("presign").url;
            http.fetch(PresignMethod::Put, &url, Some(("image/png", Bytes::from(bytes))))
                .await
                .expect("S3 took the PUT");
            key
        }
    };

    let good = put(sample::png(10, 7)).await;
    let item = media.attach_uploaded(team.id, &good, "direct").await.expect("a real PNG is attached");
    assert_eq!(item.dimensions.map(|d| (d.width, d.height)), Some((10, 7)));
    assert_eq!(item.file_url, store.url(&good).to_string());

    let bad = put(b"<html><script>alert(document.cookie)</script></html>".to_vec()).await;
    let err = media.attach_uploaded(team.id, &bad, "").await.expect_err("HTML is refused");
    assert_eq!(err.rule(), Some("content_mismatch"));
    let left: Vec<MediaKey> =
        store.list(MediaPrefix::Post(team.id, post)).map_ok(|m| m.key).try_collect().await.expect("list");
    assert_eq!(left, vec![good]);
    assert_eq!(repos.get_post(team.id, post).await.expect("post").media.len(), 1);
}
