//! A PostgreSQL database per test, copied from a template migrated once (as crates.io's
//! `crates_io_test_db`).
//!
//! - [`PgTemplate::prepare`] (once per test process): the template of a set of migrations is
//!   the database `cn_tpl_<hash>`, the hash covering every migration's version and checksum and
//!   the schema, so a changed migration makes a new template. The first process builds it under
//!   a build name, migrates it and renames it (so a template that exists is complete); the others
//!   wait on an advisory lock and find it built. Under the same lock it drops what old runs left:
//!   test databases older than [`STALE_AFTER`], other templates unused for as long, and builds
//!   that crashed.
//! - [`PgTemplate::database`] (per test): `CREATE DATABASE cn_test_<time>_<uuid> TEMPLATE
//!   cn_tpl_<hash>` with the WAL_LOG strategy (PostgreSQL 15's default; FILE_COPY checkpoints
//!   on every copy, and measured twice as slow here), and a pool on it whose connections use the
//!   migrated schema. The database is dropped (`WITH (FORCE)`) when the last handle to that pool
//!   goes.
//!
//! The advisory lock is taken in the database of the URL given to `prepare`: processes that
//! share a server share that URL (`DATABASE_URL`).

mod database;
mod names;
mod template;
mod url;

pub use database::TestDatabase;
pub use names::STALE_AFTER;
pub use template::PgTemplate;
pub use url::with_database;
