//! The user cache on Redis, read with raw commands: the `user:{id}` entry holds no password
//! hash, and a delete leaves a generation key in the value's slot that lives for a day.

use std::sync::Arc;

use chrono::Duration;
use clientnest_core::cache::GENERATION_TTL_MS;
use clientnest_core::cache_aside::CachedUsers;
use clientnest_core::crypto::hash_password;
use clientnest_core::memory::MemoryStore;
use clientnest_core::model::{CacheKey, NewUser, UserUpdate};
use clientnest_core::ports::UserRepository;
use clientnest_core::secret::Secret;
use clientnest_redis::keys::hash_tag;

use crate::common::{Topology, connect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_user_entry_holds_no_password_hash() {
    let Some(kv) = connect(Topology::Single).await else { return };
    let kv = Arc::new(kv);
    let users = CachedUsers::new(Arc::new(MemoryStore::new()), Arc::clone(&kv), Duration::seconds(60));
    let hash = hash_password(&Secret::new("redis raw bytes")).unwrap();
    let ada = users.create_user(NewUser::new("raw@example.com", hash, "Ada", "Lovelace")).await.unwrap();
    users.get_user(ada.id).await.unwrap();

    let key = kv.keys().cache(&CacheKey::user(ada.id));
    let raw: Option<Vec<u8>> = kv.command(redis::cmd("GET").arg(&key)).await.unwrap();
    let raw = String::from_utf8(raw.expect("the user is cached")).unwrap();
    assert!(raw.contains(&ada.id.to_string()), "{raw}");
    assert!(!raw.contains("$argon2") && !raw.contains("password_hash"), "a hash in Redis: {raw}");

    // An update deletes the entry and advances the generation, kept next to it for a day.
    users.update_user(ada.id, UserUpdate { is_active: Some(false), ..UserUpdate::default() }).await.unwrap();
    let gen_key = kv.keys().cache_generation(&CacheKey::user(ada.id));
    assert_eq!(hash_tag(&gen_key), hash_tag(&key), "same slot as the value");
    let generation: Option<u64> = kv.command(redis::cmd("GET").arg(&gen_key)).await.unwrap();
    assert_eq!(generation, Some(2), "one delete before and one after the write");
    let pttl: i64 = kv.command(redis::cmd("PTTL").arg(&gen_key)).await.unwrap();
    assert!(pttl > GENERATION_TTL_MS - 60_000 && pttl <= GENERATION_TTL_MS, "{pttl}");
    let exists: i64 = kv.command(redis::cmd("EXISTS").arg(&key)).await.unwrap();
    assert_eq!(exists, 0, "the entry is gone");
    assert!(!users.get_user(ada.id).await.unwrap().is_active);
}
