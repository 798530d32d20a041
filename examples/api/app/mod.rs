//! The HTTP application: its state, its settings and its routes. `main.rs` composes the
//! backends and serves [`router`]; `tests/api.rs` does the same on `127.0.0.1:0`.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /signup` | create a user (argon2id hash) and their first team |
//! | `POST /login` | check the password, open a session, set the session cookie |
//! | `POST /logout` | end the session, clear the cookie |
//! | `GET /me` | the signed-in user and their teams |
//! | `POST /teams` | create another team, owned by the signed-in user |
//! | `GET /teams/{team}/feed` | published posts, newest first (`?limit=&cursor=`) |
//! | `POST /teams/{team}/posts` | create a post with its media |
//! | `GET /teams/{team}/inbox` | comments (`?status=&sentiment=&priority=&account_id=&limit=&cursor=`) |

mod accounts;
pub(crate) mod auth;
pub(crate) mod error;
mod inbox;
mod input;
mod paging;
mod posts;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use chrono::Duration;
use clientnest::prelude::*;

/// What every handler reaches: the repositories, the key-value stores and the settings. Cheap
/// to clone (three `Arc`s).
#[derive(Clone)]
pub(crate) struct AppState {
    /// Users, teams, posts, comments...: PostgreSQL or memory.
    pub(crate) repos: Arc<dyn Repositories>,
    /// Sessions and rate limits: Redis or memory.
    pub(crate) kv: Arc<dyn KvStores>,
    /// Session lifetime, rate-limit quotas and the cookie's `Secure` flag.
    pub(crate) settings: Arc<Settings>,
}

impl AppState {
    /// State over composed backends.
    pub(crate) fn new(repos: Arc<dyn Repositories>, kv: Arc<dyn KvStores>, settings: Settings) -> Self {
        Self { repos, kv, settings: Arc::new(settings) }
    }
}

/// Session lifetime, rate limits and cookie flags.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// How long a session lives without a request; every authenticated request pushes its
    /// expiry to now + this (sliding expiry). The cookie's `Max-Age` is the same.
    pub(crate) session_ttl: Duration,
    /// Requests per signed-in user (subject `user:<id>`), counted on every authenticated route.
    pub(crate) user_quota: Quota,
    /// Log-in attempts per email address (subject `login:<email, lower case>`), counted
    /// before the password is checked, so guessing is slow whatever the outcome.
    pub(crate) login_quota: Quota,
    /// Add `Secure` to the session cookie. Turn it on behind HTTPS (the default is off so the
    /// example works on plain `http://127.0.0.1`).
    pub(crate) secure_cookie: bool,
}

impl Default for Settings {
    /// 24 hour sliding sessions; 120 requests a minute per user with bursts of 30; 10 log-in
    /// attempts per 15 minutes per email with bursts of 5.
    fn default() -> Self {
        Self {
            session_ttl: Duration::hours(24),
            user_quota: Quota::per(120, Duration::minutes(1)).with_burst(30),
            login_quota: Quota::per(10, Duration::minutes(15)).with_burst(5),
            secure_cookie: false,
        }
    }
}

/// Every route of the API over `state`.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/signup", post(accounts::sign_up))
        .route("/login", post(accounts::log_in))
        .route("/logout", post(accounts::log_out))
        .route("/me", get(accounts::me))
        .route("/teams", post(accounts::create_team))
        .route("/teams/{team}/feed", get(posts::feed))
        .route("/teams/{team}/posts", post(posts::create))
        .route("/teams/{team}/inbox", get(inbox::inbox))
        .with_state(state)
}
