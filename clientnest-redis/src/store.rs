//! [`RedisKv`]: the handle every port is implemented on, and how it talks to Redis.

use std::fmt;

use clientnest_core::ports::DeadLetterRetention;
use clientnest_core::validate::rule;
use clientnest_core::{Error, Result};
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use redis::{Cmd, FromRedisValue, ScriptInvocation};

use crate::config::RedisConfig;

/// The most times a never-re-sent call is sent again after an error proving it did not run
/// (MOVED, ASK, TRYAGAIN, CLUSTERDOWN on a Cluster that is resharding or failing over).
const NOT_RUN_TRIES: u32 = 8;

/// The pause before the first such re-send, doubled each time, in ms.
const NOT_RUN_BACKOFF_MS: u64 = 25;
use crate::conn::{Conn, Conns};
use crate::error::{RedisError, UnsafeEvictionPolicy, eviction_policy, is_unavailable, map, map_once, was_not_run};
use crate::keys::Keys;
use crate::scripts::ALL;

/// Sessions, caches, the job queue, rate limits and temporary data on Redis: implements
/// [`SessionStore`](clientnest_core::ports::SessionStore), [`Cache`](clientnest_core::ports::Cache),
/// [`JobQueue`](clientnest_core::ports::JobQueue), [`RateLimiter`](clientnest_core::ports::RateLimiter)
/// and [`TempStore`](clientnest_core::ports::TempStore), the same code on one node
/// ([`RedisKv::connect`]) and on a Redis Cluster ([`RedisKv::connect_cluster`]).
///
/// Clones share the connection (calls are multiplexed over it); clone it freely into tasks.
/// A lost connection is reopened with backoff, up to
/// [`RedisConfig::with_reconnect_retries`] attempts (6 by default); calls made meanwhile wait
/// for it (measured: up to about 4.4 s when Redis was killed and restarted 2 s later, in
/// `tests/redis/restart.rs`), and fail with [`Error::Unavailable`] once the attempts are spent.
/// Fewer retries fail sooner (the restart test uses 2).
///
/// # Which calls are re-sent
///
/// A call that fails on a timeout or a dropped connection may or may not have run on the
/// server. Calls that are safe to run twice are re-sent (once by the adapter, and on a Cluster
/// also by the Cluster client, up to [`RedisConfig::with_reconnect_retries`] times); those that
/// are not are never re-sent, on one node or on a Cluster, and fail with
/// [`Error::OutcomeUnknown`] when they may have run, or [`Error::Unavailable`] when the error
/// proves they did not (a refused connection; on a Cluster, MOVED, ASK, TRYAGAIN, CLUSTERDOWN,
/// which the adapter follows itself with a short backoff).
///
/// | re-sent (idempotent) | never re-sent (outcome unknown on a lost reply) |
/// |---|---|
/// | `get_session`, `touch_session`, `revoke_user_sessions` (its count may then miss sessions the first try ended) | `create_session`, `delete_session` |
/// | `get_bytes`, `set_bytes`, `unlock`, `generation`, `set_bytes_if_generation` | `delete` (cache; it also bumps the generation), `try_lock` |
/// | `get_temp`, `put_temp` | `take_temp`, `delete_temp`, `put_temp_if_absent` (a re-sent one would answer "present") |
/// | | `check_rate` (a second run would spend a second unit) |
/// | `enqueue` with an idempotency key, `enqueue_batch` when every job has one (a re-sent one may report `duplicate`), `extend`, `requeue_expired`, `counts`, `dead_letters` | `enqueue` without an idempotency key, `enqueue_batch` unless every job has one, `reserve`, `reserve_batch`, `ack`, `ack_batch`, `ack_and_reserve`, `fail`, `replay_dead` |
/// | `ping`, `load_scripts` | [`command`](Self::command) |
///
/// Needs Redis 7.0 or later.
#[derive(Clone)]
pub struct RedisKv {
    conns: Conns,
    keys: Keys,
    dead_letters: DeadLetterRetention,
}

impl RedisKv {
    /// Connect to one Redis server: the single URL of the config.
    pub async fn connect(config: &RedisConfig) -> Result<Self> {
        config.check()?;
        if config.urls().len() != 1 {
            return Err(Error::invalid("urls", rule::FORMAT, "a single node takes exactly one URL"));
        }
        let conns = Conns::single(config).await.map_err(map)?;
        let kv = Self { conns, keys: Keys::new(config.key_prefix()), dead_letters: config.dead_letter_retention() };
        kv.check_eviction(config).await?;
        Ok(kv)
    }

    /// Connect to a Redis Cluster through any of its nodes (the config's URLs are seeds).
    pub async fn connect_cluster(config: &RedisConfig) -> Result<Self> {
        config.check()?;
        let conns = Conns::cluster(config).await.map_err(map)?;
        let kv = Self { conns, keys: Keys::new(config.key_prefix()), dead_letters: config.dead_letter_retention() };
        kv.check_eviction(config).await?;
        Ok(kv)
    }

    /// Refuse a server (on a Cluster, any master) whose `maxmemory-policy` may evict keys,
    /// unless the config allows it. Reads `INFO memory`, which managed services that disable
    /// `CONFIG` still answer.
    async fn check_eviction(&self, config: &RedisConfig) -> Result<()> {
        if config.eviction_allowed() {
            return Ok(());
        }
        let infos: Vec<String> = match &self.conns.retrying {
            Conn::Single(_) => vec![self.retried(redis::cmd("INFO").arg("memory")).await?],
            Conn::Cluster(c) => {
                let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let mut info = redis::cmd("INFO");
                info.arg("memory");
                let reply = c.clone().route_command(info, routing).await.map_err(map)?;
                // One INFO text per master, keyed by node address.
                let mut texts = Vec::new();
                collect_texts(&reply, &mut texts);
                texts.retain(|t| t.contains("maxmemory_policy:"));
                if texts.is_empty() {
                    return Err(crate::error::bad_reply("INFO memory of the masters"));
                }
                texts
            }
        };
        for info in &infos {
            match eviction_policy(info) {
                Some("noeviction") => {}
                Some(policy) => return Err(RedisError::from(UnsafeEvictionPolicy { policy: policy.to_owned() }).into()),
                None => return Err(crate::error::bad_reply("INFO memory without maxmemory_policy")),
            }
        }
        Ok(())
    }

    /// The dead-letter retention of every queue of this handle.
    pub fn dead_letter_retention(&self) -> DeadLetterRetention {
        self.dead_letters
    }

    /// The key names this handle uses.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Whether this handle talks to a Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conns.is_cluster()
    }

    /// Check that Redis answers `PING` with `PONG`; another reply is a backend error.
    pub async fn ping(&self) -> Result<()> {
        let pong: String = self.retried(&redis::cmd("PING")).await?;
        if pong == "PONG" { Ok(()) } else { Err(crate::error::bad_reply("PING")) }
    }

    /// Load every script into the server (on a Cluster, into every master) ahead of the first
    /// call. Optional: a call whose script is unknown loads it and runs again.
    pub async fn load_scripts(&self) -> Result<()> {
        for script in ALL {
            script.prepare_invoke().load_async(&mut self.conns.retrying.clone()).await.map_err(map)?;
        }
        Ok(())
    }

    /// Run any command on this handle's connection (on a Cluster it goes to the node of its
    /// first key). For operations and tests (`PTTL`, `TYPE`, ...); never re-sent, so a lost
    /// reply gives [`Error::OutcomeUnknown`].
    pub async fn command<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.once(cmd).await
    }

    /// Run a command that is not safe to run twice: sent once, and again only after an error
    /// proving the server did not run it. See [`map_once`] for the errors.
    pub(crate) async fn once<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        let mut tries = 0;
        loop {
            match cmd.query_async(&mut self.conns.once.clone()).await {
                Err(e) if self.resend_after(&e, &mut tries).await => continue,
                other => return other.map_err(map_once),
            }
        }
    }

    /// Run a script that is not safe to run twice, as [`once`](Self::once) (EVALSHA, loading
    /// it first when the server does not know it: a NOSCRIPT reply ran nothing).
    pub(crate) async fn eval_once<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        let mut tries = 0;
        loop {
            match call.invoke_async(&mut self.conns.once.clone()).await {
                Err(e) if self.resend_after(&e, &mut tries).await => continue,
                other => return other.map_err(map_once),
            }
        }
    }

    /// Whether a never-re-sent call may go out again after `e`: only on a Cluster, only when
    /// `e` proves the call did not run, at most [`NOT_RUN_TRIES`] times; sleeps the backoff.
    async fn resend_after(&self, e: &redis::RedisError, tries: &mut u32) -> bool {
        if !self.is_cluster() || !was_not_run(e) || *tries >= NOT_RUN_TRIES {
            return false;
        }
        tracing::debug!(error = %e, "redis call refused before it ran, sending it again");
        tokio::time::sleep(std::time::Duration::from_millis(NOT_RUN_BACKOFF_MS << *tries)).await;
        *tries += 1;
        true
    }

    /// Run a command that is safe to run twice (a read, or a write whose second run changes
    /// nothing), retried once when the connection failed.
    pub(crate) async fn retried<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        match cmd.query_async(&mut self.conns.retrying.clone()).await {
            Err(e) if is_unavailable(&e) => {
                tracing::debug!(error = %e, "redis call failed, retrying once");
                cmd.query_async(&mut self.conns.retrying.clone()).await.map_err(map)
            }
            other => other.map_err(map),
        }
    }

    /// Run a script that is safe to run twice, retried once when the connection failed.
    pub(crate) async fn eval_retried<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        match call.invoke_async(&mut self.conns.retrying.clone()).await {
            Err(e) if is_unavailable(&e) => {
                tracing::debug!(error = %e, "redis script failed, retrying once");
                call.invoke_async(&mut self.conns.retrying.clone()).await.map_err(map)
            }
            other => other.map_err(map),
        }
    }
}

/// Every text inside a reply, flattened (the per-node replies of a multi-node command).
fn collect_texts(value: &redis::Value, out: &mut Vec<String>) {
    match value {
        redis::Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
        redis::Value::VerbatimString { text, .. } => out.push(text.clone()),
        redis::Value::SimpleString(s) => out.push(s.clone()),
        redis::Value::Array(items) | redis::Value::Set(items) => items.iter().for_each(|v| collect_texts(v, out)),
        redis::Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            collect_texts(k, out);
            collect_texts(v, out);
        }),
        _ => {}
    }
}

impl fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKv").field("cluster", &self.is_cluster()).field("keys", &self.keys).finish()
    }
}
