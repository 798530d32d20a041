//! A cache-aside decorator for the user repository: reads of `user:{id}` are served from any
//! [`Cache`] (Redis in production, [`MemoryKv`](crate::memory::MemoryKv) in tests), every update
//! and delete invalidates the entry.
//!
//! The cache holds no password hash: [`User`] serializes without it, and `get_user` answers
//! with the [absent](crate::secret::PasswordHash::is_absent) hash on a hit and on a miss alike.
//! Check passwords against the user of the repository ([`CachedUsers::repository`] or
//! `find_user_by_email`, which goes to the repository).
//!
//! ```
//! use std::sync::Arc;
//! use chrono::Duration;
//! use clientnest_core::cache_aside::CachedUsers;
//! use clientnest_core::memory::{MemoryKv, MemoryStore};
//! use clientnest_core::prelude::*;
//! use clientnest_core::secret::PasswordHash;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let users = CachedUsers::new(Arc::new(MemoryStore::new()), Arc::new(MemoryKv::new()), Duration::minutes(5));
//! let hash = hash_password(&Secret::new("correct horse battery staple"))?;
//! let ada = users.create_user(NewUser::new("ada@example.com", hash, "Ada", "Lovelace")).await?;
//! let hash_free = User { password_hash: PasswordHash::absent(), ..ada.clone() };
//! assert_eq!(users.get_user(ada.id).await?, hash_free); // loaded, then cached
//! assert_eq!(users.get_user(ada.id).await?, hash_free); // served from the cache
//! let renamed = users.update_user(ada.id, UserUpdate { first_name: Some("Augusta".into()), ..Default::default() }).await?;
//! assert_eq!(users.get_user(ada.id).await?.first_name, "Augusta"); // the update invalidated the entry
//! assert!(verify_password(&Secret::new("correct horse battery staple"), &users.repository().get_user(ada.id).await?.password_hash)?);
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Duration;

use crate::cache::CacheExt;
use crate::error::{Entity, Error, Result};
use crate::ids::UserId;
use crate::model::{CacheKey, NewUser, User, UserUpdate, check_ttl};
use crate::ports::{Cache, UserRepository};
use crate::secret::PasswordHash;

/// A [`UserRepository`] that serves `get_user` from a [`Cache`] (key
/// [`CacheKey::user`], i.e. `user:{id}`) and loads misses from the wrapped repository.
///
/// Both sides are shared handles (`Arc`), so trait objects work too:
/// `CachedUsers<dyn Repositories, dyn KvStores>` over the backends an application picked at run
/// time.
///
/// - Concurrent misses of one user run one load (the cache's load lock, see
///   [`CacheExt::get_or_load`]); the others get the loaded value.
/// - A slow reader never leaves a stale user behind: the loaded user is stored only if the
///   entry's generation (kept by the cache backend, so across processes) did not move while it
///   loaded, and every update and delete advances it. After `update_user` returns, every
///   `get_user` sees the update (or a later one).
/// - Users returned by `get_user` carry no password hash
///   ([`PasswordHash::absent`](crate::secret::PasswordHash::absent)), whether they came from
///   the cache or the repository, and the cached entry holds none; `update_user`,
///   `create_user` and `find_user_by_email` answer from the repository, hash included.
/// - A missing user is never cached: the next read asks the repository again.
/// - `update_user` and `delete_user` delete the entry before and after the write (a reader
///   that loaded the old row meanwhile cannot leave it behind). If the entry cannot be deleted
///   the call fails with the cache's error: before the write when the cache is down (nothing
///   changes), after it when the cache failed in between (the repository changed; retry the
///   call). A stale user (say, still active after being deactivated) must not go unnoticed.
/// - When the cache fails on a read, the read goes to the repository.
/// - Changes made to the repository around the decorator are seen once the entry expires.
#[derive(Debug)]
pub struct CachedUsers<R: ?Sized, C: ?Sized> {
    repo: Arc<R>,
    cache: Arc<C>,
    ttl: Duration,
}

impl<R: ?Sized, C: ?Sized> Clone for CachedUsers<R, C> {
    fn clone(&self) -> Self {
        Self { repo: Arc::clone(&self.repo), cache: Arc::clone(&self.cache), ttl: self.ttl }
    }
}

impl<R: UserRepository + ?Sized, C: Cache + ?Sized> CachedUsers<R, C> {
    /// Wrap a repository, caching users in `cache` for `ttl` (1 ms to 366 days; a TTL out of
    /// that range makes `get_user` fail with [`Error::Validation`]).
    pub fn new(repo: Arc<R>, cache: Arc<C>, ttl: Duration) -> Self {
        Self { repo, cache, ttl }
    }

    /// How long users stay cached.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The wrapped repository (writes made through it bypass invalidation).
    pub fn repository(&self) -> &Arc<R> {
        &self.repo
    }

    /// The cache holding the users (`user:{id}` keys), for `ttl` each.
    pub fn cache(&self) -> &Arc<C> {
        &self.cache
    }

    /// Drop a user's entry and advance its generation (so a load in flight is not stored).
    async fn invalidate(&self, id: UserId) -> Result<()> {
        self.cache.delete(&CacheKey::user(id)).await.map(|_| ())
    }

    /// Run a write between two invalidations of the user's entry.
    async fn write_through<T>(&self, id: UserId, write: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.invalidate(id).await?;
        let outcome = write.await;
        self.invalidate(id).await?;
        outcome
    }

    /// `get_user` through the cache; a user loaded on a miss still has its hash here.
    async fn get_user_with_hash(&self, id: UserId) -> Result<User> {
        check_ttl("ttl", self.ttl)?;
        let loader_failed = AtomicBool::new(false);
        let load = || async {
            match self.repo.get_user(id).await {
                Ok(user) => Ok(Some(user)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => {
                    loader_failed.store(true, Ordering::Relaxed);
                    Err(e)
                }
            }
        };
        match self.cache.get_or_load(&CacheKey::user(id), self.ttl, load).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Error::not_found(Entity::User, id)),
            Err(e) if loader_failed.load(Ordering::Relaxed) => Err(e),
            Err(e) => {
                tracing::warn!(user = %id, error = %e, "user cache failed; reading the repository");
                self.repo.get_user(id).await
            }
        }
    }
}

/// The user as `get_user` answers it: without its password hash.
fn without_hash(mut user: User) -> User {
    user.password_hash = PasswordHash::absent();
    user
}

#[async_trait]
impl<R: UserRepository + ?Sized, C: Cache + ?Sized> UserRepository for CachedUsers<R, C> {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.repo.create_user(user).await
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.get_user_with_hash(id).await.map(without_hash)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.repo.find_user_by_email(email).await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        self.write_through(id, self.repo.update_user(id, update)).await
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        self.write_through(id, self.repo.delete_user(id)).await
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use std::sync::{Arc, OnceLock};

    use super::*;
    use crate::clock::ManualClock;
    use crate::crypto::hash_password;
    use crate::memory::{MemoryKv, MemoryStore};
    use crate::secret::{PasswordHash, Secret};

    /// One argon2id hash for every test user (hashing is slow in debug builds).
    fn hash() -> PasswordHash {
        static HASH: OnceLock<PasswordHash> = OnceLock::new();
        HASH.get_or_init(|| hash_password(&Secret::new("cache-aside tests")).expect("hashing")).clone()
    }

    /// A decorator over fresh memory backends sharing one manual clock, and a stored user.
    /// The cache TTL of the tests.
    const TTL_SECONDS: i64 = 300;

    async fn setup() -> (CachedUsers<MemoryStore, MemoryKv>, ManualClock, User) {
        let clock = ManualClock::starting_now();
        let store = Arc::new(MemoryStore::with_clock(Arc::new(clock.clone())));
        let kv = Arc::new(MemoryKv::with_clock(Arc::new(clock.clone())));
        let users = CachedUsers::new(store, kv, Duration::seconds(TTL_SECONDS));
        let ada = users.create_user(NewUser::new("ada@example.com", hash(), "Ada", "Lovelace")).await.expect("create");
        (users, clock, ada)
    }

    fn rename(first: &str) -> UserUpdate {
        UserUpdate { first_name: Some(first.to_owned()), ..UserUpdate::default() }
    }

    #[tokio::test]
    async fn reads_are_served_from_the_cache_until_it_expires() {
        let (users, clock, ada) = setup().await;
        let ada = without_hash(ada);
        assert_eq!(users.get_user(ada.id).await.expect("get"), ada, "loaded on a miss");
        let cached = users.cache().get::<User>(&CacheKey::user(ada.id)).await.expect("cache get");
        assert_eq!(cached, Some(ada.clone()), "the loaded user is cached under user:{{id}}, without its hash");

        // A change behind the decorator's back is not seen while the entry lives.
        users.repository().update_user(ada.id, rename("Hidden")).await.expect("direct update");
        assert_eq!(users.get_user(ada.id).await.expect("get").first_name, "Ada", "served from the cache");

        clock.advance(Duration::seconds(TTL_SECONDS + 1));
        assert_eq!(users.get_user(ada.id).await.expect("get").first_name, "Hidden", "reloaded after the TTL");
    }

    #[tokio::test]
    async fn updates_and_deletes_invalidate() {
        let (users, _clock, ada) = setup().await;
        users.get_user(ada.id).await.expect("cache ada");
        let renamed = without_hash(users.update_user(ada.id, rename("Augusta")).await.expect("update"));
        assert_eq!(users.get_user(ada.id).await.expect("get"), renamed, "an update invalidates");

        let refused =
            users.update_user(ada.id, UserUpdate { email: Some("not an email".into()), ..Default::default() });
        assert!(matches!(refused.await, Err(Error::Validation(_))), "the repository's errors pass through");
        assert_eq!(users.get_user(ada.id).await.expect("get"), renamed, "a refused update changes nothing");

        users.delete_user(ada.id).await.expect("delete");
        assert!(matches!(users.get_user(ada.id).await, Err(Error::NotFound { entity: Entity::User, .. })));
        assert_eq!(users.cache().get_bytes(&CacheKey::user(ada.id)).await.expect("cache get"), None);
    }

    #[tokio::test]
    async fn a_miss_is_never_cached() {
        let (users, _clock, _ada) = setup().await;
        let ghost = UserId::new();
        assert!(matches!(users.get_user(ghost).await, Err(Error::NotFound { entity: Entity::User, .. })));
        assert_eq!(users.cache().get_bytes(&CacheKey::user(ghost)).await.expect("cache get"), None, "no entry");
        assert!(users.cache().try_lock(&CacheKey::user(ghost), Duration::seconds(1)).await.expect("lock").is_some());
    }

    #[tokio::test]
    async fn the_ttl_is_checked() {
        let (users, _clock, ada) = setup().await;
        let bad = CachedUsers::new(Arc::clone(users.repository()), Arc::clone(users.cache()), Duration::zero());
        assert!(matches!(bad.get_user(ada.id).await, Err(Error::Validation(_))), "a zero TTL is refused");
        assert_eq!(users.ttl(), Duration::seconds(TTL_SECONDS));
    }

    #[tokio::test]
    async fn trait_objects_work() {
        let (users, _clock, ada) = setup().await;
        let repo: Arc<dyn UserRepository> = users.repository().clone();
        let cache: Arc<dyn Cache> = users.cache().clone();
        let dynamic = CachedUsers::new(repo, cache, Duration::seconds(60));
        assert_eq!(dynamic.get_user(ada.id).await.expect("get"), without_hash(ada));
    }

    /// A cache that is always down.
    #[derive(Debug)]
    struct DownCache;

    fn down() -> Error {
        Error::unavailable("test", "cache down")
    }

    #[async_trait]
    impl Cache for DownCache {
        async fn get_bytes(&self, _: &CacheKey) -> Result<Option<Vec<u8>>> {
            Err(down())
        }
        async fn set_bytes(&self, _: &CacheKey, _: Vec<u8>, _: Duration) -> Result<()> {
            Err(down())
        }
        async fn delete(&self, _: &CacheKey) -> Result<bool> {
            Err(down())
        }
        async fn generation(&self, _: &CacheKey) -> Result<u64> {
            Err(down())
        }
        async fn set_bytes_if_generation(&self, _: &CacheKey, _: Vec<u8>, _: Duration, _: u64) -> Result<bool> {
            Err(down())
        }
        async fn try_lock(&self, _: &CacheKey, _: Duration) -> Result<Option<String>> {
            Err(down())
        }
        async fn unlock(&self, _: &CacheKey, _: &str) -> Result<()> {
            Err(down())
        }
    }

    #[tokio::test]
    async fn reads_survive_a_cache_outage_but_writes_report_it() {
        let users = CachedUsers::new(Arc::new(MemoryStore::new()), Arc::new(DownCache), Duration::seconds(60));
        let ada = users.create_user(NewUser::new("ada@example.com", hash(), "Ada", "L")).await.expect("create");
        assert_eq!(users.get_user(ada.id).await.expect("read from the repository"), without_hash(ada.clone()));
        let err = users.update_user(ada.id, rename("X")).await.expect_err("cannot invalidate");
        assert!(err.is_retryable(), "the cache's Unavailable: {err:?}");
    }
}
