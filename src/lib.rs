//! # ClientNest
//!
//! The data layer of a social media management platform, as a set of crates an application
//! embeds: domain types, validation and ports in [`clientnest_core`], in-memory backends for
//! tests, and adapters for PostgreSQL ([`postgres`], feature `postgres`), Redis ([`redis`],
//! feature `redis`), analytics on TimescaleDB or plain PostgreSQL (`timescale`, feature
//! `timescale`) and post media and backups on object storage (`s3`, feature `s3`: S3, local
//! disk or memory). This facade re-exports them.
//!
//! ```
//! use clientnest::prelude::*;
//! use clientnest::memory::{MemoryKv, MemoryStore};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // Compose backends behind the ports: here all in memory, as in an application's unit tests.
//! let repos: std::sync::Arc<dyn Repositories> = std::sync::Arc::new(MemoryStore::new());
//! let kv = MemoryKv::new();
//!
//! let user = repos
//!     .create_user(NewUser::new("grace@example.com", hash_password(&Secret::new("s3cret-enough"))?, "Grace", "Hopper"))
//!     .await?;
//! let session = kv
//!     .create_session(NewSession { user_id: user.id, permissions: vec![], ttl: chrono::Duration::hours(1) })
//!     .await?;
//! assert_eq!(kv.get_session(&session.id).await?.map(|s| s.user_id), Some(user.id));
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub use clientnest_core::*;

#[cfg(feature = "postgres")]
pub use clientnest_postgres as postgres;
#[cfg(feature = "redis")]
pub use clientnest_redis as redis;
#[cfg(feature = "s3")]
pub use clientnest_s3 as s3;
#[cfg(feature = "timescale")]
pub use clientnest_timescale as timescale;
