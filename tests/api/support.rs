//! A running API for one test: the example's router on `127.0.0.1:0` over memory, or over
//! PostgreSQL (a database of its own, copied from the migrated template and dropped afterwards) and Redis (a fresh key prefix), and a small
//! HTTP client for it.

use std::net::Ipv4Addr;
use std::sync::Arc;

use clientnest::memory::{MemoryKv, MemoryStore};
use clientnest::prelude::*;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use clientnest_testkit::pg::{PgTemplate, TestDatabase};
use clientnest_testkit::{fixtures, services};
use tokio::sync::OnceCell;

use crate::app::{self, AppState, Settings};

/// The password every test user signs up with.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The API serving one test, and the repositories under it (to seed what has no route, such
/// as comments arriving from the platforms).
pub(crate) struct Server {
    base: String,
    client: reqwest::Client,
    /// The repositories the server uses.
    pub(crate) repos: Arc<dyn Repositories>,
    task: tokio::task::JoinHandle<()>,
    _database: Option<TestDatabase>,
}

impl Server {
    /// Serve on the in-memory backends.
    pub(crate) async fn memory(settings: Settings) -> Server {
        Self::start(Arc::new(MemoryStore::new()), Arc::new(MemoryKv::new()), settings, None).await
    }

    /// Serve on PostgreSQL (`DATABASE_URL`, a fresh migrated schema) and Redis (`REDIS_URL`, a
    /// fresh key prefix); `None` to skip when either is unset.
    pub(crate) async fn services(settings: Settings) -> Option<Server> {
        use clientnest::postgres::{PgConfig, PgStore};
        use clientnest::redis::{RedisConfig, RedisKv};
        let (db_url, redis_url) = (services::database_url()?, services::redis_url()?);
        let database = template(&db_url).await.database(4).await.expect("copy the template database");
        let config = PgConfig::new(database.url())
            .with_search_path(database.schema())
            .with_min_connections(0)
            .with_max_connections(4);
        let store = PgStore::connect(&config, fixtures::keys()).await.expect("connect to the test database");
        let kv = RedisKv::connect(&RedisConfig::new(redis_url).with_key_prefix(fixtures::unique_name("api")))
            .await
            .expect("connect to REDIS_URL");
        Some(Self::start(Arc::new(store), Arc::new(kv), settings, Some(database)).await)
    }

    async fn start(
        repos: Arc<dyn Repositories>,
        kv: Arc<dyn KvStores>,
        settings: Settings,
        database: Option<TestDatabase>,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("a bound address"));
        let router = app::router(AppState::new(repos.clone(), kv, settings));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the server runs");
        });
        Server { base, client: reqwest::Client::new(), repos, task, _database: database }
    }

    /// `GET path`, with the session cookie when given.
    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(self.client.get(self.url(path)), cookie).await
    }

    /// `POST path` with a JSON body, with the session cookie when given.
    pub(crate) async fn post(&self, path: &str, cookie: Option<&str>, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body), cookie).await
    }

    /// `POST path` with a raw body and content type.
    pub(crate) async fn post_raw(&self, path: &str, content_type: &str, body: &'static str) -> Reply {
        let request = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        self.send(request, None).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder, cookie: Option<&str>) -> Reply {
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
        Reply { status, headers, body }
    }

    /// Sign up `name` (a unique email) with its first team; `(user id, team id)`.
    pub(crate) async fn sign_up(&self, email: &str) -> (UserId, TeamId) {
        let body = json!({ "email": email, "password": PASSWORD, "first_name": "Test", "last_name": "User" });
        let reply = self.post("/signup", None, &body).await;
        assert_eq!(reply.status, 201, "sign-up: {}", reply.body);
        (reply.id(&["user", "id"]), reply.id(&["team", "id"]))
    }

    /// Log in and return the `Cookie` header value (`clientnest_session=...`).
    pub(crate) async fn log_in(&self, email: &str) -> String {
        let reply = self.post("/login", None, &json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(reply.status, 200, "log-in: {}", reply.body);
        reply.session_cookie().expect("a session cookie").0
    }

    /// A fresh user, signed up and logged in.
    pub(crate) async fn account(&self, name: &str) -> Account {
        let email = fixtures::unique_email(name);
        let (user, team) = self.sign_up(&email).await;
        let cookie = self.log_in(&email).await;
        Account { email, user, team, cookie }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A signed-up, logged-in user.
pub(crate) struct Account {
    /// The email it signed up with; `log_in` takes it to open another session.
    pub(crate) email: String,
    /// The user id the sign-up created.
    pub(crate) user: UserId,
    /// The team made at sign-up.
    pub(crate) team: TeamId,
    /// The `Cookie` header value that carries its session.
    pub(crate) cookie: String,
}

impl Account {
    /// The cookie, for [`Server::get`] and [`Server::post`].
    pub(crate) fn cookie(&self) -> Option<&str> {
        Some(&self.cookie)
    }
}

/// An answer: status, headers and the JSON body (`null` when empty).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    /// The id at a JSON path, e.g. `["team", "id"]` or `["items", "0", "id"]`.
    pub(crate) fn id<T: std::str::FromStr>(&self, path: &[&str]) -> T {
        let value = path.iter().fold(&self.body, |v, key| match key.parse::<usize>() {
            Ok(index) if v.is_array() => &v[index],
            _ => &v[*key],
        });
        value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an id at {path:?} in {}", self.body))
    }

    /// The session cookie set by this answer: (`name=value` for a `Cookie` header, the whole
    /// `Set-Cookie` line).
    pub(crate) fn session_cookie(&self) -> Option<(String, String)> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
            let pair = line.split(';').next()?.trim();
            pair.starts_with(&format!("{}=", app::auth::SESSION_COOKIE)).then(|| (pair.to_owned(), line.to_owned()))
        })
    }

    /// The `(field, rule)` pairs of a 422 validation body.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        let fields = self.body["fields"].as_array().cloned().unwrap_or_default();
        fields
            .iter()
            .map(|f| (f["field"].as_str().unwrap_or("").to_owned(), f["rule"].as_str().unwrap_or("").to_owned()))
            .collect()
    }
}

/// The template of the PostgreSQL migrations, migrated once per test process.
async fn template(url: &str) -> &'static PgTemplate {
    static TEMPLATE: OnceCell<PgTemplate> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            PgTemplate::prepare(url, &clientnest::postgres::MIGRATOR, "clientnest_api")
                .await
                .expect("prepare the template")
        })
        .await
}
