//! [`Cache`] on Redis: `SET ... PX` values, and `SET NX PX` load locks released by a
//! compare-and-delete script. A lock is a key of its own (same slot as the value), so it never
//! hides or removes the value.

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::Result;
use clientnest_core::model::{CacheKey, check_ttl, check_value};
use clientnest_core::ports::Cache;

use crate::scripts::SCRIPTS;
use crate::store::RedisKv;
use crate::time::ttl_millis;

/// A fresh random token (122 random bits) for a load lock or a lease.
pub(crate) fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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
        let n: i64 = self.once(redis::cmd("DEL").arg(self.keys().cache(key))).await?;
        Ok(n == 1)
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
        let _released: i64 =
            self.eval_retried(SCRIPTS.cache_unlock.key(self.keys().cache_lock(key)).arg(token)).await?;
        Ok(())
    }
}
