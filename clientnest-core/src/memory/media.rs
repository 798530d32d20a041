//! The in-memory media store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use url::Url;

use crate::clock::{SharedClock, system_clock, to_micros};
use crate::error::{Entity, Error, Result};
use crate::ids::TeamId;
use crate::media::{
    ByteRange, MediaDownload, MediaKey, MediaMeta, MediaPrefix, MediaStore, PresignMethod, PresignedUrl,
    PresignedUrlVerifier, StoredMedia, Upload, UrlSigner, check_put,
};

/// [`MediaStore`] in memory, with HMAC-signed URLs under `http://media.memory.invalid/` (or a
/// base of your choice) and expiry on its [`Clock`](crate::clock::Clock). An object appears
/// only once its whole upload was checked, so a refused or dropped upload leaves nothing.
#[derive(Debug, Clone)]
pub struct MemoryMediaStore {
    objects: Arc<Mutex<BTreeMap<String, Stored>>>,
    signer: UrlSigner,
    clock: SharedClock,
}

#[derive(Debug, Clone)]
struct Stored {
    key: MediaKey,
    bytes: Bytes,
    last_modified: DateTime<Utc>,
}

impl Default for MemoryMediaStore {
    fn default() -> Self {
        MemoryMediaStore::new()
    }
}

impl MemoryMediaStore {
    /// An empty store on the system clock, signing URLs with a random key.
    pub fn new() -> MemoryMediaStore {
        MemoryMediaStore::with_clock(system_clock())
    }

    /// An empty store reading time from `clock` (object times, URL expiry).
    pub fn with_clock(clock: SharedClock) -> MemoryMediaStore {
        let base = Url::parse("http://media.memory.invalid/").expect("a constant, valid URL");
        let signer = UrlSigner::random(base).expect("a valid base and a 32-byte key");
        MemoryMediaStore { objects: Arc::default(), signer, clock }
    }

    /// The same store signing URLs with `signer` (its base is then the objects' address).
    pub fn with_signer(mut self, signer: UrlSigner) -> MemoryMediaStore {
        self.signer = signer;
        self
    }

    fn objects(&self) -> MutexGuard<'_, BTreeMap<String, Stored>> {
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn meta(stored: &Stored) -> MediaMeta {
        MediaMeta { key: stored.key.clone(), size: stored.bytes.len() as u64, last_modified: stored.last_modified }
    }

    fn find(&self, team: TeamId, key: &MediaKey) -> Result<Stored> {
        key.check_team(team)?;
        self.objects().get(key.as_str()).cloned().ok_or_else(|| Error::not_found(Entity::Media, key))
    }
}

#[async_trait]
impl MediaStore for MemoryMediaStore {
    async fn put(&self, team: TeamId, key: &MediaKey, mut upload: Upload) -> Result<StoredMedia> {
        check_put(team, key, &upload)?;
        let mut bytes = BytesMut::new();
        while let Some(chunk) = upload.next_chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        let inspected = upload.finish()?;
        let stored = Stored { key: key.clone(), bytes: bytes.freeze(), last_modified: to_micros(self.clock.now()) };
        self.objects().insert(key.as_str().to_owned(), stored);
        Ok(StoredMedia { key: key.clone(), inspected })
    }

    async fn get(&self, team: TeamId, key: &MediaKey, range: Option<ByteRange>) -> Result<MediaDownload> {
        let stored = self.find(team, key)?;
        let size = stored.bytes.len() as u64;
        let range = match range {
            Some(r) => r.within(size)?,
            None => 0..size,
        };
        let (start, end) =
            (usize::try_from(range.start).unwrap_or(usize::MAX), usize::try_from(range.end).unwrap_or(usize::MAX));
        let body = stored.bytes.slice(start..end);
        Ok(MediaDownload { meta: Self::meta(&stored), range, body: stream::iter([Ok(body)]).boxed() })
    }

    async fn head(&self, team: TeamId, key: &MediaKey) -> Result<MediaMeta> {
        Ok(Self::meta(&self.find(team, key)?))
    }

    async fn delete(&self, team: TeamId, key: &MediaKey) -> Result<()> {
        key.check_team(team)?;
        self.objects().remove(key.as_str());
        Ok(())
    }

    fn list(&self, prefix: MediaPrefix) -> BoxStream<'_, Result<MediaMeta>> {
        let found: Vec<Result<MediaMeta>> =
            self.objects().values().filter(|s| prefix.contains(&s.key)).map(|s| Ok(Self::meta(s))).collect();
        stream::iter(found).boxed()
    }

    async fn presign(
        &self,
        team: TeamId,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
    ) -> Result<PresignedUrl> {
        key.check_team(team)?;
        self.signer.sign(key, method, expires_in, self.clock.now())
    }

    fn url(&self, key: &MediaKey) -> Url {
        self.signer.url(key)
    }
}

impl PresignedUrlVerifier for MemoryMediaStore {
    fn verify_presigned(&self, method: PresignMethod, url: &Url) -> Result<MediaKey> {
        self.signer.verify(method, url, self.clock.now())
    }
}
