//! The user cache ([`CachedUsers`]) over a key-value backend: it never serves a user older
//! than the last update made through it, and what it stores carries no password hash.
//!
//! The repository side is a [`MemoryStore`]; the cache is the backend under test, so on Redis
//! the generation check and the stored bytes are Redis's own.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Duration;
use tokio::sync::Barrier;

use crate::cache_aside::CachedUsers;
use crate::conformance::Harness;
use crate::crypto::hash_password;
use crate::error::Result;
use crate::ids::UserId;
use crate::memory::MemoryStore;
use crate::model::{CacheKey, NewUser, User, UserUpdate};
use crate::ports::UserRepository;
use crate::ports::*;
use crate::secret::{PasswordHash, Secret};

/// One argon2id hash for every user of these tests (hashing is slow in debug builds).
fn hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&Secret::new("cache-aside conformance")).expect("hashing")).clone()
}

/// A user repository whose next `get_user`, once armed, reads the row and then stops on two
/// barriers: `loaded` (the row is read) and `release` (the test let it go on). This is the slow
/// reader of a cache-aside race.
struct PausingUsers {
    inner: MemoryStore,
    armed: AtomicBool,
    loaded: Barrier,
    release: Barrier,
}

impl PausingUsers {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            armed: AtomicBool::new(false),
            loaded: Barrier::new(2),
            release: Barrier::new(2),
        }
    }
}

#[async_trait]
impl UserRepository for PausingUsers {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.inner.create_user(user).await
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        let user = self.inner.get_user(id).await;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.loaded.wait().await;
            self.release.wait().await;
        }
        user
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.inner.find_user_by_email(email).await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        self.inner.update_user(id, update).await
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        self.inner.delete_user(id).await
    }
}

/// A reader that missed, loaded v1 and was slow must not store v1 after a writer committed v2
/// and invalidated: the next read returns v2 (here: the deactivation and the new password
/// hash), not v1 for the whole TTL.
pub async fn cache_aside_never_serves_a_stale_user<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let repo = Arc::new(PausingUsers::new());
    let users = CachedUsers::new(Arc::clone(&repo), Arc::clone(&h.store), Duration::seconds(60));
    let email = format!("stale-{}@example.com", uuid::Uuid::new_v4().simple());
    let v1 = users.create_user(NewUser::new(email, hash(), "Ada", "Lovelace")).await.expect("create");
    assert!(v1.is_active);

    // The reader misses, reads v1 from the repository and stops before storing it.
    repo.armed.store(true, Ordering::SeqCst);
    let reader = {
        let users = users.clone();
        tokio::spawn(async move { users.get_user(v1.id).await })
    };
    repo.loaded.wait().await;

    // Meanwhile a writer deactivates the user and changes the password; the write completes.
    let new_hash = hash_password(&Secret::new("a brand new password")).expect("hashing");
    let update = UserUpdate { is_active: Some(false), password_hash: Some(new_hash.clone()), ..UserUpdate::default() };
    let v2 = users.update_user(v1.id, update).await.expect("update");
    assert!(!v2.is_active);

    // The slow reader goes on; what it answers is its own business (it began before the write),
    // but it must not leave v1 in the cache.
    repo.release.wait().await;
    reader.await.expect("the reader task").expect("the slow read");

    let next = users.get_user(v1.id).await.expect("the next read");
    assert!(!next.is_active, "the next read must see the deactivation, not the stale cached user");
    assert_eq!(next.updated_at, v2.updated_at, "the next read is v2");
    let again = users.get_user(v1.id).await.expect("a cached read");
    assert!(!again.is_active, "and so does the read after it (served from the cache)");
    assert_eq!(repo.inner.get_user(v1.id).await.expect("repository").password_hash, new_hash);
}

/// The cached `user:{id}` entry holds no password hash (the raw bytes in the backend: a Redis
/// `GET`, `MemoryKv`'s stored bytes), and users served by the cache carry none either.
pub async fn cache_aside_stores_no_password_hash<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let users = CachedUsers::new(Arc::new(MemoryStore::new()), Arc::clone(&h.store), Duration::seconds(60));
    let email = format!("nohash-{}@example.com", uuid::Uuid::new_v4().simple());
    let ada = users.create_user(NewUser::new(email, hash(), "Ada", "Lovelace")).await.expect("create");
    assert!(ada.password_hash.as_phc().starts_with("$argon2id$"), "the repository keeps the hash");

    let loaded = users.get_user(ada.id).await.expect("loaded on a miss");
    let raw = h.store.get_bytes(&CacheKey::user(ada.id)).await.expect("raw get").expect("the user is cached");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains(&ada.id.to_string()), "this is the user's entry: {text}");
    assert!(!text.contains("$argon2"), "a password hash in the cache: {text}");
    assert!(!text.contains(ada.password_hash.as_phc()), "a password hash in the cache");
    assert!(!text.contains("password_hash"), "no hash field at all: {text}");

    let cached = users.get_user(ada.id).await.expect("served from the cache");
    for user in [&loaded, &cached] {
        assert!(!user.password_hash.as_phc().contains("argon2"), "a cached read carries no hash");
        assert_eq!((user.id, user.email.as_str(), user.is_active), (ada.id, ada.email.as_str(), true));
    }
    assert_eq!(loaded, cached, "a miss and a hit answer the same");
}

/// The port's generation: 0 for a fresh key, one more per `delete` (whether a value existed
/// or not); `set_bytes_if_generation` stores only under the current generation, checks its
/// input like `set_bytes`, and leaves the value alone when refused.
pub async fn cache_generation_guards_stores<S: Cache + ?Sized + 'static>(h: &Harness<S>) {
    let key = CacheKey::new("conformance", format!("gen-{}", uuid::Uuid::new_v4())).expect("a valid key");
    assert_eq!(h.store.generation(&key).await.expect("generation"), 0, "a fresh key");
    assert!(h.store.set_bytes_if_generation(&key, b"v1".to_vec(), Duration::seconds(60), 0).await.expect("set"));
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"v1".to_vec()));

    assert!(h.store.delete(&key).await.expect("delete"), "the value existed");
    assert_eq!(h.store.generation(&key).await.expect("generation"), 1, "a delete advances it");
    assert!(!h.store.delete(&key).await.expect("delete again"), "nothing to delete");
    assert_eq!(h.store.generation(&key).await.expect("generation"), 2, "so does a delete of nothing");

    let stale = h.store.set_bytes_if_generation(&key, b"old".to_vec(), Duration::seconds(60), 1).await;
    assert!(!stale.expect("a stale store"), "refused under an old generation");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), None, "nothing stored");
    h.store.set_bytes(&key, b"plain".to_vec(), Duration::seconds(60)).await.expect("set");
    let refused = h.store.set_bytes_if_generation(&key, b"old".to_vec(), Duration::seconds(60), 0).await;
    assert!(!refused.expect("refused"), "refused");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"plain".to_vec()), "a refusal changes nothing");
    assert!(h.store.set_bytes_if_generation(&key, b"v3".to_vec(), Duration::seconds(60), 2).await.expect("set"));
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"v3".to_vec()));

    let zero_ttl = h.store.set_bytes_if_generation(&key, b"x".to_vec(), Duration::zero(), 2).await;
    assert!(matches!(zero_ttl, Err(crate::error::Error::Validation(_))), "a zero TTL: {zero_ttl:?}");
    let big = vec![0u8; crate::model::MAX_VALUE_BYTES + 1];
    let too_big = h.store.set_bytes_if_generation(&key, big, Duration::seconds(60), 2).await;
    assert!(matches!(too_big, Err(crate::error::Error::Validation(_))), "over 8 MiB");
    assert_eq!(h.store.get_bytes(&key).await.expect("get"), Some(b"v3".to_vec()), "refusals change nothing");
}
