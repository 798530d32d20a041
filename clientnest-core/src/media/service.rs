//! `MediaService`: objects and `post_media` rows kept consistent.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Duration;
use futures::stream::{Stream, TryStreamExt};

use super::key::{MediaKey, MediaPrefix};
use super::limits::MediaLimits;
use super::port::MediaStore;
use super::upload::Upload;
use crate::clock::{SharedClock, system_clock};
use crate::error::{Error, Result};
use crate::ids::{PostId, PostMediaId, TeamId};
use crate::model::{NewPostMedia, PostMedia};
use crate::ports::PostRepository;

/// Uploads media for posts and keeps objects and `post_media` rows consistent:
///
/// - [`upload`](MediaService::upload) stores the object (checked as it streams, within the
///   strictest limits of the post's platforms), then attaches a row with its URL, size,
///   dimensions and SHA-256; when the attach fails the object is deleted again;
/// - [`attach_uploaded`](MediaService::attach_uploaded) checks an object a client wrote with
///   a presigned PUT (on S3 it went to the bucket unchecked), then attaches it, or deletes it;
/// - [`remove`](MediaService::remove) detaches a row, then deletes its object;
/// - [`delete_post`](MediaService::delete_post) deletes the post (its rows go with it), then
///   every object under the post's prefix;
/// - [`sweep_orphans`](MediaService::sweep_orphans) deletes objects older than a grace period
///   that no row refers to (left by a crash between the two steps, or a failed delete).
///
/// The row is always written after the object and removed before it, so a row never points at
/// a missing object; the worst a crash leaves is an orphan object, which the sweep removes.
pub struct MediaService<S: ?Sized, R: ?Sized> {
    store: Arc<S>,
    posts: Arc<R>,
    clock: SharedClock,
}

impl<S: ?Sized, R: ?Sized> Clone for MediaService<S, R> {
    fn clone(&self) -> Self {
        MediaService { store: Arc::clone(&self.store), posts: Arc::clone(&self.posts), clock: Arc::clone(&self.clock) }
    }
}

impl<S: ?Sized, R: ?Sized> std::fmt::Debug for MediaService<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaService").finish_non_exhaustive()
    }
}

/// What [`MediaService::delete_post`] did with the post's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PostDeletion {
    /// Objects deleted.
    pub objects_deleted: u64,
    /// Objects whose delete failed; they are orphans now, for the sweep (a warning is logged).
    pub objects_left: u64,
}

/// What [`MediaService::sweep_orphans`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Objects listed.
    pub scanned: u64,
    /// Orphans deleted.
    pub deleted: u64,
    /// Objects without a row but younger than the grace period (an upload may be attaching
    /// them right now), kept.
    pub recent_kept: u64,
}

impl<S, R> MediaService<S, R>
where
    S: MediaStore + ?Sized,
    R: PostRepository + ?Sized,
{
    /// A service over a media store and the post repository, on the system clock.
    pub fn new(store: Arc<S>, posts: Arc<R>) -> Self {
        MediaService { store, posts, clock: system_clock() }
    }

    /// The same service reading time from `clock` (the sweep's grace period).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The media store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Upload `body`, declared as `content_type`, as the next media item of the team's post.
    /// Errors: `NotFound` (post) before any byte is read; `Validation` for the content
    /// (see [`Upload::next_chunk`]) or the row (platform fit, alt text); the store's errors.
    /// On any error no object and no row remain.
    pub async fn upload(
        &self,
        team: TeamId,
        post: PostId,
        content_type: &str,
        alt_text: impl Into<String>,
        body: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> Result<PostMedia> {
        let found = self.posts.get_post(team, post).await?;
        let upload = Upload::new(content_type, body)?.with_limits(MediaLimits::for_platforms(&found.post.platforms));
        let key = MediaKey::new(team, post, upload.format());
        let stored = self.store.put(team, &key, upload).await?;
        self.attach(team, &key, stored.inspected, alt_text.into()).await
    }

    /// [`upload`](MediaService::upload) of bytes already in memory.
    pub async fn upload_bytes(
        &self,
        team: TeamId,
        post: PostId,
        content_type: &str,
        bytes: impl Into<Bytes>,
        alt_text: impl Into<String>,
    ) -> Result<PostMedia> {
        let body = futures::stream::iter([Ok(bytes.into())]);
        self.upload(team, post, content_type, alt_text, body).await
    }

    /// Check and attach an object a client wrote with a presigned PUT (on S3 the bytes went
    /// straight to the bucket, unchecked): its bytes are read back through the same checks as
    /// an upload (format, dimensions, the post's platform limits, SHA-256), then attached to
    /// the key's post. An object that fails the checks, or whose attach is refused, is deleted.
    /// Errors as [`upload`](MediaService::upload); `NotFound` (media) when nothing was written.
    pub async fn attach_uploaded(
        &self,
        team: TeamId,
        key: &MediaKey,
        alt_text: impl Into<String>,
    ) -> Result<PostMedia> {
        key.check_team(team)?;
        let found = self.posts.get_post(team, key.post()).await?;
        let download = self.store.get(team, key, None).await?;
        let limits = MediaLimits::for_platforms(&found.post.platforms);
        let mut check = Upload::new(key.format().mime(), download.body)?.with_limits(limits);
        let seen = async {
            while check.next_chunk().await?.is_some() {}
            check.finish()
        }
        .await;
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => {
                self.delete_quietly(team, key, "a presigned upload failed its checks").await;
                return Err(e);
            }
        };
        self.attach(team, key, seen, alt_text.into()).await
    }

    /// Attach a checked object as the next media item of its post, deleting the object when
    /// the attach is refused.
    async fn attach(
        &self,
        team: TeamId,
        key: &MediaKey,
        seen: super::Inspected,
        alt_text: String,
    ) -> Result<PostMedia> {
        let row = NewPostMedia {
            dimensions: seen.dimensions,
            alt_text,
            content_hash: Some(seen.sha256),
            ..NewPostMedia::new(
                seen.format.media_type(),
                self.store.url(key).to_string(),
                i64::try_from(seen.size).unwrap_or(i64::MAX),
            )
        };
        match self.posts.attach_media(team, key.post(), row).await {
            Ok(media) => Ok(media),
            Err(e) => {
                self.delete_quietly(team, key, "attach failed").await;
                Err(e)
            }
        }
    }

    /// Delete an object whose row will not exist; a failure is logged and left to the sweep.
    async fn delete_quietly(&self, team: TeamId, key: &MediaKey, why: &str) {
        if let Err(e) = self.store.delete(team, key).await {
            tracing::warn!(key = %key, error = %e, why, "an object was not deleted; the orphan sweep will remove it");
        }
    }

    /// Detach a media item from its post, then delete its object. A failed object delete is
    /// logged and left to the sweep; the row is gone either way.
    pub async fn remove(&self, team: TeamId, post: PostId, media: PostMediaId) -> Result<PostMedia> {
        let removed = self.posts.detach_media(team, post, media).await?;
        if let Some(key) = self.key_of(&removed) {
            self.delete_quietly(team, &key, "media row removed").await;
        }
        Ok(removed)
    }

    /// Delete a post (its rows and schedules go with it), then every object under its prefix.
    pub async fn delete_post(&self, team: TeamId, post: PostId) -> Result<PostDeletion> {
        self.posts.delete_post(team, post).await?;
        let keys: Vec<MediaKey> =
            self.store.list(MediaPrefix::Post(team, post)).map_ok(|m| m.key).try_collect().await?;
        let mut report = PostDeletion::default();
        for key in keys {
            match self.store.delete(team, &key).await {
                Ok(()) => report.objects_deleted += 1,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "post deleted but an object of it was not; the orphan sweep will remove it");
                    report.objects_left += 1;
                }
            }
        }
        Ok(report)
    }

    /// Delete every object older than `grace` that no `post_media` row refers to (by URL), in
    /// every team. Run it from a periodic job; `grace` must outlast the longest upload plus
    /// attach (an hour is a safe default).
    pub async fn sweep_orphans(&self, grace: Duration) -> Result<SweepReport> {
        let cutoff = self.clock.now() - grace;
        let objects: Vec<_> = self.store.list(MediaPrefix::AllTeams).try_collect().await?;
        let mut report = SweepReport { scanned: objects.len() as u64, ..SweepReport::default() };
        let mut urls_of_post: HashMap<(TeamId, PostId), Vec<String>> = HashMap::new();
        for meta in objects {
            let key = meta.key;
            let (team, post) = (key.team(), key.post());
            let urls = match urls_of_post.entry((team, post)) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(match self.posts.get_post(team, post).await {
                        Ok(p) => p.media.into_iter().map(|m| m.file_url).collect(),
                        Err(Error::NotFound { .. }) => Vec::new(),
                        Err(e) => return Err(e),
                    })
                }
            };
            if urls.contains(&self.store.url(&key).to_string()) {
                continue;
            }
            if meta.last_modified >= cutoff {
                report.recent_kept += 1;
                continue;
            }
            self.store.delete(team, &key).await?;
            report.deleted += 1;
        }
        Ok(report)
    }

    /// The key of a row's object, when its URL is one of this store's: the URL's last five
    /// path segments, parsed, and the store's URL of that key equal to it.
    fn key_of(&self, media: &PostMedia) -> Option<MediaKey> {
        let path = media.file_url.split(['?', '#']).next()?;
        let mut cut = path.len();
        for _ in 0..5 {
            cut = path[..cut].rfind('/')?;
        }
        let key = MediaKey::parse(&path[cut + 1..]).ok()?;
        (self.store.url(&key).as_str() == media.file_url).then_some(key)
    }
}
