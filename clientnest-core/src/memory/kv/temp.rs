//! Temporary values with a TTL, in memory.

use async_trait::async_trait;
use chrono::Duration;

use super::{MemoryKv, after, lock};
use crate::error::Result;
use crate::model::{check_key, check_ttl, check_value};
use crate::ports::TempStore;

impl MemoryKv {
    /// Store `value` under `key` for `ttl` after checking all three; with `only_if_absent`, a
    /// live value already there is kept instead. Whether the value was stored.
    fn put(&self, key: &str, value: Vec<u8>, ttl: Duration, only_if_absent: bool) -> Result<bool> {
        check_key("key", key)?;
        check_ttl("ttl", ttl)?;
        check_value("value", &value)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        if only_if_absent && temps.get(key, now).is_some() {
            return Ok(false);
        }
        temps.insert(key.to_owned(), value, after(now, ttl));
        Ok(true)
    }
}

#[async_trait]
impl TempStore for MemoryKv {
    async fn put_temp(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<()> {
        self.put(key, value, ttl, false).map(|_| ())
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
        self.put(key, value, ttl, true)
    }

    async fn delete_temp(&self, key: &str) -> Result<bool> {
        check_key("key", key)?;
        let now = self.now();
        let mut temps = lock(&self.inner.temps);
        temps.purge(now);
        Ok(temps.remove(key, now).is_some())
    }
}
