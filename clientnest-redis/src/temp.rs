//! [`TempStore`] on Redis: `SET ... PX`, `SET ... NX PX` (set-if-absent), `GET`, `GETDEL`
//! (atomic take) and `DEL`.

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::Result;
use clientnest_core::model::{check_key, check_ttl, check_value};
use clientnest_core::ports::TempStore;

use crate::store::RedisKv;
use crate::time::ttl_millis;

#[async_trait]
impl TempStore for RedisKv {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn put_temp(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<()> {
        check_key("key", key)?;
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        self.retried(redis::cmd("SET").arg(self.keys().temp(key)).arg(value).arg("PX").arg(ttl_millis(ttl))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_temp(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key("key", key)?;
        self.retried(redis::cmd("GET").arg(self.keys().temp(key))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn take_temp(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key("key", key)?;
        self.once(redis::cmd("GETDEL").arg(self.keys().temp(key))).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn put_temp_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool> {
        check_key("key", key)?;
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        // Not idempotent: a re-sent SET NX after a lost reply would answer "present".
        let set: Option<String> = self
            .once(redis::cmd("SET").arg(self.keys().temp(key)).arg(value).arg("NX").arg("PX").arg(ttl_millis(ttl)))
            .await?;
        Ok(set.is_some())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_temp(&self, key: &str) -> Result<bool> {
        check_key("key", key)?;
        let n: i64 = self.once(redis::cmd("DEL").arg(self.keys().temp(key))).await?;
        Ok(n == 1)
    }
}
