//! [`RedisKv`]: the handle every port is implemented on, and how it talks to Redis.

use std::fmt;

use clientnest_core::validate::rule;
use clientnest_core::{Error, Result};
use redis::{Cmd, FromRedisValue, ScriptInvocation};

use crate::config::RedisConfig;
use crate::conn::Conn;
use crate::error::{is_unavailable, map};
use crate::keys::Keys;
use crate::scripts::SCRIPTS;

/// Sessions, caches, the job queue, rate limits and temporary data on Redis: implements
/// [`SessionStore`](clientnest_core::ports::SessionStore), [`Cache`](clientnest_core::ports::Cache),
/// [`JobQueue`](clientnest_core::ports::JobQueue), [`RateLimiter`](clientnest_core::ports::RateLimiter)
/// and [`TempStore`](clientnest_core::ports::TempStore), the same code on one node
/// ([`RedisKv::connect`]) and on a Redis Cluster ([`RedisKv::connect_cluster`]).
///
/// Clones share the connection (calls are multiplexed over it); clone it freely into tasks.
/// A lost connection is reopened in the background; calls made meanwhile fail with
/// [`Error::Unavailable`]. Idempotent reads (`get_session`, `get_bytes`, `get_temp`, `counts`,
/// `dead_letters`) are retried once on such an error; writes never are, so a write is never
/// applied twice by the adapter itself.
///
/// Needs Redis 7.0 or later.
#[derive(Clone)]
pub struct RedisKv {
    conn: Conn,
    keys: Keys,
}

impl RedisKv {
    /// Connect to one Redis server: the single URL of the config.
    pub async fn connect(config: &RedisConfig) -> Result<Self> {
        config.check()?;
        if config.urls().len() != 1 {
            return Err(Error::invalid("urls", rule::FORMAT, "a single node takes exactly one URL"));
        }
        let conn = Conn::single(config).await.map_err(map)?;
        Ok(Self { conn, keys: Keys::new(config.key_prefix()) })
    }

    /// Connect to a Redis Cluster through any of its nodes (the config's URLs are seeds).
    pub async fn connect_cluster(config: &RedisConfig) -> Result<Self> {
        config.check()?;
        let conn = Conn::cluster(config).await.map_err(map)?;
        Ok(Self { conn, keys: Keys::new(config.key_prefix()) })
    }

    /// The key names this handle uses.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Whether this handle talks to a Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// Check that Redis answers.
    pub async fn ping(&self) -> Result<()> {
        let pong: String = self.read(&redis::cmd("PING")).await?;
        if pong == "PONG" { Ok(()) } else { Err(crate::error::bad_reply("PING")) }
    }

    /// Load every script into the server (on a Cluster, into every master) ahead of the first
    /// call. Optional: a call whose script is unknown loads it and runs again.
    pub async fn load_scripts(&self) -> Result<()> {
        let s = &*SCRIPTS;
        for script in [
            &s.session_create,
            &s.session_touch,
            &s.session_delete,
            &s.session_revoke,
            &s.cache_unlock,
            &s.rate_gcra,
            &s.queue_enqueue,
            &s.queue_reserve,
            &s.queue_ack,
            &s.queue_fail,
            &s.queue_extend,
            &s.queue_requeue,
            &s.queue_dead_letters,
            &s.queue_replay,
            &s.queue_counts,
        ] {
            script.prepare_invoke().load_async(&mut self.conn.clone()).await.map_err(map)?;
        }
        Ok(())
    }

    /// Run any command on this handle's connection (on a Cluster it goes to the node of its
    /// first key). For operations and tests (`PTTL`, `TYPE`, ...); not retried.
    pub async fn command<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.write(cmd).await
    }

    /// Run a command once.
    pub(crate) async fn write<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        cmd.query_async(&mut self.conn.clone()).await.map_err(map)
    }

    /// Run an idempotent read, retried once when the connection failed.
    pub(crate) async fn read<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        match cmd.query_async(&mut self.conn.clone()).await {
            Err(e) if is_unavailable(&e) => {
                tracing::debug!(error = %e, "redis read failed, retrying once");
                cmd.query_async(&mut self.conn.clone()).await.map_err(map)
            }
            other => other.map_err(map),
        }
    }

    /// Run a script once (EVALSHA, loading it first when the server does not know it).
    pub(crate) async fn eval<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        call.invoke_async(&mut self.conn.clone()).await.map_err(map)
    }

    /// Run a read-only script, retried once when the connection failed.
    pub(crate) async fn eval_read<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        match call.invoke_async(&mut self.conn.clone()).await {
            Err(e) if is_unavailable(&e) => {
                tracing::debug!(error = %e, "redis read script failed, retrying once");
                call.invoke_async(&mut self.conn.clone()).await.map_err(map)
            }
            other => other.map_err(map),
        }
    }
}

impl fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKv").field("cluster", &self.is_cluster()).field("keys", &self.keys).finish()
    }
}
