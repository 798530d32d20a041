//! Integration tests of clientnest-s3: media on memory, local disk and the S3 server of
//! `scripts/test` (`S3_ENDPOINT`), and backups of the PostgreSQL database (`DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "s3/backup.rs"]
mod backup;
#[path = "s3/media.rs"]
mod media;
#[path = "s3/server.rs"]
mod server;
