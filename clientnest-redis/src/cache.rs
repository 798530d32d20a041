//! [`Cache`] on Redis: `SET ... PX` values, and `SET NX PX` load locks released by a
//! compare-and-delete script. A lock is a key of its own (same slot as the value), so it never
//! hides or removes the value. So is the generation (`...:gen`, same slot): `delete` removes
//! the value and `INCR`s it in one script, and a loader stores with a compare-and-set script
//! that refuses when the generation moved.

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::Result;
use clientnest_core::cache::GENERATION_TTL_MS;
use clientnest_core::model::{CacheKey, check_ttl, check_value};
use clientnest_core::ports::Cache;

use crate::scripts::{CACHE_DELETE, CACHE_SET_IF_GENERATION, CACHE_UNLOCK};
use crate::store::RedisKv;
use crate::time::ttl_millis;

/// A fresh random token (128 bits from the thread's CSPRNG, as 32 hex digits) for a load lock
/// or a lease; no system call per token, unlike `Uuid::new_v4`.
pub(crate) fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[async_trait]
impl Cache for RedisKv {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_bytes(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        self.retried(redis::cmd("GET").arg(self.keys().cache(key))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_bytes(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<()> {
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        self.retried(redis::cmd("SET").arg(self.keys().cache(key)).arg(value).arg("PX").arg(ttl_millis(ttl))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete(&self, key: &CacheKey) -> Result<bool> {
        let (value_key, generation_key) = (self.keys().cache(key), self.keys().cache_generation(key));
        let n: i64 = self.eval_once(CACHE_DELETE.key(value_key).key(generation_key).arg(GENERATION_TTL_MS)).await?;
        Ok(n == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn generation(&self, key: &CacheKey) -> Result<u64> {
        let generation: Option<u64> = self.retried(redis::cmd("GET").arg(self.keys().cache_generation(key))).await?;
        Ok(generation.unwrap_or(0))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_bytes_if_generation(
        &self,
        key: &CacheKey,
        value: Vec<u8>,
        ttl: Duration,
        generation: u64,
    ) -> Result<bool> {
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let (value_key, generation_key) = (self.keys().cache(key), self.keys().cache_generation(key));
        let stored: i64 = self
            .eval_retried(
                CACHE_SET_IF_GENERATION
                    .key(value_key)
                    .key(generation_key)
                    .arg(value)
                    .arg(ttl_millis(ttl))
                    .arg(generation),
            )
            .await?;
        Ok(stored == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn try_lock(&self, key: &CacheKey, ttl: Duration) -> Result<Option<String>> {
        check_ttl("ttl", ttl)?;
        let token = random_token();
        let set: Option<String> = self
            .once(
                redis::cmd("SET").arg(self.keys().cache_lock(key)).arg(&token).arg("NX").arg("PX").arg(ttl_millis(ttl)),
            )
            .await?;
        Ok(set.map(|_| token))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unlock(&self, key: &CacheKey, token: &str) -> Result<()> {
        let _released: i64 = self.eval_retried(CACHE_UNLOCK.key(self.keys().cache_lock(key)).arg(token)).await?;
        Ok(())
    }
}
