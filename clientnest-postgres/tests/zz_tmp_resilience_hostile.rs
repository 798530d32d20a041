#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#[path = "postgres/support.rs"]
mod support;
#[path = "postgres/resilience.rs"]
mod resilience;
#[path = "postgres/hostile.rs"]
mod hostile;
