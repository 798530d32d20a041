//! The byte cache and its load locks, in memory.

use async_trait::async_trait;
use chrono::Duration;

use super::ttl::TtlMap;
use super::{MemoryKv, after, lock, random_token};
use crate::cache::GENERATION_TTL_MS;
use crate::error::Result;
use crate::model::{CacheKey, check_ttl, check_value};
use crate::ports::Cache;

/// Cached values and, apart from them, the load locks (a lock never hides or removes a value)
/// and the generations (kept [`GENERATION_TTL_MS`] after a key's last delete).
#[derive(Debug, Default)]
pub(super) struct CacheState {
    values: TtlMap<CacheKey, Vec<u8>>,
    locks: TtlMap<CacheKey, String>,
    generations: TtlMap<CacheKey, u64>,
}

#[async_trait]
impl Cache for MemoryKv {
    async fn get_bytes(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        let now = self.now();
        Ok(lock(&self.inner.cache).values.get(key, now).cloned())
    }

    async fn set_bytes(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<()> {
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let now = self.now();
        let mut cache = lock(&self.inner.cache);
        cache.values.purge(now);
        cache.values.insert(key.clone(), value, after(now, ttl));
        Ok(())
    }

    async fn delete(&self, key: &CacheKey) -> Result<bool> {
        let now = self.now();
        let mut cache = lock(&self.inner.cache);
        cache.values.purge(now);
        cache.generations.purge(now);
        let next = cache.generations.get(key, now).copied().unwrap_or(0).saturating_add(1);
        cache.generations.insert(key.clone(), next, after(now, Duration::milliseconds(GENERATION_TTL_MS)));
        Ok(cache.values.remove(key, now).is_some())
    }

    async fn generation(&self, key: &CacheKey) -> Result<u64> {
        let now = self.now();
        Ok(lock(&self.inner.cache).generations.get(key, now).copied().unwrap_or(0))
    }

    async fn set_bytes_if_generation(
        &self,
        key: &CacheKey,
        value: Vec<u8>,
        ttl: Duration,
        generation: u64,
    ) -> Result<bool> {
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let now = self.now();
        let mut cache = lock(&self.inner.cache);
        if cache.generations.get(key, now).copied().unwrap_or(0) != generation {
            return Ok(false);
        }
        cache.values.purge(now);
        cache.values.insert(key.clone(), value, after(now, ttl));
        Ok(true)
    }

    async fn try_lock(&self, key: &CacheKey, ttl: Duration) -> Result<Option<String>> {
        check_ttl("ttl", ttl)?;
        let now = self.now();
        let mut cache = lock(&self.inner.cache);
        cache.locks.purge(now);
        if cache.locks.get(key, now).is_some() {
            return Ok(None);
        }
        let token = random_token();
        cache.locks.insert(key.clone(), token.clone(), after(now, ttl));
        Ok(Some(token))
    }

    async fn unlock(&self, key: &CacheKey, token: &str) -> Result<()> {
        let now = self.now();
        let mut cache = lock(&self.inner.cache);
        if cache.locks.get(key, now).is_some_and(|held| held == token) {
            cache.locks.remove(key, now);
        }
        Ok(())
    }
}
