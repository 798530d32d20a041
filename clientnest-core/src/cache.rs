//! Typed caching on top of the [`Cache`] port: serde values and get-or-load without stampedes.

use std::future::Future;

use async_trait::async_trait;
use chrono::Duration;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, store};
use crate::model::{CacheKey, check_ttl};
use crate::ports::Cache;

/// How long a loader may hold a key's load lock, and how long others wait for it. A value
/// whose load took longer is returned but not stored.
const LOAD_LOCK_TTL_MS: i64 = 10_000;
const WAIT_STEP_MS: u64 = 10;

/// How long a backend keeps a key's generation after its last [`delete`](Cache::delete), in
/// milliseconds (24 hours). A loader compares the generation it read before loading with the
/// current one when it stores; it gives up on storing after the load lock's 10 seconds, far
/// inside this, so a forgotten generation can never let a stale value in.
pub const GENERATION_TTL_MS: i64 = 86_400_000;

/// Typed access to any [`Cache`], as a blanket extension.
#[async_trait]
pub trait CacheExt: Cache {
    /// A cached value, decoded from JSON. A value that no longer decodes (the type changed)
    /// counts as a miss.
    async fn get<T: DeserializeOwned + Send>(&self, key: &CacheKey) -> Result<Option<T>> {
        Ok(self.get_bytes(key).await?.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Cache a value as JSON for `ttl`.
    async fn set<T: Serialize + Sync>(&self, key: &CacheKey, value: &T, ttl: Duration) -> Result<()> {
        check_ttl("ttl", ttl)?;
        let bytes = serde_json::to_vec(value).map_err(|e| Error::backend(store::LOCAL, e))?;
        self.set_bytes(key, bytes, ttl).await
    }

    /// The cached value, or load it once: of concurrent callers that miss, one runs `load`
    /// while the others wait for its value (no stampede). A `None` from `load` is not cached.
    ///
    /// The loaded value is stored only if no [`delete`](Cache::delete) of the key came in
    /// while it was loaded (the key's generation, read before loading, is unchanged) and the
    /// load took less than the 10-second load lock: a writer that commits and then deletes
    /// the key can never be overtaken by a slow reader storing the older value. The value is
    /// still returned to this caller.
    async fn get_or_load<T, F, Fut>(&self, key: &CacheKey, ttl: Duration, load: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned + Send + Sync,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<Option<T>>> + Send,
    {
        check_ttl("ttl", ttl)?;
        let lock_ttl = Duration::milliseconds(LOAD_LOCK_TTL_MS);
        let mut waited_ms = 0u64;
        loop {
            if let Some(v) = self.get::<T>(key).await? {
                return Ok(Some(v));
            }
            if let Some(token) = self.try_lock(key, lock_ttl).await? {
                // Another loader may have filled the key between our miss and our lock.
                let outcome = match self.generation(key).await {
                    Ok(generation) => match self.get::<T>(key).await {
                        Ok(Some(v)) => Ok(Some(v)),
                        Ok(None) => {
                            let started = std::time::Instant::now();
                            match load().await {
                                Ok(Some(v)) => {
                                    store_loaded(self, key, &v, ttl, generation, started).await.map(|()| Some(v))
                                }
                                other => other,
                            }
                        }
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                self.unlock(key, &token).await?;
                return outcome;
            }
            if waited_ms >= LOAD_LOCK_TTL_MS as u64 {
                // The loader is stuck or died without unlocking; load ourselves.
                return load().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(WAIT_STEP_MS)).await;
            waited_ms += WAIT_STEP_MS;
        }
    }
}

/// Store a freshly loaded value under the generation read before the load (see
/// [`CacheExt::get_or_load`]); a refused store is not an error.
async fn store_loaded<C: Cache + ?Sized, T: Serialize + Sync>(
    cache: &C,
    key: &CacheKey,
    value: &T,
    ttl: Duration,
    generation: u64,
    started: std::time::Instant,
) -> Result<()> {
    if started.elapsed() >= std::time::Duration::from_millis(LOAD_LOCK_TTL_MS.unsigned_abs()) {
        tracing::debug!("cache load outlived its lock; the value is not stored");
        return Ok(());
    }
    let bytes = serde_json::to_vec(value).map_err(|e| Error::backend(store::LOCAL, e))?;
    if !cache.set_bytes_if_generation(key, bytes, ttl, generation).await? {
        tracing::debug!("cache key invalidated during the load; the value is not stored");
    }
    Ok(())
}

impl<C: Cache + ?Sized> CacheExt for C {}
