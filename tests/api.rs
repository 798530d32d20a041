//! The API template (`examples/api`) over HTTP: its router on `127.0.0.1:0`, driven with a
//! real client. Every scenario of `api/scenarios.rs` runs twice: `memory::*` on the in-memory
//! backends, and `services::*` on PostgreSQL (`DATABASE_URL`, a fresh schema per test, dropped
//! afterwards) and Redis (`REDIS_URL`, a fresh key prefix per test). Without those variables the
//! `services::*` tests say so loudly and skip, unless `CLIENTNEST_REQUIRE_SERVICES=1`, which
//! makes a missing one a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/api/app/mod.rs"]
mod app;

#[path = "api/support.rs"]
mod support;

#[path = "api/scenarios.rs"]
mod scenarios;

/// One `#[tokio::test]` per scenario and backend: `memory::<name>` and `services::<name>`,
/// each on a server of its own built with the scenario's settings.
macro_rules! scenarios {
    ($($name:ident => $settings:path),+ $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let server = crate::support::Server::memory($settings()).await;
                crate::scenarios::$name(&server).await;
            })+
        }

        mod services {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(server) = crate::support::Server::services($settings()).await else { return };
                crate::scenarios::$name(&server).await;
            })+
        }
    };
}

scenarios! {
    sign_up_log_in_log_out => crate::scenarios::settings,
    unauthenticated_is_401 => crate::scenarios::settings,
    post_with_media_and_paged_feed => crate::scenarios::settings,
    inbox_with_filters => crate::scenarios::settings,
    other_users_team_is_refused => crate::scenarios::settings,
    rate_limit_per_user => crate::scenarios::tight_settings,
    log_in_attempts_are_limited => crate::scenarios::settings,
    bad_input_is_422 => crate::scenarios::settings,
}

/// A failure the client cannot act on is a bare 500: no cause, no rule, nothing of the
/// backend's message.
#[tokio::test]
async fn internal_errors_say_nothing() {
    use axum::response::IntoResponse;
    use clientnest::{CryptoFailure, Error};
    let response = app::error::ApiError::Core(Error::Crypto(CryptoFailure::AuthenticationFailed)).into_response();
    assert_eq!(response.status(), 500);
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap(), serde_json::json!({ "error": "internal" }));
}
