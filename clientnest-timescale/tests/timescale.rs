//! Integration tests of clientnest-timescale against real servers: plain PostgreSQL
//! (`DATABASE_URL`) and TimescaleDB (`TIMESCALE_URL`). Every test works in a fresh schema of
//! the shared `test` database (dropped at its end), so tests run in parallel.
//!
//! Without a URL the tests say so loudly and skip, unless `CLIENTNEST_REQUIRE_SERVICES=1`,
//! which makes an absent server a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "timescale/support.rs"]
mod support;

#[path = "timescale/adapter.rs"]
mod adapter;

#[path = "timescale/copy.rs"]
mod copy;

#[path = "timescale/late.rs"]
mod late;

#[path = "timescale/readers.rs"]
mod readers;

#[path = "timescale/conformance.rs"]
mod conformance;
