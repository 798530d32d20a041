//! Hostile input through the public API: SQL injection strings, quotes and backslashes, NUL
//! bytes, megabyte strings, emoji and combining characters exactly at the length limits and one
//! over, invalid zones, negative money, decimals with too many places, far-future and far-past
//! times, JSON holding `\u0000`, forged cursor tokens, hostile filters and ids.
//!
//! Every [`Case`] names one value, where it goes ([`Target`]) and what must happen
//! ([`Expect`]): either the value round-trips exactly (read back, compared field by field; a
//! look-up answers exactly), or the call is refused with [`Error::Validation`] naming the field
//! and rule, and nothing at all was stored (a census of the team's and user's rows is taken
//! before and after, post statuses and media counts included).
//!
//! [`hostile_inputs`] runs the whole list against any backend, the cases concurrently, each on
//! a fixture of its own, and fails with every broken case listed, so the in-memory store and
//! each adapter agree:
//!
//! ```no_run
//! use std::sync::Arc;
//! use clientnest_core::clock::ManualClock;
//! use clientnest_core::conformance::{Harness, TimeControl, hostile};
//! use clientnest_core::memory::MemoryStore;
//!
//! # async fn run() {
//! let clock = ManualClock::starting_now();
//! let store = MemoryStore::with_clock(Arc::new(clock.clone()));
//! hostile::hostile_inputs(&Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }).await;
//! # }
//! ```
//!
//! [`Error::Validation`]: crate::Error::Validation

use std::fmt;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use uuid::Uuid;

use crate::conformance::Harness;
use crate::model::*;
use crate::ports::Repositories;

mod attempt;
mod cases;
mod census;
mod fixture;
mod hygiene;

pub use cases::cases;
pub use fixture::Fixture;

/// A change made to a valid default input, turning it into the hostile one.
pub type Edit<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// Where a hostile value goes. Writes start from a valid input for the fixture and apply the
/// edit; batch targets put the hostile item second, after a valid one.
#[non_exhaustive]
pub enum Target {
    /// `create_user`.
    User(Edit<NewUser>),
    /// `update_user` of a fresh user, setting `last_login`.
    LastLogin(DateTime<Utc>),
    /// `create_team` owned by the fixture's user.
    Team(Edit<NewTeam>),
    /// `connect_account` in the fixture's team.
    Account(Edit<NewSocialAccount>),
    /// `create_post` in the fixture's team.
    Post(Edit<NewPost>),
    /// `import_posts` of two posts, the second edited.
    Import(Edit<ImportedPost>),
    /// `ingest_comments` of two comments on the fixture's account, the second edited.
    Comments(Edit<NewComment>),
    /// `create_template`, then `list_templates` filtered by its category.
    Template(Edit<NewTemplate>),
    /// `create_schedule` of a fresh draft post on the fixture's account.
    Schedule(Edit<NewSchedule>),
    /// `create_billing` (status `cancelled`, so any number may exist).
    Billing(Edit<NewBilling>),
    /// `record_ai_usage`.
    AiUsage(Edit<NewAiUsage>),
    /// `notify` the fixture's user.
    Notification(Edit<NewNotification>),
    /// `create_webhook`, then `webhooks_for_event` with its event type.
    Webhook(Edit<NewWebhook>),
    /// `update_user` of the fixture's user (the census holds that user's whole row).
    UserChange(Edit<UserUpdate>),
    /// `update_webhook` of a fresh webhook of the fixture's user (the census holds every
    /// webhook row of that user).
    WebhookChange(Edit<WebhookUpdate>),
    /// Store a user with email `stored`, then `find_user_by_email(query)`: found or not.
    FindEmail {
        /// The email stored first, as given.
        stored: String,
        /// The hostile text passed to `find_user_by_email`.
        query: String,
        /// Whether the query must find the stored user.
        found: bool,
    },
    /// `list_templates` with a category filter that no template has: an empty page.
    TemplateCategory(String),
    /// `Cursor::decode` of a token; when it decodes, `list_posts` after it must answer.
    CursorToken(String),
    /// `list_posts` after a cursor at this many microseconds since the epoch: every post older
    /// than it, none newer.
    CursorAt(i64),
    /// `list_posts` with this page size.
    PageLimit(u32),
    /// `get_post` of the fixture's team with an id that is not one of its posts (`None`: the
    /// other team's post).
    ForeignPost(Option<Uuid>),
}

/// What must happen to a hostile value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Stored and read back exactly (times at microsecond precision), or a look-up answers
    /// exactly.
    Exact,
    /// Refused with [`Error::Validation`](crate::Error::Validation) holding this field and rule;
    /// nothing stored.
    Rejected {
        /// The field path, e.g. `media[1].alt_text`.
        field: &'static str,
        /// The rule, e.g. `nul_byte`.
        rule: &'static str,
    },
    /// Refused with [`Error::NotFound`](crate::Error::NotFound).
    NotFound,
}

/// One hostile value, where it goes and what must happen.
pub struct Case {
    /// What the value is, for failure messages.
    pub name: String,
    /// The port and field the value is written to or queried with.
    pub target: Target,
    /// What must happen: stored and read back exactly, refused on a field and rule, or
    /// `NotFound`.
    pub expect: Expect,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("name", &self.name).field("expect", &self.expect).finish_non_exhaustive()
    }
}

/// Run one case against the backend; `Err` says how it went wrong.
pub async fn check_case<S: Repositories + ?Sized>(h: &Harness<S>, fx: &Fixture, case: &Case) -> Result<(), String> {
    let store = &*h.store;
    let prepared = attempt::prepare(store, fx, &case.target).await?;
    let new_email = attempt::new_user_email(&prepared);
    let before = census::take(store, fx).await?;
    let outcome = attempt::run(store, fx, prepared).await;
    match (case.expect, outcome) {
        (Expect::Exact, Ok(compared)) => compared,
        (Expect::Exact, Err(e)) => Err(format!("expected an exact round trip, got the error {e:?}")),
        (Expect::Rejected { field, rule }, Err(e)) => {
            attempt::expect_rejection(&e, field, rule)?;
            census::unchanged(store, fx, &before).await?;
            attempt::no_user_with(store, new_email.as_deref()).await
        }
        (Expect::NotFound, Err(crate::Error::NotFound { .. })) => census::unchanged(store, fx, &before).await,
        (expect, Err(e)) => Err(format!("expected {expect:?}, got the error {e:?}")),
        (expect, Ok(_)) => Err(format!("expected {expect:?}, but the call succeeded")),
    }
}

/// Prove a store built with [`HostPolicy::AllowPrivate`](crate::validate::HostPolicy) takes
/// the loopback, private and metadata hosts the default refuses (webhook endpoints created and
/// changed, avatars set), and stores them exactly. Run it on a store that opted in.
pub async fn private_hosts_when_opted_in<S: Repositories + ?Sized>(store: &S) {
    let user = store.create_user(fixture::new_user()).await.expect("a user");
    for url in ["http://localhost:8080/hook", "http://127.1/hook", "http://[::1]/hook", "http://169.254.169.254/"] {
        let new = NewWebhook {
            platform: Platform::Facebook,
            event_type: "comment.created".to_owned(),
            endpoint_url: url.to_owned(),
            secret_key: crate::secret::Secret::new("whsec_opt_in_0123456789abcdef0123"),
        };
        let created =
            store.create_webhook(user.id, new).await.unwrap_or_else(|e| panic!("{url} after opting in: {e:?}"));
        assert_eq!(created.endpoint_url, url, "stored exactly");
        let change = WebhookUpdate { endpoint_url: Some(format!("{url}/v2")), ..WebhookUpdate::default() };
        let changed = store.update_webhook(user.id, created.id, change).await.expect("changed to a private host");
        assert_eq!(store.get_webhook(user.id, created.id).await.expect("read back"), changed);
        let avatar = UserUpdate { avatar_url: Some(Some(format!("{url}/me.png"))), ..UserUpdate::default() };
        let updated = store.update_user(user.id, avatar).await.expect("a private avatar");
        assert_eq!(updated.avatar_url, Some(format!("{url}/me.png")));
    }
    let mut with_avatar = fixture::new_user();
    with_avatar.avatar_url = Some("http://10.0.0.7/a.png".to_owned());
    let created = store.create_user(with_avatar).await.expect("a user with a private avatar");
    assert_eq!(created.avatar_url.as_deref(), Some("http://10.0.0.7/a.png"));
    let mut bad = fixture::new_user();
    bad.avatar_url = Some("javascript:alert(1)".to_owned());
    match store.create_user(bad).await {
        Err(e) if e.validation().is_some_and(|v| v.has("avatar_url", crate::validate::rule::URL)) => {}
        other => panic!("opting in relaxes hosts only, not the URL syntax: {other:?}"),
    }
}

/// How many cases run at once on one store: enough to overlap the round trips, few enough
/// for a small connection pool (the PostgreSQL tests give each test 5 connections).
const CONCURRENT_CASES: usize = 8;

/// Run every case of [`cases`] against a backend, concurrently, each on a [`Fixture`] of its
/// own (so the census of one case never sees another's rows), and panic listing each case that
/// went wrong, in the order of [`cases`].
pub async fn hostile_inputs<S: Repositories + ?Sized>(h: &Harness<S>) {
    let all = cases();
    let outcomes: Vec<Result<(), String>> =
        futures::stream::iter(&all).map(|case| check_alone(h, case)).buffered(CONCURRENT_CASES).collect().await;
    let failures: Vec<String> = all
        .iter()
        .zip(outcomes)
        .filter_map(|(case, outcome)| outcome.err().map(|why| format!("- {}: {why}", case.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} hostile cases failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

/// Run one case on a fresh fixture.
async fn check_alone<S: Repositories + ?Sized>(h: &Harness<S>, case: &Case) -> Result<(), String> {
    let fx = match Fixture::create(h).await {
        Ok(fx) => fx,
        Err(e) => panic!("hostile-input fixture: {e}"),
    };
    check_case(h, &fx, case).await
}
