//! Late and corrected data (issue 9, item 6): re-sent snapshots replace, also in compressed
//! chunks; backfill older than the compression horizon; the hourly rollups show recent rows at
//! once and late rows after `refresh_rollups`; retention removes rows from every read.

use chrono::{Duration, DurationRound, Utc};
use chrono_tz::Tz;
use clientnest_core::analytics::{
    AnalyticsMaintenance, AnalyticsWriter, Bucket, EngagementCounter, EngagementReader, EngagementSnapshot, PostSeries,
    Rollup,
};
use clientnest_core::ids::{PostId, TeamId};
use clientnest_core::model::{Period, Platform};
use futures::TryStreamExt;

use crate::support::{Server, TestStore, at, every_store, store};

fn likes(team: TeamId, post: PostId, time: chrono::DateTime<Utc>, n: i64) -> EngagementSnapshot {
    EngagementSnapshot::new(team, post, Platform::Instagram, time - Duration::hours(1), time)
        .with(EngagementCounter::Likes, n)
}

async fn stored(t: &TestStore, team: TeamId, range: Period) -> Vec<EngagementSnapshot> {
    t.store.engagement_snapshots(team, range, None).try_collect().await.unwrap()
}

/// Likes of one post per bucket (latest), in `zone`.
async fn latest_likes(
    t: &TestStore,
    team: TeamId,
    post: PostId,
    range: Period,
    bucket: Bucket,
    zone: Tz,
) -> Vec<Option<i64>> {
    let rollup = Rollup::new(team, range, bucket).in_zone(zone);
    t.store
        .post_engagement(rollup, PostSeries { post, platform: None })
        .await
        .unwrap()
        .iter()
        .map(|p| p.latest.get(EngagementCounter::Likes))
        .collect()
}

#[tokio::test]
async fn a_re_sent_snapshot_replaces_the_stored_one() {
    for (name, t) in every_store().await {
        let (team, post) = (TeamId::new(), PostId::new());
        let time = at("2026-11-02T10:15:00Z");
        let range = Period::new(at("2026-11-02T00:00:00Z"), at("2026-11-03T00:00:00Z")).unwrap();
        t.store.append_engagement(vec![likes(team, post, time, 1)]).await.unwrap();
        // Stored already: the fast path meets the key and the batch is merged instead.
        t.store
            .append_engagement(vec![likes(team, post, time, 5), likes(team, post, time + Duration::minutes(1), 6)])
            .await
            .unwrap();
        let rows = stored(&t, team, range).await;
        assert_eq!(
            rows.iter().map(|s| s.counts.get(EngagementCounter::Likes)).collect::<Vec<_>>(),
            [Some(5), Some(6)],
            "{name}"
        );
        // Twice in one batch: the later row wins.
        t.store.append_engagement(vec![likes(team, post, time, 7), likes(team, post, time, 9)]).await.unwrap();
        let rows = stored(&t, team, range).await;
        assert_eq!(rows.len(), 2, "{name}");
        assert_eq!(rows[0].counts.get(EngagementCounter::Likes), Some(9), "{name}");
        t.drop().await;
    }
}

async fn compressed_chunks(t: &TestStore) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_schema = $1 AND is_compressed",
    )
    .bind(&t.schema)
    .fetch_one(t.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn corrections_and_backfill_reach_compressed_chunks() {
    let Some(t) = store(Server::Timescale).await else { return };
    let (team, post) = (TeamId::new(), PostId::new());
    let old = (Utc::now() - Duration::days(40)).duration_trunc(Duration::hours(1)).unwrap();
    t.store.append_engagement(vec![likes(team, post, old, 3)]).await.unwrap();
    assert!(t.store.compress_before(Utc::now() - Duration::days(7)).await.unwrap() >= 1);
    assert!(compressed_chunks(&t).await >= 1);
    assert_eq!(t.store.compress_before(Utc::now() - Duration::days(7)).await.unwrap(), 0, "compressed once");

    // A correction of a compressed row, and a backfilled row older than the horizon.
    t.store.append_engagement(vec![likes(team, post, old, 30)]).await.unwrap();
    t.store.append_engagement(vec![likes(team, post, old + Duration::minutes(20), 31)]).await.unwrap();
    let range = Period::new(old - Duration::days(1), old + Duration::days(1)).unwrap();
    let rows = stored(&t, team, range).await;
    assert_eq!(
        rows.iter().map(|s| (s.time, s.counts.get(EngagementCounter::Likes))).collect::<Vec<_>>(),
        [(old, Some(30)), (old + Duration::minutes(20), Some(31))]
    );
    let hour = Period::new(old, old + Duration::hours(1)).unwrap();
    assert_eq!(latest_likes(&t, team, post, hour, Bucket::Hour, Tz::UTC).await, [Some(31)]);
    let sizes = t.store.table_sizes().await.unwrap();
    let engagement = sizes.iter().find(|s| s.table == "engagement").unwrap();
    assert!(engagement.total_bytes > 0 && engagement.compression.is_some(), "{sizes:?}");
    t.drop().await;
}

#[tokio::test]
async fn hourly_rollups_show_recent_rows_at_once_and_late_rows_after_a_refresh() {
    for (name, t) in every_store().await {
        let (team, post) = (TeamId::new(), PostId::new());
        // Recent: the current hour, never refreshed.
        let now = Utc::now();
        t.store.append_engagement(vec![likes(team, post, now - Duration::minutes(1), 4)]).await.unwrap();
        let recent = Period::new(now - Duration::minutes(1), now).unwrap();
        assert_eq!(latest_likes(&t, team, post, recent, Bucket::Hour, Tz::UTC).await.last(), Some(&Some(4)), "{name}");
        // Old rows, refreshed into the rollup.
        let day = Period::new(at("2026-11-02T00:00:00Z"), at("2026-11-03T00:00:00Z")).unwrap();
        t.store.append_engagement(vec![likes(team, post, at("2026-11-02T10:15:00Z"), 10)]).await.unwrap();
        t.store.refresh_rollups(day).await.unwrap();
        assert_eq!(latest_likes(&t, team, post, day, Bucket::Day, Tz::UTC).await, [Some(10)], "{name}");

        // A late row in the refreshed hour: the hourly path shows it after the next refresh;
        // a read off whole hours (Kathmandu days) reads the raw table and sees it at once.
        t.store.append_engagement(vec![likes(team, post, at("2026-11-02T10:45:00Z"), 20)]).await.unwrap();
        assert_eq!(latest_likes(&t, team, post, day, Bucket::Day, Tz::UTC).await, [Some(10)], "{name}: materialised");
        let kathmandu = latest_likes(&t, team, post, day, Bucket::Day, chrono_tz::Asia::Kathmandu).await;
        assert_eq!(kathmandu, [Some(20), Some(20)], "{name}");
        t.store.refresh_rollups(day).await.unwrap();
        assert_eq!(latest_likes(&t, team, post, day, Bucket::Day, Tz::UTC).await, [Some(20)], "{name}: refreshed");
        // Rows newer than the refresh stay live.
        t.store.append_engagement(vec![likes(team, post, at("2026-11-05T08:00:00Z"), 25)]).await.unwrap();
        let later = Period::new(at("2026-11-05T00:00:00Z"), at("2026-11-06T00:00:00Z")).unwrap();
        assert_eq!(latest_likes(&t, team, post, later, Bucket::Day, Tz::UTC).await, [Some(25)], "{name}");
        // A refresh reaching into the future leaves the hot hour live: a newer row shows at once.
        t.store
            .refresh_rollups(Period::new(now - Duration::hours(2), now + Duration::hours(2)).unwrap())
            .await
            .unwrap();
        t.store.append_engagement(vec![likes(team, post, Utc::now(), 5)]).await.unwrap();
        let recent = Period::new(now - Duration::minutes(1), Utc::now() + Duration::seconds(1)).unwrap();
        assert_eq!(latest_likes(&t, team, post, recent, Bucket::Hour, Tz::UTC).await.last(), Some(&Some(5)), "{name}");

        t.drop().await;
    }
}

#[tokio::test]
async fn drop_before_removes_rows_from_every_read() {
    for (name, t) in every_store().await {
        let (team, post) = (TeamId::new(), PostId::new());
        let rows: Vec<_> =
            (0..30).map(|d| likes(team, post, at("2026-09-01T12:00:00Z") + Duration::days(d), d)).collect();
        t.store.append_engagement(rows).await.unwrap();
        let all = Period::new(at("2026-09-01T00:00:00Z"), at("2026-10-01T00:00:00Z")).unwrap();
        t.store.refresh_rollups(all).await.unwrap();
        // Rows of 1 to 20 September go (12:00 each day, before 21 September 06:00).
        assert_eq!(t.store.drop_before(at("2026-09-21T06:00:00Z")).await.unwrap(), 20, "{name}");
        let left = stored(&t, team, all).await;
        assert_eq!(left.len(), 10, "{name}");
        let days = latest_likes(&t, team, post, all, Bucket::Day, Tz::UTC).await;
        assert_eq!(days[..20], [None; 20], "{name}: the rollups forgot the dropped rows");
        assert_eq!(days[20], Some(20), "{name}");
        assert_eq!(t.store.drop_before(at("2026-09-21T06:00:00Z")).await.unwrap(), 0, "{name}");
        t.drop().await;
    }
}
