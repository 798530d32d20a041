//! Temporary values with a TTL, in memory.

use async_trait::async_trait;
use chrono::Duration;

use super::{MemoryKv, after, lock};
use crate::error::Result;
use crate::model::{check_key, check_ttl, check_value};
use crate::ports::TempStore;

#[async_trait]
impl TempStore for MemoryKv {
    async fn put_temp(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<()> {
        check_key("key", key)?;
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        temps.insert(key.to_owned(), value, after(now, ttl));
        Ok(())
    }

    async fn get_temp(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key("key", key)?;
        let now = self.now();
        Ok(lock(&self.inner.temps).get(key, now).cloned())
    }

    async fn take_temp(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key("key", key)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        Ok(temps.remove(key, now))
    }

    async fn put_temp_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool> {
        check_key("key", key)?;
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        if temps.get(key, now).is_some() {
            return Ok(false);
        }
        temps.insert(key.to_owned(), value, after(now, ttl));
        Ok(true)
    }

    async fn delete_temp(&self, key: &str) -> Result<bool> {
        check_key("key", key)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        Ok(temps.remove(key, now).is_some())
    }
}
