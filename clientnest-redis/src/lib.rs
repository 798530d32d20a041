//! # clientnest-redis
//!
//! The ClientNest key-value ports on Redis: sessions, caches, a reliable job queue, rate limits
//! and temporary data, with the same code on one node and on a Redis Cluster. It behaves
//! exactly as the in-memory `MemoryKv` of `clientnest-core`: both pass the same key-value
//! conformance suite.
//!
//! ```no_run
//! use chrono::Duration;
//! use clientnest_core::prelude::*;
//! use clientnest_redis::{RedisConfig, RedisKv};
//!
//! # async fn tour() -> clientnest_core::Result<()> {
//! let kv = RedisKv::connect(&RedisConfig::default().with_urls(["redis://127.0.0.1:6379"])).await?;
//! // A Cluster: RedisKv::connect_cluster(&RedisConfig::default().with_url_list("redis://127.0.0.1:30001,...")).
//!
//! let session = kv
//!     .create_session(NewSession { user_id: UserId::new(), permissions: vec!["posts:write".into()], ttl: Duration::hours(1) })
//!     .await?;
//! kv.touch_session(&session.id, Duration::hours(1)).await?;
//!
//! let decision = kv.check_rate("user-42", &Quota::per(100, Duration::minutes(1))).await?;
//! assert!(decision.allowed);
//!
//! let queue = QueueName::new("publish")?;
//! kv.enqueue(&queue, NewJob::new(b"post 1".to_vec())).await?;
//! let worker = WorkerId::unique("publisher");
//! if let Some(reserved) = kv.reserve(&queue, &worker, Duration::seconds(30)).await? {
//!     kv.ack(&queue, &reserved.lease).await?;
//! }
//!
//! let key = CacheKey::api("/v1/posts", &[("page", "2")])?;
//! let posts: Option<Vec<String>> = kv.get_or_load(&key, Duration::seconds(30), || async { Ok(Some(vec![])) }).await?;
//!
//! kv.put_temp("otp:ada", b"123456".to_vec(), Duration::minutes(5)).await?;
//! assert_eq!(kv.take_temp("otp:ada").await?, Some(b"123456".to_vec()));
//! # let _ = posts;
//! # Ok(())
//! # }
//! ```
//!
//! ## How it works
//! - **Keys**: under a configurable prefix, with a Cluster hash tag per entity so every
//!   multi-key operation stays in one slot; caller-given parts are escaped (see [`keys`]).
//! - **Scripts**: every multi-step operation is one Lua script (`lua/*.lua`, each with a
//!   KEYS/ARGV header), sent as EVALSHA; every key it touches is in KEYS, and time comes from
//!   the server's `TIME`.
//! - **TTLs** are Redis' own (`PX`, `PEXPIREAT`), kept to the millisecond and never shorter than
//!   asked.
//! - **Errors**: connection refused, reset or dropped, timeouts and a Cluster that is down give
//!   the retryable [`Error::Unavailable`](clientnest_core::Error::Unavailable); other failures
//!   [`Error::Backend`](clientnest_core::Error::Backend) with the cause kept. Reads and
//!   idempotent writes are retried; calls that are not safe to run twice (`reserve`, `fail`,
//!   `enqueue` without an idempotency key, ...) are never re-sent, on one node or a Cluster, and
//!   say [`Error::OutcomeUnknown`](clientnest_core::Error::OutcomeUnknown) when their reply was
//!   lost (the list per operation is on [`RedisKv`]).
//! - **Sessions**: tokens are stored and sent only as SHA-256 digests.
//! - **Queue**: a `reserve` or `requeue_expired` moves a bounded batch of jobs per call
//!   ([`MAX_MOVED_PER_CALL`](clientnest_core::ports::MAX_MOVED_PER_CALL)); dead letters follow
//!   a retention ([`RedisConfig::with_dead_letter_retention`]).
//! - **Connect** refuses a server whose `maxmemory-policy` may evict keys
//!   ([`UnsafeEvictionPolicy`]) unless [`RedisConfig::with_eviction_allowed`] opts in.
#![forbid(unsafe_code)]

mod cache;
mod config;
mod conn;
mod error;
pub mod keys;
mod queue;
mod rate;
mod scripts;
mod session;
mod store;
mod temp;
mod time;

pub use config::{DEFAULT_PREFIX, RedisConfig};
pub use error::UnsafeEvictionPolicy;
pub use scripts::script_hashes;
pub use store::RedisKv;
