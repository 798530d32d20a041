//! The relational conformance suite of clientnest-core, on PostgreSQL: each test on a database of
//! its own (copied from the migrated template), on a manual clock.

use std::sync::Arc;

use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_postgres::PgStore;

use crate::support::TestDb;

/// A fresh database and a store on its manual clock; `None` skips the test.
async fn harness() -> Option<Harness<PgStore>> {
    let db = TestDb::new().await?;
    Some(Harness { store: Arc::new(db.store), time: TimeControl::Manual(db.clock) })
}

clientnest_core::relational_conformance!(harness);
