//! An HTTP API over the ClientNest ports (axum), written as a template to copy into your
//! application.
//!
//! ```text
//! cargo run --example api                      # in memory, http://127.0.0.1:3000
//! PORT=0 cargo run --example api               # any free port (printed)
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run --example api                    # PostgreSQL (migrated at start) + Redis
//! ```
//!
//! Try it:
//!
//! ```text
//! curl -si localhost:3000/signup -H 'content-type: application/json' \
//!   -d '{"email":"ada@example.com","password":"correct horse","first_name":"Ada","last_name":"Lovelace"}'
//! curl -si localhost:3000/login -c jar -H 'content-type: application/json' \
//!   -d '{"email":"ada@example.com","password":"correct horse"}'
//! curl -s localhost:3000/me -b jar            # the user and their team ids
//! curl -s localhost:3000/teams/<team>/posts -b jar -H 'content-type: application/json' \
//!   -d '{"content":"Hello","status":"published","media":[{"media_type":"image","file_url":"https://cdn.example.com/a.png","file_size":1024}]}'
//! curl -s 'localhost:3000/teams/<team>/feed?limit=10' -b jar
//! ```
//!
//! # Using it as a template
//!
//! - **Composition** ([`backends`] below): the handlers see only `Arc<dyn Repositories>` and
//!   `Arc<dyn KvStores>`, so the same router runs on the in-memory backends (your tests) and on
//!   PostgreSQL + Redis (production). Replace the environment reading with your configuration;
//!   load the sealing key (`CLIENTNEST_SEALING_KEY`, 32 bytes in base64) from your secret
//!   manager, and run migrations as a deploy step rather than at every start if you prefer.
//! - **Routes** live in `app/` (one module per concern): `app/mod.rs` lists them with the
//!   state and the [`Settings`](app::Settings) (session lifetime, rate limits, cookie flags).
//!   Add a route by writing a handler that takes [`Member`](app::auth::Member) (a team route)
//!   or [`Authed`](app::auth::Authed) (a user route) and returns `Result<_, ApiError>`.
//! - **Errors** are mapped to HTTP in one place, `app/error.rs`: validation 422 with each
//!   field and rule, not found 404, conflict 409, not a member 403, backend unavailable 503,
//!   anything else 500 with no detail (the detail goes to stderr; use your logger).
//! - **Sessions** are the `SessionStore` port: the cookie carries only the random session id
//!   (`HttpOnly; SameSite=Lax; Path=/`, add `Secure` behind HTTPS with
//!   `Settings::secure_cookie`); each request slides the expiry. Log-out deletes the session;
//!   `revoke_user_sessions` ends them all (on a password change).
//! - **Rate limits** are the `RateLimiter` port: every authenticated request counts against
//!   the user's quota, log-in attempts against the email's; a refusal is 429 with
//!   `Retry-After`.
//! - **Tenancy**: team routes check that the caller is an active member (403 otherwise), and
//!   the ports scope every read and write to the team, so an id from another team is 404.
//! - **Tests**: `tests/api.rs` starts this router on `127.0.0.1:0` over memory (and over
//!   PostgreSQL + Redis when `DATABASE_URL` and `REDIS_URL` are set) and drives it over HTTP;
//!   copy it with the router.
//!
//! It binds 127.0.0.1 only: put it behind your reverse proxy (TLS, request logging, body
//! limits) rather than on a public interface.

mod app;

use std::net::Ipv4Addr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clientnest::memory::{MemoryKv, MemoryStore};
use clientnest::postgres::{PgConfig, PgStore};
use clientnest::prelude::*;
use clientnest::redis::{RedisConfig, RedisKv};
use clientnest::validate::rule;

type Repos = Arc<dyn Repositories>;
type Kv = Arc<dyn KvStores>;

/// The port when `PORT` is not set.
const DEFAULT_PORT: u16 = 3000;

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::var("PORT") {
        Ok(p) => p.parse::<u16>().map_err(|_| format!("PORT must be a number from 0 to 65535, not {p:?}"))?,
        Err(_) => DEFAULT_PORT,
    };
    let (repos, kv) = backends().await?;
    let state = app::AppState::new(repos, kv, app::Settings::default());
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("ClientNest API listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app::router(state)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM, as sent by container runtimes: in-flight
/// requests finish, then `serve` returns.
async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Pick the backends from the environment: PostgreSQL when `DATABASE_URL` is set (migrated
/// first) and Redis when `REDIS_URL` is set, in memory otherwise. Each is one expression: swap
/// in your own configuration.
async fn backends() -> Result<(Repos, Kv)> {
    let repos: Repos = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let config = PgConfig::new(url).with_application_name("clientnest-api");
            let store = PgStore::connect(&config, key_ring()?).await?;
            store.migrate().await?;
            println!("(repositories: PostgreSQL, migrated)");
            Arc::new(store)
        }
        _ => {
            println!("(repositories: in memory; set DATABASE_URL for PostgreSQL)");
            Arc::new(MemoryStore::new())
        }
    };
    let kv: Kv = match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let kv = RedisKv::connect(&RedisConfig::new(url)).await?;
            println!("(sessions and rate limits: Redis)");
            Arc::new(kv)
        }
        _ => {
            println!("(sessions and rate limits: in memory; set REDIS_URL for Redis)");
            Arc::new(MemoryKv::new())
        }
    };
    Ok((repos, kv))
}

/// The key that seals OAuth tokens and webhook secrets at rest: `CLIENTNEST_SEALING_KEY` (32
/// bytes, standard base64) under the id `CLIENTNEST_SEALING_KEY_ID` (default `api-1`). Without
/// it, a random key for this process only: what it seals cannot be opened after a restart.
fn key_ring() -> Result<KeyRing> {
    let Ok(encoded) = std::env::var("CLIENTNEST_SEALING_KEY") else {
        println!("(CLIENTNEST_SEALING_KEY is not set: sealing with a random key for this run only)");
        return KeyRing::new("api-ephemeral", KeyRing::generate_key());
    };
    let bad = || Error::invalid("CLIENTNEST_SEALING_KEY", rule::FORMAT, "must be 32 bytes in base64");
    let key: [u8; 32] = STANDARD.decode(encoded.trim()).map_err(|_| bad())?.try_into().map_err(|_| bad())?;
    let id = std::env::var("CLIENTNEST_SEALING_KEY_ID").unwrap_or_else(|_| "api-1".to_owned());
    KeyRing::new(id, key)
}
