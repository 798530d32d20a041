//! The hostile-input list of clientnest-core on PostgreSQL: the same cases and expectations as
//! the in-memory store (`clientnest-core/tests/conformance/hostile.rs`), so both backends
//! agree on every injection string, NUL byte, limit, decimal, time, cursor and id.

use std::sync::Arc;

use clientnest_core::conformance::hostile;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::validate::HostPolicy;

use crate::support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_round_trip_or_are_rejected_whole() {
    let Some(db) = TestDb::new().await else { return };
    let harness = Harness { store: Arc::new(db.store.clone()), time: TimeControl::Manual(db.clock.clone()) };
    hostile::hostile_inputs(&harness).await;

    // The injection strings were data: every table is still there, and the fixture's rows too.
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1)",
    )
    .bind(vec!["users", "teams", "team_members", "posts", "post_media", "comments", "billing"])
    .fetch_one(db.pool())
    .await
    .expect("count tables");
    assert_eq!(tables, 7);
    let injected: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE first_name = $1")
        .bind("'; DROP TABLE users; --")
        .fetch_one(db.pool())
        .await
        .expect("count users");
    assert_eq!(injected, 1, "the injection string is stored as a name, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_hosts_are_taken_after_opting_in() {
    let Some(db) = TestDb::new().await else { return };
    assert_eq!(db.store.host_policy(), HostPolicy::PublicOnly, "refusing is the default");
    let store = db.store.clone().with_host_policy(HostPolicy::AllowPrivate);
    hostile::private_hosts_when_opted_in(&store).await;
}
