//! # clientnest-s3
//!
//! ClientNest on object storage, over [`object_store`]: post media on S3 (any S3-compatible
//! endpoint), local disk or memory, and verified backups of PostgreSQL databases.
#![forbid(unsafe_code)]

pub mod backup;
pub mod config;
pub mod media;

pub use config::S3Config;
pub use media::ObjectMediaStore;
