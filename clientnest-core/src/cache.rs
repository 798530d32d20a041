//! Typed caching on top of the [`Cache`] port: serde values and get-or-load without stampedes.

use std::future::Future;

use async_trait::async_trait;
use chrono::Duration;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::{CacheKey, check_ttl};
use crate::ports::Cache;

/// How long a loader may hold a key's load lock, and how long others wait for it.
const LOAD_LOCK_TTL_MS: i64 = 10_000;
const WAIT_STEP_MS: u64 = 10;

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
        let bytes = serde_json::to_vec(value).map_err(Error::backend)?;
        self.set_bytes(key, bytes, ttl).await
    }

    /// The cached value, or load it once: of concurrent callers that miss, one runs `load`
    /// while the others wait for its value (no stampede). A `None` from `load` is not cached.
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
                let outcome = match self.get::<T>(key).await {
                    Ok(Some(v)) => Ok(Some(v)),
                    Ok(None) => match load().await {
                        Ok(Some(v)) => self.set(key, &v, ttl).await.map(|()| Some(v)),
                        other => other,
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

impl<C: Cache + ?Sized> CacheExt for C {}
