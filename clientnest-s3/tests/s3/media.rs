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
