//! Integration tests of clientnest-postgres against a real server (`DATABASE_URL`): the
//! relational conformance suite, the catalog after migrating, secrets at rest, concurrent
//! scheduling, acting-user membership under concurrency and the feed's plan.
//!
//! Without `DATABASE_URL` the tests say so loudly and skip, unless
//! `CLIENTNEST_REQUIRE_SERVICES=1`, which makes an absent server a failure. Every test runs in
//! a database of its own (`cn_test_<time>_<uuid>`, copied from a template migrated once per
//! run, dropped afterwards), so they run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "postgres/support.rs"]
mod support;

#[path = "postgres/conformance.rs"]
mod conformance;

#[path = "postgres/catalog.rs"]
mod catalog;

#[path = "postgres/secrets.rs"]
mod secrets;

#[path = "postgres/scheduling.rs"]
mod scheduling;

#[path = "postgres/plan.rs"]
mod plan;

#[path = "postgres/adapter.rs"]
mod adapter;

#[path = "postgres/resilience.rs"]
mod resilience;

#[path = "postgres/hostile.rs"]
mod hostile;

#[path = "postgres/membership.rs"]
mod membership;

#[path = "postgres/restart.rs"]
mod restart;

#[path = "postgres/replicas.rs"]
mod replicas;

#[path = "postgres/bouncer.rs"]
mod bouncer;
