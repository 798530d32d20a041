//! `MediaService` on the in-memory backends, with failures injected: an attach the post
//! refuses, a store whose deletes fail, a post deleted with its objects, and the orphan sweep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::clock::ManualClock;
use clientnest_core::error::{Error, Result, store};
use clientnest_core::media::{
    ByteRange, MediaDownload, MediaKey, MediaMeta, MediaPrefix, MediaService, MediaStore, PresignMethod, PresignedUrl,
    StoredMedia, Upload, sample,
};
use clientnest_core::memory::{MemoryMediaStore, MemoryStore};
use clientnest_core::prelude::*;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use sha2::Digest;
use url::Url;

/// The in-memory store whose deletes fail while `fail_deletes` is set.
#[derive(Debug)]
struct FlakyDeletes {
    inner: MemoryMediaStore,
    fail_deletes: AtomicBool,
}

#[async_trait]
impl MediaStore for FlakyDeletes {
    async fn put(&self, team: TeamId, key: &MediaKey, upload: Upload) -> Result<StoredMedia> {
        self.inner.put(team, key, upload).await
    }
    async fn get(&self, team: TeamId, key: &MediaKey, range: Option<ByteRange>) -> Result<MediaDownload> {
        self.inner.get(team, key, range).await
    }
    async fn head(&self, team: TeamId, key: &MediaKey) -> Result<MediaMeta> {
        self.inner.head(team, key).await
    }
    async fn delete(&self, team: TeamId, key: &MediaKey) -> Result<()> {
        if self.fail_deletes.load(Ordering::SeqCst) {
            return Err(Error::unavailable(store::LOCAL, "injected: the store is down"));
        }
        self.inner.delete(team, key).await
    }
    fn list(&self, prefix: MediaPrefix) -> BoxStream<'_, Result<MediaMeta>> {
        self.inner.list(prefix)
    }
    async fn presign(
        &self,
        team: TeamId,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
    ) -> Result<PresignedUrl> {
        self.inner.presign(team, key, method, expires_in).await
    }
    fn url(&self, key: &MediaKey) -> Url {
        self.inner.url(key)
    }
}

struct World {
    repos: Arc<MemoryStore>,
    store: Arc<FlakyDeletes>,
    media: MediaService<FlakyDeletes, MemoryStore>,
    clock: ManualClock,
    team: TeamId,
    user: UserId,
}

async fn world() -> World {
    let clock = ManualClock::starting_now();
    let repos = Arc::new(MemoryStore::with_clock(Arc::new(clock.clone())));
    let store = Arc::new(FlakyDeletes {
        inner: MemoryMediaStore::with_clock(Arc::new(clock.clone())),
        fail_deletes: AtomicBool::new(false),
    });
    let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG");
    let ada = repos.create_user(NewUser::new("ada@example.com", hash, "Ada", "L")).await.expect("a user");
    let (team, _) = repos.create_team(NewTeam::new("Engines", ada.id, PlanType::Starter)).await.expect("a team");
    let media = MediaService::new(Arc::clone(&store), Arc::clone(&repos)).with_clock(Arc::new(clock.clone()));
    World { repos, store, media, clock, team: team.id, user: ada.id }
}

impl World {
    async fn post(&self, platforms: Vec<Platform>) -> PostId {
        self.post_with(platforms, Vec::new()).await
    }

    async fn post_with(&self, platforms: Vec<Platform>, media: Vec<NewPostMedia>) -> PostId {
        let mut post = NewPost::draft(self.user, "With media");
        post.platforms = platforms;
        post.media = media;
        self.repos.create_post(self.team, post).await.expect("a post").post.id
    }

    async fn objects(&self, prefix: MediaPrefix) -> Vec<MediaKey> {
        self.store.list(prefix).map_ok(|m| m.key).try_collect().await.expect("list")
    }
}

#[tokio::test]
async fn an_upload_is_stored_then_attached_with_its_url_size_dimensions_and_hash() {
    let w = world().await;
    let post = w.post(vec![Platform::Facebook]).await;
    let png = sample::png(8, 6);
    let item = w.media.upload_bytes(w.team, post, "image/png", png.clone(), "alt").await.expect("uploaded");
    assert_eq!(item.media_type, MediaType::Image);
    assert_eq!(item.file_size, png.len() as i64);
    assert_eq!(item.dimensions, Some(Dimensions { width: 8, height: 6 }));
    assert_eq!(item.content_hash.as_deref(), Some(hex::encode(sha2::Sha256::digest(&png)).as_str()));
    let keys = w.objects(MediaPrefix::Post(w.team, post)).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(item.file_url, w.store.url(&keys[0]).to_string());
    assert_eq!(w.repos.get_post(w.team, post).await.expect("post").media, vec![item]);
}

#[tokio::test]
async fn a_failed_attach_deletes_the_object() {
    let w = world().await;
    // YouTube takes exactly one video: a second item is stored, then its attach is refused.
    let video = NewPostMedia::new(MediaType::Video, "https://cdn.example.com/v.mp4", 1_000);
    let post = w.post_with(vec![Platform::YouTube], vec![video]).await;
    let err = w.media.upload_bytes(w.team, post, "image/png", sample::png(2, 2), "").await.expect_err("refused");
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert!(w.objects(MediaPrefix::Team(w.team)).await.is_empty(), "the object outlived its refused attach");
    assert_eq!(w.repos.get_post(w.team, post).await.expect("post").media.len(), 1);
}

#[tokio::test]
async fn an_upload_to_a_missing_post_or_over_the_platform_limit_stores_nothing() {
    let w = world().await;
    let missing = PostId::new();
    let err = w.media.upload_bytes(w.team, missing, "image/png", sample::png(1, 1), "").await.expect_err("no post");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    // Facebook images stop at 4 MB, X's at 5 MB: the strictest applies.
    let post = w.post(vec![Platform::Twitter, Platform::Facebook]).await;
    let mut big = sample::png(1, 1);
    big.resize(4_000_001, 0);
    let err = w.media.upload_bytes(w.team, post, "image/png", big, "").await.expect_err("too large");
    assert_eq!(err.rule(), Some("too_large"));
    assert!(w.objects(MediaPrefix::Team(w.team)).await.is_empty());
}

#[tokio::test]
async fn removing_an_item_deletes_its_row_then_its_object() {
    let w = world().await;
    let post = w.post(vec![]).await;
    let first = w.media.upload_bytes(w.team, post, "image/png", sample::png(1, 1), "").await.expect("first");
    let second = w.media.upload_bytes(w.team, post, "image/gif", sample::gif(3, 3), "").await.expect("second");
    w.media.remove(w.team, post, first.id).await.expect("removed");
    let left = w.repos.get_post(w.team, post).await.expect("post").media;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].id, left[0].order_index), (second.id, 0));
    let keys = w.objects(MediaPrefix::Post(w.team, post)).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(w.store.url(&keys[0]).to_string(), second.file_url);
}

#[tokio::test]
async fn deleting_a_post_deletes_its_objects_and_the_sweep_takes_what_a_failure_left() {
    let w = world().await;
    let kept = w.post(vec![]).await;
    let kept_item = w.media.upload_bytes(w.team, kept, "image/png", sample::png(1, 1), "").await.expect("kept");
    let gone = w.post(vec![]).await;
    for _ in 0..2 {
        w.media.upload_bytes(w.team, gone, "image/png", sample::png(2, 1), "").await.expect("uploaded");
    }
    let flaky = w.post(vec![]).await;
    w.media.upload_bytes(w.team, flaky, "image/png", sample::png(1, 2), "").await.expect("uploaded");

    let report = w.media.delete_post(w.team, gone).await.expect("deleted");
    assert_eq!((report.objects_deleted, report.objects_left), (2, 0));
    assert!(w.objects(MediaPrefix::Post(w.team, gone)).await.is_empty());

    // The store is down while the next post is deleted: the row goes, the object stays.
    w.store.fail_deletes.store(true, Ordering::SeqCst);
    let report = w.media.delete_post(w.team, flaky).await.expect("the post is deleted anyway");
    assert_eq!((report.objects_deleted, report.objects_left), (0, 1));
    assert!(matches!(w.repos.get_post(w.team, flaky).await, Err(Error::NotFound { .. })));
    w.store.fail_deletes.store(false, Ordering::SeqCst);

    // An orphan younger than the grace period is kept (its upload may be attaching now).
    let early = w.media.sweep_orphans(Duration::hours(1)).await.expect("sweep");
    assert_eq!((early.scanned, early.deleted, early.recent_kept), (2, 0, 1));
    w.clock.advance(Duration::hours(2));
    let later = w.media.sweep_orphans(Duration::hours(1)).await.expect("sweep");
    assert_eq!((later.scanned, later.deleted, later.recent_kept), (2, 1, 0));
    let left = w.objects(MediaPrefix::Team(w.team)).await;
    assert_eq!(left.len(), 1);
    assert_eq!(w.store.url(&left[0]).to_string(), kept_item.file_url);
}
