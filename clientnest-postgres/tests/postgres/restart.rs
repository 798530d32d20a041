//! A real server restart: the PostgreSQL of `scripts/restartable` (`RESTART_PG_URL`, never the
//! shared `DATABASE_URL`) is restarted with `pg_ctl restart -m fast` while 8 tasks read and
//! write through one `PgStore`. During the outage calls fail only with the retryable
//! `Unavailable` (a write may also say `OutcomeUnknown`, though this adapter reports a lost
//! commit reply as `Unavailable` too); afterwards every task succeeds again within
//! [`RECOVERY_BOUND`] on the same store, and every write that returned `Ok` is stored.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clientnest_core::prelude::*;
use clientnest_postgres::{PgConfig, PgStore};
use clientnest_testkit::fixtures::unique_name;
use clientnest_testkit::pg::with_database;
use clientnest_testkit::services;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::watch;

use crate::support;

/// Tasks sharing the store.
const TASKS: usize = 8;

/// How long after the server is back every task must have succeeded again.
const RECOVERY_BOUND: Duration = Duration::from_secs(30);

/// Guard against a hang while waiting for load (not a timing assertion).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// What one task saw.
#[derive(Debug, Default, Clone)]
struct Tally {
    ok: u64,
    unavailable: u64,
    outcome_unknown: u64,
    /// The distinct messages of the errors (what the outage looked like).
    messages: std::collections::BTreeSet<String>,
    /// Errors of another kind (or `OutcomeUnknown` on a read), as text: none expected.
    other: Vec<String>,
    /// Posts whose `create_post` returned `Ok`.
    written: Vec<PostId>,
    /// Titles of the posts whose `create_post` failed (they may or may not be stored).
    failed_writes: Vec<String>,
    /// Errors seen before the restart began (none expected).
    errors_before_restart: u64,
    /// Errors seen once every task had recovered (counted, printed).
    errors_after_recovery: u64,
    /// When the first call started after the server was back succeeded.
    first_ok_after_restart: Option<Instant>,
}

/// The phases the main task moves the workers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Before,
    Restarting,
    /// The server is back (the restart command returned), since this instant.
    Back(Instant),
    Recovered,
    Stop,
}

/// Reads (the feed, a post written earlier) and writes (`create_post`) until told to stop.
async fn worker(
    store: PgStore,
    team: TeamId,
    user: UserId,
    task: usize,
    phase: watch::Receiver<Phase>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut n = 0u64;
    let mut last_written: Option<PostId> = None;
    loop {
        let started_in = *phase.borrow();
        if started_in == Phase::Stop {
            return;
        }
        n += 1;
        let write = n.is_multiple_of(2);
        let title = format!("restart {task}-{n}");
        let outcome: Result<()> = if write {
            let mut post = NewPost::draft(user, format!("written by task {task}"));
            post.title = title.clone();
            store.create_post(team, post).await.map(|p| {
                last_written = Some(p.post.id);
                tally.lock().expect("tally").written.push(p.post.id);
            })
        } else if let (Some(id), true) = (last_written, n.is_multiple_of(3)) {
            store.get_post(team, id).await.map(|p| assert_eq!(p.post.id, id))
        } else {
            store.feed(team, PageRequest::first(20)).await.map(drop)
        };
        let failed = outcome.is_err();
        {
            let mut t = tally.lock().expect("tally");
            match outcome {
                Ok(()) => {
                    t.ok += 1;
                    if let Phase::Back(_) | Phase::Recovered = started_in {
                        t.first_ok_after_restart.get_or_insert_with(Instant::now);
                    }
                }
                Err(e) => {
                    match &e {
                        Error::Unavailable { .. } if e.is_retryable() => t.unavailable += 1,
                        Error::OutcomeUnknown { .. } if write => t.outcome_unknown += 1,
                        _ => t.other.push(format!("{}: {e:?}", if write { "write" } else { "read" })),
                    }
                    t.messages.insert(e.to_string());
                    if write {
                        t.failed_writes.push(title);
                    }
                    match started_in {
                        Phase::Before => t.errors_before_restart += 1,
                        Phase::Recovered => t.errors_after_recovery += 1,
                        _ => {}
                    }
                }
            }
        }
        if failed {
            // A client backs off a little before trying again.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The server's start time (changes with every restart).
async fn started_at(url: &str) -> String {
    let mut conn = PgConnection::connect(url).await.expect("connect to the restartable server");
    sqlx::query_scalar("SELECT pg_postmaster_start_time()::text").fetch_one(&mut conn).await.expect("start time")
}

/// Sum of the tallies.
fn total(tallies: &[Arc<Mutex<Tally>>]) -> Tally {
    let mut sum = Tally::default();
    for t in tallies {
        let t = t.lock().expect("tally");
        sum.ok += t.ok;
        sum.unavailable += t.unavailable;
        sum.outcome_unknown += t.outcome_unknown;
        sum.other.extend(t.other.iter().cloned());
        sum.messages.extend(t.messages.iter().cloned());
        sum.written.extend(t.written.iter().copied());
        sum.failed_writes.extend(t.failed_writes.iter().cloned());
        sum.errors_before_restart += t.errors_before_restart;
        sum.errors_after_recovery += t.errors_after_recovery;
    }
    sum
}

/// Wait (at most [`HANG_GUARD`]) until `done` holds for the tallies.
async fn wait_until(what: &str, tallies: &[Arc<Mutex<Tally>>], done: impl Fn(&[Arc<Mutex<Tally>>]) -> bool) {
    let waited = tokio::time::timeout(HANG_GUARD, async {
        while !done(tallies) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "stalled waiting for {what}: {:?}", total(tallies));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_run_gives_retryable_errors_then_recovery_without_losing_writes() {
    let Some(admin_url) = services::restart_pg_url() else { return };
    let Some(script) = services::restartable_script() else { return };

    // A fresh database on the restartable server, migrated by the store itself.
    let name = unique_name("cn_restart").replace('-', "_");
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to RESTART_PG_URL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create the database");
    drop(admin);
    let url = with_database(&admin_url, &name).expect("RESTART_PG_URL is a postgres:// URL");
    let config = PgConfig::new(url.clone())
        .with_max_connections(10)
        .with_min_connections(2)
        .with_acquire_timeout(Duration::from_secs(2));
    let store = PgStore::connect(&config, support::keys()).await.expect("connect the store");
    store.migrate().await.expect("migrate the fresh database");

    let user = store
        .create_user(NewUser::new(
            "restart@example.com",
            hash_password(&Secret::new("pw")).expect("hash"),
            "Re",
            "Start",
        ))
        .await
        .expect("user");
    let (team, _) = store.create_team(NewTeam::new("Restart", user.id, PlanType::Free)).await.expect("team");

    let (phase, phase_rx) = watch::channel(Phase::Before);
    let tallies: Vec<_> = (0..TASKS).map(|_| Arc::new(Mutex::new(Tally::default()))).collect();
    let workers: Vec<_> = tallies
        .iter()
        .enumerate()
        .map(|(task, tally)| {
            tokio::spawn(worker(store.clone(), team.id, user.id, task, phase_rx.clone(), Arc::clone(tally)))
        })
        .collect();
    wait_until("every task to succeed 20 times", &tallies, |ts| ts.iter().all(|t| t.lock().expect("tally").ok >= 20))
        .await;

    // Restart mid-run, on the same store.
    let before = started_at(&admin_url).await;
    phase.send_replace(Phase::Restarting);
    let restart_began = Instant::now();
    let status = tokio::task::spawn_blocking(move || std::process::Command::new(script).arg("pg-restart").status())
        .await
        .expect("join the restart")
        .expect("run scripts/restartable pg-restart");
    assert!(status.success(), "scripts/restartable pg-restart failed: {status}");
    let back = Instant::now();
    phase.send_replace(Phase::Back(back));
    assert_ne!(started_at(&admin_url).await, before, "the server did not restart");

    // Every task succeeds again within the bound.
    let recovered = tokio::time::timeout(RECOVERY_BOUND, async {
        while !tallies.iter().all(|t| t.lock().expect("tally").first_ok_after_restart.is_some()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        recovered.is_ok(),
        "not every task succeeded within {RECOVERY_BOUND:?} of the restart: {:?}",
        total(&tallies)
    );
    let all_recovered = Instant::now();
    phase.send_replace(Phase::Recovered);
    let ok_at_recovery = total(&tallies).ok;
    wait_until("200 more successes after recovery", &tallies, |ts| total(ts).ok >= ok_at_recovery + 200).await;
    phase.send_replace(Phase::Stop);
    for w in workers {
        w.await.expect("a task panicked");
    }

    let sum = total(&tallies);
    let recoveries: Vec<Duration> = tallies
        .iter()
        .filter_map(|t| t.lock().expect("tally").first_ok_after_restart.map(|at| at.duration_since(back)))
        .collect();
    let slowest = recoveries.iter().max().copied().unwrap_or_default();

    // Every acknowledged write is stored; count the failed ones that were stored anyway.
    for id in &sum.written {
        store.get_post(team.id, *id).await.expect("a post whose create_post returned Ok is stored");
    }
    let failed_but_stored: i64 = sqlx::query_scalar("SELECT count(*) FROM posts WHERE title = ANY($1)")
        .bind(&sum.failed_writes)
        .fetch_one(store.pool())
        .await
        .expect("count failed writes that committed");

    eprintln!(
        "postgres restart: {TASKS} tasks; calls ok {}, Unavailable {}, OutcomeUnknown {}, other errors {}; \
         writes ok {} (all read back), writes failed {} of which {failed_but_stored} committed anyway; \
         restart took {:?}; every task ok again {:?} after the server was back (slowest task {slowest:?}, \
         {:?} after the restart began); errors after recovery {}",
        sum.ok,
        sum.unavailable,
        sum.outcome_unknown,
        sum.other.len(),
        sum.written.len(),
        sum.failed_writes.len(),
        back.duration_since(restart_began),
        all_recovered.duration_since(back),
        all_recovered.duration_since(restart_began),
        sum.errors_after_recovery,
    );
    eprintln!("postgres restart: the errors said {:#?}", sum.messages);
    assert!(sum.other.is_empty(), "errors other than Unavailable/OutcomeUnknown: {:#?}", sum.other);
    assert_eq!(sum.errors_before_restart, 0, "errors before the restart");
    assert!(sum.unavailable + sum.outcome_unknown > 0, "the restart was not noticed by any task");

    store.close().await;
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to RESTART_PG_URL");
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .expect("drop the database");
}
