//! [`ObjectMediaStore`]: the [`MediaStore`] port over any `object_store` (S3, local disk,
//! memory).

mod error;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use clientnest_core::error::{CryptoFailure, Error, Result};
use clientnest_core::ids::TeamId;
use clientnest_core::media::{
    ByteRange, MediaDownload, MediaKey, MediaMeta, MediaPrefix, MediaStore, PresignMethod, PresignedUrl,
    PresignedUrlVerifier, StoredMedia, Upload, UrlSigner, check_expiry, check_put,
};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayloadMut, WriteMultipart,
};
use url::Url;

use crate::config::S3Config;
use error::from_store;

/// The smallest part size S3 accepts for every part but the last: 5 MiB.
pub const MIN_PART_SIZE: usize = 5 << 20;

/// How presigned URLs are made: by the store's own signature (S3), or HMAC-signed for the
/// application to serve (local disk, memory).
#[derive(Clone)]
enum Signing {
    Store(Arc<dyn Signer>),
    Hmac(UrlSigner),
}

/// Post media over an `object_store`:
///
/// - **S3** or any S3-compatible endpoint ([`ObjectMediaStore::s3`]): presigned URLs are S3
///   (SigV4) URLs, objects carry their `Content-Type`;
/// - **local disk** ([`ObjectMediaStore::local`]) and `object_store`'s **memory**
///   ([`ObjectMediaStore::in_memory`]): presigned URLs are HMAC-signed
///   ([`UrlSigner`]) under the signer's base, served by the application after
///   [`PresignedUrlVerifier::verify_presigned`].
///
/// Uploads stream: up to one part (8 MiB by default) is buffered; a larger upload becomes a
/// multipart upload with at most `max_concurrency` parts in flight (4 by default), so an
/// upload holds at most about `(max_concurrency + 1) x part_size` bytes whatever its size
/// (40 MiB by default). A refused, failed or dropped upload aborts its multipart upload, so
/// it leaves no object.
///
/// ```no_run
/// use std::sync::Arc;
/// use clientnest_core::ids::{PostId, TeamId};
/// use clientnest_core::media::{MediaFormat, MediaKey, MediaStore, Upload, sample};
/// use clientnest_s3::{ObjectMediaStore, S3Config};
///
/// # async fn run() -> clientnest_core::Result<()> {
/// let config = S3Config::from_env().expect("S3_ENDPOINT is set");
/// let media = ObjectMediaStore::s3(&config)?;
/// let (team, post) = (TeamId::new(), PostId::new());
/// let key = MediaKey::new(team, post, MediaFormat::Png);
/// let stored = media.put(team, &key, Upload::from_bytes("image/png", sample::png(2, 2))?).await?;
/// println!("{} bytes, sha256 {}", stored.inspected.size, stored.inspected.sha256);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ObjectMediaStore {
    store: Arc<dyn ObjectStore>,
    signing: Signing,
    base_url: Url,
    prefix: String,
    content_type_attribute: bool,
    part_size: usize,
    max_concurrency: usize,
}

impl fmt::Debug for ObjectMediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectMediaStore")
            .field("store", &self.store.to_string())
            .field("base_url", &self.base_url.as_str())
            .field("prefix", &self.prefix)
            .field("part_size", &self.part_size)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

impl ObjectMediaStore {
    /// Media in an S3-compatible bucket; object URLs are `{bucket URL}{key}`.
    pub fn s3(config: &S3Config) -> Result<ObjectMediaStore> {
        let s3 = Arc::new(config.build()?);
        let base_url = config.bucket_url()?;
        Ok(ObjectMediaStore::with_parts(s3.clone(), Signing::Store(s3), base_url, true))
    }

    /// Media in a folder (created if missing); URLs are the signer's, served by the application.
    pub fn local(dir: impl AsRef<std::path::Path>, signer: UrlSigner) -> Result<ObjectMediaStore> {
        std::fs::create_dir_all(dir.as_ref())
            .map_err(|e| Error::backend(clientnest_core::error::store::OBJECT_STORE, e))?;
        let fs = LocalFileSystem::new_with_prefix(dir.as_ref())
            .map_err(|e| from_store(e, None))?
            .with_automatic_cleanup(true);
        let base_url = signer.url_base();
        Ok(ObjectMediaStore::with_parts(Arc::new(fs), Signing::Hmac(signer), base_url, false))
    }

    /// Media in `object_store`'s in-memory store; URLs are the signer's.
    pub fn in_memory(signer: UrlSigner) -> ObjectMediaStore {
        let base_url = signer.url_base();
        ObjectMediaStore::with_parts(Arc::new(InMemory::new()), Signing::Hmac(signer), base_url, true)
    }

    /// Media in any `object_store` with HMAC-signed URLs (an S3 store is best built with
    /// [`ObjectMediaStore::s3`], for S3 presigning). `content_type_attribute` stores each
    /// object's `Content-Type` (not every store supports attributes: local disk does not).
    pub fn with_hmac_signing(
        store: Arc<dyn ObjectStore>,
        signer: UrlSigner,
        content_type_attribute: bool,
    ) -> ObjectMediaStore {
        let base_url = signer.url_base();
        ObjectMediaStore::with_parts(store, Signing::Hmac(signer), base_url, content_type_attribute)
    }

    fn with_parts(store: Arc<dyn ObjectStore>, signing: Signing, base_url: Url, content_type_attribute: bool) -> Self {
        ObjectMediaStore {
            store,
            signing,
            base_url,
            prefix: String::new(),
            content_type_attribute,
            part_size: 8 << 20,
            max_concurrency: 4,
        }
    }

    /// The same store with objects under `prefix/` in the bucket or folder (e.g. `media`);
    /// letters, digits, `-`, `_` and `/`-separated segments only (else `Validation`).
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_matches('/');
        let ok = prefix
            .split('/')
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if !ok {
            return Err(Error::invalid("prefix", "object_prefix", "a prefix is /-separated segments of [A-Za-z0-9_-]"));
        }
        self.prefix = format!("{prefix}/");
        Ok(self)
    }

    /// The same store with multipart parts of `bytes` (at least [`MIN_PART_SIZE`]; smaller
    /// values are raised to it).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// The same store with at most `parts` multipart parts in flight per upload (at least 1).
    pub fn with_max_concurrency(mut self, parts: usize) -> Self {
        self.max_concurrency = parts.max(1);
        self
    }

    /// The same store with object URLs under `base` (a CDN in front of the bucket) instead of
    /// the bucket's own URL. Presigned URLs are not affected.
    pub fn with_public_base_url(mut self, base: Url) -> Self {
        self.base_url = base;
        self
    }

    /// The underlying `object_store`.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn path(&self, key: &MediaKey) -> Path {
        Path::from(format!("{}{}", self.prefix, key.as_str()))
    }

    fn meta(&self, meta: object_store::ObjectMeta) -> Option<MediaMeta> {
        let text = meta.location.as_ref();
        let key = MediaKey::parse(text.strip_prefix(&self.prefix)?).ok()?;
        Some(MediaMeta { key, size: meta.size, last_modified: meta.last_modified })
    }

    fn attributes(&self, key: &MediaKey) -> Attributes {
        let mut attributes = Attributes::new();
        if self.content_type_attribute {
            attributes.insert(Attribute::ContentType, key.format().mime().into());
        }
        attributes
    }

    /// Stream the checked upload into the store: one put below a part, else multipart.
    async fn write(&self, key: &MediaKey, upload: &mut Upload, guard: &mut AbortOnDrop) -> Result<()> {
        let path = self.path(key);
        let mut head = PutPayloadMut::new();
        while let Some(chunk) = upload.next_chunk().await? {
            if let Some(writer) = guard.0.as_mut() {
                writer.wait_for_capacity(self.max_concurrency).await.map_err(|e| from_store(e, Some(key)))?;
                writer.put(chunk);
                continue;
            }
            head.push(chunk);
            if head.content_length() >= self.part_size {
                let opts = PutMultipartOptions { attributes: self.attributes(key), ..Default::default() };
                let multipart =
                    self.store.put_multipart_opts(&path, opts).await.map_err(|e| from_store(e, Some(key)))?;
                let mut writer = WriteMultipart::new_with_chunk_size(multipart, self.part_size);
                for part in std::mem::take(&mut head).freeze() {
                    writer.put(part);
                }
                guard.0 = Some(writer);
            }
        }
        match guard.0.take() {
            Some(writer) => writer.finish().await.map(|_| ()).map_err(|e| from_store(e, Some(key))),
            None => {
                let opts = PutOptions { attributes: self.attributes(key), ..Default::default() };
                self.store.put_opts(&path, head.freeze(), opts).await.map(|_| ()).map_err(|e| from_store(e, Some(key)))
            }
        }
    }
}

/// Aborts a multipart upload left unfinished: on an error, or when the upload's future is
/// dropped half-way (the abort then runs on a spawned task).
struct AbortOnDrop(Option<WriteMultipart>);

impl AbortOnDrop {
    async fn abort(&mut self) {
        if let Some(writer) = self.0.take()
            && let Err(e) = writer.abort().await
        {
            tracing::warn!(error = %e, "aborting a failed multipart upload failed");
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        if let Err(e) = writer.abort().await {
                            tracing::warn!(error = %e, "aborting a dropped multipart upload failed");
                        }
                    });
                }
                Err(_) => tracing::warn!("a multipart upload was dropped outside a runtime and not aborted"),
            }
        }
    }
}

#[async_trait]
impl MediaStore for ObjectMediaStore {
    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn put(&self, team: TeamId, key: &MediaKey, mut upload: Upload) -> Result<StoredMedia> {
        check_put(team, key, &upload)?;
        let mut guard = AbortOnDrop(None);
        if let Err(e) = self.write(key, &mut upload, &mut guard).await {
            guard.abort().await;
            return Err(e);
        }
        Ok(StoredMedia { key: key.clone(), inspected: upload.finish()? })
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn get(&self, team: TeamId, key: &MediaKey, range: Option<ByteRange>) -> Result<MediaDownload> {
        key.check_team(team)?;
        let path = self.path(key);
        let mut options = GetOptions::default();
        if let Some(range) = range {
            // Stores differ on a range past the end; resolve it against the size first, so
            // every store answers alike.
            let size = self.store.head(&path).await.map_err(|e| from_store(e, Some(key)))?.size;
            options.range = Some(GetRange::Bounded(range.within(size)?));
        }
        let got = self.store.get_opts(&path, options).await.map_err(|e| from_store(e, Some(key)))?;
        let meta = MediaMeta { key: key.clone(), size: got.meta.size, last_modified: got.meta.last_modified };
        let range = got.range.clone();
        let body = got.into_stream().map_err(std::io::Error::other).boxed();
        Ok(MediaDownload { meta, range, body })
    }

    async fn head(&self, team: TeamId, key: &MediaKey) -> Result<MediaMeta> {
        key.check_team(team)?;
        let meta = self.store.head(&self.path(key)).await.map_err(|e| from_store(e, Some(key)))?;
        Ok(MediaMeta { key: key.clone(), size: meta.size, last_modified: meta.last_modified })
    }

    async fn delete(&self, team: TeamId, key: &MediaKey) -> Result<()> {
        key.check_team(team)?;
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(from_store(e, Some(key))),
        }
    }

    fn list(&self, prefix: MediaPrefix) -> BoxStream<'_, Result<MediaMeta>> {
        let path = Path::from(format!("{}{}", self.prefix, prefix.as_path().trim_end_matches('/')));
        self.store
            .list(Some(&path))
            .map_err(|e| from_store(e, None))
            .try_filter_map(move |meta| {
                let found = self.meta(meta).filter(|m| prefix.contains(&m.key));
                futures::future::ready(Ok(found))
            })
            .boxed()
    }

    async fn presign(
        &self,
        team: TeamId,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
    ) -> Result<PresignedUrl> {
        key.check_team(team)?;
        check_expiry(expires_in)?;
        match &self.signing {
            Signing::Hmac(signer) => signer.sign(key, method, expires_in, Utc::now()),
            Signing::Store(signer) => {
                let now = Utc::now();
                let http_method = match method {
                    PresignMethod::Get => object_store::signer::Method::GET,
                    PresignMethod::Put => object_store::signer::Method::PUT,
                };
                let lifetime = expires_in.to_std().map_err(|_| {
                    Error::invalid("expires_in", "expiry_out_of_range", "a presigned URL lives 1 second to 7 days")
                })?;
                let url = signer
                    .signed_url(http_method, &self.path(key), lifetime)
                    .await
                    .map_err(|e| from_store(e, Some(key)))?;
                Ok(PresignedUrl { url, method, expires_at: now + expires_in })
            }
        }
    }

    /// On S3, `{bucket URL or public base}{prefix}{key}`; with HMAC signing, `{signer
    /// base}{key}` (the prefix is the store's own layout, not part of the served address).
    fn url(&self, key: &MediaKey) -> Url {
        let relative = match self.signing {
            Signing::Store(_) => format!("{}{}", self.prefix, key.as_str()),
            Signing::Hmac(_) => key.as_str().to_owned(),
        };
        self.base_url.join(&relative).unwrap_or_else(|_| self.base_url.clone())
    }
}

impl PresignedUrlVerifier for ObjectMediaStore {
    /// Verifies this store's HMAC-signed URLs; an S3 store's URLs are verified by S3 itself,
    /// so there every URL is `MalformedPresignedUrl`.
    fn verify_presigned(&self, method: PresignMethod, url: &Url) -> Result<MediaKey> {
        match &self.signing {
            Signing::Hmac(signer) => signer.verify(method, url, Utc::now()),
            Signing::Store(_) => Err(Error::Crypto(CryptoFailure::MalformedPresignedUrl)),
        }
    }
}
